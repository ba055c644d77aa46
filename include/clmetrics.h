/*
 * clmetrics — evaluation engine for classifiers on OpenCL devices.
 *
 * One public header. Every fallible call returns a clm_status (0 = ok,
 * negative = error) and, where a clm_error pointer is accepted (it may be
 * NULL), fills it with a message naming the index and value at fault.
 * The library never prints, asserts on user input or exits.
 */
#ifndef CLMETRICS_H
#define CLMETRICS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the public API: the library is built with hidden visibility and
 * exports only these names. */
#if defined(CLM_BUILDING_LIBRARY) && defined(__GNUC__)
#define CLM_API __attribute__((visibility("default")))
#else
#define CLM_API
#endif

#define CLM_VERSION_MAJOR 0
#define CLM_VERSION_MINOR 1
#define CLM_VERSION_PATCH 0
#define CLM_VERSION_NUMBER                                                     \
  (CLM_VERSION_MAJOR * 10000 + CLM_VERSION_MINOR * 100 + CLM_VERSION_PATCH)
#define CLM_VERSION_STR_(x) #x
#define CLM_VERSION_XSTR_(a, b, c)                                             \
  CLM_VERSION_STR_(a) "." CLM_VERSION_STR_(b) "." CLM_VERSION_STR_(c)
#define CLM_VERSION_STRING                                                     \
  CLM_VERSION_XSTR_(CLM_VERSION_MAJOR, CLM_VERSION_MINOR, CLM_VERSION_PATCH)

/** Runtime version, CLM_VERSION_NUMBER of the library actually linked. */
CLM_API unsigned clm_version_number(void);
/** Runtime version string, e.g. "0.1.0". */
CLM_API const char *clm_version_string(void);

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

typedef enum clm_status {
  CLM_OK = 0,
  CLM_ERR_INVALID_ARGUMENT = -1, /* a NULL pointer, a bad option value */
  CLM_ERR_NO_PLATFORM = -2,      /* no OpenCL platform installed */
  CLM_ERR_NO_DEVICE = -3,        /* no device, or none matches the spec */
  CLM_ERR_OPENCL = -4,           /* an OpenCL call failed */
  CLM_ERR_BUILD = -5,            /* kernel build failed; see build log */
  CLM_ERR_KERNEL_SOURCE = -6,    /* kernel source could not be read */
  CLM_ERR_OUT_OF_MEMORY = -7,    /* host or device allocation failed */
  CLM_ERR_IO = -8,               /* missing/unreadable/unwritable file */
  CLM_ERR_FORMAT = -9,           /* malformed or truncated file */
  CLM_ERR_UNSUPPORTED = -10,     /* unsupported dtype, order, shape */
  CLM_ERR_BAD_LABEL = -11,       /* a label outside the allowed set */
  CLM_ERR_BAD_SCORE = -12,       /* NaN score, probability outside [0,1] */
  CLM_ERR_LENGTH_MISMATCH = -13, /* arrays of different lengths */
  CLM_ERR_EMPTY = -14,           /* no samples */
  CLM_ERR_STATE_MISMATCH = -15,  /* merging incompatible states */
  CLM_ERR_SELFTEST = -16,        /* the device computed a wrong answer */
  CLM_ERR_BAD_WEIGHT = -17,      /* a sample or class weight that is NaN, +-inf
                                    or negative */
  CLM_ERR_PEER = -18 /* a collective computation stopped because another
                        participant (e.g. an MPI rank) failed */
} clm_status;

/** A short, static, human-readable name for a status code. */
CLM_API const char *clm_status_str(clm_status status);

/** Which argument of a call held the value at fault. */
typedef enum clm_input {
  CLM_INPUT_NONE = 0,     /* not about one input (or not known) */
  CLM_INPUT_LABELS = 1,   /* labels / true class labels */
  CLM_INPUT_SCORES = 2,   /* scores (logits or probabilities) */
  CLM_INPUT_PRED = 3,     /* predicted class labels */
  CLM_INPUT_FEATURES = 4, /* the feature matrix */
  CLM_INPUT_WEIGHTS = 5,  /* per-sample weights */
} clm_input;

/** Details of a failure: which input, element and value, and a message. */
typedef struct clm_error {
  clm_status status;
  int64_t index; /* element index at fault, or -1 */
  double value;  /* the offending value, when index >= 0 */
  char message[512];
  clm_input input; /* the argument at fault, when the call can tell */
} clm_error;

/* ------------------------------------------------------------------ */
/* Devices and context                                                 */
/* ------------------------------------------------------------------ */

typedef enum clm_log_level {
  CLM_LOG_DEBUG = 0,
  CLM_LOG_INFO = 1,
  CLM_LOG_WARNING = 2
} clm_log_level;

/** Optional diagnostics sink; the library itself never prints. */
typedef void (*clm_log_fn)(void *user, clm_log_level level,
                           const char *message);

typedef struct clm_device_info {
  unsigned index; /* position in the flattened list over all platforms */
  unsigned platform_index;
  char platform[128];
  char name[128];
  char version[128];
  char driver[64];
  char type[16]; /* "GPU", "CPU", "accelerator", "other" */
  unsigned compute_units;
  uint64_t global_mem_bytes;
  uint64_t max_alloc_bytes;
  uint64_t local_mem_bytes;
  int host_unified_memory;
} clm_device_info;

/**
 * Lists every OpenCL device of every platform. Writes at most `capacity`
 * entries into `out` (may be NULL when capacity is 0) and the total number
 * of devices into `*count`. CLM_ERR_NO_PLATFORM when none is installed.
 */
CLM_API clm_status clm_devices_list(clm_device_info *out, size_t capacity,
                                    size_t *count, clm_error *err);

/** Optional progress sink: called after each chunk of an update with the
 * samples done so far in that call and the call's total. */
typedef void (*clm_progress_fn)(void *user, uint64_t done, uint64_t total);

typedef struct clm_context_options {
  /* Device spec: an index into clm_devices_list, or a case-insensitive
   * substring of "platform device". NULL: $CLMETRICS_DEVICE, else the
   * first GPU, else the first device. */
  const char *device;
  /* Directory holding the .cl files; NULL: $CLMETRICS_KERNEL_DIR, else the
   * sources embedded at build time. */
  const char *kernel_dir;
  clm_log_fn log;
  void *log_user;
  clm_progress_fn progress;
  void *progress_user;
  /* Work-group size of the evaluation kernels; 0 picks one from the device.
   * Must be a power of two. Results' counts never depend on it. */
  size_t local_size;
  /* Largest number of samples per kernel launch; 0 picks one from the
   * device's limits. Inputs of any length are processed in such chunks. */
  uint64_t chunk_samples;
  /* Confusion-matrix strategy: CLM_CONFUSION_AUTO picks from the device's
   * local memory; the others force one (for tests and tuning). */
  int confusion_strategy;
  /* Device counters are uint32: they are flushed into the uint64 state at
   * least every this many samples. 0: 2^32 - 1. Smaller values exist to
   * test the flush. */
  uint64_t flush_samples;
} clm_context_options;

#define CLM_CONFUSION_AUTO 0
#define CLM_CONFUSION_LOCAL 1  /* whole K x K matrix in local memory */
#define CLM_CONFUSION_DIAG 2   /* diagonal local, off-diagonal global */
#define CLM_CONFUSION_GLOBAL 3 /* every cell by global atomics */
#define CLM_CONFUSION_PRIVATE                                                  \
  4 /* per-group K x K slices in global memory,                                \
       no atomics (one work-item per group) */

/*
 * Threads: a context may be shared by any number of threads. Its device
 * work (every update call and the self-test) runs one call at a time under
 * the context's lock, so concurrent calls are correct but do not overlap;
 * give each thread its own context to run in parallel. A state
 * (clm_binary_state, clm_multiclass_state) is not locked: each thread
 * updates its own and the results are combined with the merge functions.
 * clm_context_free must not race with calls on the same context.
 */
typedef struct clm_context clm_context;

/** Fills `opts` with defaults (everything automatic). */
CLM_API void clm_context_options_init(clm_context_options *opts);

/**
 * Selects a device, creates its queue and builds the kernels once.
 * On any error `*out` is NULL. On CLM_ERR_BUILD, `err->message` holds the
 * build options and the end of the build log (on one line); the whole log
 * goes to the log callback at CLM_LOG_INFO.
 */
CLM_API clm_status clm_context_create(const clm_context_options *opts,
                                      clm_context **out, clm_error *err);

/** Releases everything the context holds. Accepts NULL. */
CLM_API void clm_context_free(clm_context *ctx);

/** Describes the device the context runs on. */
CLM_API const clm_device_info *clm_context_device(const clm_context *ctx);

/** The options passed to the kernel compiler (for reports and bug reports). */
CLM_API const char *clm_context_build_options(const clm_context *ctx);

/** How the context launches its kernels, chosen from the device (or forced
 * by the options); for reports, tuning and the self-test. */
typedef struct clm_launch_shape {
  size_t local_size;           /* work-group size of the evaluation kernels */
  size_t max_local_size;       /* the device's largest work-group */
  size_t confusion_local_size; /* 1: private per-group histograms (CPUs) */
  unsigned vector_width;       /* floats per vector load */
  unsigned items;              /* vectors per work-item per tile */
  int strided;                 /* 1: work-items interleave (GPUs) */
} clm_launch_shape;

/** Fills `shape` for the context. */
CLM_API void clm_context_launch_shape(const clm_context *ctx,
                                      clm_launch_shape *shape);

/** Seconds spent in clm_context_create (platform load + program build). */
CLM_API double clm_context_startup_seconds(const clm_context *ctx);

/* ------------------------------------------------------------------ */
/* Binary evaluation                                                   */
/* ------------------------------------------------------------------ */

typedef enum clm_scores_kind {
  CLM_SCORES_LOGITS = 0, /* raw scores z, probability sigma(z) */
  CLM_SCORES_PROBS = 1   /* probabilities in [0, 1] */
} clm_scores_kind;

/** What an undefined ratio (0/0) becomes, as scikit-learn's zero_division. */
typedef enum clm_zero_division {
  CLM_ZERO_DIVISION_ZERO = 0,
  CLM_ZERO_DIVISION_ONE = 1,
  CLM_ZERO_DIVISION_NAN = 2
} clm_zero_division;

/**
 * Mergeable accumulator: exact counts and double sums. A plain struct so
 * states from chunks, streams, devices or machines combine by
 * clm_binary_merge. Initialise with clm_binary_state_init and release with
 * clm_binary_state_release (weight_grad_sum is owned by the state).
 */
typedef struct clm_binary_state {
  clm_scores_kind kind;
  double threshold;
  uint64_t n, tp, fp, tn, fn;
  double bce_sum;  /* sum of per-sample binary cross-entropy */
  double grad_sum; /* sum of sigma(z_i) - y_i */
  uint64_t n_features;
  double *weight_grad_sum; /* n_features sums of (sigma(z_i)-y_i)*x_ij */
  /* Loss options and sample weights (clm_binary_state_init_ex). With
   * per-sample weights w_i and pos_weight P, every loss and gradient term
   * is multiplied by w_i * (y_i ? P : 1); bce_sum, grad_sum and
   * weight_grad_sum hold those products. */
  double pos_weight; /* P of BCEWithLogitsLoss(pos_weight=P); 1: plain BCE */
  int weighted;      /* 1: every update passes per-sample weights */
  double w_sum;      /* sum of the weights (weighted states only) */
  double w_tp, w_fp, w_tn, w_fn; /* sums of the weights per cell */
} clm_binary_state;

/** Options of a binary state beyond clm_binary_state_init's. */
typedef struct clm_binary_options {
  clm_scores_kind kind;
  double threshold;    /* in [0, 1] */
  uint64_t n_features; /* 0: no feature matrix */
  double pos_weight;   /* > 0 and finite; 1 (the default) is plain BCE */
  int weighted;        /* 1: updates pass per-sample weights */
} clm_binary_options;

/** Defaults: logits, threshold 0.5, no features, pos_weight 1, unweighted. */
CLM_API void clm_binary_options_init(clm_binary_options *opts);

/**
 * Prepares an empty state from options (clm_binary_state_init is this with
 * pos_weight 1 and no weights). CLM_ERR_INVALID_ARGUMENT for a threshold
 * outside [0, 1] or a pos_weight that is not positive and finite, also
 * once rounded to the float32 the kernels use (1e300 and 1e-300 are
 * refused).
 */
CLM_API clm_status clm_binary_state_init_ex(clm_binary_state *state,
                                            const clm_binary_options *opts);

/**
 * Prepares an empty state. `threshold` must lie in [0, 1]; a sample is
 * predicted positive iff its probability is strictly above it. With
 * n_features > 0, updates must pass an n x n_features feature matrix.
 */
CLM_API clm_status clm_binary_state_init(clm_binary_state *state,
                                         clm_scores_kind kind, double threshold,
                                         uint64_t n_features);

/** Frees what the state owns and zeroes it. Accepts NULL. */
CLM_API void clm_binary_state_release(clm_binary_state *state);

/**
 * Evaluates n samples on the device and adds them to `state`.
 * labels: n values, each 0 or 1. scores: n float32 logits or probabilities.
 * features: n x state->n_features row-major float32, or NULL when
 * n_features is 0. grad_out: NULL, or room for n float32 per-sample
 * gradients sigma(z_i) - y_i. On any error the state is left unchanged and
 * `err` names the first offending index and value.
 */
CLM_API clm_status clm_binary_update(clm_context *ctx, clm_binary_state *state,
                                     const uint8_t *labels, const float *scores,
                                     uint64_t n, const float *features,
                                     float *grad_out, clm_error *err);

/**
 * clm_binary_update for one batch of a longer input whose first sample is
 * number `base` of the whole: errors name base + i, so a caller streaming
 * a large file batch by batch reports the index in the file.
 */
CLM_API clm_status clm_binary_update_at(clm_context *ctx,
                                        clm_binary_state *state, uint64_t base,
                                        const uint8_t *labels,
                                        const float *scores, uint64_t n,
                                        const float *features, float *grad_out,
                                        clm_error *err);

/**
 * clm_binary_update_at with per-sample weights (required when the state is
 * weighted and n > 0, must be NULL for an unweighted state, else
 * CLM_ERR_INVALID_ARGUMENT): n float32 values, each finite and >= 0 (else
 * CLM_ERR_BAD_WEIGHT naming the first such index and its value, input
 * CLM_INPUT_WEIGHTS; a bad label or score at a lower index, or at the same
 * index, is reported instead). The state adds the integer counts as always
 * and the sums of weights per confusion cell; losses and gradients are
 * weighted. grad_out receives w_i * (y_i ? P : 1) * (sigma(z_i) - y_i), the
 * per-sample derivative of the weighted loss (P = pos_weight). A zero weight
 * drops its sample from the loss and gradients (its term is 0 even where
 * the loss is +inf); it still counts in n and the integer cells.
 *
 * Precision, against a float64 evaluation of the same float32 inputs (the
 * same bounds hold for unweighted states, w_i = 1). With u = 2^-24,
 * s_i = w_i * (y_i ? P : 1) and t_i the sample's weighted loss: every
 * float32 partial of a work-group adds T = local_size * items *
 * vector_width terms (clm_context_launch_shape), each through at most
 * D = (items - 1) + log2(vector_width) + log2(local_size) float32
 * additions (a running sum per vector lane, then two halving trees), and
 * partials are added in double on the host. So
 *   w_sum, w_tp, w_fp, w_tn, w_fn: |error| <= D u (the exact sum)
 *   bce_sum:  |error| <= (D + 12) u sum_i |t_i|
 *   grad_sum: |error| <= (D + 16) u sum_i s_i
 *   grad_out[i]: |error| <= 16 u s_i
 *   weight_grad_sum[j]: |error| <= (256 + 17) u sum_i s_i |x_ij| (256 rows
 *   per float32 partial of the weight-gradient kernel)
 * where 12 u bounds one loss term's own error (exp <= 1 ulp, log/log1p
 * <= 3 ulp, the add, the products by P, by w and P's rounding to float32)
 * and 16 u s_i one gradient's (|sigma - y| <= 1; division <= 2.5 ulp);
 * plus n * 2^-52 relative for the double sums and 2^-148 (1 + s_i) per
 * term whose value is subnormal. D <= T - 1: the CPU shape (local size 8,
 * 32 items, float8) has D = 37 (about 2.2e-6 relative), the GPU shape
 * (256 x 8 x 4) D = 17. tests/test_binary.c checks every output with
 * these tolerances. A float32 partial can overflow to +inf when one
 * group's terms sum past FLT_MAX (huge weights times large losses).
 */
CLM_API clm_status clm_binary_update_weighted(
    clm_context *ctx, clm_binary_state *state, uint64_t base,
    const uint8_t *labels, const float *scores, const float *weights,
    uint64_t n, const float *features, float *grad_out, clm_error *err);

/**
 * Converts float64 scores to the float32 the kernels read, without moving
 * any value across the decision threshold: to nearest, except that a value
 * strictly above the threshold in the score's domain (t for probabilities,
 * logit(t) for logits) stays strictly above it, and a value at or below
 * stays at or below (one float32 step at most). Magnitudes past the float32
 * range become +-inf. NaN, and for probabilities a value outside [0, 1],
 * is CLM_ERR_BAD_SCORE naming the first index and the value as stored. Use
 * it for float64 inputs so that decisions match a float64 `score > t`.
 */
CLM_API clm_status clm_binary_scores_from_f64(const double *in, uint64_t n,
                                              clm_scores_kind kind,
                                              double threshold, float *out,
                                              clm_error *err);
/** The same for a batch whose first value is number `base` of the input. */
CLM_API clm_status clm_binary_scores_from_f64_at(const double *in, uint64_t n,
                                                 uint64_t base,
                                                 clm_scores_kind kind,
                                                 double threshold, float *out,
                                                 clm_error *err);

/** dst += src. Both must have the same kind, threshold, n_features,
 * pos_weight and weighting. */
CLM_API clm_status clm_binary_merge(clm_binary_state *dst,
                                    const clm_binary_state *src);

/* Bits of clm_binary_result.undefined: metrics that were 0/0. */
#define CLM_UNDEF_PRECISION (1u << 0)
#define CLM_UNDEF_RECALL (1u << 1)
#define CLM_UNDEF_F1 (1u << 2)
#define CLM_UNDEF_SPECIFICITY (1u << 3)
#define CLM_UNDEF_MCC (1u << 4)
#define CLM_UNDEF_BALANCED_ACCURACY (1u << 5)

typedef struct clm_binary_result {
  uint64_t n, tp, fp, tn, fn;
  double threshold;
  double accuracy, precision, recall, f1, specificity, balanced_accuracy, mcc;
  double bce_mean, bce_sum;
  double grad_bias;   /* dL/db = mean of sigma(z_i) - y_i */
  unsigned undefined; /* CLM_UNDEF_* bits, set when the ratio was 0/0 */
  /* Weighted states: every ratio above comes from the sums of weights per
   * cell (scikit-learn's sample_weight), and bce_mean, grad_bias and the
   * weight gradient divide by weight_sum instead of n (log_loss's
   * sample_weight mean). Unweighted: weight_sum = n and w_* = the counts. */
  int weighted;
  double pos_weight;
  double weight_sum;
  double w_tp, w_fp, w_tn, w_fn;
} clm_binary_result;

/**
 * Derives every metric from the state's counts and sums (pure C, double
 * precision). weight_grad: NULL, or room for state->n_features values of
 * dL/dW = (1/n) sum_i f_i (sigma(z_i) - y_i) x_i, f_i = (y_i ? P : 1)
 * (weighted: sum_i w_i f_i (sigma(z_i) - y_i) x_i over weight_sum).
 * bce_mean and grad_bias divide by n (PyTorch's mean, pos_weight included)
 * or, weighted, by weight_sum. Weighted ratios come from the cells' weight
 * sums as scikit-learn's with sample_weight: F1 = 2tp / (2tp + fp + fn),
 * balanced accuracy over the classes whose true weight is > 0, MCC from the
 * weighted cells. CLM_ERR_EMPTY when n == 0, or when a weighted state's
 * weights sum to 0 (every metric would be 0/0).
 */
CLM_API clm_status clm_binary_finalize(const clm_binary_state *state,
                                       clm_zero_division zero_division,
                                       clm_binary_result *out,
                                       double *weight_grad);

/* ------------------------------------------------------------------ */
/* Multi-class evaluation                                              */
/* ------------------------------------------------------------------ */

/**
 * Mergeable multi-class accumulator: the K x K confusion matrix in uint64
 * (rows = true class, columns = predicted) plus, when scores were given,
 * the cross-entropy sum and top-k hits. Initialise with
 * clm_multiclass_state_init, release with clm_multiclass_state_release.
 */
typedef struct clm_multiclass_state {
  uint32_t n_classes;
  uint64_t n;
  uint64_t *confusion; /* n_classes * n_classes, owned by the state */
  int has_scores;      /* 1 once scores were evaluated */
  clm_scores_kind kind;
  uint64_t n_scored; /* rows that came with scores (loss, top-k) */
  double ce_sum;     /* sum of per-sample cross-entropy (scores only) */
  uint32_t top_k;    /* 0: not computed */
  uint64_t top_k_hits;
  /* Loss options and sample weights (clm_multiclass_state_init_ex).
   * Per row n with sample weight s_n (1 when unweighted), class weights w_c
   * (1 when none) and smoothing e, the loss is PyTorch's CrossEntropyLoss:
   *   l_n = (1 - e) w_{y_n} (-log p_{n,y_n}) + (e / K) sum_c w_c (-log p_{n,c})
   * ce_sum holds sum_n s_n l_n and ce_norm sum_n s_n w_{y_n}, over scored
   * rows that are not ignored; the mean is ce_sum / ce_norm. Without any
   * option ce_norm = n_scored and ce_sum is the plain cross-entropy sum.
   * A zero weight (w_c, w_{y_n} or s_n) times an infinite -log p adds 0
   * (PyTorch gives NaN there): a row or class that weighs nothing costs
   * nothing. A -inf logit with e > 0 and w_c > 0 makes the loss +inf, as
   * in PyTorch. The device sums the loss in float per work-group (at most
   * (R + 2K + 16) 2^-24 relative to the sum of the terms' magnitudes, R
   * the rows of one group); the host adds the groups in double. */
  int weighted;
  double *w_confusion;  /* K x K sums of sample weights (weighted), owned */
  double w_sum;         /* sum of the sample weights of counted rows */
  double w_top_k_hits;  /* sum of the sample weights of top-k hits */
  double *class_weight; /* K loss weights, owned; NULL: all 1 */
  int has_ignore_index;
  int32_t ignore_index; /* rows with this true label are skipped */
  double label_smoothing;
  uint64_t n_ignored; /* rows skipped (not in n, the matrix or the loss) */
  double w_ignored;   /* their sample weights' sum (weighted) */
  double ce_norm;     /* the loss mean's denominator (see above) */
  double w_scored;    /* sample weights of the scored rows that are not
                         ignored: top-k accuracy's denominator (weighted) */
} clm_multiclass_state;

/** Options of a multi-class state beyond clm_multiclass_state_init's. */
typedef struct clm_multiclass_options {
  uint32_t n_classes; /* K >= 2 */
  uint32_t top_k;     /* 0, or the k of top-k accuracy */
  int weighted;       /* 1: updates pass per-sample weights */
  /* NULL, or K finite values >= 0 (copied): PyTorch's `weight`, which
   * changes the loss only, never the confusion-matrix metrics. */
  const double *class_weight;
  int has_ignore_index;   /* 1: rows whose true label is ignore_index are */
  int32_t ignore_index;   /* skipped by every metric and the loss (-100 in
                             PyTorch; any int32 value, in [0, K) or not) */
  double label_smoothing; /* in [0, 1]; PyTorch's label_smoothing */
} clm_multiclass_options;

/** Defaults: K = 0 (must be set), no top-k, unweighted, no class weights,
 * no ignored label, no smoothing. */
CLM_API void clm_multiclass_options_init(clm_multiclass_options *opts);

/** Prepares an empty state from options; CLM_ERR_INVALID_ARGUMENT for a
 * bad K or top_k, a smoothing outside [0, 1]; CLM_ERR_BAD_WEIGHT for a
 * class weight that is NaN, infinite or negative. */
CLM_API clm_status clm_multiclass_state_init_ex(
    clm_multiclass_state *state, const clm_multiclass_options *opts);

/** Prepares an empty state for K = n_classes >= 2 classes. top_k: 0, or
 * the k of top-k accuracy (computed from scores only). */
CLM_API clm_status clm_multiclass_state_init(clm_multiclass_state *state,
                                             uint32_t n_classes,
                                             uint32_t top_k);

/** Frees what the state owns and zeroes it. Accepts NULL. */
CLM_API void clm_multiclass_state_release(clm_multiclass_state *state);

/**
 * Adds n (true, predicted) label pairs to the confusion matrix, counted on
 * the device. A label outside [0, K) is an error naming the first index.
 * On error the state is unchanged.
 */
CLM_API clm_status clm_multiclass_update_labels(clm_context *ctx,
                                                clm_multiclass_state *state,
                                                const int32_t *y_true,
                                                const int32_t *y_pred,
                                                uint64_t n, clm_error *err);
/** The same for a batch whose first row is number `base` of the input
 * (errors name base + i). */
CLM_API clm_status clm_multiclass_update_labels_at(
    clm_context *ctx, clm_multiclass_state *state, uint64_t base,
    const int32_t *y_true, const int32_t *y_pred, uint64_t n, clm_error *err);

/**
 * Adds n rows of an n x K score matrix (row-major float32 logits or
 * probabilities): the prediction is the row's argmax (ties to the lowest
 * class), and the same pass adds the cross-entropy (log-sum-exp minus the
 * true logit; -log(clip(p_true, eps, 1)) for probabilities) and top-k hits
 * (the true class is in the top k when fewer than k classes score higher,
 * equal scores ranking the lower class first, as the argmax does; so top-1
 * accuracy equals accuracy. scikit-learn's top_k_accuracy_score ranks ties
 * the other way; without ties they agree).
 * pred_out: NULL or room for n predicted labels. NaN scores (and, for
 * probabilities, values outside [0, 1]) are errors naming row and column.
 */
CLM_API clm_status clm_multiclass_update_scores(
    clm_context *ctx, clm_multiclass_state *state, const int32_t *y_true,
    const float *scores, uint64_t n, clm_scores_kind kind, int32_t *pred_out,
    clm_error *err);
/** The same for a batch whose first row is number `base` of the input. */
CLM_API clm_status clm_multiclass_update_scores_at(
    clm_context *ctx, clm_multiclass_state *state, uint64_t base,
    const int32_t *y_true, const float *scores, uint64_t n,
    clm_scores_kind kind, int32_t *pred_out, clm_error *err);

/**
 * clm_multiclass_update_labels_at with per-sample weights: required when
 * the state is weighted, NULL otherwise; n float32 values, finite and >= 0
 * (else CLM_ERR_BAD_WEIGHT naming the index, err->input =
 * CLM_INPUT_WEIGHTS; weights are checked before the labels). Rows whose
 * true label is the state's ignore_index are skipped and counted in
 * n_ignored (their predicted label is still checked). The weighted matrix
 * is summed on the host in float64, in row order (deterministic). Any
 * state may use it: with weights NULL (unweighted states) it is
 * clm_multiclass_update_labels_at plus ignore_index.
 */
CLM_API clm_status clm_multiclass_update_labels_weighted(
    clm_context *ctx, clm_multiclass_state *state, uint64_t base,
    const int32_t *y_true, const int32_t *y_pred, const float *weights,
    uint64_t n, clm_error *err);

/**
 * clm_multiclass_update_scores_at with per-sample weights (as above) and
 * the state's loss options (class weights, ignore_index, smoothing).
 * Ignored rows add nothing to any metric, but their scores are still
 * checked (NaN is an error) and their argmax still written to pred_out.
 * The weighted matrix counts the device's predictions (summed on the host
 * in row order). clm_multiclass_update_scores_at applies the state's
 * options too (it passes no weights, so it fails on a weighted state).
 */
CLM_API clm_status clm_multiclass_update_scores_weighted(
    clm_context *ctx, clm_multiclass_state *state, uint64_t base,
    const int32_t *y_true, const float *scores, const float *weights,
    uint64_t n, clm_scores_kind kind, int32_t *pred_out, clm_error *err);

/**
 * Per-row gradients of the state's loss (PyTorch's CrossEntropyLoss with
 * the state's class weights w_c, ignore_index and label smoothing e) with
 * respect to the scores of n rows, each times its sample weight s_n, into
 * grad_out (n x K float32, row-major):
 *   grad[n][j] = s_n [(1 - e) w_t (p_j - [j = t]) + (e / K)(W p_j - w_j)],
 * t = y_true[n], W = sum_c w_c (w_c = 1 without class weights), p the
 * row's softmax (max-subtracted, in float32; among m logits at +inf each
 * has probability 1/m, every other class 0). This is the gradient of s_n
 * l_n, not divided by the loss normaliser: dividing by the state's
 * ce_norm (after the update of every row) gives the gradient of PyTorch's
 * reduction="mean" loss; without dividing, that of reduction="sum" with
 * the sample weights as factors. For probabilities the row is taken as
 * logits log p, so p is the row divided by its sum (1/K each for an
 * all-zero row). Rows whose true label is the state's ignore_index get a
 * zero row.
 * weights: NULL (every s_n = 1) or n values, finite and >= 0, whether or
 * not the state is weighted. The state is only read. Checked before any
 * device work, in this order: weights (CLM_ERR_BAD_WEIGHT), true labels
 * outside [0, K) that are not the ignored one (CLM_ERR_BAD_LABEL); then on
 * the device, scores as in the update (NaN, probabilities outside [0, 1],
 * logit rows all -inf or all +inf: CLM_ERR_BAD_SCORE naming row and
 * column). Errors name base + i; on error grad_out's contents are
 * unspecified. Accuracy: see README ("Loss options").
 */
CLM_API clm_status clm_multiclass_gradient(
    clm_context *ctx, const clm_multiclass_state *state, uint64_t base,
    const int32_t *y_true, const float *scores, const float *weights,
    uint64_t n, clm_scores_kind kind, float *grad_out, clm_error *err);

/**
 * Converts an n x K float64 score matrix to float32 without changing any
 * row's argmax: values are rounded to nearest, then the columns that
 * rounding tied with the row's first float64 maximum are moved one float32
 * step down. NaN, and for probabilities a value outside [0, 1], is
 * CLM_ERR_BAD_SCORE naming the row (err->index), the column (in the
 * message) and the value as stored.
 */
CLM_API clm_status clm_multiclass_scores_from_f64(const double *in, uint64_t n,
                                                  uint32_t k,
                                                  clm_scores_kind kind,
                                                  float *out, clm_error *err);
/** The same for a batch whose first row is number `base` of the input. */
CLM_API clm_status clm_multiclass_scores_from_f64_at(
    const double *in, uint64_t n, uint64_t base, uint32_t k,
    clm_scores_kind kind, float *out, clm_error *err);

/** dst += src; both must have the same K, top_k, score kind, weighting
 * and loss options. */
CLM_API clm_status clm_multiclass_merge(clm_multiclass_state *dst,
                                        const clm_multiclass_state *src);

#define CLM_UNDEF_KAPPA (1u << 6)

typedef struct clm_class_metrics {
  double precision, recall, f1;
  uint64_t support;        /* true samples of the class */
  uint64_t predicted;      /* samples predicted as the class */
  unsigned undefined;      /* CLM_UNDEF_PRECISION / _RECALL / _F1 bits */
  double support_weight;   /* sum of weights of the class's true samples */
  double predicted_weight; /* likewise of its predictions (= the counts when
                              unweighted) */
} clm_class_metrics;

typedef struct clm_average_metrics {
  double precision, recall, f1;
} clm_average_metrics;

typedef struct clm_multiclass_result {
  uint32_t n_classes;
  uint64_t n;
  clm_class_metrics *per_class; /* n_classes entries, owned */
  double accuracy, balanced_accuracy, mcc, cohen_kappa;
  clm_average_metrics macro, micro, weighted;
  int has_loss;
  /* over the rows that came with scores: cross_entropy_sum /
   * cross_entropy_norm, NaN when the norm is 0 (every true class weighing
   * 0, as PyTorch's 0/0) */
  double cross_entropy_mean;
  uint32_t top_k;
  double top_k_accuracy; /* likewise (weighted: w_top_k_hits / w_scored,
                            NaN when the scored rows weigh 0) */
  unsigned undefined;    /* CLM_UNDEF_MCC, CLM_UNDEF_KAPPA, and the OR of the
                            per-class bits */
  /* Weighted states: every ratio comes from the matrix of weight sums
   * (scikit-learn's sample_weight; weighted averages by support_weight) and
   * top-k accuracy from the weights of the hits. */
  int sample_weighted;
  double weight_sum; /* sum of the weights of counted rows (n unweighted) */
  uint64_t n_ignored;
  double cross_entropy_sum, cross_entropy_norm; /* ce_sum, ce_norm */
} clm_multiclass_result;

/**
 * Derives per-class and averaged metrics from the matrix (pure C, double
 * precision, no overflow). Macro averages run over all K classes, weighted
 * ones by support; micro averages equal accuracy for single-label data.
 * Release the result with clm_multiclass_result_release.
 */
CLM_API clm_status clm_multiclass_finalize(const clm_multiclass_state *state,
                                           clm_zero_division zero_division,
                                           clm_multiclass_result *out);

/** Frees the per-class array. Accepts NULL. */
CLM_API void clm_multiclass_result_release(clm_multiclass_result *result);

/* ------------------------------------------------------------------ */
/* Calibration                                                         */
/* ------------------------------------------------------------------ */

/**
 * Calibration of probabilities: the Brier score and a reliability table
 * over bins of the confidence, from which ECE (L1), RMS calibration error
 * (L2) and maximum calibration error follow (torchmetrics' CalibrationError
 * norms). Binary (n_classes = 1): the confidence is the positive-class
 * probability (sigma(z) for logits) and a hit is label 1, torchmetrics'
 * binary convention. Multi-class (K >= 2): top-label, the row's largest
 * probability (softmax of logits) against argmax == label (ties to the
 * lowest class), plus class-wise bins of every p_c against label == c.
 * Bins: edges e_0 = 0 < e_1 < ... < e_B = 1; bin b holds (e_b, e_{b+1}],
 * the first one [0, e_1], so 0 and 1 land in real bins; edges compare in
 * float64 with the float32 confidence. Counts are integers; the sums of
 * weights, confidences and hits are per-work-item partials (compensated
 * float32 sums) added on the host in float64 in a fixed order.
 */
typedef struct clm_calibration_state {
  uint32_t n_classes; /* 1: binary; K >= 2: multi-class */
  uint32_t n_bins;    /* B >= 1 */
  int classwise;      /* multi-class: 1 when the class-wise bins are kept */
  int weighted;       /* 1: updates pass per-sample weights */
  int has_ignore_index;
  int32_t ignore_index; /* multi-class rows with this label are skipped */
  double *edges;        /* B + 1 edges, owned */
  uint64_t n;           /* rows counted */
  uint64_t n_ignored;
  double weight_sum;  /* sum of weights (n when unweighted) */
  double brier_sum;   /* sum of w (p - y)^2, or w sum_c (p_c - [y = c])^2 */
  uint64_t *count;    /* B: rows per bin (binary or top-label) */
  double *weight;     /* B: sum of weights per bin (= count unweighted) */
  double *confidence; /* B: sum of w * confidence */
  double *hits;       /* B: sum of w * [hit] */
  /* class-wise bins, K x B, class-major (NULL unless classwise) */
  uint64_t *cw_count;
  double *cw_weight, *cw_confidence, *cw_hits;
} clm_calibration_state;

typedef struct clm_calibration_options {
  uint32_t n_classes;   /* 1 (binary) or K >= 2 */
  uint32_t n_bins;      /* 15 by default (torchmetrics) */
  const double *edges;  /* NULL: B equal-width bins; else B + 1 ascending
                           edges from 0 to 1 (copied) */
  int classwise;        /* multi-class: keep class-wise bins (default 1) */
  int weighted;         /* 1: updates pass per-sample weights */
  int has_ignore_index; /* multi-class: skip rows with this label */
  int32_t ignore_index;
} clm_calibration_options;

#define CLM_CALIBRATION_DEFAULT_BINS 15

/** Defaults: binary, 15 equal-width bins, class-wise on, unweighted. */
CLM_API void clm_calibration_options_init(clm_calibration_options *opts);

/** Prepares an empty state. CLM_ERR_INVALID_ARGUMENT for 0 bins, K = 0,
 * or edges that are not strictly ascending from 0 to 1. */
CLM_API clm_status clm_calibration_state_init(
    clm_calibration_state *state, const clm_calibration_options *opts);

/** Frees what the state owns and zeroes it. Accepts NULL. */
CLM_API void clm_calibration_state_release(clm_calibration_state *state);

/**
 * Adds n binary samples (state->n_classes == 1), counted on the device:
 * labels 0/1, float32 logits or probabilities, weights NULL or n finite
 * values >= 0 (required when the state is weighted). Bad input is the
 * same error as clm_binary_update's (CLM_ERR_BAD_WEIGHT for weights);
 * indices are base + i. On error the state is unchanged.
 */
CLM_API clm_status clm_calibration_update_binary(
    clm_context *ctx, clm_calibration_state *state, uint64_t base,
    const uint8_t *labels, const float *scores, const float *weights,
    uint64_t n, clm_scores_kind kind, clm_error *err);

/**
 * Adds n rows of an n x K score matrix (row-major float32 logits or
 * probabilities; probabilities are used as given, not renormalised) with
 * true labels in [0, K) (or the ignore_index). As above otherwise.
 */
CLM_API clm_status clm_calibration_update_multiclass(
    clm_context *ctx, clm_calibration_state *state, uint64_t base,
    const int32_t *y_true, const float *scores, const float *weights,
    uint64_t n, clm_scores_kind kind, clm_error *err);

/** dst += src; both must have the same K, bins, edges and options. */
CLM_API clm_status clm_calibration_merge(clm_calibration_state *dst,
                                         const clm_calibration_state *src);

/** One row of the reliability table. */
typedef struct clm_calibration_bin {
  double lo, hi;     /* (lo, hi]; the first bin [lo, hi] */
  uint64_t count;    /* rows in the bin */
  double weight;     /* their weights' sum (= count unweighted) */
  double confidence; /* mean confidence (weighted); NaN when empty */
  double frequency;  /* observed frequency of hits; NaN when empty */
  double gap;        /* frequency - confidence; NaN when empty */
} clm_calibration_bin;

typedef struct clm_calibration_result {
  uint32_t n_classes, n_bins;
  uint64_t n, n_ignored;
  int weighted;
  double weight_sum;
  /* Brier: mean of (p - y)^2 (binary), of sum_c (p_c - [y = c])^2
   * (multi-class, scikit-learn's unhalved form), weighted by w. */
  double brier;
  /* Over non-empty bins, each weighted by its share of the total weight:
   * ece = sum share |gap|, rmsce = sqrt(sum share gap^2), mce = max |gap|. */
  double ece, rmsce, mce;
  clm_calibration_bin *bins; /* n_bins rows, owned */
  /* Multi-class with class-wise bins: the mean over the K classes of each
   * class's ECE (its p_c against label == c); NaN otherwise. */
  double classwise_ece;
  double *classwise_ece_per_class; /* K values, owned; NULL otherwise */
} clm_calibration_result;

/** Derives the table and the errors (pure C). CLM_ERR_EMPTY when no row
 * was counted or the weights sum to 0. */
CLM_API clm_status clm_calibration_finalize(const clm_calibration_state *state,
                                            clm_calibration_result *out);

/** Frees the result's arrays. Accepts NULL. */
CLM_API void clm_calibration_result_release(clm_calibration_result *result);

/**
 * Equal-mass edges from a finer state's (binary or top-label) bins: edge j
 * (0 < j < n_bins) is the upper edge of the first fine bin where the
 * cumulative weight reaches j / n_bins of the total, so each bin's mass is
 * exact to within one fine bin (a documented approximation of
 * np.percentile's edges; resolution = the fine bins' width). Edges that
 * would repeat are dropped, so *out_bins may be less than n_bins. `edges`
 * has room for n_bins + 1 values.
 */
CLM_API clm_status clm_calibration_quantile_edges(
    const clm_calibration_state *fine, uint32_t n_bins, double *edges,
    uint32_t *out_bins);

/* ------------------------------------------------------------------ */
/* Device self-test                                                    */
/* ------------------------------------------------------------------ */

/** One self-test check: a kernel in one configuration over its inputs. */
typedef struct clm_selftest_row {
  char kernel[32];  /* "binary", "weight_grad", "confusion", "argmax_ce",
                       "rank_hist/refine" */
  char config[96];  /* work-group size, strategy, sizes */
  unsigned cases;   /* input sets compared */
  int passed;       /* 1 when every case matched the reference */
  double worst;     /* largest error seen, in units of its tolerance */
  char detail[160]; /* the first failure, or what was compared */
} clm_selftest_row;

/**
 * Runs every kernel on the device chosen by `opts` (NULL: the default)
 * over fixed inputs — awkward sizes, extreme values, every work-group size
 * and confusion strategy the engine may pick — and compares each output with
 * a double-precision CPU reference. Writes at most `capacity` rows and the
 * number produced into `*count`. Returns CLM_OK when all passed,
 * CLM_ERR_SELFTEST when any failed, or the error that stopped it.
 */
CLM_API clm_status clm_selftest(const clm_context_options *opts,
                                clm_selftest_row *rows, size_t capacity,
                                size_t *count, clm_error *err);

/* ------------------------------------------------------------------ */
/* Arrays and files                                                    */
/* ------------------------------------------------------------------ */

typedef enum clm_dtype {
  CLM_DTYPE_BOOL = 0,
  CLM_DTYPE_U8,
  CLM_DTYPE_I8,
  CLM_DTYPE_I16,
  CLM_DTYPE_I32,
  CLM_DTYPE_I64,
  CLM_DTYPE_F32,
  CLM_DTYPE_F64
} clm_dtype;

/** Name of a dtype as NumPy spells it ("bool", "uint8", "float32", ...). */
CLM_API const char *clm_dtype_name(clm_dtype dtype);

/** A 1-D or 2-D array read from a file (memory-mapped for .npy). */
typedef struct clm_array clm_array;

/**
 * Loads a file: `.npy` (C order, little-endian, format version 1, 2 or
 * 3, memory-mapped; must be a regular file) or, for any other extension,
 * CSV (one value per line or comma-separated rows, an optional header line
 * when its first field looks like a name; read as float64, streaming, so a
 * pipe works; lines of at most 1 MiB).
 */
CLM_API clm_status clm_array_load(const char *path, clm_array **out,
                                  clm_error *err);
CLM_API clm_status clm_array_load_npy(const char *path, clm_array **out,
                                      clm_error *err);
CLM_API clm_status clm_array_load_csv(const char *path, clm_array **out,
                                      clm_error *err);

/** Unmaps/frees the array and any converted copies. Accepts NULL. */
CLM_API void clm_array_free(clm_array *array);

CLM_API clm_dtype clm_array_dtype(const clm_array *array);
/** 1 or 2. */
CLM_API int clm_array_ndim(const clm_array *array);
/** Rows (dimension 0). */
CLM_API uint64_t clm_array_rows(const clm_array *array);
/** Columns (dimension 1), 1 for a 1-D array. */
CLM_API uint64_t clm_array_cols(const clm_array *array);
/** The path the array was loaded from. */
CLM_API const char *clm_array_path(const clm_array *array);
/** Raw element data in the array's dtype, row-major. */
CLM_API const void *clm_array_data(const clm_array *array);

/**
 * Restricts a freshly loaded array to its rows [first, first + count) in
 * place (no copy: the data pointer moves into the mapping), for splitting
 * one file between processes. Indices in later messages count from
 * `first`. CLM_ERR_INVALID_ARGUMENT when the rows lie outside the array
 * or a conversion was already cached.
 */
CLM_API clm_status clm_array_slice(clm_array *array, uint64_t first,
                                   uint64_t count, clm_error *err);

/**
 * A new array holding the rows of parts[0..count) one after the other
 * (copied into memory the new array owns), named `name` in messages. Every
 * part must have the same dtype and columns (else CLM_ERR_UNSUPPORTED
 * naming the two files). The parts are not modified.
 */
CLM_API clm_status clm_array_concat(const clm_array *const *parts, size_t count,
                                    const char *name, clm_array **out,
                                    clm_error *err);

/**
 * The array as 0/1 uint8 labels (1-D or N x 1). bool and uint8 arrays are
 * returned as they are (values checked later by the evaluation); other
 * dtypes are converted into a buffer owned by the array, and a value other
 * than 0 or 1 is reported with its index.
 */
CLM_API clm_status clm_array_labels_u8(clm_array *array, const uint8_t **out,
                                       clm_error *err);

/**
 * The array as int32 class labels (1-D or N x 1). int32 arrays are returned
 * as they are; other integer dtypes and integral floats are converted into a
 * buffer owned by the array. Negative, non-integral, NaN or too large values
 * are reported with their index.
 */
CLM_API clm_status clm_array_labels_i32(clm_array *array, const int32_t **out,
                                        clm_error *err);

/**
 * The array as float32 values (any shape). float32 arrays are returned as
 * they are; other dtypes are converted into a buffer owned by the array.
 */
CLM_API clm_status clm_array_values_f32(clm_array *array, const float **out,
                                        clm_error *err);

/*
 * Batch readers: convert rows [first, first + count) into the caller's
 * buffer, so that inputs of any length stream through bounded memory.
 * Errors name the file and the index in the whole array (CLM_ERR_BAD_LABEL
 * or CLM_ERR_BAD_SCORE with err->index set).
 */

/** 0/1 labels from any label dtype (1-D or N x 1); `out` holds `count`. */
CLM_API clm_status clm_array_read_labels_u8(const clm_array *array,
                                            uint64_t first, uint64_t count,
                                            uint8_t *out, clm_error *err);

/** 0/1 values of rows [first, first + count) of any shape (count x cols
 * values) from any label dtype, as clm_array_read_labels_u8; a bad value is
 * CLM_ERR_BAD_LABEL naming the row and column (err->index: the flat
 * index). For multilabel indicator matrices and 0/1 predictions. */
CLM_API clm_status clm_array_read_indicator_u8(const clm_array *array,
                                               uint64_t first, uint64_t count,
                                               uint8_t *out, clm_error *err);

/** Class labels in [0, INT32_MAX] from any integer or integral float dtype
 * (1-D or N x 1); `out` holds `count`. */
CLM_API clm_status clm_array_read_labels_i32(const clm_array *array,
                                             uint64_t first, uint64_t count,
                                             int32_t *out, clm_error *err);

/** float32 values of `count` rows (count x cols values; float64 saturates
 * to +-inf past the float32 range). With require_finite, NaN and +-inf (as
 * stored) are CLM_ERR_BAD_SCORE naming the row and column. */
CLM_API clm_status clm_array_read_values_f32(const clm_array *array,
                                             uint64_t first, uint64_t count,
                                             float *out, int require_finite,
                                             clm_error *err);

/**
 * Writes a float32 `.npy` file: 1-D of `rows` values when cols == 0, else
 * rows x cols. Writes a temporary file beside `path` and renames it on
 * success, so no partial file is ever left at `path`.
 */
CLM_API clm_status clm_npy_write_f32(const char *path, const float *data,
                                     uint64_t rows, uint64_t cols,
                                     clm_error *err);

/** As clm_npy_write_f32, converting from double. */
CLM_API clm_status clm_npy_write_f64_as_f32(const char *path,
                                            const double *data, uint64_t rows,
                                            uint64_t cols, clm_error *err);

/*
 * Streaming .npy writer, for outputs too large to hold in memory: open with
 * the final shape, append the values in order, then commit (or abort).
 * - A regular file at `path` (or a new one) is written under a short
 *   temporary name in the same directory and renamed over `path` only by
 *   clm_npy_writer_commit, which gives it the replaced file's mode (and, run
 *   as root, its owner and group). A symlink is kept: its target is
 *   replaced. Until commit, `path` is untouched; abort removes the
 *   temporary file.
 * - A non-regular file (a character device such as /dev/null, a FIFO, a
 *   socket) is written through and never replaced.
 * - A directory is an error.
 */
typedef struct clm_npy_writer clm_npy_writer;

/** Starts a float32 file of `rows` values (cols == 0) or rows x cols. */
CLM_API clm_status clm_npy_writer_open(const char *path, uint64_t rows,
                                       uint64_t cols, clm_npy_writer **out,
                                       clm_error *err);
/** Appends `count` float32 values. */
CLM_API clm_status clm_npy_writer_append_f32(clm_npy_writer *writer,
                                             const float *data, uint64_t count,
                                             clm_error *err);
/** Appends `count` float64 values, rounded to float32 (saturating). */
CLM_API clm_status clm_npy_writer_append_f64(clm_npy_writer *writer,
                                             const double *data, uint64_t count,
                                             clm_error *err);
/** Checks every value was written, closes and renames into place; frees the
 * writer whatever the outcome (on failure nothing is left at the temporary
 * name and `path` is as it was). */
CLM_API clm_status clm_npy_writer_commit(clm_npy_writer *writer,
                                         clm_error *err);
/** Removes the temporary file and frees the writer. Accepts NULL. */
CLM_API void clm_npy_writer_abort(clm_npy_writer *writer);
/** A writer for a text file (CSV) with the same safe replacement: bytes
 * appended with clm_npy_writer_append_bytes, no header, no count check. */
CLM_API clm_status clm_npy_writer_open_text(const char *path,
                                            clm_npy_writer **out,
                                            clm_error *err);
/** Appends len bytes to a text writer. */
CLM_API clm_status clm_npy_writer_append_bytes(clm_npy_writer *writer,
                                               const void *data, size_t len,
                                               clm_error *err);
/** The temporary file's path (NULL when writing through), for callers that
 * must remove it from a signal handler. */
CLM_API const char *clm_npy_writer_temp_path(const clm_npy_writer *writer);

/* ------------------------------------------------------------------ */
/* Ranking: exact ROC-AUC and average precision in bounded memory     */
/* ------------------------------------------------------------------ */

/** Default memory budget of the ranking passes (bytes). */
#define CLM_RANKING_DEFAULT_BUDGET ((uint64_t)256 << 20)
/** Smallest budget the exact computation accepts (bytes). */
#define CLM_RANKING_MIN_BUDGET ((uint64_t)64 << 10)

/**
 * Where the exact ranking computation reads its input: n rows, read as
 * many times as it needs passes, in batches. k == 1: binary, labels uint8
 * 0/1 and one score per row. k >= 2: one-vs-rest over an n x k row-major
 * score matrix, labels int32 class indices in [0, k). Scores are float32
 * or float64 (`dtype`) and are ranked in their own type; `softmax` (k >= 2
 * only) ranks each row's softmax probabilities (computed in float32)
 * instead of the stored logits. `multilabel` 1 (any k >= 1): labels are
 * instead k uint8 0/1 indicator cells per row (an n x k row-major matrix,
 * the scores' shape), column c's positives the rows whose cell c is 1 (see
 * clm_ranking_compute_multilabel); not with softmax.
 * read() makes rows [first, first + count) available at *labels and
 * *scores until its next call; it returns CLM_OK or an error (with err
 * filled in) that ends the computation.
 */
typedef struct clm_ranking_source {
  void *user;
  uint64_t n;
  uint32_t k;
  clm_dtype dtype; /* CLM_DTYPE_F32 or CLM_DTYPE_F64 */
  int softmax;
  clm_status (*read)(void *user, uint64_t first, uint64_t count,
                     const void **labels, const void **scores, clm_error *err);
  /* NULL: unweighted. Else called after read() for the same rows: makes
   * count float32 sample weights (finite, >= 0) available at *weights
   * until the next read(). Weighted ranking follows scikit-learn's
   * sample_weight and runs on the host (see
   * clm_ranking_compute_arrays_weighted). */
  clm_status (*read_weights)(void *user, uint64_t first, uint64_t count,
                             const float **weights, clm_error *err);
  /* 0: labels as above. 1: labels are count x k uint8 0/1 indicator rows
   * (multilabel, per-label ranking). Last, so that initializers written
   * without it leave it 0. */
  int multilabel;
} clm_ranking_source;

typedef struct clm_ranking_options {
  uint64_t memory_budget; /* bytes of histograms and gathered keys on host
                             and device; 0: CLM_RANKING_DEFAULT_BUDGET */
  uint64_t curve_points;  /* 0: no curves; else at most this many points
                             per class (>= 2) */
  uint64_t batch_rows;    /* rows per read() call; 0: 2^22 */
  int scores_are_probs;   /* 1: check scores lie in [0, 1] */
  /* Collective computation over data split between participants (MPI
   * ranks, threads), each calling clm_ranking_compute on its own rows with
   * the same options: NULL (the default) computes over this source alone.
   * Else reduce() must replace counts[0..len) by their sums over every
   * participant (e.g. MPI_Allreduce of uint64 with MPI_SUM) and return
   * CLM_OK; each participant calls it the same number of times with the
   * same len. Every pass then works on the global counts, so all
   * participants plan the same passes and return the same result, exact
   * over the union of their rows (n is the total). A call of len 1 is an
   * agreement: the word is the number of participants whose own step
   * failed; when it is not 0 every participant stops, returning its own
   * error or CLM_ERR_PEER. Counts have len >= 2. The computation ends with
   * an agreement, so it fails on every participant or on none. A source
   * may hold 0 rows; weighted sources (read_weights) are not supported
   * (CLM_ERR_UNSUPPORTED). Refinement then counts key ranges densely
   * (never gathers keys, which could not be summed): see the README for
   * the passes and memory this takes. */
  clm_status (*reduce)(void *user, uint64_t *counts, uint64_t len,
                       clm_error *err);
  void *reduce_user;
} clm_ranking_options;

/** Sets the defaults. */
CLM_API void clm_ranking_options_init(clm_ranking_options *opts);

/** One point of the ROC/PR curves: the samples scoring >= threshold. */
typedef struct clm_curve_point {
  double threshold;
  uint64_t tp, fp;
  double tp_weight, fp_weight; /* sums of weights (= tp, fp unweighted) */
} clm_curve_point;

/** Ranking metrics of one column (binary, or one class against the rest).
 * A value is NaN when undefined: ROC-AUC needs both classes, average
 * precision at least one positive. [*_lo, *_hi] is a certified interval
 * that holds the exact value; both equal it when exact. */
typedef struct clm_ranking_class {
  uint64_t positives, negatives;
  double roc_auc, roc_auc_lo, roc_auc_hi;
  double average_precision, average_precision_lo, average_precision_hi;
  uint64_t distinct;      /* distinct scores (0 when not resolved) */
  clm_curve_point *curve; /* descending thresholds; owned; NULL if none */
  uint64_t curve_len;
  double positive_weight, negative_weight; /* sums of weights (= the counts
                                              unweighted) */
} clm_ranking_class;

typedef struct clm_ranking_result {
  uint64_t n;
  uint32_t k;
  int exact;                  /* 1 when every interval has width 0 */
  clm_ranking_class *classes; /* k entries (1 for binary), owned */
  /* k >= 2: one-vs-rest (or per-label, multilabel) averages over the
   * classes where the value is defined, unweighted (macro) and by
   * positives (weighted). */
  double roc_auc_macro, roc_auc_weighted;
  double average_precision_macro, average_precision_weighted;
  uint32_t passes;       /* passes over the data */
  uint64_t memory_bytes; /* peak histogram + gather memory used */
} clm_ranking_result;

/**
 * Exact ROC-AUC (Mann-Whitney, ties credited 1/2 at exactly equal stored
 * values, -0.0 equal to +0.0) and average precision (sum over distinct
 * thresholds of (R_n - R_{n-1}) P_n, as scikit-learn) of the source's
 * rows, with at most opts->curve_points points of each curve. Counts per
 * order-preserving key prefix are histogrammed on the device; the prefixes
 * that still matter are refined in further passes within the memory
 * budget, so memory is bounded independent of n. NaN scores (and, with
 * scores_are_probs, values outside [0, 1]) and bad labels are errors naming
 * the row. Release the result with clm_ranking_result_release.
 */
CLM_API clm_status clm_ranking_compute(clm_context *ctx,
                                       const clm_ranking_source *source,
                                       const clm_ranking_options *opts,
                                       clm_ranking_result *out, clm_error *err);

/** The same over arrays in memory (labels uint8 for k == 1, int32 else;
 * scores n x k of `dtype`). */
CLM_API clm_status clm_ranking_compute_arrays(
    clm_context *ctx, const void *labels, const void *scores, clm_dtype dtype,
    uint64_t n, uint32_t k, int softmax, const clm_ranking_options *opts,
    clm_ranking_result *out, clm_error *err);

/** clm_ranking_compute_arrays with n float32 sample weights (finite,
 * >= 0; else CLM_ERR_BAD_WEIGHT naming the row, err->input
 * CLM_INPUT_WEIGHTS).
 *
 * Weighted ranking (this call, or a source with read_weights) follows
 * scikit-learn's sample_weight: rows of weight 0 are dropped (they make no
 * threshold and no tie); ROC-AUC = sum over (positive i, negative j) of
 * w_i w_j ([s_i > s_j] + [s_i == s_j] / 2) / (W_pos W_neg), NaN unless
 * both sums are > 0; AP = sum over distinct thresholds, descending, of
 * (R_n - R_{n-1}) P_n with TP and FP as sums of weights, NaN when W_pos is
 * 0. Per class: positives/negatives count every row, positive_weight /
 * negative_weight are the sums; multi-class "weighted" averages weigh each
 * class by its positive_weight. Curve points are chosen as unweighted
 * (evenly in rank) over the rows of weight > 0: tp/fp count those rows,
 * tp_weight/fp_weight sum their weights; `distinct` is always set.
 *
 * It runs on the host CPU (float weights need no device histogram, and so
 * no float atomics), one thread. Definition as computed: per column, one
 * sweep over the distinct keys in descending order; each key's weights are
 * summed in row order, and the running sums and the AUC and AP numerators
 * in that sweep order, all in long double. No step depends on the budget,
 * batch size or timing, so results are bit-identical across them and runs.
 * Precision: every term is >= 0, so each result is within about
 * (5 n + 5) u_ld + u_d relative of the exact value (u_ld = LDBL_EPSILON / 2,
 * 2^-64 on x86-64; u_d = 2^-53), about 1e-13 at n = 10^5 (the tests hold
 * it to twice that against an independent reference).
 * Memory: pass 1 counts the weighted rows per key prefix (at most 16 bits;
 * counts and ranges within budget / 8); each later pass gathers the rows
 * of the highest pending key ranges (32 bytes a row, at most budget / 2),
 * splits a range too large by a count histogram of its next w bits
 * (2^w <= budget / 1024, at most budget / 16 per pass) and sums a single
 * key too large directly. Beyond that, the pending range list (24 bytes a
 * range) grows by fewer than 2^w ranges per open split level per column.
 * memory_bytes reports the peak of all of these. Passes: about 1 + n_w * 32
 * / (budget / 2) (n_w: weighted rows times columns), plus one per split
 * level. */
CLM_API clm_status clm_ranking_compute_arrays_weighted(
    clm_context *ctx, const void *labels, const void *scores,
    const float *weights, clm_dtype dtype, uint64_t n, uint32_t k, int softmax,
    const clm_ranking_options *opts, clm_ranking_result *out, clm_error *err);

/** Exact per-label ROC-AUC and AP of an n x k multilabel problem (any
 * k >= 1; scikit-learn's roc_auc_score and average_precision_score on an
 * indicator matrix, average=None per class, "macro" and "weighted" as the
 * result's averages): labels an n x k uint8 0/1 indicator matrix, column
 * c's positives the rows with labels[i * k + c] == 1; scores n x k of
 * dtype (ranked in their own type; logits are ranked as logits); weights
 * NULL or n float32 row weights (scikit-learn's sample_weight, as
 * clm_ranking_compute_arrays_weighted, on the host). Labels other than 0/1
 * -> CLM_ERR_BAD_LABEL, and NaN scores -> CLM_ERR_BAD_SCORE, naming the
 * flat index row * k + col (err->index) and the row and column in the
 * message. Macro/weighted averages run over the labels where the value is
 * defined; "weighted" weighs each label by its positives (positive_weight
 * when weighted). Unweighted, the result is exact (as clm_ranking_compute)
 * with the same memory bounds: more columns take more passes. Micro
 * averaging is the binary ranking of the n * k flattened cells (k = 1 over
 * the same arrays; weighted: each row's weight repeated k times). */
CLM_API clm_status clm_ranking_compute_multilabel(
    clm_context *ctx, const uint8_t *labels, const void *scores,
    clm_dtype dtype, const float *weights, uint64_t n, uint32_t k,
    const clm_ranking_options *opts, clm_ranking_result *out, clm_error *err);

/** Frees the per-class arrays and curves. Accepts NULL. */
CLM_API void clm_ranking_result_release(clm_ranking_result *result);

/**
 * Streaming ranking state (data seen once): per column, positive and
 * negative counts per key prefix of `bits` bits (uint64). Merges by
 * addition; finalizing gives each metric with a certified [lo, hi]
 * interval. ROC-AUC is exact when no prefix holds both classes; AP also
 * needs no prefix holding two or more positives below a negative.
 */
typedef struct clm_ranking_state {
  uint32_t k;
  uint32_t bits;   /* prefix bits, 8..16 */
  clm_dtype dtype; /* CLM_DTYPE_F32 or CLM_DTYPE_F64 */
  int softmax;
  uint64_t n;
  uint64_t *counts; /* k * 2^bits * 2: (negatives, positives) per prefix */
  /* 1: labels are n x k uint8 0/1 indicator rows, each column ranked
   * against its own labels (clm_ranking_state_init_multilabel). Last, so
   * that initializers written without it leave it 0. */
  int multilabel;
} clm_ranking_state;

/** Prepares an empty state; bits 0 picks 16 for k == 1 and fewer for large
 * k (at most 64 MiB of counts). */
CLM_API clm_status clm_ranking_state_init(clm_ranking_state *state, uint32_t k,
                                          clm_dtype dtype, int softmax,
                                          uint32_t bits);
/** As clm_ranking_state_init for an n x k multilabel problem (k >= 1):
 * updates pass n x k uint8 0/1 indicator labels and n x k scores of
 * `dtype`, and column c ranks its scores against its own labels (the
 * per-label ranking of clm_ranking_compute_multilabel, unweighted). */
CLM_API clm_status clm_ranking_state_init_multilabel(clm_ranking_state *state,
                                                     uint32_t k,
                                                     clm_dtype dtype,
                                                     uint32_t bits);
/** Frees the counts and zeroes the state. Accepts NULL. */
CLM_API void clm_ranking_state_release(clm_ranking_state *state);
/** Adds n rows (labels and scores as in clm_ranking_compute_arrays); on
 * error the state is unchanged. base: index of the first row, for
 * messages. */
CLM_API clm_status clm_ranking_update(clm_context *ctx,
                                      clm_ranking_state *state, uint64_t base,
                                      const void *labels, const void *scores,
                                      uint64_t n, clm_error *err);
/** dst += src; both must have the same k, bits, dtype, softmax and
 * multilabel. */
CLM_API clm_status clm_ranking_merge(clm_ranking_state *dst,
                                     const clm_ranking_state *src);
/** Metrics with certified intervals from the counts (no curves, no
 * device). Release with clm_ranking_result_release. */
CLM_API clm_status clm_ranking_finalize(const clm_ranking_state *state,
                                        clm_ranking_result *out);

/* ------------------------------------------------------------------ */
/* Multilabel: n x L indicator labels against n x L scores            */
/* ------------------------------------------------------------------ */

/** Options of a multilabel state. */
typedef struct clm_multilabel_options {
  uint32_t n_labels;        /* L >= 1 */
  clm_scores_kind kind;     /* of the scores (ignored with predictions) */
  int from_predictions;     /* 1: updates pass 0/1 predictions, no scores */
  double threshold;         /* in [0, 1], for every label (default 0.5) */
  const double *thresholds; /* NULL, or L thresholds in [0, 1] (copied) */
  int weighted;             /* 1: updates pass one weight per row */
  int label_ranking;        /* 1 (default): coverage error, label ranking
                               average precision and ranking loss */
} clm_multilabel_options;

/** Defaults: L 0 (must be set), logits, threshold 0.5, scores,
 * unweighted, label ranking on. */
CLM_API void clm_multilabel_options_init(clm_multilabel_options *opts);

/**
 * Mergeable multilabel accumulator. Per label: exact counts and double
 * sums. Per row r (of weight w_r, 1 unweighted), from its counts tp_r,
 * fp_r, fn_r: the sums over rows, in row order, of w_r times precision
 * tp/(tp+fp), recall tp/(tp+fn), F1 2tp/(2tp+fp+fn) and Jaccard
 * tp/(tp+fp+fn) where defined, and the weight of the rows where each is
 * undefined (0/0), so the zero-division policy is applied at finalize. With
 * label ranking (scores only): coverage (|{k: s_k >= min over true labels}|,
 * 0 without true labels), the pairs (true j, false k) with s_j <= s_k and
 * with s_j == s_k, and the row's label ranking average precision.
 */
typedef struct clm_multilabel_state {
  uint32_t n_labels;
  clm_scores_kind kind;
  int from_predictions, weighted, label_ranking;
  double *thresholds;     /* L, owned */
  uint64_t n;             /* rows */
  uint64_t *tp, *fp, *fn; /* L each, owned; tn = n - tp - fp - fn */
  double *loss_sum;       /* L: sum of w_r * BCE per label (scores only) */
  /* Weighted states: per label the weight sums of the cells (L each, owned,
   * NULL unweighted) and the weight of all rows. */
  double *w_tp, *w_fp, *w_fn, *w_tn;
  double w_sum;
  /* Per-row sums (unweighted: w_r = 1, exact below 2^53). */
  double exact_w; /* rows with every label right */
  double diff_w;  /* sum of w_r * (fp_r + fn_r) */
  double prec_sum, rec_sum, f1_sum, jac_sum;
  double prec_undef_w, rec_undef_w, f1_undef_w, jac_undef_w;
  double coverage_sum, lrap_sum, rank_loss_sum;
  double auc_sum;     /* sum of w_r * per-row ROC-AUC over the labels */
  double auc_undef_w; /* rows with no true or no false label */
} clm_multilabel_state;

/** Prepares an empty state. CLM_ERR_INVALID_ARGUMENT for L = 0, a
 * threshold outside [0, 1] or an unknown kind. */
CLM_API clm_status clm_multilabel_state_init(
    clm_multilabel_state *state, const clm_multilabel_options *opts);
/** Frees what the state owns and zeroes it. Accepts NULL. */
CLM_API void clm_multilabel_state_release(clm_multilabel_state *state);

/**
 * Evaluates n rows on the device and adds them to `state`.
 * labels: n x L uint8, each 0 or 1. scores: n x L float32 logits or
 * probabilities (row-major); a cell is predicted positive iff its
 * probability is strictly above its label's threshold. weights: n float32
 * row weights (finite, >= 0) for weighted states, else NULL. grad_out:
 * NULL, or room for n x L float32 gradients w_r * (sigma(z) - y) (p - y
 * for probabilities). base: the index of the first row, for messages. On
 * any error the state is unchanged and `err` names the flat index
 * (row * L + label; the row for a weight) and the value.
 */
CLM_API clm_status clm_multilabel_update(clm_context *ctx,
                                         clm_multilabel_state *state,
                                         uint64_t base, const uint8_t *labels,
                                         const float *scores,
                                         const float *weights, uint64_t n,
                                         float *grad_out, clm_error *err);

/** The same from n x L 0/1 predictions (a state made with
 * from_predictions): counts and per-row metrics, no loss or ranking. */
CLM_API clm_status clm_multilabel_update_predictions(
    clm_context *ctx, clm_multilabel_state *state, uint64_t base,
    const uint8_t *labels, const uint8_t *pred, const float *weights,
    uint64_t n, clm_error *err);

/** Converts rows x L float64 scores to the float32 the kernels read without
 * moving any cell across its label's threshold (as
 * clm_binary_scores_from_f64). NaN, and for probabilities a value outside
 * [0, 1], is CLM_ERR_BAD_SCORE naming the row (base + r) and the label;
 * err->index is the flat index. */
CLM_API clm_status clm_multilabel_scores_from_f64(
    const clm_multilabel_state *state, const double *in, uint64_t rows,
    uint64_t base, float *out, clm_error *err);

/** dst += src; CLM_ERR_STATE_MISMATCH unless L, kind, thresholds, inputs,
 * weighting and label ranking agree. */
CLM_API clm_status clm_multilabel_merge(clm_multilabel_state *dst,
                                        const clm_multilabel_state *src);

/** One label's metrics. Unweighted, the w_* fields equal the counts. */
typedef struct clm_multilabel_label {
  uint64_t tp, fp, tn, fn, support; /* support = tp + fn */
  double w_tp, w_fp, w_tn, w_fn, support_weight;
  double precision, recall, f1, jaccard;
  double bce_mean;    /* loss_sum / weight of the rows; NaN without scores */
  unsigned undefined; /* CLM_UNDEF_PRECISION / _RECALL / _F1, and
                         CLM_UNDEF_JACCARD */
} clm_multilabel_label;

#define CLM_UNDEF_JACCARD (1u << 7)

typedef struct clm_multilabel_result {
  uint64_t n;
  uint32_t n_labels;
  int has_scores, weighted, label_ranking;
  double weight_sum;            /* n unweighted */
  clm_multilabel_label *labels; /* L entries, owned */
  /* scikit-learn's average= for precision, recall and F1: micro over all
   * cells, macro over labels, weighted by support, samples over rows. */
  clm_average_metrics micro, macro, weighted_avg, samples;
  double jaccard_micro, jaccard_macro, jaccard_samples, jaccard_weighted;
  double subset_accuracy; /* rows with every label right */
  double hamming_loss;    /* wrong cells / (rows x L) */
  double bce_mean;        /* over all cells (PyTorch's BCEWithLogitsLoss, mean;
                             weighted: sum w_r l / (L sum w_r)); NaN w/o scores */
  double coverage_error, label_ranking_average_precision, label_ranking_loss;
  double roc_auc_samples; /* NaN when a row has no true or no false label */
  /* Undefined (0/0) samples-averaged values: CLM_UNDEF_PRECISION, _RECALL,
   * _F1, _JACCARD bits; per-label bits are in `labels`. */
  unsigned samples_undefined;
} clm_multilabel_result;

/** Derives every metric from the state (pure C, double precision). Macro
 * averages run over all L labels, weighted ones by support (weight);
 * zero-division NaN leaves undefined values out of the averages, as
 * scikit-learn's. Release with clm_multilabel_result_release. */
CLM_API clm_status clm_multilabel_finalize(const clm_multilabel_state *state,
                                           clm_zero_division zero_division,
                                           clm_multilabel_result *out);
/** Frees the per-label array. Accepts NULL. */
CLM_API void clm_multilabel_result_release(clm_multilabel_result *result);

/* ------------------------------------------------------------------ */
/* Saved states                                                        */
/* ------------------------------------------------------------------ */

/*
 * Every state above serializes to bytes that load back bit-identical, so
 * states computed by different processes, jobs or machines merge exactly:
 * save, move the bytes, load, then clm_*_merge. The format (README,
 * "Saved states and merging"):
 *
 *   offset  size  field
 *   0       4     magic "CLMS"
 *   4       4     format version (uint32, CLM_STATE_FORMAT_VERSION)
 *   8       4     family (uint32, clm_state_family)
 *   12      4     reserved, 0
 *   16      8     payload length P (uint64)
 *   24      P     payload: the family's options, then its counts and sums
 *   24 + P  4     CRC-32C (Castagnoli) of bytes [0, 24 + P)
 *
 * Every integer is little-endian, every double its IEEE-754 binary64 bit
 * pattern as a little-endian uint64 (so NaN, -0 and every sum round-trip
 * exactly), whatever the host's byte order. The payload first holds the
 * options a merge requires to agree (kind, threshold, K, L, bins and edges,
 * weighting, loss options, ...), so a file describes itself.
 *
 * Versioning: the magic and the version stay at offsets 0 and 4 in every
 * version. A reader accepts versions 1 to its own CLM_STATE_FORMAT_VERSION;
 * a change to any payload bumps the version, and a newer file is refused
 * (CLM_ERR_UNSUPPORTED: "written by a newer clmetrics: format version X,
 * this build reads up to Y").
 *
 * Loading rejects, with err->message saying which: a wrong magic, a
 * truncated or over-long buffer, a checksum mismatch (CLM_ERR_FORMAT); a
 * newer version (CLM_ERR_UNSUPPORTED); a state of another family
 * (CLM_ERR_STATE_MISMATCH); sizes the payload cannot hold (K, L, bins,
 * features and ranking columns are checked against the bytes actually
 * present before anything is allocated) and counts that do not add up
 * (CLM_ERR_FORMAT). The library never prints: callers report the message.
 */

/** Version of the saved-state format written by this build. */
#define CLM_STATE_FORMAT_VERSION 1u

/** Which state a saved buffer holds. */
typedef enum clm_state_family {
  CLM_STATE_BINARY = 1,
  CLM_STATE_MULTICLASS = 2,
  CLM_STATE_CALIBRATION = 3,
  CLM_STATE_RANKING = 4,
  CLM_STATE_MULTILABEL = 5
} clm_state_family;

/** "binary", "multiclass", "calibration", "ranking", "multilabel", or
 * "unknown". */
CLM_API const char *clm_state_family_name(clm_state_family family);

/**
 * Checks a saved buffer's header, length and checksum and tells which
 * family and format version it holds (either pointer may be NULL). The
 * same errors as the loaders, except that any family is accepted.
 */
CLM_API clm_status clm_state_info(const uint8_t *buf, size_t len,
                                  clm_state_family *family, uint32_t *version,
                                  clm_error *err);

/** Frees a buffer returned by a clm_*_state_save function (it is malloc'ed:
 * free() does the same). Accepts NULL. */
CLM_API void clm_state_buffer_free(uint8_t *buf);

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of len bytes,
 * continuing from `crc` (0 to start): the checksum of saved states, for
 * callers that wrap several states in a container of their own. */
CLM_API uint32_t clm_crc32c(uint32_t crc, const void *data, size_t len);

/**
 * Serializes a binary state into a new buffer (*buf, *len; free with
 * clm_state_buffer_free): kind, threshold, pos_weight, weighting, the
 * features' count, the counts and every sum (weight_grad_sum included).
 * CLM_ERR_OUT_OF_MEMORY, or CLM_ERR_INVALID_ARGUMENT for a NULL argument
 * or a state that was never initialised.
 */
CLM_API clm_status clm_binary_state_save(const clm_binary_state *state,
                                         uint8_t **buf, size_t *len,
                                         clm_error *err);
/**
 * Loads a saved binary state into `state` (any previous content is
 * overwritten, not released: pass a released or zeroed state). The result
 * is bit-identical to the state saved; release it with
 * clm_binary_state_release. On error `state` is zeroed.
 */
CLM_API clm_status clm_binary_state_load(const uint8_t *buf, size_t len,
                                         clm_binary_state *state,
                                         clm_error *err);

/** As clm_binary_state_save: K, top_k, score kind, weighting, class
 * weights, ignore_index, label smoothing, the matrix (and its weight sums)
 * and every count and sum. */
CLM_API clm_status clm_multiclass_state_save(const clm_multiclass_state *state,
                                             uint8_t **buf, size_t *len,
                                             clm_error *err);
/** As clm_binary_state_load; release with clm_multiclass_state_release. */
CLM_API clm_status clm_multiclass_state_load(const uint8_t *buf, size_t len,
                                             clm_multiclass_state *state,
                                             clm_error *err);

/** As clm_binary_state_save: K, the bins' edges, class-wise, weighting,
 * ignore_index, and every bin's counts and sums. */
CLM_API clm_status
clm_calibration_state_save(const clm_calibration_state *state, uint8_t **buf,
                           size_t *len, clm_error *err);
/** As clm_binary_state_load; release with clm_calibration_state_release. */
CLM_API clm_status clm_calibration_state_load(const uint8_t *buf, size_t len,
                                              clm_calibration_state *state,
                                              clm_error *err);

/** As clm_binary_state_save: k, prefix bits, dtype, softmax, multilabel
 * and the k x 2^bits x 2 counts (8 bytes each: 1 MiB for one column of 16
 * bits). */
CLM_API clm_status clm_ranking_state_save(const clm_ranking_state *state,
                                          uint8_t **buf, size_t *len,
                                          clm_error *err);
/** As clm_binary_state_load; release with clm_ranking_state_release. */
CLM_API clm_status clm_ranking_state_load(const uint8_t *buf, size_t len,
                                          clm_ranking_state *state,
                                          clm_error *err);

/** As clm_binary_state_save: L, kind, inputs, thresholds, weighting,
 * label ranking, the per-label counts and sums and the per-row sums. */
CLM_API clm_status clm_multilabel_state_save(const clm_multilabel_state *state,
                                             uint8_t **buf, size_t *len,
                                             clm_error *err);
/** As clm_binary_state_load; release with clm_multilabel_state_release. */
CLM_API clm_status clm_multilabel_state_load(const uint8_t *buf, size_t len,
                                             clm_multilabel_state *state,
                                             clm_error *err);

#ifdef __cplusplus
}
#endif

#endif /* CLMETRICS_H */
