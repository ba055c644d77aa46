/* Resolving counted key ranges into exact ROC-AUC and AP terms: pure C,
 * no OpenCL. Cells are visited in descending key order, so for each cell
 * the samples above it (tp, fp) and the negatives below it are known. */
#include "tasks/ranking/ranking.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t clm_rk_key(const clm_rk_setup *s, const void *scores, uint64_t i) {
  if (s->f64) {
    uint64_t b;
    memcpy(&b, (const double *)scores + i, 8);
    if (b == 0x8000000000000000ull)
      b = 0;
    return (b & 0x8000000000000000ull) ? ~b : (b | 0x8000000000000000ull);
  }
  uint32_t b;
  memcpy(&b, (const float *)scores + i, 4);
  if (b == 0x80000000u)
    b = 0;
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

double clm_rk_value(const clm_rk_setup *s, uint64_t key) {
  if (s->f64) {
    const uint64_t b =
        (key & 0x8000000000000000ull) ? (key ^ 0x8000000000000000ull) : ~key;
    double v;
    memcpy(&v, &b, 8);
    return v;
  }
  const uint32_t k32 = (uint32_t)key;
  const uint32_t b = (k32 & 0x80000000u) ? (k32 ^ 0x80000000u) : ~k32;
  float v;
  memcpy(&v, &b, 4);
  return v;
}

clm_status clm_rk_nodes_push(clm_rk_nodes *n, const clm_rk_node *node) {
  if (n->len == n->cap) {
    const size_t cap = n->cap ? 2 * n->cap : 256;
    clm_rk_node *v = clm_realloc(n->v, cap * sizeof *v);
    if (!v)
      return CLM_ERR_OUT_OF_MEMORY;
    n->v = v;
    n->cap = cap;
  }
  n->v[n->len++] = *node;
  return CLM_OK;
}

static clm_status point_push(clm_rk_point **v, uint64_t *len, uint64_t cap,
                             const clm_rk_point *p) {
  /* Grows by powers of two up to cap, so memory follows what is kept. */
  const uint64_t n = *len;
  if ((n & (n - 1)) == 0 || n == 0) {
    uint64_t want = n ? 2 * n : 16;
    if (want > cap)
      want = cap;
    if (want > n) {
      clm_rk_point *nv = clm_realloc(*v, want * sizeof *nv);
      if (!nv)
        return CLM_ERR_OUT_OF_MEMORY;
      *v = nv;
    }
  }
  (*v)[(*len)++] = *p;
  return CLM_OK;
}

/* Keeps a curve point: all of them while at most M, and those at the
 * M ranks 1 + floor(j (T - 1) / (M - 1)), j = 0..M-1, of the T samples,
 * so the two end points are always kept. */
static clm_status curve_point(const clm_rk_resolver *r, clm_rk_column *c,
                              uint64_t key, uint64_t before, uint64_t tp,
                              uint64_t fp) {
  const uint64_t m = r->curve_points;
  if (m == 0)
    return CLM_OK;
  const clm_rk_point p = {key, tp, fp};
  clm_status st = CLM_OK;
  if (!c->all_overflow) {
    if (c->all_len < m)
      st = point_push(&c->all, &c->all_len, m, &p);
    else
      c->all_overflow = 1;
  }
  const uint64_t total = c->pos + c->neg, after = tp + fp;
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
    st = point_push(&c->even, &c->even_len, m, &p);
  return st;
}

/* sum_{i=1..p} (a + i) / (b + i) for b >= a >= 0: the AP of p positives
 * that follow b - a negatives, one threshold each (the least precision
 * they can have). */
static long double precision_floor(uint64_t a, uint64_t b, uint64_t p) {
  const uint64_t head = p < 1024 ? p : 1024;
  long double s = 0;
  for (uint64_t i = 1; i <= head; ++i)
    s += (long double)(a + i) / (long double)(b + i);
  if (head == p)
    return s;
  /* The rest: (p - head) - (b - a) (H(b + p) - H(b + head)), harmonic
   * numbers by their expansion (error below 1e-14 from 1024 on). */
  const long double x = (long double)(b + head) + 0.5L;
  const long double y = (long double)(b + p) + 0.5L;
  const long double h = logl(y / x) + 1.0L / (24 * y * y) - 1.0L / (24 * x * x);
  return s + (long double)(p - head) - (long double)(b - a) * h;
}

/* A descending walk over one node's cells. */
struct walk {
  clm_rk_resolver *r;
  const clm_rk_node *node;
  clm_rk_column *c;
  uint64_t tp, fp;   /* samples of the column above the current cell */
  uint64_t neg_left; /* negatives of the node not yet passed */
  uint64_t pos_seen, neg_seen;
  /* One-key cells, summed here and added to the column at the end: a
   * node of fewer than 2^32 samples has fewer than 2^63 pairs. */
  uint64_t u2_keys, distinct;
  double ap_keys;
  /* The current cell holds one score, one_key (pass 1's AND and OR of
   * its keys agree, or it is a lattice point). */
  int one;
  uint64_t one_key;
  /* Else, with lat, its keys' AND and OR. */
  int lat;
  uint32_t lat_and, lat_or;
};

/* One key of a node of fewer than 2^32 samples, neg + pos > 0: pairs
 * with the negatives below rank the positive higher, pairs within the key
 * tie (1/2 each); one threshold. */
static inline clm_status one_key(struct walk *w, uint64_t key, uint64_t neg,
                                 uint64_t pos) {
  w->pos_seen += pos;
  w->neg_seen += neg;
  if (neg > w->neg_left)
    return CLM_ERR_FORMAT; /* counts inconsistent with the node's */
  w->neg_left -= neg;
  const uint64_t tp = w->tp + pos, fp = w->fp + neg;
  w->u2_keys += pos * (2 * w->neg_left + neg);
  if (pos)
    w->ap_keys += (double)pos * ((double)tp / (double)(tp + fp));
  w->distinct++;
  clm_status st = CLM_OK;
  if (w->r->curve_points)
    st = curve_point(w->r, w->c, key, w->tp + w->fp, tp, fp);
  w->tp = tp;
  w->fp = fp;
  return st;
}

static clm_status cell(struct walk *w, uint64_t lo, unsigned cell_bits,
                       uint64_t neg, uint64_t pos) {
  if (neg == 0 && pos == 0)
    return CLM_OK;
  if (cell_bits == 0 && w->node->pos + w->node->neg < (1ull << 32))
    return one_key(w, lo, neg, pos);
  clm_rk_column *c = w->c;
  w->pos_seen += pos;
  w->neg_seen += neg;
  if (neg > w->neg_left)
    return CLM_ERR_FORMAT; /* counts inconsistent with the node's */
  w->neg_left -= neg;
  clm_status st = CLM_OK;
  /* Pairs with the negatives below this cell: the positive ranks higher. */
  c->u2 += (unsigned __int128)pos * 2 * w->neg_left;
  if (cell_bits == 0) {
    const uint64_t tp = w->tp + pos, fp = w->fp + neg;
    c->u2 += (unsigned __int128)pos * neg;
    if (pos)
      c->ap += (double)pos * ((double)tp / (double)(tp + fp));
    c->distinct++;
    st = curve_point(w->r, c, lo, w->tp + w->fp, tp, fp);
  } else {
    const int need_auc = pos && neg;
    const int need_ap = pos && (neg || (pos >= 2 && w->fp > 0));
    const int need_curve = w->r->curve_points > 0;
    if (need_auc || need_ap || need_curve) {
      if (w->one) {
        /* What its refine pass would find: one key, its pairs tied; the
         * same terms, rounded as that pass rounds them. */
        const uint64_t tp = w->tp + pos, fp = w->fp + neg;
        c->u2 += (unsigned __int128)pos * neg;
        if (pos)
          c->ap += (double)pos * ((double)tp / (double)(tp + fp));
        c->distinct++;
        st = curve_point(w->r, c, w->one_key, w->tp + w->fp, tp, fp);
      } else if (w->r->out) {
        const uint64_t span = cell_bits >= 64 ? ~0ull : (1ull << cell_bits) - 1;
        clm_rk_node child = {.col = w->node->col,
                             .prefix = w->r->setup->key_bits - cell_bits,
                             .lo = lo,
                             .hi = lo + span,
                             .pos = pos,
                             .neg = neg,
                             .tp_above = w->tp,
                             .fp_above = w->fp};
        if (w->lat) {
          const uint32_t v = w->lat_and ^ w->lat_or;
          child.lattice = 1;
          child.kshift = (unsigned)__builtin_ctz(v);
          child.klo = w->lat_and;
          child.khi = w->lat_or;
        }
        st = clm_rk_nodes_push(w->r->out, &child);
      } else {
        c->open = 1;
        c->u2_open += (unsigned __int128)pos * neg * 2;
        if (pos) {
          c->ap_open_lo += precision_floor(w->tp, w->tp + w->fp + neg, pos);
          c->ap_open_hi += (long double)pos * (long double)(w->tp + pos) /
                           (long double)(w->tp + w->fp + pos);
        }
      }
    } else if (pos) {
      /* Positives only, and either one of them or nothing negative above:
       * their precision does not depend on their order. */
      c->ap += pos == 1
                   ? (long double)(w->tp + 1) / (long double)(w->tp + w->fp + 1)
                   : (long double)pos;
    }
  }
  w->tp += pos;
  w->fp += neg;
  return st;
}

/* A walk over node's cells from its top. */
static struct walk walk_start(clm_rk_resolver *r, const clm_rk_node *node) {
  return (struct walk){.r = r,
                       .node = node,
                       .c = r->into ? r->into : &r->cols[node->col],
                       .tp = node->tp_above,
                       .fp = node->fp_above,
                       .neg_left = node->neg};
}

static clm_status walk_end(struct walk *w) {
  w->c->u2 += w->u2_keys;
  w->c->ap += w->ap_keys;
  w->c->distinct += w->distinct;
  return w->pos_seen == w->node->pos && w->neg_seen == w->node->neg
             ? CLM_OK
             : CLM_ERR_FORMAT;
}

clm_status clm_rk_scan_cells(clm_rk_resolver *r, const clm_rk_node *node,
                             const void *cells, int format, uint64_t count,
                             unsigned cell_bits) {
  struct walk w = walk_start(r, node);
  const uint64_t *c64 = cells;
  const uint32_t *c32 = cells;
  for (uint64_t i = count; i-- > 0;) {
    uint64_t neg, pos;
    if (format == CLM_RK_CELLS_U64) {
      neg = c64[2 * i];
      pos = c64[2 * i + 1];
    } else if (format == CLM_RK_CELLS_U32) {
      neg = c32[2 * i];
      pos = c32[2 * i + 1];
    } else {
      neg = (uint64_t)c32[4 * i + 1] << 32 | c32[4 * i];
      pos = (uint64_t)c32[4 * i + 3] << 32 | c32[4 * i + 2];
    }
    uint64_t lo = node->lo + (cell_bits >= 64 ? 0 : (i << cell_bits));
    if (node->lattice) {
      /* Cell i is the lattice point klo + (i << kshift): one key, summed
       * as a gathered range's keys are. */
      lo = node->klo + (i << cell_bits);
      if (!(neg | pos))
        continue;
      if (node->pos + node->neg < (1ull << 32)) {
        const clm_status st = one_key(&w, lo, neg, pos);
        if (st != CLM_OK)
          return st;
        continue;
      }
      w.one = 1;
      w.one_key = lo;
    } else {
      /* Level 1: equal AND and OR of the cell's keys: one score. */
      w.one = r->range && cell_bits > 0 && (neg | pos) &&
              r->range[2 * i] == r->range[2 * i + 1];
      w.one_key = w.one ? r->range[2 * i] : 0;
      w.lat = r->range && !w.one && (neg | pos);
      w.lat_and = w.lat ? r->range[2 * i] : 0;
      w.lat_or = w.lat ? r->range[2 * i + 1] : 0;
    }
    clm_status st = cell(&w, lo, cell_bits, neg, pos);
    if (st != CLM_OK)
      return st;
  }
  return walk_end(&w);
}

/* Ascending LSD radix sort of the low `bits` bits, 11 at a time; digits
 * that every value shares are skipped. */
static void radix_sort(uint64_t *v, uint64_t *tmp, uint64_t n, unsigned bits) {
  uint64_t count[2048];
  uint64_t *src = v, *dst = tmp;
  for (unsigned shift = 0; shift < bits; shift += 11) {
    memset(count, 0, sizeof count);
    for (uint64_t i = 0; i < n; ++i)
      count[(src[i] >> shift) & 2047]++;
    if (count[(src[0] >> shift) & 2047] == n)
      continue;
    uint64_t sum = 0;
    for (int d = 0; d < 2048; ++d) {
      const uint64_t c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (uint64_t i = 0; i < n; ++i)
      dst[count[(src[i] >> shift) & 2047]++] = src[i];
    uint64_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != v)
    memcpy(v, src, n * sizeof *v);
}

clm_status clm_rk_scan_gathered(clm_rk_resolver *r, const clm_rk_node *node,
                                uint64_t *packed, uint64_t *tmp,
                                uint64_t count) {
  const unsigned rem = r->setup->key_bits - node->prefix; /* < 64 */
  const uint64_t mask = (1ull << rem) - 1;
  /* Only the low rem + 1 bits differ inside the range. */
  if (count > 0)
    radix_sort(packed, tmp, count, rem + 1);
  struct walk w = walk_start(r, node);
  for (uint64_t i = count; i > 0;) {
    const uint64_t low = (packed[i - 1] >> 1) & mask;
    uint64_t pos = 0, neg = 0;
    while (i > 0 && ((packed[i - 1] >> 1) & mask) == low) {
      if (packed[i - 1] & 1)
        ++pos;
      else
        ++neg;
      --i;
    }
    clm_status st = cell(&w, node->lo | low, 0, neg, pos);
    if (st != CLM_OK)
      return st;
  }
  return walk_end(&w);
}

/* Ascending sort of 16-bit keys in two byte passes (in -> tmp -> out);
 * a few keys by insertion. */
static void sort16(const uint16_t *in, int32_t *out, uint16_t *tmp,
                   uint64_t n) {
  if (n < 32) {
    for (uint64_t i = 0; i < n; ++i) {
      const int32_t v = in[i];
      uint64_t j = i;
      for (; j > 0 && out[j - 1] > v; --j)
        out[j] = out[j - 1];
      out[j] = v;
    }
    return;
  }
  uint32_t lo[256] = {0}, hi[256] = {0};
  for (uint64_t i = 0; i < n; ++i) {
    lo[in[i] & 255]++;
    hi[in[i] >> 8]++;
  }
  uint32_t sl = 0, sh = 0;
  for (int d = 0; d < 256; ++d) {
    const uint32_t a = lo[d], b = hi[d];
    lo[d] = sl;
    hi[d] = sh;
    sl += a;
    sh += b;
  }
  for (uint64_t i = 0; i < n; ++i)
    tmp[lo[in[i] & 255]++] = in[i];
  for (uint64_t i = 0; i < n; ++i)
    out[hi[tmp[i] >> 8]++] = tmp[i];
}

/* The descending merge of sorted negatives a[1..nn] and positives
 * b[1..np] (a[0] = b[0] = -1 end them), one sample at a time without a
 * branch on the label; a threshold ends where the next key differs. The
 * same integer sums as one_key, and the same AP terms in the same order
 * (a key without positives adds +0.0). */
static void merge_runs(struct walk *w, const int32_t *a, uint64_t nn,
                       const int32_t *b, uint64_t np) {
  uint64_t i = nn, j = np, tp = w->tp, fp = w->fp, neg_left = w->neg_left;
  uint64_t gp = 0, gn = 0, u2 = 0, distinct = 0;
  double ap = 0;
  while (i | j) {
    const int take_neg = a[i] >= b[j]; /* ties: negatives first */
    const int32_t key = take_neg ? a[i] : b[j];
    i -= (uint64_t)take_neg;
    j -= (uint64_t)!take_neg;
    gn += (uint64_t)take_neg;
    gp += (uint64_t)!take_neg;
    const int32_t next = a[i] > b[j] ? a[i] : b[j];
    if (next != key) {
      neg_left -= gn;
      tp += gp;
      fp += gn;
      u2 += gp * (2 * neg_left + gn);
      ap += (double)gp * ((double)tp / (double)(tp + fp));
      ++distinct;
      gp = gn = 0;
    }
  }
  w->tp = tp;
  w->fp = fp;
  w->neg_left = neg_left;
  w->pos_seen += np;
  w->neg_seen += nn;
  w->u2_keys += u2;
  w->ap_keys += ap;
  w->distinct += distinct;
}

clm_status clm_rk_scan_runs16(clm_rk_resolver *r, const clm_rk_node *node,
                              const uint16_t *neg, uint64_t nn,
                              const uint16_t *pos, uint64_t np, void *scratch,
                              uint64_t scratch_bytes) {
  struct walk w = walk_start(r, node);
  if (nn != node->neg || np != node->pos)
    return CLM_ERR_FORMAT;
  clm_status st = CLM_OK;
  const uint64_t sorted =
      (nn + np + 2) * sizeof(int32_t) + (nn > np ? nn : np) * sizeof(uint16_t);
  if (sorted <= scratch_bytes) {
    int32_t *a = scratch, *b = a + nn + 1;
    uint16_t *tmp = (uint16_t *)(b + np + 1);
    a[0] = b[0] = -1;
    sort16(neg, a + 1, tmp, nn);
    sort16(pos, b + 1, tmp, np);
    if (!r->curve_points) {
      merge_runs(&w, a, nn, b, np);
    } else {
      /* Curves: one key at a time, each a candidate point. */
      uint64_t i = nn, j = np;
      while ((i | j) && st == CLM_OK) {
        const int32_t k = a[i] > b[j] ? a[i] : b[j];
        uint64_t cn = 0, cp = 0;
        for (; a[i] == k; --i)
          ++cn;
        for (; b[j] == k; --j)
          ++cp;
        st = one_key(&w, node->lo | (uint32_t)k, cn, cp);
      }
    }
  } else if (scratch_bytes >= 2 * 65536 * sizeof(uint32_t)) {
    /* Dense: a count per key and label. */
    uint32_t *cn = scratch, *cp = cn + 65536;
    memset(scratch, 0, 2 * 65536 * sizeof *cn);
    for (uint64_t i = 0; i < nn; ++i)
      cn[neg[i]]++;
    for (uint64_t i = 0; i < np; ++i)
      cp[pos[i]]++;
    for (uint32_t k = 65536; k-- > 0 && st == CLM_OK;)
      if (cn[k] | cp[k])
        st = one_key(&w, node->lo | k, cn[k], cp[k]);
  } else {
    st = CLM_ERR_OUT_OF_MEMORY; /* the plan gives every node its scratch */
  }
  if (st != CLM_OK)
    return st;
  return walk_end(&w);
}

static int point_desc(const void *a, const void *b) {
  const clm_rk_point *x = a, *y = b;
  return x->key < y->key ? 1 : x->key > y->key ? -1 : 0;
}

void clm_rk_columns_free(clm_rk_column *cols, uint32_t k) {
  if (!cols)
    return;
  for (uint32_t i = 0; i < k; ++i) {
    free(cols[i].all);
    free(cols[i].even);
  }
  free(cols);
}

clm_status clm_rk_result(const clm_rk_setup *s, clm_rk_column *cols, uint64_t n,
                         uint64_t curve_points, clm_ranking_result *out) {
  memset(out, 0, sizeof *out);
  out->n = n;
  out->k = s->k;
  out->exact = 1;
  out->classes = clm_calloc(s->k, sizeof *out->classes);
  if (!out->classes)
    return CLM_ERR_OUT_OF_MEMORY;
  double auc_sum = 0, auc_w = 0, ap_sum = 0, ap_w = 0;
  uint64_t auc_n = 0, ap_n = 0, auc_pos = 0, ap_pos = 0;
  for (uint32_t k = 0; k < s->k; ++k) {
    clm_rk_column *c = &cols[k];
    clm_ranking_class *o = &out->classes[k];
    o->positives = c->pos;
    o->negatives = c->neg;
    o->positive_weight = (double)c->pos;
    o->negative_weight = (double)c->neg;
    o->roc_auc = o->roc_auc_lo = o->roc_auc_hi = NAN;
    o->average_precision = o->average_precision_lo = o->average_precision_hi =
        NAN;
    if (c->open)
      out->exact = 0;
    if (c->pos && c->neg) {
      const long double pairs2 = 2.0L * (long double)c->pos * c->neg;
      o->roc_auc_lo = (double)((long double)c->u2 / pairs2);
      o->roc_auc_hi = (double)((long double)(c->u2 + c->u2_open) / pairs2);
      o->roc_auc =
          c->open ? 0.5 * (o->roc_auc_lo + o->roc_auc_hi) : o->roc_auc_lo;
      auc_sum += o->roc_auc;
      auc_w += o->roc_auc * (double)c->pos;
      auc_n++;
      auc_pos += c->pos;
    }
    if (c->pos) {
      const long double p = (long double)c->pos;
      o->average_precision_lo = (double)((c->ap + c->ap_open_lo) / p);
      o->average_precision_hi = (double)((c->ap + c->ap_open_hi) / p);
      if (c->open) {
        /* Rounding must not make the interval miss the value. */
        o->average_precision_lo *= 1.0 - 1e-13;
        o->average_precision_hi *= 1.0 + 1e-13;
        if (o->average_precision_hi > 1.0)
          o->average_precision_hi = 1.0;
      }
      o->average_precision =
          c->open ? 0.5 * (o->average_precision_lo + o->average_precision_hi)
                  : o->average_precision_lo;
      ap_sum += o->average_precision;
      ap_w += o->average_precision * (double)c->pos;
      ap_n++;
      ap_pos += c->pos;
    }
    o->distinct = curve_points && !c->open ? c->distinct : 0;
    if (curve_points && !c->open) {
      clm_rk_point *pts = c->all_overflow ? c->even : c->all;
      const uint64_t len = c->all_overflow ? c->even_len : c->all_len;
      qsort(pts, len, sizeof *pts, point_desc);
      o->curve = clm_malloc((len ? len : 1) * sizeof *o->curve);
      if (!o->curve)
        return CLM_ERR_OUT_OF_MEMORY;
      for (uint64_t i = 0; i < len; ++i)
        o->curve[i] =
            (clm_curve_point){clm_rk_value(s, pts[i].key), pts[i].tp, pts[i].fp,
                              (double)pts[i].tp, (double)pts[i].fp};
      o->curve_len = len;
    }
  }
  out->roc_auc_macro = auc_n ? auc_sum / (double)auc_n : NAN;
  out->roc_auc_weighted = auc_pos ? auc_w / (double)auc_pos : NAN;
  out->average_precision_macro = ap_n ? ap_sum / (double)ap_n : NAN;
  out->average_precision_weighted = ap_pos ? ap_w / (double)ap_pos : NAN;
  return CLM_OK;
}

void clm_ranking_result_release(clm_ranking_result *r) {
  if (!r)
    return;
  if (r->classes)
    for (uint32_t k = 0; k < r->k; ++k)
      free(r->classes[k].curve);
  free(r->classes);
  memset(r, 0, sizeof *r);
}
