/* `clmetrics multiclass`: K x K confusion matrix on the device and a
 * classification report. */
#include "cli.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: clmetrics multiclass --labels FILE (--pred FILE | --scores FILE)"
      " [options]\n\n"
      "Multi-class metrics from predicted labels or an N x K score matrix,\n"
      "counted on an OpenCL device.\n\n"
      "  --labels FILE        true classes in [0, K) (integer or integral "
      "float)\n"
      "  --pred FILE          predicted classes in [0, K)\n"
      "  --scores FILE        N x K scores; the prediction is the row's argmax"
      "\n"
      "                       (ties to the lowest class), plus cross-entropy\n"
      "  --scores-kind KIND   logits (default) or probs\n"
      "  --classes K          number of classes (default: the score matrix's\n"
      "                       width, else the largest label + 1)\n"
      "  --top-k k            also report top-k accuracy (needs --scores)\n"
      "  --names FILE         class names, one per line (K lines)\n"
      "  --zero-division V    value of 0/0 ratios: 0 (default), 1 or nan\n"
      "  --device SPEC        device index or name substring "
      "(CLMETRICS_DEVICE)\n"
      "  --json               print one JSON object instead of the report\n"
      "  --help               this help\n");
}

int cli_multiclass_parse_args(int argc, char **argv,
                              struct cli_multiclass_args *a) {
  a->kind = CLM_SCORES_LOGITS;
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      usage(stdout);
      return CLI_EXIT_OK;
    }
    if (strcmp(arg, "--json") == 0) {
      a->json = 1;
      continue;
    }
    static const char *const with_value[] = {
        "--labels", "--pred",  "--scores",        "--scores-kind", "--classes",
        "--top-k",  "--names", "--zero-division", "--device",      NULL};
    const char *v = NULL;
    const int rc = cli_take_value(argc, argv, &i, with_value, "multiclass", &v);
    if (rc >= 0)
      return rc;
    if (strcmp(arg, "--labels") == 0)
      a->labels = v;
    else if (strcmp(arg, "--pred") == 0)
      a->pred = v;
    else if (strcmp(arg, "--scores") == 0)
      a->scores = v;
    else if (strcmp(arg, "--names") == 0)
      a->names = v;
    else if (strcmp(arg, "--device") == 0)
      a->device = v;
    else if (strcmp(arg, "--scores-kind") == 0) {
      if (cli_parse_scores_kind(v, &a->kind) != 0)
        return cli_usage_error(
            "multiclass", "--scores-kind must be logits or probs, not '%s'", v);
    } else if (strcmp(arg, "--classes") == 0) {
      if (cli_parse_u64(v, &a->classes) != 0 || a->classes < 2 ||
          a->classes > 0x7fffffffULL)
        return cli_usage_error(
            "multiclass", "--classes must be an integer >= 2, not '%s'", v);
    } else if (strcmp(arg, "--top-k") == 0) {
      if (cli_parse_u64(v, &a->top_k) != 0 || a->top_k < 1)
        return cli_usage_error(
            "multiclass", "--top-k must be a positive integer, not '%s'", v);
    } else if (strcmp(arg, "--zero-division") == 0) {
      if (cli_parse_zero_division(v, &a->zd) != 0)
        return cli_usage_error(
            "multiclass", "--zero-division must be 0, 1 or nan, not '%s'", v);
    }
  }
  if (!a->labels || (!a->pred == !a->scores))
    return cli_usage_error("multiclass",
                           "--labels and exactly one of --pred or --scores "
                           "are required");
  if (a->top_k && !a->scores)
    return cli_usage_error("multiclass", "--top-k needs --scores");
  return -1;
}

/* Reads K class names, one per line (trailing blank lines ignored);
 * returns NULL after printing an error. */
static char **read_names(const char *path, uint32_t k) {
  FILE *f = fopen(path, "r");
  if (!f) {
    cli_error("%s: cannot open class names", path);
    return NULL;
  }
  char **names = calloc(k, sizeof *names);
  char line[4096];
  uint32_t count = 0, blanks = 0;
  int ok = names != NULL;
  while (ok && fgets(line, sizeof line, f)) {
    size_t len = strcspn(line, "\r\n");
    line[len] = '\0';
    if (len == 0) {
      ++blanks; /* a name only if more names follow */
      continue;
    }
    for (; blanks > 0 && ok; --blanks, ++count)
      if (count < k)
        ok = (names[count] = strdup("")) != NULL;
    if (count < k)
      ok = ok && (names[count] = strdup(line)) != NULL;
    ++count;
  }
  fclose(f);
  if (ok && count != k) {
    cli_error("%s: %u class names for %u classes", path, count, k);
    ok = 0;
  }
  if (!ok && names) {
    for (uint32_t c = 0; c < k; ++c)
      free(names[c]);
    free(names);
    names = NULL;
  }
  return names;
}

static void free_names(char **names, uint32_t k) {
  if (!names)
    return;
  for (uint32_t c = 0; c < k; ++c)
    free(names[c]);
  free(names);
}

static void class_name(char **names, uint32_t c, char *buf, size_t cap) {
  if (names)
    snprintf(buf, cap, "%s", names[c]);
  else
    snprintf(buf, cap, "%u", c);
}

static void fmt(char *buf, size_t cap, double v) {
  if (isnan(v))
    snprintf(buf, cap, "nan");
  else
    snprintf(buf, cap, "%.4f", v);
}

/* Lists the classes whose metric was 0/0 in one warning per metric. */
static void warn_undefined(const clm_multiclass_result *r, char **names,
                           clm_zero_division zd) {
  const char *as = zd == CLM_ZERO_DIVISION_ONE   ? "1"
                   : zd == CLM_ZERO_DIVISION_NAN ? "nan"
                                                 : "0";
  static const struct {
    unsigned bit;
    const char *what, *why;
  } kinds[] = {{CLM_UNDEF_PRECISION, "precision", "no predicted samples"},
               {CLM_UNDEF_RECALL, "recall", "no true samples"},
               {CLM_UNDEF_F1, "F1", "no true or predicted samples"}};
  for (size_t q = 0; q < 3; ++q) {
    char list[512] = "";
    size_t len = 0;
    uint32_t count = 0;
    for (uint32_t c = 0; c < r->n_classes; ++c) {
      if (!(r->per_class[c].undefined & kinds[q].bit))
        continue;
      if (count < 20 && len < sizeof list - 64) {
        char name[64];
        class_name(names, c, name, sizeof name);
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                count ? ", " : "", name);
      }
      ++count;
    }
    if (count)
      cli_warning("%s is undefined (%s) for %u class%s: %s%s; reported as %s "
                  "(--zero-division)",
                  kinds[q].what, kinds[q].why, count, count == 1 ? "" : "es",
                  list, count > 20 ? ", ..." : "", as);
  }
  if (r->undefined & CLM_UNDEF_MCC)
    cli_warning("MCC is undefined (all true or all predicted labels are one "
                "class); reported as %s (--zero-division)",
                as);
  if (r->undefined & CLM_UNDEF_KAPPA)
    cli_warning("Cohen's kappa is undefined (chance agreement is 1); "
                "reported as %s (--zero-division)",
                as);
}

void cli_print_multiclass_text(FILE *f, const clm_multiclass_result *r,
                               const uint64_t *cm, char **names,
                               const clm_context *ctx, double startup_s,
                               double compute_s, double total_s) {
  const uint32_t k = r->n_classes;
  int w = 12;
  for (uint32_t c = 0; names && c < k; ++c)
    if ((int)strlen(names[c]) > w)
      w = (int)strlen(names[c]) > 40 ? 40 : (int)strlen(names[c]);
  char a[32], b[32], d[32];
  fprintf(f, "multi-class evaluation: %llu samples, %u classes\n",
          (unsigned long long)r->n, k);
  const clm_device_info *dev = clm_context_device(ctx);
  fprintf(f, "device: %s / %s (%s)\n\n", dev->platform, dev->name, dev->type);
  fprintf(f, "%*s %10s %10s %10s %12s\n\n", w, "", "precision", "recall",
          "f1-score", "support");
  for (uint32_t c = 0; c < k; ++c) {
    const clm_class_metrics *m = &r->per_class[c];
    char name[64];
    class_name(names, c, name, sizeof name);
    fmt(a, sizeof a, m->precision);
    fmt(b, sizeof b, m->recall);
    fmt(d, sizeof d, m->f1);
    fprintf(f, "%*.*s %10s %10s %10s %12llu\n", w, w, name, a, b, d,
            (unsigned long long)m->support);
  }
  fprintf(f, "\n");
  fmt(a, sizeof a, r->accuracy);
  fprintf(f, "%*s %10s %10s %10s %12llu\n", w, "accuracy", "", "", a,
          (unsigned long long)r->n);
  const struct {
    const char *name;
    const clm_average_metrics *m;
  } avgs[] = {{"macro avg", &r->macro},
              {"weighted avg", &r->weighted},
              {"micro avg", &r->micro}};
  for (size_t q = 0; q < 3; ++q) {
    fmt(a, sizeof a, avgs[q].m->precision);
    fmt(b, sizeof b, avgs[q].m->recall);
    fmt(d, sizeof d, avgs[q].m->f1);
    fprintf(f, "%*s %10s %10s %10s %12llu\n", w, avgs[q].name, a, b, d,
            (unsigned long long)r->n);
  }
  fprintf(f, "\n");
  fmt(a, sizeof a, r->balanced_accuracy);
  fprintf(f, "  balanced accuracy  %s\n", a);
  fmt(a, sizeof a, r->mcc);
  fprintf(f, "  MCC                %s\n", a);
  fmt(a, sizeof a, r->cohen_kappa);
  fprintf(f, "  Cohen's kappa      %s\n", a);
  if (r->has_loss)
    fprintf(f, "  cross-entropy      %.6g nats/sample\n",
            r->cross_entropy_mean);
  if (r->top_k)
    fprintf(f, "  top-%u accuracy     %.4f\n", r->top_k, r->top_k_accuracy);
  if (k <= 20 && cm) {
    fprintf(f, "\nconfusion matrix (rows: true class, columns: predicted)\n");
    int cw = 6;
    for (uint64_t q = 0; q < (uint64_t)k * k; ++q) {
      int len = snprintf(NULL, 0, "%llu", (unsigned long long)cm[q]);
      if (len + 1 > cw)
        cw = len + 1;
    }
    fprintf(f, "%*s", w, "");
    for (uint32_t c = 0; c < k; ++c) {
      char name[64];
      class_name(names, c, name, sizeof name);
      fprintf(f, " %*.*s", cw, cw, name);
    }
    fprintf(f, "\n");
    for (uint32_t i = 0; i < k; ++i) {
      char name[64];
      class_name(names, i, name, sizeof name);
      fprintf(f, "%*.*s", w, w, name);
      for (uint32_t j = 0; j < k; ++j)
        fprintf(f, " %*llu", cw, (unsigned long long)cm[(uint64_t)i * k + j]);
      fprintf(f, "\n");
    }
  }
  char rate[32];
  cli_format_rate(compute_s > 0 ? (double)r->n / compute_s : NAN, rate,
                  sizeof rate);
  fprintf(f,
          "\ntiming: start-up %.3f s, compute %.3f s (%ssamples/s), "
          "total %.3f s\n",
          startup_s, compute_s, rate, total_s);
}

static void json_averages(struct json *j, const char *key,
                          const clm_average_metrics *m) {
  json_object_open(j, key);
  json_number(j, "precision", m->precision);
  json_number(j, "recall", m->recall);
  json_number(j, "f1", m->f1);
  json_object_close(j);
}

void cli_print_multiclass_json(FILE *f, const clm_multiclass_result *r,
                               const uint64_t *cm, char **names,
                               clm_zero_division zd, const clm_context *ctx,
                               double startup_s, double compute_s,
                               double total_s) {
  const uint32_t k = r->n_classes;
  struct json j;
  json_begin(&j, f);
  json_string(&j, "task", "multiclass");
  json_u64(&j, "n", r->n);
  json_u64(&j, "classes", k);
  json_array_open(&j, "confusion_matrix");
  for (uint32_t i = 0; i < k; ++i) {
    json_array_open(&j, NULL);
    for (uint32_t c = 0; c < k; ++c)
      json_u64(&j, NULL, cm[(uint64_t)i * k + c]);
    json_array_close(&j);
  }
  json_array_close(&j);
  json_array_open(&j, "per_class");
  for (uint32_t c = 0; c < k; ++c) {
    const clm_class_metrics *m = &r->per_class[c];
    json_object_open(&j, NULL);
    json_u64(&j, "label", c);
    if (names)
      json_string(&j, "name", names[c]);
    json_number(&j, "precision", m->precision);
    json_number(&j, "recall", m->recall);
    json_number(&j, "f1", m->f1);
    json_u64(&j, "support", m->support);
    json_u64(&j, "predicted", m->predicted);
    json_object_close(&j);
  }
  json_array_close(&j);
  json_number(&j, "accuracy", r->accuracy);
  json_number(&j, "balanced_accuracy", r->balanced_accuracy);
  json_number(&j, "mcc", r->mcc);
  json_number(&j, "cohen_kappa", r->cohen_kappa);
  json_averages(&j, "macro", &r->macro);
  json_averages(&j, "micro", &r->micro);
  json_averages(&j, "weighted", &r->weighted);
  if (r->has_loss) {
    json_object_open(&j, "loss");
    json_number(&j, "cross_entropy_mean", r->cross_entropy_mean);
    json_object_close(&j);
  }
  if (r->top_k) {
    json_u64(&j, "top_k", r->top_k);
    json_number(&j, "top_k_accuracy", r->top_k_accuracy);
  }
  json_string(&j, "zero_division",
              zd == CLM_ZERO_DIVISION_ONE   ? "1"
              : zd == CLM_ZERO_DIVISION_NAN ? "nan"
                                            : "0");
  const clm_device_info *dev = clm_context_device(ctx);
  json_object_open(&j, "device");
  json_string(&j, "platform", dev->platform);
  json_string(&j, "name", dev->name);
  json_string(&j, "type", dev->type);
  json_object_close(&j);
  json_object_open(&j, "timing");
  json_number(&j, "startup_s", startup_s);
  json_number(&j, "compute_s", compute_s);
  json_number(&j, "total_s", total_s);
  json_object_close(&j);
  json_end(&j);
}

static int report_error(const clm_error *err, clm_status st) {
  cli_error("%s", err->message[0] ? err->message : clm_status_str(st));
  return CLI_EXIT_ERROR;
}

int cli_multiclass(int argc, char **argv) {
  struct cli_multiclass_args a;
  memset(&a, 0, sizeof a);
  int rc = cli_multiclass_parse_args(argc, argv, &a);
  if (rc >= 0)
    return rc;
  clm_array *labels = NULL, *other = NULL;
  clm_context *ctx = NULL;
  clm_multiclass_state state;
  memset(&state, 0, sizeof state);
  clm_multiclass_result res;
  memset(&res, 0, sizeof res);
  char **names = NULL;
  uint32_t k = 0;
  char k_from[512] = ""; /* where an inferred K came from, for errors */
  float *s64 = NULL;     /* float32 copy of float64 scores */
  clm_error err;
  clm_status st;
  rc = CLI_EXIT_ERROR;

  const char *other_path = a.pred ? a.pred : a.scores;
  if ((st = clm_array_load(a.labels, &labels, &err)) != CLM_OK ||
      (st = clm_array_load(other_path, &other, &err)) != CLM_OK) {
    rc = report_error(&err, st);
    goto done;
  }
  const uint64_t n = clm_array_rows(labels);
  const int32_t *yt = NULL, *yp = NULL;
  const float *s = NULL;
  if ((st = clm_array_labels_i32(labels, &yt, &err)) != CLM_OK) {
    rc = report_error(&err, st);
    goto done;
  }
  if (a.scores) {
    if (clm_array_ndim(other) != 2) {
      cli_error("%s: scores must be a 2-D N x K matrix, got a 1-D array of "
                "%llu values (for binary scores use `clmetrics binary`)",
                a.scores, (unsigned long long)clm_array_rows(other));
      goto done;
    }
    const uint64_t width = clm_array_cols(other);
    if (a.classes && a.classes != width) {
      cli_error("%s has %llu columns but --classes is %llu", a.scores,
                (unsigned long long)width, a.classes);
      goto done;
    }
    k = (uint32_t)(width > 0x7fffffffULL ? 0 : width);
    if (width < 2 || width > 0x7fffffffULL) {
      cli_error("%s: need at least 2 classes (columns), got %llu", a.scores,
                (unsigned long long)width);
      goto done;
    }
  } else if ((st = clm_array_labels_i32(other, &yp, &err)) != CLM_OK) {
    rc = report_error(&err, st);
    goto done;
  }
  if (clm_array_rows(other) != n) {
    cli_error("length mismatch: %s has %llu labels but %s has %llu rows",
              a.labels, (unsigned long long)n, other_path,
              (unsigned long long)clm_array_rows(other));
    goto done;
  }
  if (n == 0) {
    cli_error("%s: empty input (0 samples)", a.labels);
    goto done;
  }
  if (!a.scores) {
    if (a.classes) {
      k = (uint32_t)a.classes;
    } else {
      int32_t mx = 0;
      uint64_t at = 0;
      const char *where = a.labels;
      for (uint64_t i = 0; i < n; ++i) {
        if (yt[i] > mx)
          mx = yt[i], at = i, where = a.labels;
        if (yp[i] > mx)
          mx = yp[i], at = i, where = a.pred;
      }
      snprintf(k_from, sizeof k_from,
               "; K = %lld came from label %d at index %llu of %s (give "
               "--classes to set K)",
               (long long)mx + 1, (int)mx, (unsigned long long)at, where);
      if (mx == INT32_MAX) {
        cli_error("labels up to %d: give --classes", mx);
        goto done;
      }
      k = (uint32_t)mx + 1;
      if (k < 2) {
        cli_error("only one class (0) in %s and %s: need K >= 2; give "
                  "--classes",
                  a.labels, a.pred);
        goto done;
      }
    }
  } else if (clm_array_dtype(other) == CLM_DTYPE_F64) {
    /* float64 scores (NumPy's default, CSV): rounded to float32 without
     * changing any row's argmax. */
    if (n > SIZE_MAX / k / sizeof(float) ||
        !(s64 = malloc((size_t)n * k * sizeof(float)))) {
      cli_error("cannot allocate %llu x %u scores", (unsigned long long)n, k);
      goto done;
    }
    st = clm_multiclass_scores_from_f64(clm_array_data(other), n, k, a.kind,
                                        s64, &err);
    if (st != CLM_OK) {
      cli_error("%s: %s", a.scores, err.message);
      goto done;
    }
    s = s64;
  } else if ((st = clm_array_values_f32(other, &s, &err)) != CLM_OK) {
    rc = report_error(&err, st);
    goto done;
  }
  if (a.top_k > k) {
    cli_error("--top-k %llu exceeds the number of classes (%u)", a.top_k, k);
    goto done;
  }
  if (a.names && !(names = read_names(a.names, k)))
    goto done;

  if ((rc = cli_open_context(a.device, &ctx)) != CLI_EXIT_OK)
    goto done;
  rc = CLI_EXIT_ERROR;
  const double t0 = cli_now();
  st = clm_multiclass_state_init(&state, k, (uint32_t)a.top_k);
  if (st != CLM_OK) {
    cli_error("cannot prepare a %u-class state: %s%s", k, clm_status_str(st),
              k_from);
    goto done;
  }
  if (a.scores)
    st =
        clm_multiclass_update_scores(ctx, &state, yt, s, n, a.kind, NULL, &err);
  else
    st = clm_multiclass_update_labels(ctx, &state, yt, yp, n, &err);
  if (st != CLM_OK) {
    const char *file = NULL;
    if (st == CLM_ERR_BAD_SCORE)
      file = a.scores;
    else if (st == CLM_ERR_BAD_LABEL)
      file = strstr(err.message, "predicted") ? a.pred : a.labels;
    const char *hint =
        st == CLM_ERR_BAD_LABEL && a.classes ? " (--classes)" : "";
    if (file)
      cli_error("%s: %s%s", file, err.message, hint);
    else
      cli_error("%s%s", err.message[0] ? err.message : clm_status_str(st),
                k_from);
    goto done;
  }
  st = clm_multiclass_finalize(&state, a.zd, &res);
  if (st != CLM_OK) {
    cli_error("%s", clm_status_str(st));
    goto done;
  }
  const double compute_s = cli_now() - t0;
  warn_undefined(&res, names, a.zd);
  if (a.json)
    cli_print_multiclass_json(stdout, &res, state.confusion, names, a.zd, ctx,
                              clm_context_startup_seconds(ctx), compute_s,
                              cli_now() - cli_start_time);
  else
    cli_print_multiclass_text(stdout, &res, state.confusion, names, ctx,
                              clm_context_startup_seconds(ctx), compute_s,
                              cli_now() - cli_start_time);
  rc = CLI_EXIT_OK;
done:
  clm_multiclass_result_release(&res);
  clm_multiclass_state_release(&state);
  clm_context_free(ctx);
  free_names(names, k);
  free(s64);
  clm_array_free(other);
  clm_array_free(labels);
  return rc;
}
