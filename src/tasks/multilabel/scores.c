/* Multilabel float64 scores rounded to float32 without crossing any
 * label's decision threshold. */
#include "tasks/binary/binary.h"
#include "tasks/multilabel/multilabel.h"

#include <math.h>
#include <stdlib.h>

clm_status clm_multilabel_scores_from_f64(const clm_multilabel_state *state,
                                          const double *in, uint64_t rows,
                                          uint64_t base, float *out,
                                          clm_error *err) {
  clm_error_clear(err);
  if (!state || !state->thresholds || (rows > 0 && (!in || !out)))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_multilabel_scores_from_f64: bad argument");
  const uint32_t L = state->n_labels;
  const clm_scores_kind kind = state->kind;
  double *t = clm_malloc((size_t)L * sizeof(double));
  float *tf = clm_malloc((size_t)L * sizeof(float));
  if (!t || !tf) {
    free(tf);
    free(t);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "thresholds");
  }
  for (uint32_t c = 0; c < L; ++c) {
    t[c] = clm_binary_domain_threshold(kind, state->thresholds[c]);
    tf[c] = clm_binary_device_threshold(kind, state->thresholds[c]);
  }
  clm_status st = CLM_OK;
  for (uint64_t r = 0; r < rows && st == CLM_OK; ++r)
    for (uint32_t c = 0; c < L; ++c) {
      const uint64_t i = r * L + c;
      const double v = in[i];
      const unsigned long long row = (unsigned long long)(base + r);
      /* Checked on the value as stored: rounding could bring a probability
       * such as 1.00000001 into [0, 1]. */
      if (isnan(v)) {
        st = clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)((base + r) * L + c), v,
                      "row %llu, label %u: score is NaN", row, (unsigned)c);
        break;
      }
      if (kind == CLM_SCORES_PROBS && (v < 0.0 || v > 1.0)) {
        st = clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)((base + r) * L + c), v,
                      "row %llu, label %u: probability %.17g is outside "
                      "[0, 1]",
                      row, (unsigned)c, v);
        break;
      }
      out[i] = clm_binary_round_score(v, t[c], tf[c]);
    }
  free(tf);
  free(t);
  if (err && st != CLM_OK)
    err->input = CLM_INPUT_SCORES;
  return st;
}
