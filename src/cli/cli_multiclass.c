/* `clmetrics multiclass`: K x K confusion matrix on the device and a
 * classification report. */
#include "cli_calibration.h"
#include "cli_mpi.h"
#include "cli_ranking.h"
#include "cli_outputs.h"
#include "cli_state.h"
#include "report_html.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

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
      "  --weights FILE       per-sample weights (N finite values >= 0):\n"
      "                       weighted matrix, metrics, loss and calibration\n"
      "  --class-weights FILE K loss weights per class, as PyTorch's\n"
      "                       CrossEntropyLoss(weight=) (needs --scores)\n"
      "  --ignore-index I     rows whose true label is I are skipped by every\n"
      "                       metric and the loss (PyTorch's ignore_index)\n"
      "  --label-smoothing E  PyTorch's label_smoothing in [0, 1] (needs "
      "--scores)\n"
      "  --grad-out FILE.npy  write each row's dL/dz (N x K float32): s_n "
      "times\n"
      "                       the gradient of its CrossEntropyLoss term with\n"
      "                       the options above (divide by the JSON's\n"
      "                       loss.normalizer for reduction=\"mean\"); zero\n"
      "                       rows for --ignore-index (needs --scores)\n"
      "  --no-calibration     with --scores: skip the Brier score and the\n"
      "                       top-label and class-wise reliability tables\n"
      "  --calibration-bins B reliability bins (default 15)\n"
      "  --calibration-strategy uniform|quantile\n"
      "                       equal-width (default) or equal-mass bins\n"
      "  --reliability-out FILE.csv\n"
      "                       the top-label reliability table\n"
      "  --no-ranking         with --scores: skip the one-vs-rest ROC-AUC and\n"
      "                       average precision (extra passes)\n"
      "  --roc-out FILE.csv   one-vs-rest ROC curves: class,threshold,fpr,tpr\n"
      "  --pr-out FILE.csv    one-vs-rest precision-recall curves\n"
      "  --curve-points M     at most M points per curve (default 1000)\n"
      "  --ranking-memory SIZE\n"
      "                       memory budget of the exact ranking (256M)\n"
      "  --device SPEC        device index or name substring "
      "(CLMETRICS_DEVICE)\n"
      "  --save-state FILE    also write the run's mergeable state (see\n"
      "                       `clmetrics merge`)\n"
      "  --json               print one JSON object instead of the report\n"
      "  --help               this help\n");
  fputs(cli_report_help, f);
  fputs("  --full                 with --html: every class in the page's "
        "table\n",
        f);
}

int cli_multiclass_parse_args(int argc, char **argv,
                              struct cli_multiclass_args *a) {
  a->kind = CLM_SCORES_LOGITS;
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
    int rrc = cli_ranking_flag(argc, argv, &i, "multiclass", &a->rank);
    if (rrc == 0)
      rrc = cli_calibration_flag(argc, argv, &i, "multiclass", &a->calib);
    if (rrc == 0) /* --html, --svg-dir, --full */
      rrc = cli_report_flag(argc, argv, &i, "multiclass", 1, &a->report);
    if (rrc != 0) {
      if (rrc > 0)
        return rrc;
      continue;
    }
    static const char *const with_value[] = {
        "--labels",          "--pred",
        "--scores",          "--scores-kind",
        "--classes",         "--top-k",
        "--names",           "--zero-division",
        "--device",          "--weights",
        "--class-weights",   "--ignore-index",
        "--label-smoothing", "--save-state",
        "--grad-out",        NULL};
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
    else if (strcmp(arg, "--weights") == 0)
      a->weights = v;
    else if (strcmp(arg, "--class-weights") == 0)
      a->class_weights = v;
    else if (strcmp(arg, "--save-state") == 0)
      a->save_state = v;
    else if (strcmp(arg, "--grad-out") == 0)
      a->grad_out = v;
    else if (strcmp(arg, "--ignore-index") == 0) {
      char *end;
      errno = 0;
      const long long ii = strtoll(v, &end, 10);
      if (end == v || *end || errno || ii < INT32_MIN || ii > INT32_MAX)
        return cli_usage_error(
            "multiclass", "--ignore-index must be a 32-bit integer, not '%s'",
            v);
      a->has_ignore_index = 1;
      a->ignore_index = (int32_t)ii;
    } else if (strcmp(arg, "--label-smoothing") == 0) {
      if (cli_parse_double(v, &a->label_smoothing) != 0 ||
          !(a->label_smoothing >= 0.0 && a->label_smoothing <= 1.0))
        return cli_usage_error(
            "multiclass",
            "--label-smoothing must be a number in [0, 1], not "
            "'%s'",
            v);
    } else if (strcmp(arg, "--scores-kind") == 0) {
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
  if (a->grad_out && !a->scores)
    return cli_usage_error("multiclass", "--grad-out needs --scores (the "
                                         "gradient is taken with respect to "
                                         "them)");
  if (!a->scores && (a->rank.roc_out || a->rank.pr_out))
    return cli_usage_error("multiclass",
                           "--roc-out and --pr-out need --scores");
  if (!a->scores && (a->class_weights || a->label_smoothing > 0))
    return cli_usage_error("multiclass", "--class-weights and "
                                         "--label-smoothing shape the loss: "
                                         "they need --scores");
  if (a->save_state && a->scores && a->calib.quantile && !a->calib.off)
    return cli_usage_error("multiclass",
                           "--save-state needs equal-width calibration bins "
                           "(equal-mass edges depend on all the data; use "
                           "--calibration-strategy uniform)");
  const int crc =
      cli_calibration_check("multiclass", &a->calib, a->scores != NULL);
  if (crc >= 0)
    return crc;
  a->rank.curves = cli_report_wanted(&a->report); /* the page draws them */
  return cli_ranking_check("multiclass", &a->rank);
}

/* An array used where it lies (mapped or loaded): int32 labels or float32
 * scores, aligned for the device. Everything else is converted batch by
 * batch. */
static int in_place(const clm_array *a, clm_dtype dtype) {
  return clm_array_dtype(a) == dtype &&
         (uintptr_t)clm_array_data(a) % sizeof(int32_t) == 0;
}

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* Rows per update call. Inputs used in place go in one call (up to 2^31
 * rows, so no update passes the uint32 flush limit); converted ones in
 * bounded batches: 2^20 rows of labels (4 MiB a file) or 2^22 floats
 * (16 MiB) of scores, growing with K^2 up to 2^25 rows or 2^26 floats
 * (128 and 256 MiB), since every update zeroes and flushes the K x K
 * device counters once. */
static uint64_t batch_rows(uint64_t n, uint32_t k, int scores, int convert) {
  uint64_t rows;
  const uint64_t cells = (uint64_t)k * k;
  if (!convert)
    rows = (uint64_t)1 << 31;
  else if (!scores)
    rows = clamp_u64(cells, (uint64_t)1 << 20, (uint64_t)1 << 25);
  else
    rows = clamp_u64(cells, (uint64_t)1 << 22, (uint64_t)1 << 26) / k;
  if (rows == 0)
    rows = 1;
  return rows < n ? rows : n;
}

/* Rows [first, first + m) of a label file as int32: in place, or converted
 * into buf (errors name the file and the file-wide index). */
static clm_status labels_at(const clm_array *a, int32_t *buf, uint64_t first,
                            uint64_t m, const int32_t **out, clm_error *err) {
  if (!buf) {
    *out = (const int32_t *)clm_array_data(a) + first;
    return CLM_OK;
  }
  *out = buf;
  return clm_array_read_labels_i32(a, first, m, buf, err);
}

/* The true labels: as labels_at, and with --ignore-index its value (which
 * may be negative) passes through converted files. */
static clm_status true_labels_at(const struct cli_multiclass_args *a,
                                 const clm_array *labels, int32_t *buf,
                                 uint64_t first, uint64_t m,
                                 const int32_t **out, clm_error *err) {
  if (!buf || !a->has_ignore_index)
    return labels_at(labels, buf, first, m, out, err);
  *out = buf;
  return cli_labels_i32_ignore(labels, first, m, a->ignore_index, buf, err);
}

/* K = the largest label + 1 over both label files, batch by batch; -1 when
 * found (with where it came from in k_from), else the exit code after one
 * message. */
static int infer_classes(const struct cli_multiclass_args *a,
                         const clm_array *labels, const clm_array *pred,
                         uint32_t *k, char *k_from, size_t k_from_cap) {
  const uint64_t n = clm_array_rows(labels);
  const clm_array *arrays[2] = {labels, pred};
  const char *paths[2] = {a->labels, a->pred};
  const uint64_t rows = batch_rows(n, 0, 0, 1);
  int32_t *bufs[2] = {NULL, NULL};
  int rc = -1;
  for (int q = 0; q < 2; ++q)
    if (!in_place(arrays[q], CLM_DTYPE_I32) &&
        !(bufs[q] = malloc(rows * sizeof(int32_t)))) {
      cli_error("cannot allocate %llu labels", (unsigned long long)rows);
      rc = CLI_EXIT_ERROR;
    }
  int32_t mx = 0;
  uint64_t at = 0;
  const char *where = a->labels;
  clm_error err;
  for (uint64_t first = 0; first < n && rc < 0; first += rows) {
    const uint64_t m = n - first < rows ? n - first : rows;
    for (int q = 0; q < 2 && rc < 0; ++q) {
      const int32_t *y;
      const clm_status st =
          q == 0 ? true_labels_at(a, arrays[q], bufs[q], first, m, &y, &err)
                 : labels_at(arrays[q], bufs[q], first, m, &y, &err);
      if (st != CLM_OK) {
        rc = cli_report_error(&err, st);
        break;
      }
      /* Negative int32 labels used in place are reported by the update. */
      for (uint64_t i = 0; i < m; ++i)
        if (y[i] > mx &&
            !(q == 0 && a->has_ignore_index && y[i] == a->ignore_index))
          mx = y[i], at = first + i, where = paths[q];
    }
  }
  free(bufs[0]);
  free(bufs[1]);
  if (rc >= 0)
    return rc;
  if (mx == INT32_MAX) {
    cli_error("%s: index %llu: label %d is too large for a class index (K "
              "= label + 1 would be 2^31; at most 2^31 - 1 classes)",
              where, (unsigned long long)at, (int)mx);
    return CLI_EXIT_ERROR;
  }
  snprintf(k_from, k_from_cap,
           "; K = %lld came from label %d at index %llu of %s (give "
           "--classes to set K)",
           (long long)mx + 1, (int)mx, (unsigned long long)at, where);
  *k = (uint32_t)mx + 1;
  if (*k < 2) {
    cli_error("only one class (0) in %s and %s: need K >= 2; give "
              "--classes",
              a->labels, a->pred);
    return CLI_EXIT_ERROR;
  }
  return -1;
}

/* Host memory for K classes, checked before anything is allocated: the
 * state's K x K uint64 counts, the K x K uint32 device counters (host
 * memory on devices that share it, a mapping of them to flush otherwise)
 * and the per-class results. The library checks the device at the first
 * update. */
static int check_host_memory(uint32_t k, const char *hint) {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0)
    return 0;
  const double host = (double)pages * (double)page;
  const double cells = (double)k * (double)k;
  const double counts = cells * sizeof(uint64_t);
  const double counters = cells * sizeof(uint32_t);
  const double need = counts + counters + (double)k * sizeof(clm_class_metrics);
  if (need <= host)
    return 0;
  cli_error("not enough memory for %u classes: the %u x %u confusion matrix "
            "needs %.2f GB of host memory (%.2f GB of uint64 counts + %.2f GB "
            "of uint32 device counters); this host has %.2f GB%s",
            k, k, k, need / 1e9, counts / 1e9, counters / 1e9, host / 1e9,
            hint);
  return -1;
}

/* Runs the evaluation in batches of bounded size (with equal-mass
 * calibration bins, after a first pass that places the edges); -1 on
 * success, else the exit code after one message. */
static int evaluate(const struct cli_multiclass_args *a, clm_context *ctx,
                    clm_multiclass_state *state, const clm_array *labels,
                    const clm_array *other, const clm_array *weights,
                    uint32_t k, const char *k_from,
                    struct cli_calibration_out *cal,
                    struct cli_state_rank *srank, struct cli_output *gout) {
  const uint64_t n = clm_array_rows(labels);
  const int yt_copy = !in_place(labels, CLM_DTYPE_I32);
  const int other_copy =
      !in_place(other, a->scores ? CLM_DTYPE_F32 : CLM_DTYPE_I32);
  const int w_copy = cli_weights_need_buffer(weights);
  /* --grad-out streams batch by batch: bounded batches even in place. */
  const uint64_t rows = batch_rows(n, k, a->scores != NULL,
                                   yt_copy || other_copy || w_copy || gout->w);
  int32_t *yt_buf = NULL, *yp_buf = NULL;
  float *s_buf = NULL, *w_buf = NULL, *g_buf = NULL;
  int rc = -1;
  if ((yt_copy && !(yt_buf = malloc(rows * sizeof(int32_t)))) ||
      (other_copy && !a->scores &&
       !(yp_buf = malloc(rows * sizeof(int32_t)))) ||
      (other_copy && a->scores &&
       !(s_buf = malloc(rows * k * sizeof(float)))) ||
      (w_copy && !(w_buf = malloc(rows * sizeof(float)))) ||
      (gout->w && !(g_buf = malloc(rows * k * sizeof(float))))) {
    cli_error("cannot allocate buffers for %llu samples",
              (unsigned long long)rows);
    rc = CLI_EXIT_ERROR;
  }
  /* The option-less, unweighted state takes the original calls. */
  const int ex = state->weighted || state->has_ignore_index ||
                 state->class_weight || state->label_smoothing > 0;
  clm_error err;
  for (int pass = cli_calibration_prepass(cal) ? 0 : 1; pass < 2 && rc < 0;
       ++pass) {
    for (uint64_t first = 0; first < n && rc < 0; first += rows) {
      const uint64_t m = n - first < rows ? n - first : rows;
      const int32_t *yt = NULL, *yp = NULL;
      const float *s = NULL, *w = NULL;
      clm_status st = true_labels_at(a, labels, yt_buf, first, m, &yt, &err);
      if (st == CLM_OK && !a->scores) {
        st = labels_at(other, yp_buf, first, m, &yp, &err);
      } else if (st == CLM_OK && !s_buf) {
        s = (const float *)clm_array_data(other) + first * k;
      } else if (st == CLM_OK && clm_array_dtype(other) == CLM_DTYPE_F64) {
        /* float64 scores (NumPy's default, CSV): rounded to float32 without
         * changing any row's argmax. */
        st = clm_multiclass_scores_from_f64_at(
            (const double *)clm_array_data(other) + first * k, m, first, k,
            a->kind, s_buf, &err);
        if (st != CLM_OK)
          cli_name_file(&err, a->scores);
        s = s_buf;
      } else if (st == CLM_OK) {
        st = clm_array_read_values_f32(other, first, m, s_buf, 0, &err);
        s = s_buf;
      }
      if (st == CLM_OK)
        st = cli_weights_batch(weights, first, m, w_buf, &w, &err);
      if (st != CLM_OK) {
        rc = cli_report_error(&err, st);
        break;
      }
      cli_progress_batch(first, n);
      if (pass == 1 && a->scores)
        st = ex ? clm_multiclass_update_scores_weighted(
                      ctx, state, first, yt, s, w, m, a->kind, NULL, &err)
                : clm_multiclass_update_scores_at(ctx, state, first, yt, s, m,
                                                  a->kind, NULL, &err);
      else if (pass == 1)
        st = ex ? clm_multiclass_update_labels_weighted(ctx, state, first, yt,
                                                        yp, w, m, &err)
                : clm_multiclass_update_labels_at(ctx, state, first, yt, yp, m,
                                                  &err);
      if (st == CLM_OK && cal->active)
        st = cli_calibration_add_multiclass(ctx, cal, first, yt, s, w, m,
                                            a->kind, &err);
      if (st == CLM_OK && pass == 1) /* --save-state's streaming ranking */
        st = cli_state_rank_add(ctx, srank, other, first, m, yt, s, &err);
      /* The rows' gradients, from the float32 scores the update saw. */
      if (st == CLM_OK && pass == 1 && gout->w)
        st = clm_multiclass_gradient(ctx, state, first, yt, s, w, m, a->kind,
                                     g_buf, &err);
      if (st != CLM_OK) {
        const char *file = cli_input_path(err.input, a->labels, a->pred,
                                          a->scores, a->weights);
        const char *hint =
            st == CLM_ERR_BAD_LABEL && a->classes ? " (--classes)" : "";
        if (file)
          cli_error("%s: %s%s", file, err.message, hint);
        else
          cli_error("%s%s", err.message[0] ? err.message : clm_status_str(st),
                    k_from);
        rc = CLI_EXIT_ERROR;
      } else if (pass == 1 && gout->w &&
                 (st = clm_npy_writer_append_f32(gout->w, g_buf, m * k,
                                                 &err)) != CLM_OK) {
        rc = cli_report_error(&err, st);
      }
    }
    if (pass == 0 && rc < 0)
      rc = cli_calibration_end_prepass(cal);
  }
  free(g_buf);
  free(w_buf);
  free(s_buf);
  free(yp_buf);
  free(yt_buf);
  return rc;
}

/* Everything one run holds, so that one clean-up frees it on every path. */
struct run {
  clm_array *labels, *other; /* other: the --pred or --scores input */
  clm_array *weights;        /* --weights, or NULL */
  double *class_weights;     /* --class-weights, or NULL */
  uint32_t k;                /* classes */
  char k_from[512];          /* where an inferred K came from, for errors */
  char **names;              /* NULL without --names */
  clm_context *ctx;
  clm_multiclass_state state;
  clm_multiclass_result res;
  double compute_s;
  struct cli_ranking_out rank;
  struct cli_calibration_out cal;
  struct cli_output sout;      /* --save-state */
  struct cli_state_rank srank; /* its streaming ranking */
  struct cli_state *bundle;    /* the run's mergeable state, when wanted */
  struct cli_output gout;      /* --grad-out */
};

/* An N x K score matrix gives K (which --classes must match); -1 to go
 * on, else the exit code after one message. */
static int check_scores_shape(const struct cli_multiclass_args *a,
                              const clm_array *scores, uint32_t *k) {
  if (clm_array_ndim(scores) != 2) {
    cli_error("%s: scores must be a 2-D N x K matrix, got a 1-D array of "
              "%llu values (for binary scores use `clmetrics binary`)",
              a->scores, (unsigned long long)clm_array_rows(scores));
    return CLI_EXIT_ERROR;
  }
  const uint64_t width = clm_array_cols(scores);
  if (a->classes && a->classes != width) {
    cli_error("%s has %llu columns but --classes is %llu", a->scores,
              (unsigned long long)width, a->classes);
    return CLI_EXIT_ERROR;
  }
  *k = (uint32_t)(width > 0x7fffffffULL ? 0 : width);
  if (width < 2 || width > 0x7fffffffULL) {
    cli_error("%s: need at least 2 classes (columns), got %llu", a->scores,
              (unsigned long long)width);
    return CLI_EXIT_ERROR;
  }
  return -1;
}

/* Loads the inputs and checks their shapes and lengths, before any pass
 * over the values; -1 to go on, else the exit code after one message. */
static int load_inputs(const struct cli_multiclass_args *a, struct run *r) {
  const char *other_path = a->pred ? a->pred : a->scores;
  if (cli_load_input(a->labels, &r->labels) ||
      cli_load_input(other_path, &r->other))
    return CLI_EXIT_ERROR;
  cli_watch_input(r->labels); /* a truncated mapping names its file */
  cli_watch_input(r->other);
  const uint64_t n = clm_array_rows(r->labels);
  /* A read of no rows checks the shape, naming the file. */
  clm_error err;
  clm_status st = clm_array_read_labels_i32(r->labels, 0, 0, NULL, &err);
  if (st != CLM_OK)
    return cli_report_error(&err, st);
  if (a->scores) {
    const int rc = check_scores_shape(a, r->other, &r->k);
    if (rc >= 0)
      return rc;
  } else if ((st = clm_array_read_labels_i32(r->other, 0, 0, NULL, &err)) !=
             CLM_OK) {
    return cli_report_error(&err, st);
  }
  if (clm_array_rows(r->other) != n) {
    cli_error("length mismatch: %s has %llu labels but %s has %llu rows",
              a->labels, (unsigned long long)n, other_path,
              (unsigned long long)clm_array_rows(r->other));
    return CLI_EXIT_ERROR;
  }
  if (n == 0) {
    cli_error("%s: empty input (0 samples)", a->labels);
    return CLI_EXIT_ERROR;
  }
  return cli_weights_load(a->weights, n, &r->weights);
}

/* Settles K (--classes, the score matrix's width, or the largest label
 * + 1), checks it fits in memory and --top-k, and reads --names; -1 to go
 * on, else the exit code after one message. */
static int settle_classes(const struct cli_multiclass_args *a, struct run *r) {
  if (!a->scores) { /* with --scores, load_inputs took K from its width */
    int rc;
    if (a->classes)
      r->k = (uint32_t)a->classes;
    else if ((rc = infer_classes(a, r->labels, r->other, &r->k, r->k_from,
                                 sizeof r->k_from)) >= 0)
      return rc;
  }
  /* Which input set K, for the message when it is too many classes. */
  char hint[sizeof r->k_from + 64];
  if (a->classes)
    snprintf(hint, sizeof hint, " (--classes)");
  else if (a->scores)
    snprintf(hint, sizeof hint, " (the columns of %s)", a->scores);
  else
    snprintf(hint, sizeof hint, "%s", r->k_from);
  if (check_host_memory(r->k, hint) != 0)
    return CLI_EXIT_ERROR;
  if (a->top_k > r->k) {
    cli_error("--top-k %llu exceeds the number of classes (%u)", a->top_k,
              r->k);
    return CLI_EXIT_ERROR;
  }
  if (a->names && !(r->names = cli_read_class_names(a->names, r->k)))
    return CLI_EXIT_ERROR;
  if (a->class_weights &&
      !(r->class_weights = cli_class_weights_load(a->class_weights, r->k)))
    return CLI_EXIT_ERROR;
  return -1;
}

/* Opens the device and counts; -1 on success, else the exit code after
 * one message. */
static int compute(const struct cli_multiclass_args *a, struct run *r) {
  /* Outputs go under temporary names, renamed once everything succeeded. */
  if (cli_output_open(&r->gout, "--grad-out", a->grad_out,
                      clm_array_rows(r->labels), r->k) ||
      cli_ranking_open_outputs(&a->rank, &r->rank) >= 0 ||
      cli_calibration_open_outputs(&a->calib, &r->cal) >= 0 ||
      (cli_mpi_rank0_path(a->save_state) &&
       cli_state_save_open(&r->sout, a->save_state) >= 0))
    return CLI_EXIT_ERROR;
  int rc = cli_open_context(a->device, &r->ctx);
  if (rc != CLI_EXIT_OK)
    return rc;
  const double t0 = cli_now();
  clm_multiclass_options o;
  clm_multiclass_options_init(&o);
  o.n_classes = r->k;
  o.top_k = (uint32_t)a->top_k;
  o.weighted = a->weights != NULL;
  o.class_weight = r->class_weights;
  o.has_ignore_index = a->has_ignore_index;
  o.ignore_index = a->ignore_index;
  o.label_smoothing = a->label_smoothing;
  clm_status st = clm_multiclass_state_init_ex(&r->state, &o);
  if (st != CLM_OK) {
    cli_error("cannot prepare a %u-class state: %s%s", r->k, clm_status_str(st),
              r->k_from);
    return CLI_EXIT_ERROR;
  }
  if (a->scores && !a->calib.off &&
      (rc = cli_calibration_begin(&a->calib, &r->cal, r->k, a->weights != NULL,
                                  a->has_ignore_index, a->ignore_index)) >= 0)
    return rc;
  /* The saved state carries a streaming one-vs-rest ranking (unweighted
   * runs only: weighted ranking has no mergeable state). */
  if (a->save_state && a->scores && !a->rank.off && !a->weights &&
      (rc = cli_state_rank_begin(&r->srank, r->other, r->k, 0, a->kind,
                                 a->has_ignore_index ? &a->ignore_index
                                                     : NULL)) >= 0)
    return rc;
  rc = evaluate(a, r->ctx, &r->state, r->labels, r->other, r->weights, r->k,
                r->k_from, &r->cal, &r->srank, &r->gout);
  if (rc >= 0)
    return rc;
  /* Under MPI, rank 0 finalizes the merged state instead (a rank's own
   * rows may be none, or all ignored). */
  st = cli_mpi_active() ? CLM_OK
                        : clm_multiclass_finalize(&r->state, a->zd, &r->res);
  if (st == CLM_ERR_EMPTY) {
    if (r->state.n == 0)
      cli_error("%s: every row has the --ignore-index label %d: nothing to "
                "evaluate",
                a->labels, (int)a->ignore_index);
    else
      cli_error("%s: the sample weights sum to 0: every weighted metric is "
                "undefined",
                a->weights);
    return CLI_EXIT_ERROR;
  }
  if (st != CLM_OK) {
    cli_error("%s", clm_status_str(st));
    return CLI_EXIT_ERROR;
  }
  if ((rc = cli_calibration_finish(&r->cal)) >= 0)
    return rc;
  if (a->scores && !a->rank.off) {
    const struct cli_ranking_ignore ig = {a->ignore_index, r->state.n};
    const int rrc =
        cli_ranking_run(&a->rank, r->ctx, r->labels, r->other, r->k, a->kind,
                        a->has_ignore_index ? &ig : NULL, r->weights, &r->rank);
    if (rrc >= 0)
      return rrc;
  }
  r->compute_s = cli_now() - t0;
  /* The run's state: to save, or for rank 0 to merge under MPI (which
   * saves the merged state itself). */
  if ((a->save_state || cli_mpi_active()) &&
      (rc = cli_state_of_multiclass(a, &r->state, r->names, &r->cal, &r->srank,
                                    &r->bundle)) >= 0)
    return rc;
  if (cli_output_commit(&r->gout))
    return CLI_EXIT_ERROR;
  if ((rc = cli_ranking_write_curves(&r->rank)) >= 0)
    return rc;
  return cli_mpi_active() ? -1 : cli_state_save_commit(&r->sout, r->bundle);
}

static int report(const struct cli_multiclass_args *a, const struct run *r) {
  cli_warn_multiclass_undefined(&r->res, r->names, a->zd);
  cli_ranking_warn(&r->rank);
  const struct cli_ranking_out *q = r->rank.done ? &r->rank : NULL;
  const struct cli_multiclass_extra extra = {
      r->state.w_confusion, r->cal.done ? &r->cal : NULL, &r->state};
  const struct cli_report_multiclass page = {
      .res = &r->res,
      .cm = r->state.confusion,
      .wcm = r->state.w_confusion,
      .names = r->names,
      .ctx = r->ctx,
      .startup_s = clm_context_startup_seconds(r->ctx),
      .compute_s = r->compute_s,
      .total_s = cli_now() - cli_start_time,
      .ranking = q,
      .calibration = extra.calibration,
      .labels_path = a->labels,
      .pred_path = a->pred,
      .scores_path = a->scores,
      .weights_path = a->weights,
      .kind = a->kind};
  const int hrc = cli_report_multiclass(&a->report, &page); /* --html */
  if (hrc >= 0)
    return hrc;
  if (a->json)
    cli_print_multiclass_json(stdout, &r->res, r->state.confusion, r->names,
                              a->zd, r->ctx,
                              clm_context_startup_seconds(r->ctx), r->compute_s,
                              cli_now() - cli_start_time, q, &extra);
  else
    cli_print_multiclass_text(stdout, &r->res, r->state.confusion, r->names,
                              r->ctx, clm_context_startup_seconds(r->ctx),
                              r->compute_s, cli_now() - cli_start_time, q,
                              &extra);
  return CLI_EXIT_OK;
}

static void run_free(struct run *r) {
  cli_output_abort(&r->gout);
  cli_output_abort(&r->sout);
  cli_state_rank_free(&r->srank);
  cli_state_free(r->bundle);
  cli_ranking_abort(&r->rank);
  cli_ranking_free(&r->rank);
  cli_calibration_abort(&r->cal);
  cli_calibration_free(&r->cal);
  free(r->class_weights);
  clm_array_free(r->weights);
  clm_multiclass_result_release(&r->res);
  clm_multiclass_state_release(&r->state);
  clm_context_free(r->ctx);
  cli_free_class_names(r->names, r->k);
  clm_array_free(r->other);
  clm_array_free(r->labels);
}

int cli_multiclass(int argc, char **argv) {
  struct cli_multiclass_args a;
  memset(&a, 0, sizeof a);
  int rc = cli_multiclass_parse_args(argc, argv, &a);
  if (rc >= 0)
    return rc;
  const struct cli_file ins[] = {
      {"--labels", a.labels},   {"--pred", a.pred},
      {"--scores", a.scores},   {"--names", a.names},
      {"--weights", a.weights}, {"--class-weights", a.class_weights}};
  const struct cli_file outs[] = {
      {"--grad-out", a.grad_out},
      {"--roc-out", a.rank.roc_out},
      {"--pr-out", a.rank.pr_out},
      {"--reliability-out", a.calib.reliability_out},
      {"--save-state", a.save_state}};
  rc = cli_check_outputs(ins, 6, outs, 5);
  if (rc >= 0)
    return rc;
  if ((rc = cli_report_check(&a.report, ins, 6, outs, 4)) >= 0)
    return rc;
  struct run r;
  memset(&r, 0, sizeof r);
  if ((rc = load_inputs(&a, &r)) < 0 && (rc = settle_classes(&a, &r)) < 0 &&
      (rc = compute(&a, &r)) < 0) {
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
