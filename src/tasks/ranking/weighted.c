/* Weighted exact ROC-AUC and average precision (scikit-learn's
 * sample_weight) on the host CPU, in bounded memory.
 *
 * Float weights cannot go through the device's integer histograms without
 * float atomics, so this path runs on the host, single-threaded, and is
 * defined as one sequential sweep per column over the distinct keys in
 * descending order: per key, the weights of its rows summed in row order
 * (long double); running sums TP, FP; AUC numerator += wn (TP_above +
 * wp / 2); AP sum += wp TP / (TP + FP). Every key is swept in that order
 * whatever the budget, so the result does not depend on how the key space
 * is cut into passes: budgets, batch sizes and runs give the same bits.
 *
 * Pass 1 validates every row and counts the weighted rows (weight > 0;
 * zero-weight rows are dropped, as scikit-learn does) per key prefix. Each
 * column then holds a stack of key ranges, highest on top. A pass takes
 * ranges from the top of each column: ranges whose rows fit are gathered
 * as (key, signed weight) in row order, stably sorted and swept; a range
 * too large is split by a count histogram of its next bits (the column
 * waits for the split before going on); a single key too large is summed
 * directly in the pass. */
#include "tasks/ranking/ranking.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One key range [lo, lo + 2^rem - 1] of a column and its weighted rows. */
typedef struct wrange {
  uint64_t lo, count;
  uint32_t col;
  uint8_t rem;
  uint8_t kind; /* in a pass: how it is resolved */
} wrange;

enum { W_GATHER = 0, W_SPLIT = 1, W_KEYSUM = 2 };

/* A gathered row: its key and its weight, negated for a negative. */
typedef struct wrow {
  uint64_t key;
  float w;
} wrow;

/* Bytes per gathered row: the row and its sort scratch. */
#define W_ROW_BYTES (2 * sizeof(wrow))

typedef struct wcol {
  wrange *v; /* ascending: the top is the highest range */
  size_t len, cap;
  uint64_t pos, neg;     /* every row */
  uint64_t nz_total;     /* rows with weight > 0 */
  uint64_t nz_tp, nz_fp; /* weighted rows above, by label */
  long double tp, fp;    /* weight above */
  long double auc, ap;   /* numerators */
  uint64_t distinct;
  clm_rk_point *all, *even;
  long double *all_w, *even_w; /* (tp, fp) weights per kept point */
  uint64_t all_len, even_len;
  int all_overflow;
} wcol;

struct wctx {
  const clm_ranking_source *src;
  clm_rk_setup s;
  uint64_t batch, budget, curve_points;
  float *soft;
  wcol *cols;
  uint64_t peak;
};

static clm_status push(wcol *c, const wrange *r) {
  if (c->len == c->cap) {
    const size_t cap = c->cap ? c->cap + c->cap / 2 + 1 : 16;
    wrange *v = clm_realloc(c->v, cap * sizeof *v);
    if (!v)
      return CLM_ERR_OUT_OF_MEMORY;
    c->v = v;
    c->cap = cap;
  }
  c->v[c->len++] = *r;
  return CLM_OK;
}

static uint64_t ranges_bytes(const struct wctx *x) {
  uint64_t b = 0;
  for (uint32_t k = 0; k < x->s.k; ++k)
    b += x->cols[k].cap * sizeof(wrange);
  return b;
}

static void note_peak(struct wctx *x, uint64_t bytes) {
  bytes += ranges_bytes(x);
  if (bytes > x->peak)
    x->peak = bytes;
}

/* ---- reading and checking rows ------------------------------------------ */

static clm_status read_rows(struct wctx *x, uint64_t first, uint64_t count,
                            const void **y, const void **z, const float **w,
                            clm_error *err) {
  const clm_ranking_source *src = x->src;
  *y = *z = NULL;
  *w = NULL;
  clm_status st = src->read(src->user, first, count, y, z, err);
  if (st == CLM_OK)
    st = src->read_weights(src->user, first, count, w, err);
  if (st != CLM_OK)
    return err && err->status == st
               ? st
               : clm_fail(err, st, -1, 0, "reading rows %llu..%llu: %s",
                          (unsigned long long)first,
                          (unsigned long long)(first + count),
                          clm_status_str(st));
  if (!*y || !*z || !*w)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_ranking_source read or read_weights returned no "
                    "data");
  if (src->softmax) {
    clm_rk_softmax_rows(*z, src->dtype == CLM_DTYPE_F64, count, src->k,
                        x->soft);
    *z = x->soft;
  }
  return CLM_OK;
}

static clm_status check_row(const clm_rk_setup *s, const void *y, const void *z,
                            const float *w, uint64_t r, uint64_t at,
                            clm_error *err) {
  const unsigned long long idx = (unsigned long long)at;
  if (s->multilabel) {
    /* Per cell, label then score, named by the flat index at * k + c. */
    for (uint32_t c = 0; c < s->k; ++c) {
      const uint64_t j = r * s->k + c;
      const unsigned long long flat = (unsigned long long)(at * s->k + c);
      const uint8_t l = ((const uint8_t *)y)[j];
      const double v =
          s->f64 ? ((const double *)z)[j] : (double)((const float *)z)[j];
      if (l > 1)
        return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)flat, l,
                        "index %llu (row %llu, column %u): label %u is not 0 "
                        "or 1",
                        flat, idx, (unsigned)c, (unsigned)l);
      if (isnan(v))
        return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)flat, v,
                        "index %llu (row %llu, column %u): score is NaN", flat,
                        idx, (unsigned)c);
      if (s->probs && !(v >= 0.0 && v <= 1.0))
        return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)flat, v,
                        "index %llu (row %llu, column %u): probability %.17g "
                        "is outside [0, 1]",
                        flat, idx, (unsigned)c, v);
    }
  } else if (s->k == 1) {
    const uint8_t l = ((const uint8_t *)y)[r];
    if (l > 1)
      return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)at, l,
                      "index %llu: label %u is not 0 or 1", idx, (unsigned)l);
  } else {
    const int32_t l = ((const int32_t *)y)[r];
    if (l < 0 || (uint32_t)l >= s->k)
      return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)at, l,
                      "index %llu: class %d is outside [0, %u)", idx, (int)l,
                      (unsigned)s->k);
  }
  for (uint32_t c = 0; c < s->k && !s->multilabel; ++c) {
    const uint64_t j = r * s->k + c;
    const double v =
        s->f64 ? ((const double *)z)[j] : (double)((const float *)z)[j];
    if (isnan(v))
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                      "index %llu, column %u: score is NaN", idx, (unsigned)c);
    if (s->probs && !(v >= 0.0 && v <= 1.0))
      return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                      "index %llu, column %u: probability %.17g is outside "
                      "[0, 1]",
                      idx, (unsigned)c, v);
  }
  const float wv = w[r];
  if (!(wv >= 0.0f) || isinf(wv)) {
    clm_fail(err, CLM_ERR_BAD_WEIGHT, (int64_t)at, wv,
             "index %llu: sample weight %.9g is not finite and >= 0", idx,
             (double)wv);
    if (err)
      err->input = CLM_INPUT_WEIGHTS;
    return CLM_ERR_BAD_WEIGHT;
  }
  return CLM_OK;
}

static int label_of(const clm_rk_setup *s, const void *y, uint64_t r,
                    uint32_t c) {
  if (s->multilabel)
    return ((const uint8_t *)y)[r * s->k + c] != 0;
  return s->k == 1 ? ((const uint8_t *)y)[r] != 0
                   : ((const int32_t *)y)[r] == (int32_t)c;
}

static clm_status changed(clm_error *err) {
  return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                  "the input changed between ranking passes (the counts of a "
                  "score range differ from the first pass)");
}

/* ---- the sweep ------------------------------------------------------------
 */

static clm_status keep_point(clm_rk_point **v, long double **vw, uint64_t *len,
                             uint64_t cap, const clm_rk_point *p,
                             long double tp, long double fp) {
  /* Grows by powers of two up to cap, so memory follows what is kept. */
  const uint64_t n = *len;
  if ((n & (n - 1)) == 0) {
    uint64_t want = n ? 2 * n : 16;
    if (want > cap)
      want = cap;
    if (want > n) {
      clm_rk_point *nv = clm_realloc(*v, want * sizeof *nv);
      if (!nv)
        return CLM_ERR_OUT_OF_MEMORY;
      *v = nv;
      long double *nw = clm_realloc(*vw, want * 2 * sizeof *nw);
      if (!nw)
        return CLM_ERR_OUT_OF_MEMORY;
      *vw = nw;
    }
  }
  (*vw)[2 * n] = tp;
  (*vw)[2 * n + 1] = fp;
  (*v)[n] = *p;
  *len = n + 1;
  return CLM_OK;
}

/* Curve points as the unweighted path picks them, over the weighted rows:
 * every threshold while at most M, and those holding the ranks
 * 1 + floor(j (T - 1) / (M - 1)), j = 0..M-1, of the T weighted rows. */
static clm_status curve_point(const struct wctx *x, wcol *c, uint64_t key,
                              uint64_t before, uint64_t after) {
  const uint64_t m = x->curve_points;
  if (m == 0)
    return CLM_OK;
  const clm_rk_point p = {key, c->nz_tp, c->nz_fp};
  clm_status st = CLM_OK;
  if (!c->all_overflow) {
    if (c->all_len < m)
      st = keep_point(&c->all, &c->all_w, &c->all_len, m, &p, c->tp, c->fp);
    else
      c->all_overflow = 1;
  }
  const uint64_t total = c->nz_total;
  int keep = total <= 1;
  if (!keep) {
    const unsigned __int128 num = (unsigned __int128)before * (m - 1);
    const unsigned __int128 j = (num + (total - 2)) / (total - 1);
    if (j <= m - 1) {
      const uint64_t t =
          1 + (uint64_t)((j * (unsigned __int128)(total - 1)) / (m - 1));
      keep = t <= after;
    }
  }
  if (st == CLM_OK && keep && c->even_len < m)
    st = keep_point(&c->even, &c->even_w, &c->even_len, m, &p, c->tp, c->fp);
  return st;
}

/* One distinct key with weighted rows: np positives of weight wp, nn
 * negatives of weight wn. */
static clm_status sweep_key(const struct wctx *x, wcol *c, uint64_t key,
                            long double wp, long double wn, uint64_t np,
                            uint64_t nn) {
  const uint64_t before = c->nz_tp + c->nz_fp;
  c->auc += wn * (c->tp + 0.5L * wp);
  c->tp += wp;
  c->fp += wn;
  c->nz_tp += np;
  c->nz_fp += nn;
  if (wp > 0)
    c->ap += wp * (c->tp / (c->tp + c->fp));
  c->distinct++;
  return curve_point(x, c, key, before, c->nz_tp + c->nz_fp);
}

/* Ascending LSD radix sort of rows by the low `bits` bits of key - lo,
 * 11 at a time; stable, so rows of one key keep their row order. */
static void sort_rows(wrow *v, wrow *tmp, uint64_t n, uint64_t lo,
                      unsigned bits) {
  uint64_t count[2048];
  wrow *src = v, *dst = tmp;
  for (unsigned shift = 0; shift < bits; shift += 11) {
    memset(count, 0, sizeof count);
    for (uint64_t i = 0; i < n; ++i)
      count[((src[i].key - lo) >> shift) & 2047]++;
    if (count[((src[0].key - lo) >> shift) & 2047] == n)
      continue;
    uint64_t sum = 0;
    for (int d = 0; d < 2048; ++d) {
      const uint64_t t = count[d];
      count[d] = sum;
      sum += t;
    }
    for (uint64_t i = 0; i < n; ++i)
      dst[count[((src[i].key - lo) >> shift) & 2047]++] = src[i];
    wrow *t = src;
    src = dst;
    dst = t;
  }
  if (src != v)
    memcpy(v, src, n * sizeof *v);
}

static clm_status sweep_gathered(const struct wctx *x, wcol *c, wrow *rows,
                                 wrow *tmp, uint64_t n, const wrange *r) {
  if (n == 0)
    return CLM_OK;
  sort_rows(rows, tmp, n, r->lo, r->rem);
  clm_status st = CLM_OK;
  for (uint64_t end = n; end > 0 && st == CLM_OK;) {
    uint64_t begin = end - 1;
    const uint64_t key = rows[begin].key;
    while (begin > 0 && rows[begin - 1].key == key)
      --begin;
    long double wp = 0, wn = 0;
    uint64_t np = 0, nn = 0;
    for (uint64_t i = begin; i < end; ++i) { /* row order */
      if (signbit(rows[i].w)) {
        wn += -rows[i].w;
        ++nn;
      } else {
        wp += rows[i].w;
        ++np;
      }
    }
    st = sweep_key(x, c, key, wp, wn, np, nn);
    end = begin;
  }
  return st;
}

/* ---- passes ------------------------------------------------------------- */

/* Level-1 prefix bits: at most 16, with the counts and the ranges made
 * from them within an eighth of the budget. */
static unsigned choose_bits1(uint32_t k, uint64_t budget) {
  unsigned b = 16;
  while (b > 1 && ((uint64_t)k << b) * (8 + sizeof(wrange)) > budget / 8)
    --b;
  return b;
}

/* Split width: a count histogram of at most 2^w cells, with the ranges it
 * creates, within 1/32 of the budget. */
static unsigned split_bits(uint64_t budget) {
  unsigned w = 16;
  while (w > 1 && ((uint64_t)1 << w) * (8 + sizeof(wrange)) > budget / 32)
    --w;
  return w;
}

static clm_status first_pass(struct wctx *x, clm_error *err) {
  const clm_rk_setup *s = &x->s;
  const uint64_t n = x->src->n;
  const size_t cells = (size_t)s->k << s->bits1;
  uint64_t *hist = clm_calloc(cells, sizeof *hist);
  if (!hist)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate the weighted ranking histogram");
  const unsigned shift = s->key_bits - s->bits1;
  clm_status st = CLM_OK;
  for (uint64_t first = 0; first < n && st == CLM_OK; first += x->batch) {
    const uint64_t m = n - first < x->batch ? n - first : x->batch;
    const void *y, *z;
    const float *w;
    st = read_rows(x, first, m, &y, &z, &w, err);
    for (uint64_t r = 0; r < m && st == CLM_OK; ++r) {
      st = check_row(s, y, z, w, r, first + r, err);
      if (st != CLM_OK)
        break;
      for (uint32_t c = 0; c < s->k; ++c) {
        wcol *col = &x->cols[c];
        const int l = label_of(s, y, r, c);
        col->pos += l;
        col->neg += !l;
        if (w[r] > 0) {
          col->nz_total++;
          hist[((size_t)c << s->bits1) +
               (clm_rk_key(s, z, r * s->k + c) >> shift)]++;
        }
      }
    }
  }
  for (uint32_t c = 0; c < s->k && st == CLM_OK; ++c) {
    /* Exactly as many ranges as non-empty prefixes. */
    size_t used = 0;
    for (uint32_t b = 0; b < (1u << s->bits1); ++b)
      used += hist[((size_t)c << s->bits1) + b] != 0;
    if (used && !(x->cols[c].v = clm_malloc(used * sizeof(wrange))))
      st = clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate ranking ranges");
    x->cols[c].cap = used;
    for (uint32_t b = 0; b < (1u << s->bits1) && st == CLM_OK; ++b) {
      const uint64_t cnt = hist[((size_t)c << s->bits1) + b];
      if (cnt) {
        const wrange r = {(uint64_t)b << shift, cnt, c, (uint8_t)shift, 0};
        if (push(&x->cols[c], &r) != CLM_OK)
          st = clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                        "cannot allocate ranking ranges");
      }
    }
  }
  note_peak(x, cells * sizeof *hist);
  free(hist);
  return st;
}

/* One refine pass: the ranges it takes, per column in descending order. */
struct wpass {
  wrange *r;
  uint64_t *base;    /* gather: first slot; split: first cell */
  uint64_t *fill;    /* rows seen */
  long double *wsum; /* keysum: (wp, wn) */
  uint64_t *nsum;    /* keysum: (np, nn) */
  size_t len;
  size_t *first, *num; /* per column: its ranges in r */
  uint32_t *lut;       /* per (column, level-1 prefix): first range, count */
  wrow *rows, *tmp;
  uint64_t *cells;
  uint64_t slots, ncells;
};

static void wpass_free(struct wpass *p) {
  free(p->r);
  free(p->base);
  free(p->fill);
  free(p->wsum);
  free(p->nsum);
  free(p->first);
  free(p->num);
  free(p->lut);
  free(p->rows);
  free(p->tmp);
  free(p->cells);
  memset(p, 0, sizeof *p);
}

static clm_status plan(struct wctx *x, struct wpass *p, clm_error *err) {
  const uint32_t k = x->s.k;
  const uint64_t gather_avail = x->budget / 2 / W_ROW_BYTES;
  const uint64_t split_avail = x->budget / 16 / 8;
  const unsigned wmax = split_bits(x->budget);
  /* Per taken range: the range, its slot, fill and sums. */
  const size_t per_range =
      sizeof(wrange) + 3 * 8 + 2 * sizeof(long double) + 2 * 8;
  const size_t max_ranges = x->budget / 8 / per_range;
  size_t total = 0;
  for (uint32_t c = 0; c < k; ++c)
    total += x->cols[c].len;
  if (total > max_ranges)
    total = max_ranges;
  p->first = clm_calloc(k, sizeof *p->first);
  p->num = clm_calloc(k, sizeof *p->num);
  p->r = clm_malloc((total ? total : 1) * sizeof *p->r);
  p->base = clm_malloc((total ? total : 1) * sizeof *p->base);
  if (!p->first || !p->num || !p->r || !p->base)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate a weighted ranking pass");
  uint64_t slots = 0, cells = 0;
  for (uint32_t c = 0; c < k; ++c) {
    wcol *col = &x->cols[c];
    p->first[c] = p->len;
    while (col->len > 0 && p->len < total) {
      wrange r = col->v[col->len - 1];
      if (r.count <= gather_avail - slots) {
        r.kind = W_GATHER;
        p->base[p->len] = slots;
        slots += r.count;
      } else if (r.count <= gather_avail) {
        break; /* fits a later pass */
      } else if (r.rem == 0) {
        r.kind = W_KEYSUM;
        p->base[p->len] = 0;
      } else {
        const unsigned w = r.rem < wmax ? r.rem : wmax;
        if (cells + ((uint64_t)1 << w) > split_avail)
          break;
        r.kind = W_SPLIT;
        p->base[p->len] = cells;
        cells += (uint64_t)1 << w;
      }
      p->r[p->len++] = r;
      col->len--;
      if (r.kind == W_SPLIT)
        break; /* the rest of the column waits for its parts */
    }
    p->num[c] = p->len - p->first[c];
    /* Ascending within the column, for the lookup. */
    for (size_t i = p->first[c], j = p->len; i + 1 < j; ++i, --j) {
      wrange t = p->r[i];
      p->r[i] = p->r[j - 1];
      p->r[j - 1] = t;
      const uint64_t b = p->base[i];
      p->base[i] = p->base[j - 1];
      p->base[j - 1] = b;
    }
  }
  p->slots = slots;
  p->ncells = cells;
  /* The ranges of each level-1 prefix, so a row finds its range without a
   * search over the whole column. */
  const unsigned shift1 = x->s.key_bits - x->s.bits1;
  p->lut = clm_calloc((size_t)k << x->s.bits1, 2 * sizeof *p->lut);
  if (!p->lut)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate a weighted ranking pass");
  for (size_t i = 0; i < p->len; ++i) {
    uint32_t *e = p->lut + 2 * (((size_t)p->r[i].col << x->s.bits1) +
                                (size_t)(p->r[i].lo >> shift1));
    if (e[1] == 0)
      e[0] = (uint32_t)i;
    e[1]++;
  }
  p->fill = clm_calloc(p->len ? p->len : 1, sizeof *p->fill);
  p->wsum = clm_calloc(2 * (p->len ? p->len : 1), sizeof *p->wsum);
  p->nsum = clm_calloc(2 * (p->len ? p->len : 1), sizeof *p->nsum);
  p->rows = clm_malloc((slots ? slots : 1) * sizeof *p->rows);
  p->tmp = clm_malloc((slots ? slots : 1) * sizeof *p->tmp);
  p->cells = clm_calloc(cells ? cells : 1, sizeof *p->cells);
  if (!p->fill || !p->wsum || !p->nsum || !p->rows || !p->tmp || !p->cells)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate a weighted ranking pass");
  note_peak(x, slots * W_ROW_BYTES + cells * 8 + total * per_range + k * 16 +
                   ((uint64_t)k << x->s.bits1) * 8);
  return CLM_OK;
}

/* The range of column c holding key, or -1. */
static long find_range(const struct wpass *p, const clm_rk_setup *s, uint32_t c,
                       uint64_t key) {
  const uint32_t *e = p->lut + 2 * (((size_t)c << s->bits1) +
                                    (size_t)(key >> (s->key_bits - s->bits1)));
  if (e[1] == 0)
    return -1;
  size_t lo = e[0], hi = (size_t)e[0] + e[1];
  while (lo < hi) { /* first range with lo > key */
    const size_t mid = lo + (hi - lo) / 2;
    if (p->r[mid].lo > key)
      hi = mid;
    else
      lo = mid + 1;
  }
  if (lo == e[0])
    return -1;
  const wrange *r = &p->r[lo - 1];
  const uint64_t span = r->rem >= 64 ? ~0ull : ((uint64_t)1 << r->rem) - 1;
  return key - r->lo <= span ? (long)(lo - 1) : -1;
}

static clm_status run_pass(struct wctx *x, struct wpass *p, clm_error *err) {
  const clm_rk_setup *s = &x->s;
  const uint64_t n = x->src->n;
  const unsigned wmax = split_bits(x->budget);
  clm_status st = CLM_OK;
  for (uint64_t first = 0; first < n && st == CLM_OK; first += x->batch) {
    const uint64_t m = n - first < x->batch ? n - first : x->batch;
    const void *y, *z;
    const float *w;
    st = read_rows(x, first, m, &y, &z, &w, err);
    for (uint64_t r = 0; r < m && st == CLM_OK; ++r) {
      const float wv = w[r];
      if (!(wv > 0))
        continue; /* dropped (and checked in pass 1) */
      for (uint32_t c = 0; c < s->k; ++c) {
        if (p->num[c] == 0)
          continue;
        const uint64_t key = clm_rk_key(s, z, r * s->k + c);
        const long i = find_range(p, s, c, key);
        if (i < 0)
          continue;
        const wrange *g = &p->r[i];
        const int l = label_of(s, y, r, c);
        if (p->fill[i] >= g->count) {
          st = changed(err);
          break;
        }
        p->fill[i]++;
        if (g->kind == W_GATHER) {
          p->rows[p->base[i] + p->fill[i] - 1] = (wrow){key, l ? wv : -wv};
        } else if (g->kind == W_KEYSUM) {
          p->wsum[2 * i + !l] += wv;
          p->nsum[2 * i + !l]++;
        } else {
          const unsigned wb = g->rem < wmax ? g->rem : wmax;
          p->cells[p->base[i] + ((key - g->lo) >> (g->rem - wb))]++;
        }
      }
    }
  }
  return st;
}

static clm_status resolve_pass(struct wctx *x, struct wpass *p,
                               clm_error *err) {
  const unsigned wmax = split_bits(x->budget);
  for (uint32_t c = 0; c < x->s.k; ++c) {
    wcol *col = &x->cols[c];
    /* Descending: the highest range first. */
    for (size_t i = p->first[c] + p->num[c]; i-- > p->first[c];) {
      const wrange *g = &p->r[i];
      if (p->fill[i] != g->count)
        return changed(err);
      clm_status st = CLM_OK;
      if (g->kind == W_GATHER) {
        st = sweep_gathered(x, col, p->rows + p->base[i], p->tmp, g->count, g);
      } else if (g->kind == W_KEYSUM) {
        st = sweep_key(x, col, g->lo, p->wsum[2 * i], p->wsum[2 * i + 1],
                       p->nsum[2 * i], p->nsum[2 * i + 1]);
      } else {
        /* Parts pushed ascending, so the highest is on top. */
        const unsigned wb = g->rem < wmax ? g->rem : wmax;
        const unsigned sub = g->rem - wb;
        for (uint64_t b = 0; b < ((uint64_t)1 << wb) && st == CLM_OK; ++b) {
          const uint64_t cnt = p->cells[p->base[i] + b];
          if (cnt) {
            const wrange r = {g->lo + (b << sub), cnt, c, (uint8_t)sub, 0};
            st = push(col, &r);
          }
        }
      }
      if (st != CLM_OK)
        return clm_fail(err, st, -1, 0, "cannot resolve a weighted pass");
    }
  }
  return CLM_OK;
}

/* ---- the result ------------------------------------------------------------
 */

static clm_status result(struct wctx *x, clm_ranking_result *out) {
  const clm_rk_setup *s = &x->s;
  memset(out, 0, sizeof *out);
  out->n = x->src->n;
  out->k = s->k;
  out->exact = 1;
  out->classes = clm_calloc(s->k, sizeof *out->classes);
  if (!out->classes)
    return CLM_ERR_OUT_OF_MEMORY;
  double auc_sum = 0, auc_w = 0, ap_sum = 0, ap_w = 0, auc_pw = 0, ap_pw = 0;
  uint64_t auc_n = 0, ap_n = 0;
  for (uint32_t k = 0; k < s->k; ++k) {
    wcol *c = &x->cols[k];
    clm_ranking_class *o = &out->classes[k];
    o->positives = c->pos;
    o->negatives = c->neg;
    o->positive_weight = (double)c->tp;
    o->negative_weight = (double)c->fp;
    o->distinct = c->distinct;
    o->roc_auc = o->roc_auc_lo = o->roc_auc_hi = NAN;
    o->average_precision = o->average_precision_lo = o->average_precision_hi =
        NAN;
    if (c->tp > 0 && c->fp > 0) {
      o->roc_auc = o->roc_auc_lo = o->roc_auc_hi =
          (double)(c->auc / (c->tp * c->fp));
      auc_sum += o->roc_auc;
      auc_w += o->roc_auc * o->positive_weight;
      auc_pw += o->positive_weight;
      auc_n++;
    }
    if (c->tp > 0) {
      o->average_precision = o->average_precision_lo = o->average_precision_hi =
          (double)(c->ap / c->tp);
      ap_sum += o->average_precision;
      ap_w += o->average_precision * o->positive_weight;
      ap_pw += o->positive_weight;
      ap_n++;
    }
    if (x->curve_points) {
      clm_rk_point *pts = c->all_overflow ? c->even : c->all;
      long double *pw = c->all_overflow ? c->even_w : c->all_w;
      const uint64_t len = c->all_overflow ? c->even_len : c->all_len;
      o->curve = clm_malloc((len ? len : 1) * sizeof *o->curve);
      if (!o->curve)
        return CLM_ERR_OUT_OF_MEMORY;
      /* Kept in descending key order already (the sweep's order). */
      for (uint64_t i = 0; i < len; ++i)
        o->curve[i] =
            (clm_curve_point){clm_rk_value(s, pts[i].key), pts[i].tp, pts[i].fp,
                              (double)pw[2 * i], (double)pw[2 * i + 1]};
      o->curve_len = len;
    }
  }
  out->roc_auc_macro = auc_n ? auc_sum / (double)auc_n : NAN;
  out->roc_auc_weighted = auc_pw > 0 ? auc_w / auc_pw : NAN;
  out->average_precision_macro = ap_n ? ap_sum / (double)ap_n : NAN;
  out->average_precision_weighted = ap_pw > 0 ? ap_w / ap_pw : NAN;
  return CLM_OK;
}

clm_status clm_rk_weighted_compute(const clm_ranking_source *src,
                                   const clm_ranking_options *o,
                                   clm_ranking_result *out, clm_error *err) {
  struct wctx x = {0};
  x.src = src;
  x.s.k = src->k;
  x.s.f64 = src->dtype == CLM_DTYPE_F64 && !src->softmax;
  x.s.key_bits = x.s.f64 ? 64 : 32;
  x.s.probs = o->scores_are_probs;
  x.s.multilabel = src->multilabel != 0;
  x.s.bits1 = choose_bits1(src->k, o->memory_budget);
  x.s.bins1 = 1u << x.s.bits1;
  x.budget = o->memory_budget;
  x.curve_points = o->curve_points;
  x.batch = o->batch_rows ? o->batch_rows : (uint64_t)1 << 22;
  if (x.batch > src->n)
    x.batch = src->n;
  clm_status st = CLM_OK;
  if (src->softmax && !(x.soft = clm_malloc(x.batch * src->k * sizeof *x.soft)))
    st = clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                  "cannot allocate a batch of softmax probabilities");
  if (st == CLM_OK && !(x.cols = clm_calloc(src->k, sizeof *x.cols)))
    st = clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                  "cannot allocate the ranking columns");
  if (st == CLM_OK)
    st = first_pass(&x, err);
  uint32_t passes = 1;
  for (;;) {
    if (st != CLM_OK)
      break;
    int left = 0;
    for (uint32_t c = 0; c < src->k; ++c)
      left |= x.cols[c].len > 0;
    if (!left)
      break;
    struct wpass p = {0};
    st = plan(&x, &p, err);
    if (st == CLM_OK)
      st = run_pass(&x, &p, err);
    if (st == CLM_OK)
      st = resolve_pass(&x, &p, err);
    wpass_free(&p);
    ++passes;
  }
  if (st == CLM_OK) {
    st = result(&x, out);
    if (st != CLM_OK) {
      clm_ranking_result_release(out);
      st = clm_fail(err, st, -1, 0, "cannot allocate the ranking result");
    } else {
      out->passes = passes;
      out->memory_bytes = x.peak;
    }
  }
  if (x.cols)
    for (uint32_t c = 0; c < src->k; ++c) {
      free(x.cols[c].v);
      free(x.cols[c].all);
      free(x.cols[c].even);
      free(x.cols[c].all_w);
      free(x.cols[c].even_w);
    }
  free(x.cols);
  free(x.soft);
  return st;
}
