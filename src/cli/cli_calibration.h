/* Calibration and sample weights in the CLI (cli_calibration.c,
 * cli_weights.c): options shared by `binary` and `multiclass`, the
 * reliability table in the reports and its CSV file. */
#ifndef CLM_CLI_CALIBRATION_H
#define CLM_CLI_CALIBRATION_H

#include "cli_outputs.h"

/* Fine bins of the pass that places equal-mass edges: each quantile edge
 * is exact to within 1 / CLI_QUANTILE_FINE_BINS of probability. */
#define CLI_QUANTILE_FINE_BINS 4096

void cli_calibration_defaults(struct cli_calibration_args *a);
/* Takes argv[*i] (and its value, advancing *i) when it is a calibration
 * option: 0 when it is not, -1 when taken, else the usage exit code. */
int cli_calibration_flag(int argc, char **argv, int *i, const char *cmd,
                         struct cli_calibration_args *a);
/* Checks option combinations; -1 to go on. */
int cli_calibration_check(const char *cmd, const struct cli_calibration_args *a,
                          int has_scores);

struct cli_calibration_out {
  clm_calibration_state state;
  clm_calibration_state fine; /* the quantile strategy's first pass */
  clm_calibration_result result;
  int active; /* the run computes calibration */
  int done;   /* result holds the finalized table */
  int quantile;
  uint32_t requested_bins;
  double seconds;
  struct cli_output csv;
};

/* Opens --reliability-out before any work; -1 to go on. */
int cli_calibration_open_outputs(const struct cli_calibration_args *a,
                                 struct cli_calibration_out *out);
/* Prepares the state (k = 1 binary, else K classes); with the quantile
 * strategy the fine state of the first pass. -1 to go on. */
int cli_calibration_begin(const struct cli_calibration_args *a,
                          struct cli_calibration_out *out, uint32_t k,
                          int weighted, int has_ignore, int32_t ignore_index);
/* 1 while the run still needs the quantile strategy's first pass. */
int cli_calibration_prepass(const struct cli_calibration_out *out);
/* Ends the first pass: places the edges, prepares the main state. */
int cli_calibration_end_prepass(struct cli_calibration_out *out);
/* Adds a batch (to the fine state during the first pass); st != CLM_OK
 * leaves err filled for the caller's message. */
clm_status cli_calibration_add_binary(clm_context *ctx,
                                      struct cli_calibration_out *out,
                                      uint64_t base, const uint8_t *y,
                                      const float *z, const float *w,
                                      uint64_t m, clm_scores_kind kind,
                                      clm_error *err);
clm_status cli_calibration_add_multiclass(clm_context *ctx,
                                          struct cli_calibration_out *out,
                                          uint64_t base, const int32_t *y,
                                          const float *z, const float *w,
                                          uint64_t m, clm_scores_kind kind,
                                          clm_error *err);
/* Finalizes and writes the CSV; -1 on success. */
int cli_calibration_finish(struct cli_calibration_out *out);
void cli_calibration_abort(struct cli_calibration_out *out);
void cli_calibration_free(struct cli_calibration_out *out);

/* The reliability table and the errors, as text and as the JSON
 * "calibration" object. */
void cli_calibration_text(FILE *f, const struct cli_calibration_out *out);
void cli_calibration_json(struct json *j,
                          const struct cli_calibration_out *out);

/* ---- sample and class weights (cli_weights.c) ---- */

/* Loads --weights (NULL: none) and checks it holds n values (1-D or
 * N x 1, float or integer). -1 to go on, else the exit code. */
int cli_weights_load(const char *path, uint64_t n, clm_array **out);
/* Rows [first, first + m) as float32: float32 files in place (the
 * evaluation checks each value), others converted and checked here (NaN,
 * +-inf, negative, or beyond float32 -> CLM_ERR_BAD_WEIGHT naming the file,
 * index and value as stored). */
clm_status cli_weights_batch(const clm_array *w, uint64_t first, uint64_t m,
                             float *buf, const float **out, clm_error *err);
/* 1 when cli_weights_batch needs a buffer of m floats for this file. */
int cli_weights_need_buffer(const clm_array *w);
/* Reads --class-weights: exactly k finite values >= 0. NULL after one
 * message. */
double *cli_class_weights_load(const char *path, uint32_t k);
/* Rows [first, first + m) of a label file as int32 where the value
 * `ignore` (which may be negative) is allowed besides class indices. */
clm_status cli_labels_i32_ignore(const clm_array *a, uint64_t first, uint64_t m,
                                 int32_t ignore, int32_t *buf, clm_error *err);

#endif
