/* Exact ranking metrics of `clmetrics multilabel`: per label (each column
 * against its own labels) and micro (every cell as one binary problem),
 * read from the inputs in bounded batches of rows. */
#include "cli_calibration.h"
#include "cli_mpi.h"
#include "cli_multilabel.h"
#include "report_html.h"

#include <stdlib.h>
#include <string.h>

/* Rows per read: about 4 M cells. */
#define RANK_BATCH_CELLS ((uint64_t)1 << 22)

struct ml_source {
  const struct cli_multilabel_run *r;
  int micro;        /* source rows are cells, not rows of the matrix */
  uint64_t batch;   /* data rows per read */
  uint8_t *y;       /* converted labels, NULL when read in place */
  void *z;          /* converted scores (float32), NULL in place */
  float *w, *wcell; /* converted row weights; per-cell weights (micro) */
};

static clm_status source_read(void *user, uint64_t first, uint64_t count,
                              const void **labels, const void **scores,
                              clm_error *err) {
  struct ml_source *s = user;
  const struct cli_multilabel_run *r = s->r;
  const uint64_t L = r->L;
  /* Reads are batch-aligned, and a batch is whole data rows. */
  const uint64_t row0 = s->micro ? first / L : first;
  const uint64_t rows = s->micro ? (count + L - 1) / L : count;
  clm_status st = CLM_OK;
  if (s->y)
    st = clm_array_read_indicator_u8(r->labels, row0, rows, s->y, err);
  *labels = s->y ? (const void *)s->y
                 : (const void *)((const uint8_t *)clm_array_data(r->labels) +
                                  row0 * L);
  if (st == CLM_OK && s->z)
    st = clm_array_read_values_f32(r->scores, row0, rows, s->z, 0, err);
  if (s->z) {
    *scores = s->z;
  } else {
    const size_t esz = clm_array_dtype(r->scores) == CLM_DTYPE_F64
                           ? sizeof(double)
                           : sizeof(float);
    *scores = (const char *)clm_array_data(r->scores) + row0 * L * esz;
  }
  return st;
}

static clm_status source_weights(void *user, uint64_t first, uint64_t count,
                                 const float **weights, clm_error *err) {
  struct ml_source *s = user;
  const struct cli_multilabel_run *r = s->r;
  const uint64_t L = r->L;
  const uint64_t row0 = s->micro ? first / L : first;
  const uint64_t rows = s->micro ? (count + L - 1) / L : count;
  const float *w = NULL;
  clm_status st = cli_weights_batch(r->weights, row0, rows, s->w, &w, err);
  if (st != CLM_OK)
    return st;
  if (!s->micro) {
    *weights = w;
    return CLM_OK;
  }
  for (uint64_t i = 0; i < rows; ++i)
    for (uint64_t c = 0; c < L; ++c)
      s->wcell[i * L + c] = w[i];
  *weights = s->wcell;
  return CLM_OK;
}

static void source_free(struct ml_source *s) {
  free(s->wcell);
  free(s->w);
  free(s->z);
  free(s->y);
}

static int source_init(struct ml_source *s, const struct cli_multilabel_run *r,
                       int micro) {
  memset(s, 0, sizeof *s);
  s->r = r;
  s->micro = micro;
  const uint64_t L = r->L;
  s->batch = RANK_BATCH_CELLS / L;
  if (s->batch == 0)
    s->batch = 1;
  if (s->batch > r->n)
    s->batch = r->n;
  const size_t cells = (size_t)(s->batch * L);
  const clm_dtype ld = clm_array_dtype(r->labels),
                  sd = clm_array_dtype(r->scores);
  if (ld != CLM_DTYPE_U8 && ld != CLM_DTYPE_BOOL && !(s->y = malloc(cells)))
    return -1;
  if (sd != CLM_DTYPE_F32 && sd != CLM_DTYPE_F64 &&
      !(s->z = malloc(cells * sizeof(float))))
    return -1;
  if (r->weights) {
    if (cli_weights_need_buffer(r->weights) &&
        !(s->w = malloc((size_t)s->batch * sizeof(float))))
      return -1;
    if (micro && !(s->wcell = malloc(cells * sizeof(float))))
      return -1;
  }
  return 0;
}

static int run_one(const struct cli_multilabel_args *a,
                   struct cli_multilabel_run *r, int micro,
                   clm_ranking_result *out) {
  struct ml_source s;
  if (source_init(&s, r, micro) != 0) {
    source_free(&s);
    cli_error("cannot allocate the ranking buffers");
    return CLI_EXIT_ERROR;
  }
  const clm_dtype sd = clm_array_dtype(r->scores);
  clm_ranking_source src = {0};
  src.user = &s;
  src.n = micro ? r->n * r->L : r->n;
  src.k = micro ? 1 : (uint32_t)r->L;
  src.dtype = sd == CLM_DTYPE_F64 ? CLM_DTYPE_F64 : CLM_DTYPE_F32;
  src.read = source_read;
  src.read_weights = r->weights ? source_weights : NULL;
  src.multilabel = !micro;
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  o.memory_budget = a->rank.budget;
  o.batch_rows = micro ? s.batch * r->L : s.batch;
  o.scores_are_probs = a->kind == CLM_SCORES_PROBS;
  /* Curves for the visual report: the micro curve, and per label at most
   * CLI_REPORT_CURVE_CELLS points in all. */
  if (a->rank.curves) {
    const uint64_t per =
        micro ? a->rank.curve_points : CLI_REPORT_CURVE_CELLS / r->L;
    o.curve_points = per < 2                      ? 2
                     : per < a->rank.curve_points ? per
                                                  : a->rank.curve_points;
  }
  cli_mpi_ranking_options(&o); /* under MPI: over every rank's rows */
  clm_error err;
  clm_status st = clm_ranking_compute(r->ctx, &src, &o, out, &err);
  source_free(&s);
  if (st != CLM_OK) {
    const char *file =
        cli_input_path(err.input, a->labels, NULL, a->scores, a->weights);
    if (file && !strstr(err.message, file))
      cli_error("%s: %s", file, err.message);
    else
      cli_report_error(&err, st);
    return CLI_EXIT_ERROR;
  }
  return -1;
}

int cli_multilabel_ranking(const struct cli_multilabel_args *a,
                           struct cli_multilabel_run *r) {
  int rc = run_one(a, r, 0, &r->rank_labels);
  if (rc < 0)
    rc = run_one(a, r, 1, &r->rank_micro);
  if (rc < 0)
    r->has_ranking = 1;
  return rc;
}
