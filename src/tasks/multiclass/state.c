/* Multi-class state: init, release and the exact merge. */
#include "tasks/multiclass/multiclass.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bytes of physical memory on this host, or 0 when unknown. */
double clm_host_memory_bytes(void) {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? (double)pages * (double)page : 0.0;
}

clm_status clm_multiclass_state_init(clm_multiclass_state *s, uint32_t k,
                                     uint32_t top_k) {
  if (!s)
    return CLM_ERR_INVALID_ARGUMENT;
  memset(s, 0, sizeof *s);
  if (k < 2 || top_k > k)
    return CLM_ERR_INVALID_ARGUMENT;
  const uint64_t cells = (uint64_t)k * k;
  if (cells > SIZE_MAX / sizeof(uint64_t))
    return CLM_ERR_OUT_OF_MEMORY;
  /* A matrix larger than the machine is never reserved (calloc would
   * succeed lazily and fail only when counted into). */
  const double host = clm_host_memory_bytes();
  if (host > 0 && (double)cells * sizeof(uint64_t) > host)
    return CLM_ERR_OUT_OF_MEMORY;
  s->confusion = clm_calloc((size_t)cells, sizeof(uint64_t));
  if (!s->confusion)
    return CLM_ERR_OUT_OF_MEMORY;
  s->n_classes = k;
  s->top_k = top_k;
  return CLM_OK;
}

void clm_multiclass_options_init(clm_multiclass_options *o) {
  if (o)
    memset(o, 0, sizeof *o);
}

clm_status clm_multiclass_state_init_ex(clm_multiclass_state *s,
                                        const clm_multiclass_options *o) {
  if (!s)
    return CLM_ERR_INVALID_ARGUMENT;
  memset(s, 0, sizeof *s);
  if (!o || o->n_classes < 2 || o->top_k > o->n_classes ||
      !(o->label_smoothing >= 0.0 && o->label_smoothing <= 1.0))
    return CLM_ERR_INVALID_ARGUMENT;
  if (o->class_weight)
    for (uint32_t c = 0; c < o->n_classes; ++c)
      if (!(o->class_weight[c] >= 0.0) || isinf(o->class_weight[c]))
        return CLM_ERR_BAD_WEIGHT;
  clm_status st = clm_multiclass_state_init(s, o->n_classes, o->top_k);
  if (st != CLM_OK)
    return st;
  const uint64_t k = o->n_classes;
  if (o->weighted) {
    /* Beside the uint64 matrix, which the memory check above covered. */
    const double host = clm_host_memory_bytes();
    if (host > 0 && 2.0 * (double)k * (double)k * sizeof(double) > host)
      st = CLM_ERR_OUT_OF_MEMORY;
    else if (!(s->w_confusion = clm_calloc((size_t)(k * k), sizeof(double))))
      st = CLM_ERR_OUT_OF_MEMORY;
  }
  if (st == CLM_OK && o->class_weight) {
    if (!(s->class_weight = clm_malloc((size_t)k * sizeof(double))))
      st = CLM_ERR_OUT_OF_MEMORY;
    else
      memcpy(s->class_weight, o->class_weight, (size_t)k * sizeof(double));
  }
  if (st != CLM_OK) {
    clm_multiclass_state_release(s);
    return st;
  }
  s->weighted = o->weighted != 0;
  s->has_ignore_index = o->has_ignore_index != 0;
  s->ignore_index = s->has_ignore_index ? o->ignore_index : 0;
  s->label_smoothing = o->label_smoothing;
  return CLM_OK;
}

void clm_multiclass_state_release(clm_multiclass_state *s) {
  if (!s)
    return;
  free(s->confusion);
  free(s->w_confusion);
  free(s->class_weight);
  memset(s, 0, sizeof *s);
}

/* Whether two states count and weigh rows the same way. */
static int same_options(const clm_multiclass_state *a,
                        const clm_multiclass_state *b) {
  if (a->weighted != b->weighted ||
      a->has_ignore_index != b->has_ignore_index ||
      (a->has_ignore_index && a->ignore_index != b->ignore_index) ||
      a->label_smoothing != b->label_smoothing ||
      !a->class_weight != !b->class_weight)
    return 0;
  /* Exact equality: the loss of one state must mean the same as the
   * other's. */
  return !a->class_weight || memcmp(a->class_weight, b->class_weight,
                                    (size_t)a->n_classes * sizeof(double)) == 0;
}

clm_status clm_multiclass_merge(clm_multiclass_state *dst,
                                const clm_multiclass_state *src) {
  if (!dst || !src)
    return CLM_ERR_INVALID_ARGUMENT;
  if (dst->n_classes != src->n_classes || dst->top_k != src->top_k ||
      (dst->has_scores && src->has_scores && dst->kind != src->kind) ||
      !same_options(dst, src))
    return CLM_ERR_STATE_MISMATCH;
  if (dst->weighted && (!dst->w_confusion || !src->w_confusion))
    return CLM_ERR_INVALID_ARGUMENT;
  const uint64_t cells = (uint64_t)dst->n_classes * dst->n_classes;
  for (uint64_t c = 0; c < cells; ++c)
    dst->confusion[c] += src->confusion[c];
  if (dst->weighted)
    for (uint64_t c = 0; c < cells; ++c)
      dst->w_confusion[c] += src->w_confusion[c];
  dst->w_sum += src->w_sum;
  dst->w_top_k_hits += src->w_top_k_hits;
  dst->n_ignored += src->n_ignored;
  dst->w_ignored += src->w_ignored;
  dst->ce_norm += src->ce_norm;
  dst->w_scored += src->w_scored;
  dst->n += src->n;
  if (src->has_scores) {
    dst->has_scores = 1;
    dst->kind = src->kind;
  }
  dst->n_scored += src->n_scored;
  dst->ce_sum += src->ce_sum;
  dst->top_k_hits += src->top_k_hits;
  return CLM_OK;
}
