/* bench_binary: clmetrics' binary evaluation against hand-written C loops.
 *
 * Generates labels (uint8, 30% positives) and logits (float32, +-1.2 plus
 * unit Gaussian-like noise) in memory with a fixed seed, then, for each N,
 * times the median of R repetitions of every variant computing the same
 * outputs: loss sum, gradient sum, TP/FP/TN/FN and the per-sample gradient
 * array. Baselines are checked against clmetrics' answer. See README.md. */
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

#define BENCH_SEED 0x5eed2024ull
#define BYTES_PER_SAMPLE 9.0 /* 1 label + 4 score read, 4 gradient written */
#define LOSS_RTOL 1e-5
#define GRAD_ATOL 1e-5

#ifndef BENCH_BASELINE_ARCH
#define BENCH_BASELINE_ARCH "generic"
#endif

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

/* Counter-based, so the data do not depend on the number of threads. Also
 * first-touches the two gradient buffers (page faults are not timed). */
static void generate(uint8_t *labels, float *scores, float *grad_ref,
                     float *grad_work, size_t n) {
  const uint64_t pos_cut = (uint64_t)(0.3 * 16777216.0); /* 30% of 2^24 */
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const uint64_t h = clm_rng_splitmix64(BENCH_SEED ^ ((uint64_t)i << 1));
    const int y = (h & 0xffffff) < pos_cut;
    /* Sum of four uniforms (10 bits each), scaled to unit variance. */
    double u = 0.0;
    for (int k = 0; k < 4; ++k)
      u += ((double)((h >> (24 + 10 * k)) & 1023) + 0.5) / 1024.0;
    const double noise = (u - 2.0) * 1.7320508075688772;
    labels[i] = (uint8_t)y;
    scores[i] = (float)((y ? 1.2 : -1.2) + noise);
    grad_ref[i] = 0.0f;
    grad_work[i] = 0.0f;
  }
}

/* ------------------------------------------------------------------ */
/* Variants                                                            */
/* ------------------------------------------------------------------ */

static clm_context *g_ctx;

static void die_clm(const char *what, clm_status st, const clm_error *err) {
  fprintf(stderr, "bench_binary: %s failed: %s%s%s\n", what, clm_status_str(st),
          err && err->message[0] ? ": " : "", err ? err->message : "");
  exit(1);
}

static void run_clmetrics(const uint8_t *labels, const float *scores, size_t n,
                          float *grad, bl_result *out) {
  clm_binary_state state;
  clm_error err;
  clm_status st = clm_binary_state_init(&state, CLM_SCORES_LOGITS, 0.5, 0);
  if (st != CLM_OK)
    die_clm("clm_binary_state_init", st, NULL);
  st = clm_binary_update(g_ctx, &state, labels, scores, (uint64_t)n, NULL, grad,
                         &err);
  if (st != CLM_OK)
    die_clm("clm_binary_update", st, &err);
  out->loss_sum = state.bce_sum;
  out->grad_sum = state.grad_sum;
  out->tp = state.tp;
  out->fp = state.fp;
  out->tn = state.tn;
  out->fn = state.fn;
  clm_binary_state_release(&state);
}

typedef struct variant {
  const char *name;
  bl_fn fn;
} variant;

static const variant VARIANTS[] = {
    {"clmetrics", run_clmetrics},
    {"c-O3-1thread", bl_binary_st_plain},
    {"c-O3-openmp", bl_binary_omp_plain},
    {"c-fastmath-1thread", bl_binary_st_fast},
    {"c-fastmath-openmp", bl_binary_omp_fast},
};
enum { N_VARIANTS = sizeof VARIANTS / sizeof VARIANTS[0] };

typedef struct row {
  const char *variant;
  uint64_t n;
  double median_s;
  double msamples_s;
  double gb_s;
  double ratio; /* clmetrics speed / variant speed */
  double grad_maxdiff;
  double loss_reldiff;
  int ok;
} row;

/* Agreement with clmetrics: counts equal, loss sum within LOSS_RTOL. */
static int same_answer(const bl_result *a, const bl_result *ref,
                       double *reldiff) {
  const double d =
      fabs(a->loss_sum - ref->loss_sum) / fmax(fabs(ref->loss_sum), 1e-300);
  if (reldiff && d > *reldiff)
    *reldiff = d;
  return a->tp == ref->tp && a->fp == ref->fp && a->tn == ref->tn &&
         a->fn == ref->fn && d <= LOSS_RTOL;
}

static double grad_max_diff(const float *a, const float *b, size_t n) {
  double m = 0.0;
#pragma omp parallel for schedule(static) reduction(max : m)
  for (size_t i = 0; i < n; ++i) {
    const double d = fabs((double)a[i] - (double)b[i]);
    if (d > m || d != d)
      m = d != d ? INFINITY : d;
  }
  return m;
}

/* ------------------------------------------------------------------ */
/* Command line                                                        */
/* ------------------------------------------------------------------ */

static void usage(FILE *f) {
  fprintf(f, "usage: bench_binary [--sizes N[,N...]] [--reps R] [--csv PATH]\n"
             "                    [--device SPEC]\n"
             "  --sizes   sample counts, e.g. 1e6,1e7,1e8 (default)\n"
             "  --reps    timed repetitions per variant and size, median "
             "reported (default 5)\n"
             "  --csv     also write the results table as CSV to PATH\n"
             "  --device  clmetrics device: index or substring of \"platform "
             "device\"\n"
             "            (default: $CLMETRICS_DEVICE, else first GPU, else "
             "first device)\n"
             "Threads of the OpenMP baselines: OMP_NUM_THREADS (default: all "
             "cores).\n");
}

int main(int argc, char **argv) {
  bc_omp_passive(argc, argv);
  uint64_t sizes[32] = {1000000, 10000000, 100000000};
  int n_sizes = 3;
  int reps = 5;
  const char *csv_path = NULL;
  const char *device = NULL;

  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    const int has_val = i + 1 < argc;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--sizes") && has_val) {
      n_sizes = bc_parse_sizes(argv[++i], sizes, 32);
      if (n_sizes <= 0) {
        fprintf(stderr, "bench_binary: bad --sizes '%s'\n", argv[i]);
        return 2;
      }
    } else if (!strcmp(a, "--reps") && has_val) {
      char *end;
      long r = strtol(argv[++i], &end, 10);
      if (*end || r < 1 || r > 1000) {
        fprintf(stderr, "bench_binary: bad --reps '%s'\n", argv[i]);
        return 2;
      }
      reps = (int)r;
    } else if (!strcmp(a, "--csv") && has_val) {
      csv_path = argv[++i];
    } else if (!strcmp(a, "--device") && has_val) {
      device = argv[++i];
    } else {
      fprintf(stderr, "bench_binary: unknown or incomplete option '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }

  /* Is the machine quiet? Load average, then 0.5 s of /proc/stat while this
   * process sleeps. */
  bc_quiet quiet;
  bc_quiet_probe(&quiet);
  const int ncpu = quiet.ncpu;

  clm_context_options opts;
  clm_context_options_init(&opts);
  opts.device = device;
  clm_error err;
  clm_status st = clm_context_create(&opts, &g_ctx, &err);
  if (st != CLM_OK)
    die_clm("clm_context_create", st, &err);
  const clm_device_info *dev = clm_context_device(g_ctx);
  const int threads = omp_get_max_threads();

  uint64_t max_n = 0;
  for (int s = 0; s < n_sizes; ++s)
    if (sizes[s] > max_n)
      max_n = sizes[s];
  uint8_t *labels = malloc(max_n);
  float *scores = malloc(max_n * sizeof(float));
  float *grad_ref = malloc(max_n * sizeof(float));
  float *grad_work = malloc(max_n * sizeof(float));
  if (!labels || !scores || !grad_ref || !grad_work) {
    fprintf(stderr, "bench_binary: cannot allocate %.2f GB for N = %llu\n",
            13.0 * (double)max_n / 1e9, (unsigned long long)max_n);
    return 1;
  }
  double t = bc_now_s();
  generate(labels, scores, grad_ref, grad_work, max_n);
  const double gen_s = bc_now_s() - t;

  printf("# clmetrics %s bench_binary: binary evaluation of logits "
         "(loss, counts, per-sample gradient)\n",
         clm_version_string());
  printf("# device: %s / %s (%s, %s, %u compute units); context start-up "
         "%.3f s\n",
         dev->platform, dev->name, dev->type, dev->version, dev->compute_units,
         clm_context_startup_seconds(g_ctx));
  printf("# kernel build options: %s\n", clm_context_build_options(g_ctx));
  printf("# baselines: OpenMP threads %d of %d online CPUs (OMP_WAIT_POLICY "
         "%s); plain flags '%s', "
         "fast flags '%s', arch %s\n",
         threads, ncpu, bc_omp_policy(), bl_flags_plain, bl_flags_fast,
         BENCH_BASELINE_ARCH);
  bc_quiet_print(&quiet);
  printf("# data: seed 0x%llx, 30%% positives, logits +-1.2 + N(0,1)-like "
         "noise, generated in %.2f s; %d reps, median; %g bytes/sample\n",
         (unsigned long long)BENCH_SEED, gen_s, reps, BYTES_PER_SAMPLE);
  printf("# ratio = clmetrics samples/s / variant samples/s (>1: clmetrics "
         "faster); check: counts equal, |loss rel diff| <= %g, max "
         "|grad diff| <= %g\n",
         LOSS_RTOL, GRAD_ATOL);
  printf("%-20s %11s %10s %11s %8s %7s %10s %9s %s\n", "variant", "N",
         "median_s", "Msamples/s", "GB/s", "ratio", "max|dgrad|", "loss_rel",
         "check");
  fflush(stdout);

  bc_meter meter;
  bc_meter_start(&meter);

  row *rows = calloc((size_t)n_sizes * N_VARIANTS, sizeof(row));
  double *times = malloc((size_t)N_VARIANTS * reps * sizeof(double));
  if (!rows || !times)
    return 1;
  int n_rows = 0, any_mismatch = 0;

  for (int s = 0; s < n_sizes; ++s) {
    const size_t n = (size_t)sizes[s];
    bl_result ref, res;
    row *r = rows + n_rows;
    memset(r, 0, N_VARIANTS * sizeof(row));

    /* Warm-up run of each variant, which also checks its answer and its
     * gradient array against clmetrics'. */
    for (int v = 0; v < N_VARIANTS; ++v) {
      r[v].variant = VARIANTS[v].name;
      r[v].n = n;
      r[v].ok = 1;
      if (v == 0) {
        VARIANTS[v].fn(labels, scores, n, grad_ref, &ref);
        continue;
      }
      VARIANTS[v].fn(labels, scores, n, grad_work, &res);
      r[v].ok = same_answer(&res, &ref, &r[v].loss_reldiff);
      r[v].grad_maxdiff = grad_max_diff(grad_work, grad_ref, n);
      if (!(r[v].grad_maxdiff <= GRAD_ATOL))
        r[v].ok = 0;
      if (!r[v].ok)
        fprintf(stderr,
                "bench_binary: %s N=%zu disagrees with clmetrics: "
                "tp/fp/tn/fn %llu/%llu/%llu/%llu vs %llu/%llu/%llu/%llu, "
                "loss %.17g vs %.17g, max |grad diff| %g\n",
                VARIANTS[v].name, n, (unsigned long long)res.tp,
                (unsigned long long)res.fp, (unsigned long long)res.tn,
                (unsigned long long)res.fn, (unsigned long long)ref.tp,
                (unsigned long long)ref.fp, (unsigned long long)ref.tn,
                (unsigned long long)ref.fn, res.loss_sum, ref.loss_sum,
                r[v].grad_maxdiff);
    }

    /* Timed runs, interleaved so that background load spreads evenly. */
    for (int k = 0; k < reps; ++k) {
      for (int v = 0; v < N_VARIANTS; ++v) {
        float *g = v == 0 ? grad_ref : grad_work;
        const double t0 = bc_now_s();
        VARIANTS[v].fn(labels, scores, n, g, &res);
        times[v * reps + k] = bc_now_s() - t0;
        if (!same_answer(&res, &ref, &r[v].loss_reldiff) && v > 0)
          r[v].ok = 0;
      }
    }

    for (int v = 0; v < N_VARIANTS; ++v) {
      r[v].median_s = bc_median(times + v * reps, reps);
      r[v].msamples_s = (double)n / r[v].median_s / 1e6;
      r[v].gb_s = (double)n * BYTES_PER_SAMPLE / r[v].median_s / 1e9;
    }
    for (int v = 0; v < N_VARIANTS; ++v) {
      r[v].ratio = r[v].median_s / r[0].median_s;
      any_mismatch |= !r[v].ok;
      printf("%-20s %11llu %10.5f %11.1f %8.2f %7.2f %10.2e %9.2e %s\n",
             r[v].variant, (unsigned long long)n, r[v].median_s,
             r[v].msamples_s, r[v].gb_s, r[v].ratio, r[v].grad_maxdiff,
             r[v].loss_reldiff,
             v == 0    ? "ref"
             : r[v].ok ? "ok"
                       : "MISMATCH");
    }
    fflush(stdout);
    n_rows += N_VARIANTS;
  }

  /* Whatever else ran on the machine while we measured. */
  bc_meter_print(&meter);

  if (csv_path) {
    FILE *f = fopen(csv_path, "w");
    if (!f) {
      fprintf(stderr, "bench_binary: cannot write %s: %s\n", csv_path,
              strerror(errno));
      return 1;
    }
    fprintf(f, "variant,n,median_s,msamples_per_s,gb_per_s,ratio_clm_over_"
               "variant,max_abs_grad_diff,loss_rel_diff,check,device,omp_"
               "threads,reps\n");
    for (int i = 0; i < n_rows; ++i) {
      const row *r = rows + i;
      /* Device names may hold commas; quote, doubling any quote. */
      char name[300];
      bc_csv_quote(dev->name, name, sizeof name);
      fprintf(f, "%s,%llu,%.6g,%.6g,%.6g,%.4f,%.3g,%.3g,%s,%s,%d,%d\n",
              r->variant, (unsigned long long)r->n, r->median_s, r->msamples_s,
              r->gb_s, r->ratio, r->grad_maxdiff, r->loss_reldiff,
              i % N_VARIANTS == 0 ? "ref"
              : r->ok             ? "ok"
                                  : "MISMATCH",
              name, threads, reps);
    }
    if (fclose(f) != 0) {
      fprintf(stderr, "bench_binary: cannot write %s\n", csv_path);
      return 1;
    }
  }

  free(times);
  free(rows);
  free(grad_work);
  free(grad_ref);
  free(scores);
  free(labels);
  clm_context_free(g_ctx);
  return any_mismatch ? 3 : 0;
}
