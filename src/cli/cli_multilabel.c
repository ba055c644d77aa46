/* `clmetrics multilabel`: an N x L indicator matrix of labels against N x L
 * scores (or 0/1 predictions) to a report, optional per-cell gradients. */
#include "cli_calibration.h"
#include "cli_mpi.h"
#include "cli_multilabel.h"
#include "cli_state.h"
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: clmetrics multilabel --labels FILE (--scores FILE | --pred FILE)"
      " [options]\n\n"
      "Multilabel metrics (scikit-learn's multilabel conventions) and the\n"
      "binary cross-entropy of an N x L matrix, on an OpenCL device. FILE is\n"
      ".npy (C order, little-endian) or CSV (comma-separated rows).\n\n"
      "  --labels FILE          N x L 0/1 indicator matrix (bool, integer or\n"
      "                         float dtype); a 1-D file is one label\n"
      "  --scores FILE          N x L scores (float32/float64)\n"
      "  --pred FILE            N x L 0/1 predictions instead of scores\n"
      "  --scores-kind KIND     logits (default) or probs\n"
      "  --threshold T          predicted positive iff probability > T "
      "(default 0.5)\n"
      "  --thresholds FILE      one threshold per label (L values in [0, 1])\n"
      "  --names FILE           label names, one per line (L lines)\n"
      "  --weights FILE         per-row sample weights (N finite values >= 0)\n"
      "  --zero-division V      value of 0/0 ratios: 0 (default), 1 or nan\n"
      "  --grad-out FILE.npy    write dL/dz = sigma(z) - y per cell (N x L "
      "float32)\n"
      "  --no-label-ranking     skip coverage error, label ranking average\n"
      "                         precision and ranking loss\n"
      "  --no-ranking           skip per-label ROC-AUC and average precision\n"
      "                         (extra passes)\n"
      "  --ranking-memory SIZE  memory budget of the exact ranking (default "
      "256M)\n"
      "  --sort KEY             per-label table order: label, support "
      "(largest\n"
      "                         first) or f1 (worst first); default label, or\n"
      "                         support when L > %d\n"
      "  --all-labels           print every label in the table (default: the\n"
      "                         first %d when L is larger)\n"
      "  --full                 put the multilabel confusion matrix in the "
      "JSON\n"
      "                         also when L > %d\n"
      "  --device SPEC          device index or name substring "
      "(CLMETRICS_DEVICE)\n"
      "  --save-state FILE      also write the run's mergeable state (see\n"
      "                         `clmetrics merge`)\n"
      "  --json                 print one JSON object instead of the table\n"
      "  --help                 this help\n",
      CLI_ML_TABLE_ROWS, CLI_ML_TABLE_ROWS, CLI_ML_MCM_MAX);
  fputs(cli_report_help, f);
  fprintf(f,
          "                         with --full, every label in the page's\n"
          "                         table (else the %d largest)\n",
          CLI_REPORT_TABLE_ROWS);
}

static int parse_args(int argc, char **argv, struct cli_multilabel_args *a) {
  a->kind = CLM_SCORES_LOGITS;
  a->threshold = 0.5;
  a->zd = CLM_ZERO_DIVISION_ZERO;
  a->sort = CLI_ML_SORT_DEFAULT;
  cli_ranking_defaults(&a->rank);
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      usage(stdout);
      return CLI_EXIT_OK;
    }
    static const struct {
      const char *flag;
      size_t offset;
    } switches[] = {
        {"--json", offsetof(struct cli_multilabel_args, json)},
        {"--full", offsetof(struct cli_multilabel_args, full)},
        {"--all-labels", offsetof(struct cli_multilabel_args, all_labels)},
        {"--no-label-ranking",
         offsetof(struct cli_multilabel_args, no_label_ranking)}};
    const int rrc = cli_ranking_flag(argc, argv, &i, "multilabel", &a->rank);
    if (rrc > 0)
      return rrc;
    if (rrc < 0)
      continue;
    const int hrc = /* --html, --svg-dir */
        cli_report_flag(argc, argv, &i, "multilabel", 0, &a->report);
    if (hrc > 0)
      return hrc;
    if (hrc < 0)
      continue;
    int matched = 0;
    for (size_t s = 0; s < sizeof switches / sizeof *switches; ++s)
      if (strcmp(arg, switches[s].flag) == 0) {
        *(int *)((char *)a + switches[s].offset) = 1;
        matched = 1;
      }
    if (matched)
      continue;
    static const char *const with_value[] = {
        "--labels",      "--scores",    "--pred",
        "--scores-kind", "--threshold", "--thresholds",
        "--names",       "--weights",   "--zero-division",
        "--grad-out",    "--sort",      "--device",
        "--save-state",  NULL};
    const char *v = NULL;
    const int rc = cli_take_value(argc, argv, &i, with_value, "multilabel", &v);
    if (rc >= 0)
      return rc;
    if (strcmp(arg, "--labels") == 0)
      a->labels = v;
    else if (strcmp(arg, "--scores") == 0)
      a->scores = v;
    else if (strcmp(arg, "--pred") == 0)
      a->pred = v;
    else if (strcmp(arg, "--thresholds") == 0)
      a->thresholds = v;
    else if (strcmp(arg, "--names") == 0)
      a->names = v;
    else if (strcmp(arg, "--weights") == 0)
      a->weights = v;
    else if (strcmp(arg, "--grad-out") == 0)
      a->grad_out = v;
    else if (strcmp(arg, "--save-state") == 0)
      a->save_state = v;
    else if (strcmp(arg, "--device") == 0)
      a->device = v;
    else if (strcmp(arg, "--scores-kind") == 0) {
      if (cli_parse_scores_kind(v, &a->kind) != 0)
        return cli_usage_error(
            "multilabel", "--scores-kind must be logits or probs, not '%s'", v);
    } else if (strcmp(arg, "--threshold") == 0) {
      if (cli_parse_double(v, &a->threshold) != 0 ||
          !(a->threshold >= 0.0 && a->threshold <= 1.0))
        return cli_usage_error(
            "multilabel", "--threshold must be a number in [0, 1], not '%s'",
            v);
      a->threshold_given = 1;
    } else if (strcmp(arg, "--zero-division") == 0) {
      if (cli_parse_zero_division(v, &a->zd) != 0)
        return cli_usage_error(
            "multilabel", "--zero-division must be 0, 1 or nan, not '%s'", v);
    } else if (strcmp(arg, "--sort") == 0) {
      if (strcmp(v, "label") == 0)
        a->sort = CLI_ML_SORT_LABEL;
      else if (strcmp(v, "support") == 0)
        a->sort = CLI_ML_SORT_SUPPORT;
      else if (strcmp(v, "f1") == 0)
        a->sort = CLI_ML_SORT_F1;
      else
        return cli_usage_error(
            "multilabel", "--sort must be label, support or f1, not '%s'", v);
    }
  }
  if (!a->labels || (!a->scores == !a->pred))
    return cli_usage_error("multilabel",
                           "--labels and one of --scores or --pred are "
                           "required");
  if (a->rank.roc_out || a->rank.pr_out)
    return cli_usage_error("multilabel",
                           "--roc-out and --pr-out are not available for "
                           "multilabel yet (per-label AUC and AP are in the "
                           "report)");
  if (a->pred && a->grad_out)
    return cli_usage_error("multilabel", "--grad-out needs --scores");
  if (a->thresholds && a->threshold_given)
    return cli_usage_error("multilabel",
                           "give --threshold or --thresholds, not both");
  if (a->pred && (a->thresholds || a->threshold_given))
    return cli_usage_error("multilabel",
                           "--threshold and --thresholds need --scores");
  a->rank.curves = cli_report_wanted(&a->report); /* the page draws them */
  return -1;
}

/* Rows and labels of an input: a 1-D file is N x 1. */
static int check_matrix(const char *path, const clm_array *x,
                        const char *labels_path, uint64_t n, uint64_t L,
                        const char *what) {
  if (clm_array_rows(x) != n || clm_array_cols(x) != L) {
    cli_error("shape mismatch: %s has shape (%llu, %llu) but the labels %s "
              "are (%llu, %llu); %s must match",
              path, (unsigned long long)clm_array_rows(x),
              (unsigned long long)clm_array_cols(x), labels_path,
              (unsigned long long)n, (unsigned long long)L, what);
    return CLI_EXIT_ERROR;
  }
  return -1;
}

/* Loads --thresholds: L values in [0, 1]. */
static int load_thresholds(const char *path, uint64_t L, double **out) {
  clm_array *t = NULL;
  if (cli_load_file(path, &t))
    return CLI_EXIT_ERROR;
  int rc = -1;
  const uint64_t count = clm_array_rows(t) * clm_array_cols(t);
  float *f = NULL;
  if (count != L) {
    cli_error("%s: %llu thresholds for %llu labels", path,
              (unsigned long long)count, (unsigned long long)L);
    rc = CLI_EXIT_ERROR;
  } else if (!(f = malloc(L * sizeof *f)) ||
             !(*out = malloc(L * sizeof **out))) {
    cli_error("cannot allocate %llu thresholds", (unsigned long long)L);
    rc = CLI_EXIT_ERROR;
  } else {
    /* float64 files keep their exact values; other dtypes via float32. */
    const int f64 = clm_array_dtype(t) == CLM_DTYPE_F64;
    clm_error err;
    clm_status st = CLM_OK;
    if (!f64)
      st = clm_array_read_values_f32(t, 0, clm_array_rows(t), f, 0, &err);
    if (st != CLM_OK) {
      rc = cli_report_error(&err, st);
    } else {
      for (uint64_t c = 0; c < L && rc < 0; ++c) {
        const double v =
            f64 ? ((const double *)clm_array_data(t))[c] : (double)f[c];
        if (!(v >= 0.0 && v <= 1.0)) {
          cli_error("%s: index %llu: threshold %.17g is not in [0, 1]", path,
                    (unsigned long long)c, v);
          rc = CLI_EXIT_ERROR;
        }
        (*out)[c] = v;
      }
    }
  }
  free(f);
  clm_array_free(t);
  return rc;
}

static int load_inputs(const struct cli_multilabel_args *a,
                       struct cli_multilabel_run *r) {
  if (cli_load_input(a->labels, &r->labels) ||
      cli_load_input(a->scores, &r->scores) ||
      cli_load_input(a->pred, &r->pred))
    return CLI_EXIT_ERROR;
  cli_watch_input(r->labels);
  cli_watch_input(r->scores);
  cli_watch_input(r->pred);
  r->n = clm_array_rows(r->labels);
  r->L = clm_array_cols(r->labels);
  if (r->n == 0 || r->L == 0) {
    cli_error("%s: empty input (shape (%llu, %llu))", a->labels,
              (unsigned long long)r->n, (unsigned long long)r->L);
    return CLI_EXIT_ERROR;
  }
  if (r->L > UINT32_MAX) {
    cli_error("%s: %llu labels; at most %u are supported", a->labels,
              (unsigned long long)r->L, UINT32_MAX);
    return CLI_EXIT_ERROR;
  }
  int rc;
  if (r->scores && (rc = check_matrix(a->scores, r->scores, a->labels, r->n,
                                      r->L, "scores and labels")) >= 0)
    return rc;
  if (r->pred && (rc = check_matrix(a->pred, r->pred, a->labels, r->n, r->L,
                                    "predictions and labels")) >= 0)
    return rc;
  if ((rc = cli_weights_load(a->weights, r->n, &r->weights)) >= 0)
    return rc;
  if (a->thresholds &&
      (rc = load_thresholds(a->thresholds, r->L, &r->thresholds)) >= 0)
    return rc;
  if (a->names && !(r->names = cli_read_class_names(a->names, (uint32_t)r->L)))
    return CLI_EXIT_ERROR;
  return -1;
}

/* Host buffers of one batch of rows; inputs already in the kernels' types
 * are read in place. */
struct batch {
  uint64_t rows;
  uint8_t *y, *p;
  float *z, *w, *grad;
};

static int is_u8(const clm_array *x) {
  return clm_array_dtype(x) == CLM_DTYPE_U8 ||
         clm_array_dtype(x) == CLM_DTYPE_BOOL;
}

static void batch_free(struct batch *b) {
  free(b->grad);
  free(b->w);
  free(b->z);
  free(b->p);
  free(b->y);
}

/* Converts rows [first, first + m) (or points into the mapped inputs). */
static clm_status batch_load(struct batch *b,
                             const struct cli_multilabel_args *a,
                             struct cli_multilabel_run *r, uint64_t first,
                             uint64_t m, const uint8_t **y, const float **z,
                             const uint8_t **p, const float **w,
                             clm_error *err) {
  const uint64_t L = r->L;
  clm_status st = CLM_OK;
  if (b->y)
    st = clm_array_read_indicator_u8(r->labels, first, m, b->y, err);
  *y = b->y ? b->y : (const uint8_t *)clm_array_data(r->labels) + first * L;
  *z = NULL;
  *p = NULL;
  if (st == CLM_OK && r->scores) {
    if (clm_array_dtype(r->scores) == CLM_DTYPE_F64) {
      st = clm_multilabel_scores_from_f64(
          &r->state, (const double *)clm_array_data(r->scores) + first * L, m,
          first, b->z, err);
      if (st != CLM_OK)
        cli_name_file(err, a->scores);
    } else if (b->z) {
      st = clm_array_read_values_f32(r->scores, first, m, b->z, 0, err);
    }
    *z = b->z ? b->z : (const float *)clm_array_data(r->scores) + first * L;
  }
  if (st == CLM_OK && r->pred) {
    if (b->p)
      st = clm_array_read_indicator_u8(r->pred, first, m, b->p, err);
    *p = b->p ? b->p : (const uint8_t *)clm_array_data(r->pred) + first * L;
  }
  *w = NULL;
  if (st == CLM_OK)
    st = cli_weights_batch(r->weights, first, m, b->w, w, err);
  return st;
}

static int update_error(const struct cli_multilabel_args *a,
                        const clm_error *err, clm_status st) {
  const char *file =
      cli_input_path(err->input, a->labels, a->pred, a->scores, a->weights);
  if (file)
    cli_error("%s: %s", file, err->message);
  else
    cli_report_error(err, st);
  return CLI_EXIT_ERROR;
}

/* Runs every batch through the device; -1 on success. */
static int evaluate(const struct cli_multilabel_args *a,
                    struct cli_multilabel_run *r) {
  const uint64_t n = r->n, L = r->L;
  const int convert =
      r->gout.w || !is_u8(r->labels) ||
      (r->scores && clm_array_dtype(r->scores) != CLM_DTYPE_F32) ||
      (r->pred && !is_u8(r->pred)) || cli_weights_need_buffer(r->weights);
  uint64_t rows = n;
  if (convert) {
    rows = ((uint64_t)1 << 22) / L;
    if (rows == 0)
      rows = 1;
    if (rows > n)
      rows = n;
  }
  struct batch b = {.rows = rows};
  const size_t cells = (size_t)(rows * L);
  int oom = (!is_u8(r->labels) && !(b.y = malloc(cells))) ||
            (r->scores && clm_array_dtype(r->scores) != CLM_DTYPE_F32 &&
             !(b.z = malloc(cells * sizeof(float)))) ||
            (r->pred && !is_u8(r->pred) && !(b.p = malloc(cells))) ||
            (cli_weights_need_buffer(r->weights) &&
             !(b.w = malloc(rows * sizeof(float)))) ||
            (r->gout.w && !(b.grad = malloc(cells * sizeof(float))));
  if (oom) {
    batch_free(&b);
    cli_error("cannot allocate buffers for %llu rows of %llu labels",
              (unsigned long long)rows, (unsigned long long)L);
    return CLI_EXIT_ERROR;
  }
  int rc = -1;
  clm_error err;
  for (uint64_t first = 0; first < n && rc < 0; first += rows) {
    const uint64_t m = n - first < rows ? n - first : rows;
    const uint8_t *y, *p;
    const float *z, *w;
    clm_status st = batch_load(&b, a, r, first, m, &y, &z, &p, &w, &err);
    if (st != CLM_OK) {
      rc = cli_report_error(&err, st);
      break;
    }
    cli_progress_batch(first, n);
    st = p ? clm_multilabel_update_predictions(r->ctx, &r->state, first, y, p,
                                               w, m, &err)
           : clm_multilabel_update(r->ctx, &r->state, first, y, z, w, m, b.grad,
                                   &err);
    if (st == CLM_OK && z && r->srank) /* --save-state's streaming ranking */
      st =
          cli_state_rank_add(r->ctx, r->srank, r->scores, first, m, y, z, &err);
    if (st != CLM_OK) {
      rc = update_error(a, &err, st);
      break;
    }
    if (r->gout.w && (st = clm_npy_writer_append_f32(r->gout.w, b.grad, m * L,
                                                     &err)) != CLM_OK)
      rc = cli_report_error(&err, st);
  }
  batch_free(&b);
  return rc;
}

static int compute(const struct cli_multilabel_args *a,
                   struct cli_multilabel_run *r) {
  int rc = cli_open_context(a->device, &r->ctx);
  if (rc != CLI_EXIT_OK)
    return rc;
  const double t0 = cli_now();
  clm_multilabel_options o;
  clm_multilabel_options_init(&o);
  o.n_labels = (uint32_t)r->L;
  o.kind = a->kind;
  o.from_predictions = a->pred != NULL;
  o.threshold = a->threshold;
  o.thresholds = r->thresholds;
  o.weighted = a->weights != NULL;
  o.label_ranking = !a->no_label_ranking;
  clm_status st = clm_multilabel_state_init(&r->state, &o);
  if (st != CLM_OK) {
    cli_error("%s", clm_status_str(st));
    return CLI_EXIT_ERROR;
  }
  const int one_d = clm_array_ndim(r->labels) == 1;
  if (cli_output_open(&r->gout, "--grad-out", a->grad_out, r->n,
                      one_d ? 0 : r->L) ||
      (cli_mpi_rank0_path(a->save_state) &&
       cli_state_save_open(&r->sout, a->save_state) >= 0))
    return CLI_EXIT_ERROR;
  /* The saved state carries streaming per-label and micro rankings
   * (unweighted runs only: weighted ranking has no mergeable state). */
  if (a->save_state && r->scores && !a->rank.off && !a->weights) {
    if (!(r->srank = calloc(1, sizeof *r->srank))) {
      cli_error("cannot allocate the streaming ranking");
      return CLI_EXIT_ERROR;
    }
    if ((rc = cli_state_rank_begin(r->srank, r->scores, (uint32_t)r->L, 1,
                                   a->kind, NULL)) >= 0)
      return rc;
  }
  if ((rc = evaluate(a, r)) >= 0)
    return rc;
  /* Under MPI, rank 0 finalizes the merged state instead (a rank's own
   * rows may be none). */
  if (cli_mpi_active())
    st = CLM_OK;
  else if ((st = clm_multilabel_finalize(&r->state, a->zd, &r->res)) ==
               CLM_OK &&
           r->state.weighted && !(r->state.w_sum > 0)) {
    cli_error("%s: the sample weights sum to 0: every weighted metric is "
              "undefined",
              a->weights);
    return CLI_EXIT_ERROR;
  }
  if (st != CLM_OK) {
    cli_error("%s", clm_status_str(st));
    return CLI_EXIT_ERROR;
  }
  if (r->scores && !a->rank.off && (rc = cli_multilabel_ranking(a, r)) >= 0)
    return rc;
  r->compute_s = cli_now() - t0;
  /* The run's state: to save, or for rank 0 to merge under MPI (which
   * saves the merged state itself). */
  if ((a->save_state || cli_mpi_active()) &&
      (rc = cli_state_of_multilabel(a, &r->state, r->names,
                                    r->thresholds != NULL, r->srank,
                                    &r->bundle)) >= 0)
    return rc;
  if (cli_output_commit(&r->gout) ||
      (!cli_mpi_active() && cli_state_save_commit(&r->sout, r->bundle) >= 0))
    return CLI_EXIT_ERROR;
  return -1;
}

static void run_free(struct cli_multilabel_run *r) {
  cli_output_abort(&r->gout);
  cli_output_abort(&r->sout);
  if (r->srank)
    cli_state_rank_free(r->srank);
  free(r->srank);
  cli_state_free(r->bundle);
  clm_ranking_result_release(&r->rank_labels);
  clm_ranking_result_release(&r->rank_micro);
  clm_multilabel_result_release(&r->res);
  clm_multilabel_state_release(&r->state);
  clm_context_free(r->ctx);
  cli_free_class_names(r->names, (uint32_t)r->L);
  free(r->thresholds);
  clm_array_free(r->weights);
  clm_array_free(r->pred);
  clm_array_free(r->scores);
  clm_array_free(r->labels);
}

int cli_multilabel(int argc, char **argv) {
  struct cli_multilabel_args a = {0};
  int rc = parse_args(argc, argv, &a);
  if (rc >= 0)
    return rc;
  const struct cli_file ins[] = {{"--labels", a.labels},
                                 {"--scores", a.scores},
                                 {"--pred", a.pred},
                                 {"--weights", a.weights},
                                 {"--thresholds", a.thresholds},
                                 {"--names", a.names}};
  const struct cli_file outs[] = {{"--grad-out", a.grad_out},
                                  {"--save-state", a.save_state}};
  rc = cli_check_outputs(ins, 6, outs, 2);
  if (rc >= 0)
    return rc;
  if ((rc = cli_report_check(&a.report, ins, 6, outs, 1)) >= 0)
    return rc;
  struct cli_multilabel_run r = {0};
  if ((rc = load_inputs(&a, &r)) < 0 && (rc = compute(&a, &r)) < 0 &&
      cli_mpi_active()) {
    /* MPI: rank 0 merges the ranks' states in rank order and reports,
     * with the collective exact per-label and micro rankings. */
    struct cli_ranking_out labels;
    memset(&labels, 0, sizeof labels);
    labels.result = r.rank_labels;
    labels.done = 1;
    const struct cli_mpi_end end = {
        .json = a.json,
        .ranking = r.has_ranking ? &labels : NULL,
        .micro = r.has_ranking && r.rank_micro.classes ? &r.rank_micro : NULL,
        .page = &a.report,
        .inputs = a.labels,
        .save = r.sout.w ? &r.sout : NULL};
    rc = cli_mpi_report(r.bundle, &end);
    r.bundle = NULL;
  } else if (rc < 0) {
    cli_warn_multilabel_undefined(&r.res, r.names, a.zd);
    r.total_s = cli_now() - cli_start_time;
    rc = cli_report_multilabel(&a.report, &a, &r); /* --html */
    if (rc < 0 && a.json)
      cli_print_multilabel_json(stdout, &a, &r);
    else if (rc < 0)
      cli_print_multilabel_text(stdout, &a, &r);
    if (rc < 0)
      rc = CLI_EXIT_OK;
  }
  run_free(&r);
  return rc;
}
