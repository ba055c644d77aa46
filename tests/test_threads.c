/* One context shared by several threads: concurrent binary and multi-class
 * updates, each thread with its own state, every result exact.
 *
 * Small chunks (65536 samples) make every call span many kernel launches,
 * so that calls from different threads would interleave on the context's
 * shared buffers and kernels if the context did not serialize them. Counts
 * are compared exactly with a CPU reference; loss sums bit for bit with
 * the same call made before the threads start (the same input on the same
 * context gives the same bits), and with the double reference within the
 * float32 per-sample error. */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmetrics.h"
#include "reference.h"

#define CHUNK 65536
#define CALLS 20

static clm_context *ctx;

static void open_ctx(void) {
  clm_context_options o;
  clm_context_options_init(&o);
  o.chunk_samples = CHUNK;
  clm_error err;
  clm_status st = clm_context_create(&o, &ctx, &err);
  if (st == CLM_ERR_NO_PLATFORM || st == CLM_ERR_NO_DEVICE)
    cr_skip_test("no OpenCL device: %s", err.message);
  cr_assert_eq(st, CLM_OK, "context: %s", err.message);
}

static void close_ctx(void) {
  clm_context_free(ctx);
  ctx = NULL;
}

TestSuite(threads, .init = open_ctx, .fini = close_ctx, .timeout = 300);

/* ---------------------------------------------------------------- */
/* Batches and their references                                      */
/* ---------------------------------------------------------------- */

enum kind { BINARY, MC_LABELS, MC_SCORES };

struct batch {
  enum kind kind;
  uint64_t n;
  uint32_t k; /* classes (multi-class) */
  uint8_t *y;
  float *s;         /* binary logits, or n x k multi-class logits */
  int32_t *yt, *yp; /* multi-class labels */
  /* CPU reference: exact counts, double loss and its absolute sum. */
  uint64_t tp, fp, tn, fn, *cm, hits;
  double loss, loss_abs;
  /* The device's loss sums from a call made before any thread ran. */
  double dev_loss, dev_grad;
};

#define TOP_K 2

static void make_binary(struct batch *b, uint64_t n, uint64_t seed) {
  memset(b, 0, sizeof *b);
  b->kind = BINARY;
  b->n = n;
  b->y = malloc(n);
  b->s = malloc(n * sizeof(float));
  cr_assert(b->y && b->s);
  clm_rng rng;
  clm_rng_seed(&rng, seed * 0x9E3779B97F4A7C15ULL + 1);
  for (uint64_t i = 0; i < n; ++i) {
    const uint8_t y = clm_rng_uniform(&rng) < 0.4;
    b->y[i] = y;
    b->s[i] = (float)((clm_rng_uniform(&rng) - 0.5) * 12.0 + (y ? 0.8 : -0.8));
  }
  clm_ref_binary r; /* threshold 0.5: positive iff z > 0 */
  clm_ref_binary_eval(b->y, b->s, n, 0, 0.5, NULL, &r);
  b->tp = r.tp, b->fp = r.fp, b->tn = r.tn, b->fn = r.fn;
  b->loss = r.loss_sum;
  b->loss_abs = r.loss_abs;
}

static void make_mc(struct batch *b, enum kind kind, uint64_t n, uint32_t k,
                    uint64_t seed) {
  memset(b, 0, sizeof *b);
  b->kind = kind;
  b->n = n;
  b->k = k;
  b->yt = malloc(n * sizeof(int32_t));
  b->cm = calloc((size_t)k * k, sizeof(uint64_t));
  cr_assert(b->yt && b->cm);
  clm_rng rng;
  clm_rng_seed(&rng, seed * 0x9E3779B97F4A7C15ULL + 7);
  if (kind == MC_LABELS) {
    b->yp = malloc(n * sizeof(int32_t));
    cr_assert_not_null(b->yp);
    for (uint64_t i = 0; i < n; ++i) {
      b->yt[i] = (int32_t)clm_rng_below(&rng, k);
      b->yp[i] = clm_rng_uniform(&rng) < 0.7 ? b->yt[i]
                                             : (int32_t)clm_rng_below(&rng, k);
    }
    clm_ref_confusion(b->yt, b->yp, n, k, b->cm);
    return;
  }
  b->s = malloc(n * k * sizeof(float));
  cr_assert_not_null(b->s);
  for (uint64_t i = 0; i < n; ++i) {
    const uint32_t t = clm_rng_below(&rng, k);
    b->yt[i] = (int32_t)t;
    float *z = b->s + i * k;
    for (uint32_t c = 0; c < k; ++c)
      z[c] = (float)((clm_rng_uniform(&rng) - 0.5) * 6.0 + (c == t ? 1.0 : 0));
  }
  /* (true, argmax) counts, ties to the lowest class; top-k hits; loss. */
  clm_ref_multiclass r;
  clm_ref_multiclass_eval(b->yt, b->s, n, k, 0, TOP_K, b->cm, &r);
  b->hits = r.top_k_hits;
  b->loss = r.ce_sum;
  b->loss_abs = r.ce_abs;
}

static void free_batch(struct batch *b) {
  free(b->y);
  free(b->s);
  free(b->yt);
  free(b->yp);
  free(b->cm);
}

/* ---------------------------------------------------------------- */
/* One call and its check                                            */
/* ---------------------------------------------------------------- */

/* Runs one update of `b` on the shared context; 0 and the loss sums when
 * it succeeded, else -1 with the reason in `why`. */
static int run_call(const struct batch *b, double *loss, double *grad,
                    char *why, size_t cap) {
  clm_error err;
  clm_status st;
  if (b->kind == BINARY) {
    clm_binary_state s;
    if (clm_binary_state_init(&s, CLM_SCORES_LOGITS, 0.5, 0) != CLM_OK) {
      snprintf(why, cap, "state init failed");
      return -1;
    }
    st = clm_binary_update(ctx, &s, b->y, b->s, b->n, NULL, NULL, &err);
    int bad = st != CLM_OK;
    if (bad)
      snprintf(why, cap, "binary update: %s", err.message);
    else if (s.n != b->n || s.tp != b->tp || s.fp != b->fp || s.tn != b->tn ||
             s.fn != b->fn) {
      snprintf(why, cap,
               "binary n=%llu: tp/fp/tn/fn %llu/%llu/%llu/%llu, reference "
               "%llu/%llu/%llu/%llu",
               (unsigned long long)b->n, (unsigned long long)s.tp,
               (unsigned long long)s.fp, (unsigned long long)s.tn,
               (unsigned long long)s.fn, (unsigned long long)b->tp,
               (unsigned long long)b->fp, (unsigned long long)b->tn,
               (unsigned long long)b->fn);
      bad = 1;
    }
    *loss = s.bce_sum;
    *grad = s.grad_sum;
    clm_binary_state_release(&s);
    return bad ? -1 : 0;
  }
  clm_multiclass_state s;
  if (clm_multiclass_state_init(&s, b->k, TOP_K) != CLM_OK) {
    snprintf(why, cap, "state init failed");
    return -1;
  }
  if (b->kind == MC_LABELS)
    st = clm_multiclass_update_labels(ctx, &s, b->yt, b->yp, b->n, &err);
  else
    st = clm_multiclass_update_scores(ctx, &s, b->yt, b->s, b->n,
                                      CLM_SCORES_LOGITS, NULL, &err);
  int bad = st != CLM_OK;
  if (bad) {
    snprintf(why, cap, "multiclass update: %s", err.message);
  } else {
    uint64_t wrong = 0;
    for (size_t c = 0; c < (size_t)b->k * b->k; ++c)
      wrong += s.confusion[c] != b->cm[c];
    if (wrong || s.n != b->n ||
        (b->kind == MC_SCORES && s.top_k_hits != b->hits)) {
      snprintf(why, cap,
               "multiclass %s n=%llu: %llu wrong confusion cells, n %llu, "
               "top-%d hits %llu (reference %llu)",
               b->kind == MC_LABELS ? "labels" : "scores",
               (unsigned long long)b->n, (unsigned long long)wrong,
               (unsigned long long)s.n, TOP_K, (unsigned long long)s.top_k_hits,
               (unsigned long long)b->hits);
      bad = 1;
    }
  }
  *loss = s.ce_sum;
  *grad = 0;
  clm_multiclass_state_release(&s);
  return bad ? -1 : 0;
}

/* Float32 per-sample terms summed in double: a few float ulps per term. */
static int loss_close(const struct batch *b, double loss) {
  return fabs(loss - b->loss) <= 1e-5 * b->loss_abs + 1e-30;
}

/* ---------------------------------------------------------------- */
/* Threads                                                           */
/* ---------------------------------------------------------------- */

struct worker {
  pthread_t tid;
  const struct batch *pool; /* batches of this worker's kind */
  size_t npool, first;
  int calls, wrong;
  char why[1200];
};

static pthread_barrier_t start_line;

static void *work(void *arg) {
  struct worker *w = arg;
  pthread_barrier_wait(&start_line);
  for (int c = 0; c < w->calls; ++c) {
    const struct batch *b = &w->pool[(w->first + (size_t)c) % w->npool];
    double loss = 0, grad = 0;
    char why[1024];
    int bad = run_call(b, &loss, &grad, why, sizeof why) != 0;
    if (!bad && (memcmp(&loss, &b->dev_loss, sizeof loss) != 0 ||
                 memcmp(&grad, &b->dev_grad, sizeof grad) != 0)) {
      snprintf(why, sizeof why,
               "n=%llu: loss %.17g grad %.17g, the same call alone gave "
               "%.17g %.17g",
               (unsigned long long)b->n, loss, grad, b->dev_loss, b->dev_grad);
      bad = 1;
    }
    if (bad && w->wrong++ == 0)
      snprintf(w->why, sizeof w->why, "call %d: %s", c, why);
  }
  return NULL;
}

/* Each batch once, alone: the device's loss sums to compare the threads'
 * bits with, and every count and loss against the reference. */
static void run_alone(struct batch *pool, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    char why[1024];
    cr_assert_eq(run_call(&pool[i], &pool[i].dev_loss, &pool[i].dev_grad, why,
                          sizeof why),
                 0, "alone: %s", why);
    cr_assert(loss_close(&pool[i], pool[i].dev_loss),
              "alone: n=%llu loss %.17g, reference %.17g",
              (unsigned long long)pool[i].n, pool[i].dev_loss, pool[i].loss);
  }
}

static void run_workers(struct worker *w, size_t nw) {
  cr_assert_eq(pthread_barrier_init(&start_line, NULL, (unsigned)nw), 0);
  for (size_t i = 0; i < nw; ++i)
    cr_assert_eq(pthread_create(&w[i].tid, NULL, work, &w[i]), 0);
  for (size_t i = 0; i < nw; ++i)
    pthread_join(w[i].tid, NULL);
  pthread_barrier_destroy(&start_line);
  int calls = 0, wrong = 0;
  for (size_t i = 0; i < nw; ++i) {
    calls += w[i].calls;
    wrong += w[i].wrong;
    cr_expect_eq(w[i].wrong, 0, "thread %zu: %d of %d calls wrong; first: %s",
                 i, w[i].wrong, w[i].calls, w[i].why);
  }
  cr_assert_eq(wrong, 0, "%d of %d concurrent calls gave wrong results", wrong,
               calls);
}

/* Four threads, 20 binary updates each, 3e5 to 3e6 samples per call. */
Test(threads, binary_updates_share_one_context) {
  static const uint64_t sizes[] = {300007, 524289, 1000003, 1700021, 3000017};
  enum { NB = sizeof sizes / sizeof sizes[0] };
  struct batch pool[NB];
  for (size_t i = 0; i < NB; ++i)
    make_binary(&pool[i], sizes[i], 11 + i);
  run_alone(pool, NB);
  struct worker w[4];
  memset(w, 0, sizeof w);
  for (size_t t = 0; t < 4; ++t) {
    w[t].pool = pool;
    w[t].npool = NB;
    w[t].first = t;
    w[t].calls = CALLS;
  }
  run_workers(w, 4);
  for (size_t i = 0; i < NB; ++i)
    free_batch(&pool[i]);
}

/* Binary, multi-class label and multi-class score updates at once on one
 * context: two binary threads, one of each multi-class kind. */
Test(threads, binary_and_multiclass_updates_share_one_context) {
  struct batch bin[3], lab[3], sco[3];
  static const uint64_t bn[] = {300007, 900001, 2000003};
  static const uint64_t ln[] = {300001, 700003, 1500007};
  static const uint64_t sn[] = {100003, 250007, 400009};
  for (size_t i = 0; i < 3; ++i) {
    make_binary(&bin[i], bn[i], 101 + i);
    make_mc(&lab[i], MC_LABELS, ln[i], 7, 201 + i);
    make_mc(&sco[i], MC_SCORES, sn[i], 5, 301 + i);
  }
  run_alone(bin, 3);
  run_alone(lab, 3);
  run_alone(sco, 3);
  struct worker w[4];
  memset(w, 0, sizeof w);
  const struct batch *pools[4] = {bin, bin, lab, sco};
  for (size_t t = 0; t < 4; ++t) {
    w[t].pool = pools[t];
    w[t].npool = 3;
    w[t].first = t;
    w[t].calls = CALLS;
  }
  run_workers(w, 4);
  for (size_t i = 0; i < 3; ++i) {
    free_batch(&bin[i]);
    free_batch(&lab[i]);
    free_batch(&sco[i]);
  }
}
