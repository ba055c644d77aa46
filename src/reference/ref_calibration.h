/* Double-precision reference for calibration (reliability bins, ECE, RMSCE,
 * MCE, Brier), used by the self-test and the tests. Like reference.h it
 * depends on nothing else in the project.
 *
 * Semantics: p in double (sigma in double of the float32 logit; softmax in
 * double, the mass split evenly among logits at +inf), bins by comparing
 * the double p with the double edges: bin b holds (e_b, e_{b+1}], the
 * first [0, e_1]. Binary: confidence p against label 1; multi-class:
 * top-label max p against argmax == label (ties to the lowest class, on the
 * float logits), class-wise every p_c against label == c. */
#ifndef CLM_REF_CALIBRATION_H
#define CLM_REF_CALIBRATION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clm_ref_calibration {
  uint32_t k, nb; /* k = 1: binary */
  int classwise;
  uint64_t n, n_ignored;
  double weight_sum, brier_sum;
  /* nb bins (binary or top-label); class-wise k x nb, class-major */
  uint64_t *count, *cw_count;
  double *weight, *conf, *hits, *cw_weight, *cw_conf, *cw_hits;
  /* Rows whose confidence lies within `near_tol` (absolute: the error
   * bound of a float32 p) of an interior edge, which a float32 computation
   * may bin either way, and their weight; the same over every class-wise
   * p_c. */
  uint64_t near, cw_near;
  double near_weight, cw_near_weight;
  /* Finalized as the header specifies (NaN when undefined). */
  double brier, ece, rmsce, mce, classwise_ece;
} clm_ref_calibration;

/* Binary: labels 0/1, float32 logits (or probabilities when `probs`),
 * weights NULL (1 each) or n values; edges nb + 1 ascending from 0 to 1. */
int clm_ref_calibration_binary(const uint8_t *y, const float *s, const float *w,
                               uint64_t n, int probs, const double *edges,
                               uint32_t nb, double near_tol,
                               clm_ref_calibration *out);

/* Multi-class over an n x k row-major matrix; rows with label ==
 * ignore_index are skipped (counted in n_ignored) when has_ignore. */
int clm_ref_calibration_multiclass(const int32_t *y, const float *s,
                                   const float *w, uint64_t n, uint32_t k,
                                   int probs, int has_ignore,
                                   int32_t ignore_index, int classwise,
                                   const double *edges, uint32_t nb,
                                   double near_tol, clm_ref_calibration *out);

/* The bin of a double p in [0, 1]. */
uint32_t clm_ref_calibration_bin(double p, const double *edges, uint32_t nb);

void clm_ref_calibration_free(clm_ref_calibration *r);

#ifdef __cplusplus
}
#endif

#endif
