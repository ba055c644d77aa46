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
/* pos_weight (float): multiplies the loss and gradient of positives. */
#define CLM_BIN_ARG_POS_WEIGHT 11

/* ---- clm_binary_weighted ------------------------------------------------
 * The arguments of clm_binary, then the per-sample weights. The counters
 * word is clm_binary's (its first bad index may name a bad weight). */
#define CLM_BINW_ARG_WEIGHTS 12
/* Per-group partials: loss, gradient, then the weight sums of the cells. */
#define CLM_BINW_TP 2
#define CLM_BINW_FP 3
#define CLM_BINW_FN 4
#define CLM_BINW_TN 5
#define CLM_BINW_PARTIALS_PER_GROUP 6

/* ---- clm_weight_grad ----------------------------------------------------- */
#define CLM_WG_ARG_GRAD 0
#define CLM_WG_ARG_FEATURES 1
#define CLM_WG_ARG_N 2
#define CLM_WG_ARG_D 3
#define CLM_WG_ARG_ROWS 4
#define CLM_WG_ARG_PARTIALS 5

/* ---- clm_confusion, clm_confusion_private -------------------------------
 * Strategies, the kernel's `mode` (the public CLM_CONFUSION_* minus one). */
#define CLM_CM_LOCAL 0   /* whole matrix in local memory */
#define CLM_CM_DIAG 1    /* diagonal local, off-diagonal global atomics */
#define CLM_CM_GLOBAL 2  /* every cell by global atomics */
#define CLM_CM_PRIVATE 3 /* per-group slices in global scratch, no atomics */
/* Status word: how many labels were outside [0, K), the first one's index,
 * and the rows skipped because their true label is the ignored one. */
#define CLM_CM_BAD_COUNT 0
#define CLM_CM_FIRST_BAD 1
#define CLM_CM_IGNORED 2
#define CLM_CM_BAD_WEIGHTS 3      /* clm_confusion_private_w */
#define CLM_CM_FIRST_BAD_WEIGHT 4 /* clm_confusion_private_w */
#define CLM_CM_STATUS 5
/* Arguments of clm_confusion. */
#define CLM_CM_ARG_YT 0
#define CLM_CM_ARG_YP 1
#define CLM_CM_ARG_N 2
#define CLM_CM_ARG_K 3
#define CLM_CM_ARG_PER_GROUP 4
#define CLM_CM_ARG_MODE 5
#define CLM_CM_ARG_REPLICAS 6
#define CLM_CM_ARG_CM 7
#define CLM_CM_ARG_STATUS 8
#define CLM_CM_ARG_LOCAL_HIST 9
/* clm_confusion_ignore: the same, then the ignored true label (int). */
#define CLM_CM_ARG_IGNORE 10
/* Arguments of clm_confusion_private. */
#define CLM_CMP_ARG_YT 0
#define CLM_CMP_ARG_YP 1
#define CLM_CMP_ARG_N 2
#define CLM_CMP_ARG_K 3
#define CLM_CMP_ARG_PER_GROUP 4
#define CLM_CMP_ARG_REPLICAS 5
#define CLM_CMP_ARG_CM 6
#define CLM_CMP_ARG_STATUS 7
#define CLM_CMP_ARG_SCRATCH 8
/* clm_confusion_private_ignore: the same, then the ignored label. */
#define CLM_CMP_ARG_IGNORE 9
/* Arguments of clm_confusion_private_sum. */
#define CLM_CMS_ARG_SCRATCH 0
#define CLM_CMS_ARG_CELLS 1
#define CLM_CMS_ARG_SLICES 2
#define CLM_CMS_ARG_WIDTH 3
#define CLM_CMS_ARG_SPAN 4
#define CLM_CMS_ARG_CM 5
/* clm_confusion_private_w: the private arguments, then the sample weights
 * (float) and the per-group float64 slices; _w_ignore then the ignored
 * label. */
#define CLM_CMPW_ARG_WEIGHTS 9
#define CLM_CMPW_ARG_WSLICES 10
#define CLM_CMPW_ARG_IGNORE 11
/* From CLM_CM_NARROW_MIN_K on, the private slices hold 16-bit counters
 * (half the cache footprint), from CLM_CM_BYTE_MIN_K on 8-bit ones (K = 1000:
 * 1 MB, well inside a 2 MB L2 beside the streamed inputs); below, 32-bit
 * ones, whose read-modify-write is shorter when few cells take every
 * increment. A narrow counter that wraps adds 2^8 or 2^16 to the result. */
#ifndef CLM_CM_NARROW_MIN_K
#define CLM_CM_NARROW_MIN_K 64
#endif
#ifndef CLM_CM_BYTE_MIN_K
#define CLM_CM_BYTE_MIN_K 512
#endif
#define CLM_CM_WIDTH(k)                                                        \
  ((k) >= CLM_CM_BYTE_MIN_K ? 1u : (k) >= CLM_CM_NARROW_MIN_K ? 2u : 4u)

/* On CPUs (not the strided shape) rows of at most CLM_AM_PACKED_MAX_K
 * columns are packed one per lane (clm_argmax_ce, the block transposed into
 * private column vectors once); wider rows are walked one per work-item
 * with vector loads along the columns (clm_argmax_ce_rows). */
#ifndef CLM_AM_PACKED_MAX_K
#define CLM_AM_PACKED_MAX_K 128
#endif

/* ---- clm_argmax_ce, clm_argmax_ce_rows ----------------------------------
 * Status word: bad scores (count, first flat index row * K + column) and
 * true labels outside [0, K) (count, first row). */
#define CLM_AM_BAD_SCORES 0
#define CLM_AM_FIRST_BAD_SCORE 1
#define CLM_AM_BAD_LABELS 2
#define CLM_AM_FIRST_BAD_LABEL 3
#define CLM_AM_STATUS 4
/* Arguments (both kernels). */
#define CLM_AM_ARG_SCORES 0
#define CLM_AM_ARG_YT 1
#define CLM_AM_ARG_N 2
#define CLM_AM_ARG_K 3
#define CLM_AM_ARG_PROBS 4
#define CLM_AM_ARG_TOP_K 5
#define CLM_AM_ARG_PRED 6
#define CLM_AM_ARG_PARTIALS 7
#define CLM_AM_ARG_HITS 8
#define CLM_AM_ARG_STATUS 9
#define CLM_AM_ARG_LOCAL_SUMS 10
#define CLM_AM_ARG_LOCAL_COUNTS 11

/* ---- clm_argmax_ce_opt, clm_argmax_ce_rows_opt --------------------------
 * The same kernels with the loss options (class weights, ignore_index,
 * label smoothing, sample weights): the arguments above, then these. Their
 * local sums hold 2 x local size floats. */
#define CLM_AM_ARG_HAS_IGNORE 12    /* int */
#define CLM_AM_ARG_IGNORE 13        /* int: the ignored true label */
#define CLM_AM_ARG_CLASS_WEIGHT 14  /* K floats (all 1 without weights) */
#define CLM_AM_ARG_SAMPLE_WEIGHT 15 /* n floats, read when HAS_SW */
#define CLM_AM_ARG_HAS_SW 16        /* int */
#define CLM_AM_ARG_ONE_MINUS_E 17   /* float: 1 - label_smoothing */
#define CLM_AM_ARG_E_OVER_K 18      /* float: label_smoothing / K */
/* Per-group partials of the option kernels: the weighted loss sum and the
 * sample weights of the top-k hits. */
#define CLM_AM_OPT_PARTIALS_PER_GROUP 2
#define CLM_AM_OPT_LOSS 0
#define CLM_AM_OPT_WHITS 1

/* ---- clm_mc_grad ----------------------------------------------------------
 * Per-row gradients of the multi-class loss (clm_multiclass_gradient). */
#define CLM_MG_ARG_SCORES 0
#define CLM_MG_ARG_YT 1
#define CLM_MG_ARG_SAMPLE_WEIGHT 2 /* n floats, read when HAS_SW */
#define CLM_MG_ARG_N 3
#define CLM_MG_ARG_K 4
#define CLM_MG_ARG_PROBS 5
#define CLM_MG_ARG_HAS_SW 6
#define CLM_MG_ARG_HAS_IGNORE 7
#define CLM_MG_ARG_IGNORE 8
/* 2K floats: the class weights w_c (1 without them), then for each class
 * the sum of the others' weights, W - w_c (rounded once from double). */
#define CLM_MG_ARG_CLASS_WEIGHT 9
#define CLM_MG_ARG_ONE_MINUS_E 10 /* float: 1 - label_smoothing */
#define CLM_MG_ARG_E_OVER_K 11    /* float: label_smoothing / K */
#define CLM_MG_ARG_W_SUM 12       /* float: W = sum_c w_c */
#define CLM_MG_ARG_ROWS 13        /* uint: rows per work-item */
#define CLM_MG_ARG_GRAD 14        /* n x K floats, written */
#define CLM_MG_ARG_STATUS 15
/* Status word: rows with a bad score and the first one's flat index
 * (row * K + column; column 0 for logit rows all -inf or all +inf). */
#define CLM_MG_BAD_ROWS 0
#define CLM_MG_FIRST_BAD 1
#define CLM_MG_STATUS 2

/* ---- clm_rank_hist_*, clm_rank_refine_* ---------------------------------
 * A refine task whose keys are gathered rather than counted. */
#define CLM_RK_GATHER 0xffffffffu
/* Table entry flags: one gathered task covers the whole level-1 range with
 * per-group, per-label slots; its keys' low 16 bits suffice. */
#define CLM_RK_WHOLE 0x80000000u
#define CLM_RK_LOW16 0x40000000u
/* Arguments of clm_rank_hist_f32/_f64. */
#define CLM_RKH_ARG_SCORES 0
#define CLM_RKH_ARG_Y8 1
#define CLM_RKH_ARG_Y32 2
#define CLM_RKH_ARG_N 3
#define CLM_RKH_ARG_K 4
#define CLM_RKH_ARG_SHIFT 5
#define CLM_RKH_ARG_BINS 6
#define CLM_RKH_ARG_PROBS 7
#define CLM_RKH_ARG_PER_GROUP 8
#define CLM_RKH_ARG_HIST 9
#define CLM_RKH_ARG_SCRATCH 10
#define CLM_RKH_ARG_STATUS 11
/* int: labels are an n x k uint8 0/1 indicator matrix (multilabel). */
#define CLM_RKH_ARG_MULTILABEL 12
/* 32-bit keys: per cell (column, prefix) the AND and the OR of its keys,
 * uint pairs the host fills with (0xffffffff, 0); `track` (int) 0 leaves
 * it untouched. Equal AND and OR: the cell holds one score. Otherwise its
 * keys are AND + (i << s), s the lowest bit where AND and OR differ. */
#define CLM_RKH_ARG_RANGE 13
#define CLM_RKH_ARG_TRACK 14
/* Arguments of clm_rank_refine_f32/_f64. */
#define CLM_RKR_ARG_SCORES 0
#define CLM_RKR_ARG_Y8 1
#define CLM_RKR_ARG_Y32 2
#define CLM_RKR_ARG_N 3
#define CLM_RKR_ARG_K 4
#define CLM_RKR_ARG_SHIFT1 5
#define CLM_RKR_ARG_BINS1 6
#define CLM_RKR_ARG_PER_GROUP 7
#define CLM_RKR_ARG_TABLE 8
#define CLM_RKR_ARG_TLO 9
#define CLM_RKR_ARG_THI 10
#define CLM_RKR_ARG_TSHIFT 11
#define CLM_RKR_ARG_TBASE 12
#define CLM_RKR_ARG_TCAP 13
#define CLM_RKR_ARG_DENSE 14
#define CLM_RKR_ARG_CURSOR 15
#define CLM_RKR_ARG_GKEYS 16
#define CLM_RKR_ARG_G16 17
#define CLM_RKR_ARG_SPLIT 18
#define CLM_RKR_ARG_WIDE 19
#define CLM_RKR_ARG_MULTILABEL 20 /* int, as CLM_RKH_ARG_MULTILABEL */
/* Arguments of clm_rank_gather16_f32: binary float32 refine passes whose
 * every task is a whole level-1 range of 16-bit keys, owned by groups.
 * own: per group 2^16 ushort, the owned task of each key prefix as an
 * index from the group's first task (split[group]), CLM_RK_NOT_OWNED
 * for the others. */
#define CLM_RKG_ARG_SCORES 0
#define CLM_RKG_ARG_Y8 1
#define CLM_RKG_ARG_N 2
#define CLM_RKG_ARG_OWN 3
#define CLM_RKG_ARG_CURSOR 4
#define CLM_RKG_ARG_G16 5
#define CLM_RKG_ARG_SPLIT 6
#define CLM_RK_NOT_OWNED 0xffffu

/* ---- clm_cal_binary, clm_cal_rows, clm_cal_classwise (calibration) -------
 * Each work-item owns a private slice of the reliability bins in global
 * memory (no atomics): per bin CLM_CAL_COUNTS uint32 (rows, hit rows) and
 * CLM_CAL_SUMS floats (compensated sums: weight, w * confidence, w * hit,
 * each followed by its Kahan compensation), plus CLM_CAL_BRIER floats of
 * the Brier sum. The host adds the slices in double, in slice order. */
#define CLM_CAL_COUNTS 2
#define CLM_CAL_N 0
#define CLM_CAL_HITS 1
#define CLM_CAL_SUMS 6
#define CLM_CAL_W 0
#define CLM_CAL_CONF 2
#define CLM_CAL_HIT 4
#define CLM_CAL_BRIER 2
/* Arguments of clm_cal_binary. */
#define CLM_CALB_ARG_SCORES 0
#define CLM_CALB_ARG_LABELS 1
#define CLM_CALB_ARG_WEIGHTS 2
#define CLM_CALB_ARG_N 3
#define CLM_CALB_ARG_PROBS 4
#define CLM_CALB_ARG_WEIGHTED 5
#define CLM_CALB_ARG_EDGES 6
#define CLM_CALB_ARG_BINS 7
#define CLM_CALB_ARG_SLICES 8
#define CLM_CALB_ARG_COUNTS 9
#define CLM_CALB_ARG_SUMS 10
#define CLM_CALB_ARG_BRIER 11
#define CLM_CALB_ARG_STATUS 12
/* Arguments of clm_cal_rows (top-label bins, Brier, row statistics) and
 * clm_cal_classwise (K x B bins); the first eleven are shared. */
#define CLM_CALM_ARG_SCORES 0
#define CLM_CALM_ARG_LABELS 1
#define CLM_CALM_ARG_WEIGHTS 2
#define CLM_CALM_ARG_N 3
#define CLM_CALM_ARG_K 4
#define CLM_CALM_ARG_PROBS 5
#define CLM_CALM_ARG_WEIGHTED 6
#define CLM_CALM_ARG_HAS_IGNORE 7
#define CLM_CALM_ARG_IGNORE 8
#define CLM_CALM_ARG_EDGES 9
#define CLM_CALM_ARG_BINS 10
#define CLM_CALR_ARG_SLICES 11
#define CLM_CALR_ARG_COUNTS 12
#define CLM_CALR_ARG_SUMS 13
#define CLM_CALR_ARG_BRIER 14
#define CLM_CALR_ARG_STATUS 15
#define CLM_CALR_ARG_STATS 16
#define CLM_CALR_ARG_WRITE_STATS 17
#define CLM_CALC_ARG_SEGS 11
#define CLM_CALC_ARG_BLOCK 12
#define CLM_CALC_ARG_COUNTS 13
#define CLM_CALC_ARG_SUMS 14
#define CLM_CALC_ARG_STATS 15

/* ---- clm_multilabel --------------------------------------------------------
 * One pass over an n x L row-major matrix. Each work-item owns a slice of
 * per-label counters and compensated sums in global memory (no atomics on
 * them) and writes per-row statistics; the host adds the slices in double
 * in slice order and the rows in row order. */
#define CLM_ML_ARG_SCORES 0
#define CLM_ML_ARG_LABELS 1
#define CLM_ML_ARG_PRED 2
#define CLM_ML_ARG_WEIGHTS 3
#define CLM_ML_ARG_N 4
#define CLM_ML_ARG_L 5
#define CLM_ML_ARG_THR 6
#define CLM_ML_ARG_FLAGS 7
#define CLM_ML_ARG_GRAD 8
#define CLM_ML_ARG_COUNTS 9
#define CLM_ML_ARG_SUMS 10
#define CLM_ML_ARG_ROWS 11
#define CLM_ML_ARG_STATUS 12
#define CLM_ML_ARG_SCRATCH 13 /* label ranking: 3 L + 2 words per slice */
/* Flags. */
#define CLM_ML_PROBS 1u
#define CLM_ML_FROM_PRED 2u
#define CLM_ML_WEIGHTED 4u
#define CLM_ML_RANK 8u
#define CLM_ML_GRAD 16u
/* Row classes instead of row words (unweighted, without label ranking):
 * every row's (tp, fp, fn) counts one in a histogram of the
 * CLM_ML_HIST_CLASSES(L) classes, index (tp * (L + 1) + fp) * (L + 1) +
 * fn. A work-item owns CLM_ML_HIST_COPIES(L) copies of it, at rows +
 * (slice * copies + copy) * classes, rows alternating between them (copy
 * = row mod copies): most rows of a small L are of a few classes, and
 * with one copy each row's increment waited for the previous one's
 * (store-to-load through one counter). As many copies as fit in 16 KB,
 * at most 16 and at least 2. The host adds the histograms and derives
 * every per-row sum from the classes. For L up to CLM_ML_HIST_MAX_L. */
#define CLM_ML_HIST 32u
#define CLM_ML_HIST_MAX_L 16
#define CLM_ML_HIST_CLASSES(L) (((L) + 1) * ((L) + 1) * ((L) + 1))
#define CLM_ML_HIST_COPIES(L)                                                  \
  (CLM_ML_HIST_CLASSES(L) <= 256    ? 16                                       \
   : CLM_ML_HIST_CLASSES(L) <= 512  ? 8                                        \
   : CLM_ML_HIST_CLASSES(L) <= 1024 ? 4                                        \
                                    : 2)
/* A slice: CLM_ML_COUNTS arrays of L uint32, then its sums, each two arrays
 * of L floats (the Kahan sum and its compensation): the loss and, weighted,
 * the weights of the four cells. */
#define CLM_ML_COUNTS 3
#define CLM_ML_TP 0
#define CLM_ML_FP 1
#define CLM_ML_FN 2
#define CLM_ML_LOSS 0
#define CLM_ML_WTP 1
#define CLM_ML_WFP 2
#define CLM_ML_WFN 3
#define CLM_ML_WTN 4
#define CLM_ML_SUMS_PLAIN 1
#define CLM_ML_SUMS_WEIGHTED 5
/* Per-row words (without CLM_ML_HIST): the row's counts and, with label
 * ranking, its coverage, the (true, false) pairs ordered wrongly (s_true <=
 * s_false) and tied (uint64 as two words, low first), and the sum over true
 * labels of
 * |{true k: s_k >= s_j}| / |{k: s_k >= s_j}| (float bits). */
#define CLM_ML_ROW_TP 0
#define CLM_ML_ROW_FP 1
#define CLM_ML_ROW_FN 2
#define CLM_ML_ROW_COV 3
#define CLM_ML_ROW_BAD 4
#define CLM_ML_ROW_TIE 6
#define CLM_ML_ROW_LRAP 8
#define CLM_ML_ROW_WORDS_PLAIN 3
#define CLM_ML_ROW_WORDS_RANK 9

#endif
