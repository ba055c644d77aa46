/* Saved states in the CLI (cli_state.c): one command run's mergeable
 * state ("bundle"), its bytes (the --save-state file), the merge and the
 * report from a merged bundle (`clmetrics merge`, cli_merge.c; the MPI
 * reduction codes against the same functions).
 *
 * A bundle holds the command family (binary / multiclass / multilabel),
 * the options that shape the report and must agree to merge (scores kind,
 * zero_division, weighting, calibration on/off and bins, ranking on/off,
 * class or label names) and the library states: the task state (which
 * carries threshold, pos_weight, K or L, top_k, class weights,
 * ignore_index, label smoothing, thresholds, ...), the calibration state
 * when computed, and streaming ranking states (clm_ranking_state) when
 * ranking is on and the run is unweighted. */
#ifndef CLM_CLI_STATE_H
#define CLM_CLI_STATE_H

#include "cli.h"
#include "cli_calibration.h"
#include "cli_ranking.h"

#include <stdint.h>

/* Bundle format version written by this build (the bytes: README, "Saved
 * states and merging"). */
#define CLI_STATE_VERSION 1u

enum cli_state_family {
  CLI_STATE_BINARY = 1,
  CLI_STATE_MULTICLASS = 2,
  CLI_STATE_MULTILABEL = 3
};

/* Bits of cli_state.flags. */
#define CLI_STATE_WEIGHTED 1u    /* --weights */
#define CLI_STATE_SCORES 2u      /* scores (not --pred) */
#define CLI_STATE_RANKING 4u     /* ranking was on in the run */
#define CLI_STATE_CALIBRATION 8u /* calibration was on in the run */
#define CLI_STATE_THRESHOLDS 16u /* multilabel --thresholds (per label) */
#define CLI_STATE_FLAGS_ALL 31u

struct cli_state {
  enum cli_state_family family;
  clm_scores_kind kind;
  clm_zero_division zd;
  uint32_t flags;
  uint32_t calibration_bins; /* with CLI_STATE_CALIBRATION */
  uint32_t n_names;          /* 0, or K / L names */
  char **names;
  uint64_t merged; /* runs merged into this bundle (1 for one run) */
  /* Library states: the one of `family`, then the optional ones. */
  clm_binary_state binary;
  clm_multiclass_state multiclass;
  clm_multilabel_state multilabel;
  int has_calibration, has_ranking, has_ranking_micro;
  clm_calibration_state calibration;
  clm_ranking_state ranking;       /* binary, one-vs-rest or per label */
  clm_ranking_state ranking_micro; /* multilabel: every cell as one problem */
};

/* The fixed contract (see /work/briefs/state_api.md). Errors print one
 * message naming `origin` and return CLI_EXIT_ERROR. */
int cli_state_to_bytes(const struct cli_state *s, uint8_t **buf, size_t *len);
int cli_state_from_bytes(const uint8_t *buf, size_t len, const char *origin,
                         struct cli_state **out);
/* dst += src in call order (counts add exactly, double sums add in this
 * order). Options that differ: one error naming origin and the option,
 * CLI_EXIT_ERROR, dst unchanged. */
int cli_state_merge(struct cli_state *dst, const struct cli_state *src,
                    const char *origin);
/* The family's normal report from the state (text, or JSON with json).
 * ranking NULL: ROC-AUC / AP from the streaming ranking state, with
 * certified intervals (exact when of width 0, reported as such); else the
 * given exact result (for multilabel, the per-label one: its micro average
 * is then left out). No device is used: the report has no "device" and
 * its timing shows the merge. */
int cli_state_report(const struct cli_state *s, int json,
                     const struct cli_ranking_out *ranking);
/* cli_state_report, and the --html page / --svg-dir figures of `page`
 * (NULL or neither given: none) from the same results; `inputs` describes
 * where the data came from on the page (e.g. the state files). Without an
 * exact `ranking` the page has no curves and says so. For multilabel,
 * `micro` is the exact micro ranking that goes with `ranking` (the
 * per-label one; NULL: the micro average is left out). */
struct cli_report_args;
int cli_state_report_page(const struct cli_state *s, int json,
                          const struct cli_ranking_out *ranking,
                          const clm_ranking_result *micro,
                          const struct cli_report_args *page,
                          const char *inputs);
void cli_state_free(struct cli_state *s);

/* Reads a --save-state / merge input file (whole) and parses it. */
int cli_state_read_file(const char *path, struct cli_state **out);

/* ---- building a bundle inside a command run ---- */

/* The streaming ranking a command feeds batch by batch while it
 * evaluates, only when it will save (or gather) its state. */
struct cli_state_rank {
  int active;
  int f64;    /* scores ranked as stored float64 */
  uint32_t k; /* columns */
  int has_ignore;
  int32_t ignore;
  clm_ranking_state st, micro;
  int has_micro;
  int32_t *ykept; /* multi-class rows kept by --ignore-index */
  void *zkept;
  uint64_t cap;
};
/* Prepares the ranking of a run: k 1 binary; k = K one-vs-rest (softmax
 * of logits when kind is logits); multilabel 1: per label plus micro.
 * Scores are ranked in their stored dtype (float64 stays float64) as the
 * exact ranking does. -1 to go on, else the exit code after one
 * message. */
int cli_state_rank_begin(struct cli_state_rank *r, const clm_array *scores,
                         uint32_t k, int multilabel, clm_scores_kind kind,
                         const int32_t *ignore);
/* Adds rows [first, first + m): labels as the update got them (uint8 for
 * k = 1 and multilabel, int32 classes otherwise), scores from the file when
 * stored as float32/float64 (else `converted`, the batch's float32
 * values). st != CLM_OK leaves err filled for the caller's message. */
clm_status cli_state_rank_add(clm_context *ctx, struct cli_state_rank *r,
                              const clm_array *scores, uint64_t first,
                              uint64_t m, const void *labels,
                              const float *converted, clm_error *err);
void cli_state_rank_free(struct cli_state_rank *r);

/* Bundles of the three commands after their evaluation (the states are
 * copied; cal and rank may be NULL or inactive). -1 to go on with *out
 * set, else the exit code after one message. */
int cli_state_of_binary(const struct cli_binary_args *a,
                        const clm_binary_state *st,
                        const struct cli_calibration_out *cal,
                        const struct cli_state_rank *rank,
                        struct cli_state **out);
int cli_state_of_multiclass(const struct cli_multiclass_args *a,
                            const clm_multiclass_state *st, char **names,
                            const struct cli_calibration_out *cal,
                            const struct cli_state_rank *rank,
                            struct cli_state **out);
struct cli_multilabel_args;
int cli_state_of_multilabel(const struct cli_multilabel_args *a,
                            const clm_multilabel_state *st, char **names,
                            int per_label_thresholds,
                            const struct cli_state_rank *rank,
                            struct cli_state **out);

/* --save-state FILE: opened before any work (safe replacement beside the
 * target), written and committed once the run succeeded. */
int cli_state_save_open(struct cli_output *o, const char *path);
int cli_state_save_commit(struct cli_output *o, const struct cli_state *s);

/* `clmetrics merge` (cli_merge.c). */
int cli_merge(int argc, char **argv);

#endif
