/* The double-precision reference for weighted binary evaluation and
 * PyTorch's pos_weight (BCEWithLogitsLoss(pos_weight=P)). Like
 * reference.h: plain loops in double, stable forms, no dependence on the
 * library. Inputs are the float32 values the device sees, widened.
 *
 * Per sample i with label y_i, score s_i, weight w_i and f_i = (y_i ? P : 1):
 *   loss term  t_i = w_i * f_i * l_i, l_i the BCE (softplus form for logits,
 *              clipped for probabilities); 0 when w_i = 0, even if l_i is
 *              +inf (a zero weight drops the sample)
 *   gradient   g_i = w_i * f_i * (sigma(z_i) - y_i) (p_i - y_i for
 *              probabilities), the derivative of t_i in z_i for logits.
 * Not part of the public API. */
#ifndef CLM_REF_BINARY_WEIGHTED_H
#define CLM_REF_BINARY_WEIGHTED_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PyTorch's per-sample loss with pos_weight P from a logit:
 * P * softplus(-z) for y = 1, softplus(z) for y = 0 (0 or +inf at +-inf,
 * never NaN). */
double clm_ref_bce_logit_pw(double z, int y, double pos_weight);
/* The clipped BCE of a probability (clm_ref_bce_prob) times (y ? P : 1). */
double clm_ref_bce_prob_pw(double p, int y, double pos_weight);
/* dL/dz = sigma(z)(1 - y + P y) - P y = (y ? P : 1) (sigma(z) - y), with
 * sigma(z) - 1 evaluated as -sigma(-z) (no cancellation). */
double clm_ref_grad_logit_pw(double z, int y, double pos_weight);

typedef struct clm_ref_binary_weighted {
  uint64_t n, tp, fp, tn, fn;           /* exact counts */
  double w_sum, w_tp, w_fp, w_tn, w_fn; /* weight sums (all 1: the counts) */
  double loss_sum, loss_abs;            /* sum of t_i and of |t_i| */
  double grad_sum, grad_abs;            /* sum of g_i and of |g_i| */
  double scale_sum;                     /* sum of w_i f_i (error scale) */
} clm_ref_binary_weighted;

/* n samples: labels y (0 or 1), scores s (logits, or probabilities when
 * `probs`), weights w (NULL: every weight 1), threshold t in [0, 1],
 * pos_weight P. Predicted positive iff s > logit(t) (s > t), strictly.
 * `grad` and `loss` (each NULL or n doubles) receive g_i and t_i. */
void clm_ref_binary_weighted_eval(const uint8_t *y, const float *s,
                                  const float *w, uint64_t n, int probs,
                                  double t, double pos_weight, double *grad,
                                  double *loss, clm_ref_binary_weighted *r);

/* sum[j] = sum_i g_i x_ij and abs[j] = sum_i |g_i x_ij| (abs may be NULL)
 * over the n x d row-major features x: the weight gradient before its
 * division by n or by the weight sum. */
void clm_ref_weight_grad_sum(const double *g, const float *x, uint64_t n,
                             uint64_t d, double *sum, double *abs);

#ifdef __cplusplus
}
#endif

#endif
