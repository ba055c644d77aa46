/* `clmetrics binary`: labels + scores files to a report, optional gradient
 * files. */
#include "cli_outputs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

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
      "  --zero-division V      value of 0/0 ratios: 0 (default), 1 or nan\n"
      "  --device SPEC          device index or name substring "
      "(CLMETRICS_DEVICE)\n"
      "  --json                 print one JSON object instead of the table\n"
      "  --help                 this help\n");
}

static const char *undefined_reason(unsigned bit) {
  switch (bit) {
  case CLM_UNDEF_PRECISION:
    return "precision (no predicted positives: TP + FP = 0)";
  case CLM_UNDEF_RECALL:
    return "recall (no true positives in the labels: TP + FN = 0)";
  case CLM_UNDEF_F1:
    return "F1 (no positives at all: TP + FP + FN = 0)";
  case CLM_UNDEF_SPECIFICITY:
    return "specificity (no true negatives in the labels: TN + FP = 0)";
  case CLM_UNDEF_MCC:
    return "MCC (a row or column of the confusion matrix is empty)";
  default:
    return "a metric";
  }
}

void cli_warn_undefined(const clm_binary_result *r, clm_zero_division zd) {
  const char *as = zd == CLM_ZERO_DIVISION_ONE   ? "1"
                   : zd == CLM_ZERO_DIVISION_NAN ? "nan"
                                                 : "0";
  for (unsigned bit = 1; bit <= CLM_UNDEF_MCC; bit <<= 1)
    if (r->undefined & bit)
      cli_warning("%s is undefined; reported as %s (--zero-division)",
                  undefined_reason(bit), as);
}

static void print_value(FILE *f, const char *name, double v) {
  if (isnan(v))
    fprintf(f, "  %-22s %12s\n", name, "nan");
  else
    fprintf(f, "  %-22s %12.6f\n", name, v);
}

void cli_print_binary_text(FILE *f, const struct cli_binary_report *rep) {
  const clm_binary_result *r = rep->result;
  const clm_device_info *dev = clm_context_device(rep->ctx);
  fprintf(f, "binary evaluation: %llu samples, scores as %s, threshold %g\n",
          (unsigned long long)r->n,
          rep->kind == CLM_SCORES_PROBS ? "probabilities" : "logits",
          r->threshold);
  if (rep->labels_path)
    fprintf(f, "labels: %s\nscores: %s\n", rep->labels_path, rep->scores_path);
  fprintf(f, "device: %s / %s (%s)\n\n", dev->platform, dev->name, dev->type);
  fprintf(f, "  confusion matrix       predicted 1   predicted 0\n");
  fprintf(f, "  actual 1            %14llu %13llu\n", (unsigned long long)r->tp,
          (unsigned long long)r->fn);
  fprintf(f, "  actual 0            %14llu %13llu\n\n",
          (unsigned long long)r->fp, (unsigned long long)r->tn);
  fprintf(f, "  %-22s %12s\n", "metric", "value");
  print_value(f, "accuracy", r->accuracy);
  print_value(f, "precision", r->precision);
  print_value(f, "recall", r->recall);
  print_value(f, "F1", r->f1);
  print_value(f, "specificity", r->specificity);
  print_value(f, "balanced accuracy", r->balanced_accuracy);
  print_value(f, "MCC", r->mcc);
  fprintf(f, "\n");
  fprintf(f, "  %-22s %12.6g nats/sample\n", "BCE mean", r->bce_mean);
  fprintf(f, "  %-22s %12.6g nats\n", "BCE sum", r->bce_sum);
  fprintf(f, "  %-22s %12.6g\n", "dL/db (mean grad)", r->grad_bias);
  if (rep->weight_grad) {
    uint64_t show = rep->n_features < 8 ? rep->n_features : 8;
    fprintf(f, "  %-22s", "dL/dW");
    for (uint64_t j = 0; j < show; ++j)
      fprintf(f, " %.6g", rep->weight_grad[j]);
    if (show < rep->n_features)
      fprintf(f, " ... (%llu values)", (unsigned long long)rep->n_features);
    fprintf(f, "\n");
  }
  char rate[32];
  const double bytes = (double)r->n * (sizeof(float) + 1);
  cli_format_rate(rep->compute_s > 0 ? (double)r->n / rep->compute_s : NAN,
                  rate, sizeof rate);
  fprintf(f,
          "\ntiming: start-up %.3f s, compute %.3f s (%ssamples/s, %.2f "
          "GB/s of input), total %.3f s\n",
          rep->startup_s, rep->compute_s, rate,
          rep->compute_s > 0 ? bytes / rep->compute_s / 1e9 : 0.0,
          rep->total_s);
}

void cli_print_binary_json(FILE *f, const struct cli_binary_report *rep) {
  const clm_binary_result *r = rep->result;
  const clm_device_info *dev = clm_context_device(rep->ctx);
  struct json j;
  json_begin(&j, f);
  json_string(&j, "task", "binary");
  json_u64(&j, "n", r->n);
  json_number(&j, "threshold", r->threshold);
  json_string(&j, "scores_kind",
              rep->kind == CLM_SCORES_PROBS ? "probs" : "logits");
  json_object_open(&j, "confusion");
  json_u64(&j, "tp", r->tp);
  json_u64(&j, "fp", r->fp);
  json_u64(&j, "tn", r->tn);
  json_u64(&j, "fn", r->fn);
  json_object_close(&j);
  json_number(&j, "accuracy", r->accuracy);
  json_number(&j, "precision", r->precision);
  json_number(&j, "recall", r->recall);
  json_number(&j, "f1", r->f1);
  json_number(&j, "specificity", r->specificity);
  json_number(&j, "balanced_accuracy", r->balanced_accuracy);
  json_number(&j, "mcc", r->mcc);
  json_object_open(&j, "loss");
  json_number(&j, "bce_mean", r->bce_mean);
  json_number(&j, "bce_sum", r->bce_sum);
  json_object_close(&j);
  json_object_open(&j, "gradient");
  json_number(&j, "bias", r->grad_bias);
  if (rep->weight_grad) {
    json_array_open(&j, "weights");
    for (uint64_t k = 0; k < rep->n_features; ++k)
      json_number(&j, NULL, rep->weight_grad[k]);
    json_array_close(&j);
  }
  json_object_close(&j);
  json_array_open(&j, "undefined");
  static const struct {
    unsigned bit;
    const char *name;
  } names[] = {{CLM_UNDEF_PRECISION, "precision"},
               {CLM_UNDEF_RECALL, "recall"},
               {CLM_UNDEF_F1, "f1"},
               {CLM_UNDEF_SPECIFICITY, "specificity"},
               {CLM_UNDEF_MCC, "mcc"}};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; ++k)
    if (r->undefined & names[k].bit)
      json_string(&j, NULL, names[k].name);
  json_array_close(&j);
  json_string(&j, "zero_division",
              rep->zero_division == CLM_ZERO_DIVISION_ONE   ? "1"
              : rep->zero_division == CLM_ZERO_DIVISION_NAN ? "nan"
                                                            : "0");
  json_object_open(&j, "device");
  json_string(&j, "platform", dev->platform);
  json_string(&j, "name", dev->name);
  json_string(&j, "type", dev->type);
  json_object_close(&j);
  json_object_open(&j, "timing");
  json_number(&j, "startup_s", rep->startup_s);
  json_number(&j, "compute_s", rep->compute_s);
  json_number(&j, "total_s", rep->total_s);
  json_object_close(&j);
  json_end(&j);
}

int cli_binary_parse_args(int argc, char **argv, struct cli_binary_args *a) {
  a->kind = CLM_SCORES_LOGITS;
  a->threshold = 0.5;
  a->zd = CLM_ZERO_DIVISION_ZERO;
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
        "--labels",        "--scores",   "--scores-kind",     "--threshold",
        "--grad-out",      "--features", "--weight-grad-out", "--device",
        "--zero-division", NULL};
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
    else if (strcmp(arg, "--scores-kind") == 0) {
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
  return -1;
}

/* Prints a reader/converter error; the library's message names the file. */
static int report_error(const clm_error *err, clm_status st) {
  cli_error("%s", err->message[0] ? err->message : clm_status_str(st));
  return CLI_EXIT_ERROR;
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
  float *z, *x, *grad;
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
                       int features, int grad) {
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
  return 0;
}

static void batch_free(struct batch *b) {
  free(b->grad);
  free(b->x);
  free(b->z);
  free(b->y);
}

/* Converts rows [first, first + m) into the batch (or points into the
 * mapped inputs); a bad value is reported with its file-wide index. */
static clm_status batch_load(struct batch *b, const struct cli_binary_args *a,
                             const clm_array *labels, const clm_array *scores,
                             const clm_array *features, uint64_t first,
                             uint64_t m, const uint8_t **y, const float **z,
                             const float **x, clm_error *err) {
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
    if (st != CLM_OK) { /* name the file, as the array readers do */
      char msg[sizeof err->message];
      const int k = snprintf(msg, sizeof msg, "%s: ", a->scores);
      if (k > 0 && (size_t)k < sizeof msg)
        snprintf(msg + k, sizeof msg - (size_t)k, "%.*s",
                 (int)(sizeof msg - (size_t)k - 1), err->message);
      memcpy(err->message, msg, sizeof msg);
    }
  } else if (st == CLM_OK && b->z) {
    st = clm_array_read_values_f32(scores, first, m, b->z, 0, err);
  }
  *z = b->z ? b->z : (const float *)clm_array_data(scores) + first;
  if (st == CLM_OK && features)
    st = clm_array_read_values_f32(features, first, m, b->x, 1, err);
  *x = b->x;
  return st;
}

/* Runs the evaluation batch by batch, streaming per-sample gradients to
 * `gout`; -1 on success, else the exit code after one message. */
static int evaluate(const struct cli_binary_args *a, clm_context *ctx,
                    clm_binary_state *state, const clm_array *labels,
                    const clm_array *scores, const clm_array *features,
                    struct cli_output *gout) {
  const uint64_t n = clm_array_rows(labels);
  const uint64_t d = features ? clm_array_cols(features) : 0;
  const clm_dtype ld = clm_array_dtype(labels);
  const int convert = gout->w || features ||
                      clm_array_dtype(scores) != CLM_DTYPE_F32 ||
                      (ld != CLM_DTYPE_U8 && ld != CLM_DTYPE_BOOL);
  struct batch b = {0};
  const uint64_t rows = batch_rows(n, d, convert);
  if (batch_alloc(&b, rows, d, labels, scores, features != NULL,
                  gout->w != NULL) != 0) {
    batch_free(&b);
    cli_error("cannot allocate buffers for %llu samples",
              (unsigned long long)rows);
    return CLI_EXIT_ERROR;
  }
  int rc = -1;
  clm_error err;
  for (uint64_t first = 0; first < n && rc < 0; first += rows) {
    const uint64_t m = n - first < rows ? n - first : rows;
    const uint8_t *y;
    const float *z, *x;
    clm_status st =
        batch_load(&b, a, labels, scores, features, first, m, &y, &z, &x, &err);
    if (st != CLM_OK) {
      rc = report_error(&err, st);
      break;
    }
    st = clm_binary_update_at(ctx, state, first, y, z, m, x, b.grad, &err);
    if (st != CLM_OK) {
      const char *file = err.input == CLM_INPUT_LABELS   ? a->labels
                         : err.input == CLM_INPUT_SCORES ? a->scores
                                                         : NULL;
      if (file)
        cli_error("%s: %s", file, err.message);
      else
        report_error(&err, st);
      rc = CLI_EXIT_ERROR;
      break;
    }
    if (gout->w &&
        (st = clm_npy_writer_append_f32(gout->w, b.grad, m, &err)) != CLM_OK)
      rc = report_error(&err, st);
  }
  batch_free(&b);
  return rc;
}

int cli_binary(int argc, char **argv) {
  struct cli_binary_args a = {0};
  int rc = cli_binary_parse_args(argc, argv, &a);
  if (rc >= 0)
    return rc;
  const struct cli_file ins[] = {{"--labels", a.labels},
                                 {"--scores", a.scores},
                                 {"--features", a.features}};
  const struct cli_file outs[] = {{"--grad-out", a.grad_out},
                                  {"--weight-grad-out", a.weight_grad_out}};
  rc = cli_check_outputs(ins, 3, outs, 2);
  if (rc >= 0)
    return rc;

  clm_array *labels = NULL, *scores = NULL, *features = NULL;
  clm_context *ctx = NULL;
  double *wgrad = NULL;
  clm_binary_state state = {0};
  struct cli_output gout = {0}, wout = {0};
  clm_error err;
  clm_status st;
  rc = CLI_EXIT_ERROR;

  if ((st = clm_array_load(a.labels, &labels, &err)) != CLM_OK ||
      (st = clm_array_load(a.scores, &scores, &err)) != CLM_OK ||
      (a.features && (st = clm_array_load(a.features, &features, &err)))) {
    rc = report_error(&err, st);
    goto done;
  }
  cli_watch_input(labels);
  cli_watch_input(scores);
  cli_watch_input(features);
  if ((rc = check_shapes(&a, labels, scores, features)) >= 0)
    goto done;
  rc = CLI_EXIT_ERROR;
  const uint64_t n = clm_array_rows(labels);
  const uint64_t d = features ? clm_array_cols(features) : 0;
  if (d && !(wgrad = malloc(d * sizeof(double)))) {
    cli_error("cannot allocate %llu weight gradients", (unsigned long long)d);
    goto done;
  }
  if ((rc = cli_open_context(a.device, &ctx)) != CLI_EXIT_OK)
    goto done;
  rc = CLI_EXIT_ERROR;
  const double t0 = cli_now();
  st = clm_binary_state_init(&state, a.kind, a.threshold, d);
  if (st != CLM_OK) {
    cli_error("%s", clm_status_str(st));
    goto done;
  }
  /* Outputs are written under temporary names beside their targets and
   * renamed once everything succeeded, so a failure leaves every existing
   * file as it was (only a failing second rename could split them). */
  if (cli_output_open(&wout, "--weight-grad-out", a.weight_grad_out, d, 0) ||
      cli_output_open(&gout, "--grad-out", a.grad_out, n, 0))
    goto done;
  if ((rc = evaluate(&a, ctx, &state, labels, scores, features, &gout)) >= 0)
    goto done;
  rc = CLI_EXIT_ERROR;
  clm_binary_result res;
  st = clm_binary_finalize(&state, a.zd, &res, wgrad);
  if (st != CLM_OK) {
    cli_error("%s", clm_status_str(st));
    goto done;
  }
  const double compute_s = cli_now() - t0;
  if (wout.w && (st = clm_npy_writer_append_f64(wout.w, wgrad, d, &err))) {
    report_error(&err, st);
    goto done;
  }
  if (cli_output_commit(&gout) || cli_output_commit(&wout))
    goto done;

  cli_warn_undefined(&res, a.zd);
  struct cli_binary_report rep = {
      .result = &res,
      .ctx = ctx,
      .kind = a.kind,
      .zero_division = a.zd,
      .weight_grad = wgrad,
      .n_features = d,
      .startup_s = clm_context_startup_seconds(ctx),
      .compute_s = compute_s,
      .total_s = cli_now() - cli_start_time,
      .labels_path = a.labels,
      .scores_path = a.scores,
  };
  if (a.json)
    cli_print_binary_json(stdout, &rep);
  else
    cli_print_binary_text(stdout, &rep);
  rc = CLI_EXIT_OK;
done:
  cli_output_abort(&gout);
  cli_output_abort(&wout);
  clm_binary_state_release(&state);
  clm_context_free(ctx);
  free(wgrad);
  clm_array_free(features);
  clm_array_free(scores);
  clm_array_free(labels);
  return rc;
}
