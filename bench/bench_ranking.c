/* bench_ranking: exact ROC-AUC and average precision, clmetrics against a
 * sort-based C baseline.
 *
 * Generates labels (uint8, Bernoulli(0.3)) and scores (normal-like noise of
 * unit variance + 1.0 * label, so ROC-AUC is about 0.76; float32, or float64
 * with --f64; or drawn from D distinct values with --ties D) in memory with
 * a fixed, counter-based seed, then times, as medians of R repetitions
 * interleaved across variants:
 *   clmetrics-ranking    clm_ranking_compute_arrays (k = 1, default options
 *                        unless --budget/--batch-rows);
 *   sort-baseline        bl_rank_sort_f32/_f64 (parallel LSD radix sort +
 *                        one scan, OpenMP, all threads), workspace allocated
 *                        and touched once outside the timing;
 *   sort-baseline+alloc  the same, allocating its workspace in every call;
 *   clmetrics-binary     the binary report without ranking
 *                        (clm_binary_update on logits, threshold 0.5, no
 *                        gradient, + clm_binary_finalize).
 * The ROC-AUC and AP of clmetrics and of the baseline must agree to 1e-12
 * relative (exit status 3 otherwise). --check R instead checks the baseline
 * against a trivial qsort implementation on R small random inputs (and
 * clmetrics against both). See README.md. */
#include "baselines.h"
#include "bench_common.h"
#include "reference.h"

#include <clmetrics.h>

#include <errno.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_SEED 0x5eed2025ull
#define AGREE_RTOL 1e-12 /* clmetrics vs the baseline */
#define CHECK_RTOL 1e-15 /* baseline vs the qsort reference */
#define MAX_BUDGETS 16

#ifndef BENCH_BASELINE_ARCH
#define BENCH_BASELINE_ARCH "generic"
#endif

/* ------------------------------------------------------------------ */
/* Data                                                                */
/* ------------------------------------------------------------------ */

/* Sample i from three counter-based hashes hj = splitmix64((seed ^ i) << 2
 * | j): label from 24 bits of h0 (30 % positives), noise = (sum of four
 * 26-bit uniforms from h1, h2 - 2) * sqrt(3) (mean 0, variance 1), score =
 * noise + label, all in double (ROC-AUC about 0.756); with ties > 0 the score
 * becomes floor((score + 3.5) * (ties / 8)) clamped to [0, ties - 1]. Every
 * step is one IEEE operation (no contraction: -ffp-contract=off), so
 * bench/peers_ranking.py reproduces the data bit for bit with NumPy. */
static void generate(uint8_t *labels, float *s32, double *s64, size_t n,
                     uint64_t ties) {
  const uint64_t pos_cut = (uint64_t)(0.3 * 16777216.0);
  const double qscale = (double)ties / 8.0;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const uint64_t c = (BENCH_SEED ^ (uint64_t)i) << 2;
    const uint64_t h0 = clm_rng_splitmix64(c);
    const uint64_t h1 = clm_rng_splitmix64(c | 1);
    const uint64_t h2 = clm_rng_splitmix64(c | 2);
    const int y = (h0 & 0xffffff) < pos_cut;
    const uint64_t m26 = (1u << 26) - 1;
    double u = ((double)(h1 & m26) + 0.5) / 67108864.0;
    u += ((double)((h1 >> 32) & m26) + 0.5) / 67108864.0;
    u += ((double)(h2 & m26) + 0.5) / 67108864.0;
    u += ((double)((h2 >> 32) & m26) + 0.5) / 67108864.0;
    const double noise = (u - 2.0) * 1.7320508075688772;
    double x = noise + (y ? 1.0 : 0.0);
    if (ties) {
      double q = floor((x + 3.5) * qscale);
      if (q < 0.0)
        q = 0.0;
      if (q > (double)(ties - 1))
        q = (double)(ties - 1);
      x = q;
    }
    labels[i] = (uint8_t)y;
    if (s64)
      s64[i] = x;
    else
      s32[i] = (float)x;
  }
}

/* ------------------------------------------------------------------ */
/* Variants                                                            */
/* ------------------------------------------------------------------ */

typedef enum kind { V_CLM_RANKING, V_SORT, V_SORT_ALLOC, V_CLM_BINARY } kind;

typedef struct variant {
  char name[48];
  kind kind;
  uint64_t budget; /* V_CLM_RANKING: memory_budget (0: default) */
} variant;

typedef struct answer {
  double roc_auc, ap;
  uint64_t pos, neg, distinct;
  uint32_t passes;
  uint64_t memory_bytes;
  int exact;
} answer;

typedef struct inputs {
  const uint8_t *labels;
  const float *s32;  /* float32 scores (also the binary variant's input) */
  const double *s64; /* float64 scores with --f64, else NULL */
  void *work;        /* the baseline's preallocated workspace */
  uint64_t batch_rows;
} inputs;

static clm_context *g_ctx;

static void die_clm(const char *what, clm_status st, const clm_error *err) {
  fprintf(stderr, "bench_ranking: %s failed: %s%s%s\n", what,
          clm_status_str(st), err && err->message[0] ? ": " : "",
          err ? err->message : "");
  exit(1);
}

static void clm_ranking(const inputs *in, size_t n, uint64_t budget,
                        answer *a) {
  clm_ranking_options opts;
  clm_ranking_options_init(&opts);
  if (budget)
    opts.memory_budget = budget;
  if (in->batch_rows)
    opts.batch_rows = in->batch_rows;
  clm_ranking_result res;
  clm_error err;
  memset(&res, 0, sizeof res);
  const clm_status st = clm_ranking_compute_arrays(
      g_ctx, in->labels,
      in->s64 ? (const void *)in->s64 : (const void *)in->s32,
      in->s64 ? CLM_DTYPE_F64 : CLM_DTYPE_F32, (uint64_t)n, 1, 0, &opts, &res,
      &err);
  if (st != CLM_OK)
    die_clm("clm_ranking_compute_arrays", st, &err);
  const clm_ranking_class *c = &res.classes[0];
  a->roc_auc = c->roc_auc;
  a->ap = c->average_precision;
  a->pos = c->positives;
  a->neg = c->negatives;
  a->distinct = c->distinct;
  a->passes = res.passes;
  a->memory_bytes = res.memory_bytes;
  a->exact = res.exact;
  clm_ranking_result_release(&res);
}

static void sort_baseline(const inputs *in, size_t n, void *work, answer *a) {
  bl_rank_result r;
  const int rc = in->s64 ? bl_rank_sort_f64(in->labels, in->s64, n, work, &r)
                         : bl_rank_sort_f32(in->labels, in->s32, n, work, &r);
  if (rc != BL_RANK_OK) {
    fprintf(stderr, "bench_ranking: sort baseline failed (%d)\n", rc);
    exit(1);
  }
  memset(a, 0, sizeof *a);
  a->roc_auc = r.roc_auc;
  a->ap = r.average_precision;
  a->pos = r.positives;
  a->neg = r.negatives;
  a->distinct = r.distinct;
  a->memory_bytes = bl_rank_workspace_bytes(n, in->s64 != NULL);
  a->exact = 1;
}

static void clm_binary(const inputs *in, size_t n, answer *a) {
  clm_binary_state state;
  clm_binary_result res;
  clm_error err;
  clm_status st = clm_binary_state_init(&state, CLM_SCORES_LOGITS, 0.5, 0);
  if (st != CLM_OK)
    die_clm("clm_binary_state_init", st, NULL);
  st = clm_binary_update(g_ctx, &state, in->labels, in->s32, (uint64_t)n, NULL,
                         NULL, &err);
  if (st != CLM_OK)
    die_clm("clm_binary_update", st, &err);
  st = clm_binary_finalize(&state, CLM_ZERO_DIVISION_ZERO, &res, NULL);
  if (st != CLM_OK)
    die_clm("clm_binary_finalize", st, NULL);
  memset(a, 0, sizeof *a);
  a->roc_auc = a->ap = NAN;
  a->pos = res.tp + res.fn;
  a->neg = res.fp + res.tn;
  clm_binary_state_release(&state);
}

static void run_variant(const variant *v, const inputs *in, size_t n,
                        answer *a) {
  switch (v->kind) {
  case V_CLM_RANKING:
    clm_ranking(in, n, v->budget, a);
    break;
  case V_SORT:
    sort_baseline(in, n, in->work, a);
    break;
  case V_SORT_ALLOC:
    sort_baseline(in, n, NULL, a);
    break;
  case V_CLM_BINARY:
    clm_binary(in, n, a);
    break;
  }
}

/* |a - b| <= rtol * |b|, or both NaN. */
static int close_rel(double a, double b, double rtol) {
  if (a != a || b != b)
    return a != a && b != b;
  return fabs(a - b) <= rtol * fabs(b);
}

static double rel_diff(double a, double b) {
  if (a != a || b != b)
    return a != a && b != b ? 0.0 : INFINITY;
  return b == 0.0 ? fabs(a) : fabs(a - b) / fabs(b);
}

/* ------------------------------------------------------------------ */
/* --check: the baseline against the qsort reference (and clmetrics)    */
/* ------------------------------------------------------------------ */

static double special_value(clm_rng *r) {
  static const double v[] = {
      0.0,     -0.0,     1.0,   -1.0,   INFINITY, -INFINITY, FLT_MAX, -FLT_MAX,
      FLT_MIN, -FLT_MIN, 1e-45, -1e-45, 0.5,      0.25,      2.0,     3.0};
  return v[clm_rng_below(r, sizeof v / sizeof v[0])];
}

typedef struct check_stats {
  int cases, bl_bad, clm_bad, clm_err, clm_inexact;
} check_stats;

static void check_one(check_stats *cs, int f64, const uint8_t *labels,
                      const float *s32, const double *s64, size_t n,
                      const char *what) {
  bl_rank_result q, s;
  int rq = f64 ? bl_rank_qsort_f64(labels, s64, n, &q)
               : bl_rank_qsort_f32(labels, s32, n, &q);
  int rs = f64 ? bl_rank_sort_f64(labels, s64, n, NULL, &s)
               : bl_rank_sort_f32(labels, s32, n, NULL, &s);
  ++cs->cases;
  if (rq != BL_RANK_OK || rs != BL_RANK_OK || q.positives != s.positives ||
      q.negatives != s.negatives || q.distinct != s.distinct ||
      !close_rel(s.roc_auc, q.roc_auc, CHECK_RTOL) ||
      !close_rel(s.average_precision, q.average_precision, CHECK_RTOL)) {
    if (cs->bl_bad++ < 5)
      fprintf(stderr,
              "check: baseline MISMATCH (%s, %s, n=%zu, threads %d): rc %d/%d "
              "P %llu/%llu N %llu/%llu distinct %llu/%llu auc %.17g/%.17g "
              "ap %.17g/%.17g (sort/qsort)\n",
              what, f64 ? "f64" : "f32", n, omp_get_max_threads(), rs, rq,
              (unsigned long long)s.positives, (unsigned long long)q.positives,
              (unsigned long long)s.negatives, (unsigned long long)q.negatives,
              (unsigned long long)s.distinct, (unsigned long long)q.distinct,
              s.roc_auc, q.roc_auc, s.average_precision, q.average_precision);
  }
  if (!g_ctx || n == 0)
    return;
  clm_ranking_options opts;
  clm_ranking_options_init(&opts);
  clm_ranking_result res;
  clm_error err;
  memset(&res, 0, sizeof res);
  const clm_status st = clm_ranking_compute_arrays(
      g_ctx, labels, f64 ? (const void *)s64 : (const void *)s32,
      f64 ? CLM_DTYPE_F64 : CLM_DTYPE_F32, (uint64_t)n, 1, 0, &opts, &res,
      &err);
  if (st != CLM_OK) {
    if (cs->clm_err++ < 5)
      fprintf(stderr, "check: clmetrics error (%s, %s, n=%zu): %s: %s\n", what,
              f64 ? "f64" : "f32", n, clm_status_str(st), err.message);
    return;
  }
  const clm_ranking_class *c = &res.classes[0];
  if (!res.exact)
    ++cs->clm_inexact;
  if (c->positives != q.positives || c->negatives != q.negatives ||
      (c->distinct && c->distinct != q.distinct) ||
      !close_rel(c->roc_auc, q.roc_auc, AGREE_RTOL) ||
      !close_rel(c->average_precision, q.average_precision, AGREE_RTOL)) {
    if (cs->clm_bad++ < 5)
      fprintf(stderr,
              "check: clmetrics MISMATCH (%s, %s, n=%zu): P %llu/%llu N "
              "%llu/%llu distinct %llu/%llu auc %.17g/%.17g ap %.17g/%.17g "
              "exact %d passes %u (clmetrics/qsort)\n",
              what, f64 ? "f64" : "f32", n, (unsigned long long)c->positives,
              (unsigned long long)q.positives, (unsigned long long)c->negatives,
              (unsigned long long)q.negatives, (unsigned long long)c->distinct,
              (unsigned long long)q.distinct, c->roc_auc, q.roc_auc,
              c->average_precision, q.average_precision, res.exact, res.passes);
  }
  clm_ranking_result_release(&res);
}

static int run_check(int rounds) {
  static const int threads[] = {1, 2, 3, 7};
  const int saved = omp_get_max_threads();
  clm_rng r;
  clm_rng_seed(&r, 0xc4ec4ull);
  check_stats cs = {0};
  static const char *const kinds[] = {"continuous", "few-distinct", "special",
                                      "one-class", "huge-tie"};
  for (int round = 0; round < rounds; ++round) {
    omp_set_num_threads(threads[round % 4]);
    const uint32_t kindi = clm_rng_below(&r, 5);
    size_t n = round < 8 ? (size_t)round : 1 + clm_rng_below(&r, 3000);
    if (round % 10 == 9)
      n = 20000 + clm_rng_below(&r, 100000);
    uint8_t *labels = malloc(n + 1);
    float *s32 = malloc((n + 1) * sizeof *s32);
    double *s64 = malloc((n + 1) * sizeof *s64);
    if (!labels || !s32 || !s64)
      return 1;
    const uint32_t distinct = 1 + clm_rng_below(&r, 12);
    const uint32_t pos_pct = clm_rng_below(&r, 101);
    for (size_t i = 0; i < n; ++i) {
      int y = clm_rng_below(&r, 100) < pos_pct;
      double x;
      switch (kindi) {
      case 0: /* continuous (float32 rounding makes a few ties at large n) */
        x = (clm_rng_uniform(&r) + clm_rng_uniform(&r) - 1.0) * 3.0 + y;
        break;
      case 1:
        x = (double)clm_rng_below(&r, distinct) * 0.5 - 1.0 + 0.5 * y;
        break;
      case 2:
        x = special_value(&r);
        break;
      case 3:
        y = (int)(pos_pct & 1);
        x = clm_rng_uniform(&r);
        break;
      default: /* one huge tie group across thread chunks, a few others */
        x = clm_rng_below(&r, 50) ? 0.0 : clm_rng_uniform(&r);
        break;
      }
      labels[i] = (uint8_t)y;
      s64[i] = x;
      s32[i] = (float)x;
    }
    check_one(&cs, 0, labels, s32, s64, n, kinds[kindi]);
    check_one(&cs, 1, labels, s32, s64, n, kinds[kindi]);
    free(labels);
    free(s32);
    free(s64);
  }
  /* NaN is an error for the baseline. */
  {
    const uint8_t l[3] = {0, 1, 0};
    const float f[3] = {0.0f, NAN, 1.0f};
    const double d[3] = {0.0, NAN, 1.0};
    bl_rank_result out;
    ++cs.cases;
    if (bl_rank_sort_f32(l, f, 3, NULL, &out) != BL_RANK_NAN ||
        bl_rank_sort_f64(l, d, 3, NULL, &out) != BL_RANK_NAN) {
      fprintf(stderr, "check: baseline accepted a NaN score\n");
      ++cs.bl_bad;
    }
  }
  omp_set_num_threads(saved);
  printf("check: %d cases (float32 and float64; threads 1, 2, 3, 7): "
         "baseline vs qsort %s (%d mismatches, rtol %g)\n",
         cs.cases, cs.bl_bad ? "FAILED" : "ok", cs.bl_bad, CHECK_RTOL);
  if (g_ctx)
    printf("check: clmetrics vs qsort: %d mismatches, %d errors, %d inexact "
           "results (rtol %g)\n",
           cs.clm_bad, cs.clm_err, cs.clm_inexact, AGREE_RTOL);
  return cs.bl_bad || cs.clm_bad || cs.clm_err ? 3 : 0;
}

/* ------------------------------------------------------------------ */
/* Command line                                                        */
/* ------------------------------------------------------------------ */

/* "256M", "64K", "1G", "1048576": bytes, or 0 on a malformed value. */
static uint64_t parse_bytes(const char *s, const char **end_out) {
  char *end;
  errno = 0;
  const double v = strtod(s, &end);
  if (end == s || errno || !(v >= 0.0))
    return 0;
  double mult = 1.0;
  if (*end == 'K' || *end == 'k')
    mult = 1024.0, ++end;
  else if (*end == 'M' || *end == 'm')
    mult = 1048576.0, ++end;
  else if (*end == 'G' || *end == 'g')
    mult = 1073741824.0, ++end;
  *end_out = end;
  const double b = v * mult;
  return b >= 1.0 && b < 1e15 ? (uint64_t)b : 0;
}

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: bench_ranking [--n N[,N...]] [--reps R] [--f64] [--ties D]\n"
      "                     [--budget B[,B...]] [--batch-rows R] [--csv PATH]\n"
      "                     [--device SPEC] [--check [ROUNDS]]\n"
      "  --n           sample counts (default 1e7)\n"
      "  --reps        timed repetitions, median reported (default 3)\n"
      "  --f64         float64 scores (clmetrics on float64, baseline f64)\n"
      "  --ties D      scores drawn from D distinct values\n"
      "  --budget      clmetrics memory_budget(s), e.g. 64M,256M,1G: one\n"
      "                clmetrics row each (default: the library default)\n"
      "  --batch-rows  clmetrics batch_rows (default: the library default)\n"
      "  --csv         also write the table as CSV to PATH\n"
      "  --device      clmetrics device: index or substring of \"platform "
      "device\"\n"
      "  --check       check the sort baseline against a qsort reference on\n"
      "                ROUNDS (default 400) small random inputs, and "
      "clmetrics\n"
      "                against both; no timing\n"
      "Threads of the baseline: OMP_NUM_THREADS (default: all cores).\n");
}

typedef struct row {
  const variant *v;
  uint64_t n;
  double median_s, msamples_s, ratio;
  answer a;
  double auc_rel, ap_rel;
  int ok;
} row;

int main(int argc, char **argv) {
  uint64_t sizes[32] = {10000000};
  int n_sizes = 1;
  int reps = 3, f64 = 0, check_rounds = 0;
  uint64_t ties = 0, batch_rows = 0;
  uint64_t budgets[MAX_BUDGETS] = {0};
  int n_budgets = 1;
  const char *csv_path = NULL, *device = NULL;

  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    const int has_val = i + 1 < argc;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if ((!strcmp(a, "--n") || !strcmp(a, "--sizes")) && has_val) {
      n_sizes = bc_parse_sizes(argv[++i], sizes, 32);
      if (n_sizes <= 0) {
        fprintf(stderr, "bench_ranking: bad --n '%s'\n", argv[i]);
        return 2;
      }
    } else if (!strcmp(a, "--reps") && has_val) {
      char *end;
      const long r = strtol(argv[++i], &end, 10);
      if (*end || r < 1 || r > 1000) {
        fprintf(stderr, "bench_ranking: bad --reps '%s'\n", argv[i]);
        return 2;
      }
      reps = (int)r;
    } else if (!strcmp(a, "--f64")) {
      f64 = 1;
    } else if (!strcmp(a, "--ties") && has_val) {
      uint64_t d[1];
      if (bc_parse_sizes(argv[++i], d, 1) != 1 || d[0] > (1ull << 40)) {
        fprintf(stderr, "bench_ranking: bad --ties '%s'\n", argv[i]);
        return 2;
      }
      ties = d[0];
    } else if (!strcmp(a, "--budget") && has_val) {
      const char *s = argv[++i];
      n_budgets = 0;
      while (*s) {
        const char *end;
        const uint64_t b = parse_bytes(s, &end);
        if (!b || n_budgets == MAX_BUDGETS || (*end && *end != ',')) {
          fprintf(stderr, "bench_ranking: bad --budget '%s'\n", argv[i]);
          return 2;
        }
        budgets[n_budgets++] = b;
        s = *end ? end + 1 : end;
      }
      if (!n_budgets) {
        fprintf(stderr, "bench_ranking: bad --budget '%s'\n", argv[i]);
        return 2;
      }
    } else if (!strcmp(a, "--batch-rows") && has_val) {
      uint64_t d[1];
      if (bc_parse_sizes(argv[++i], d, 1) != 1) {
        fprintf(stderr, "bench_ranking: bad --batch-rows '%s'\n", argv[i]);
        return 2;
      }
      batch_rows = d[0];
    } else if (!strcmp(a, "--csv") && has_val) {
      csv_path = argv[++i];
    } else if (!strcmp(a, "--device") && has_val) {
      device = argv[++i];
    } else if (!strcmp(a, "--check")) {
      check_rounds = 400;
      if (has_val && argv[i + 1][0] != '-') {
        char *end;
        const long r = strtol(argv[++i], &end, 10);
        if (*end || r < 1 || r > 1000000) {
          fprintf(stderr, "bench_ranking: bad --check '%s'\n", argv[i]);
          return 2;
        }
        check_rounds = (int)r;
      }
    } else {
      fprintf(stderr, "bench_ranking: unknown or incomplete option '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }

  bc_quiet quiet;
  bc_quiet_probe(&quiet);
  const int ncpu = quiet.ncpu;

  clm_context_options copts;
  clm_context_options_init(&copts);
  copts.device = device;
  clm_error err;
  clm_status st = clm_context_create(&copts, &g_ctx, &err);
  if (st != CLM_OK) {
    if (!check_rounds)
      die_clm("clm_context_create", st, &err);
    fprintf(stderr,
            "bench_ranking: no clmetrics context (%s): checking the "
            "baseline only\n",
            err.message);
    g_ctx = NULL;
  }
  if (check_rounds) {
    const int rc = run_check(check_rounds);
    clm_context_free(g_ctx);
    return rc;
  }
  const clm_device_info *dev = clm_context_device(g_ctx);
  const int threads = omp_get_max_threads();

  /* Variants: one clmetrics ranking row per budget, then the baselines and
   * the binary report. */
  variant variants[MAX_BUDGETS + 3];
  int n_var = 0;
  for (int b = 0; b < n_budgets; ++b) {
    variant *v = &variants[n_var++];
    v->kind = V_CLM_RANKING;
    v->budget = budgets[b];
    if (n_budgets == 1 && !budgets[b])
      snprintf(v->name, sizeof v->name, "clmetrics-ranking");
    else
      snprintf(v->name, sizeof v->name, "clm-ranking-%gM",
               (double)budgets[b] / 1048576.0);
  }
  variants[n_var++] = (variant){"sort-baseline", V_SORT, 0};
  variants[n_var++] = (variant){"sort-baseline+alloc", V_SORT_ALLOC, 0};
  variants[n_var++] = (variant){"clmetrics-binary", V_CLM_BINARY, 0};

  uint64_t max_n = 0;
  for (int s = 0; s < n_sizes; ++s)
    if (sizes[s] > max_n)
      max_n = sizes[s];
  const size_t ws_bytes = bl_rank_workspace_bytes(max_n, f64);
  const double data_bytes = (double)max_n * (f64 ? 13.0 : 5.0);
  uint8_t *labels = malloc(max_n);
  float *s32 = malloc(max_n * sizeof(float));
  double *s64 = f64 ? malloc(max_n * sizeof(double)) : NULL;
  void *work = malloc(ws_bytes + 8);
  if (!labels || !s32 || (f64 && !s64) || !work) {
    fprintf(stderr,
            "bench_ranking: cannot allocate %.2f GB (data %.2f GB, baseline "
            "workspace %.2f GB) for N = %llu\n",
            (data_bytes + (double)ws_bytes) / 1e9, data_bytes / 1e9,
            (double)ws_bytes / 1e9, (unsigned long long)max_n);
    return 1;
  }
  double t = bc_now_s();
  generate(labels, s32, s64, max_n, ties);
  memset(work, 0, ws_bytes + 8); /* first touch, not timed */
  const double gen_s = bc_now_s() - t;
  if (f64) {
    /* The binary report reads float32: converted once, not timed. */
    st = clm_binary_scores_from_f64(s64, max_n, CLM_SCORES_LOGITS, 0.5, s32,
                                    &err);
    if (st != CLM_OK)
      die_clm("clm_binary_scores_from_f64", st, &err);
  }
  inputs in = {labels, s32, s64, work, batch_rows};

  clm_ranking_options dopts;
  clm_ranking_options_init(&dopts);
  printf("# clmetrics %s bench_ranking: exact ROC-AUC + average precision "
         "(k = 1, %s scores)\n",
         clm_version_string(), f64 ? "float64" : "float32");
  printf("# device: %s / %s (%s, %s, %u compute units); context start-up "
         "%.3f s\n",
         dev->platform, dev->name, dev->type, dev->version, dev->compute_units,
         clm_context_startup_seconds(g_ctx));
  printf("# kernel build options: %s\n", clm_context_build_options(g_ctx));
  printf("# clmetrics ranking options: memory_budget %s (default %llu), "
         "batch_rows %llu (0: default), curve_points 0\n",
         n_budgets == 1 && !budgets[0] ? "default" : "see rows",
         (unsigned long long)dopts.memory_budget,
         (unsigned long long)batch_rows);
  printf("# sort baseline: LSD radix (11-bit digits, %s), OpenMP threads %d "
         "of %d online CPUs, flags '%s', arch %s; workspace %.2f GB at N = "
         "%llu\n",
         f64 ? "uint64 key + uint8 label, 6 passes"
             : "packed key<<1|label uint64, 3 passes",
         threads, ncpu, bl_flags_plain, BENCH_BASELINE_ARCH,
         (double)ws_bytes / 1e9, (unsigned long long)max_n);
  bc_quiet_print(&quiet);
  if (ties)
    printf("# data: seed 0x%llx, 30%% positives, scores = floor((noise + "
           "label + 3.5) * D/8) in [0, D-1], D = %llu; generated in %.2f s; "
           "%d reps, median\n",
           (unsigned long long)BENCH_SEED, (unsigned long long)ties, gen_s,
           reps);
  else
    printf("# data: seed 0x%llx, 30%% positives, scores = N(0,1)-like noise "
           "+ 1.0 * label; generated in %.2f s; %d reps, median\n",
           (unsigned long long)BENCH_SEED, gen_s, reps);
  printf("# ratio = %s samples/s / variant samples/s (>1: clmetrics "
         "faster); check: ROC-AUC and AP within %g relative of the sort "
         "baseline, counts equal, clmetrics exact\n",
         variants[0].name, AGREE_RTOL);
  printf("%-22s %11s %9s %10s %7s %6s %9s %19s %19s %s\n", "variant", "N",
         "median_s", "Msamples/s", "ratio", "passes", "mem_MB", "roc_auc",
         "average_precision", "check");
  fflush(stdout);

  bc_meter meter;
  bc_meter_start(&meter);

  row *rows = calloc((size_t)n_sizes * n_var, sizeof(row));
  double *times = malloc((size_t)n_var * reps * sizeof(double));
  if (!rows || !times)
    return 1;
  int n_rows = 0, any_mismatch = 0;
  int sort_index = n_budgets, bin_index = n_var - 1;

  for (int s = 0; s < n_sizes; ++s) {
    const size_t n = (size_t)sizes[s];
    row *r = rows + n_rows;
    answer a;

    /* Warm-up run of each variant; the sort baseline is the reference. */
    for (int v = 0; v < n_var; ++v) {
      r[v].v = &variants[v];
      r[v].n = n;
      run_variant(&variants[v], &in, n, &r[v].a);
    }
    const answer *ref = &r[sort_index].a;
    for (int v = 0; v < n_var; ++v) {
      const answer *x = &r[v].a;
      r[v].ok = x->pos == ref->pos && x->neg == ref->neg;
      if (variants[v].kind != V_CLM_BINARY) {
        r[v].auc_rel = rel_diff(x->roc_auc, ref->roc_auc);
        r[v].ap_rel = rel_diff(x->ap, ref->ap);
        r[v].ok = r[v].ok && close_rel(x->roc_auc, ref->roc_auc, AGREE_RTOL) &&
                  close_rel(x->ap, ref->ap, AGREE_RTOL) && x->exact &&
                  (x->distinct == 0 || x->distinct == ref->distinct);
      }
      if (!r[v].ok)
        fprintf(stderr,
                "bench_ranking: %s N=%zu disagrees with the sort baseline: "
                "P %llu/%llu N %llu/%llu distinct %llu/%llu auc %.17g/%.17g "
                "ap %.17g/%.17g exact %d\n",
                variants[v].name, n, (unsigned long long)x->pos,
                (unsigned long long)ref->pos, (unsigned long long)x->neg,
                (unsigned long long)ref->neg, (unsigned long long)x->distinct,
                (unsigned long long)ref->distinct, x->roc_auc, ref->roc_auc,
                x->ap, ref->ap, x->exact);
    }

    /* Timed runs, interleaved so that background load spreads evenly. */
    for (int k = 0; k < reps; ++k) {
      for (int v = 0; v < n_var; ++v) {
        const double t0 = bc_now_s();
        run_variant(&variants[v], &in, n, &a);
        times[v * reps + k] = bc_now_s() - t0;
        if (variants[v].kind != V_CLM_BINARY &&
            (!close_rel(a.roc_auc, ref->roc_auc, AGREE_RTOL) ||
             !close_rel(a.ap, ref->ap, AGREE_RTOL)))
          r[v].ok = 0;
      }
    }

    for (int v = 0; v < n_var; ++v) {
      r[v].median_s = bc_median(times + v * reps, reps);
      r[v].msamples_s = (double)n / r[v].median_s / 1e6;
    }
    for (int v = 0; v < n_var; ++v) {
      const answer *x = &r[v].a;
      char passes[16] = "-", mem[16] = "-", auc[24] = "-", ap[24] = "-";
      r[v].ratio = r[v].median_s / r[0].median_s;
      any_mismatch |= !r[v].ok;
      if (variants[v].kind == V_CLM_RANKING)
        snprintf(passes, sizeof passes, "%u", x->passes);
      if (variants[v].kind != V_CLM_BINARY) {
        snprintf(mem, sizeof mem, "%.1f", (double)x->memory_bytes / 1048576.0);
        snprintf(auc, sizeof auc, "%.17f", x->roc_auc);
        snprintf(ap, sizeof ap, "%.17f", x->ap);
      }
      printf("%-22s %11llu %9.4f %10.2f %7.2f %6s %9s %19s %19s %s\n",
             variants[v].name, (unsigned long long)n, r[v].median_s,
             r[v].msamples_s, r[v].ratio, passes, mem, auc, ap,
             v == sort_index ? "ref"
             : r[v].ok       ? "ok"
                             : "MISMATCH");
    }
    printf("# N=%zu: P=%llu N=%llu distinct=%llu; clmetrics vs baseline: "
           "|d auc|/auc %.2e, |d ap|/ap %.2e; ranking/binary time %.2f, "
           "report with ranking / without %.2f\n",
           n, (unsigned long long)r[sort_index].a.pos,
           (unsigned long long)r[sort_index].a.neg,
           (unsigned long long)r[sort_index].a.distinct, r[0].auc_rel,
           r[0].ap_rel, r[0].median_s / r[bin_index].median_s,
           (r[0].median_s + r[bin_index].median_s) / r[bin_index].median_s);
    fflush(stdout);
    n_rows += n_var;
  }

  bc_meter_print(&meter);

  if (csv_path) {
    FILE *f = fopen(csv_path, "w");
    if (!f) {
      fprintf(stderr, "bench_ranking: cannot write %s: %s\n", csv_path,
              strerror(errno));
      return 1;
    }
    fprintf(f, "variant,n,dtype,ties,median_s,msamples_per_s,ratio_clm_over_"
               "variant,passes,memory_bytes,roc_auc,average_precision,check,"
               "device,omp_threads,reps\n");
    char name[300];
    bc_csv_quote(dev->name, name, sizeof name);
    for (int i = 0; i < n_rows; ++i) {
      const row *r = rows + i;
      const int v = i % n_var;
      fprintf(f,
              "%s,%llu,%s,%llu,%.6g,%.6g,%.4f,%u,%llu,%.17g,%.17g,%s,%s,%d,"
              "%d\n",
              r->v->name, (unsigned long long)r->n, f64 ? "float64" : "float32",
              (unsigned long long)ties, r->median_s, r->msamples_s, r->ratio,
              r->a.passes, (unsigned long long)r->a.memory_bytes, r->a.roc_auc,
              r->a.ap,
              v == sort_index ? "ref"
              : r->ok         ? "ok"
                              : "MISMATCH",
              name, threads, reps);
    }
    if (fclose(f) != 0) {
      fprintf(stderr, "bench_ranking: cannot write %s\n", csv_path);
      return 1;
    }
  }

  free(times);
  free(rows);
  free(work);
  free(s64);
  free(s32);
  free(labels);
  clm_context_free(g_ctx);
  return any_mismatch ? 3 : 0;
}
