/* The visual report: `--html FILE` (one self-contained page, inline SVG
 * and CSS) and `--svg-dir DIR` (each figure as its own SVG file) for
 * `binary`, `multiclass`, `multilabel` and `demo`. Fed only by the
 * library's results, curve points and calibration bins (report_html.c:
 * options, page and files; report_figures.c: the figures;
 * report_pages.c: what each command's page holds). */
#ifndef CLM_CLI_REPORT_HTML_H
#define CLM_CLI_REPORT_HTML_H

#include "cli.h"
#include "cli_outputs.h"
#include "svg.h"

struct cli_ranking_out;
struct cli_calibration_out;
struct cli_multilabel_args;
struct cli_multilabel_run;

/* The page holds at most this many rows in its per-class table (the
 * largest supports) unless --full. */
#define CLI_REPORT_TABLE_ROWS 200
/* At most this many curves (classes or labels) per ROC / PR plot. */
#define CLI_REPORT_CURVES 10
/* At most this many points drawn per curve. */
#define CLI_REPORT_CURVE_POINTS 500
/* Classes drawn as a full K x K heatmap; beyond, the largest ones. */
#define CLI_REPORT_HEATMAP_K 30
/* Curve points kept over all classes when curves are computed only for
 * the page (32 bytes each: 64 MiB). */
#define CLI_REPORT_CURVE_CELLS ((uint64_t)1 << 21)
/* The bound the README states and the tests check (without --full). */
#define CLI_REPORT_MAX_BYTES (2u << 20)

/* Takes --html FILE and --svg-dir DIR (and --full when `take_full`): 0
 * when argv[*i] is not one of them, -1 when taken, else the usage exit
 * code after one message. */
int cli_report_flag(int argc, char **argv, int *i, const char *cmd,
                    int take_full, struct cli_report_args *a);
/* 1 when the run writes a page or figures. */
int cli_report_wanted(const struct cli_report_args *a);
/* The flags' --help lines. */
extern const char cli_report_help[];
/* Refuses, before any work, a page or figure that is the same file as an
 * input or as another output; -1 to go on, else the exit code. */
int cli_report_check(const struct cli_report_args *a,
                     const struct cli_file *inputs, size_t n_in,
                     const struct cli_file *outputs, size_t n_out);

/* Each returns -1 when the page and figures are written (or none was
 * asked for), else the exit code after one message; nothing is left
 * half-written. */
int cli_report_binary(const struct cli_report_args *a,
                      const struct cli_binary_report *rep);
struct cli_report_multiclass {
  const clm_multiclass_result *res;
  const uint64_t *cm; /* K x K counts */
  const double *wcm;  /* K x K sums of weights, or NULL */
  char **names;       /* or NULL */
  const clm_context *ctx;
  double startup_s, compute_s, total_s;
  const struct cli_ranking_out *ranking;         /* NULL: not computed */
  const struct cli_calibration_out *calibration; /* NULL: not computed */
  const char *labels_path, *pred_path, *scores_path, *weights_path;
  clm_scores_kind kind;
};
int cli_report_multiclass(const struct cli_report_args *a,
                          const struct cli_report_multiclass *mc);
int cli_report_multilabel(const struct cli_report_args *a,
                          const struct cli_multilabel_args *args,
                          const struct cli_multilabel_run *run);

/* ---- shared by report_html.c, report_figures.c, report_pages.c ---- */

#define REPORT_MAX_FIGS 12

/* The page being built and its figures (each a standalone <svg>). */
struct report_page {
  struct sbuf body;
  struct {
    char file[32]; /* name in --svg-dir */
    struct sbuf svg;
  } figs[REPORT_MAX_FIGS];
  int n_figs;
};

/* Starts a figure named `file` (e.g. "roc.svg"); NULL when full. */
struct sbuf *report_fig_begin(struct report_page *p, const char *file);
/* Puts the last figure into the page with a caption (escaped). */
void report_fig_place(struct report_page *p, const char *caption);
/* <h2> section headings, notes (escaped) and "what is missing" notes. */
void report_section(struct report_page *p, const char *title);
void report_note(struct report_page *p, const char *text);
void report_missing(struct report_page *p, const char *text);
/* Metric cards: name and value (NaN shown as "undefined"). */
void report_cards_begin(struct report_page *p);
void report_card(struct report_page *p, const char *name, double v);
void report_cards_end(struct report_page *p);
/* A definition list of facts: key and value (both escaped). */
void report_facts_begin(struct report_page *p);
void report_fact(struct report_page *p, const char *key, const char *value);
void report_factf(struct report_page *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void report_facts_end(struct report_page *p);
/* The device and timing facts. */
void report_fact_run(struct report_page *p, const clm_context *ctx,
                     double startup_s, double compute_s, double total_s,
                     const struct cli_ranking_out *ranking);
/* A sortable table: columns (headers; bit c of text_cols marks a text
 * column, aligned left), then rows of cells. */
void report_table_begin(struct report_page *p, size_t n_cols,
                        const char *const *headers, unsigned text_cols);
void report_row_begin(struct report_page *p);
void report_cell_text(struct report_page *p, const char *text);
void report_cell_num(struct report_page *p, double v, int decimals);
void report_cell_u64(struct report_page *p, uint64_t v);
void report_row_end(struct report_page *p);
void report_table_end(struct report_page *p);
/* Writes the page (title, then the body) and the figures. */
int report_write(const struct cli_report_args *a, struct report_page *p,
                 const char *title);
void report_page_free(struct report_page *p);

/* ---- figures (report_figures.c) ---- */

/* One curve of a ROC / PR plot: a class's ranking result and its
 * operating point (the evaluation's threshold or argmax). */
struct report_curve {
  char name[80];
  const clm_ranking_class *cl;
  int has_op;
  double op_fpr, op_tpr, op_recall, op_precision;
  int bold; /* the micro average */
};
/* ROC and PR plots of n curves (file names roc.svg and pr.svg). */
void report_fig_roc(struct report_page *p, const struct report_curve *c,
                    size_t n, const char *caption);
void report_fig_pr(struct report_page *p, const struct report_curve *c,
                   size_t n, const char *caption);
/* The confusion matrix of k classes (counts, or weights when w is given)
 * as a heatmap colored by row-normalized rate; larger K: the largest
 * classes and the most confused pairs. */
void report_fig_confusion(struct report_page *p, uint32_t k, const uint64_t *cm,
                          const double *w, char **names,
                          const char *const *fixed_names);
/* The reliability diagram of a calibration result. */
void report_fig_reliability(struct report_page *p,
                            const clm_calibration_result *r, int quantile,
                            const char *what);
/* Score histograms per class from calibration bins: `pos_name` is the
 * share of each bin's weight that hits (frequency), `neg_name` the rest. */
void report_fig_histogram(struct report_page *p,
                          const clm_calibration_result *r, const char *title,
                          const char *xlabel, const char *pos_name,
                          const char *neg_name);
/* Binary: precision, recall, F1 and positive rate against the threshold,
 * from the ROC curve's exact points. */
void report_fig_threshold(struct report_page *p, const clm_ranking_class *cl,
                          clm_scores_kind kind, double threshold);

/* Picks the curves to draw among k classes: all when k <= max, else the
 * max / 2 largest by support and the lowest ROC-AUCs; returns how many
 * indices went into `out` (sorted by class). */
size_t report_pick_classes(const clm_ranking_result *q, uint32_t k,
                           const double *support, size_t max, uint32_t *out);

#endif
