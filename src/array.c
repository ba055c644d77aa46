/* Array object, accessors and conversions to labels and float32 values. */
#include "array_internal.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

const char *clm_dtype_name(clm_dtype dtype) {
  switch (dtype) {
  case CLM_DTYPE_BOOL:
    return "bool";
  case CLM_DTYPE_U8:
    return "uint8";
  case CLM_DTYPE_I8:
    return "int8";
  case CLM_DTYPE_I16:
    return "int16";
  case CLM_DTYPE_I32:
    return "int32";
  case CLM_DTYPE_I64:
    return "int64";
  case CLM_DTYPE_F32:
    return "float32";
  case CLM_DTYPE_F64:
    return "float64";
  }
  return "unknown";
}

size_t clm_dtype_size(clm_dtype dtype) {
  switch (dtype) {
  case CLM_DTYPE_BOOL:
  case CLM_DTYPE_U8:
  case CLM_DTYPE_I8:
    return 1;
  case CLM_DTYPE_I16:
    return 2;
  case CLM_DTYPE_I32:
  case CLM_DTYPE_F32:
    return 4;
  case CLM_DTYPE_I64:
  case CLM_DTYPE_F64:
    return 8;
  }
  return 0;
}

const void *clm_array_empty_data(void) {
  static alignas(max_align_t) const unsigned char empty[16];
  return empty;
}

const char *clm_strerror(int errnum, char *buf, size_t len) {
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
  /* GNU variant: may return a static string instead of filling buf. */
  return strerror_r(errnum, buf, len);
#else
  if (strerror_r(errnum, buf, len) != 0)
    snprintf(buf, len, "error %d", errnum);
  return buf;
#endif
}

clm_array *clm_array_new(const char *path) {
  clm_array *a = clm_calloc(1, sizeof *a);
  if (!a)
    return NULL;
  a->path = clm_strdup(path);
  if (!a->path) {
    free(a);
    return NULL;
  }
  a->ndim = 1;
  a->cols = 1;
  a->data = clm_array_empty_data();
  return a;
}

void clm_array_free(clm_array *array) {
  if (!array)
    return;
  if (array->map_base)
    munmap(array->map_base, array->map_len);
  free(array->owned);
  free(array->labels_u8);
  free(array->values_f32);
  free(array->labels_i32);
  free(array->path);
  free(array);
}

clm_status clm_array_load(const char *path, clm_array **out, clm_error *err) {
  if (out)
    *out = NULL;
  if (!path || !out)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_array_load: path and out must not be NULL");
  size_t len = strlen(path);
  if (len >= 4 && strcasecmp(path + len - 4, ".npy") == 0)
    return clm_array_load_npy(path, out, err);
  return clm_array_load_csv(path, out, err);
}

clm_dtype clm_array_dtype(const clm_array *array) {
  return array ? array->dtype : CLM_DTYPE_F64;
}

int clm_array_ndim(const clm_array *array) {
  return array ? array->ndim : 0;
}

uint64_t clm_array_rows(const clm_array *array) {
  return array ? array->rows : 0;
}

uint64_t clm_array_cols(const clm_array *array) {
  return array ? array->cols : 0;
}

const char *clm_array_path(const clm_array *array) {
  return array ? array->path : NULL;
}

const void *clm_array_data(const clm_array *array) {
  return array ? array->data : NULL;
}

/* Element count; rows * cols was checked for overflow when loading. */
static uint64_t array_count(const clm_array *a) {
  return a->rows * a->cols;
}

static clm_status bad_int_label(clm_error *err, const clm_array *a, uint64_t i,
                                int64_t v) {
  return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)i, (double)v,
                  "%s: index %" PRIu64 ": label %" PRId64 " is not 0 or 1",
                  a->path, i, v);
}

static clm_status bad_float_label(clm_error *err, const clm_array *a,
                                  uint64_t i, double v) {
  return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)i, v,
                  "%s: index %" PRIu64 ": label %.17g is not 0 or 1", a->path,
                  i, v);
}

/* Converts integer labels; memcpy avoids alignment assumptions on `src`. */
#define CONVERT_INT_LABELS(T)                                                  \
  do {                                                                         \
    const unsigned char *src = a->data;                                        \
    for (uint64_t i = 0; i < n; i++) {                                         \
      T v;                                                                     \
      memcpy(&v, src + i * sizeof v, sizeof v);                                \
      if (v != 0 && v != 1) {                                                  \
        st = bad_int_label(err, a, i, (int64_t)v);                             \
        goto fail;                                                             \
      }                                                                        \
      buf[i] = (uint8_t)v;                                                     \
    }                                                                          \
  } while (0)

#define CONVERT_FLOAT_LABELS(T)                                                \
  do {                                                                         \
    const unsigned char *src = a->data;                                        \
    for (uint64_t i = 0; i < n; i++) {                                         \
      T v;                                                                     \
      memcpy(&v, src + i * sizeof v, sizeof v);                                \
      /* NaN fails both comparisons and is reported. */                        \
      if (v == 0)                                                              \
        buf[i] = 0;                                                            \
      else if (v == 1)                                                         \
        buf[i] = 1;                                                            \
      else {                                                                   \
        st = bad_float_label(err, a, i, (double)v);                            \
        goto fail;                                                             \
      }                                                                        \
    }                                                                          \
  } while (0)

clm_status clm_array_labels_u8(clm_array *array, const uint8_t **out,
                               clm_error *err) {
  clm_error_clear(err);
  if (out)
    *out = NULL;
  if (!array || !out)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_array_labels_u8: array and out must not be NULL");
  clm_array *a = array;
  if (a->ndim != 1 && !(a->ndim == 2 && a->cols == 1))
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "%s: expected a 1-D array, got shape (%" PRIu64 ", %" PRIu64
                    ")",
                    a->path, a->rows, a->cols);
  if (a->dtype == CLM_DTYPE_BOOL || a->dtype == CLM_DTYPE_U8) {
    *out = a->data;
    return CLM_OK;
  }
  if (a->labels_u8) {
    *out = a->labels_u8;
    return CLM_OK;
  }
  uint64_t n = array_count(a);
  if (n == 0) {
    *out = clm_array_empty_data();
    return CLM_OK;
  }
  if (n > SIZE_MAX)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "%s: cannot allocate %" PRIu64 " labels", a->path, n);
  uint8_t *buf = clm_malloc((size_t)n);
  if (!buf)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "%s: cannot allocate %" PRIu64 " labels", a->path, n);
  clm_status st = CLM_OK;
  switch (a->dtype) {
  case CLM_DTYPE_I8:
    CONVERT_INT_LABELS(int8_t);
    break;
  case CLM_DTYPE_I16:
    CONVERT_INT_LABELS(int16_t);
    break;
  case CLM_DTYPE_I32:
    CONVERT_INT_LABELS(int32_t);
    break;
  case CLM_DTYPE_I64:
    CONVERT_INT_LABELS(int64_t);
    break;
  case CLM_DTYPE_F32:
    CONVERT_FLOAT_LABELS(float);
    break;
  case CLM_DTYPE_F64:
    CONVERT_FLOAT_LABELS(double);
    break;
  default:
    st = clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                  "%s: dtype %s cannot be used as labels", a->path,
                  clm_dtype_name(a->dtype));
    goto fail;
  }
  a->labels_u8 = buf;
  *out = buf;
  return CLM_OK;
fail:
  free(buf);
  return st;
}

#define CONVERT_VALUES(T)                                                      \
  do {                                                                         \
    const unsigned char *src = a->data;                                        \
    for (uint64_t i = 0; i < n; i++) {                                         \
      T v;                                                                     \
      memcpy(&v, src + i * sizeof v, sizeof v);                                \
      buf[i] = (float)v;                                                       \
    }                                                                          \
  } while (0)

clm_status clm_array_values_f32(clm_array *array, const float **out,
                                clm_error *err) {
  clm_error_clear(err);
  if (out)
    *out = NULL;
  if (!array || !out)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_array_values_f32: array and out must not be NULL");
  clm_array *a = array;
  if (a->dtype == CLM_DTYPE_F32) {
    *out = a->data;
    return CLM_OK;
  }
  if (a->values_f32) {
    *out = a->values_f32;
    return CLM_OK;
  }
  uint64_t n = array_count(a);
  if (n == 0) {
    *out = clm_array_empty_data();
    return CLM_OK;
  }
  if (n > SIZE_MAX / sizeof(float))
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "%s: cannot allocate %" PRIu64 " float32 values", a->path,
                    n);
  float *buf = clm_malloc((size_t)n * sizeof(float));
  if (!buf)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "%s: cannot allocate %" PRIu64 " float32 values", a->path,
                    n);
  switch (a->dtype) {
  case CLM_DTYPE_BOOL: /* numpy stores bool as one byte, 0 or 1 */
  case CLM_DTYPE_U8:
    CONVERT_VALUES(uint8_t);
    break;
  case CLM_DTYPE_I8:
    CONVERT_VALUES(int8_t);
    break;
  case CLM_DTYPE_I16:
    CONVERT_VALUES(int16_t);
    break;
  case CLM_DTYPE_I32:
    CONVERT_VALUES(int32_t);
    break;
  case CLM_DTYPE_I64:
    CONVERT_VALUES(int64_t);
    break;
  case CLM_DTYPE_F32:
    CONVERT_VALUES(float);
    break;
  case CLM_DTYPE_F64: {
    const unsigned char *src = a->data;
    for (uint64_t i = 0; i < n; i++) {
      double v;
      memcpy(&v, src + i * sizeof v, sizeof v);
      buf[i] = clm_f64_to_f32(v);
    }
  } break;
  }
  a->values_f32 = buf;
  *out = buf;
  return CLM_OK;
}

static clm_status bad_class_label(clm_error *err, const clm_array *a,
                                  uint64_t i, double v, const char *why) {
  return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)i, v,
                  "%s: index %" PRIu64 ": label %.17g is %s", a->path, i, v,
                  why);
}

/* Class labels: integers in [0, INT32_MAX]; the class count is checked by
 * the evaluation. */
#define CONVERT_CLASS_LABELS(T, is_float)                                      \
  do {                                                                         \
    const unsigned char *src = a->data;                                        \
    for (uint64_t i = 0; i < n; i++) {                                         \
      T v;                                                                     \
      memcpy(&v, src + i * sizeof v, sizeof v);                                \
      const double d = (double)v;                                              \
      if (is_float && (d != d || d != floor(d))) {                             \
        st = bad_class_label(err, a, i, d, "not an integer class");            \
        goto fail;                                                             \
      }                                                                        \
      if (d < 0) {                                                             \
        st = bad_class_label(err, a, i, d, "negative");                        \
        goto fail;                                                             \
      }                                                                        \
      if (d > (double)INT32_MAX) {                                             \
        st = bad_class_label(err, a, i, d, "too large for a class index");     \
        goto fail;                                                             \
      }                                                                        \
      buf[i] = (int32_t)d;                                                     \
    }                                                                          \
  } while (0)

clm_status clm_array_labels_i32(clm_array *array, const int32_t **out,
                                clm_error *err) {
  clm_error_clear(err);
  if (out)
    *out = NULL;
  if (!array || !out)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_array_labels_i32: array and out must not be NULL");
  clm_array *a = array;
  if (a->ndim != 1 && !(a->ndim == 2 && a->cols == 1))
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "%s: expected a 1-D array of class labels, got shape "
                    "(%" PRIu64 ", %" PRIu64 ")",
                    a->path, a->rows, a->cols);
  if (a->labels_i32) {
    *out = a->labels_i32;
    return CLM_OK;
  }
  uint64_t n = array_count(a);
  if (n == 0) {
    *out = clm_array_empty_data();
    return CLM_OK;
  }
  if (a->dtype == CLM_DTYPE_I32 &&
      ((uintptr_t)a->data % sizeof(int32_t)) == 0) {
    /* Used as is; negatives are still rejected here, cheaply. */
    const int32_t *v = a->data;
    for (uint64_t i = 0; i < n; i++)
      if (v[i] < 0)
        return bad_class_label(err, a, i, v[i], "negative");
    *out = v;
    return CLM_OK;
  }
  if (n > SIZE_MAX / sizeof(int32_t))
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "%s: cannot allocate %" PRIu64 " labels", a->path, n);
  int32_t *buf = clm_malloc((size_t)n * sizeof(int32_t));
  if (!buf)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "%s: cannot allocate %" PRIu64 " labels", a->path, n);
  clm_status st = CLM_OK;
  switch (a->dtype) {
  case CLM_DTYPE_BOOL:
  case CLM_DTYPE_U8:
    CONVERT_CLASS_LABELS(uint8_t, 0);
    break;
  case CLM_DTYPE_I8:
    CONVERT_CLASS_LABELS(int8_t, 0);
    break;
  case CLM_DTYPE_I16:
    CONVERT_CLASS_LABELS(int16_t, 0);
    break;
  case CLM_DTYPE_I32:
    CONVERT_CLASS_LABELS(int32_t, 0);
    break;
  case CLM_DTYPE_I64:
    CONVERT_CLASS_LABELS(int64_t, 0);
    break;
  case CLM_DTYPE_F32:
    CONVERT_CLASS_LABELS(float, 1);
    break;
  case CLM_DTYPE_F64:
    CONVERT_CLASS_LABELS(double, 1);
    break;
  }
  a->labels_i32 = buf;
  *out = buf;
  return CLM_OK;
fail:
  free(buf);
  return st;
}
