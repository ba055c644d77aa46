/* Ranking in the CLI: the options shared by `binary` and `multiclass`, the
 * source over the loaded arrays, and the ROC / PR curve files. */
#include "cli_calibration.h"
#include "cli_mpi.h"
#include "cli_ranking.h"
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cli_ranking_defaults(struct cli_ranking_args *r) {
  memset(r, 0, sizeof *r);
  r->curve_points = 1000;
}

const char *const cli_ranking_value_flags[] = {
    "--roc-out", "--pr-out", "--curve-points", "--ranking-memory", NULL};

int cli_ranking_flag(int argc, char **argv, int *i, const char *cmd,
                     struct cli_ranking_args *r) {
  const char *arg = argv[*i];
  if (strcmp(arg, "--no-ranking") == 0) {
    r->off = 1;
    return -1;
  }
  int is_value_flag = 0;
  for (const char *const *f = cli_ranking_value_flags; *f; ++f)
    is_value_flag |= strcmp(arg, *f) == 0;
  if (!is_value_flag)
    return 0;
  const char *v = NULL;
  const int rc =
      cli_take_value(argc, argv, i, cli_ranking_value_flags, cmd, &v);
  if (rc >= 0)
    return rc;
  return cli_ranking_option(cmd, arg, v, r);
}

/* "256M", "1G", "65536": bytes. */
static int parse_size(const char *s, unsigned long long *out) {
  char *end;
  errno = 0;
  const double v = strtod(s, &end);
  if (end == s || errno || !(v > 0))
    return -1;
  double mult = 1;
  if (*end == 'K' || *end == 'k')
    mult = 1024.0, ++end;
  else if (*end == 'M' || *end == 'm')
    mult = 1024.0 * 1024, ++end;
  else if (*end == 'G' || *end == 'g')
    mult = 1024.0 * 1024 * 1024, ++end;
  if (*end == 'B' || *end == 'b' || *end == 'i')
    ++end;
  if (*end == 'B' || *end == 'b')
    ++end;
  if (*end != '\0' || v * mult > 1.8e19)
    return -1;
  *out = (unsigned long long)(v * mult);
  return 0;
}

int cli_ranking_option(const char *cmd, const char *flag, const char *value,
                       struct cli_ranking_args *r) {
  if (strcmp(flag, "--no-ranking") == 0) {
    r->off = 1;
    return -1;
  }
  if (strcmp(flag, "--roc-out") == 0) {
    r->roc_out = value;
  } else if (strcmp(flag, "--pr-out") == 0) {
    r->pr_out = value;
  } else if (strcmp(flag, "--curve-points") == 0) {
    if (cli_parse_u64(value, &r->curve_points) != 0 || r->curve_points < 2)
      return cli_usage_error(
          cmd, "--curve-points must be an integer >= 2, not '%s'", value);
  } else if (strcmp(flag, "--ranking-memory") == 0) {
    if (parse_size(value, &r->budget) != 0 ||
        r->budget < CLM_RANKING_MIN_BUDGET)
      return cli_usage_error(cmd,
                             "--ranking-memory must be a size of at least "
                             "%lluK (e.g. 64M, 1G), not '%s'",
                             (unsigned long long)(CLM_RANKING_MIN_BUDGET >> 10),
                             value);
  } else {
    return 0;
  }
  return -1;
}

int cli_ranking_check(const char *cmd, const struct cli_ranking_args *r) {
  if (r->off && (r->roc_out || r->pr_out))
    return cli_usage_error(cmd, "--roc-out and --pr-out need the ranking "
                                "(drop --no-ranking)");
  return -1;
}

/* The CLI's source: rows of the loaded arrays, labels converted to the
 * ranking's type per batch when the file holds another dtype. */
struct source {
  const clm_array *labels, *scores;
  uint32_t k;
  void *ybuf;
  float *zbuf;
  /* --ignore-index: the source holds only the other rows, copied in
   * order. The ranking reads each pass from row 0 in order, so a cursor
   * maps a kept row to its row in the files; any other read rescans. */
  int has_ignore;
  int32_t ignore;
  uint64_t next_kept, next_row; /* the cursor */
  int32_t *yscan;               /* labels of rows being scanned */
  char *zkept;                  /* kept rows' scores, in their dtype */
  const clm_array *weights;     /* --weights, or NULL */
  float *wbuf;                  /* converted (or kept) rows' weights */
};

/* Reads rows [row, row + m) of the labels as int32, the ignored value
 * allowed. */
static clm_status scan_labels(const struct source *s, uint64_t row, uint64_t m,
                              clm_error *err) {
  if (clm_array_dtype(s->labels) == CLM_DTYPE_I32) {
    memcpy(s->yscan, (const int32_t *)clm_array_data(s->labels) + row,
           m * sizeof(int32_t));
    return CLM_OK;
  }
  return cli_labels_i32_ignore(s->labels, row, m, s->ignore, s->yscan, err);
}

/* The kept rows [first, first + count): labels into ybuf, scores (as
 * stored) into zkept. */
static clm_status read_kept(struct source *s, uint64_t first, uint64_t count,
                            uint64_t batch, clm_error *err) {
  const uint64_t n = clm_array_rows(s->labels);
  const clm_dtype sd = clm_array_dtype(s->scores);
  const int raw = sd == CLM_DTYPE_F32 || sd == CLM_DTYPE_F64;
  const size_t row_bytes = (size_t)s->k * (sd == CLM_DTYPE_F64 ? 8 : 4);
  if (first != s->next_kept)
    s->next_kept = s->next_row = 0;
  uint64_t got = 0;
  int32_t *y = s->ybuf;
  const char *z = clm_array_data(s->scores);
  while (got < count && s->next_row < n) {
    const uint64_t m = n - s->next_row < batch ? n - s->next_row : batch;
    const clm_status st = scan_labels(s, s->next_row, m, err);
    if (st != CLM_OK)
      return st;
    uint64_t i = 0;
    for (; i < m && got < count; ++i) {
      if (s->yscan[i] == s->ignore)
        continue;
      if (s->next_kept++ >= first) {
        y[got] = s->yscan[i];
        if (raw) {
          memcpy(s->zkept + got * row_bytes, z + (s->next_row + i) * row_bytes,
                 row_bytes);
        } else {
          const clm_status rs = clm_array_read_values_f32(
              s->scores, (s->next_row + i) * s->k, s->k,
              (float *)(s->zkept + got * row_bytes), 0, err);
          if (rs != CLM_OK)
            return rs;
        }
        if (s->weights) {
          const float *wv;
          const clm_status ws = cli_weights_batch(s->weights, s->next_row + i,
                                                  1, s->wbuf + got, &wv, err);
          if (ws != CLM_OK)
            return ws;
          s->wbuf[got] = *wv;
        }
        ++got;
      }
    }
    s->next_row += i;
  }
  if (got < count) { /* the labels changed under us */
    err->status = CLM_ERR_FORMAT;
    err->index = -1;
    snprintf(err->message, sizeof err->message,
             "%s: fewer rows without the --ignore-index label than in the "
             "first pass (the file changed?)",
             clm_array_path(s->labels));
    return CLM_ERR_FORMAT;
  }
  return CLM_OK;
}

static clm_status source_read(void *user, uint64_t first, uint64_t count,
                              const void **labels, const void **scores,
                              clm_error *err) {
  struct source *s = user;
  if (s->has_ignore) {
    const clm_status st = read_kept(s, first, count, count, err);
    *labels = s->ybuf;
    *scores = s->zkept;
    return st;
  }
  const clm_dtype ld = clm_array_dtype(s->labels);
  clm_status st = CLM_OK;
  if (!s->ybuf) {
    *labels =
        (const char *)clm_array_data(s->labels) + first * (s->k == 1 ? 1 : 4);
  } else {
    st = s->k == 1
             ? clm_array_read_labels_u8(s->labels, first, count, s->ybuf, err)
             : clm_array_read_labels_i32(s->labels, first, count, s->ybuf, err);
    *labels = s->ybuf;
  }
  (void)ld;
  const clm_dtype sd = clm_array_dtype(s->scores);
  if (st == CLM_OK && !s->zbuf) {
    *scores = (const char *)clm_array_data(s->scores) +
              first * s->k * (sd == CLM_DTYPE_F64 ? 8 : 4);
  } else if (st == CLM_OK) {
    st = clm_array_read_values_f32(s->scores, first * s->k, count * s->k,
                                   s->zbuf, 0, err);
    *scores = s->zbuf;
  }
  return st;
}

/* Weights of the rows the last read() made available. */
static clm_status source_read_weights(void *user, uint64_t first,
                                      uint64_t count, const float **weights,
                                      clm_error *err) {
  struct source *s = user;
  if (s->has_ignore) {
    *weights = s->wbuf;
    return CLM_OK;
  }
  return cli_weights_batch(s->weights, first, count, s->wbuf, weights, err);
}

int cli_ranking_run(const struct cli_ranking_args *a, clm_context *ctx,
                    const clm_array *labels, const clm_array *scores,
                    uint32_t k, clm_scores_kind kind,
                    const struct cli_ranking_ignore *ignore,
                    const clm_array *weights, struct cli_ranking_out *out) {
  memset(&out->result, 0, sizeof out->result); /* the outputs stay open */
  out->done = 0;
  const double t0 = cli_now();
  const uint64_t n = ignore ? ignore->kept : clm_array_rows(labels);
  /* About 2^22 scores a batch: the conversions' buffers stay small. */
  const uint64_t batch = ((uint64_t)1 << 22) / k ? ((uint64_t)1 << 22) / k : 1;
  const uint64_t rows = n < batch ? n : batch;
  const clm_dtype ld = clm_array_dtype(labels), sd = clm_array_dtype(scores);
  struct source src = {.labels = labels, .scores = scores, .k = k};
  const int labels_in_place = k == 1
                                  ? (ld == CLM_DTYPE_U8 || ld == CLM_DTYPE_BOOL)
                                  : ld == CLM_DTYPE_I32;
  const int scores_in_place = sd == CLM_DTYPE_F32 || sd == CLM_DTYPE_F64;
  int alloc_failed = 0;
  if (ignore) { /* multi-class only: int32 labels, scores as stored */
    src.has_ignore = 1;
    src.ignore = ignore->value;
    alloc_failed =
        !(src.ybuf = malloc(rows * sizeof(int32_t))) ||
        !(src.yscan = malloc(rows * sizeof(int32_t))) ||
        !(src.zkept = malloc(rows * k * (sd == CLM_DTYPE_F64 ? 8 : 4)));
  } else {
    alloc_failed =
        (!labels_in_place && !(src.ybuf = malloc(rows * (k == 1 ? 1 : 4)))) ||
        (!scores_in_place && !(src.zbuf = malloc(rows * k * sizeof(float))));
  }
  src.weights = weights;
  if (!alloc_failed && weights && (ignore || cli_weights_need_buffer(weights)))
    alloc_failed = !(src.wbuf = malloc(rows * sizeof(float)));
  if (alloc_failed) {
    free(src.wbuf);
    free(src.zkept);
    free(src.yscan);
    free(src.ybuf);
    cli_error("cannot allocate ranking buffers for %llu rows",
              (unsigned long long)rows);
    return CLI_EXIT_ERROR;
  }
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  if (a->budget)
    o.memory_budget = a->budget;
  o.curve_points = (a->roc_out || a->pr_out) ? a->curve_points : 0;
  /* Curves only for the visual report: at most CLI_REPORT_CURVE_CELLS
   * points over all classes (a page draws at most 500 per curve). */
  if (!o.curve_points && a->curves) {
    const uint64_t per = CLI_REPORT_CURVE_CELLS / k;
    o.curve_points = per < 2                 ? 2
                     : per < a->curve_points ? per
                                             : a->curve_points;
  }
  o.batch_rows = batch;
  o.scores_are_probs = kind == CLM_SCORES_PROBS;
  cli_mpi_ranking_options(&o); /* under MPI: over every rank's rows */
  const clm_ranking_source source = {&src,
                                     n,
                                     k,
                                     scores_in_place ? sd : CLM_DTYPE_F32,
                                     k > 1 && kind == CLM_SCORES_LOGITS,
                                     source_read,
                                     weights ? source_read_weights : NULL,
                                     0};
  clm_error err;
  clm_status st = clm_ranking_compute(ctx, &source, &o, &out->result, &err);
  free(src.wbuf);
  free(src.zkept);
  free(src.yscan);
  free(src.ybuf);
  free(src.zbuf);
  if (st != CLM_OK) {
    cli_error("ranking: %s", err.message[0] ? err.message : clm_status_str(st));
    return CLI_EXIT_ERROR;
  }
  out->done = 1;
  out->seconds = cli_now() - t0;
  return -1;
}

void cli_ranking_free(struct cli_ranking_out *out) {
  clm_ranking_result_release(&out->result);
}

/* A ratio for the CSV: num/den, "nan" when den is 0. Counts, or sums of
 * weights in weighted runs (the counts as doubles otherwise, exact). */
static void put_ratio(struct cli_text *t, double num, double den, char sep) {
  if (den == 0)
    cli_text_put(t, "nan%c", sep);
  else
    cli_text_put(t, "%.17g%c", num / den, sep);
}

static void put_threshold(struct cli_text *t, double v) {
  if (isinf(v))
    cli_text_put(t, "%sinf,", v < 0 ? "-" : "");
  else
    cli_text_put(t, "%.17g,", v);
}

/* ROC rows: (inf, 0, 0), then each point. PR rows: (inf, precision 1,
 * recall 0), scikit-learn's last point, which has no threshold, then each
 * point. With K > 1 a class column leads. */
static void write_curve(struct cli_text *t, const clm_ranking_result *r,
                        int roc) {
  const int multi = r->k > 1;
  cli_text_put(t, "%s%s\n", multi ? "class," : "",
               roc ? "threshold,fpr,tpr" : "threshold,precision,recall");
  for (uint32_t c = 0; c < r->k; ++c) {
    const clm_ranking_class *cl = &r->classes[c];
    if (multi)
      cli_text_put(t, "%u,", (unsigned)c);
    cli_text_put(t, roc ? "inf,0,0\n" : "inf,1,0\n");
    for (uint64_t i = 0; i < cl->curve_len; ++i) {
      const clm_curve_point *p = &cl->curve[i];
      if (multi)
        cli_text_put(t, "%u,", (unsigned)c);
      put_threshold(t, p->threshold);
      if (roc) {
        put_ratio(t, p->fp_weight, cl->negative_weight, ',');
        put_ratio(t, p->tp_weight, cl->positive_weight, '\n');
      } else {
        put_ratio(t, p->tp_weight, p->tp_weight + p->fp_weight, ',');
        put_ratio(t, p->tp_weight, cl->positive_weight, '\n');
      }
    }
  }
}

int cli_ranking_open_outputs(const struct cli_ranking_args *a,
                             struct cli_ranking_out *out) {
  /* Under MPI every rank holds the same exact curves: rank 0 writes them. */
  if (cli_output_open_text(&out->roc, "--roc-out",
                           cli_mpi_rank0_path(a->roc_out)) ||
      cli_output_open_text(&out->pr, "--pr-out", cli_mpi_rank0_path(a->pr_out)))
    return CLI_EXIT_ERROR;
  return -1;
}

int cli_ranking_write_curves(struct cli_ranking_out *out) {
  struct cli_output *files[2] = {&out->roc, &out->pr};
  for (int f = 0; f < 2; ++f) {
    if (!files[f]->w)
      continue;
    struct cli_text t = {files[f]->w, CLM_OK, {0}};
    write_curve(&t, &out->result, f == 0);
    if (t.st != CLM_OK) {
      cli_error("%s", t.err.message);
      return CLI_EXIT_ERROR;
    }
  }
  if (cli_output_commit(&out->roc) || cli_output_commit(&out->pr))
    return CLI_EXIT_ERROR;
  return -1;
}

void cli_ranking_abort(struct cli_ranking_out *out) {
  cli_output_abort(&out->roc);
  cli_output_abort(&out->pr);
}

void cli_ranking_warn(const struct cli_ranking_out *out) {
  if (!out->done)
    return;
  const clm_ranking_result *r = &out->result;
  for (uint32_t c = 0; c < r->k; ++c) {
    const clm_ranking_class *cl = &r->classes[c];
    char who[48] = "";
    if (r->k > 1)
      snprintf(who, sizeof who, " of class %u", (unsigned)c);
    if (isnan(cl->roc_auc))
      cli_warning("ROC-AUC%s is undefined: only one class is present in the "
                  "labels; reported as null",
                  who);
    if (isnan(cl->average_precision))
      cli_warning("average precision%s is undefined: no positive samples; "
                  "reported as null",
                  who);
  }
}

void cli_ranking_json_timing(struct json *j,
                             const struct cli_ranking_out *out) {
  if (!out || !out->done)
    return;
  json_number(j, "ranking_s", out->seconds);
  json_u64(j, "ranking_passes", out->result.passes);
  json_u64(j, "ranking_memory_bytes", out->result.memory_bytes);
}

/* ---- certified intervals of a streaming (merged) result ---- */

static void json_pair(struct json *j, const char *key, double lo, double hi) {
  json_array_open(j, key);
  json_number(j, NULL, lo);
  json_number(j, NULL, hi);
  json_array_close(j);
}

void cli_ranking_json_class_interval(struct json *j,
                                     const clm_ranking_class *c) {
  json_pair(j, "roc_auc_interval", c->roc_auc_lo, c->roc_auc_hi);
  json_pair(j, "average_precision_interval", c->average_precision_lo,
            c->average_precision_hi);
}

void cli_ranking_avg_interval(const clm_ranking_result *q, int auc,
                              int weighted, double *lo, double *hi) {
  double slo = 0, shi = 0, w = 0;
  for (uint32_t k = 0; k < q->k; ++k) {
    const clm_ranking_class *c = &q->classes[k];
    const double l = auc ? c->roc_auc_lo : c->average_precision_lo;
    const double h = auc ? c->roc_auc_hi : c->average_precision_hi;
    if (isnan(l))
      continue; /* undefined values are left out, as in the averages */
    const double cw = weighted ? (double)c->positives : 1.0;
    slo += cw * l;
    shi += cw * h;
    w += cw;
  }
  *lo = w > 0 ? slo / w : NAN;
  *hi = w > 0 ? shi / w : NAN;
}

void cli_ranking_json_avg_interval(struct json *j, const clm_ranking_result *q,
                                   int auc) {
  double lo, hi;
  cli_ranking_avg_interval(q, auc, 0, &lo, &hi);
  json_pair(j, "macro_interval", lo, hi);
  cli_ranking_avg_interval(q, auc, 1, &lo, &hi);
  json_pair(j, "weighted_interval", lo, hi);
}

void cli_ranking_json_exact(struct json *j, const clm_ranking_result *q) {
  json_bool(j, "ranking_exact", q->exact);
}

void cli_ranking_text_interval(FILE *f, const clm_ranking_result *q,
                               const char *what, double lo, double hi) {
  (void)q;
  if (isnan(lo))
    return;
  if (lo == hi)
    fprintf(f, "    %s exact (certified interval of width 0)\n", what);
  else
    fprintf(f, "    %s in [%.6f, %.6f] (certified; merged state)\n", what, lo,
            hi);
}
