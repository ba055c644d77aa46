/* bench_multiclass: clmetrics' multi-class evaluation against hand-written
 * C loops.
 *
 * From labels: int32 true labels (uniform over K classes) and predictions
 * right ~70 % of the time, generated in memory with a fixed seed; every
 * variant computes the K x K confusion matrix (clm_multiclass_update_labels
 * against single-thread and OpenMP loops with private histograms).
 * From scores: an N x K float32 logit matrix (row argmax is the
 * "prediction" above); every variant computes the matrix of (true, argmax)
 * and the cross-entropy sum (clm_multiclass_update_scores against C loops
 * doing argmax + log-sum-exp + histogram, plain -O3 and -ffast-math).
 * Median of R repetitions; matrices must be identical. See README.md. */
#include "baselines.h"
#include "bench_common.h"
#include "reference.h"

#include <clmetrics.h>

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_MC_SEED 0x6d756c7469ull /* "multi" */
#define RIGHT_FRACTION 0.7
#define SCORE_MARGIN 5.0f /* added to the predicted class's logit */
#define CE_RTOL 1e-5
#define MAX_LIST 32

#ifndef BENCH_BASELINE_ARCH
#define BENCH_BASELINE_ARCH "generic"
#endif

/* ------------------------------------------------------------------ */
/* Data                                                                */
/* ------------------------------------------------------------------ */

/* True and predicted class of sample i: counter-based, so identical for any
 * thread count; the prediction is right with probability RIGHT_FRACTION,
 * else another class, uniformly. */
static inline void pair_of(uint64_t i, uint32_t k, uint32_t *t, uint32_t *p) {
  const uint64_t cut = (uint64_t)(RIGHT_FRACTION * 16777216.0);
  const uint64_t h = clm_rng_splitmix64(BENCH_MC_SEED ^ (i << 1));
  *t = (uint32_t)(((h & 0xffffffffull) * k) >> 32);
  if (((h >> 32) & 0xffffff) < cut) {
    *p = *t;
  } else {
    const uint64_t h2 = clm_rng_splitmix64(h);
    *p = (uint32_t)((*t + 1 + (((h2 & 0xffffffffull) * (k - 1)) >> 32)) % k);
  }
}

static void gen_labels(int32_t *yt, int32_t *yp, size_t n, uint32_t k) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    uint32_t t, p;
    pair_of(i, k, &t, &p);
    yt[i] = (int32_t)t;
    yp[i] = (int32_t)p;
  }
}

/* Logits: unit-variance noise in (-2.45, 2.45) (sum of two uniforms) for
 * every class, plus SCORE_MARGIN for the predicted class of pair_of, so
 * the row's argmax is that class and unique. */
static void gen_scores(int32_t *yt, float *s, size_t n, uint32_t k) {
  const uint64_t seed2 = clm_rng_splitmix64(BENCH_MC_SEED + 1);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    uint32_t t, p;
    pair_of(i, k, &t, &p);
    yt[i] = (int32_t)t;
    float *z = s + i * k;
    for (uint32_t c = 0; c < k; ++c) {
      const uint64_t h = clm_rng_splitmix64(seed2 ^ ((uint64_t)i * k + c));
      const double u1 = ((double)(h & 0xffff) + 0.5) / 65536.0;
      const double u2 = ((double)((h >> 16) & 0xffff) + 0.5) / 65536.0;
      z[c] = (float)((u1 + u2 - 1.0) * 2.449489742783178);
    }
    z[p] += SCORE_MARGIN;
  }
}

/* ------------------------------------------------------------------ */
/* Variants                                                            */
/* ------------------------------------------------------------------ */

static clm_context *g_ctx;
static clm_multiclass_state g_state; /* clmetrics' output, reset per run */

static void die_clm(const char *what, clm_status st, const clm_error *err) {
  fprintf(stderr, "bench_multiclass: %s failed: %s%s%s\n", what,
          clm_status_str(st), err && err->message[0] ? ": " : "",
          err ? err->message : "");
  exit(1);
}

/* Zeroes the state (untimed) so that its pages stay mapped between runs. */
static void reset_state(void) {
  const size_t cells = (size_t)g_state.n_classes * g_state.n_classes;
  memset(g_state.confusion, 0, cells * sizeof(uint64_t));
  g_state.n = 0;
  g_state.has_scores = 0;
  g_state.ce_sum = 0.0;
  g_state.top_k_hits = 0;
}

/* One signature for every variant: labels use y_pred, scores use s. */
typedef int (*mc_fn)(const int32_t *yt, const int32_t *yp, const float *s,
                     size_t n, uint32_t k, uint64_t *out, double *ce);

static int clm_labels(const int32_t *yt, const int32_t *yp, const float *s,
                      size_t n, uint32_t k, uint64_t *out, double *ce) {
  (void)s, (void)k, (void)out, (void)ce;
  clm_error err;
  const clm_status st =
      clm_multiclass_update_labels(g_ctx, &g_state, yt, yp, n, &err);
  if (st != CLM_OK)
    die_clm("clm_multiclass_update_labels", st, &err);
  return 0;
}

static int clm_scores(const int32_t *yt, const int32_t *yp, const float *s,
                      size_t n, uint32_t k, uint64_t *out, double *ce) {
  (void)yp, (void)k, (void)out;
  clm_error err;
  const clm_status st = clm_multiclass_update_scores(
      g_ctx, &g_state, yt, s, n, CLM_SCORES_LOGITS, NULL, &err);
  if (st != CLM_OK)
    die_clm("clm_multiclass_update_scores", st, &err);
  *ce = g_state.ce_sum;
  return 0;
}

static int c_labels_st(const int32_t *yt, const int32_t *yp, const float *s,
                       size_t n, uint32_t k, uint64_t *out, double *ce) {
  (void)s, (void)ce;
  return bl_confusion_st_plain(yt, yp, n, k, out);
}
static int c_labels_omp(const int32_t *yt, const int32_t *yp, const float *s,
                        size_t n, uint32_t k, uint64_t *out, double *ce) {
  (void)s, (void)ce;
  return bl_confusion_omp_plain(yt, yp, n, k, out);
}
#define SCORE_WRAP(name, fn)                                                   \
  static int name(const int32_t *yt, const int32_t *yp, const float *s,        \
                  size_t n, uint32_t k, uint64_t *out, double *ce) {           \
    (void)yp;                                                                  \
    return fn(yt, s, n, k, out, ce);                                           \
  }
SCORE_WRAP(c_scores_st_plain, bl_mc_scores_st_plain)
SCORE_WRAP(c_scores_omp_plain, bl_mc_scores_omp_plain)
SCORE_WRAP(c_scores_st_fast, bl_mc_scores_st_fast)
SCORE_WRAP(c_scores_omp_fast, bl_mc_scores_omp_fast)

typedef struct variant {
  const char *name;
  mc_fn fn;
} variant;

static const variant LABEL_VARIANTS[] = {
    {"clmetrics", clm_labels},
    {"c-1thread", c_labels_st},
    {"c-openmp", c_labels_omp},
};
static const variant SCORE_VARIANTS[] = {
    {"clmetrics", clm_scores},
    {"c-O3-1thread", c_scores_st_plain},
    {"c-O3-openmp", c_scores_omp_plain},
    {"c-fastmath-1thread", c_scores_st_fast},
    {"c-fastmath-openmp", c_scores_omp_fast},
};
enum {
  N_LABEL_VARIANTS = sizeof LABEL_VARIANTS / sizeof LABEL_VARIANTS[0],
  N_SCORE_VARIANTS = sizeof SCORE_VARIANTS / sizeof SCORE_VARIANTS[0],
  MAX_VARIANTS = 5
};

typedef struct row {
  const char *input; /* "labels" or "logits" */
  const char *variant;
  uint32_t k;
  uint64_t n;
  double median_s, msamples_s, gb_s, ratio;
  double ce_reldiff; /* NAN for labels */
  int is_ref, ok;
} row;

static row *g_rows;
static int g_n_rows, g_rows_cap, g_any_mismatch;

static void print_header_line(void) {
  printf("%-7s %-19s %6s %11s %10s %11s %8s %7s %9s %s\n", "input", "variant",
         "K", "N", "median_s", "Msamples/s", "GB/s", "ratio", "ce_rel",
         "check");
}

static void print_row(const row *r) {
  char ce[32];
  if (isnan(r->ce_reldiff))
    snprintf(ce, sizeof ce, "-");
  else
    snprintf(ce, sizeof ce, "%.2e", r->ce_reldiff);
  printf("%-7s %-19s %6u %11llu %10.5f %11.1f %8.2f %7.2f %9s %s\n", r->input,
         r->variant, r->k, (unsigned long long)r->n, r->median_s, r->msamples_s,
         r->gb_s, r->ratio, ce,
         r->is_ref ? "ref"
         : r->ok   ? "ok"
                   : "MISMATCH");
}

/* Runs every variant once untimed (warm-up and check against clmetrics),
 * then `reps` timed rounds interleaved across variants; prints and records
 * one row per variant. Each run's matrix is compared with clmetrics'. */
static void measure(const char *input, const variant *vars, int n_vars,
                    const int32_t *yt, const int32_t *yp, const float *s,
                    size_t n, uint32_t k, double bytes_per_sample, int reps,
                    uint64_t *work) {
  const size_t cells = (size_t)k * k;
  const int is_scores = s != NULL;
  double times[MAX_VARIANTS * 1000];
  row r[MAX_VARIANTS];
  double ref_ce = 0.0;

  clm_multiclass_state_release(&g_state);
  if (clm_multiclass_state_init(&g_state, k, 0) != CLM_OK) {
    fprintf(stderr, "bench_multiclass: cannot allocate a %u-class state\n", k);
    exit(1);
  }

  for (int v = 0; v < n_vars; ++v) {
    memset(&r[v], 0, sizeof r[v]);
    r[v].input = input;
    r[v].variant = vars[v].name;
    r[v].k = k;
    r[v].n = n;
    r[v].is_ref = v == 0;
    r[v].ok = 1;
    r[v].ce_reldiff = is_scores ? 0.0 : NAN;
  }

  for (int round = -1; round < reps; ++round) {
    for (int v = 0; v < n_vars; ++v) {
      double ce = 0.0;
      if (v == 0)
        reset_state();
      const double t0 = bc_now_s();
      const int rc = vars[v].fn(yt, yp, s, n, k, work, &ce);
      const double dt = bc_now_s() - t0;
      if (round >= 0)
        times[v * reps + round] = dt;
      if (v == 0) {
        ref_ce = ce;
        continue;
      }
      /* Check (untimed): the same matrix, cross-entropy within CE_RTOL. */
      int ok = rc == 0 &&
               memcmp(work, g_state.confusion, cells * sizeof(uint64_t)) == 0;
      if (is_scores) {
        const double d = fabs(ce - ref_ce) / fmax(fabs(ref_ce), 1e-300);
        if (d > r[v].ce_reldiff || d != d)
          r[v].ce_reldiff = d != d ? INFINITY : d;
        ok = ok && d <= CE_RTOL;
      }
      if (!ok && r[v].ok) {
        size_t first = cells;
        for (size_t c = 0; c < cells && first == cells; ++c)
          if (work[c] != g_state.confusion[c])
            first = c;
        fprintf(stderr,
                "bench_multiclass: %s %s K=%u N=%zu disagrees with "
                "clmetrics: rc %d, ",
                input, vars[v].name, k, n, rc);
        if (first < cells)
          fprintf(stderr, "cell (%zu, %zu) %llu vs %llu, ", first / k,
                  first % k, (unsigned long long)work[first],
                  (unsigned long long)g_state.confusion[first]);
        else
          fprintf(stderr, "matrices equal, ");
        fprintf(stderr, "cross-entropy %.17g vs %.17g\n", ce, ref_ce);
      }
      if (!ok)
        r[v].ok = 0;
    }
  }

  for (int v = 0; v < n_vars; ++v) {
    r[v].median_s = bc_median(times + v * reps, reps);
    r[v].msamples_s = (double)n / r[v].median_s / 1e6;
    r[v].gb_s = (double)n * bytes_per_sample / r[v].median_s / 1e9;
  }
  for (int v = 0; v < n_vars; ++v) {
    r[v].ratio = r[v].median_s / r[0].median_s;
    g_any_mismatch |= !r[v].ok;
    print_row(&r[v]);
    if (g_n_rows < g_rows_cap)
      g_rows[g_n_rows++] = r[v];
  }
  fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* Command line                                                        */
/* ------------------------------------------------------------------ */

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: bench_multiclass [--sizes N[,N...]] [--classes K[,K...]]\n"
      "                        [--score-classes K[,K...]|none] "
      "[--score-sizes N[,N...]]\n"
      "                        [--reps R] [--csv PATH] [--device SPEC]\n"
      "                        [--strategy auto|local|diag|global]\n"
      "  --sizes          samples for the label runs (default 1e8)\n"
      "  --classes        K of the label runs (default 3,10,100,1000,10000)\n"
      "  --score-classes  K of the N x K logit runs (default 10,1000; none: "
      "skip)\n"
      "  --score-sizes    N of each logit run, one value for all or one per "
      "K\n"
      "                   (default 1e8,1e6: 4 GB of logits each)\n"
      "  --reps           timed repetitions, median reported (default 5)\n"
      "  --csv            also write the results table as CSV to PATH\n"
      "  --device         clmetrics device: index or substring of \"platform "
      "device\"\n"
      "                   (default: $CLMETRICS_DEVICE, else first GPU, else "
      "first device)\n"
      "  --strategy       clm_context_options.confusion_strategy (default "
      "auto)\n"
      "Threads of the OpenMP baselines: OMP_NUM_THREADS (default: all "
      "cores).\n");
}

static int parse_classes(const char *s, uint32_t *out, int cap) {
  uint64_t v[MAX_LIST];
  const int n = bc_parse_sizes(s, v, cap < MAX_LIST ? cap : MAX_LIST);
  for (int i = 0; i < n; ++i) {
    if (v[i] < 2 || v[i] > 65535)
      return -1;
    out[i] = (uint32_t)v[i];
  }
  return n;
}

int main(int argc, char **argv) {
  bc_omp_passive(argc, argv);
  uint64_t sizes[MAX_LIST] = {100000000};
  int n_sizes = 1;
  uint32_t classes[MAX_LIST] = {3, 10, 100, 1000, 10000};
  int n_classes = 5;
  uint32_t sclasses[MAX_LIST] = {10, 1000};
  int n_sclasses = 2;
  uint64_t ssizes[MAX_LIST] = {100000000, 1000000};
  int n_ssizes = 2;
  int reps = 5;
  int strategy = CLM_CONFUSION_AUTO;
  const char *csv_path = NULL;
  const char *device = NULL;

  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    const int has_val = i + 1 < argc;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--sizes") && has_val) {
      n_sizes = bc_parse_sizes(argv[++i], sizes, MAX_LIST);
      if (n_sizes <= 0) {
        fprintf(stderr, "bench_multiclass: bad --sizes '%s'\n", argv[i]);
        return 2;
      }
    } else if (!strcmp(a, "--classes") && has_val) {
      n_classes = parse_classes(argv[++i], classes, MAX_LIST);
      if (n_classes <= 0) {
        fprintf(stderr, "bench_multiclass: bad --classes '%s' (2..65535)\n",
                argv[i]);
        return 2;
      }
    } else if (!strcmp(a, "--score-classes") && has_val) {
      if (!strcmp(argv[++i], "none")) {
        n_sclasses = 0;
        continue;
      }
      n_sclasses = parse_classes(argv[i], sclasses, MAX_LIST);
      if (n_sclasses <= 0) {
        fprintf(stderr,
                "bench_multiclass: bad --score-classes '%s' (2..65535)\n",
                argv[i]);
        return 2;
      }
    } else if (!strcmp(a, "--score-sizes") && has_val) {
      n_ssizes = bc_parse_sizes(argv[++i], ssizes, MAX_LIST);
      if (n_ssizes <= 0) {
        fprintf(stderr, "bench_multiclass: bad --score-sizes '%s'\n", argv[i]);
        return 2;
      }
    } else if (!strcmp(a, "--reps") && has_val) {
      char *end;
      long r = strtol(argv[++i], &end, 10);
      if (*end || r < 1 || r > 1000) {
        fprintf(stderr, "bench_multiclass: bad --reps '%s'\n", argv[i]);
        return 2;
      }
      reps = (int)r;
    } else if (!strcmp(a, "--csv") && has_val) {
      csv_path = argv[++i];
    } else if (!strcmp(a, "--device") && has_val) {
      device = argv[++i];
    } else if (!strcmp(a, "--strategy") && has_val) {
      const char *v = argv[++i];
      if (!strcmp(v, "auto"))
        strategy = CLM_CONFUSION_AUTO;
      else if (!strcmp(v, "local"))
        strategy = CLM_CONFUSION_LOCAL;
      else if (!strcmp(v, "diag"))
        strategy = CLM_CONFUSION_DIAG;
      else if (!strcmp(v, "global"))
        strategy = CLM_CONFUSION_GLOBAL;
      else {
        fprintf(stderr, "bench_multiclass: bad --strategy '%s'\n", v);
        return 2;
      }
    } else {
      fprintf(stderr, "bench_multiclass: unknown or incomplete option '%s'\n",
              a);
      usage(stderr);
      return 2;
    }
  }
  if (n_sclasses > 0 && n_ssizes != 1 && n_ssizes != n_sclasses) {
    fprintf(stderr,
            "bench_multiclass: --score-sizes needs one value or one per "
            "--score-classes value (%d)\n",
            n_sclasses);
    return 2;
  }
  const char *strategy_name[] = {"auto", "local", "diag", "global"};

  /* Is the machine quiet? */
  bc_quiet quiet;
  bc_quiet_probe(&quiet);

  clm_context_options opts;
  clm_context_options_init(&opts);
  opts.device = device;
  opts.confusion_strategy = strategy;
  clm_error err;
  clm_status st = clm_context_create(&opts, &g_ctx, &err);
  if (st != CLM_OK)
    die_clm("clm_context_create", st, &err);
  const clm_device_info *dev = clm_context_device(g_ctx);
  const int threads = omp_get_max_threads();

  uint64_t max_n = 0, max_score_bytes = 0, max_score_n = 0;
  for (int s = 0; s < n_sizes; ++s)
    if (sizes[s] > max_n)
      max_n = sizes[s];
  for (int c = 0; c < n_sclasses; ++c) {
    const uint64_t n = ssizes[n_ssizes == 1 ? 0 : c];
    if (n * sclasses[c] * sizeof(float) > max_score_bytes)
      max_score_bytes = n * sclasses[c] * sizeof(float);
    if (n > max_score_n)
      max_score_n = n;
  }
  uint32_t max_k = 2;
  for (int c = 0; c < n_classes; ++c)
    if (classes[c] > max_k)
      max_k = classes[c];
  for (int c = 0; c < n_sclasses; ++c)
    if (sclasses[c] > max_k)
      max_k = sclasses[c];

  printf("# clmetrics %s bench_multiclass: K x K confusion matrix from "
         "labels, and argmax + cross-entropy + matrix from N x K logits\n",
         clm_version_string());
  printf("# device: %s / %s (%s, %s, %u compute units, %llu KiB local "
         "memory); context start-up %.3f s\n",
         dev->platform, dev->name, dev->type, dev->version, dev->compute_units,
         (unsigned long long)(dev->local_mem_bytes / 1024),
         clm_context_startup_seconds(g_ctx));
  printf("# kernel build options: %s; confusion strategy: %s\n",
         clm_context_build_options(g_ctx), strategy_name[strategy]);
  printf("# baselines: OpenMP threads %d of %d online CPUs (OMP_WAIT_POLICY "
         "%s); plain flags '%s', "
         "fast flags '%s', arch %s; private uint32 histograms per thread "
         "(4 interleaved for K <= 32), merged into uint64\n",
         threads, quiet.ncpu, bc_omp_policy(), bl_flags_plain, bl_flags_fast,
         BENCH_BASELINE_ARCH);
  bc_quiet_print(&quiet);
  printf("# data: seed 0x%llx, uniform true classes, prediction right %.0f%% "
         "of the time; logits: unit noise + %.0f on the predicted class; "
         "%d reps, median\n",
         (unsigned long long)BENCH_MC_SEED, 100.0 * RIGHT_FRACTION,
         (double)SCORE_MARGIN, reps);
  printf("# GB/s counts input read: 8 bytes/sample (labels), 4K+4 "
         "bytes/sample (logits + true label)\n");
  printf("# ratio = clmetrics samples/s / variant samples/s (>1: clmetrics "
         "faster); check: identical K x K matrix, |cross-entropy rel diff| "
         "<= %g\n",
         CE_RTOL);
  print_header_line();
  fflush(stdout);

  g_rows_cap =
      (n_sizes * n_classes) * N_LABEL_VARIANTS + n_sclasses * N_SCORE_VARIANTS;
  g_rows = calloc((size_t)g_rows_cap + 1, sizeof(row));
  uint64_t *work = malloc((size_t)max_k * max_k * sizeof(uint64_t));
  if (!g_rows || !work) {
    fprintf(stderr, "bench_multiclass: out of memory\n");
    return 1;
  }

  bc_meter meter;
  bc_meter_start(&meter);

  /* From labels. */
  if (n_classes > 0 && n_sizes > 0) {
    int32_t *yt = malloc(max_n * sizeof(int32_t));
    int32_t *yp = malloc(max_n * sizeof(int32_t));
    if (!yt || !yp) {
      fprintf(stderr, "bench_multiclass: cannot allocate %.2f GB of labels\n",
              8.0 * (double)max_n / 1e9);
      return 1;
    }
    for (int c = 0; c < n_classes; ++c) {
      gen_labels(yt, yp, max_n, classes[c]);
      for (int s = 0; s < n_sizes; ++s)
        measure("labels", LABEL_VARIANTS, N_LABEL_VARIANTS, yt, yp, NULL,
                (size_t)sizes[s], classes[c], 8.0, reps, work);
    }
    free(yp);
    free(yt);
  }

  /* From logits. */
  if (n_sclasses > 0) {
    int32_t *yt = malloc(max_score_n * sizeof(int32_t));
    float *sc = malloc(max_score_bytes);
    if (!yt || !sc) {
      fprintf(stderr, "bench_multiclass: cannot allocate %.2f GB of logits\n",
              (double)max_score_bytes / 1e9);
      return 1;
    }
    for (int c = 0; c < n_sclasses; ++c) {
      const uint32_t k = sclasses[c];
      const size_t n = (size_t)ssizes[n_ssizes == 1 ? 0 : c];
      gen_scores(yt, sc, n, k);
      measure("logits", SCORE_VARIANTS, N_SCORE_VARIANTS, yt, NULL, sc, n, k,
              4.0 * k + 4.0, reps, work);
    }
    free(sc);
    free(yt);
  }

  /* Whatever else ran on the machine while we measured (data generation
   * included: it runs between the timed blocks). */
  bc_meter_print(&meter);

  if (csv_path) {
    FILE *f = fopen(csv_path, "w");
    if (!f) {
      fprintf(stderr, "bench_multiclass: cannot write %s: %s\n", csv_path,
              strerror(errno));
      return 1;
    }
    char name[300];
    bc_csv_quote(dev->name, name, sizeof name);
    fprintf(f, "input,variant,k,n,median_s,msamples_per_s,gb_per_s,ratio_clm_"
               "over_variant,ce_rel_diff,check,device,omp_threads,reps,"
               "strategy\n");
    for (int i = 0; i < g_n_rows; ++i) {
      const row *r = g_rows + i;
      char ce[32] = "";
      if (!isnan(r->ce_reldiff))
        snprintf(ce, sizeof ce, "%.3g", r->ce_reldiff);
      fprintf(f, "%s,%s,%u,%llu,%.6g,%.6g,%.6g,%.4f,%s,%s,%s,%d,%d,%s\n",
              r->input, r->variant, r->k, (unsigned long long)r->n, r->median_s,
              r->msamples_s, r->gb_s, r->ratio, ce,
              r->is_ref ? "ref"
              : r->ok   ? "ok"
                        : "MISMATCH",
              name, threads, reps, strategy_name[strategy]);
    }
    if (fclose(f) != 0) {
      fprintf(stderr, "bench_multiclass: cannot write %s\n", csv_path);
      return 1;
    }
  }

  free(work);
  free(g_rows);
  clm_multiclass_state_release(&g_state);
  clm_context_free(g_ctx);
  return g_any_mismatch ? 3 : 0;
}
