/* bench_weighted: what sample weights, the loss options and calibration
 * cost. For each N, the median of R repetitions of
 *   binary      clm_binary_update_at, unweighted (labels 1 B + logits 4 B)
 *   binary-w    clm_binary_update_weighted (+ 4 B of weights a sample)
 *   binary-cal  clm_calibration_update_binary (15 bins)
 *   binary-cal-omp  the same table from an OpenMP C loop (IEEE expf), the
 *               baseline a user would write
 *   mc-labels / mc-labels-w   clm_multiclass_update_labels(_weighted), K
 *   mc-scores / mc-scores-w   clm_multiclass_update_scores(_weighted), K
 *   mc-scores-wopt            sample weights, class weights and smoothing
 *               (the weighted one with class weights and smoothing too)
 *   mc-cal      clm_calibration_update_multiclass (top-label + class-wise)
 * on fixed-seed data in memory; rates in samples (rows) per second and
 * input GB/s, and the weighted/unweighted time ratio beside the byte
 * ratio. Usage: bench_weighted [--sizes 1e7,1e8] [--reps 5] [--classes 10]
 * [--device SPEC]. */
#include "bench_common.h"
#include "reference.h"

#include <clmetrics.h>

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED 0x77e16e7ull

static clm_context *g_ctx;

static void die(const char *what, clm_status st, const clm_error *err) {
  fprintf(stderr, "bench_weighted: %s failed: %s%s%s\n", what,
          clm_status_str(st), err && err->message[0] ? ": " : "",
          err ? err->message : "");
  exit(1);
}

struct data {
  uint64_t n;
  uint32_t k;
  uint8_t *y;
  float *z, *w;
  int32_t *yc, *pc;
  float *zk; /* n x k; allocated only when it fits */
  double *cw;
};

static double unit(uint64_t h) {
  return (double)(h >> 11) * 0x1.0p-53;
}

static void generate(struct data *d) {
#pragma omp parallel for schedule(static)
  for (uint64_t i = 0; i < d->n; ++i) {
    const uint64_t h = clm_rng_splitmix64(SEED ^ (i << 1));
    const uint64_t g = clm_rng_splitmix64(h);
    const int y = unit(h) < 0.3;
    d->y[i] = (uint8_t)y;
    d->z[i] = (float)((y ? 1.2 : -1.2) + 3.4 * (unit(g) - 0.5));
    d->w[i] = (float)(2.0 * unit(g ^ 0x9e37ull));
    d->yc[i] = (int32_t)(h % d->k);
    d->pc[i] = unit(g) < 0.7 ? d->yc[i] : (int32_t)(g % d->k);
    if (d->zk)
      for (uint32_t c = 0; c < d->k; ++c) {
        const uint64_t q = clm_rng_splitmix64(g + c);
        d->zk[i * d->k + c] =
            (float)(2.0 * unit(q) - 1.0 + (c == (uint32_t)d->yc[i]));
      }
  }
}

/* The C loop a user would write for the binary reliability table: sigma,
 * bin, per-thread sums in double, merged after. */
static double omp_calibration(const struct data *d, int bins) {
  double total = 0.0;
#pragma omp parallel reduction(+ : total)
  {
    double *acc = calloc((size_t)bins * 3, sizeof(double));
#pragma omp for schedule(static)
    for (uint64_t i = 0; i < d->n; ++i) {
      const float p = 1.0f / (1.0f + expf(-d->z[i]));
      int b = (int)ceilf(p * (float)bins) - 1;
      b = b < 0 ? 0 : b >= bins ? bins - 1 : b;
      acc[3 * b] += 1.0;
      acc[3 * b + 1] += p;
      acc[3 * b + 2] += d->y[i];
    }
    for (int b = 0; b < 3 * bins; ++b)
      total += acc[b];
    free(acc);
  }
  return total;
}

typedef void (*variant_fn)(const struct data *d);

static void v_binary(const struct data *d) {
  clm_binary_state s;
  clm_error err;
  clm_binary_state_init(&s, CLM_SCORES_LOGITS, 0.5, 0);
  clm_status st =
      clm_binary_update_at(g_ctx, &s, 0, d->y, d->z, d->n, NULL, NULL, &err);
  if (st != CLM_OK)
    die("clm_binary_update_at", st, &err);
  clm_binary_state_release(&s);
}

static void v_binary_w(const struct data *d) {
  clm_binary_options o;
  clm_binary_options_init(&o);
  o.weighted = 1;
  o.pos_weight = 3.0;
  clm_binary_state s;
  clm_error err;
  clm_status st = clm_binary_state_init_ex(&s, &o);
  if (st == CLM_OK)
    st = clm_binary_update_weighted(g_ctx, &s, 0, d->y, d->z, d->w, d->n, NULL,
                                    NULL, &err);
  if (st != CLM_OK)
    die("clm_binary_update_weighted", st, &err);
  clm_binary_state_release(&s);
}

static void v_binary_cal(const struct data *d) {
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  clm_calibration_state s;
  clm_error err;
  clm_status st = clm_calibration_state_init(&s, &o);
  if (st == CLM_OK)
    st = clm_calibration_update_binary(g_ctx, &s, 0, d->y, d->z, NULL, d->n,
                                       CLM_SCORES_LOGITS, &err);
  if (st != CLM_OK)
    die("clm_calibration_update_binary", st, &err);
  clm_calibration_state_release(&s);
}

static volatile double g_sink; /* keeps the baseline's result alive */

static void v_binary_cal_omp(const struct data *d) {
  g_sink = omp_calibration(d, 15);
}

static void mc_run(const struct data *d, int scores, int weighted) {
  clm_multiclass_options o;
  clm_multiclass_options_init(&o);
  o.n_classes = d->k;
  o.weighted = weighted != 0;
  if (weighted == 2 && scores) {
    o.class_weight = d->cw;
    o.label_smoothing = 0.1;
  }
  clm_multiclass_state s;
  clm_error err;
  clm_status st = clm_multiclass_state_init_ex(&s, &o);
  if (st == CLM_OK && scores && weighted)
    st = clm_multiclass_update_scores_weighted(
        g_ctx, &s, 0, d->yc, d->zk, d->w, d->n, CLM_SCORES_LOGITS, NULL, &err);
  else if (st == CLM_OK && scores)
    st = clm_multiclass_update_scores_at(g_ctx, &s, 0, d->yc, d->zk, d->n,
                                         CLM_SCORES_LOGITS, NULL, &err);
  else if (st == CLM_OK && weighted)
    st = clm_multiclass_update_labels_weighted(g_ctx, &s, 0, d->yc, d->pc, d->w,
                                               d->n, &err);
  else if (st == CLM_OK)
    st =
        clm_multiclass_update_labels_at(g_ctx, &s, 0, d->yc, d->pc, d->n, &err);
  if (st != CLM_OK)
    die("multiclass update", st, &err);
  clm_multiclass_state_release(&s);
}

static void v_mc_labels(const struct data *d) {
  mc_run(d, 0, 0);
}
static void v_mc_labels_w(const struct data *d) {
  mc_run(d, 0, 1);
}
static void v_mc_scores(const struct data *d) {
  mc_run(d, 1, 0);
}
static void v_mc_scores_w(const struct data *d) {
  mc_run(d, 1, 1);
}
static void v_mc_scores_wopt(const struct data *d) {
  mc_run(d, 1, 2);
}

static void v_mc_cal(const struct data *d) {
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  o.n_classes = d->k;
  clm_calibration_state s;
  clm_error err;
  clm_status st = clm_calibration_state_init(&s, &o);
  if (st == CLM_OK)
    st = clm_calibration_update_multiclass(g_ctx, &s, 0, d->yc, d->zk, NULL,
                                           d->n, CLM_SCORES_LOGITS, &err);
  if (st != CLM_OK)
    die("clm_calibration_update_multiclass", st, &err);
  clm_calibration_state_release(&s);
}

struct variant {
  const char *name;
  variant_fn fn;
  double bytes; /* input bytes per sample, for k = 1 */
  double bytes_per_class;
  int needs_scores;
};

static const struct variant VARIANTS[] = {
    {"binary", v_binary, 5, 0, 0},
    {"binary-w", v_binary_w, 9, 0, 0},
    {"binary-cal", v_binary_cal, 5, 0, 0},
    {"binary-cal-omp", v_binary_cal_omp, 5, 0, 0},
    {"mc-labels", v_mc_labels, 8, 0, 0},
    {"mc-labels-w", v_mc_labels_w, 12, 0, 0},
    {"mc-scores", v_mc_scores, 4, 4, 1},
    {"mc-scores-w", v_mc_scores_w, 8, 4, 1},
    {"mc-scores-wopt", v_mc_scores_wopt, 8, 4, 1},
    {"mc-cal", v_mc_cal, 4, 4, 1},
};
#define NV (sizeof VARIANTS / sizeof VARIANTS[0])

int main(int argc, char **argv) {
  bc_omp_passive(argc, argv);
  uint64_t sizes[8] = {10000000ull, 100000000ull};
  int nsizes = 2, reps = 5;
  unsigned k = 10;
  const char *device = NULL;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
      nsizes = bc_parse_sizes(argv[++i], sizes, 8);
      if (nsizes < 1) {
        fprintf(stderr, "bench_weighted: bad --sizes\n");
        return 2;
      }
    } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--classes") && i + 1 < argc) {
      k = (unsigned)atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
      device = argv[++i];
    } else {
      fprintf(stderr, "usage: bench_weighted [--sizes N,...] [--reps R] "
                      "[--classes K] [--device SPEC]\n");
      return 2;
    }
  }
  if (reps < 1 || reps > 101 || k < 2) {
    fprintf(stderr, "bench_weighted: --reps in [1, 101], --classes >= 2\n");
    return 2;
  }
  clm_context_options co;
  clm_context_options_init(&co);
  co.device = device;
  clm_error err;
  clm_status st = clm_context_create(&co, &g_ctx, &err);
  if (st != CLM_OK)
    die("clm_context_create", st, &err);
  bc_quiet q;
  bc_quiet_probe(&q);
  bc_quiet_print(&q);
  printf(
      "# device: %s; OpenMP threads: %d (OMP_WAIT_POLICY %s); K = %u for the "
      "multi-class rows\n",
      clm_context_device(g_ctx)->name, omp_get_max_threads(), bc_omp_policy(),
      k);
  printf("%-15s %12s %10s %14s %9s %11s\n", "variant", "N", "median_s",
         "samples/s", "GB/s", "vs_unweighted");
  bc_meter m;
  bc_meter_start(&m);
  for (int si = 0; si < nsizes; ++si) {
    struct data d = {.n = sizes[si], .k = k};
    /* The N x K matrix only up to 2 GiB. */
    const int with_scores = (double)d.n * k * 4 <= 2.2e9;
    d.y = malloc(d.n);
    d.z = malloc(d.n * 4);
    d.w = malloc(d.n * 4);
    d.yc = malloc(d.n * 4);
    d.pc = malloc(d.n * 4);
    d.zk = with_scores ? malloc(d.n * k * 4) : NULL;
    d.cw = malloc(k * sizeof(double));
    if (!d.y || !d.z || !d.w || !d.yc || !d.pc || (with_scores && !d.zk) ||
        !d.cw) {
      fprintf(stderr, "bench_weighted: out of memory at N = %llu\n",
              (unsigned long long)d.n);
      return 1;
    }
    for (unsigned c = 0; c < k; ++c)
      d.cw[c] = 0.5 + (double)c / k;
    generate(&d);
    double med[NV] = {0};
    for (size_t v = 0; v < NV; ++v) {
      if (VARIANTS[v].needs_scores && !with_scores)
        continue;
      VARIANTS[v].fn(&d); /* warm-up */
      double t[101];
      for (int r = 0; r < reps; ++r) {
        const double t0 = bc_now_s();
        VARIANTS[v].fn(&d);
        t[r] = bc_now_s() - t0;
      }
      med[v] = bc_median(t, reps);
      const double bytes = VARIANTS[v].bytes + VARIANTS[v].bytes_per_class * k;
      char ratio[32] = "";
      size_t u = v; /* the nearest unweighted row above */
      while (u > 0 && strstr(VARIANTS[u].name, "-w"))
        --u;
      if (u < v && med[u] > 0)
        snprintf(ratio, sizeof ratio, "%.2fx (bytes %.2fx)", med[v] / med[u],
                 bytes / (VARIANTS[u].bytes + VARIANTS[u].bytes_per_class * k));
      printf("%-15s %12llu %10.4f %14.4g %9.2f %s\n", VARIANTS[v].name,
             (unsigned long long)d.n, med[v], (double)d.n / med[v],
             bytes * (double)d.n / med[v] / 1e9, ratio);
      fflush(stdout);
    }
    free(d.cw);
    free(d.zk);
    free(d.pc);
    free(d.yc);
    free(d.w);
    free(d.z);
    free(d.y);
  }
  bc_meter_print(&m);
  clm_context_free(g_ctx);
  return 0;
}
