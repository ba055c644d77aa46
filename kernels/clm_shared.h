/* Constants shared by the host (C11) and the kernels (OpenCL C 1.2): the
 * host includes this file, and it is the first of the kernel sources (see
 * cmake/sources.cmake), so both sides read one definition. Preprocessor
 * definitions only. */
#ifndef CLM_SHARED_H
#define CLM_SHARED_H

/* A first-bad-index slot that saw no bad element. */
#define CLM_NO_BAD 0xffffffffu

/* ---- clm_binary ---------------------------------------------------------- */
/* Arguments. */
#define CLM_BIN_ARG_SCORES 0
#define CLM_BIN_ARG_LABELS 1
#define CLM_BIN_ARG_N 2
#define CLM_BIN_ARG_THRESHOLD 3
#define CLM_BIN_ARG_PROBS 4
#define CLM_BIN_ARG_WRITE_GRAD 5
#define CLM_BIN_ARG_GRAD 6
#define CLM_BIN_ARG_PARTIALS 7
#define CLM_BIN_ARG_COUNTERS 8
#define CLM_BIN_ARG_LOCAL_SUMS 9
#define CLM_BIN_ARG_LOCAL_COUNTS 10
/* Per-group partials: loss and gradient sums, two floats a group. */
#define CLM_BIN_PARTIALS_PER_GROUP 2
/* The counters word: positives, predicted positives, true positives (uint32
 * per launch) and the first bad index (atomic_min; CLM_NO_BAD: none). */
#define CLM_BIN_POS 0
#define CLM_BIN_PRED 1
#define CLM_BIN_TP 2
#define CLM_BIN_FIRST_BAD 3
#define CLM_BIN_COUNTERS 4

/* ---- clm_weight_grad ----------------------------------------------------- */
#define CLM_WG_ARG_GRAD 0
#define CLM_WG_ARG_FEATURES 1
#define CLM_WG_ARG_N 2
#define CLM_WG_ARG_D 3
#define CLM_WG_ARG_ROWS 4
#define CLM_WG_ARG_PARTIALS 5

#endif
