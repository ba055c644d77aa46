/* The exact ranking computation: pass 1 over the data, then refine passes
 * planned within the memory budget until every key range that matters is
 * resolved. */
#include "tasks/ranking/ranking.h"

#include "clm_shared.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

void clm_ranking_options_init(clm_ranking_options *opts) {
  if (!opts)
    return;
  memset(opts, 0, sizeof *opts);
  opts->memory_budget = CLM_RANKING_DEFAULT_BUDGET;
}

void clm_rk_softmax_rows(const void *z, int f64, uint64_t rows, uint32_t k,
                         float *out) {
  for (uint64_t r = 0; r < rows; ++r) {
    float *p = out + r * k;
    for (uint32_t j = 0; j < k; ++j)
      p[j] = f64 ? (float)((const double *)z)[r * k + j]
                 : ((const float *)z)[r * k + j];
    float m = -INFINITY;
    int nan = 0;
    for (uint32_t j = 0; j < k; ++j) {
      nan |= isnan(p[j]);
      m = p[j] > m ? p[j] : m;
    }
    if (nan || m == -INFINITY) {
      /* No probabilities: reported as a bad score of this row. */
      for (uint32_t j = 0; j < k; ++j)
        p[j] = NAN;
      continue;
    }
    float sum = 0.0f;
    for (uint32_t j = 0; j < k; ++j) {
      /* exp(z - m) with the maxima at 1 (also when m is +inf). */
      p[j] = p[j] == m ? 1.0f : expf(p[j] - m);
      sum += p[j];
    }
    for (uint32_t j = 0; j < k; ++j)
      p[j] /= sum;
  }
}

/* Reads batches from the source, softmax applied where asked. */
struct input {
  const clm_ranking_source *src;
  uint64_t batch;
  float *soft; /* batch x k, softmax only */
};

static clm_status read_batch(struct input *in, uint64_t first, uint64_t count,
                             const void **y, const void **z, clm_error *err) {
  const clm_ranking_source *src = in->src;
  *y = *z = NULL;
  clm_status st = src->read(src->user, first, count, y, z, err);
  if (st != CLM_OK)
    return err && err->status == st
               ? st
               : clm_fail(err, st, -1, 0, "reading rows %llu..%llu: %s",
                          (unsigned long long)first,
                          (unsigned long long)(first + count),
                          clm_status_str(st));
  if (!*y || !*z)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_ranking_source.read returned no data");
  if (src->softmax) {
    clm_rk_softmax_rows(*z, src->dtype == CLM_DTYPE_F64, count, src->k,
                        in->soft);
    *z = in->soft;
  }
  return CLM_OK;
}

static clm_status check_args(const clm_ranking_source *src,
                             const clm_ranking_options *o, clm_error *err) {
  if (!src || !src->read)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_ranking_compute: NULL source");
  if (src->k == 0 || (src->k == 1 && src->softmax))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_ranking_compute: k must be >= 1 (softmax needs k >= "
                    "2)");
  if (src->multilabel && src->softmax)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_ranking_compute: softmax is not allowed with "
                    "multilabel (indicator) labels");
  if (src->dtype != CLM_DTYPE_F32 && src->dtype != CLM_DTYPE_F64)
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "clm_ranking_compute: scores must be float32 or float64, "
                    "not %s",
                    clm_dtype_name(src->dtype));
  if (o->memory_budget < CLM_RANKING_MIN_BUDGET)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "ranking memory budget %llu bytes is below the minimum of "
                    "%llu",
                    (unsigned long long)o->memory_budget,
                    (unsigned long long)CLM_RANKING_MIN_BUDGET);
  if (o->curve_points == 1)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "curve points must be 0 (none) or at least 2");
  if (o->reduce && src->read_weights)
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "clm_ranking_compute: weighted ranking cannot be "
                    "collective (reduce is set)");
  /* Collective: one participant may hold no rows; the total is checked
   * once the counts are summed. */
  if (src->n == 0 && !o->reduce)
    return clm_fail(err, CLM_ERR_EMPTY, -1, 0, "no samples to rank");
  return CLM_OK;
}

/* Collective mode (o->reduce set): tells every participant whether one's
 * own step failed. Returns the local error, CLM_ERR_PEER when another
 * failed, else CLM_OK; *announced is set once the failure is known to all
 * (no agreement follows then). */
static clm_status agree(const clm_ranking_options *o, clm_status local,
                        int *announced, clm_error *err) {
  uint64_t word = local != CLM_OK;
  clm_error rerr;
  clm_error_clear(&rerr);
  const clm_status rs = o->reduce(o->reduce_user, &word, 1, &rerr);
  if (rs != CLM_OK) {
    *announced = 1;
    return local != CLM_OK
               ? local
               : clm_fail(err, rs, -1, 0, "ranking: the reduction failed: %s",
                          rerr.message[0] ? rerr.message : clm_status_str(rs));
  }
  if (word == 0)
    return CLM_OK;
  *announced = 1;
  if (local != CLM_OK)
    return local;
  return clm_fail(err, CLM_ERR_PEER, -1, (double)word,
                  "ranking stopped: %llu other participant(s) failed",
                  (unsigned long long)word);
}

/* Collective mode: counts[0..len) become the sums over all participants.
 * Called only after an agreement that nobody failed. */
static clm_status reduce_counts(const clm_ranking_options *o, uint64_t *counts,
                                uint64_t len, int *announced, clm_error *err) {
  clm_error rerr;
  clm_error_clear(&rerr);
  const clm_status rs = o->reduce(o->reduce_user, counts, len, &rerr);
  if (rs == CLM_OK)
    return CLM_OK;
  *announced = 1; /* the participants may be out of step: stop talking */
  return clm_fail(err, rs, -1, 0,
                  "ranking: the reduction of %llu counts failed: %s",
                  (unsigned long long)len,
                  rerr.message[0] ? rerr.message : clm_status_str(rs));
}

/* Level-1 prefix bits: the most (at most 16) whose histogram, host counts
 * and refine table take at most half the budget. Fewer bits only mean
 * more refinement, so many columns fit any budget from the minimum. */
static clm_status choose_bits1(const clm_context *ctx, clm_rk_setup *s,
                               uint64_t budget, clm_error *err) {
  for (unsigned b = 16; b >= 1; --b) {
    s->bits1 = b;
    s->bins1 = 1u << b;
    const uint64_t cells = (uint64_t)s->k << b;
    /* Device histogram, host counts, per-group counts, refine table. */
    const uint64_t bytes =
        clm_rk_hist_bytes(ctx, s) + cells * 2 * 8 + cells * 8 * 2;
    if (bytes <= budget / 2)
      return CLM_OK;
  }
  return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                  "a ranking memory budget of %llu bytes is too small for %u "
                  "columns",
                  (unsigned long long)budget, (unsigned)s->k);
}

/* How a node is refined in a pass and what that costs. */
struct refine_choice {
  uint32_t shift;   /* CLM_RK_GATHER, or the dense sub-range width in bits */
  uint64_t cost;    /* bytes on the device (and their host copies) */
  uint64_t scratch; /* host bytes to resolve it (one node at a time) */
  uint64_t units;   /* dense sub-ranges, or gather slots */
  int lattice;      /* dense over the node's lattice points (one key each) */
};

/* Host scratch to resolve a gathered node: a count per key when the keys
 * are dense enough, else a sort. */
static int counts_gathered(unsigned rem, uint64_t count) {
  return rem <= 20 && ((uint64_t)1 << rem) <= 2 * count;
}

/* Whether whole level-1 ranges are gathered by owner groups, per label
 * and without atomics (CPUs). */
struct gather_mode {
  int owners;
  int collective; /* counts are summed across participants: never gather */
};

static int gathers_whole(const clm_rk_setup *s, const struct gather_mode *gm,
                         const clm_rk_node *nd) {
  return gm->owners && nd->prefix == s->bits1;
}

/* Bytes per gathered key. */
static unsigned gather_width(const clm_rk_setup *s, int whole) {
  if (whole && s->key_bits - s->bits1 <= 16)
    return 2;
  return s->f64 ? 8 : 4;
}

static struct refine_choice choose_refine(const clm_rk_setup *s,
                                          const struct gather_mode *gm,
                                          const clm_rk_node *nd, int wide,
                                          int mapcopy, uint64_t avail) {
  const unsigned rem = s->key_bits - nd->prefix;
  const uint64_t count = nd->pos + nd->neg, mf = mapcopy ? 2 : 1;
  const uint64_t cw = wide ? 8 : 4;
  /* Collective: the host also holds every cell as uint64 to reduce it. */
  const uint64_t hw = gm->collective ? 8 : 0;
#define DENSE_COST(w) (((uint64_t)1 << (w)) * 2 * (cw * mf + hw))
  /* Gathering writes each key once, in order per range, and the host
   * counts or sorts one range at a time in cache: preferred on every
   * range that fits. Dense counting on the device touches a random cell
   * per sample, so it is kept for ranges too large to gather. */
  const uint64_t gather =
      count * gather_width(s, gathers_whole(s, gm, nd)) * mf;
  const uint64_t scratch =
      counts_gathered(rem, count) ? ((uint64_t)1 << rem) * 8 : count * 16;
  struct refine_choice c = {0};
  /* Few lattice points (keys that differ in few bits: tied integers, coarse
   * steps): a count per point costs less than gathering and sorting. */
  const uint64_t points =
      nd->lattice ? ((nd->khi - nd->klo) >> nd->kshift) + 1 : 0;
  if (nd->lattice && !gm->collective && points <= 4096 &&
      points * 2 * cw <= gather / mf && points * 2 * cw * mf <= avail) {
    c = (struct refine_choice){nd->kshift, points * 2 * cw * mf, 0, points, 1};
  } else if (!gm->collective && count <= 0xffffffffull &&
             gather + scratch <= avail) {
    c = (struct refine_choice){CLM_RK_GATHER, gather, scratch, count, 0};
  } else if (gm->collective) {
    /* Every cell is reduced across the participants: a range gets about
     * as many cells as it holds rows (global count), at least 2^8 so that
     * a float32 range resolves in two levels, at most 2^16. */
    unsigned w = 8;
    while (w < 16 && ((uint64_t)1 << w) < count)
      ++w;
    if (w > rem)
      w = rem;
    while (w > 1 && DENSE_COST(w) > avail)
      --w;
    c = (struct refine_choice){rem - w, DENSE_COST(w), 0, (uint64_t)1 << w, 0};
  } else if (rem <= 20 && DENSE_COST(rem) <= avail) {
    c = (struct refine_choice){0, DENSE_COST(rem), 0, (uint64_t)1 << rem, 0};
  } else {
    unsigned w = rem - 1 < 16 ? rem - 1 : 16;
    while (w > 1 && DENSE_COST(w) > avail)
      --w;
    c = (struct refine_choice){rem - w, DENSE_COST(w), 0, (uint64_t)1 << w, 0};
  }
#undef DENSE_COST
  return c;
}

/* One refine pass's plan over the first nodes of `pending`. */
struct pass {
  clm_rk_plan plan;
  clm_rk_node *nodes; /* the pass's nodes, sorted by (col, lo) */
  uint64_t scratch;   /* host bytes to resolve its largest node */
  uint64_t *summed;   /* collective: the dense cells summed over all
                         participants (uint64 pairs), else NULL */
};

static void pass_free(struct pass *p) {
  free(p->plan.lo);
  free(p->plan.hi);
  free(p->plan.base);
  free(p->plan.shift);
  free(p->plan.cap);
  free(p->plan.col);
  free(p->plan.count);
  free(p->plan.cursor_init);
  free(p->plan.whole);
  free(p->nodes);
  free(p->summed);
  memset(p, 0, sizeof *p);
}

static int node_order(const void *a, const void *b) {
  const clm_rk_node *x = a, *y = b;
  if (x->col != y->col)
    return x->col < y->col ? -1 : 1;
  return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

static clm_status plan_pass(const clm_rk_setup *s, const clm_rk_nodes *pending,
                            uint64_t avail, int wide, int mapcopy,
                            const struct gather_mode *gm, uint32_t *table,
                            struct pass *p, size_t *taken, clm_error *err) {
  size_t t = 0;
  uint64_t used = 0, scratch = 0;
  while (t < pending->len && t < 0x7fffffff) {
    const struct refine_choice c =
        choose_refine(s, gm, &pending->v[t], wide, mapcopy, avail);
    const uint64_t sc = c.scratch > scratch ? c.scratch : scratch;
    if (t > 0 && used + c.cost + sc > avail)
      break;
    used += c.cost;
    scratch = sc;
    ++t;
  }
  *taken = t;
  p->scratch = scratch;
  p->nodes = clm_malloc(t * sizeof *p->nodes);
  clm_rk_plan *pl = &p->plan;
  pl->lo = clm_malloc(t * 8);
  pl->hi = clm_malloc(t * 8);
  pl->base = clm_malloc(t * 8);
  pl->count = clm_malloc(t * 8);
  pl->shift = clm_malloc(t * 4);
  pl->cap = clm_malloc(t * 4);
  pl->col = clm_malloc(t * 4);
  pl->cursor_init = clm_calloc(t * 4, 4);
  pl->whole = clm_calloc(t ? t : 1, 1);
  if (!p->nodes || !pl->lo || !pl->hi || !pl->base || !pl->count ||
      !pl->shift || !pl->cap || !pl->col || !pl->cursor_init || !pl->whole)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate a ranking pass of %zu ranges", t);
  memcpy(p->nodes, pending->v, t * sizeof *p->nodes);
  qsort(p->nodes, t, sizeof *p->nodes, node_order);
  pl->ntasks = (uint32_t)t;
  pl->wide = wide;
  pl->table = table;
  memset(table, 0, (size_t)s->k * s->bins1 * 2 * sizeof *table);
  const unsigned shift1 = s->key_bits - s->bits1;
  for (size_t i = 0; i < t; ++i) {
    const clm_rk_node *nd = &p->nodes[i];
    const struct refine_choice c =
        choose_refine(s, gm, nd, wide, mapcopy, avail);
    /* A lattice node counted otherwise is an ordinary range. */
    p->nodes[i].lattice = c.lattice;
    pl->lo[i] = c.lattice ? nd->klo : nd->lo;
    pl->hi[i] = c.lattice ? nd->khi : nd->hi;
    pl->shift[i] = c.shift;
    pl->col[i] = nd->col;
    pl->count[i] = nd->pos + nd->neg;
    uint32_t *cur = pl->cursor_init + (size_t)i * 4;
    const size_t cell = (size_t)nd->col * s->bins1 + (nd->lo >> shift1);
    if (c.shift == CLM_RK_GATHER && gathers_whole(s, gm, nd)) {
      /* Negatives, then positives, as pass 1 counted them. */
      pl->whole[i] = 1;
      uint64_t *slots =
          gather_width(s, 1) == 2 ? &pl->g16_slots : &pl->gather_slots;
      pl->base[i] = *slots;
      pl->cap[i] = (uint32_t)c.units;
      cur[0] = (uint32_t)*slots;
      cur[1] = cur[2] = (uint32_t)(*slots + nd->neg);
      cur[3] = (uint32_t)(*slots + nd->neg + nd->pos);
      *slots += nd->neg + nd->pos;
    } else if (c.shift == CLM_RK_GATHER) {
      pl->base[i] = pl->gather_slots;
      pl->cap[i] = (uint32_t)c.units;
      cur[1] = (uint32_t)c.units;
      pl->gather_slots += c.units;
    } else {
      pl->base[i] = 2 * pl->dense_cells; /* counter index */
      pl->cap[i] = 0;
      pl->dense_cells += c.units;
    }
    uint32_t *e = table + 2 * cell;
    if (pl->whole[i]) {
      e[0] = (uint32_t)i;
      e[1] = CLM_RK_WHOLE | (gather_width(s, 1) == 2 ? CLM_RK_LOW16 : 0);
      continue;
    }
    if (e[1] == 0)
      e[0] = (uint32_t)i;
    e[1]++;
  }
  return CLM_OK;
}

static clm_status changed(clm_error *err) {
  return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                  "the input changed between ranking passes (the counts of a "
                  "score range differ from the first pass)");
}

/* Resolves one gathered node: a count per key (in cache) or a sort. Keys
 * of a whole range come in runs per group and label (key only; the low
 * 16 bits in g16); others as key << 1 | label. */
static clm_status resolve_gathered(clm_rk_resolver *r, const clm_rk_plan *pl,
                                   uint32_t i, const clm_rk_node *nd,
                                   const clm_rk_out *o, void *scratch,
                                   uint64_t scratch_bytes) {
  const clm_rk_setup *s = r->setup;
  const unsigned rem = s->key_bits - nd->prefix;
  const uint64_t mask = (1ull << rem) - 1, count = pl->count[i];
  /* Runs of (first slot, slots, label or -1 for packed keys). */
  const uint32_t *init = pl->cursor_init + (size_t)i * 4;
  const int low16 = pl->whole[i] && gather_width(s, 1) == 2;
  if (low16 && rem <= 16)
    return clm_rk_scan_runs16(r, nd, o->g16 + init[0], init[1] - init[0],
                              o->g16 + init[2], init[3] - init[2], scratch,
                              scratch_bytes);
  const int counting = counts_gathered(rem, count);
  uint32_t *cells = scratch;
  uint64_t *packed = scratch, *tmp = packed + count;
  if (counting)
    memset(cells, 0, ((size_t)1 << rem) * 2 * sizeof *cells);
  uint64_t n = 0;
  const uint32_t runs = pl->whole[i] ? 2 : 1;
  for (uint32_t run = 0; run < runs; ++run) {
    const uint64_t first = pl->whole[i] ? init[2 * run] : pl->base[i];
    const uint64_t len =
        pl->whole[i] ? init[2 * run + 1] - init[2 * run] : count;
    const int label = pl->whole[i] ? (int)(run & 1) : -1;
    for (uint64_t j = first; j < first + len; ++j) {
      uint64_t v = low16    ? o->g16[j]
                   : s->f64 ? ((const uint64_t *)o->gkeys)[j]
                            : ((const uint32_t *)o->gkeys)[j];
      if (label >= 0)
        v = (v & mask) << 1 | (uint64_t)label;
      if (counting)
        cells[((v >> 1) & mask) * 2 + (v & 1)]++;
      else
        packed[n++] = v;
    }
  }
  if (counting)
    return clm_rk_scan_cells(r, nd, cells, CLM_RK_CELLS_U32, (uint64_t)1 << rem,
                             0);
  return clm_rk_scan_gathered(r, nd, packed, tmp, n);
}

/* Whether every slot of gathered task i was written exactly once. */
static int cursors_full(const clm_rk_plan *pl, const clm_rk_out *o,
                        uint32_t i) {
  const uint32_t *init = pl->cursor_init + (size_t)i * 4;
  const uint32_t *cur = o->cursor + (size_t)i * 4;
  if (!pl->whole[i])
    return cur[0] == pl->count[i];
  return cur[0] == init[1] && cur[2] == init[3];
}

static clm_status resolve_task(clm_rk_resolver *r, const struct pass *p,
                               const clm_rk_out *o, uint32_t i, void *scratch) {
  const clm_rk_plan *pl = &p->plan;
  const clm_rk_node *nd = &p->nodes[i];
  const unsigned rem = r->setup->key_bits - nd->prefix;
  if (pl->shift[i] != CLM_RK_GATHER) {
    const unsigned sh = pl->shift[i];
    if (p->summed)
      return clm_rk_scan_cells(r, nd, p->summed + pl->base[i], CLM_RK_CELLS_U64,
                               (uint64_t)1 << (rem - sh), sh);
    const uint32_t *at = o->dense + (pl->wide ? 2 : 1) * pl->base[i];
    const uint64_t cells = nd->lattice ? ((nd->khi - nd->klo) >> sh) + 1
                                       : (uint64_t)1 << (rem - sh);
    return clm_rk_scan_cells(r, nd, at,
                             pl->wide ? CLM_RK_CELLS_PAIR64 : CLM_RK_CELLS_U32,
                             cells, sh);
  }
  if (!cursors_full(pl, o, i))
    return CLM_ERR_FORMAT;
  return resolve_gathered(r, pl, i, nd, o, scratch, p->scratch);
}

/* Host threads resolving one pass's tasks: each task into its own column
 * record, added to the columns in task order afterwards, so the sums do
 * not depend on the schedule. */
struct resolver_pool {
  clm_rk_resolver *r;
  const struct pass *p;
  const clm_rk_out *o;
  clm_rk_column *per_task;
  pthread_mutex_t lock;
  uint32_t next;
  clm_status st;
};

static void *resolve_worker(void *arg) {
  struct resolver_pool *pool = arg;
  void *scratch = pool->p->scratch ? malloc(pool->p->scratch) : NULL;
  clm_rk_resolver r = *pool->r;
  for (;;) {
    pthread_mutex_lock(&pool->lock);
    const uint32_t i = pool->next++;
    const int stop = pool->st != CLM_OK || i >= pool->p->plan.ntasks;
    pthread_mutex_unlock(&pool->lock);
    if (stop)
      break;
    clm_status st = CLM_ERR_OUT_OF_MEMORY;
    if (scratch || !pool->p->scratch) {
      r.into = &pool->per_task[i];
      st = resolve_task(&r, pool->p, pool->o, i, scratch);
    }
    if (st != CLM_OK) {
      pthread_mutex_lock(&pool->lock);
      if (pool->st == CLM_OK)
        pool->st = st;
      pthread_mutex_unlock(&pool->lock);
    }
  }
  free(scratch);
  return NULL;
}

static unsigned resolve_threads(const clm_rk_resolver *r, const struct pass *p,
                                uint64_t budget) {
  /* Curves and split ranges add to shared lists: those passes stay on one
   * thread, as do passes whose per-thread scratch would be large. */
  if (r->curve_points || p->scratch > budget / 16)
    return 1;
  for (uint32_t i = 0; i < p->plan.ntasks; ++i)
    if (p->plan.shift[i] != CLM_RK_GATHER && !p->nodes[i].lattice)
      return 1; /* a split range may add nodes */
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned t = cpus > 1 ? (unsigned)(cpus < 8 ? cpus : 8) : 1;
  return t < p->plan.ntasks ? t : p->plan.ntasks;
}

static clm_status resolve_pass(clm_rk_resolver *r, const struct pass *p,
                               const clm_rk_out *o, uint64_t budget,
                               clm_error *err) {
  const clm_rk_plan *pl = &p->plan;
  const unsigned threads = resolve_threads(r, p, budget);
  clm_status st = CLM_OK;
  if (threads <= 1) {
    void *scratch = NULL;
    if (p->scratch && !(scratch = clm_malloc(p->scratch)))
      return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                      "cannot allocate %llu bytes to resolve ranking ranges",
                      (unsigned long long)p->scratch);
    for (uint32_t i = 0; i < pl->ntasks && st == CLM_OK; ++i)
      st = resolve_task(r, p, o, i, scratch);
    free(scratch);
  } else {
    struct resolver_pool pool = {r, p,     o, NULL, PTHREAD_MUTEX_INITIALIZER,
                                 0, CLM_OK};
    pool.per_task = clm_calloc(pl->ntasks, sizeof *pool.per_task);
    if (!pool.per_task)
      return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                      "cannot allocate ranking task records");
    for (uint32_t i = 0; i < pl->ntasks; ++i) {
      const clm_rk_column *c = &r->cols[p->nodes[i].col];
      pool.per_task[i].pos = c->pos;
      pool.per_task[i].neg = c->neg;
    }
    /* Helper threads take no signals: the application's threads keep
     * them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_t tid[8];
    unsigned started = 0;
    for (unsigned t = 1; t < threads; ++t)
      if (pthread_create(&tid[started], NULL, resolve_worker, &pool) == 0)
        ++started;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    resolve_worker(&pool);
    for (unsigned t = 0; t < started; ++t)
      pthread_join(tid[t], NULL);
    st = pool.st;
    for (uint32_t i = 0; i < pl->ntasks && st == CLM_OK; ++i) {
      clm_rk_column *c = &r->cols[p->nodes[i].col];
      const clm_rk_column *t = &pool.per_task[i];
      c->u2 += t->u2;
      c->u2_open += t->u2_open;
      c->ap += t->ap;
      c->ap_open_lo += t->ap_open_lo;
      c->ap_open_hi += t->ap_open_hi;
      c->open |= t->open;
      c->distinct += t->distinct;
    }
    free(pool.per_task);
    pthread_mutex_destroy(&pool.lock);
  }
  if (st == CLM_ERR_FORMAT)
    return changed(err);
  if (st != CLM_OK)
    return clm_fail(err, st, -1, 0, "cannot resolve a ranking pass");
  return CLM_OK;
}

/* One pass over every batch of the source. */
static clm_status run_pass(clm_context *ctx, const clm_rk_setup *s,
                           struct input *in, const clm_rk_plan *plan,
                           clm_error *err) {
  const uint64_t n = in->src->n;
  clm_status st = CLM_OK;
  for (uint64_t first = 0; first < n && st == CLM_OK; first += in->batch) {
    const uint64_t m = n - first < in->batch ? n - first : in->batch;
    const void *y, *z;
    st = read_batch(in, first, m, &y, &z, err);
    if (st == CLM_OK)
      st = plan ? clm_rk_refine_batch(ctx, s, plan, y, z, m, err)
                : clm_rk_hist_batch(ctx, s, y, z, m, first, err);
  }
  return st;
}

/* Pass 1 and the root scan of every column; fills cols and pending.
 * Collective: the counts are summed over the participants before the
 * scan (st: what this participant's steps so far gave). */
static clm_status first_pass(clm_context *ctx, const clm_rk_setup *s,
                             struct input *in, clm_rk_resolver *r,
                             const clm_ranking_options *o, int *announced,
                             clm_status st, clm_error *err) {
  const size_t cells = (size_t)s->k * s->bins1 * 2;
  uint64_t *counts = NULL;
  uint32_t *range = NULL;
  if (st == CLM_OK &&
      (!(counts = clm_malloc(cells * sizeof *counts)) ||
       (s->track_range && !(range = clm_malloc(cells * sizeof *range)))))
    st = clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                  "cannot allocate the ranking histogram");
  if (st == CLM_OK) {
    st = clm_rk_hist_begin(ctx, s, err);
    if (st == CLM_OK)
      st = run_pass(ctx, s, in, NULL, err);
    if (st == CLM_OK)
      st = clm_rk_hist_end(ctx, s, counts, range, err);
    clm_rk_trim(ctx, 1);
  }
  if (o->reduce && !*announced) {
    st = agree(o, st, announced, err);
    if (st == CLM_OK)
      st = reduce_counts(o, counts, cells, announced, err);
  }
  for (uint32_t k = 0; k < s->k && st == CLM_OK; ++k) {
    const uint64_t *c = counts + (size_t)k * s->bins1 * 2;
    clm_rk_column *col = &r->cols[k];
    for (uint32_t b = 0; b < s->bins1; ++b) {
      col->neg += c[2 * b];
      col->pos += c[2 * b + 1];
    }
    const clm_rk_node root = {.col = k,
                              .hi = ~0ull >> (64 - s->key_bits),
                              .pos = col->pos,
                              .neg = col->neg};
    r->range = range ? range + (size_t)k * s->bins1 * 2 : NULL;
    st = clm_rk_scan_cells(r, &root, c, CLM_RK_CELLS_U64, s->bins1,
                           s->key_bits - s->bits1);
    r->range = NULL;
    if (st == CLM_ERR_FORMAT)
      st = changed(err);
    else if (st != CLM_OK)
      st = clm_fail(err, st, -1, 0, "cannot resolve the ranking histogram");
  }
  free(range);
  free(counts);
  return st;
}

/* Collective: the pass's dense cells as uint64 pairs, to be summed. */
static clm_status widen_dense(struct pass *p, const clm_rk_out *o,
                              clm_error *err) {
  const uint64_t len = p->plan.dense_cells * 2;
  if (!(p->summed = clm_malloc((len ? len : 1) * sizeof *p->summed)))
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate %llu ranking counts",
                    (unsigned long long)len);
  for (uint64_t i = 0; i < len; ++i)
    p->summed[i] = p->plan.wide
                       ? (uint64_t)o->dense[2 * i + 1] << 32 | o->dense[2 * i]
                       : o->dense[i];
  return CLM_OK;
}

static clm_status compute(clm_context *ctx, const clm_ranking_source *src,
                          const clm_ranking_options *o, clm_ranking_result *out,
                          clm_error *err) {
  clm_rk_setup s = {.k = src->k,
                    .f64 = src->dtype == CLM_DTYPE_F64 && !src->softmax,
                    .probs = o->scores_are_probs,
                    .multilabel = src->multilabel != 0};
  s.key_bits = s.f64 ? 64 : 32;
  const int coll = o->reduce != NULL;
  /* A level-1 cell holding one score needs no refine pass (heavy ties);
   * the ranges are not reduced across participants. */
  s.track_range = !s.f64 && !coll;
  int announced = 0, mapcopy = clm_rk_maps_copy(ctx);
  clm_status st = choose_bits1(ctx, &s, o->memory_budget, err);
  if (coll) {
    st = agree(o, st, &announced, err);
    /* Every participant must count the same cells and cost a pass alike:
     * the fewest level-1 bits any chose (its device may hold less), and
     * mapping copies where any device makes them. */
    uint64_t w[18] = {0};
    w[s.bits1] = 1;
    w[17] = (uint64_t)mapcopy;
    if (st == CLM_OK)
      st = reduce_counts(o, w, 18, &announced, err);
    if (st == CLM_OK) {
      unsigned b = 1;
      while (b < 16 && w[b] == 0)
        ++b;
      s.bits1 = b;
      s.bins1 = 1u << b;
      mapcopy = w[17] > 0;
    }
  }
  if (st != CLM_OK)
    return st;
  struct input in = {src, o->batch_rows ? o->batch_rows : (uint64_t)1 << 22,
                     NULL};
  if (in.batch > src->n)
    in.batch = src->n;
  if (in.batch == 0) /* collective, no rows here */
    in.batch = 1;
  if (src->softmax &&
      !(in.soft = clm_malloc(in.batch * src->k * sizeof *in.soft)))
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate a batch of softmax probabilities");
  clm_rk_column *cols = clm_calloc(s.k, sizeof *cols);
  uint32_t *table = clm_malloc((size_t)s.k * s.bins1 * 2 * sizeof *table);
  clm_rk_nodes pending = {0}, next = {0};
  clm_rk_resolver r = {&s, cols, &next, o->curve_points, NULL, NULL};
  const struct gather_mode gm = {clm_rk_owner_mode(ctx) && !coll, coll};
  if (!cols || !table)
    st = clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                  "cannot allocate the ranking columns");
  if (st == CLM_OK || coll)
    st = first_pass(ctx, &s, &in, &r, o, &announced, st, err);
  /* Collective: the columns now hold every participant's rows. */
  const uint64_t total =
      coll && st == CLM_OK ? cols[0].pos + cols[0].neg : src->n;
  if (st == CLM_OK && total == 0)
    st = clm_fail(err, CLM_ERR_EMPTY, -1, 0, "no samples to rank");
  uint32_t passes = 1;
  const uint64_t fixed = (uint64_t)s.k * s.bins1 * 8 * 2;
  /* Slots are uint32 on the device: at most 4 GiB of them per pass. */
  uint64_t avail = o->memory_budget > fixed ? o->memory_budget - fixed : 0;
  if (avail > ((uint64_t)4 << 30) - 1)
    avail = ((uint64_t)4 << 30) - 1;
  const int wide = total > 0xffffffffull;
  uint64_t peak =
      clm_rk_hist_bytes(ctx, &s) + fixed + (uint64_t)s.k * s.bins1 * 2 * 8;
  while (st == CLM_OK && (pending.len > 0 || next.len > 0)) {
    /* Children first (depth first keeps the pending list short). */
    if (next.len > 0) {
      clm_rk_nodes merged = {0};
      for (size_t i = 0; i < next.len && st == CLM_OK; ++i)
        st = clm_rk_nodes_push(&merged, &next.v[i]);
      for (size_t i = 0; i < pending.len && st == CLM_OK; ++i)
        st = clm_rk_nodes_push(&merged, &pending.v[i]);
      free(pending.v);
      pending = merged;
      next.len = 0;
      if (st != CLM_OK) {
        st = clm_fail(err, st, -1, 0, "cannot allocate ranking ranges");
        break;
      }
      continue;
    }
    struct pass p = {0};
    size_t taken = 0;
    st = plan_pass(&s, &pending, avail, wide, mapcopy, &gm, table, &p, &taken,
                   err);
    clm_rk_out res;
    if (st == CLM_OK)
      st = clm_rk_refine_begin(ctx, &s, &p.plan, err);
    if (st == CLM_OK)
      st = run_pass(ctx, &s, &in, &p.plan, err);
    if (st == CLM_OK)
      st = clm_rk_refine_end(ctx, &p.plan, &res, err);
    if (coll && !announced) {
      if (st == CLM_OK)
        st = widen_dense(&p, &res, err);
      st = agree(o, st, &announced, err);
      if (st == CLM_OK)
        st =
            reduce_counts(o, p.summed, p.plan.dense_cells * 2, &announced, err);
    }
    if (st == CLM_OK) {
      const uint64_t used =
          (p.plan.dense_cells * 2 * (wide ? 8 : 4) +
           p.plan.gather_slots * (s.f64 ? 8 : 4) + p.plan.g16_slots * 2) *
              (mapcopy ? 2 : 1) +
          p.plan.dense_cells * 2 * (coll ? 8 : 0) + p.scratch + fixed;
      if (used > peak)
        peak = used;
      st = resolve_pass(&r, &p, &res, o->memory_budget, err);
    }
    clm_rk_refine_release(ctx);
    pass_free(&p);
    ++passes;
    memmove(pending.v, pending.v + taken,
            (pending.len - taken) * sizeof *pending.v);
    pending.len -= taken;
  }
  /* Collective: fail everywhere or nowhere. */
  if (coll && !announced)
    st = agree(o, st, &announced, err);
  clm_rk_trim(ctx, 0);
  if (st == CLM_OK) {
    st = clm_rk_result(&s, cols, total, o->curve_points, out);
    if (st != CLM_OK) {
      clm_ranking_result_release(out);
      st = clm_fail(err, st, -1, 0, "cannot allocate the ranking result");
    } else {
      out->passes = passes;
      out->memory_bytes = peak;
    }
  }
  free(pending.v);
  free(next.v);
  free(table);
  clm_rk_columns_free(cols, s.k);
  free(in.soft);
  return st;
}

clm_status clm_ranking_compute(clm_context *ctx,
                               const clm_ranking_source *source,
                               const clm_ranking_options *opts,
                               clm_ranking_result *out, clm_error *err) {
  clm_error_clear(err);
  if (!ctx || !out)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_ranking_compute: NULL argument");
  memset(out, 0, sizeof *out);
  clm_ranking_options copy;
  clm_ranking_options_init(&copy);
  if (opts)
    copy = *opts;
  if (copy.memory_budget == 0)
    copy.memory_budget = CLM_RANKING_DEFAULT_BUDGET;
  const clm_ranking_options *o = &copy;
  clm_status st = check_args(source, o, err);
  if (st != CLM_OK && o->reduce) {
    int announced = 0; /* the others learn it and stop too */
    return agree(o, st, &announced, err);
  }
  if (st != CLM_OK)
    return st;
  if (source->read_weights) /* on the host: no device, no lock */
    return clm_rk_weighted_compute(source, o, out, err);
  pthread_mutex_lock(&ctx->lock);
  st = compute(ctx, source, o, out, err);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

/* The in-memory source. */
struct arrays {
  const void *labels, *scores;
  size_t lsz, ssz;
};

static clm_status arrays_read(void *user, uint64_t first, uint64_t count,
                              const void **labels, const void **scores,
                              clm_error *err) {
  (void)count;
  (void)err;
  const struct arrays *a = user;
  *labels = (const char *)a->labels + first * a->lsz;
  *scores = (const char *)a->scores + first * a->ssz;
  return CLM_OK;
}

clm_status clm_ranking_compute_arrays(clm_context *ctx, const void *labels,
                                      const void *scores, clm_dtype dtype,
                                      uint64_t n, uint32_t k, int softmax,
                                      const clm_ranking_options *opts,
                                      clm_ranking_result *out, clm_error *err) {
  if (n > 0 && (!labels || !scores)) {
    clm_error_clear(err);
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_ranking_compute_arrays: NULL array");
  }
  struct arrays a = {labels, scores, k == 1 ? 1 : 4,
                     (size_t)k * (dtype == CLM_DTYPE_F64 ? 8 : 4)};
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  if (opts)
    o = *opts;
  if (o.batch_rows == 0) /* in memory: one batch, softmax in bounded ones */
    o.batch_rows = softmax ? (uint64_t)1 << 20 : (n ? n : 1);
  const clm_ranking_source src = {&a,      n,           k,    dtype,
                                  softmax, arrays_read, NULL, 0};
  return clm_ranking_compute(ctx, &src, &o, out, err);
}

/* The in-memory weights. */
struct weighted_arrays {
  struct arrays a;
  const float *weights;
};

static clm_status weighted_read(void *user, uint64_t first, uint64_t count,
                                const void **labels, const void **scores,
                                clm_error *err) {
  return arrays_read(&((struct weighted_arrays *)user)->a, first, count, labels,
                     scores, err);
}

static clm_status weights_read(void *user, uint64_t first, uint64_t count,
                               const float **weights, clm_error *err) {
  (void)count;
  (void)err;
  *weights = ((const struct weighted_arrays *)user)->weights + first;
  return CLM_OK;
}

clm_status clm_ranking_compute_arrays_weighted(
    clm_context *ctx, const void *labels, const void *scores,
    const float *weights, clm_dtype dtype, uint64_t n, uint32_t k, int softmax,
    const clm_ranking_options *opts, clm_ranking_result *out, clm_error *err) {
  if (n > 0 && (!labels || !scores || !weights)) {
    clm_error_clear(err);
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_ranking_compute_arrays_weighted: NULL array");
  }
  struct weighted_arrays wa = {{labels, scores, k == 1 ? 1 : 4,
                                (size_t)k * (dtype == CLM_DTYPE_F64 ? 8 : 4)},
                               weights};
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  if (opts)
    o = *opts;
  if (o.batch_rows == 0) /* in memory: one batch, softmax in bounded ones */
    o.batch_rows = softmax ? (uint64_t)1 << 20 : (n ? n : 1);
  const clm_ranking_source src = {
      &wa, n, k, dtype, softmax, weighted_read, weights_read, 0};
  return clm_ranking_compute(ctx, &src, &o, out, err);
}

clm_status clm_ranking_compute_multilabel(
    clm_context *ctx, const uint8_t *labels, const void *scores,
    clm_dtype dtype, const float *weights, uint64_t n, uint32_t k,
    const clm_ranking_options *opts, clm_ranking_result *out, clm_error *err) {
  if (n > 0 && (!labels || !scores)) {
    clm_error_clear(err);
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_ranking_compute_multilabel: NULL array");
  }
  /* A row's labels are its k indicator cells. */
  struct weighted_arrays wa = {
      {labels, scores, k, (size_t)k * (dtype == CLM_DTYPE_F64 ? 8 : 4)},
      weights};
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  if (opts)
    o = *opts;
  if (o.batch_rows == 0) /* in memory: one batch */
    o.batch_rows = n ? n : 1;
  const clm_ranking_source src = {
      &wa, n, k, dtype, 0, weighted_read, weights ? weights_read : NULL, 1};
  return clm_ranking_compute(ctx, &src, &o, out, err);
}
