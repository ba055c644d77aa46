/* Multi-class state: init, release and the exact merge. */
#include "tasks/multiclass/multiclass.h"

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

void clm_multiclass_state_release(clm_multiclass_state *s) {
  if (!s)
    return;
  free(s->confusion);
  memset(s, 0, sizeof *s);
}

clm_status clm_multiclass_merge(clm_multiclass_state *dst,
                                const clm_multiclass_state *src) {
  if (!dst || !src)
    return CLM_ERR_INVALID_ARGUMENT;
  if (dst->n_classes != src->n_classes || dst->top_k != src->top_k ||
      (dst->has_scores && src->has_scores && dst->kind != src->kind))
    return CLM_ERR_STATE_MISMATCH;
  const uint64_t cells = (uint64_t)dst->n_classes * dst->n_classes;
  for (uint64_t c = 0; c < cells; ++c)
    dst->confusion[c] += src->confusion[c];
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
