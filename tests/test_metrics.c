/* Metric finalization from counts: pure C, no OpenCL device needed. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <math.h>

#include "clmetrics.h"
#include "reference.h"

static clm_binary_result finalize_counts(uint64_t tp, uint64_t fp, uint64_t tn,
                                         uint64_t fn, clm_zero_division zd) {
  clm_binary_state s;
  cr_assert_eq(clm_binary_state_init(&s, CLM_SCORES_LOGITS, 0.5, 0), CLM_OK);
  s.tp = tp;
  s.fp = fp;
  s.tn = tn;
  s.fn = fn;
  s.n = tp + fp + tn + fn;
  s.bce_sum = 2.0 * (double)s.n;
  s.grad_sum = -0.25 * (double)s.n;
  clm_binary_result r;
  cr_assert_eq(clm_binary_finalize(&s, zd, &r, NULL), CLM_OK);
  clm_binary_state_release(&s);
  return r;
}

#define NEAR(a, b) cr_assert(fabs((a) - (b)) < 1e-12, "%.17g vs %.17g", a, b)

Test(metrics, known_confusion) {
  /* Class A of the origin notes' Q2 seen one-vs-rest: TP 50, FN 15, FP 11,
   * TN 154. */
  clm_binary_result r = finalize_counts(50, 11, 154, 15, 0);
  NEAR(r.precision, 50.0 / 61.0);
  NEAR(r.recall, 50.0 / 65.0);
  NEAR(r.f1, 100.0 / 126.0);
  cr_assert(fabs(r.f1 - 0.793651) < 1e-6);
  NEAR(r.accuracy, 204.0 / 230.0);
  NEAR(r.specificity, 154.0 / 165.0);
  NEAR(r.balanced_accuracy, 0.5 * (50.0 / 65.0 + 154.0 / 165.0));
  double mcc = (50.0 * 154 - 11.0 * 15) / sqrt(61.0 * 65 * 165 * 169);
  NEAR(r.mcc, mcc);
  NEAR(r.bce_mean, 2.0);
  NEAR(r.grad_bias, -0.25);
  cr_assert_eq(r.undefined, 0u);
}

Test(metrics, perfect_and_inverse) {
  clm_binary_result r = finalize_counts(10, 0, 20, 0, 0);
  NEAR(r.mcc, 1.0);
  NEAR(r.f1, 1.0);
  r = finalize_counts(0, 20, 0, 10, 0);
  NEAR(r.mcc, -1.0);
  NEAR(r.accuracy, 0.0);
}

Test(metrics, zero_division_policies) {
  /* All negative, all predicted negative: precision, recall, F1, MCC are
   * 0/0; specificity is 1. */
  for (int zd = 0; zd < 3; ++zd) {
    clm_binary_result r = finalize_counts(0, 0, 7, 0, zd);
    const unsigned want =
        CLM_UNDEF_PRECISION | CLM_UNDEF_RECALL | CLM_UNDEF_F1 | CLM_UNDEF_MCC;
    cr_assert_eq(r.undefined, want);
    if (zd == CLM_ZERO_DIVISION_NAN) {
      cr_assert(isnan(r.precision) && isnan(r.recall) && isnan(r.f1) &&
                isnan(r.mcc));
    } else {
      const double v = zd;
      NEAR(r.precision, v);
      NEAR(r.recall, v);
      NEAR(r.f1, v);
      NEAR(r.mcc, v);
    }
    NEAR(r.specificity, 1.0);
    NEAR(r.accuracy, 1.0);
    NEAR(r.balanced_accuracy, 1.0); /* only the negative class is present */
  }
}

Test(metrics, f1_defined_when_precision_is_not) {
  /* No predicted positives but true positives exist: precision 0/0, recall
   * 0, F1 = 2tp/(2tp+fp+fn) = 0 (scikit-learn >= 1.3). */
  clm_binary_result r = finalize_counts(0, 0, 5, 3, CLM_ZERO_DIVISION_ONE);
  cr_assert_eq(r.undefined, CLM_UNDEF_PRECISION | CLM_UNDEF_MCC);
  NEAR(r.precision, 1.0);
  NEAR(r.recall, 0.0);
  NEAR(r.f1, 0.0);
  NEAR(r.balanced_accuracy, 0.5);
}

Test(metrics, balanced_accuracy_single_class) {
  clm_binary_result r = finalize_counts(3, 0, 0, 1, 0);
  NEAR(r.balanced_accuracy, 0.75);
}

Test(metrics, mcc_without_overflow) {
  /* tp*tn alone exceeds 2^64: the numerator must stay exact. */
  const uint64_t big = (uint64_t)1 << 40;
  clm_binary_result r = finalize_counts(big + 3, big - 5, big + 7, big - 1, 0);
  long double tp = big + 3.0L, fp = big - 5.0L, tn = big + 7.0L,
              fn = big - 1.0L;
  long double want = (tp * tn - fp * fn) /
                     sqrtl((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
  cr_assert(want > 0);
  cr_assert(fabs(r.mcc - (double)want) <= 1e-9 * fabs((double)want),
            "mcc %.17g want %.17g", r.mcc, (double)want);
  /* scikit-learn#9622 overflowed near 1e5 samples; check a symmetric case at
   * 4e18 samples. */
  r = finalize_counts((uint64_t)1e18, (uint64_t)1e18, (uint64_t)1e18,
                      (uint64_t)1e18, 0);
  NEAR(r.mcc, 0.0);
  NEAR(r.accuracy, 0.5);
}

Test(metrics, empty_state_is_an_error) {
  clm_binary_state s;
  cr_assert_eq(clm_binary_state_init(&s, CLM_SCORES_PROBS, 0.3, 0), CLM_OK);
  clm_binary_result r;
  cr_assert_eq(clm_binary_finalize(&s, 0, &r, NULL), CLM_ERR_EMPTY);
  clm_binary_state_release(&s);
}

Test(metrics, state_init_rejects_bad_threshold) {
  clm_binary_state s;
  cr_assert_eq(clm_binary_state_init(&s, CLM_SCORES_LOGITS, 1.5, 0),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_binary_state_init(&s, CLM_SCORES_LOGITS, -0.1, 0),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_binary_state_init(&s, CLM_SCORES_LOGITS, NAN, 0),
               CLM_ERR_INVALID_ARGUMENT);
}

Test(metrics, merge_adds_and_checks_compatibility) {
  clm_binary_state a, b, c;
  cr_assert_eq(clm_binary_state_init(&a, CLM_SCORES_LOGITS, 0.5, 2), CLM_OK);
  cr_assert_eq(clm_binary_state_init(&b, CLM_SCORES_LOGITS, 0.5, 2), CLM_OK);
  cr_assert_eq(clm_binary_state_init(&c, CLM_SCORES_LOGITS, 0.4, 2), CLM_OK);
  a.n = 3, a.tp = 1, a.tn = 2, a.bce_sum = 1.5, a.weight_grad_sum[1] = 2.0;
  b.n = 2, b.fp = 1, b.fn = 1, b.bce_sum = 0.5, b.weight_grad_sum[1] = -0.5;
  cr_assert_eq(clm_binary_merge(&a, &b), CLM_OK);
  cr_assert_eq(a.n, 5u);
  cr_assert_eq(a.tp + a.fp + a.tn + a.fn, 5u);
  NEAR(a.bce_sum, 2.0);
  NEAR(a.weight_grad_sum[1], 1.5);
  cr_assert_eq(clm_binary_merge(&a, &c), CLM_ERR_STATE_MISMATCH);
  clm_binary_state_release(&a);
  clm_binary_state_release(&b);
  clm_binary_state_release(&c);
  clm_binary_state_release(NULL);
}

Test(metrics, status_strings) {
  for (int s = 0; s >= CLM_ERR_BAD_WEIGHT; --s)
    cr_assert(strcmp(clm_status_str((clm_status)s), "unknown status") != 0);
  cr_assert_str_eq(clm_status_str((clm_status)-999), "unknown status");
  cr_assert_str_eq(clm_version_string(), CLM_VERSION_STRING);
  cr_assert_eq(clm_version_number(), CLM_VERSION_NUMBER);
}

Test(metrics, f64_scores_never_cross_the_threshold) {
  /* float64 values rounded to float32 keep their side of the threshold. */
  const double t = 0.3; /* 0.3f > 0.3 */
  const double p[] = {
      0.3, 0.2999999999, nextafter(0.3, 1.0), 0.1 + 0.2, 0.7, 1.0, 0.0, 1e-300};
  const size_t n = sizeof p / sizeof p[0];
  float out[sizeof p / sizeof p[0]];
  clm_error err;
  cr_assert_eq(clm_binary_scores_from_f64(p, n, CLM_SCORES_PROBS, t, out, &err),
               CLM_OK);
  for (size_t i = 0; i < n; ++i) {
    cr_assert_eq(p[i] > t, (double)out[i] > t, "value %.17g -> %.9g", p[i],
                 (double)out[i]);
    cr_assert(fabs((double)out[i] - p[i]) <= 1.2e-7 * fabs(p[i]) + 1e-45,
              "%.17g -> %.9g", p[i], (double)out[i]);
  }
  /* Checked as stored: rounding must not bring these into [0, 1]. */
  const double bad[] = {1.00000001, -1e-50, NAN};
  for (int i = 0; i < 3; ++i) {
    const double two[2] = {0.5, bad[i]};
    cr_assert_eq(
        clm_binary_scores_from_f64(two, 2, CLM_SCORES_PROBS, 0.5, out, &err),
        CLM_ERR_BAD_SCORE, "%.17g", bad[i]);
    cr_assert_eq(err.index, 1);
  }
  /* Logits: the threshold is logit(t) in float64; huge values saturate. */
  const double lt = clm_ref_threshold_logit(0.25);
  const double z[] = {lt, nextafter(lt, 1.0), nextafter(lt, -1.0), 1e300,
                      -1e300};
  float zo[5];
  cr_assert_eq(
      clm_binary_scores_from_f64(z, 5, CLM_SCORES_LOGITS, 0.25, zo, &err),
      CLM_OK);
  for (int i = 0; i < 5; ++i)
    cr_assert_eq(z[i] > lt, (double)zo[i] > lt, "logit %.17g -> %.9g", z[i],
                 (double)zo[i]);
  cr_assert(isinf(zo[3]) && zo[3] > 0 && isinf(zo[4]) && zo[4] < 0);
}
