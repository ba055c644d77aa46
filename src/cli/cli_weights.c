/* Sample weights (--weights), class weights (--class-weights) and labels
 * that may hold the --ignore-index value, for the CLI. */
#include "cli_calibration.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_weights_load(const char *path, uint64_t n, clm_array **out) {
  *out = NULL;
  if (!path)
    return -1;
  if (cli_load_input(path, out))
    return CLI_EXIT_ERROR;
  cli_watch_input(*out);
  const clm_array *w = *out;
  if (clm_array_ndim(w) == 2 && clm_array_cols(w) != 1) {
    cli_error("%s: sample weights must be 1-D (or N x 1), got shape (%llu, "
              "%llu)",
              path, (unsigned long long)clm_array_rows(w),
              (unsigned long long)clm_array_cols(w));
    return CLI_EXIT_ERROR;
  }
  if (clm_array_rows(w) != n) {
    cli_error("length mismatch: %s has %llu weights for %llu samples", path,
              (unsigned long long)clm_array_rows(w), (unsigned long long)n);
    return CLI_EXIT_ERROR;
  }
  return -1;
}

int cli_weights_need_buffer(const clm_array *w) {
  return w && clm_array_dtype(w) != CLM_DTYPE_F32;
}

/* Element i of a numeric array as double. */
static double value_at(const clm_array *a, uint64_t i) {
  const void *d = clm_array_data(a);
  switch (clm_array_dtype(a)) {
  case CLM_DTYPE_BOOL:
  case CLM_DTYPE_U8:
    return ((const uint8_t *)d)[i];
  case CLM_DTYPE_I8:
    return ((const int8_t *)d)[i];
  case CLM_DTYPE_I16:
    return ((const int16_t *)d)[i];
  case CLM_DTYPE_I32:
    return ((const int32_t *)d)[i];
  case CLM_DTYPE_I64:
    return (double)((const int64_t *)d)[i];
  case CLM_DTYPE_F32:
    return ((const float *)d)[i];
  case CLM_DTYPE_F64:
    return ((const double *)d)[i];
  }
  return NAN;
}

clm_status cli_weights_batch(const clm_array *w, uint64_t first, uint64_t m,
                             float *buf, const float **out, clm_error *err) {
  if (!w) {
    *out = NULL;
    return CLM_OK;
  }
  if (clm_array_dtype(w) == CLM_DTYPE_F32) {
    *out = (const float *)clm_array_data(w) + first;
    return CLM_OK;
  }
  for (uint64_t i = 0; i < m; ++i) {
    const double v = value_at(w, first + i);
    if (!(v >= 0.0 && v <= FLT_MAX)) {
      const unsigned long long at = (unsigned long long)(first + i);
      err->status = CLM_ERR_BAD_WEIGHT;
      err->index = (int64_t)at;
      err->value = v;
      err->input = CLM_INPUT_WEIGHTS;
      snprintf(err->message, sizeof err->message,
               "%s: index %llu: weight %.17g is %s", clm_array_path(w), at, v,
               isnan(v)   ? "NaN"
               : v < 0    ? "negative"
               : isinf(v) ? "infinite"
                          : "beyond the float32 range");
      return CLM_ERR_BAD_WEIGHT;
    }
    buf[i] = (float)v;
  }
  *out = buf;
  return CLM_OK;
}

double *cli_class_weights_load(const char *path, uint32_t k) {
  clm_array *a = NULL;
  if (cli_load_file(path, &a))
    return NULL;
  const uint64_t count = clm_array_rows(a) * clm_array_cols(a);
  if (count != k) {
    cli_error("%s: --class-weights needs %u values (one per class), got %llu",
              path, (unsigned)k, (unsigned long long)count);
    clm_array_free(a);
    return NULL;
  }
  double *w = malloc((size_t)k * sizeof(double));
  if (!w) {
    cli_error("cannot allocate %u class weights", (unsigned)k);
    clm_array_free(a);
    return NULL;
  }
  for (uint32_t c = 0; c < k; ++c) {
    w[c] = value_at(a, c);
    if (!(w[c] >= 0.0 && isfinite(w[c]))) {
      cli_error("%s: class %u: weight %.17g is not a finite value >= 0", path,
                (unsigned)c, w[c]);
      free(w);
      clm_array_free(a);
      return NULL;
    }
  }
  clm_array_free(a);
  return w;
}

clm_status cli_labels_i32_ignore(const clm_array *a, uint64_t first, uint64_t m,
                                 int32_t ignore, int32_t *buf, clm_error *err) {
  for (uint64_t i = 0; i < m; ++i) {
    const double v = value_at(a, first + i);
    if (v == (double)ignore) {
      buf[i] = ignore;
      continue;
    }
    if (!(v >= 0.0 && v <= (double)INT32_MAX && v == floor(v))) {
      const unsigned long long at = (unsigned long long)(first + i);
      err->status = CLM_ERR_BAD_LABEL;
      err->index = (int64_t)at;
      err->value = v;
      err->input = CLM_INPUT_LABELS;
      snprintf(err->message, sizeof err->message,
               "%s: index %llu: label %.17g is not a class index (an integer "
               "in [0, 2^31)) nor the --ignore-index %d",
               clm_array_path(a), at, v, (int)ignore);
      return CLM_ERR_BAD_LABEL;
    }
    buf[i] = (int32_t)v;
  }
  return CLM_OK;
}
