/* Ranking in the CLI (cli_ranking.c): options, the run, curve files. */
#ifndef CLM_CLI_RANKING_H
#define CLM_CLI_RANKING_H

#include "cli_outputs.h"

#include <errno.h>
#include <stdarg.h>

void cli_ranking_defaults(struct cli_ranking_args *r);
/* The ranking options that take a value (NULL-terminated). */
extern const char *const cli_ranking_value_flags[];
/* Takes `flag` (with `value` where it has one): 0 when it is not a ranking
 * option, -1 when taken, else the usage exit code after one message. */
int cli_ranking_option(const char *cmd, const char *flag, const char *value,
                       struct cli_ranking_args *r);
/* Takes argv[*i] (and its value, advancing *i) when it is a ranking
 * option: 0 when it is not, -1 when taken, else the usage exit code. */
int cli_ranking_flag(int argc, char **argv, int *i, const char *cmd,
                     struct cli_ranking_args *r);
/* Checks option combinations; -1 to go on. */
int cli_ranking_check(const char *cmd, const struct cli_ranking_args *r);

struct cli_ranking_out {
  clm_ranking_result result;
  int done;
  /* 1: the result comes from a streaming (merged) state: the reports add
   * each value's certified [lo, hi] interval and whether all are exact. */
  int interval;
  double seconds;
  struct cli_output roc, pr;
};

/* Opens the curve outputs (before any work); -1 to go on. */
int cli_ranking_open_outputs(const struct cli_ranking_args *a,
                             struct cli_ranking_out *out);
/* Exact ROC-AUC and AP over the arrays (k == 1: binary; else one-vs-rest,
 * softmax of logits); -1 on success, else the exit code after one
 * message. */
/* Multi-class rows whose true label is `value` are left out; `kept` rows
 * remain (the evaluation counted them). */
struct cli_ranking_ignore {
  int32_t value;
  uint64_t kept;
};
int cli_ranking_run(const struct cli_ranking_args *a, clm_context *ctx,
                    const clm_array *labels, const clm_array *scores,
                    uint32_t k, clm_scores_kind kind,
                    const struct cli_ranking_ignore *ignore,
                    const clm_array *weights, struct cli_ranking_out *out);
/* Writes and commits the curve files; -1 on success. */
int cli_ranking_write_curves(struct cli_ranking_out *out);
/* Removes unfinished curve files. */
void cli_ranking_abort(struct cli_ranking_out *out);
void cli_ranking_free(struct cli_ranking_out *out);
/* Warns about undefined ranking metrics. */
void cli_ranking_warn(const struct cli_ranking_out *out);
/* Adds ranking_s, ranking_passes, ranking_memory_bytes to an open
 * "timing" object. */
void cli_ranking_json_timing(struct json *j, const struct cli_ranking_out *out);

/* Certified intervals of a streaming result (cli_ranking_out.interval):
 * "roc_auc_interval" and "average_precision_interval" of one column, the
 * macro and weighted averages' intervals ("macro_interval",
 * "weighted_interval" inside an open "roc_auc" / "average_precision"
 * object), and "ranking_exact". */
void cli_ranking_json_class_interval(struct json *j,
                                     const clm_ranking_class *c);
void cli_ranking_json_avg_interval(struct json *j, const clm_ranking_result *q,
                                   int auc);
void cli_ranking_json_exact(struct json *j, const clm_ranking_result *q);
/* The text report's line under ROC-AUC / AP: the interval or "exact". */
void cli_ranking_text_interval(FILE *f, const clm_ranking_result *q,
                               const char *what, double lo, double hi);
/* [lo, hi] of the macro (weighted 0) or positives-weighted average. */
void cli_ranking_avg_interval(const clm_ranking_result *q, int auc,
                              int weighted, double *lo, double *hi);

#endif
