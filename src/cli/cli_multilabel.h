/* `clmetrics multilabel` (cli_multilabel.c, its ranking in
 * cli_multilabel_rank.c and its report writers in report_multilabel.c). */
#ifndef CLM_CLI_MULTILABEL_H
#define CLM_CLI_MULTILABEL_H

#include "cli.h"
#include "cli_outputs.h"
#include "cli_ranking.h"

/* Labels in the text table before --all-labels is needed. */
#define CLI_ML_TABLE_ROWS 30
/* Labels up to which the JSON holds the multilabel confusion matrix. */
#define CLI_ML_MCM_MAX 1000

enum cli_ml_sort {
  CLI_ML_SORT_DEFAULT,
  CLI_ML_SORT_LABEL,
  CLI_ML_SORT_SUPPORT, /* largest first */
  CLI_ML_SORT_F1       /* worst first */
};

struct cli_multilabel_args {
  const char *labels, *scores, *pred, *thresholds, *names, *weights;
  const char *grad_out, *device;
  const char *save_state; /* --save-state FILE (cli_state.h) */
  clm_scores_kind kind;
  double threshold;
  int threshold_given;
  clm_zero_division zd;
  int json, full, all_labels, no_label_ranking;
  enum cli_ml_sort sort;
  struct cli_ranking_args rank;  /* --no-ranking, --ranking-memory */
  struct cli_report_args report; /* --html, --svg-dir (--full above) */
};

/* Everything one run holds, freed by one clean-up on every path. */
struct cli_multilabel_run {
  clm_array *labels, *scores, *pred, *weights;
  uint64_t n, L;
  double *thresholds; /* --thresholds, or NULL */
  char **names;       /* --names, or NULL */
  clm_context *ctx;
  clm_multilabel_state state;
  clm_multilabel_result res;
  struct cli_output gout;
  /* Exact ranking: per label, and micro (every cell as one binary
   * problem); has_ranking when computed. */
  int has_ranking;
  clm_ranking_result rank_labels, rank_micro;
  int rank_interval; /* from merged streaming states: report intervals */
  double compute_s, total_s;
  struct cli_output sout;       /* --save-state */
  struct cli_state_rank *srank; /* its streaming ranking (cli_state.h) */
  struct cli_state *bundle;     /* the run's mergeable state, when wanted */
};

/* Per-label and micro ROC-AUC / AP into r->rank_*; -1 on success, else the
 * exit code after one message. */
int cli_multilabel_ranking(const struct cli_multilabel_args *a,
                           struct cli_multilabel_run *r);

void cli_print_multilabel_text(FILE *f, const struct cli_multilabel_args *a,
                               const struct cli_multilabel_run *r);
void cli_print_multilabel_json(FILE *f, const struct cli_multilabel_args *a,
                               const struct cli_multilabel_run *r);
/* Warns on stderr about each 0/0 metric, naming up to 20 labels. */
void cli_warn_multilabel_undefined(const clm_multilabel_result *r, char **names,
                                   clm_zero_division zd);

#endif
