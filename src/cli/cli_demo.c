/* `clmetrics demo`: the origin notes' Q1 gradient table, a finite-difference
 * check of dL/dW, and a synthetic set of 10 million predictions. */
#include "cli_calibration.h"
#include "cli_ranking.h"
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f, "usage: clmetrics demo [--n N] [--device SPEC] [--json]\n\n"
             "Runs built-in examples on the device, no files needed:\n"
             "  1. the origin notes' Q1: dL/dz = sigma(z) - y for the four "
             "cases of\n"
             "     its table, and dL/dW = (y_hat - y) x against a finite "
             "difference;\n"
             "  2. the origin notes' Q2: the classification report of its "
             "3-class\n"
             "     confusion matrix (230 predictions);\n"
             "  3. a synthetic set of N predictions (default 10000000): "
             "report and\n"
             "     throughput (--json prints that report as JSON).\n");
  fputs("\n  --html FILE.html       also write the visual report of the "
        "synthetic set\n  --svg-dir DIR          and/or its figures as SVG "
        "files\n",
        f);
}

/* One sample through the device: BCE and gradient. */
static int one_sample(clm_context *ctx, uint8_t y, float z, double *loss,
                      float *grad) {
  clm_binary_state s;
  clm_error err;
  if (clm_binary_state_init(&s, CLM_SCORES_LOGITS, 0.5, 0) != CLM_OK)
    return -1;
  clm_status st = clm_binary_update(ctx, &s, &y, &z, 1, NULL, grad, &err);
  *loss = s.bce_sum;
  clm_binary_state_release(&s);
  if (st != CLM_OK) {
    cli_error("%s", err.message);
    return -1;
  }
  return 0;
}

static int origin_q1(clm_context *ctx) {
  static const struct {
    uint8_t y;
    float z;
    const char *note;
  } cases[] = {{1, 4.6f, "small: prediction agrees with the label"},
               {1, -4.6f, "large negative: y=1 but y_hat -> 0"},
               {0, 4.6f, "large positive: y=0 but y_hat -> 1"},
               {0, -4.6f, "small: prediction agrees with the label"}};
  printf("origin Q1 (b): dL/dz = y_hat - y by prediction, on the device\n");
  printf("  %-3s %7s %9s %10s %9s  %s\n", "y", "z", "y_hat", "dL/dz", "BCE",
         "");
  for (size_t i = 0; i < 4; ++i) {
    double loss;
    float g;
    if (one_sample(ctx, cases[i].y, cases[i].z, &loss, &g) != 0)
      return -1;
    printf("  %-3u %+7.2f %9.4f %+10.4f %9.4f  %s\n", cases[i].y, cases[i].z,
           g + cases[i].y, g, loss, cases[i].note);
  }

  /* Q1 (a): dL/dW = (y_hat - y) x for one sample with output-layer inputs x
   * and weights w (z = w.x), checked against a central difference of L. */
  const float x[3] = {1.0f, 2.0f, -0.5f};
  const float w[3] = {0.3f, -0.8f, 0.4f};
  const uint8_t y = 1;
  float z = 0;
  for (int j = 0; j < 3; ++j)
    z += w[j] * x[j];
  clm_binary_state s;
  clm_error err;
  double dw[3];
  if (clm_binary_state_init(&s, CLM_SCORES_LOGITS, 0.5, 3) != CLM_OK)
    return -1;
  clm_status st = clm_binary_update(ctx, &s, &y, &z, 1, x, NULL, &err);
  clm_binary_result r;
  if (st == CLM_OK)
    st = clm_binary_finalize(&s, CLM_ZERO_DIVISION_ZERO, &r, dw);
  clm_binary_state_release(&s);
  if (st != CLM_OK) {
    cli_error("%s", err.message);
    return -1;
  }
  printf("\norigin Q1 (a): dL/dW = (y_hat - y) x, x = (1, 2, -0.5), "
         "w = (0.3, -0.8, 0.4), y = 1\n");
  printf("  %-4s %12s %14s\n", "j", "device", "finite diff.");
  const float h = 1e-2f;
  for (int j = 0; j < 3; ++j) {
    double lp, lm;
    float g;
    if (one_sample(ctx, y, z + h * x[j], &lp, &g) != 0 ||
        one_sample(ctx, y, z - h * x[j], &lm, &g) != 0)
      return -1;
    printf("  w%-3d %+12.6f %+14.6f\n", j, dw[j], (lp - lm) / (2.0 * h));
  }
  printf("  bias %+12.6f\n\n", r.grad_bias);
  return 0;
}

/* The origin notes' Q2: a 3-class confusion matrix, its 230 predictions
 * reconstructed and counted on the device. */
static int origin_q2(clm_context *ctx) {
  static const uint64_t m[3][3] = {{50, 5, 10}, {7, 60, 8}, {4, 6, 80}};
  int32_t yt[230], yp[230];
  int n = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (uint64_t c = 0; c < m[i][j]; ++c, ++n) {
        yt[n] = i;
        yp[n] = j;
      }
  clm_multiclass_state s;
  clm_multiclass_result r;
  clm_error err;
  if (clm_multiclass_state_init(&s, 3, 0) != CLM_OK)
    return -1;
  const double t0 = cli_now();
  clm_status st = clm_multiclass_update_labels(ctx, &s, yt, yp, 230, &err);
  if (st == CLM_OK)
    st = clm_multiclass_finalize(&s, CLM_ZERO_DIVISION_ZERO, &r);
  if (st != CLM_OK) {
    cli_error("%s", err.message[0] ? err.message : clm_status_str(st));
    clm_multiclass_state_release(&s);
    return -1;
  }
  char a[] = "A", b[] = "B", c[] = "C";
  char *names[3] = {a, b, c};
  printf("origin Q2: 3 classes, rows = true class, columns = predicted\n");
  cli_print_multiclass_text(stdout, &r, s.confusion, names, ctx,
                            clm_context_startup_seconds(ctx), cli_now() - t0,
                            cli_now() - cli_start_time, NULL, NULL);
  printf("note: the notes' table prints F1_A = 0.74, a typo: their own "
         "formula gives %.4f (above).\n\n",
         r.per_class[0].f1);
  clm_multiclass_result_release(&r);
  clm_multiclass_state_release(&s);
  return 0;
}

/* xorshift64*: reproducible synthetic data without libc's rand. */
static uint64_t next_u64(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1DULL;
}

static float uniform(uint64_t *s) {
  return (float)(next_u64(s) >> 40) * (1.0f / 16777216.0f);
}

/* The reliability table of the synthetic set, for the visual report. */
static clm_status demo_calibration(clm_context *ctx, const uint8_t *y,
                                   const float *z, uint64_t n,
                                   struct cli_calibration_out *cal,
                                   clm_error *err) {
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  clm_status st = clm_calibration_state_init(&cal->state, &o);
  if (st == CLM_OK)
    st = clm_calibration_update_binary(ctx, &cal->state, 0, y, z, NULL, n,
                                       CLM_SCORES_LOGITS, err);
  if (st == CLM_OK)
    st = clm_calibration_finalize(&cal->state, &cal->result);
  cal->done = st == CLM_OK;
  if (st != CLM_OK && !err->message[0])
    snprintf(err->message, sizeof err->message, "calibration: %s",
             clm_status_str(st));
  return st;
}

static int synthetic(clm_context *ctx, uint64_t n, int json,
                     const struct cli_report_args *page) {
  uint8_t *y = malloc(n ? n : 1);
  float *z = malloc((n ? n : 1) * sizeof(float));
  float *g = malloc((n ? n : 1) * sizeof(float));
  int rc = CLI_EXIT_ERROR;
  if (!y || !z || !g) {
    cli_error("cannot allocate %llu synthetic samples", (unsigned long long)n);
    goto done;
  }
  /* 30% positives; logits = +-1.2 plus roughly normal noise. */
  uint64_t seed = 0x9E3779B97F4A7C15ULL;
  for (uint64_t i = 0; i < n; ++i) {
    y[i] = uniform(&seed) < 0.3f;
    float noise = uniform(&seed) + uniform(&seed) + uniform(&seed) +
                  uniform(&seed) - 2.0f;
    z[i] = (y[i] ? 1.2f : -1.2f) + 2.77f * noise;
  }
  clm_binary_state s;
  clm_error err;
  if (clm_binary_state_init(&s, CLM_SCORES_LOGITS, 0.5, 0) != CLM_OK)
    goto done;
  const double t0 = cli_now();
  clm_status st = clm_binary_update(ctx, &s, y, z, n, NULL, g, &err);
  clm_binary_result r;
  if (st == CLM_OK)
    st = clm_binary_finalize(&s, CLM_ZERO_DIVISION_ZERO, &r, NULL);
  clm_binary_state_release(&s);
  /* Exact ROC-AUC and average precision of the same predictions. */
  struct cli_ranking_out rank;
  memset(&rank, 0, sizeof rank);
  const double t1 = cli_now();
  /* The visual report draws the curves and the reliability table. */
  clm_ranking_options ro;
  clm_ranking_options_init(&ro);
  ro.curve_points = cli_report_wanted(page) ? 1000 : 0;
  if (st == CLM_OK)
    st = clm_ranking_compute_arrays(ctx, y, z, CLM_DTYPE_F32, n, 1, 0, &ro,
                                    &rank.result, &err);
  struct cli_calibration_out cal;
  memset(&cal, 0, sizeof cal);
  if (st == CLM_OK && cli_report_wanted(page))
    st = demo_calibration(ctx, y, z, n, &cal, &err);
  rank.done = st == CLM_OK;
  rank.seconds = cli_now() - t1;
  const double dt = cli_now() - t0;
  if (st != CLM_OK) {
    cli_error("%s", err.message[0] ? err.message : clm_status_str(st));
    cli_ranking_free(&rank);
    cli_calibration_free(&cal);
    goto done;
  }
  struct cli_binary_report rep = {.result = &r,
                                  .ctx = ctx,
                                  .kind = CLM_SCORES_LOGITS,
                                  .startup_s = clm_context_startup_seconds(ctx),
                                  .compute_s = dt,
                                  .total_s = cli_now() - cli_start_time,
                                  .ranking = &rank,
                                  .calibration = cal.done ? &cal : NULL};
  const int hrc = cli_report_binary(page, &rep); /* --html */
  if (hrc >= 0) {
    rc = hrc;
  } else if (json) {
    cli_print_binary_json(stdout, &rep);
  } else {
    printf("synthetic: %llu predictions (30%% positives, noisy logits), "
           "per-sample gradients written\n",
           (unsigned long long)n);
    cli_print_binary_text(stdout, &rep);
  }
  cli_ranking_free(&rank);
  cli_calibration_free(&cal);
  if (hrc < 0)
    rc = CLI_EXIT_OK;
done:
  free(g);
  free(z);
  free(y);
  return rc;
}

int cli_demo(int argc, char **argv) {
  const char *device = NULL;
  unsigned long long n = 10000000ULL;
  int json = 0;
  struct cli_report_args page = {0};
  for (int i = 1; i < argc; ++i) {
    const int hrc = cli_report_flag(argc, argv, &i, "demo", 0, &page);
    if (hrc > 0)
      return hrc;
    if (hrc < 0)
      continue;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return CLI_EXIT_OK;
    } else if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
      device = argv[++i];
    } else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) {
      if (cli_parse_u64(argv[++i], &n) != 0 || n == 0)
        return cli_usage_error("demo", "--n must be a positive integer");
    } else {
      return cli_usage_error("demo", "unknown or incomplete option '%s'",
                             argv[i]);
    }
  }
  int rc = cli_report_check(&page, NULL, 0, NULL, 0);
  if (rc >= 0)
    return rc;
  clm_context *ctx = NULL;
  rc = cli_open_context(device, &ctx);
  if (rc != CLI_EXIT_OK)
    return rc;
  if (!json && (origin_q1(ctx) != 0 || origin_q2(ctx) != 0)) {
    clm_context_free(ctx);
    return CLI_EXIT_ERROR;
  }
  rc = synthetic(ctx, n, json, &page);
  clm_context_free(ctx);
  return rc;
}
