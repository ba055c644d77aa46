/* Shared pieces of the clmetrics command-line tool (public API only). */
#ifndef CLM_CLI_H
#define CLM_CLI_H

#include "clmetrics.h"

#include <stdio.h>

struct cli_ranking_out; /* cli_ranking.h */

/* Exit codes. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1 /* bad input, device or I/O failure */
#define CLI_EXIT_USAGE 2 /* unknown flag, bad flag value */

/* One clear message on stderr: "clmetrics: error: ...". */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the usage error and a hint, returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Gives PoCL a private kernel cache directory (cli_cache.c). */
void cli_setup_kernel_cache(void);

/* Seconds since an arbitrary monotonic origin. */
double cli_now(void);
/* Time the process started (set by main). */
extern double cli_start_time;

/* For an option that takes a value: checks argv[*i] is one of the
 * NULL-terminated `with_value`, stores the value and advances *i. Returns
 * -1 to go on, else the usage exit code (after one message). */
int cli_take_value(int argc, char **argv, int *i, const char *const *with_value,
                   const char *cmd, const char **value);

/* Parses helpers; return 0 on success. */
int cli_parse_double(const char *s, double *out);
int cli_parse_u64(const char *s, unsigned long long *out);
int cli_parse_zero_division(const char *s, clm_zero_division *out);
int cli_parse_scores_kind(const char *s, clm_scores_kind *out);

/* Prints a reader's or converter's error (the library's message names the
 * file) and returns CLI_EXIT_ERROR. */
int cli_report_error(const clm_error *err, clm_status st);
/* Prefixes err->message with "path: ", for converters that do not know
 * which file their values came from (the array readers name it). */
void cli_name_file(clm_error *err, const char *path);
/* The file behind an update error's err->input (NULL: none of these). */
const char *cli_input_path(clm_input input, const char *labels,
                           const char *pred, const char *scores,
                           const char *weights);
/* Loads the input at path (NULL: not given, nothing to do); CLI_EXIT_OK,
 * else CLI_EXIT_ERROR after the reader's error. For sample-aligned inputs
 * (one row per sample): a glob or @list of shards, and under MPI this
 * rank's rows (cli_shards.c). */
int cli_load_input(const char *path, clm_array **out);
/* The same for a whole file that is not split by rows (class weights,
 * thresholds). */
int cli_load_file(const char *path, clm_array **out);

/* Tells the progress bar that the next update covers rows from `first` of
 * an input of `total` rows, so one bar spans every batch of a run. */
void cli_progress_batch(uint64_t first, uint64_t total);

/* Prints a device or context error (naming an unusable kernel cache when
 * that is why no device exists); returns CLI_EXIT_ERROR. */
int cli_report_device_error(clm_status st, const clm_error *err);

/* Creates the context for --device (NULL: $CLMETRICS_DEVICE or default),
 * printing a clear error on failure. */
int cli_open_context(const char *device, clm_context **out);

/* "12.3 M", "1.05 G" style rates. */
void cli_format_rate(double per_second, char *buf, size_t cap);

/* Subcommands. */
int cli_binary(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_devices(int argc, char **argv);
int cli_multiclass(int argc, char **argv);
int cli_multilabel(int argc, char **argv);
int cli_selftest(int argc, char **argv);

/* Class names of --names (class_names.c): K names, one per line, checked
 * to be UTF-8; NULL after printing an error. */
char **cli_read_class_names(const char *path, uint32_t k);
void cli_free_class_names(char **names, uint32_t k);
/* Class c's name (its number when names is NULL) cut to fit `cap` bytes,
 * never inside a UTF-8 sequence. */
void cli_class_name(char **names, uint32_t c, char *buf, size_t cap);

/* Multi-class report writers shared by `multiclass` and `demo`
 * (report_multiclass.c). */
struct cli_calibration_out;
/* What a `multiclass` run adds to the report (NULL in the demo). */
struct cli_multiclass_extra {
  const double *w_confusion; /* K x K sums of weights, or NULL */
  const struct cli_calibration_out *calibration; /* NULL: not computed */
  const clm_multiclass_state *state;             /* the loss options */
};
/* ranking: NULL when not computed. */
void cli_print_multiclass_text(FILE *f, const clm_multiclass_result *r,
                               const uint64_t *cm, char **names,
                               const clm_context *ctx, double startup_s,
                               double compute_s, double total_s,
                               const struct cli_ranking_out *ranking,
                               const struct cli_multiclass_extra *extra);
void cli_print_multiclass_json(FILE *f, const clm_multiclass_result *r,
                               const uint64_t *cm, char **names,
                               clm_zero_division zd, const clm_context *ctx,
                               double startup_s, double compute_s,
                               double total_s,
                               const struct cli_ranking_out *ranking,
                               const struct cli_multiclass_extra *extra);
/* Warns on stderr about each metric that was 0/0, listing the classes. */
void cli_warn_multiclass_undefined(const clm_multiclass_result *r, char **names,
                                   clm_zero_division zd);

/* Parsed options of `binary` and `multiclass`. The parsers return -1 to go
 * on, else the exit code (after printing help or one usage error). */
/* The ranking options shared by `binary` and `multiclass` (cli_ranking.c). */
struct cli_ranking_args {
  int off;                         /* --no-ranking */
  const char *roc_out, *pr_out;    /* CSV files */
  unsigned long long curve_points; /* --curve-points, default 1000 */
  unsigned long long budget;       /* --ranking-memory bytes; 0: default */
  int curves; /* compute curves for the visual report (--html, --svg-dir) */
};
/* The calibration options shared by `binary` and `multiclass`
 * (cli_calibration.h). */
struct cli_calibration_args {
  int off;                     /* --no-calibration */
  unsigned long long bins;     /* --calibration-bins, default 15 */
  int quantile;                /* --calibration-strategy quantile */
  const char *reliability_out; /* --reliability-out FILE.csv */
};
/* The visual report's options (report_html.h). */
struct cli_report_args {
  const char *html;    /* --html FILE.html */
  const char *svg_dir; /* --svg-dir DIR */
  int full;            /* --full: every class in the page's table */
};
struct cli_binary_args {
  const char *labels, *scores, *grad_out, *features, *weight_grad_out, *device;
  const char *weights;    /* --weights FILE */
  const char *save_state; /* --save-state FILE (cli_state.h) */
  clm_scores_kind kind;
  double threshold;
  double pos_weight; /* --pos-weight P, default 1 */
  clm_zero_division zd;
  int json;
  struct cli_ranking_args rank;
  struct cli_calibration_args calib;
  struct cli_report_args report; /* --html, --svg-dir */
};
int cli_binary_parse_args(int argc, char **argv, struct cli_binary_args *a);

struct cli_multiclass_args {
  const char *labels, *pred, *scores, *names, *device;
  const char *weights, *class_weights; /* --weights, --class-weights */
  const char *save_state;              /* --save-state FILE */
  const char *grad_out;                /* --grad-out FILE */
  clm_scores_kind kind;
  unsigned long long classes, top_k;
  int has_ignore_index; /* --ignore-index I */
  int32_t ignore_index;
  double label_smoothing; /* --label-smoothing E */
  clm_zero_division zd;
  int json;
  struct cli_ranking_args rank;
  struct cli_calibration_args calib;
  struct cli_report_args report; /* --html, --svg-dir, --full */
};
int cli_multiclass_parse_args(int argc, char **argv,
                              struct cli_multiclass_args *a);

/* Binary report writers shared by `binary` and `demo` (report_binary.c). */
struct cli_calibration_out;
struct cli_binary_report {
  const clm_binary_result *result;
  const struct cli_calibration_out *calibration; /* NULL: not computed */
  const clm_context *ctx;
  clm_scores_kind kind;
  clm_zero_division zero_division;
  const double *weight_grad; /* NULL or n_features values */
  uint64_t n_features;
  double startup_s, compute_s, total_s;
  const char *labels_path, *scores_path;
  const struct cli_ranking_out *ranking; /* NULL: not computed */
};
void cli_print_binary_text(FILE *f, const struct cli_binary_report *r);
void cli_print_binary_json(FILE *f, const struct cli_binary_report *r);
/* Warns on stderr about each metric that was 0/0. */
void cli_warn_undefined(const clm_binary_result *r, clm_zero_division zd);

/* Minimal JSON writer. */
struct json {
  FILE *f;
  int depth;
  int first[32];
};
void json_begin(struct json *j, FILE *f);
void json_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_object_open(struct json *j, const char *key);
void json_object_close(struct json *j);
void json_array_open(struct json *j, const char *key);
void json_array_close(struct json *j);
void json_string(struct json *j, const char *key, const char *value);
/* Non-finite doubles: NaN as null, +-inf as +-1e999 (valid JSON). */
void json_number(struct json *j, const char *key, double value);
void json_u64(struct json *j, const char *key, unsigned long long value);
void json_bool(struct json *j, const char *key, int value);

/* Report pieces both commands print the same way. */
const char *cli_zero_division_name(clm_zero_division zd); /* "0", "1", "nan" */
/* "device: platform / name (type)" and a blank line. */
void cli_print_device(FILE *f, const clm_context *ctx);
/* The "device" and "timing" objects of the JSON reports. */
void cli_json_device(struct json *j, const clm_context *ctx);
void cli_json_timing(struct json *j, double startup_s, double compute_s,
                     double total_s, const struct cli_ranking_out *ranking);

/* Why no kernel cache directory was usable (the directories tried and
 * why), or NULL when one was (or the user set POCL_CACHE_DIR). */
const char *cli_kernel_cache_problem(void);
/* Removes the private temporary cache directory, if one was made (also
 * registered with atexit). */
void cli_kernel_cache_cleanup(void);

#endif
