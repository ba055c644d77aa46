/* The collective exact ranking (clm_ranking_options.reduce), without MPI:
 * R threads, each with its own context and a part of the rows, call
 * clm_ranking_compute with a reduce hook that sums the participants' counts
 * behind a barrier, as MPI_Allreduce would. Every participant must return
 * the result of one computation over all rows, bit for bit (AUC from exact
 * integers, AP from the same per-key terms in the same order, the same
 * curve points), and a failure on one participant must stop all of them
 * (no hang: a lost reduce would block on the barrier forever). */
#include <criterion/criterion.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmetrics.h"
#include "reference.h"

#define MAX_PARTS 4

/* ---- the simulated communicator ---- */

struct comm {
  unsigned size;
  pthread_barrier_t barrier;
  uint64_t *slot[MAX_PARTS];
  uint64_t len[MAX_PARTS];
  int len_mismatch;
  unsigned calls[MAX_PARTS];
  uint64_t *sum; /* the last sum, written by member 0 */
};

struct member {
  struct comm *comm;
  unsigned rank;
};

static clm_status sum_hook(void *user, uint64_t *counts, uint64_t len,
                           clm_error *err) {
  (void)err;
  struct member *m = user;
  struct comm *c = m->comm;
  c->slot[m->rank] = counts;
  c->len[m->rank] = len;
  c->calls[m->rank]++;
  pthread_barrier_wait(&c->barrier);
  /* Member 0 sums in rank order while the others wait (integers: the
   * order does not matter, but it is fixed anyway). */
  if (m->rank == 0) {
    free(c->sum);
    c->sum = calloc(len ? len : 1, sizeof *c->sum);
    for (unsigned r = 0; r < c->size; ++r) {
      if (c->len[r] != len) {
        c->len_mismatch = 1;
        continue;
      }
      for (uint64_t i = 0; i < len; ++i)
        c->sum[i] += c->slot[r][i];
    }
  }
  pthread_barrier_wait(&c->barrier);
  /* Member 0 rewrites the sum only after the next first barrier, which
   * every member reaches after this copy. */
  if (!c->len_mismatch)
    memcpy(counts, c->sum, len * sizeof *counts);
  return CLM_OK;
}

/* ---- one problem: rows split into parts ---- */

struct problem {
  uint64_t n;
  uint32_t k;
  clm_dtype dtype;
  int softmax, multilabel;
  const void *labels, *scores;
  size_t lsz, ssz; /* bytes of one row */
  clm_ranking_options opts;
  /* Failure injection: participant `fail_rank` fails its read() of the
   * pass numbered fail_pass (1-based; 0: never). */
  int fail_rank, fail_pass;
};

struct part_source {
  const struct problem *p;
  uint64_t first, n;
  int rank;
  int pass_reads; /* read() calls that started at row 0 */
};

static clm_status part_read(void *user, uint64_t first, uint64_t count,
                            const void **labels, const void **scores,
                            clm_error *err) {
  struct part_source *s = user;
  (void)count;
  if (first == 0)
    s->pass_reads++;
  if (s->p->fail_pass && s->rank == s->p->fail_rank &&
      s->pass_reads == s->p->fail_pass) {
    err->status = CLM_ERR_IO;
    err->index = -1;
    snprintf(err->message, sizeof err->message, "part %d: injected failure",
             s->rank);
    return CLM_ERR_IO;
  }
  *labels = (const char *)s->p->labels + (s->first + first) * s->p->lsz;
  *scores = (const char *)s->p->scores + (s->first + first) * s->p->ssz;
  return CLM_OK;
}

struct participant {
  pthread_t tid;
  struct member member;
  struct part_source src;
  clm_ranking_result result;
  clm_status st;
  clm_error err;
  clm_context *ctx; /* its own context, made by the main thread */
};

static void *participant_main(void *arg) {
  struct participant *pt = arg;
  const struct problem *p = pt->src.p;
  const clm_ranking_source source = {&pt->src, pt->src.n,    p->k,
                                     p->dtype, p->softmax,   part_read,
                                     NULL,     p->multilabel};
  clm_ranking_options o = p->opts;
  o.reduce = sum_hook;
  o.reduce_user = &pt->member;
  pt->st = clm_ranking_compute(pt->ctx, &source, &o, &pt->result, &pt->err);
  return NULL;
}

/* Runs the problem as `parts` participants with row counts `sizes`. */
static void run_parts(const struct problem *p, unsigned parts,
                      const uint64_t *sizes, struct participant *pt,
                      struct comm *comm) {
  memset(comm, 0, sizeof *comm);
  comm->size = parts;
  pthread_barrier_init(&comm->barrier, NULL, parts);
  uint64_t first = 0;
  for (unsigned r = 0; r < parts; ++r) {
    memset(&pt[r], 0, sizeof pt[r]);
    pt[r].member = (struct member){comm, r};
    pt[r].src = (struct part_source){p, first, sizes[r], (int)r, 0};
    first += sizes[r];
  }
  cr_assert_eq(first, p->n, "parts must cover the rows");
  /* Contexts are made here, one after the other: a participant without
   * one could not take part in the reduction. */
  for (unsigned r = 0; r < parts; ++r) {
    clm_context_options co;
    clm_context_options_init(&co);
    clm_error err;
    cr_assert_eq(clm_context_create(&co, &pt[r].ctx, &err), CLM_OK, "%s",
                 err.message);
  }
  for (unsigned r = 0; r < parts; ++r)
    cr_assert_eq(pthread_create(&pt[r].tid, NULL, participant_main, &pt[r]), 0);
  for (unsigned r = 0; r < parts; ++r)
    pthread_join(pt[r].tid, NULL);
  for (unsigned r = 0; r < parts; ++r)
    clm_context_free(pt[r].ctx);
  pthread_barrier_destroy(&comm->barrier);
  free(comm->sum);
  comm->sum = NULL;
  cr_assert(!comm->len_mismatch, "participants reduced different lengths");
  for (unsigned r = 1; r < parts; ++r)
    cr_assert_eq(comm->calls[r], comm->calls[0],
                 "participant %u made %u reduce calls, participant 0 %u", r,
                 comm->calls[r], comm->calls[0]);
}

static int same_bits(double a, double b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

/* AP within `ulps` units in the last place (0: the same bits). Summing
 * the same per-key terms after a different split of the key ranges (the
 * collective computation counts ranges it cannot gather in several levels)
 * may round differently. */
static int ap_close(double a, double b, unsigned ulps) {
  if (same_bits(a, b))
    return 1;
  return ulps > 0 && fabs(a - b) <= ulps * 0x1p-52 * fabs(b);
}

static void check_same(const char *what, const clm_ranking_result *got,
                       const clm_ranking_result *want, unsigned ap_ulps) {
  cr_assert_eq(got->n, want->n, "%s: n %llu vs %llu", what,
               (unsigned long long)got->n, (unsigned long long)want->n);
  cr_assert_eq(got->k, want->k);
  cr_assert_eq(got->exact, 1, "%s: collective result not exact", what);
  cr_assert_eq(want->exact, 1);
  for (uint32_t c = 0; c < want->k; ++c) {
    const clm_ranking_class *g = &got->classes[c], *w = &want->classes[c];
    cr_assert_eq(g->positives, w->positives, "%s class %u positives", what, c);
    cr_assert_eq(g->negatives, w->negatives, "%s class %u negatives", what, c);
    cr_assert(same_bits(g->roc_auc, w->roc_auc),
              "%s class %u: ROC-AUC %.17g vs %.17g", what, c, g->roc_auc,
              w->roc_auc);
    cr_assert(ap_close(g->average_precision, w->average_precision, ap_ulps),
              "%s class %u: AP %.17g vs %.17g", what, c, g->average_precision,
              w->average_precision);
    cr_assert_eq(g->distinct, w->distinct, "%s class %u distinct", what, c);
    cr_assert_eq(g->curve_len, w->curve_len,
                 "%s class %u curve points %llu "
                 "vs %llu",
                 what, c, (unsigned long long)g->curve_len,
                 (unsigned long long)w->curve_len);
    for (uint64_t i = 0; i < w->curve_len; ++i) {
      cr_assert(same_bits(g->curve[i].threshold, w->curve[i].threshold) ||
                    (g->curve[i].threshold == 0 && w->curve[i].threshold == 0),
                "%s class %u point %llu threshold", what, c,
                (unsigned long long)i);
      cr_assert_eq(g->curve[i].tp, w->curve[i].tp);
      cr_assert_eq(g->curve[i].fp, w->curve[i].fp);
    }
  }
  if (want->k > 1) {
    cr_assert(same_bits(got->roc_auc_macro, want->roc_auc_macro), "%s macro",
              what);
    cr_assert(ap_close(got->average_precision_weighted,
                       want->average_precision_weighted, ap_ulps),
              "%s AP weighted", what);
  }
}

/* The single computation over all rows, then the problem split several
 * ways (one part empty among them); every participant must match it. */
static void check_problem(const char *what, const struct problem *p,
                          unsigned ap_ulps) {
  clm_context_options co;
  clm_context_options_init(&co);
  clm_context *ctx = NULL;
  clm_error err;
  cr_assert_eq(clm_context_create(&co, &ctx, &err), CLM_OK, "%s", err.message);
  struct part_source whole = {p, 0, p->n, -1, 0};
  const clm_ranking_source src = {&whole,     p->n,      p->k, p->dtype,
                                  p->softmax, part_read, NULL, p->multilabel};
  clm_ranking_result want;
  cr_assert_eq(clm_ranking_compute(ctx, &src, &p->opts, &want, &err), CLM_OK,
               "%s: %s", what, err.message);
  clm_context_free(ctx);
  const uint64_t n = p->n;
  const uint64_t splits[][MAX_PARTS] = {
      {n / 2, n - n / 2, 0, 0},
      {n / 3, 0, n - n / 3, 0},
      {1, n / 4, n / 2, n - 1 - n / 4 - n / 2}};
  const unsigned parts[] = {2, 3, 4};
  for (size_t sp = 0; sp < 3; ++sp) {
    struct participant pt[MAX_PARTS];
    struct comm comm;
    run_parts(p, parts[sp], splits[sp], pt, &comm);
    for (unsigned r = 0; r < parts[sp]; ++r) {
      cr_assert_eq(pt[r].st, CLM_OK, "%s split %zu part %u: %s", what, sp, r,
                   pt[r].err.message);
      char label[128];
      snprintf(label, sizeof label, "%s split %zu part %u", what, sp, r);
      check_same(label, &pt[r].result, &want, ap_ulps);
      clm_ranking_result_release(&pt[r].result);
    }
  }
  clm_ranking_result_release(&want);
}

static clm_rng rng;

static double normal(void) {
  const double u1 = 1.0 - clm_rng_uniform(&rng);
  const double u2 = clm_rng_uniform(&rng);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Binary float32 logits, many ties (rounded to 1/64) and extremes. */
static void binary_f32(uint64_t n, uint64_t budget, uint64_t curve_points,
                       unsigned ap_ulps, const char *what) {
  clm_rng_seed(&rng, 1234 + n);
  uint8_t *y = malloc(n);
  float *z = malloc(n * sizeof *z);
  const float extremes[] = {INFINITY, -INFINITY, 100.0f, -100.0f, 0.0f, -0.0f};
  for (uint64_t i = 0; i < n; ++i) {
    y[i] = clm_rng_uniform(&rng) < 0.3;
    const double v = normal() + (y[i] ? 1.0 : 0.0);
    z[i] = i % 97 == 5  ? extremes[i % 6]
           : i % 3 == 0 ? (float)(round(v * 64) / 64)
                        : (float)v;
  }
  struct problem p = {.n = n,
                      .k = 1,
                      .dtype = CLM_DTYPE_F32,
                      .labels = y,
                      .scores = z,
                      .lsz = 1,
                      .ssz = 4};
  clm_ranking_options_init(&p.opts);
  p.opts.memory_budget = budget;
  p.opts.curve_points = curve_points;
  p.opts.batch_rows = 4096;
  check_problem(what, &p, ap_ulps);
  free(y);
  free(z);
}

/* float32 keys with room to count each level-1 range at once: the same
 * per-key terms in the same order as one process, so the same bits. */
Test(ranking_reduce, binary_f32_default_budget, .timeout = 300) {
  binary_f32(10007, 0, 0, 0, "binary f32");
}

Test(ranking_reduce, binary_f32_small_budget_and_curves, .timeout = 300) {
  /* The smallest budget splits level-1 ranges over several passes. */
  binary_f32(6007, CLM_RANKING_MIN_BUDGET, 100, 8, "binary f32 64K + curves");
}

Test(ranking_reduce, binary_f64, .timeout = 300) {
  const uint64_t n = 3001;
  clm_rng_seed(&rng, 77);
  uint8_t *y = malloc(n);
  double *z = malloc(n * sizeof *z);
  for (uint64_t i = 0; i < n; ++i) {
    y[i] = clm_rng_uniform(&rng) < 0.5;
    /* Pairs that round to one float32 but differ as float64. */
    z[i] = i % 5 == 0 ? 0.5 + (double)(i % 7) * 1e-12 : normal() + 0.7 * y[i];
  }
  struct problem p = {.n = n,
                      .k = 1,
                      .dtype = CLM_DTYPE_F64,
                      .labels = y,
                      .scores = z,
                      .lsz = 1,
                      .ssz = 8};
  clm_ranking_options_init(&p.opts);
  p.opts.batch_rows = 1000;
  p.opts.curve_points = 20;
  check_problem("binary f64", &p, 8);
  free(y);
  free(z);
}

Test(ranking_reduce, multiclass_softmax, .timeout = 300) {
  const uint64_t n = 4001;
  const uint32_t k = 3;
  clm_rng_seed(&rng, 99);
  int32_t *y = malloc(n * sizeof *y);
  float *z = malloc(n * k * sizeof *z);
  for (uint64_t i = 0; i < n; ++i) {
    y[i] = (int32_t)(clm_rng_uniform(&rng) * k);
    for (uint32_t c = 0; c < k; ++c)
      z[i * k + c] = (float)(normal() + (y[i] == (int32_t)c ? 1.0 : 0.0));
  }
  struct problem p = {.n = n,
                      .k = k,
                      .dtype = CLM_DTYPE_F32,
                      .softmax = 1,
                      .labels = y,
                      .scores = z,
                      .lsz = 4,
                      .ssz = k * 4};
  clm_ranking_options_init(&p.opts);
  p.opts.batch_rows = 3000;
  check_problem("multiclass softmax", &p, 0);
  free(y);
  free(z);
}

Test(ranking_reduce, multilabel_probs, .timeout = 300) {
  const uint64_t n = 3001;
  const uint32_t k = 4;
  clm_rng_seed(&rng, 5);
  uint8_t *y = malloc(n * k);
  float *z = malloc(n * k * sizeof *z);
  for (uint64_t i = 0; i < n * k; ++i) {
    y[i] = clm_rng_uniform(&rng) < 0.2;
    const double v = 1.0 / (1.0 + exp(-(normal() + 1.5 * y[i])));
    z[i] = i % 4 == 0 ? (float)(round(v * 100) / 100) : (float)v;
  }
  struct problem p = {.n = n,
                      .k = k,
                      .dtype = CLM_DTYPE_F32,
                      .multilabel = 1,
                      .labels = y,
                      .scores = z,
                      .lsz = k,
                      .ssz = k * 4};
  clm_ranking_options_init(&p.opts);
  p.opts.scores_are_probs = 1;
  p.opts.batch_rows = 2500;
  check_problem("multilabel probs", &p, 0);
  free(y);
  free(z);
}

/* A failure on one participant (its read in pass 1, or in a refine pass)
 * stops every participant: the failing one returns its own error, the
 * others CLM_ERR_PEER, and nobody is left waiting in a reduce. */
static void check_failure(int fail_rank, int fail_pass) {
  const uint64_t n = 6000;
  clm_rng_seed(&rng, 3);
  uint8_t *y = malloc(n);
  float *z = malloc(n * sizeof *z);
  for (uint64_t i = 0; i < n; ++i) {
    y[i] = clm_rng_uniform(&rng) < 0.5;
    z[i] = (float)(normal() + y[i]);
  }
  struct problem p = {.n = n,
                      .k = 1,
                      .dtype = CLM_DTYPE_F32,
                      .labels = y,
                      .scores = z,
                      .lsz = 1,
                      .ssz = 4,
                      .fail_rank = fail_rank,
                      .fail_pass = fail_pass};
  clm_ranking_options_init(&p.opts);
  p.opts.memory_budget = CLM_RANKING_MIN_BUDGET;
  p.opts.batch_rows = 5000;
  const uint64_t sizes[3] = {n / 3, n / 3, n - 2 * (n / 3)};
  struct participant pt[3];
  struct comm comm;
  run_parts(&p, 3, sizes, pt, &comm);
  for (int r = 0; r < 3; ++r) {
    if (r == fail_rank) {
      cr_assert_eq(pt[r].st, CLM_ERR_IO, "failing part: %s",
                   clm_status_str(pt[r].st));
      cr_assert(strstr(pt[r].err.message, "injected failure"), "%s",
                pt[r].err.message);
    } else {
      cr_assert_eq(pt[r].st, CLM_ERR_PEER, "part %d: %s (%s)", r,
                   clm_status_str(pt[r].st), pt[r].err.message);
    }
    clm_ranking_result_release(&pt[r].result);
  }
  free(y);
  free(z);
}

Test(ranking_reduce, failure_in_first_pass, .timeout = 300) {
  check_failure(1, 1);
}

Test(ranking_reduce, failure_in_refine_pass, .timeout = 300) {
  check_failure(2, 2);
}

/* Arguments that are wrong everywhere fail everywhere, also collectively. */
Test(ranking_reduce, weighted_is_refused, .timeout = 120) {
  clm_context_options co;
  clm_context_options_init(&co);
  clm_context *ctx = NULL;
  clm_error err;
  cr_assert_eq(clm_context_create(&co, &ctx, &err), CLM_OK);
  const uint8_t y[4] = {0, 1, 0, 1};
  const float z[4] = {0.1f, 0.2f, 0.3f, 0.4f}, w[4] = {1, 1, 1, 1};
  struct comm comm = {.size = 1};
  pthread_barrier_init(&comm.barrier, NULL, 1);
  struct member m = {&comm, 0};
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.reduce = sum_hook;
  o.reduce_user = &m;
  clm_ranking_result res;
  cr_assert_eq(clm_ranking_compute_arrays_weighted(ctx, y, z, w, CLM_DTYPE_F32,
                                                   4, 1, 0, &o, &res, &err),
               CLM_ERR_UNSUPPORTED, "%s", err.message);
  /* The refusal was agreed on: one call of the failure word. */
  cr_assert_eq(comm.calls[0], 1);
  /* One participant alone gives the plain result. */
  clm_ranking_result plain, coll;
  cr_assert_eq(clm_ranking_compute_arrays(ctx, y, z, CLM_DTYPE_F32, 4, 1, 0,
                                          NULL, &plain, &err),
               CLM_OK);
  cr_assert_eq(clm_ranking_compute_arrays(ctx, y, z, CLM_DTYPE_F32, 4, 1, 0, &o,
                                          &coll, &err),
               CLM_OK, "%s", err.message);
  check_same("one participant", &coll, &plain, 0);
  /* No rows anywhere: empty, agreed. */
  clm_ranking_result none;
  cr_assert_eq(clm_ranking_compute_arrays(ctx, y, z, CLM_DTYPE_F32, 0, 1, 0, &o,
                                          &none, &err),
               CLM_ERR_EMPTY, "%s", clm_status_str(err.status));
  clm_ranking_result_release(&plain);
  clm_ranking_result_release(&coll);
  pthread_barrier_destroy(&comm.barrier);
  free(comm.sum);
  clm_context_free(ctx);
}
