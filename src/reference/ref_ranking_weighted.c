/* The weighted ranking reference (see ref_ranking_weighted.h). */
#include "ref_ranking_weighted.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct witem {
  double s, w;
  int y;
};

static int witem_cmp(const void *a, const void *b) {
  const struct witem *x = a, *y = b;
  return x->s < y->s ? -1 : x->s > y->s ? 1 : 0; /* ascending */
}

void clm_ref_wranking_eval(const uint8_t *y, const double *s, const double *w,
                           uint64_t n, clm_ref_wranking *out) {
  memset(out, 0, sizeof *out);
  out->roc_auc = NAN;
  out->average_precision = NAN;
  uint64_t m = 0;
  for (uint64_t i = 0; i < n; ++i) {
    out->pos += y[i] != 0;
    out->neg += y[i] == 0;
    m += w[i] > 0;
  }
  if (m == 0)
    return;
  struct witem *it = malloc((size_t)m * sizeof *it);
  uint64_t *gstart = malloc((size_t)(m + 1) * sizeof *gstart);
  clm_ref_wpoint *curve = malloc((size_t)m * sizeof *curve);
  if (!it || !gstart || !curve) {
    free(it);
    free(gstart);
    free(curve);
    return;
  }
  m = 0;
  for (uint64_t i = 0; i < n; ++i)
    if (w[i] > 0)
      it[m++] = (struct witem){s[i], w[i], y[i] != 0};
  qsort(it, (size_t)m, sizeof *it, witem_cmp);
  /* Groups of equal scores, ascending. */
  uint64_t groups = 0;
  for (uint64_t i = 0; i < m; ++i)
    if (i == 0 || it[i].s != it[i - 1].s)
      gstart[groups++] = i;
  gstart[groups] = m;
  long double wp_all = 0, wn_all = 0, u = 0, neg_below = 0;
  for (uint64_t g = 0; g < groups; ++g) {
    long double wp = 0, wn = 0;
    for (uint64_t i = gstart[g]; i < gstart[g + 1]; ++i) {
      if (it[i].y)
        wp += it[i].w;
      else
        wn += it[i].w;
    }
    u += wp * (neg_below + wn / 2);
    neg_below += wn;
    wp_all += wp;
    wn_all += wn;
  }
  long double tp = 0, fp = 0, ap = 0;
  uint64_t ctp = 0, cfp = 0;
  for (uint64_t g = groups; g-- > 0;) {
    long double wp = 0, wn = 0;
    for (uint64_t i = gstart[g]; i < gstart[g + 1]; ++i) {
      if (it[i].y) {
        wp += it[i].w;
        ++ctp;
      } else {
        wn += it[i].w;
        ++cfp;
      }
    }
    tp += wp;
    fp += wn;
    if (wp > 0)
      ap += wp / wp_all * (tp / (tp + fp));
    clm_ref_wpoint *p = &curve[groups - 1 - g];
    p->threshold = it[gstart[g]].s == 0 ? 0.0 : it[gstart[g]].s;
    p->tp = ctp;
    p->fp = cfp;
    p->tp_weight = (double)tp;
    p->fp_weight = (double)fp;
  }
  out->pos_weight = (double)wp_all;
  out->neg_weight = (double)wn_all;
  if (wp_all > 0 && wn_all > 0)
    out->roc_auc = (double)(u / (wp_all * wn_all));
  if (wp_all > 0)
    out->average_precision = (double)ap;
  clm_ref_wpoint *shrunk = realloc(curve, (size_t)groups * sizeof *curve);
  out->curve = shrunk ? shrunk : curve;
  out->curve_len = groups;
  free(it);
  free(gstart);
}

void clm_ref_wranking_ovr(const int32_t *y, const double *s, const double *w,
                          uint64_t n, uint32_t k, clm_ref_wranking *per_class) {
  uint8_t *yc = malloc(n ? (size_t)n : 1);
  double *sc = malloc((n ? (size_t)n : 1) * sizeof *sc);
  for (uint32_t c = 0; c < k; ++c) {
    if (!yc || !sc) {
      memset(&per_class[c], 0, sizeof per_class[c]);
      per_class[c].roc_auc = NAN;
      per_class[c].average_precision = NAN;
      continue;
    }
    for (uint64_t i = 0; i < n; ++i) {
      yc[i] = y[i] == (int32_t)c;
      sc[i] = s[i * k + c];
    }
    clm_ref_wranking_eval(yc, sc, w, n, &per_class[c]);
  }
  free(yc);
  free(sc);
}

void clm_ref_wranking_multilabel(const uint8_t *y, const double *s,
                                 const double *w, uint64_t n, uint32_t k,
                                 clm_ref_wranking *per_label) {
  uint8_t *yc = malloc(n ? (size_t)n : 1);
  double *sc = malloc((n ? (size_t)n : 1) * sizeof *sc);
  for (uint32_t c = 0; c < k; ++c) {
    if (!yc || !sc) {
      memset(&per_label[c], 0, sizeof per_label[c]);
      per_label[c].roc_auc = NAN;
      per_label[c].average_precision = NAN;
      continue;
    }
    for (uint64_t i = 0; i < n; ++i) {
      yc[i] = y[i * k + c] != 0;
      sc[i] = s[i * k + c];
    }
    clm_ref_wranking_eval(yc, sc, w, n, &per_label[c]);
  }
  free(yc);
  free(sc);
}

void clm_ref_wranking_free(clm_ref_wranking *r) {
  if (!r)
    return;
  free(r->curve);
  memset(r, 0, sizeof *r);
}
