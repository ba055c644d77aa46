/* bench_multilabel: clmetrics' multilabel pass against OpenMP C loops and
 * against the binary pass on the same cells.
 *
 * For each shape N x L: uint8 labels (per-label prevalence between 1 % and
 * 19 %) and float32 logits (+-1.2 plus unit-variance noise), generated in
 * memory from a fixed counter-based seed (cell r * L + l depends on nothing
 * else, so batches and thread counts do not change the data). Times the
 * median of R repetitions of clm_multilabel_update (with and without label
 * ranking), clm_binary_update on the N * L flattened cells, and the OpenMP
 * loops of baselines_multilabel.c (plain -O3 and -ffast-math). When the
 * matrix does not fit in the memory available (or with --batch-rows), it
 * is generated and evaluated in row batches on reused buffers, every
 * variant accumulating across batches (clmetrics: one
 * clm_multilabel_update per batch into the same state); generation is not
 * timed. Every result is checked against an untimed oracle run of the
 * IEEE OpenMP loop with ranking; a mismatch stops the program (exit 3).
 * See README.md. */
#include "baselines.h"
#include "baselines_multilabel.h"
#include "bench_common.h"
#include "reference.h"

#include <clmetrics.h>

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_SEED 0x5eed2025ull
#define BYTES_PER_CELL 5.0 /* 4 B logit + 1 B label read */
#define LOSS_RTOL 1e-5     /* float32 Kahan slices vs double */
#define LRAP_RTOL 1e-5     /* the kernel sums a row's LRAP terms in float */
#define ROW_RTOL 1e-9      /* double sums of row ratios, other order */
#define MAX_SHAPES 16

#ifndef BENCH_BASELINE_ARCH
#define BENCH_BASELINE_ARCH "generic"
#endif

/* ------------------------------------------------------------------ */
/* Data                                                                */
/* ------------------------------------------------------------------ */

/* Positive rate of label l: 1 % .. 19 %, spread by the golden ratio. */
static uint64_t pos_cut(uint32_t l) {
  const double f = fmod((double)l * 0.6180339887498949, 1.0);
  return (uint64_t)((0.01 + 0.18 * f) * 16777216.0);
}

/* Rows [r0, r0 + rows) of the N x L matrix into labels/scores. */
static void generate(uint8_t *labels, float *scores, uint64_t r0, size_t rows,
                     uint32_t L, const uint64_t *cut) {
#pragma omp parallel for schedule(static)
  for (size_t r = 0; r < rows; ++r) {
    for (uint32_t l = 0; l < L; ++l) {
      const uint64_t flat = (r0 + r) * L + l;
      const uint64_t h = clm_rng_splitmix64(BENCH_SEED ^ (flat << 1));
      const int y = (h & 0xffffff) < cut[l];
      double u = 0.0; /* four 10-bit uniforms, unit variance */
      for (int k = 0; k < 4; ++k)
        u += ((double)((h >> (24 + 10 * k)) & 1023) + 0.5) / 1024.0;
      labels[r * L + l] = (uint8_t)y;
      scores[r * L + l] =
          (float)((y ? 1.2 : -1.2) + (u - 2.0) * 1.7320508075688772);
    }
  }
}

/* MemAvailable from /proc/meminfo, bytes; 0 when unknown. */
static uint64_t mem_available(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f)
    return 0;
  char line[256];
  unsigned long long kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
      break;
  fclose(f);
  return (uint64_t)kb * 1024;
}

/* ------------------------------------------------------------------ */
/* One answer, whoever computed it                                     */
/* ------------------------------------------------------------------ */

/* Everything compared. Binary variants fill only the totals. */
typedef struct answer {
  int kind; /* ANS_ML, ANS_ML_RANK, ANS_BINARY */
  bl_ml_result ml;
  uint64_t tot_tp, tot_fp, tot_fn;
  double tot_loss;
} answer;
enum { ANS_ML, ANS_ML_RANK, ANS_BINARY };

static int answer_alloc(answer *a, uint32_t L) {
  memset(a, 0, sizeof *a);
  a->ml.L = L;
  a->ml.tp = calloc(L, sizeof(uint64_t));
  a->ml.fp = calloc(L, sizeof(uint64_t));
  a->ml.fn = calloc(L, sizeof(uint64_t));
  a->ml.loss = calloc(L, sizeof(double));
  return a->ml.tp && a->ml.fp && a->ml.fn && a->ml.loss;
}

static void answer_free(answer *a) {
  free(a->ml.tp);
  free(a->ml.fp);
  free(a->ml.fn);
  free(a->ml.loss);
}

/* Zeroes the accumulators, keeps the arrays. */
static void answer_zero(answer *a, int kind) {
  bl_ml_result m = a->ml;
  memset(&a->ml, 0, sizeof a->ml);
  a->ml.L = m.L;
  a->ml.tp = m.tp;
  a->ml.fp = m.fp;
  a->ml.fn = m.fn;
  a->ml.loss = m.loss;
  memset(m.tp, 0, m.L * sizeof *m.tp);
  memset(m.fp, 0, m.L * sizeof *m.fp);
  memset(m.fn, 0, m.L * sizeof *m.fn);
  memset(m.loss, 0, m.L * sizeof *m.loss);
  a->kind = kind;
  a->tot_tp = a->tot_fp = a->tot_fn = 0;
  a->tot_loss = 0.0;
}

static void answer_totals(answer *a) {
  if (a->kind == ANS_BINARY)
    return;
  a->tot_tp = a->tot_fp = a->tot_fn = 0;
  a->tot_loss = 0.0;
  for (uint32_t l = 0; l < a->ml.L; ++l) {
    a->tot_tp += a->ml.tp[l];
    a->tot_fp += a->ml.fp[l];
    a->tot_fn += a->ml.fn[l];
    a->tot_loss += a->ml.loss[l];
  }
}

static double rel(double a, double b) {
  return a == b ? 0.0 : fabs(a - b) / fmax(fabs(b), 1e-300);
}

/* Compares `a` with the oracle; returns 1 when they agree, else prints the
 * first difference to stderr. *loss_rel gets the largest relative loss
 * difference (per label, or of the total for binary variants). */
static int same_answer(const char *variant, const answer *a, const answer *o,
                       double *loss_rel) {
  char why[256] = "";
  double lr = rel(a->tot_loss, o->tot_loss);
  if (a->tot_tp != o->tot_tp || a->tot_fp != o->tot_fp ||
      a->tot_fn != o->tot_fn)
    snprintf(why, sizeof why, "total tp/fp/fn %llu/%llu/%llu vs %llu/%llu/%llu",
             (unsigned long long)a->tot_tp, (unsigned long long)a->tot_fp,
             (unsigned long long)a->tot_fn, (unsigned long long)o->tot_tp,
             (unsigned long long)o->tot_fp, (unsigned long long)o->tot_fn);
  if (a->kind != ANS_BINARY) {
    const bl_ml_result *x = &a->ml, *y = &o->ml;
    for (uint32_t l = 0; l < x->L && !why[0]; ++l) {
      if (x->tp[l] != y->tp[l] || x->fp[l] != y->fp[l] || x->fn[l] != y->fn[l])
        snprintf(why, sizeof why,
                 "label %u: tp/fp/fn %llu/%llu/%llu vs "
                 "%llu/%llu/%llu",
                 (unsigned)l, (unsigned long long)x->tp[l],
                 (unsigned long long)x->fp[l], (unsigned long long)x->fn[l],
                 (unsigned long long)y->tp[l], (unsigned long long)y->fp[l],
                 (unsigned long long)y->fn[l]);
      const double d = rel(x->loss[l], y->loss[l]);
      lr = d > lr ? d : lr;
    }
    if (!why[0] &&
        (x->n != y->n || x->exact != y->exact || x->diff != y->diff ||
         x->prec_undef != y->prec_undef || x->rec_undef != y->rec_undef ||
         x->f1_undef != y->f1_undef || x->jac_undef != y->jac_undef))
      snprintf(why, sizeof why,
               "rows %llu/%llu, exact %llu/%llu, wrong cells "
               "%llu/%llu or an undefined-row count differ",
               (unsigned long long)x->n, (unsigned long long)y->n,
               (unsigned long long)x->exact, (unsigned long long)y->exact,
               (unsigned long long)x->diff, (unsigned long long)y->diff);
    if (!why[0] && (rel(x->prec_sum, y->prec_sum) > ROW_RTOL ||
                    rel(x->rec_sum, y->rec_sum) > ROW_RTOL ||
                    rel(x->f1_sum, y->f1_sum) > ROW_RTOL ||
                    rel(x->jac_sum, y->jac_sum) > ROW_RTOL))
      snprintf(why, sizeof why,
               "samples sums P %.17g/%.17g R %.17g/%.17g "
               "F1 %.17g/%.17g",
               x->prec_sum, y->prec_sum, x->rec_sum, y->rec_sum, x->f1_sum,
               y->f1_sum);
    if (!why[0] && a->kind == ANS_ML_RANK &&
        (x->coverage_sum != y->coverage_sum ||
         rel(x->rank_loss_sum, y->rank_loss_sum) > ROW_RTOL ||
         rel(x->lrap_sum, y->lrap_sum) > LRAP_RTOL))
      snprintf(why, sizeof why,
               "ranking: coverage %llu/%llu, ranking loss "
               "%.17g/%.17g, LRAP %.17g/%.17g",
               (unsigned long long)x->coverage_sum,
               (unsigned long long)y->coverage_sum, x->rank_loss_sum,
               y->rank_loss_sum, x->lrap_sum, y->lrap_sum);
  }
  if (!why[0] && !(lr <= LOSS_RTOL))
    snprintf(why, sizeof why, "loss relative difference %.3g", lr);
  if (loss_rel && lr > *loss_rel)
    *loss_rel = lr;
  if (why[0])
    fprintf(stderr,
            "bench_multilabel: %s disagrees with the OpenMP oracle: "
            "%s\n",
            variant, why);
  return !why[0];
}

/* ------------------------------------------------------------------ */
/* Variants                                                            */
/* ------------------------------------------------------------------ */

static clm_context *g_ctx;

static void die_clm(const char *what, clm_status st, const clm_error *err) {
  fprintf(stderr, "bench_multilabel: %s failed: %s%s%s\n", what,
          clm_status_str(st), err && err->message[0] ? ": " : "",
          err ? err->message : "");
  exit(1);
}

/* A variant's per-shape context: clmetrics keeps its state across the
 * batches of one run. */
typedef struct vctx {
  clm_multilabel_state ml;
  clm_binary_state bin;
  int have_ml, have_bin;
} vctx;

typedef struct variant {
  const char *name;
  int kind; /* of its answer */
  int clm;  /* 0: C loop; 1: clm_multilabel_update; 2: clm_binary_update */
  int rank; /* label ranking */
  int (*ml_fn)(const uint8_t *, const float *, size_t, uint32_t, int,
               bl_ml_result *);
  void (*bin_fn)(const uint8_t *, const float *, size_t, bl_result *);
} variant;

static const variant VARIANTS[] = {
    {"clmetrics", ANS_ML, 1, 0, NULL, NULL},
    {"clmetrics+rank", ANS_ML_RANK, 1, 1, NULL, NULL},
    {"clm-binary-pass", ANS_BINARY, 2, 0, NULL, NULL},
    {"c-O3-openmp", ANS_ML, 0, 0, bl_ml_omp_plain, NULL},
    {"c-fastmath-openmp", ANS_ML, 0, 0, bl_ml_omp_fast, NULL},
    {"c-fastmath-openmp+rank", ANS_ML_RANK, 0, 1, bl_ml_omp_fast, NULL},
    {"c-binary-fastmath-openmp", ANS_BINARY, 0, 0, NULL,
     bl_binary_omp_nograd_fast},
};
enum { N_VARIANTS = sizeof VARIANTS / sizeof VARIANTS[0] };
enum { V_CLM = 0, V_CLM_RANK = 1, V_CLM_BIN = 2 };

static void run_begin(const variant *v, vctx *c, uint32_t L, answer *a) {
  answer_zero(a, v->kind);
  clm_status st = CLM_OK;
  if (v->clm == 1) {
    clm_multilabel_options o;
    clm_multilabel_options_init(&o);
    o.n_labels = L;
    o.label_ranking = v->rank;
    st = clm_multilabel_state_init(&c->ml, &o);
    if (st != CLM_OK)
      die_clm("clm_multilabel_state_init", st, NULL);
    c->have_ml = 1;
  } else if (v->clm == 2) {
    st = clm_binary_state_init(&c->bin, CLM_SCORES_LOGITS, 0.5, 0);
    if (st != CLM_OK)
      die_clm("clm_binary_state_init", st, NULL);
    c->have_bin = 1;
  }
}

/* One batch of `rows` rows starting at row r0. */
static void run_batch(const variant *v, vctx *c, const uint8_t *labels,
                      const float *scores, uint64_t r0, size_t rows, uint32_t L,
                      answer *a) {
  clm_error err;
  clm_status st;
  const size_t cells = rows * (size_t)L;
  if (v->clm == 1) {
    st = clm_multilabel_update(g_ctx, &c->ml, r0, labels, scores, NULL, rows,
                               NULL, &err);
    if (st != CLM_OK)
      die_clm("clm_multilabel_update", st, &err);
  } else if (v->clm == 2) {
    st = clm_binary_update_at(g_ctx, &c->bin, r0 * L, labels, scores, cells,
                              NULL, NULL, &err);
    if (st != CLM_OK)
      die_clm("clm_binary_update", st, &err);
  } else if (v->ml_fn) {
    if (v->ml_fn(labels, scores, rows, L, v->rank, &a->ml) != BL_ML_OK) {
      fprintf(stderr, "bench_multilabel: %s: out of memory\n", v->name);
      exit(1);
    }
  } else {
    bl_result b;
    v->bin_fn(labels, scores, cells, &b);
    a->tot_tp += b.tp;
    a->tot_fp += b.fp;
    a->tot_fn += b.fn;
    a->tot_loss += b.loss_sum;
  }
}

/* Copies clmetrics' state into the answer and frees the state. */
static void run_end(const variant *v, vctx *c, answer *a) {
  if (c->have_ml) {
    const clm_multilabel_state *s = &c->ml;
    bl_ml_result *m = &a->ml;
    for (uint32_t l = 0; l < m->L; ++l) {
      m->tp[l] = s->tp[l];
      m->fp[l] = s->fp[l];
      m->fn[l] = s->fn[l];
      m->loss[l] = s->loss_sum[l];
    }
    /* Unweighted: the row weights are 1, so these sums are exact counts. */
    m->n = s->n;
    m->exact = (uint64_t)s->exact_w;
    m->diff = (uint64_t)s->diff_w;
    m->prec_sum = s->prec_sum;
    m->rec_sum = s->rec_sum;
    m->f1_sum = s->f1_sum;
    m->jac_sum = s->jac_sum;
    m->prec_undef = (uint64_t)s->prec_undef_w;
    m->rec_undef = (uint64_t)s->rec_undef_w;
    m->f1_undef = (uint64_t)s->f1_undef_w;
    m->jac_undef = (uint64_t)s->jac_undef_w;
    m->coverage_sum = (uint64_t)s->coverage_sum;
    m->lrap_sum = s->lrap_sum;
    m->rank_loss_sum = s->rank_loss_sum;
    clm_multilabel_state_release(&c->ml);
    c->have_ml = 0;
  }
  if (c->have_bin) {
    a->tot_tp = c->bin.tp;
    a->tot_fp = c->bin.fp;
    a->tot_fn = c->bin.fn;
    a->tot_loss = c->bin.bce_sum;
    clm_binary_state_release(&c->bin);
    c->have_bin = 0;
  }
  (void)v;
  answer_totals(a);
}

/* ------------------------------------------------------------------ */
/* Command line                                                        */
/* ------------------------------------------------------------------ */

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench_multilabel [--shapes NxL[,NxL...]] [--reps R]\n"
          "                        [--variants NAME[,NAME...]] [--batch-rows "
          "R]\n"
          "                        [--csv PATH] [--device SPEC]\n"
          "  --shapes      rows x labels (default "
          "1e5x1000,1e6x100,1e7x10,1e6x1000)\n"
          "  --reps        timed repetitions, median reported (default 3)\n"
          "  --variants    run only these (the oracle check always runs); "
          "names:\n"
          "               ");
  for (int v = 0; v < N_VARIANTS; ++v)
    fprintf(f, " %s", VARIANTS[v].name);
  fprintf(f, "\n"
             "  --batch-rows  evaluate in batches of R rows on reused buffers\n"
             "                (default: whole matrix if it fits in 60 %% of "
             "MemAvailable)\n"
             "  --csv         also write the results table as CSV to PATH\n"
             "  --device      clmetrics device: index or substring\n"
             "OpenMP threads: OMP_NUM_THREADS (default: all cores).\n");
}

/* "1e5x1000" -> rows, labels. */
static int parse_shapes(const char *s, uint64_t *rows, uint32_t *labels,
                        int cap) {
  int n = 0;
  const char *p = s;
  while (*p) {
    char *end;
    const double r = strtod(p, &end);
    if (end == p || (*end != 'x' && *end != 'X') || n >= cap)
      return -1;
    p = end + 1;
    const double l = strtod(p, &end);
    if (end == p || (*end && *end != ','))
      return -1;
    if (r < 1 || r > 1e12 || r != floor(r) || l < 1 || l > 1e6 || l != floor(l))
      return -1;
    rows[n] = (uint64_t)r;
    labels[n] = (uint32_t)l;
    ++n;
    p = *end ? end + 1 : end;
  }
  return n;
}

typedef struct row {
  const char *variant;
  uint64_t n;
  uint32_t L;
  double median_s, mcells_s, gb_s, ratio, vs_binary, loss_rel;
  double cpu_ns; /* median process CPU time per cell, all threads */
  int ran;
} row;

int main(int argc, char **argv) {
  bc_omp_passive(argc, argv);
  uint64_t shape_n[MAX_SHAPES] = {100000, 1000000, 10000000, 1000000};
  uint32_t shape_l[MAX_SHAPES] = {1000, 100, 10, 1000};
  int n_shapes = 4, reps = 3;
  uint64_t batch_rows_opt = 0;
  const char *csv_path = NULL, *device = NULL;
  int enabled[N_VARIANTS];
  for (int v = 0; v < N_VARIANTS; ++v)
    enabled[v] = 1;

  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    const int has_val = i + 1 < argc;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--shapes") && has_val) {
      n_shapes = parse_shapes(argv[++i], shape_n, shape_l, MAX_SHAPES);
      if (n_shapes <= 0) {
        fprintf(stderr, "bench_multilabel: bad --shapes '%s'\n", argv[i]);
        return 2;
      }
    } else if (!strcmp(a, "--reps") && has_val) {
      char *end;
      const long r = strtol(argv[++i], &end, 10);
      if (*end || r < 1 || r > 1000) {
        fprintf(stderr, "bench_multilabel: bad --reps '%s'\n", argv[i]);
        return 2;
      }
      reps = (int)r;
    } else if (!strcmp(a, "--batch-rows") && has_val) {
      uint64_t b[1];
      if (bc_parse_sizes(argv[++i], b, 1) != 1) {
        fprintf(stderr, "bench_multilabel: bad --batch-rows '%s'\n", argv[i]);
        return 2;
      }
      batch_rows_opt = b[0];
    } else if (!strcmp(a, "--variants") && has_val) {
      const char *list = argv[++i];
      for (int v = 0; v < N_VARIANTS; ++v) {
        const size_t len = strlen(VARIANTS[v].name);
        enabled[v] = 0;
        for (const char *p = list; *p;) {
          const char *c = strchr(p, ',');
          const size_t k = c ? (size_t)(c - p) : strlen(p);
          if (k == len && !strncmp(p, VARIANTS[v].name, k))
            enabled[v] = 1;
          p += k + (c ? 1 : 0);
        }
      }
    } else if (!strcmp(a, "--csv") && has_val) {
      csv_path = argv[++i];
    } else if (!strcmp(a, "--device") && has_val) {
      device = argv[++i];
    } else {
      fprintf(stderr, "bench_multilabel: unknown or incomplete option '%s'\n",
              a);
      usage(stderr);
      return 2;
    }
  }

  bc_quiet quiet;
  bc_quiet_probe(&quiet);

  clm_context_options opts;
  clm_context_options_init(&opts);
  opts.device = device;
  clm_error err;
  clm_status st = clm_context_create(&opts, &g_ctx, &err);
  if (st != CLM_OK)
    die_clm("clm_context_create", st, &err);
  const clm_device_info *dev = clm_context_device(g_ctx);
  const int threads = omp_get_max_threads();

  /* Buffers: the largest shape, or batches of it when it does not fit. */
  uint64_t max_cells = 0;
  uint32_t max_l = 1;
  for (int s = 0; s < n_shapes; ++s) {
    const uint64_t c = shape_n[s] * shape_l[s];
    max_cells = c > max_cells ? c : max_cells;
    max_l = shape_l[s] > max_l ? shape_l[s] : max_l;
  }
  const uint64_t avail = mem_available();
  uint64_t buf_cells = max_cells;
  if (batch_rows_opt)
    buf_cells =
        batch_rows_opt * max_l < max_cells ? batch_rows_opt * max_l : max_cells;
  else if (avail && (double)max_cells * BYTES_PER_CELL > 0.6 * (double)avail)
    buf_cells = (uint64_t)(0.6 * (double)avail / BYTES_PER_CELL / 4);
  if (buf_cells < max_l)
    buf_cells = max_l;
  uint8_t *labels = NULL;
  float *scores = NULL;
  if (posix_memalign((void **)&labels, 4096, buf_cells) != 0 ||
      posix_memalign((void **)&scores, 4096, buf_cells * sizeof(float)) != 0) {
    fprintf(stderr, "bench_multilabel: cannot allocate %.2f GB\n",
            BYTES_PER_CELL * (double)buf_cells / 1e9);
    return 1;
  }

  printf("# clmetrics %s bench_multilabel: clm_multilabel_update on N x L "
         "float32 logits + uint8 labels (threshold 0.5, unweighted, no "
         "gradient)\n",
         clm_version_string());
  printf("# device: %s / %s (%s, %s, %u compute units); context start-up "
         "%.3f s\n",
         dev->platform, dev->name, dev->type, dev->version, dev->compute_units,
         clm_context_startup_seconds(g_ctx));
  printf("# kernel build options: %s\n", clm_context_build_options(g_ctx));
  printf("# baselines: OpenMP threads %d of %d online CPUs (OMP_WAIT_POLICY "
         "%s); plain flags '%s', fast flags '%s', arch %s\n",
         threads, quiet.ncpu, bc_omp_policy(), bl_flags_plain, bl_flags_fast,
         BENCH_BASELINE_ARCH);
  bc_quiet_print(&quiet);
  printf("# memory: MemAvailable %.1f GB; buffers %.2f GB (%s)\n",
         (double)avail / 1e9, BYTES_PER_CELL * (double)buf_cells / 1e9,
         buf_cells >= max_cells ? "every shape whole in memory"
                                : "shapes larger than this run in row "
                                  "batches on these buffers");
  printf("# data: seed 0x%llx; label l positive with rate 1-19 %% (golden-"
         "ratio spread), logits +-1.2 + unit-variance noise; %d reps, median; "
         "%g bytes/cell read\n",
         (unsigned long long)BENCH_SEED, reps, BYTES_PER_CELL);
  printf("# ratio = clmetrics (same ranking setting) cells/s / variant "
         "cells/s (>1: clmetrics faster); vs_bin = variant cells/s / "
         "clm-binary-pass cells/s; every result checked against the IEEE "
         "OpenMP loop with ranking (counts equal, row sums rel <= %g, LRAP "
         "rel <= %g, loss rel <= %g)\n",
         ROW_RTOL, LRAP_RTOL, LOSS_RTOL);
  printf("%-25s %9s %6s %7s %9s %9s %6s %6s %6s %7s %8s %s\n", "variant", "N",
         "L", "batches", "median_s", "Mcells/s", "GB/s", "ratio", "vs_bin",
         "cpu_ns", "loss_rel", "check");
  fflush(stdout);

  bc_meter meter;
  bc_meter_start(&meter);

  row *rows = calloc((size_t)n_shapes * N_VARIANTS, sizeof(row));
  double *times = calloc((size_t)N_VARIANTS * reps, sizeof(double));
  double *cpus = calloc((size_t)N_VARIANTS * reps, sizeof(double));
  answer oracle, ans[N_VARIANTS];
  vctx vc[N_VARIANTS];
  memset(vc, 0, sizeof vc);
  if (!rows || !times || !cpus)
    return 1;
  uint64_t *cut = malloc(max_l * sizeof *cut);
  if (!cut)
    return 1;
  for (uint32_t l = 0; l < max_l; ++l)
    cut[l] = pos_cut(l);
  int n_rows = 0;

  for (int s = 0; s < n_shapes; ++s) {
    const uint64_t N = shape_n[s];
    const uint32_t L = shape_l[s];
    const uint64_t cells = N * L;
    const uint64_t brows = buf_cells / L < N ? buf_cells / L : N;
    const uint64_t nb = (N + brows - 1) / brows;
    if (!answer_alloc(&oracle, L))
      return 1;
    for (int v = 0; v < N_VARIANTS; ++v)
      if (!answer_alloc(&ans[v], L))
        return 1;
    row *r = rows + n_rows;

    /* Runs every enabled variant over all batches (regenerated when there
     * are several); times[v * reps + k] gets the summed batch times. */
    double gen_s = 0.0;
    for (int k = -1; k < reps; ++k) {
      if (k == -1)
        answer_zero(&oracle, ANS_ML_RANK);
      for (int v = 0; v < N_VARIANTS; ++v)
        if (enabled[v])
          run_begin(&VARIANTS[v], &vc[v], L, &ans[v]);
      double tv[N_VARIANTS] = {0}, cv[N_VARIANTS] = {0};
      for (uint64_t b = 0; b < nb; ++b) {
        const uint64_t r0 = b * brows;
        const size_t nr = (size_t)(N - r0 < brows ? N - r0 : brows);
        if (nb > 1 || k == -1) {
          const double t0 = bc_now_s();
          generate(labels, scores, r0, nr, L, cut);
          gen_s += bc_now_s() - t0;
        }
        if (k == -1) /* the oracle: IEEE loop with ranking, untimed */
          bl_ml_omp_plain(labels, scores, nr, L, 1, &oracle.ml);
        for (int v = 0; v < N_VARIANTS; ++v) {
          if (!enabled[v])
            continue;
          const double c0 = bc_own_cpu_s(), t0 = bc_now_s();
          run_batch(&VARIANTS[v], &vc[v], labels, scores, r0, nr, L, &ans[v]);
          tv[v] += bc_now_s() - t0;
          cv[v] += bc_own_cpu_s() - c0;
        }
      }
      if (k == -1) {
        oracle.kind = ANS_ML_RANK;
        answer_totals(&oracle);
      }
      int bad = 0;
      for (int v = 0; v < N_VARIANTS; ++v) {
        if (!enabled[v])
          continue;
        run_end(&VARIANTS[v], &vc[v], &ans[v]);
        if (k == -1) {
          r[v].loss_rel = 0.0;
          r[v].ran = 1;
        }
        if (!same_answer(VARIANTS[v].name, &ans[v], &oracle, &r[v].loss_rel))
          bad = 1;
        if (k >= 0) {
          times[v * reps + k] = tv[v];
          cpus[v * reps + k] = cv[v];
        }
      }
      if (bad) {
        fprintf(stderr,
                "bench_multilabel: stopping at N = %llu, L = %u (%s "
                "run)\n",
                (unsigned long long)N, (unsigned)L,
                k < 0 ? "warm-up" : "timed");
        return 3;
      }
    }

    for (int v = 0; v < N_VARIANTS; ++v) {
      r[v].variant = VARIANTS[v].name;
      r[v].n = N;
      r[v].L = L;
      if (!enabled[v])
        continue;
      r[v].median_s = bc_median(times + v * reps, reps);
      r[v].cpu_ns = bc_median(cpus + v * reps, reps) / (double)cells * 1e9;
      r[v].mcells_s = (double)cells / r[v].median_s / 1e6;
      r[v].gb_s = (double)cells * BYTES_PER_CELL / r[v].median_s / 1e9;
    }
    for (int v = 0; v < N_VARIANTS; ++v) {
      if (!enabled[v])
        continue;
      const int ref = VARIANTS[v].rank ? V_CLM_RANK : V_CLM;
      r[v].ratio = enabled[ref] ? r[v].median_s / r[ref].median_s : NAN;
      r[v].vs_binary =
          enabled[V_CLM_BIN] ? r[V_CLM_BIN].median_s / r[v].median_s : NAN;
      printf("%-25s %9llu %6u %7llu %9.4f %9.1f %6.2f %6.2f %6.2f %7.2f %8.1e "
             "%s\n",
             r[v].variant, (unsigned long long)N, (unsigned)L,
             (unsigned long long)nb, r[v].median_s, r[v].mcells_s, r[v].gb_s,
             r[v].ratio, r[v].vs_binary, r[v].cpu_ns, r[v].loss_rel, "ok");
    }
    printf("# N = %llu, L = %u: data generated in %.2f s (untimed); oracle: "
           "samples F1 %.6f, hamming %.6f, exact %.6f, LRAP %.6f\n",
           (unsigned long long)N, (unsigned)L, gen_s,
           oracle.ml.f1_sum / (double)N, (double)oracle.ml.diff / (double)cells,
           (double)oracle.ml.exact / (double)N, oracle.ml.lrap_sum / (double)N);
    fflush(stdout);
    n_rows += N_VARIANTS;
    answer_free(&oracle);
    for (int v = 0; v < N_VARIANTS; ++v)
      answer_free(&ans[v]);
  }

  bc_meter_print(&meter);

  if (csv_path) {
    FILE *f = fopen(csv_path, "w");
    if (!f) {
      fprintf(stderr, "bench_multilabel: cannot write %s: %s\n", csv_path,
              strerror(errno));
      return 1;
    }
    char name[300];
    bc_csv_quote(dev->name, name, sizeof name);
    fprintf(f, "variant,n,labels,cells,median_s,mcells_per_s,gb_per_s,ratio_"
               "clm_over_variant,vs_binary_pass,cpu_ns_per_cell,loss_rel_diff,"
               "device,omp_threads,reps\n");
    for (int i = 0; i < n_rows; ++i) {
      const row *x = rows + i;
      if (!x->ran)
        continue;
      fprintf(
          f, "%s,%llu,%u,%llu,%.6g,%.6g,%.6g,%.4f,%.4f,%.4g,%.3g,%s,%d,%d\n",
          x->variant, (unsigned long long)x->n, (unsigned)x->L,
          (unsigned long long)x->n * x->L, x->median_s, x->mcells_s, x->gb_s,
          x->ratio, x->vs_binary, x->cpu_ns, x->loss_rel, name, threads, reps);
    }
    if (fclose(f) != 0) {
      fprintf(stderr, "bench_multilabel: cannot write %s\n", csv_path);
      return 1;
    }
  }

  free(cut);
  free(cpus);
  free(times);
  free(rows);
  free(scores);
  free(labels);
  clm_context_free(g_ctx);
  return 0;
}
