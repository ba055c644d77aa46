/* `clmetrics binary`: labels + scores files to a report, optional gradient
 * files. */
#include "cli_calibration.h"
#include "cli_mpi.h"
#include "cli_ranking.h"
#include "cli_state.h"
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: clmetrics binary --labels FILE --scores FILE [options]\n\n"
      "Binary classification metrics, binary cross-entropy and its gradients,\n"
      "computed on an OpenCL device. FILE is .npy (C order, little-endian)\n"
      "or CSV (one value per line, optional header).\n\n"
      "  --labels FILE          0/1 labels (bool, integer or float dtype)\n"
      "  --scores FILE          one score per sample (float32/float64)\n"
      "  --scores-kind KIND     logits (default) or probs\n"
      "  --threshold T          predicted positive iff probability > T "
      "(default 0.5)\n"
      "  --grad-out FILE.npy    write dL/dz_i = sigma(z_i) - y_i (float32)\n"
      "  --features FILE.npy    N x D inputs of the output layer\n"
      "  --weight-grad-out FILE.npy\n"
      "                         write dL/dW = (1/N) sum_i (sigma(z_i) - y_i) "
      "x_i\n"
      "  --weights FILE         per-sample weights (N finite values >= 0):\n"
      "                         weighted counts, metrics, loss and "
      "calibration\n"
      "  --pos-weight P         weight of the positive term of the loss, as\n"
      "                         PyTorch's BCEWithLogitsLoss(pos_weight=P)\n"
      "  --zero-division V      value of 0/0 ratios: 0 (default), 1 or nan\n"
      "  --no-calibration       skip the Brier score and reliability table\n"
      "  --calibration-bins B   reliability bins (default 15)\n"
      "  --calibration-strategy uniform (equal width, default) or quantile\n"
      "                         (equal mass, one more pass)\n"
      "  --reliability-out FILE.csv\n"
      "                         the reliability table: "
      "bin,lo,hi,count,weight,\n"
      "                         confidence,frequency,gap\n"
      "  --no-ranking           skip ROC-AUC and average precision (extra "
      "passes)\n"
      "  --roc-out FILE.csv     ROC curve: threshold,fpr,tpr\n"
      "  --pr-out FILE.csv      precision-recall curve: "
      "threshold,precision,recall\n"
      "  --curve-points M       at most M points per curve (default 1000)\n"
      "  --ranking-memory SIZE  memory budget of the exact ranking (default "
      "256M)\n"
      "  --device SPEC          device index or name substring "
      "(CLMETRICS_DEVICE)\n"
      "  --save-state FILE      also write the run's mergeable state (see\n"
      "                         `clmetrics merge`)\n"
      "  --json                 print one JSON object instead of the table\n"
      "  --help                 this help\n");
  fputs(cli_report_help, f);
}

int cli_binary_parse_args(int argc, char **argv, struct cli_binary_args *a) {
  a->kind = CLM_SCORES_LOGITS;
  a->threshold = 0.5;
  a->pos_weight = 1.0;
  a->zd = CLM_ZERO_DIVISION_ZERO;
  cli_ranking_defaults(&a->rank);
  cli_calibration_defaults(&a->calib);
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
    int rrc = cli_ranking_flag(argc, argv, &i, "binary", &a->rank);
    if (rrc == 0)
      rrc = cli_calibration_flag(argc, argv, &i, "binary", &a->calib);
    if (rrc == 0) /* --html, --svg-dir */
      rrc = cli_report_flag(argc, argv, &i, "binary", 0, &a->report);
    if (rrc != 0) {
      if (rrc > 0)
        return rrc;
      continue;
    }
    static const char *const with_value[] = {"--labels",
                                             "--scores",
                                             "--scores-kind",
                                             "--threshold",
                                             "--grad-out",
                                             "--features",
                                             "--weight-grad-out",
                                             "--device",
                                             "--zero-division",
                                             "--weights",
                                             "--pos-weight",
                                             "--save-state",
                                             NULL};
    const char *v = NULL;
    const int rc = cli_take_value(argc, argv, &i, with_value, "binary", &v);
    if (rc >= 0)
      return rc;
    if (strcmp(arg, "--labels") == 0)
      a->labels = v;
    else if (strcmp(arg, "--scores") == 0)
      a->scores = v;
    else if (strcmp(arg, "--grad-out") == 0)
      a->grad_out = v;
    else if (strcmp(arg, "--features") == 0)
      a->features = v;
    else if (strcmp(arg, "--weight-grad-out") == 0)
      a->weight_grad_out = v;
    else if (strcmp(arg, "--device") == 0)
      a->device = v;
    else if (strcmp(arg, "--weights") == 0)
      a->weights = v;
    else if (strcmp(arg, "--save-state") == 0)
      a->save_state = v;
    else if (strcmp(arg, "--pos-weight") == 0) {
      if (cli_parse_double(v, &a->pos_weight) != 0 ||
          !(a->pos_weight > 0.0 && isfinite(a->pos_weight)))
        return cli_usage_error(
            "binary", "--pos-weight must be a finite number > 0, not '%s'", v);
    } else if (strcmp(arg, "--scores-kind") == 0) {
      if (cli_parse_scores_kind(v, &a->kind) != 0)
        return cli_usage_error(
            "binary", "--scores-kind must be logits or probs, not '%s'", v);
    } else if (strcmp(arg, "--threshold") == 0) {
      if (cli_parse_double(v, &a->threshold) != 0 ||
          !(a->threshold >= 0.0 && a->threshold <= 1.0))
        return cli_usage_error(
            "binary", "--threshold must be a number in [0, 1], not '%s'", v);
    } else if (strcmp(arg, "--zero-division") == 0) {
      if (cli_parse_zero_division(v, &a->zd) != 0)
        return cli_usage_error(
            "binary", "--zero-division must be 0, 1 or nan, not '%s'", v);
    }
  }
  if (!a->labels || !a->scores)
    return cli_usage_error("binary", "--labels and --scores are required");
  if (a->weight_grad_out && !a->features)
    return cli_usage_error("binary", "--weight-grad-out needs --features");
  if (a->save_state && a->calib.quantile && !a->calib.off)
    return cli_usage_error("binary",
                           "--save-state needs equal-width calibration bins "
                           "(equal-mass edges depend on all the data; use "
                           "--calibration-strategy uniform)");
  const int crc = cli_calibration_check("binary", &a->calib, 1);
  if (crc >= 0)
    return crc;
  a->rank.curves = cli_report_wanted(&a->report); /* the page draws them */
  return cli_ranking_check("binary", &a->rank);
}

/* Checks shapes and lengths of the loaded inputs; -1 to go on. */
static int check_shapes(const struct cli_binary_args *a,
                        const clm_array *labels, const clm_array *scores,
                        const clm_array *features) {
  const uint64_t n = clm_array_rows(labels);
  if (clm_array_ndim(scores) == 2 && clm_array_cols(scores) != 1) {
    cli_error("%s: binary scores must be 1-D (or N x 1), got shape (%llu, "
              "%llu); for N x K class scores use `clmetrics multiclass`",
              a->scores, (unsigned long long)clm_array_rows(scores),
              (unsigned long long)clm_array_cols(scores));
    return CLI_EXIT_ERROR;
  }
  if (clm_array_rows(scores) != n) {
    cli_error("length mismatch: %s has %llu labels but %s has %llu scores",
              a->labels, (unsigned long long)n, a->scores,
              (unsigned long long)clm_array_rows(scores));
    return CLI_EXIT_ERROR;
  }
  if (n == 0) {
    cli_error("%s: empty input (0 samples)", a->labels);
    return CLI_EXIT_ERROR;
  }
  if (features && clm_array_rows(features) != n) {
    cli_error("length mismatch: %s has %llu rows but there are %llu "
              "samples in %s",
              a->features, (unsigned long long)clm_array_rows(features),
              (unsigned long long)n, a->labels);
    return CLI_EXIT_ERROR;
  }
  return -1;
}

/* Host buffers of one batch; inputs already in the kernels' types are read
 * in place and need none. */
struct batch {
  uint64_t rows; /* batch size */
  uint8_t *y;
  float *z, *x, *grad, *w;
};

/* Samples per batch: every input in place and no per-sample output means
 * one batch; otherwise bounded buffers (about 64 MiB of features). */
static uint64_t batch_rows(uint64_t n, uint64_t d, int convert) {
  if (!convert)
    return n;
  uint64_t rows = (uint64_t)1 << 22;
  if (d > 0 && rows > ((uint64_t)16 << 20) / d)
    rows = ((uint64_t)16 << 20) / d;
  if (rows == 0)
    rows = 1;
  return rows < n ? rows : n;
}

static int batch_alloc(struct batch *b, uint64_t rows, uint64_t d,
                       const clm_array *labels, const clm_array *scores,
                       const clm_array *weights, int features, int grad) {
  const clm_dtype ld = clm_array_dtype(labels);
  b->rows = rows;
  if (ld != CLM_DTYPE_U8 && ld != CLM_DTYPE_BOOL && !(b->y = malloc(rows)))
    return -1;
  if (clm_array_dtype(scores) != CLM_DTYPE_F32 &&
      !(b->z = malloc(rows * sizeof(float))))
    return -1;
  if (features && !(b->x = malloc(rows * d * sizeof(float))))
    return -1;
  if (grad && !(b->grad = malloc(rows * sizeof(float))))
    return -1;
  if (cli_weights_need_buffer(weights) &&
      !(b->w = malloc(rows * sizeof(float))))
    return -1;
  return 0;
}

static void batch_free(struct batch *b) {
  free(b->w);
  free(b->grad);
  free(b->x);
  free(b->z);
  free(b->y);
}

/* Converts rows [first, first + m) into the batch (or points into the
 * mapped inputs); a bad value is reported with its file-wide index. */
static clm_status batch_load(struct batch *b, const struct cli_binary_args *a,
                             const clm_array *labels, const clm_array *scores,
                             const clm_array *features,
                             const clm_array *weights, uint64_t first,
                             uint64_t m, const uint8_t **y, const float **z,
                             const float **x, const float **w, clm_error *err) {
  clm_status st = CLM_OK;
  if (b->y)
    st = clm_array_read_labels_u8(labels, first, m, b->y, err);
  *y = b->y ? b->y : (const uint8_t *)clm_array_data(labels) + first;
  if (st == CLM_OK && clm_array_dtype(scores) == CLM_DTYPE_F64) {
    /* float64 scores (NumPy's default, every CSV): rounded to float32 so
     * that no decision changes against the float64 values. */
    st = clm_binary_scores_from_f64_at(
        (const double *)clm_array_data(scores) + first, m, first, a->kind,
        a->threshold, b->z, err);
    if (st != CLM_OK)
      cli_name_file(err, a->scores);
  } else if (st == CLM_OK && b->z) {
    st = clm_array_read_values_f32(scores, first, m, b->z, 0, err);
  }
  *z = b->z ? b->z : (const float *)clm_array_data(scores) + first;
  if (st == CLM_OK && features)
    st = clm_array_read_values_f32(features, first, m, b->x, 1, err);
  *x = b->x;
  *w = NULL;
  if (st == CLM_OK)
    st = cli_weights_batch(weights, first, m, b->w, w, err);
  return st;
}

/* Reports an update error, naming the input it came from. */
static int update_error(const struct cli_binary_args *a, const clm_error *err,
                        clm_status st) {
  const char *file =
      cli_input_path(err->input, a->labels, NULL, a->scores, a->weights);
  if (file)
    cli_error("%s: %s", file, err->message);
  else
    cli_report_error(err, st);
  return CLI_EXIT_ERROR;
}

/* Runs the evaluation batch by batch, streaming per-sample gradients to
 * `gout`; with equal-mass calibration bins a first pass places the edges.
 * -1 on success, else the exit code after one message. */
static int evaluate(const struct cli_binary_args *a, clm_context *ctx,
                    clm_binary_state *state, const clm_array *labels,
                    const clm_array *scores, const clm_array *features,
                    const clm_array *weights, struct cli_output *gout,
                    struct cli_calibration_out *cal,
                    struct cli_state_rank *srank) {
  const uint64_t n = clm_array_rows(labels);
  const uint64_t d = features ? clm_array_cols(features) : 0;
  const clm_dtype ld = clm_array_dtype(labels);
  const int convert = gout->w || features ||
                      clm_array_dtype(scores) != CLM_DTYPE_F32 ||
                      (ld != CLM_DTYPE_U8 && ld != CLM_DTYPE_BOOL) ||
                      cli_weights_need_buffer(weights);
  struct batch b = {0};
  const uint64_t rows = batch_rows(n, d, convert);
  if (batch_alloc(&b, rows, d, labels, scores, weights, features != NULL,
                  gout->w != NULL) != 0) {
    batch_free(&b);
    cli_error("cannot allocate buffers for %llu samples",
              (unsigned long long)rows);
    return CLI_EXIT_ERROR;
  }
  const int weighted = state->weighted;
  int rc = -1;
  clm_error err;
  for (int pass = cli_calibration_prepass(cal) ? 0 : 1; pass < 2 && rc < 0;
       ++pass) {
    for (uint64_t first = 0; first < n && rc < 0; first += rows) {
      const uint64_t m = n - first < rows ? n - first : rows;
      const uint8_t *y;
      const float *z, *x, *w;
      clm_status st = batch_load(&b, a, labels, scores, pass ? features : NULL,
                                 weights, first, m, &y, &z, &x, &w, &err);
      if (st != CLM_OK) {
        rc = cli_report_error(&err, st);
        break;
      }
      cli_progress_batch(first, n);
      if (pass == 1)
        st = weighted ? clm_binary_update_weighted(ctx, state, first, y, z, w,
                                                   m, x, b.grad, &err)
                      : clm_binary_update_at(ctx, state, first, y, z, m, x,
                                             b.grad, &err);
      if (st == CLM_OK && cal->active)
        st = cli_calibration_add_binary(ctx, cal, first, y, z, w, m, a->kind,
                                        &err);
      if (st == CLM_OK && pass == 1) /* --save-state's streaming ranking */
        st = cli_state_rank_add(ctx, srank, scores, first, m, y, z, &err);
      if (st != CLM_OK) {
        rc = update_error(a, &err, st);
        break;
      }
      if (pass == 1 && gout->w &&
          (st = clm_npy_writer_append_f32(gout->w, b.grad, m, &err)) != CLM_OK)
        rc = cli_report_error(&err, st);
    }
    if (pass == 0 && rc < 0)
      rc = cli_calibration_end_prepass(cal);
  }
  batch_free(&b);
  return rc;
}

/* Everything one run holds, so that one clean-up frees it on every path. */
struct run {
  clm_array *labels, *scores, *features, *weights;
  uint64_t n, d; /* samples, features per sample */
  double *wgrad; /* d weight gradients */
  clm_context *ctx;
  clm_binary_state state;
  struct cli_output gout, wout;
  clm_binary_result res;
  double compute_s;
  struct cli_ranking_out rank;
  struct cli_calibration_out cal;
  struct cli_output sout;      /* --save-state */
  struct cli_state_rank srank; /* its streaming ranking */
  struct cli_state *bundle;    /* the run's mergeable state, when wanted */
};

/* Loads and checks the inputs and allocates the weight gradients; -1 to
 * go on, else the exit code after one message. */
static int load_inputs(const struct cli_binary_args *a, struct run *r) {
  if (cli_load_input(a->labels, &r->labels) ||
      cli_load_input(a->scores, &r->scores) ||
      cli_load_input(a->features, &r->features))
    return CLI_EXIT_ERROR;
  /* A mapped input that shrinks under us (SIGBUS) is then named. */
  cli_watch_input(r->labels);
  cli_watch_input(r->scores);
  cli_watch_input(r->features);
  int rc = check_shapes(a, r->labels, r->scores, r->features);
  if (rc >= 0)
    return rc;
  r->n = clm_array_rows(r->labels);
  if ((rc = cli_weights_load(a->weights, r->n, &r->weights)) >= 0)
    return rc;
  r->d = r->features ? clm_array_cols(r->features) : 0;
  if (r->d && !(r->wgrad = malloc(r->d * sizeof(double)))) {
    cli_error("cannot allocate %llu weight gradients",
              (unsigned long long)r->d);
    return CLI_EXIT_ERROR;
  }
  return -1;
}

/* Opens the device, evaluates and finalizes, and writes the gradient
 * files; -1 on success, else the exit code after one message. */
static int compute(const struct cli_binary_args *a, struct run *r) {
  const int rc = cli_open_context(a->device, &r->ctx);
  if (rc != CLI_EXIT_OK)
    return rc;
  const double t0 = cli_now();
  clm_binary_options o;
  clm_binary_options_init(&o);
  o.kind = a->kind;
  o.threshold = a->threshold;
  o.n_features = r->d;
  o.pos_weight = a->pos_weight;
  o.weighted = a->weights != NULL;
  clm_status st = clm_binary_state_init_ex(&r->state, &o);
  if (st != CLM_OK) {
    cli_error("%s", clm_status_str(st));
    return CLI_EXIT_ERROR;
  }
  /* Outputs are written under temporary names beside their targets and
   * renamed once everything succeeded, so a failure leaves every existing
   * file as it was (only a failing second rename could split them). */
  if (cli_output_open(&r->wout, "--weight-grad-out", a->weight_grad_out, r->d,
                      0) ||
      cli_output_open(&r->gout, "--grad-out", a->grad_out, r->n, 0) ||
      cli_ranking_open_outputs(&a->rank, &r->rank) >= 0 ||
      cli_calibration_open_outputs(&a->calib, &r->cal) >= 0 ||
      (cli_mpi_rank0_path(a->save_state) &&
       cli_state_save_open(&r->sout, a->save_state) >= 0))
    return CLI_EXIT_ERROR;
  int erc;
  /* The saved state carries a streaming ranking (exact counts per score
   * prefix, mergeable); weighted ranking has no such state. */
  if (a->save_state && !a->rank.off && !a->weights &&
      (erc = cli_state_rank_begin(&r->srank, r->scores, 1, 0, a->kind, NULL)) >=
          0)
    return erc;
  if (!a->calib.off &&
      (erc = cli_calibration_begin(&a->calib, &r->cal, 1, a->weights != NULL, 0,
                                   0)) >= 0)
    return erc;
  erc = evaluate(a, r->ctx, &r->state, r->labels, r->scores, r->features,
                 r->weights, &r->gout, &r->cal, &r->srank);
  if (erc >= 0)
    return erc;
  /* Under MPI, rank 0 finalizes the merged state instead (a rank's own
   * rows may be none). */
  st = cli_mpi_active()
           ? CLM_OK
           : clm_binary_finalize(&r->state, a->zd, &r->res, r->wgrad);
  if (st == CLM_ERR_EMPTY && r->state.weighted) {
    cli_error("%s: the sample weights sum to 0: every weighted metric is "
              "undefined",
              a->weights);
    return CLI_EXIT_ERROR;
  }
  if (st != CLM_OK) {
    cli_error("%s", clm_status_str(st));
    return CLI_EXIT_ERROR;
  }
  if ((erc = cli_calibration_finish(&r->cal)) >= 0)
    return erc;
  if (!a->rank.off) {
    const int rrc = cli_ranking_run(&a->rank, r->ctx, r->labels, r->scores, 1,
                                    a->kind, NULL, r->weights, &r->rank);
    if (rrc >= 0)
      return rrc;
  }
  r->compute_s = cli_now() - t0;
  clm_error err;
  if (r->wout.w &&
      (st = clm_npy_writer_append_f64(r->wout.w, r->wgrad, r->d, &err)))
    return cli_report_error(&err, st);
  /* The run's state: to save, or for rank 0 to merge under MPI (which
   * saves the merged state itself). */
  if ((a->save_state || cli_mpi_active()) &&
      (erc = cli_state_of_binary(a, &r->state, &r->cal, &r->srank,
                                 &r->bundle)) >= 0)
    return erc;
  if (cli_output_commit(&r->gout) || cli_output_commit(&r->wout) ||
      cli_ranking_write_curves(&r->rank) >= 0 ||
      (!cli_mpi_active() && cli_state_save_commit(&r->sout, r->bundle) >= 0))
    return CLI_EXIT_ERROR;
  return -1;
}

static int report(const struct cli_binary_args *a, const struct run *r) {
  cli_warn_undefined(&r->res, a->zd);
  cli_ranking_warn(&r->rank);
  struct cli_binary_report rep = {
      .result = &r->res,
      .ctx = r->ctx,
      .kind = a->kind,
      .zero_division = a->zd,
      .weight_grad = r->wgrad,
      .n_features = r->d,
      .startup_s = clm_context_startup_seconds(r->ctx),
      .compute_s = r->compute_s,
      .total_s = cli_now() - cli_start_time,
      .labels_path = a->labels,
      .scores_path = a->scores,
      .ranking = r->rank.done ? &r->rank : NULL,
      .calibration = r->cal.done ? &r->cal : NULL,
  };
  const int hrc = cli_report_binary(&a->report, &rep); /* --html */
  if (hrc >= 0)
    return hrc;
  if (a->json)
    cli_print_binary_json(stdout, &rep);
  else
    cli_print_binary_text(stdout, &rep);
  return CLI_EXIT_OK;
}

/* Removes unfinished outputs and frees what the run holds. */
static void run_free(struct run *r) {
  cli_output_abort(&r->gout);
  cli_output_abort(&r->wout);
  cli_output_abort(&r->sout);
  cli_state_rank_free(&r->srank);
  cli_state_free(r->bundle);
  cli_ranking_abort(&r->rank);
  cli_ranking_free(&r->rank);
  cli_calibration_abort(&r->cal);
  cli_calibration_free(&r->cal);
  clm_binary_state_release(&r->state);
  clm_context_free(r->ctx);
  free(r->wgrad);
  clm_array_free(r->weights);
  clm_array_free(r->features);
  clm_array_free(r->scores);
  clm_array_free(r->labels);
}

int cli_binary(int argc, char **argv) {
  struct cli_binary_args a = {0};
  int rc = cli_binary_parse_args(argc, argv, &a);
  if (rc >= 0)
    return rc;
  const struct cli_file ins[] = {{"--labels", a.labels},
                                 {"--scores", a.scores},
                                 {"--features", a.features},
                                 {"--weights", a.weights}};
  const struct cli_file outs[] = {
      {"--grad-out", a.grad_out},
      {"--weight-grad-out", a.weight_grad_out},
      {"--roc-out", a.rank.roc_out},
      {"--pr-out", a.rank.pr_out},
      {"--reliability-out", a.calib.reliability_out},
      {"--save-state", a.save_state}};
  rc = cli_check_outputs(ins, 4, outs, 6);
  if (rc >= 0)
    return rc;
  if ((rc = cli_report_check(&a.report, ins, 4, outs, 5)) >= 0)
    return rc;
  struct run r = {0};
  if ((rc = load_inputs(&a, &r)) < 0 && (rc = compute(&a, &r)) < 0) {
    if (cli_mpi_active()) {
      /* Rank 0 merges the ranks' states in rank order and reports, with
       * the collective exact ranking. */
      const struct cli_mpi_end end = {.json = a.json,
                                      .ranking = r.rank.done ? &r.rank : NULL,
                                      .page = &a.report,
                                      .inputs = a.labels,
                                      .save = r.sout.w ? &r.sout : NULL};
      rc = cli_mpi_report(r.bundle, &end);
      r.bundle = NULL;
    } else {
      rc = report(&a, &r);
    }
  }
  run_free(&r);
  return rc;
}
