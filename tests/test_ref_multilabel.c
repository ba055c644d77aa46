/* The double-precision multilabel reference (src/reference/ref_multilabel.c)
 * against known answers from scikit-learn 1.2.1 and PyTorch 1.13, and its
 * sort-based label ranking against an O(L^2) count of the definitions.
 * Needs no OpenCL device.
 *
 * Every golden struct below is the output of
 *   /usr/bin/python3 tests/ref_multilabel_golden.py
 * pasted verbatim; the comment above each names the call that produced it:
 * golden(name, labels, scores or predictions, kind, thresholds, weights,
 * zero_division). Per label: precision_recall_fscore_support(Y, P,
 * average=None, sample_weight=w, zero_division=zd), jaccard_score(...),
 * multilabel_confusion_matrix(Y, P[, sample_weight=w]) and the BCE
 * (log_loss(eps=FLT_EPSILON) for probabilities, BCEWithLogitsLoss for
 * logits); averages from the same calls with average='micro' / 'macro' /
 * 'weighted' / 'samples'; accuracy_score, hamming_loss, coverage_error,
 * label_ranking_average_precision_score, label_ranking_loss and
 * roc_auc_score(average='samples'). The script's docstring says how it
 * derives the values scikit-learn 1.2.1 does not give directly
 * (zero_division NaN, L = 1, +-inf logits).
 *
 * Scores are dyadic (exact in float32 and double) and none sits on a
 * threshold except z = 0 at t = 0.5, where sigma(0) = 0.5 is exact and the
 * cell is negative by every method. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clmetrics.h"
#include "ref_multilabel.h"
#include "reference.h"

#define MAXL 5

struct ml_golden_label {
  uint64_t cnt[4]; /* tp, fp, tn, fn */
  double wc[4];    /* w_tp, w_fp, w_tn, w_fn */
  double v[5];     /* precision, recall, f1, jaccard, bce_mean */
  unsigned undef;
};

struct ml_golden {
  struct ml_golden_label labels[MAXL];
  double micro[3], macro[3], weighted[3],
      samples[3];    /* precision, recall, f1 */
  double jaccard[3]; /* micro, macro, samples */
  double subset_accuracy, hamming_loss, bce_mean;
  double ranking[4]; /* coverage, lrap, ranking loss, roc_auc samples */
  unsigned samples_undefined;
};

/* ---- data and golden values: tests/ref_multilabel_golden.py ---- */

/* clang-format off */
static const uint8_t a_y[6 * 5] = {
    1, 0, 1, 0, 0,
    0, 0, 0, 0, 0,
    1, 1, 0, 0, 0,
    0, 1, 1, 0, 0,
    1, 0, 0, 0, 0,
    0, 0, 1, 0, 0,
};
static const uint8_t b_y[8 * 3] = {
    1, 0, 1,
    0, 1, 0,
    1, 1, 0,
    0, 0, 1,
    0, 0, 0,
    1, 0, 0,
    0, 1, 1,
    0, 0, 0,
};
static const uint8_t c_y[5 * 4] = {
    1, 0, 0, 1,
    0, 1, 0, 0,
    1, 1, 1, 0,
    0, 0, 1, 1,
    0, 0, 0, 0,
};
static const uint8_t d_y[6 * 1] = {
    1,
    0,
    0,
    1,
    0,
    0,
};
static const uint8_t e_y[5 * 3] = {
    1, 0, 1,
    0, 1, 1,
    1, 1, 0,
    0, 0, 0,
    1, 0, 0,
};
static const uint8_t f_y[3 * 2] = {
    0, 0,
    0, 0,
    0, 0,
};
static const uint8_t e_p[5 * 3] = {
    1, 1, 0,
    0, 1, 1,
    0, 0, 0,
    1, 0, 0,
    1, 0, 0,
};
static const uint8_t f_p[3 * 2] = {
    0, 1,
    0, 0,
    0, 0,
};
static const uint8_t g_p[3 * 2] = {
    0, 0,
    0, 0,
    0, 0,
};
static const uint8_t h_y[3 * 2] = {
    1, 0,
    1, 0,
    0, 0,
};
static const uint8_t h_p[3 * 2] = {
    0, 1,
    0, 0,
    0, 0,
};
static const float a_z[6 * 5] = {
    2.0f, -1.0f, 0.5f, 0.5f, -4.0f,
    -1.0f, -2.0f, -0.5f, -3.0f, -1.0f,
    1.5f, -0.25f, -0.25f, 0.75f, -2.0f,
    -0.5f, 1.0f, 1.0f, -1.0f, -3.0f,
    -0.75f, 0.25f, -2.0f, -1.5f, -0.75f,
    0.0f, 0.0f, 0.0f, 0.0f, -5.0f,
};
static const float b_p[8 * 3] = {
    0.875f, 0.125f, 0.8125f,
    0.25f, 0.375f, 0.5f,
    0.4375f, 0.1875f, 0.9375f,
    1.0f, 0.0f, 0.0f,
    0.0625f, 0.125f, 0.25f,
    0.0f, 0.5f, 0.625f,
    0.625f, 0.3125f, 1.0f,
    0.125f, 0.0625f, 0.5f,
};
static const float c_z[5 * 4] = {
    INFINITY, -1.0f, 0.5f, INFINITY,
    0.25f, 0.25f, -INFINITY, -INFINITY,
    -INFINITY, 3.0f, 3.0f, 3.0f,
    -2.0f, -INFINITY, -0.5f, INFINITY,
    1.0f, INFINITY, -1.0f, 0.0f,
};
static const float d_z[6 * 1] = {
    -0.5f,
    -1.0f,
    2.0f,
    -INFINITY,
    0.0f,
    -0.75f,
};
static const float b_w[8] = {1.0f, 0.5f, 2.0f, 0.0f, 1.5f, 0.25f, 3.0f, 0.0f};
static const float c_w[5] = {1.0f, 2.0f, 0.5f, 1.25f, 0.0f};
static const float e_w[5] = {1.0f, 2.0f, 0.0f, 0.5f, 1.0f};
static const double b_t[3] = {0.5, 0.25, 0.75};
static const double d_t[1] = {0.3};

/* golden('gold_a_zd0', A_Y, A_Z, 'logits', 0.5, None, 0) */
static const struct ml_golden gold_a_zd0 = {
  .labels = {
    {{2, 0, 3, 1}, {2.0, 0.0, 3.0, 1.0}, {1.0, 0.6666666666666666, 0.8, 0.6666666666666666, 0.49094969123314997}, 0x0},
    {{1, 1, 3, 1}, {1.0, 1.0, 3.0, 1.0}, {0.5, 0.5, 0.5, 0.3333333333333333, 0.5164129010661752}, 0x0},
    {{2, 0, 3, 1}, {2.0, 0.0, 3.0, 1.0}, {1.0, 0.6666666666666666, 0.8, 0.6666666666666666, 0.44290504456003293}, 0x0},
    {{0, 2, 4, 0}, {0.0, 2.0, 4.0, 0.0}, {0.0, 0.0, 0.0, 0.0, 0.5612262479882782}, 0x2},
    {{0, 0, 6, 0}, {0.0, 0.0, 6.0, 0.0}, {0.0, 0.0, 0.0, 0.0, 0.1500855554427942}, 0x87},
  },
  .micro = {0.625, 0.625, 0.625},
  .macro = {0.5, 0.3666666666666666, 0.42000000000000004},
  .weighted = {0.875, 0.625, 0.7250000000000001},
  .samples = {0.3611111111111111, 0.4166666666666667, 0.3833333333333333},
  .jaccard = {0.45454545454545453, 0.3333333333333333, 0.3333333333333333},
  .subset_accuracy = 0.3333333333333333, .hamming_loss = 0.2,
  .bce_mean = 0.4323158880580861,
  .ranking = {2.6666666666666665, 0.6944444444444443, 0.2916666666666667, NAN},
  .samples_undefined = 0x87};

/* golden('gold_a_zd1', A_Y, A_Z, 'logits', 0.5, None, 1) */
static const struct ml_golden gold_a_zd1 = {
  .labels = {
    {{2, 0, 3, 1}, {2.0, 0.0, 3.0, 1.0}, {1.0, 0.6666666666666666, 0.8, 0.6666666666666666, 0.49094969123314997}, 0x0},
    {{1, 1, 3, 1}, {1.0, 1.0, 3.0, 1.0}, {0.5, 0.5, 0.5, 0.3333333333333333, 0.5164129010661752}, 0x0},
    {{2, 0, 3, 1}, {2.0, 0.0, 3.0, 1.0}, {1.0, 0.6666666666666666, 0.8, 0.6666666666666666, 0.44290504456003293}, 0x0},
    {{0, 2, 4, 0}, {0.0, 2.0, 4.0, 0.0}, {0.0, 1.0, 0.0, 0.0, 0.5612262479882782}, 0x2},
    {{0, 0, 6, 0}, {0.0, 0.0, 6.0, 0.0}, {1.0, 1.0, 1.0, 1.0, 0.1500855554427942}, 0x87},
  },
  .micro = {0.625, 0.625, 0.625},
  .macro = {0.7, 0.7666666666666666, 0.62},
  .weighted = {0.875, 0.625, 0.7250000000000001},
  .samples = {0.6944444444444443, 0.5833333333333334, 0.5499999999999999},
  .jaccard = {0.45454545454545453, 0.5333333333333333, 0.5},
  .subset_accuracy = 0.3333333333333333, .hamming_loss = 0.2,
  .bce_mean = 0.4323158880580861,
  .ranking = {2.6666666666666665, 0.6944444444444443, 0.2916666666666667, NAN},
  .samples_undefined = 0x87};

/* golden('gold_a_nan', A_Y, A_Z, 'logits', 0.5, None, 'nan') */
static const struct ml_golden gold_a_nan = {
  .labels = {
    {{2, 0, 3, 1}, {2.0, 0.0, 3.0, 1.0}, {1.0, 0.6666666666666666, 0.8, 0.6666666666666666, 0.49094969123314997}, 0x0},
    {{1, 1, 3, 1}, {1.0, 1.0, 3.0, 1.0}, {0.5, 0.5, 0.5, 0.3333333333333333, 0.5164129010661752}, 0x0},
    {{2, 0, 3, 1}, {2.0, 0.0, 3.0, 1.0}, {1.0, 0.6666666666666666, 0.8, 0.6666666666666666, 0.44290504456003293}, 0x0},
    {{0, 2, 4, 0}, {0.0, 2.0, 4.0, 0.0}, {0.0, NAN, 0.0, 0.0, 0.5612262479882782}, 0x2},
    {{0, 0, 6, 0}, {0.0, 0.0, 6.0, 0.0}, {NAN, NAN, NAN, NAN, 0.1500855554427942}, 0x87},
  },
  .micro = {0.625, 0.625, 0.625},
  .macro = {0.625, 0.611111111111111, 0.525},
  .weighted = {0.875, 0.625, 0.7250000000000001},
  .samples = {0.5416666666666666, 0.5, 0.45999999999999996},
  .jaccard = {0.45454545454545453, 0.41666666666666663, 0.4},
  .subset_accuracy = 0.3333333333333333, .hamming_loss = 0.2,
  .bce_mean = 0.4323158880580861,
  .ranking = {2.6666666666666665, 0.6944444444444443, 0.2916666666666667, NAN},
  .samples_undefined = 0x87};

/* golden('gold_b_zd1', B_Y, B_P, 'probs', B_T, B_W, 1) */
static const struct ml_golden gold_b_zd1 = {
  .labels = {
    {{1, 2, 3, 2}, {1.0, 3.0, 2.0, 2.25}, {0.25, 0.3076923076923077, 0.27586206896551724, 0.16, 1.0855298671734024}, 0x0},
    {{2, 1, 4, 1}, {3.5, 0.25, 2.5, 2.0}, {0.9333333333333333, 0.6363636363636364, 0.7567567567567568, 0.6086956521739131, 0.9496891151233383}, 0x0},
    {{2, 1, 4, 1}, {4.0, 2.0, 2.25, 0.0}, {0.6666666666666666, 1.0, 0.8, 0.6666666666666666, 0.821348021708639}, 0x0},
  },
  .micro = {0.6181818181818182, 0.6666666666666666, 0.6415094339622642},
  .macro = {0.6166666666666667, 0.6480186480186481, 0.6108729419074247},
  .weighted = {0.6754901960784314, 0.6666666666666666, 0.6477422655921642},
  .samples = {0.6060606060606061, 0.7272727272727273, 0.6545454545454545},
  .jaccard = {0.4722222222222222, 0.47845410628019325, 0.6060606060606061},
  .subset_accuracy = 0.36363636363636365, .hamming_loss = 0.3838383838383838,
  .bce_mean = 0.9521890013351265,
  .ranking = {2.272727272727273, 0.7878787878787878, 0.48484848484848486, NAN},
  .samples_undefined = 0x87};

/* golden('gold_b_nan', B_Y, B_P, 'probs', B_T, B_W, 'nan') */
static const struct ml_golden gold_b_nan = {
  .labels = {
    {{1, 2, 3, 2}, {1.0, 3.0, 2.0, 2.25}, {0.25, 0.3076923076923077, 0.27586206896551724, 0.16, 1.0855298671734024}, 0x0},
    {{2, 1, 4, 1}, {3.5, 0.25, 2.5, 2.0}, {0.9333333333333333, 0.6363636363636364, 0.7567567567567568, 0.6086956521739131, 0.9496891151233383}, 0x0},
    {{2, 1, 4, 1}, {4.0, 2.0, 2.25, 0.0}, {0.6666666666666666, 1.0, 0.8, 0.6666666666666666, 0.821348021708639}, 0x0},
  },
  .micro = {0.6181818181818182, 0.6666666666666666, 0.6415094339622642},
  .macro = {0.6166666666666667, 0.6480186480186481, 0.6108729419074247},
  .weighted = {0.6754901960784314, 0.6666666666666666, 0.6477422655921642},
  .samples = {0.5185185185185185, 0.6666666666666666, 0.5777777777777778},
  .jaccard = {0.4722222222222222, 0.47845410628019325, 0.5185185185185185},
  .subset_accuracy = 0.36363636363636365, .hamming_loss = 0.3838383838383838,
  .bce_mean = 0.9521890013351265,
  .ranking = {2.272727272727273, 0.7878787878787878, 0.48484848484848486, NAN},
  .samples_undefined = 0x87};

/* golden('gold_c_zd0', C_Y, C_Z, 'logits', 0.5, C_W, 0) */
static const struct ml_golden gold_c_zd0 = {
  .labels = {
    {{1, 2, 1, 1}, {1.0, 2.0, 1.25, 0.5}, {0.3333333333333333, 0.6666666666666666, 0.4444444444444444, 0.2857142857142857, INFINITY}, 0x0},
    {{2, 1, 2, 0}, {2.5, 0.0, 2.25, 0.0}, {1.0, 1.0, 1.0, 1.0, 0.3135650953816381}, 0x0},
    {{1, 1, 2, 1}, {0.5, 1.0, 2.0, 1.25}, {0.3333333333333333, 0.2857142857142857, 0.30769230769230765, 0.18181818181818182, 0.46651934530360234}, 0x0},
    {{2, 1, 2, 0}, {2.25, 0.5, 2.0, 0.0}, {0.8181818181818182, 1.0, 0.9, 0.8181818181818182, 0.3209039317446044}, 0x0},
  },
  .micro = {0.6410256410256411, 0.78125, 0.7042253521126761},
  .macro = {0.6212121212121212, 0.738095238095238, 0.663034188034188},
  .weighted = {0.678030303030303, 0.78125, 0.7162660256410256},
  .samples = {0.6842105263157895, 0.8333333333333334, 0.6947368421052631},
  .jaccard = {0.5434782608695652, 0.5714285714285714, 0.5350877192982456},
  .subset_accuracy = 0.0, .hamming_loss = 0.27631578947368424,
  .bce_mean = INFINITY,
  .ranking = {2.210526315789474, 0.7573099415204678, 0.24561403508771926, 0.8596491228070177},
  .samples_undefined = 0x0};

/* golden('gold_c_unw', C_Y, C_Z, 'logits', 0.5, None, 0) */
static const struct ml_golden gold_c_unw = {
  .labels = {
    {{1, 2, 1, 1}, {1.0, 2.0, 1.0, 1.0}, {0.3333333333333333, 0.5, 0.4, 0.25, INFINITY}, 0x0},
    {{2, 1, 2, 0}, {2.0, 1.0, 2.0, 0.0}, {0.6666666666666666, 1.0, 0.8, 0.6666666666666666, INFINITY}, 0x0},
    {{1, 1, 2, 1}, {1.0, 1.0, 2.0, 1.0}, {0.5, 0.5, 0.5, 0.3333333333333333, 0.4620006014904357}, 0x0},
    {{2, 1, 2, 0}, {2.0, 1.0, 2.0, 0.0}, {0.6666666666666666, 1.0, 0.8, 0.6666666666666666, 0.7483469064267375}, 0x0},
  },
  .micro = {0.5454545454545454, 0.75, 0.631578947368421},
  .macro = {0.5416666666666666, 0.75, 0.625},
  .weighted = {0.5416666666666666, 0.75, 0.625},
  .samples = {0.5666666666666667, 0.6333333333333333, 0.5599999999999999},
  .jaccard = {0.46153846153846156, 0.47916666666666663, 0.4333333333333333},
  .subset_accuracy = 0.0, .hamming_loss = 0.35,
  .bce_mean = INFINITY,
  .ranking = {2.0, 0.8388888888888889, 0.26666666666666666, NAN},
  .samples_undefined = 0x2};

/* golden('gold_d_zd1', D_Y, D_Z, 'logits', D_T, None, 1) */
static const struct ml_golden gold_d_zd1 = {
  .labels = {
    {{1, 3, 1, 1}, {1.0, 3.0, 1.0, 1.0}, {0.25, 0.5, 0.3333333333333333, 0.2, INFINITY}, 0x0},
  },
  .micro = {0.25, 0.5, 0.3333333333333333},
  .macro = {0.25, 0.5, 0.3333333333333333},
  .weighted = {0.25, 0.5, 0.3333333333333333},
  .samples = {0.5, 0.8333333333333334, 0.3333333333333333},
  .jaccard = {0.2, 0.2, 0.3333333333333333},
  .subset_accuracy = 0.3333333333333333, .hamming_loss = 0.6666666666666666,
  .bce_mean = INFINITY,
  .ranking = {0.3333333333333333, 1.0, 0.0, NAN},
  .samples_undefined = 0x87};

/* golden('gold_d_nan', D_Y, D_Z, 'logits', D_T, None, 'nan') */
static const struct ml_golden gold_d_nan = {
  .labels = {
    {{1, 3, 1, 1}, {1.0, 3.0, 1.0, 1.0}, {0.25, 0.5, 0.3333333333333333, 0.2, INFINITY}, 0x0},
  },
  .micro = {0.25, 0.5, 0.3333333333333333},
  .macro = {0.25, 0.5, 0.3333333333333333},
  .weighted = {0.25, 0.5, 0.3333333333333333},
  .samples = {0.25, 0.5, 0.2},
  .jaccard = {0.2, 0.2, 0.2},
  .subset_accuracy = 0.3333333333333333, .hamming_loss = 0.6666666666666666,
  .bce_mean = INFINITY,
  .ranking = {0.3333333333333333, 1.0, 0.0, NAN},
  .samples_undefined = 0x87};

/* golden('gold_e_zd1', E_Y, E_P, 'pred', None, E_W, 1) */
static const struct ml_golden gold_e_zd1 = {
  .labels = {
    {{2, 1, 1, 1}, {2.0, 0.5, 2.0, 0.0}, {0.8, 1.0, 0.888888888888889, 0.8, NAN}, 0x0},
    {{1, 1, 2, 1}, {2.0, 1.0, 1.5, 0.0}, {0.6666666666666666, 1.0, 0.8, 0.6666666666666666, NAN}, 0x0},
    {{1, 0, 3, 1}, {2.0, 0.0, 1.5, 1.0}, {1.0, 0.6666666666666666, 0.8, 0.6666666666666666, NAN}, 0x0},
  },
  .micro = {0.8, 0.8571428571428571, 0.8275862068965518},
  .macro = {0.8222222222222223, 0.8888888888888888, 0.8296296296296296},
  .weighted = {0.8476190476190476, 0.8571428571428571, 0.8253968253968255},
  .samples = {0.7777777777777778, 0.8888888888888888, 0.7777777777777778},
  .jaccard = {0.7058823529411765, 0.7111111111111111, 0.7407407407407408},
  .subset_accuracy = 0.6666666666666666, .hamming_loss = 0.18518518518518517,
  .bce_mean = NAN,
  .ranking = {NAN, NAN, NAN, NAN},
  .samples_undefined = 0x2};

/* golden('gold_e_nan', E_Y, E_P, 'pred', None, E_W, 'nan') */
static const struct ml_golden gold_e_nan = {
  .labels = {
    {{2, 1, 1, 1}, {2.0, 0.5, 2.0, 0.0}, {0.8, 1.0, 0.888888888888889, 0.8, NAN}, 0x0},
    {{1, 1, 2, 1}, {2.0, 1.0, 1.5, 0.0}, {0.6666666666666666, 1.0, 0.8, 0.6666666666666666, NAN}, 0x0},
    {{1, 0, 3, 1}, {2.0, 0.0, 1.5, 1.0}, {1.0, 0.6666666666666666, 0.8, 0.6666666666666666, NAN}, 0x0},
  },
  .micro = {0.8, 0.8571428571428571, 0.8275862068965518},
  .macro = {0.8222222222222223, 0.8888888888888888, 0.8296296296296296},
  .weighted = {0.8476190476190476, 0.8571428571428571, 0.8253968253968255},
  .samples = {0.7777777777777778, 0.875, 0.7777777777777778},
  .jaccard = {0.7058823529411765, 0.7111111111111111, 0.7407407407407408},
  .subset_accuracy = 0.6666666666666666, .hamming_loss = 0.18518518518518517,
  .bce_mean = NAN,
  .ranking = {NAN, NAN, NAN, NAN},
  .samples_undefined = 0x2};

/* golden('gold_f_zd1', F_Y, F_P, 'pred', None, None, 1) */
static const struct ml_golden gold_f_zd1 = {
  .labels = {
    {{0, 0, 3, 0}, {0.0, 0.0, 3.0, 0.0}, {1.0, 1.0, 1.0, 1.0, NAN}, 0x87},
    {{0, 1, 2, 0}, {0.0, 1.0, 2.0, 0.0}, {0.0, 1.0, 0.0, 0.0, NAN}, 0x2},
  },
  .micro = {0.0, 1.0, 0.0},
  .macro = {0.5, 1.0, 0.5},
  .weighted = {0.0, 1.0, 0.0},
  .samples = {0.6666666666666666, 1.0, 0.6666666666666666},
  .jaccard = {0.0, 0.5, 0.6666666666666666},
  .subset_accuracy = 0.6666666666666666, .hamming_loss = 0.16666666666666666,
  .bce_mean = NAN,
  .ranking = {NAN, NAN, NAN, NAN},
  .samples_undefined = 0x87};

/* golden('gold_f_nan', F_Y, F_P, 'pred', None, None, 'nan') */
static const struct ml_golden gold_f_nan = {
  .labels = {
    {{0, 0, 3, 0}, {0.0, 0.0, 3.0, 0.0}, {NAN, NAN, NAN, NAN, NAN}, 0x87},
    {{0, 1, 2, 0}, {0.0, 1.0, 2.0, 0.0}, {0.0, NAN, 0.0, 0.0, NAN}, 0x2},
  },
  .micro = {0.0, NAN, 0.0},
  .macro = {0.0, NAN, 0.0},
  .weighted = {0.0, NAN, 0.0},
  .samples = {0.0, NAN, 0.0},
  .jaccard = {0.0, 0.0, 0.0},
  .subset_accuracy = 0.6666666666666666, .hamming_loss = 0.16666666666666666,
  .bce_mean = NAN,
  .ranking = {NAN, NAN, NAN, NAN},
  .samples_undefined = 0x87};

/* golden('gold_g_zd0', F_Y, G_P, 'pred', None, None, 0) */
static const struct ml_golden gold_g_zd0 = {
  .labels = {
    {{0, 0, 3, 0}, {0.0, 0.0, 3.0, 0.0}, {0.0, 0.0, 0.0, 0.0, NAN}, 0x87},
    {{0, 0, 3, 0}, {0.0, 0.0, 3.0, 0.0}, {0.0, 0.0, 0.0, 0.0, NAN}, 0x87},
  },
  .micro = {0.0, 0.0, 0.0},
  .macro = {0.0, 0.0, 0.0},
  .weighted = {0.0, 0.0, 0.0},
  .samples = {0.0, 0.0, 0.0},
  .jaccard = {0.0, 0.0, 0.0},
  .subset_accuracy = 1.0, .hamming_loss = 0.0,
  .bce_mean = NAN,
  .ranking = {NAN, NAN, NAN, NAN},
  .samples_undefined = 0x87};

/* golden('gold_g_zd1', F_Y, G_P, 'pred', None, None, 1) */
static const struct ml_golden gold_g_zd1 = {
  .labels = {
    {{0, 0, 3, 0}, {0.0, 0.0, 3.0, 0.0}, {1.0, 1.0, 1.0, 1.0, NAN}, 0x87},
    {{0, 0, 3, 0}, {0.0, 0.0, 3.0, 0.0}, {1.0, 1.0, 1.0, 1.0, NAN}, 0x87},
  },
  .micro = {1.0, 1.0, 1.0},
  .macro = {1.0, 1.0, 1.0},
  .weighted = {1.0, 1.0, 1.0},
  .samples = {1.0, 1.0, 1.0},
  .jaccard = {1.0, 1.0, 1.0},
  .subset_accuracy = 1.0, .hamming_loss = 0.0,
  .bce_mean = NAN,
  .ranking = {NAN, NAN, NAN, NAN},
  .samples_undefined = 0x87};

/* golden('gold_g_nan', F_Y, G_P, 'pred', None, None, 'nan') */
static const struct ml_golden gold_g_nan = {
  .labels = {
    {{0, 0, 3, 0}, {0.0, 0.0, 3.0, 0.0}, {NAN, NAN, NAN, NAN, NAN}, 0x87},
    {{0, 0, 3, 0}, {0.0, 0.0, 3.0, 0.0}, {NAN, NAN, NAN, NAN, NAN}, 0x87},
  },
  .micro = {NAN, NAN, NAN},
  .macro = {NAN, NAN, NAN},
  .weighted = {NAN, NAN, NAN},
  .samples = {NAN, NAN, NAN},
  .jaccard = {NAN, NAN, NAN},
  .subset_accuracy = 1.0, .hamming_loss = 0.0,
  .bce_mean = NAN,
  .ranking = {NAN, NAN, NAN, NAN},
  .samples_undefined = 0x87};

/* golden('gold_h_nan', H_Y, H_P, 'pred', None, None, 'nan') */
static const struct ml_golden gold_h_nan = {
  .labels = {
    {{0, 0, 1, 2}, {0.0, 0.0, 1.0, 2.0}, {NAN, 0.0, 0.0, 0.0, NAN}, 0x1},
    {{0, 1, 2, 0}, {0.0, 1.0, 2.0, 0.0}, {0.0, NAN, 0.0, 0.0, NAN}, 0x2},
  },
  .micro = {0.0, 0.0, 0.0},
  .macro = {0.0, 0.0, 0.0},
  .weighted = {0.0, 0.0, 0.0},
  .samples = {0.0, 0.0, 0.0},
  .jaccard = {0.0, 0.0, 0.0},
  .subset_accuracy = 0.3333333333333333, .hamming_loss = 0.5,
  .bce_mean = NAN,
  .ranking = {NAN, NAN, NAN, NAN},
  .samples_undefined = 0x87};
/* clang-format on */

/* ---- checks ---- */

/* Both are double computations of the same ratios by different formulas
 * (scikit-learn's F1 is 2PR/(P+R), PyTorch's BCE its own log-sum-exp form):
 * a few ulps apart. NaN must be NaN and an infinity the same infinity. */
static int close_to(double got, double want) {
  if (isnan(want))
    return isnan(got);
  if (isinf(want))
    return got == want;
  return fabs(got - want) <= 1e-13 * fmax(1.0, fabs(want));
}

#define EXPECT_CLOSE(got, want, ...)                                           \
  cr_expect(close_to((got), (want)), __VA_ARGS__)

static const char *const AVG_NAME[3] = {"precision", "recall", "f1"};

static void expect_avg(const clm_average_metrics *a, const double *want,
                       const char *name, const char *avg) {
  const double got[3] = {a->precision, a->recall, a->f1};
  for (int i = 0; i < 3; ++i)
    EXPECT_CLOSE(got[i], want[i], "%s: %s %s = %.17g, want %.17g", name, avg,
                 AVG_NAME[i], got[i], want[i]);
}

static void expect_golden(const clm_multilabel_result *r,
                          const struct ml_golden *g, const char *name) {
  for (uint32_t k = 0; k < r->n_labels; ++k) {
    const clm_multilabel_label *l = &r->labels[k];
    const struct ml_golden_label *e = &g->labels[k];
    const uint64_t cnt[4] = {l->tp, l->fp, l->tn, l->fn};
    const double wc[4] = {l->w_tp, l->w_fp, l->w_tn, l->w_fn};
    const double v[5] = {l->precision, l->recall, l->f1, l->jaccard,
                         l->bce_mean};
    static const char *const VN[5] = {"precision", "recall", "f1", "jaccard",
                                      "bce_mean"};
    for (int i = 0; i < 4; ++i) {
      cr_expect_eq(cnt[i], e->cnt[i], "%s: label %u cell %d = %llu, want %llu",
                   name, k, i, (unsigned long long)cnt[i],
                   (unsigned long long)e->cnt[i]);
      cr_expect_eq(wc[i], e->wc[i],
                   "%s: label %u weighted cell %d = %.17g, "
                   "want %.17g",
                   name, k, i, wc[i], e->wc[i]);
    }
    cr_expect_eq(l->support, e->cnt[0] + e->cnt[3], "%s: label %u support",
                 name, k);
    cr_expect_eq(l->support_weight, e->wc[0] + e->wc[3],
                 "%s: label %u support weight", name, k);
    for (int i = 0; i < 5; ++i)
      EXPECT_CLOSE(v[i], e->v[i], "%s: label %u %s = %.17g, want %.17g", name,
                   k, VN[i], v[i], e->v[i]);
    cr_expect_eq(l->undefined, e->undef,
                 "%s: label %u undefined 0x%x, want "
                 "0x%x",
                 name, k, l->undefined, e->undef);
  }
  expect_avg(&r->micro, g->micro, name, "micro");
  expect_avg(&r->macro, g->macro, name, "macro");
  expect_avg(&r->weighted_avg, g->weighted, name, "weighted");
  expect_avg(&r->samples, g->samples, name, "samples");
  const double jac[3] = {r->jaccard_micro, r->jaccard_macro,
                         r->jaccard_samples};
  static const char *const JN[3] = {"micro", "macro", "samples"};
  for (int i = 0; i < 3; ++i)
    EXPECT_CLOSE(jac[i], g->jaccard[i], "%s: jaccard %s = %.17g, want %.17g",
                 name, JN[i], jac[i], g->jaccard[i]);
  EXPECT_CLOSE(r->subset_accuracy, g->subset_accuracy,
               "%s: subset accuracy %.17g, want %.17g", name,
               r->subset_accuracy, g->subset_accuracy);
  EXPECT_CLOSE(r->hamming_loss, g->hamming_loss,
               "%s: hamming loss %.17g, want %.17g", name, r->hamming_loss,
               g->hamming_loss);
  EXPECT_CLOSE(r->bce_mean, g->bce_mean, "%s: bce_mean %.17g, want %.17g", name,
               r->bce_mean, g->bce_mean);
  const double rk[4] = {r->coverage_error, r->label_ranking_average_precision,
                        r->label_ranking_loss, r->roc_auc_samples};
  static const char *const RN[4] = {"coverage error", "LRAP", "ranking loss",
                                    "roc_auc samples"};
  for (int i = 0; i < 4; ++i)
    EXPECT_CLOSE(rk[i], g->ranking[i], "%s: %s = %.17g, want %.17g", name,
                 RN[i], rk[i], g->ranking[i]);
  cr_expect_eq(r->samples_undefined, g->samples_undefined,
               "%s: samples undefined 0x%x, want 0x%x", name,
               r->samples_undefined, g->samples_undefined);
}

/* Runs the reference and checks it against `g` and the header fields. */
static void run_golden(const uint8_t *y, const float *s, const uint8_t *p,
                       const float *w, uint64_t n, uint32_t L,
                       clm_scores_kind kind, const double *thr,
                       clm_zero_division zd, const struct ml_golden *g,
                       const char *name) {
  clm_multilabel_result r;
  const clm_status st =
      clm_ref_multilabel(y, s, p, w, n, L, kind, thr, 1, zd, &r);
  cr_assert_eq(st, CLM_OK, "%s: status %d", name, (int)st);
  cr_expect_eq(r.n, n);
  cr_expect_eq(r.n_labels, L);
  cr_expect_eq(r.has_scores, s != NULL);
  cr_expect_eq(r.weighted, w != NULL);
  cr_expect_eq(r.label_ranking, s != NULL);
  double ws = 0;
  for (uint64_t i = 0; i < n; ++i)
    ws += w ? w[i] : 1.0;
  cr_expect_eq(r.weight_sum, ws, "%s: weight sum %.17g", name, r.weight_sum);
  expect_golden(&r, g, name);
  free(r.labels);
}

#define ZD0 CLM_ZERO_DIVISION_ZERO
#define ZD1 CLM_ZERO_DIVISION_ONE
#define ZDN CLM_ZERO_DIVISION_NAN
#define LOGITS CLM_SCORES_LOGITS
#define PROBS CLM_SCORES_PROBS

/* Logits, unweighted: a row with no true and no predicted label, a label
 * without support predicted twice, one never true nor predicted, ties in
 * the ranking (a true label tied with a false one), a row of all-equal
 * scores, roc_auc undefined (a row without true labels). */
Test(ref_multilabel, golden_a_logits) {
  run_golden(a_y, a_z, NULL, NULL, 6, 5, LOGITS, NULL, ZD0, &gold_a_zd0, "a0");
  run_golden(a_y, a_z, NULL, NULL, 6, 5, LOGITS, NULL, ZD1, &gold_a_zd1, "a1");
  run_golden(a_y, a_z, NULL, NULL, 6, 5, LOGITS, NULL, ZDN, &gold_a_nan, "an");
}

/* Probabilities with per-label thresholds and 0 / 1 (clipped in the loss),
 * row weights with two zero-weight rows (one all wrong, one with no true
 * and no predicted label). */
Test(ref_multilabel, golden_b_weighted_probs) {
  run_golden(b_y, b_p, NULL, b_w, 8, 3, PROBS, b_t, ZD1, &gold_b_zd1, "b1");
  run_golden(b_y, b_p, NULL, b_w, 8, 3, PROBS, b_t, ZDN, &gold_b_nan, "bn");
}

/* +-inf logits (ties at +inf and -inf, a label whose loss is +inf), ties
 * at a finite score; weighted, the zero-weight row has no true label, so
 * roc_auc stays defined and its +inf loss is dropped; unweighted, that row
 * makes roc_auc NaN and its label's loss +inf. */
Test(ref_multilabel, golden_c_infinite_logits) {
  run_golden(c_y, c_z, NULL, c_w, 5, 4, LOGITS, NULL, ZD0, &gold_c_zd0, "cw");
  run_golden(c_y, c_z, NULL, NULL, 5, 4, LOGITS, NULL, ZD0, &gold_c_unw, "cu");
}

/* L = 1 with threshold 0.3 (logit(0.3) ~ -0.847: z = -0.75 is positive,
 * z = -1 is not). */
Test(ref_multilabel, golden_d_single_label) {
  run_golden(d_y, d_z, NULL, NULL, 6, 1, LOGITS, d_t, ZD1, &gold_d_zd1, "d1");
  run_golden(d_y, d_z, NULL, NULL, 6, 1, LOGITS, d_t, ZDN, &gold_d_nan, "dn");
}

/* 0/1 predictions, weighted (a zero-weight row with no predictions: its
 * 0/0 precision sets no samples bit). */
Test(ref_multilabel, golden_e_predictions) {
  run_golden(e_y, NULL, e_p, e_w, 5, 3, LOGITS, NULL, ZD1, &gold_e_zd1, "e1");
  run_golden(e_y, NULL, e_p, e_w, 5, 3, LOGITS, NULL, ZDN, &gold_e_nan, "en");
}

/* No support at all: scikit-learn's early return for average='weighted',
 * (0, zd, 0) with a predicted positive, (zd, zd, zd) without. */
Test(ref_multilabel, golden_fg_no_support) {
  run_golden(f_y, NULL, f_p, NULL, 3, 2, LOGITS, NULL, ZD1, &gold_f_zd1, "f1");
  run_golden(f_y, NULL, f_p, NULL, 3, 2, LOGITS, NULL, ZDN, &gold_f_nan, "fn");
  run_golden(f_y, NULL, g_p, NULL, 3, 2, LOGITS, NULL, ZD0, &gold_g_zd0, "g0");
  run_golden(f_y, NULL, g_p, NULL, 3, 2, LOGITS, NULL, ZD1, &gold_g_zd1, "g1");
  run_golden(f_y, NULL, g_p, NULL, 3, 2, LOGITS, NULL, ZDN, &gold_g_nan, "gn");
}

/* label_ranking off: no ranking values, everything else unchanged. */
Test(ref_multilabel, ranking_off) {
  clm_multilabel_result r;
  cr_assert_eq(
      clm_ref_multilabel(a_y, a_z, NULL, NULL, 6, 5, LOGITS, NULL, 0, ZD0, &r),
      CLM_OK);
  cr_expect_eq(r.label_ranking, 0);
  cr_expect(isnan(r.coverage_error) && isnan(r.label_ranking_loss) &&
            isnan(r.label_ranking_average_precision) &&
            isnan(r.roc_auc_samples));
  EXPECT_CLOSE(r.bce_mean, gold_a_zd0.bce_mean, "bce without ranking");
  EXPECT_CLOSE(r.samples.f1, gold_a_zd0.samples[2], "samples f1");
  free(r.labels);
}

/* Weights of 1 give the unweighted answer, bit for bit. */
Test(ref_multilabel, unit_weights_match_unweighted) {
  const float ones[6] = {1, 1, 1, 1, 1, 1};
  for (int zd = 0; zd < 3; ++zd) {
    clm_multilabel_result u, w;
    cr_assert_eq(clm_ref_multilabel(a_y, a_z, NULL, NULL, 6, 5, LOGITS, NULL, 1,
                                    (clm_zero_division)zd, &u),
                 CLM_OK);
    cr_assert_eq(clm_ref_multilabel(a_y, a_z, NULL, ones, 6, 5, LOGITS, NULL, 1,
                                    (clm_zero_division)zd, &w),
                 CLM_OK);
    cr_expect_eq(w.weighted, 1);
    cr_expect_eq(u.weighted, 0);
    w.weighted = 0;
    clm_multilabel_label *ul = u.labels, *wl = w.labels;
    u.labels = w.labels = NULL;
    /* NaN != NaN: compare bytes (the same code path gives the same NaN). */
    cr_expect_eq(memcmp(&u, &w, sizeof u), 0, "zd %d: results differ", zd);
    cr_expect_eq(memcmp(ul, wl, 5 * sizeof *ul), 0, "zd %d: labels differ", zd);
    free(ul);
    free(wl);
  }
}

/* The decision rule at the ends of [0, 1]: p > t, strictly. t = 1 predicts
 * nothing, not even z = +inf or p = 1; t = 0 everything but z = -inf and
 * p = 0. */
Test(ref_multilabel, threshold_edges) {
  const uint8_t y[4 * 2] = {1, 0, 0, 1, 1, 1, 0, 0};
  const float z[4 * 2] = {INFINITY, -INFINITY, 30.0f,     -30.0f,
                          0.0f,     -0.0f,     -INFINITY, INFINITY};
  const float p[4 * 2] = {1.0f, 0.0f, 0.75f, 0.25f, 0.5f, 0.5f, 0.0f, 1.0f};
  const double t1[2] = {1.0, 1.0}, t0[2] = {0.0, 0.0};
  const float *sc[2] = {z, p};
  for (int kind = 0; kind < 2; ++kind) {
    clm_multilabel_result r;
    cr_assert_eq(clm_ref_multilabel(y, sc[kind], NULL, NULL, 4, 2,
                                    (clm_scores_kind)kind, t1, 1, ZD0, &r),
                 CLM_OK);
    for (int k = 0; k < 2; ++k)
      cr_expect_eq(r.labels[k].tp + r.labels[k].fp, 0,
                   "kind %d t = 1: label %d predicted", kind, k);
    free(r.labels);
    cr_assert_eq(clm_ref_multilabel(y, sc[kind], NULL, NULL, 4, 2,
                                    (clm_scores_kind)kind, t0, 1, ZD0, &r),
                 CLM_OK);
    /* Label 0: column {+inf, 30, 0, -inf} / {1, .75, .5, 0}: 3 positive;
     * label 1: {-inf, -30, -0, +inf} / {0, .25, .5, 1}: 3 positive. */
    for (int k = 0; k < 2; ++k)
      cr_expect_eq(r.labels[k].tp + r.labels[k].fp, 3,
                   "kind %d t = 0: label %d predicted %llu", kind, k,
                   (unsigned long long)(r.labels[k].tp + r.labels[k].fp));
    free(r.labels);
  }
}

Test(ref_multilabel, rejects_bad_input) {
  clm_multilabel_result r;
  const uint8_t y[4] = {0, 1, 1, 0}, bad_y[4] = {0, 2, 1, 0};
  const float z[4] = {0.5f, -1.0f, 2.0f, 0.25f};
  const float nan_z[4] = {0.5f, NAN, 2.0f, 0.25f};
  const float big_p[4] = {0.5f, 1.5f, 0.25f, 0.0f};
  const float neg_w[2] = {1.0f, -1.0f}, inf_w[2] = {INFINITY, 1.0f};
  const float zero_w[2] = {0.0f, 0.0f};
  const double bad_t[2] = {0.5, 1.25};
  const struct {
    const uint8_t *y;
    const float *s, *w;
    uint64_t n;
    uint32_t L;
    clm_scores_kind kind;
    const double *t;
    int zd;
    clm_status want;
  } c[] = {
      {y, z, NULL, 2, 0, LOGITS, NULL, 0, CLM_ERR_INVALID_ARGUMENT},
      {NULL, z, NULL, 2, 2, LOGITS, NULL, 0, CLM_ERR_INVALID_ARGUMENT},
      {y, NULL, NULL, 2, 2, LOGITS, NULL, 0, CLM_ERR_INVALID_ARGUMENT},
      {y, z, NULL, 2, 2, (clm_scores_kind)7, NULL, 0, CLM_ERR_INVALID_ARGUMENT},
      {y, z, NULL, 2, 2, LOGITS, NULL, 3, CLM_ERR_INVALID_ARGUMENT},
      {y, z, NULL, 2, 2, LOGITS, bad_t, 0, CLM_ERR_INVALID_ARGUMENT},
      {bad_y, z, NULL, 2, 2, LOGITS, NULL, 0, CLM_ERR_BAD_LABEL},
      {y, nan_z, NULL, 2, 2, LOGITS, NULL, 0, CLM_ERR_BAD_SCORE},
      {y, big_p, NULL, 2, 2, PROBS, NULL, 0, CLM_ERR_BAD_SCORE},
      {y, z, neg_w, 2, 2, LOGITS, NULL, 0, CLM_ERR_BAD_WEIGHT},
      {y, z, inf_w, 2, 2, LOGITS, NULL, 0, CLM_ERR_BAD_WEIGHT},
      {y, z, zero_w, 2, 2, LOGITS, NULL, 0, CLM_ERR_EMPTY},
      {y, z, NULL, 0, 2, LOGITS, NULL, 0, CLM_ERR_EMPTY},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; ++i) {
    r.labels = (clm_multilabel_label *)&r; /* must come back NULL */
    const clm_status st = clm_ref_multilabel(c[i].y, c[i].s, NULL, c[i].w,
                                             c[i].n, c[i].L, c[i].kind, c[i].t,
                                             1, (clm_zero_division)c[i].zd, &r);
    cr_expect_eq(st, c[i].want, "case %zu: status %d, want %d", i, (int)st,
                 (int)c[i].want);
    cr_expect_null(r.labels, "case %zu: labels allocated on error", i);
  }
  cr_expect_eq(
      clm_ref_multilabel(y, z, NULL, NULL, 2, 2, LOGITS, NULL, 1, ZD0, NULL),
      CLM_ERR_INVALID_ARGUMENT);
}

/* ---- the sort-based ranking against an O(L^2) count ---- */

struct brute {
  double coverage, lrap, loss, auc; /* auc NaN with 0 or L true labels */
};

/* Straight from the definitions, every pair looked at. */
static struct brute brute_row(const uint8_t *y, const float *s, uint32_t L) {
  struct brute b = {0, 1.0, 0.0, NAN};
  uint32_t t = 0;
  float min_true = INFINITY;
  for (uint32_t k = 0; k < L; ++k)
    if (y[k]) {
      ++t;
      if (s[k] < min_true)
        min_true = s[k];
    }
  if (t > 0)
    for (uint32_t k = 0; k < L; ++k)
      b.coverage += s[k] >= min_true;
  if (t == 0 || t == L)
    return b;
  double lrap = 0, le = 0, won = 0, ties = 0;
  for (uint32_t j = 0; j < L; ++j) {
    if (!y[j])
      continue;
    double above_true = 0, above = 0;
    for (uint32_t k = 0; k < L; ++k) {
      if (s[k] >= s[j]) {
        above += 1;
        above_true += y[k] != 0;
      }
      if (!y[k]) {
        le += s[j] <= s[k];
        won += s[j] > s[k];
        ties += s[j] == s[k];
      }
    }
    lrap += above_true / above;
  }
  const double pairs = (double)t * (double)(L - t);
  b.lrap = lrap / t;
  b.loss = le / pairs;
  b.auc = (won + 0.5 * ties) / pairs;
  return b;
}

/* Scores from a small set (ties, +-inf, -0) or continuous; labels with
 * all-true and all-false rows; weights with zeros. `mixed_rows` forces at
 * least one true and one false label per row (L >= 2), so roc_auc is
 * defined. */
static void ranking_case(uint64_t seed, uint64_t n, uint32_t L, int weighted,
                         int mixed_rows) {
  static const float SET[] = {-INFINITY, -2.0f, -0.5f, -0.0f,   0.0f,
                              0.5f,      1.0f,  3.0f,  INFINITY};
  clm_rng rng;
  clm_rng_seed(&rng, clm_rng_splitmix64(seed));
  uint8_t *y = malloc(n * L);
  float *s = malloc(n * L * sizeof *s);
  float *w = malloc(n * sizeof *w);
  cr_assert(y && s && w);
  for (uint64_t r = 0; r < n; ++r) {
    const uint32_t mode = clm_rng_below(&rng, 8);
    const int tied = clm_rng_below(&rng, 2);
    for (uint32_t k = 0; k < L; ++k) {
      const uint64_t i = r * L + k;
      y[i] = mode == 0 ? 0 : mode == 1 ? 1 : clm_rng_uniform(&rng) < 0.4;
      s[i] = tied ? SET[clm_rng_below(&rng, sizeof SET / sizeof SET[0])]
                  : (float)(4 * clm_rng_uniform(&rng) - 2);
    }
    if (mixed_rows && L >= 2) {
      const uint32_t a = clm_rng_below(&rng, L);
      const uint32_t b = (a + 1 + clm_rng_below(&rng, L - 1)) % L;
      y[r * L + a] = 1;
      y[r * L + b] = 0;
    }
    w[r] =
        clm_rng_below(&rng, 5) == 0 ? 0.0f : (float)(2 * clm_rng_uniform(&rng));
  }
  w[0] = 1.0f; /* a positive weight sum */
  const float *wp = weighted ? w : NULL;

  double ws = 0, cov = 0, lrap = 0, loss = 0, auc = 0;
  int auc_undef = 0;
  for (uint64_t r = 0; r < n; ++r) {
    const double wr = wp ? wp[r] : 1.0;
    const struct brute b = brute_row(y + r * L, s + r * L, L);
    double c1, c2, c3, c4;
    cr_assert_eq(clm_ref_multilabel_row_ranking(y + r * L, s + r * L, L, &c1,
                                                &c2, &c3, &c4),
                 0);
    /* Per row the counts are exact; lrap sums ratios in another order. */
    cr_expect_eq(c1, b.coverage, "seed %llu row %llu: coverage %g, want %g",
                 (unsigned long long)seed, (unsigned long long)r, c1,
                 b.coverage);
    cr_expect(fabs(c2 - b.lrap) <= 4e-16 * L,
              "row %llu: lrap %.17g, want "
              "%.17g",
              (unsigned long long)r, c2, b.lrap);
    cr_expect_eq(c3, b.loss, "row %llu: ranking loss %.17g, want %.17g",
                 (unsigned long long)r, c3, b.loss);
    cr_expect(isnan(b.auc) ? isnan(c4) : c4 == b.auc,
              "row %llu: auc %.17g, want %.17g", (unsigned long long)r, c4,
              b.auc);
    ws += wr;
    cov += wr * b.coverage;
    lrap += wr * b.lrap;
    loss += wr * b.loss;
    if (isnan(b.auc))
      auc_undef |= wr > 0;
    else
      auc += wr * b.auc;
  }
  const double want[4] = {cov / ws, lrap / ws, loss / ws,
                          auc_undef ? NAN : auc / ws};
  clm_multilabel_result res;
  cr_assert_eq(
      clm_ref_multilabel(y, s, NULL, wp, n, L, LOGITS, NULL, 1, ZD0, &res),
      CLM_OK);
  const double got[4] = {res.coverage_error,
                         res.label_ranking_average_precision,
                         res.label_ranking_loss, res.roc_auc_samples};
  for (int i = 0; i < 4; ++i)
    cr_expect(isnan(want[i]) ? isnan(got[i]) : fabs(got[i] - want[i]) <= 1e-13,
              "seed %llu n %llu L %u weighted %d: ranking metric %d = %.17g, "
              "want %.17g",
              (unsigned long long)seed, (unsigned long long)n, L, weighted, i,
              got[i], want[i]);
  if (mixed_rows && L >= 2)
    cr_expect(!isnan(res.roc_auc_samples), "L %u: roc_auc undefined", L);
  free(res.labels);
  free(y);
  free(s);
  free(w);
}

Test(ref_multilabel, ranking_brute_force) {
  static const uint32_t LS[] = {1, 2, 3, 5, 8, 17, 64};
  for (size_t i = 0; i < sizeof LS / sizeof LS[0]; ++i)
    for (int weighted = 0; weighted < 2; ++weighted)
      for (int mixed = 0; mixed < 2; ++mixed)
        ranking_case(1000 + 10 * i + 2 * weighted + mixed, 257, LS[i], weighted,
                     mixed);
}

/* Zero-division NaN where the only defined precision belongs to a label
 * without support: scikit-learn's _nanaverage falls back to the plain mean
 * of the defined values (0), not 0/0. */
Test(ref_multilabel, golden_h_nan_weights_all_zero) {
  run_golden(h_y, NULL, h_p, NULL, 3, 2, LOGITS, NULL, ZDN, &gold_h_nan, "hn");
}
