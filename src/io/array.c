/* Array object, accessors and conversions to labels and float32 values. */
#include "io/array_internal.h"

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

static int is_column(const clm_array *a) {
  return a->ndim == 1 || (a->ndim == 2 && a->cols == 1);
}

static clm_status check_range(const clm_array *a, uint64_t first,
                              uint64_t count, const void *out, const char *fn,
                              clm_error *err) {
  if (!a || (count > 0 && !out))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "%s: array and out must not be NULL", fn);
  if (first > a->rows || count > a->rows - first)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "%s: rows [%" PRIu64 ", %" PRIu64 ") outside the %" PRIu64
                    " rows of %s",
                    fn, first, first + count, a->rows, a->path);
  return CLM_OK;
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

/* Element e of the array as T; memcpy avoids alignment assumptions on the
 * mapped data. */
#define DEFINE_LOAD(T, name)                                                   \
  static inline T load_##name(const clm_array *a, uint64_t e) {                \
    T v;                                                                       \
    memcpy(&v, (const unsigned char *)a->data + e * sizeof v, sizeof v);       \
    return v;                                                                  \
  }
DEFINE_LOAD(uint8_t, uint8_t)
DEFINE_LOAD(int8_t, int8_t)
DEFINE_LOAD(int16_t, int16_t)
DEFINE_LOAD(int32_t, int32_t)
DEFINE_LOAD(int64_t, int64_t)
DEFINE_LOAD(float, float)
DEFINE_LOAD(double, double)

/* The loops below visit elements [first, first + count) as T. */
#define FOR_EACH(T, v, i)                                                      \
  for (uint64_t i = 0, e_ = first; i < count; i++, e_++)                       \
    for (T v = load_##T(a, e_), once_ = 1; once_; once_ = 0)

#define INT_LABELS(T)                                                          \
  do {                                                                         \
    FOR_EACH(T, v, i) {                                                        \
      if (v != 0 && v != 1)                                                    \
        return bad_int_label(err, a, first + i, (int64_t)v);                   \
      out[i] = (uint8_t)v;                                                     \
    }                                                                          \
  } while (0)

/* NaN fails both comparisons and is reported. */
#define FLOAT_LABELS(T)                                                        \
  do {                                                                         \
    FOR_EACH(T, v, i) {                                                        \
      if (v != 0 && v != 1)                                                    \
        return bad_float_label(err, a, first + i, (double)v);                  \
      out[i] = v == 1;                                                         \
    }                                                                          \
  } while (0)

/* 0/1 values of elements [first, first + count) of any label dtype. */
static clm_status read_u8_cells(const clm_array *a, uint64_t first,
                                uint64_t count, uint8_t *out, clm_error *err) {
  switch (a->dtype) {
  case CLM_DTYPE_BOOL:
  case CLM_DTYPE_U8:
    INT_LABELS(uint8_t);
    break;
  case CLM_DTYPE_I8:
    INT_LABELS(int8_t);
    break;
  case CLM_DTYPE_I16:
    INT_LABELS(int16_t);
    break;
  case CLM_DTYPE_I32:
    INT_LABELS(int32_t);
    break;
  case CLM_DTYPE_I64:
    INT_LABELS(int64_t);
    break;
  case CLM_DTYPE_F32:
    FLOAT_LABELS(float);
    break;
  case CLM_DTYPE_F64:
    FLOAT_LABELS(double);
    break;
  default:
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "%s: dtype %s cannot be used as labels", a->path,
                    clm_dtype_name(a->dtype));
  }
  return CLM_OK;
}

clm_status clm_array_read_labels_u8(const clm_array *a, uint64_t first,
                                    uint64_t count, uint8_t *out,
                                    clm_error *err) {
  clm_error_clear(err);
  clm_status st =
      check_range(a, first, count, out, "clm_array_read_labels_u8", err);
  if (st != CLM_OK)
    return st;
  if (!is_column(a))
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "%s: expected a 1-D array, got shape (%" PRIu64 ", %" PRIu64
                    ")",
                    a->path, a->rows, a->cols);
  return read_u8_cells(a, first, count, out, err);
}

clm_status clm_array_read_indicator_u8(const clm_array *a, uint64_t first,
                                       uint64_t count, uint8_t *out,
                                       clm_error *err) {
  clm_error_clear(err);
  clm_status st =
      check_range(a, first, count, out, "clm_array_read_indicator_u8", err);
  if (st != CLM_OK)
    return st;
  st = read_u8_cells(a, first * a->cols, count * a->cols, out, err);
  if (st == CLM_ERR_BAD_LABEL && err && err->index >= 0) {
    const uint64_t e = (uint64_t)err->index;
    clm_fail(err, CLM_ERR_BAD_LABEL, err->index, err->value,
             "%s: row %" PRIu64 ", column %" PRIu64 ": value %.17g is not 0 "
             "or 1",
             a->path, e / a->cols, e % a->cols, err->value);
  }
  return st;
}

/* A whole-array conversion, kept with the array until it is freed. */
static void *alloc_conversion(const clm_array *a, size_t elem, clm_error *err) {
  const uint64_t n = array_count(a);
  void *buf = n <= SIZE_MAX / elem ? clm_malloc((size_t)n * elem) : NULL;
  if (!buf)
    clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
             "%s: cannot allocate %" PRIu64 " values of %zu bytes", a->path, n,
             elem);
  return buf;
}

clm_status clm_array_labels_u8(clm_array *array, const uint8_t **out,
                               clm_error *err) {
  clm_error_clear(err);
  if (out)
    *out = NULL;
  if (!array || !out)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_array_labels_u8: array and out must not be NULL");
  clm_array *a = array;
  if (!is_column(a))
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "%s: expected a 1-D array, got shape (%" PRIu64 ", %" PRIu64
                    ")",
                    a->path, a->rows, a->cols);
  if (a->dtype == CLM_DTYPE_BOOL || a->dtype == CLM_DTYPE_U8) {
    *out = a->data;
    return CLM_OK;
  }
  if (!a->labels_u8 && array_count(a) > 0) {
    uint8_t *buf = alloc_conversion(a, 1, err);
    if (!buf)
      return CLM_ERR_OUT_OF_MEMORY;
    clm_status st = clm_array_read_labels_u8(a, 0, a->rows, buf, err);
    if (st != CLM_OK) {
      free(buf);
      return st;
    }
    a->labels_u8 = buf;
  }
  *out = a->labels_u8 ? a->labels_u8 : clm_array_empty_data();
  return CLM_OK;
}

static clm_status bad_value(clm_error *err, const clm_array *a, uint64_t e,
                            double v) {
  const uint64_t r = e / a->cols, c = e % a->cols;
  if (a->ndim == 2 && a->cols > 1)
    return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)r, v,
                    "%s: row %" PRIu64 ", column %" PRIu64
                    ": value %g is not finite",
                    a->path, r, c, v);
  return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)r, v,
                  "%s: index %" PRIu64 ": value %g is not finite", a->path, r,
                  v);
}

#define VALUES(T)                                                              \
  do {                                                                         \
    FOR_EACH(T, v, i) {                                                        \
      out[i] = (float)v;                                                       \
    }                                                                          \
  } while (0)

clm_status clm_array_read_values_f32(const clm_array *a, uint64_t first,
                                     uint64_t count, float *out,
                                     int require_finite, clm_error *err) {
  clm_error_clear(err);
  clm_status st =
      check_range(a, first, count, out, "clm_array_read_values_f32", err);
  if (st != CLM_OK)
    return st;
  /* From here on, first and count are in elements. */
  first *= a->cols;
  count *= a->cols;
  switch (a->dtype) {
  case CLM_DTYPE_BOOL: /* numpy stores bool as one byte, 0 or 1 */
  case CLM_DTYPE_U8:
    VALUES(uint8_t);
    break;
  case CLM_DTYPE_I8:
    VALUES(int8_t);
    break;
  case CLM_DTYPE_I16:
    VALUES(int16_t);
    break;
  case CLM_DTYPE_I32:
    VALUES(int32_t);
    break;
  case CLM_DTYPE_I64:
    VALUES(int64_t);
    break;
  case CLM_DTYPE_F32:
    FOR_EACH(float, v, i) {
      if (require_finite && !isfinite(v))
        return bad_value(err, a, first + i, v);
      out[i] = v;
    }
    break;
  case CLM_DTYPE_F64:
    FOR_EACH(double, v, i) {
      /* Checked on the value as stored: 1e300 is finite, its float32 is
       * not. */
      if (require_finite && !isfinite(v))
        return bad_value(err, a, first + i, v);
      out[i] = clm_f64_to_f32(v);
    }
    break;
  }
  return CLM_OK;
}

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
  if (!a->values_f32 && array_count(a) > 0) {
    float *buf = alloc_conversion(a, sizeof(float), err);
    if (!buf)
      return CLM_ERR_OUT_OF_MEMORY;
    clm_status st = clm_array_read_values_f32(a, 0, a->rows, buf, 0, err);
    if (st != CLM_OK) {
      free(buf);
      return st;
    }
    a->values_f32 = buf;
  }
  *out = a->values_f32 ? a->values_f32 : clm_array_empty_data();
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
#define CLASS_LABELS(T, is_float)                                              \
  do {                                                                         \
    FOR_EACH(T, v, i) {                                                        \
      const double d = (double)v;                                              \
      if (is_float && (d != d || d != floor(d)))                               \
        return bad_class_label(err, a, first + i, d, "not an integer class");  \
      if (d < 0)                                                               \
        return bad_class_label(err, a, first + i, d, "negative");              \
      if (d > (double)INT32_MAX)                                               \
        return bad_class_label(err, a, first + i, d,                           \
                               "too large for a class index");                 \
      out[i] = (int32_t)d;                                                     \
    }                                                                          \
  } while (0)

clm_status clm_array_read_labels_i32(const clm_array *a, uint64_t first,
                                     uint64_t count, int32_t *out,
                                     clm_error *err) {
  clm_error_clear(err);
  clm_status st =
      check_range(a, first, count, out, "clm_array_read_labels_i32", err);
  if (st != CLM_OK)
    return st;
  if (!is_column(a))
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "%s: expected a 1-D array of class labels, got shape "
                    "(%" PRIu64 ", %" PRIu64 ")",
                    a->path, a->rows, a->cols);
  switch (a->dtype) {
  case CLM_DTYPE_BOOL:
  case CLM_DTYPE_U8:
    CLASS_LABELS(uint8_t, 0);
    break;
  case CLM_DTYPE_I8:
    CLASS_LABELS(int8_t, 0);
    break;
  case CLM_DTYPE_I16:
    CLASS_LABELS(int16_t, 0);
    break;
  case CLM_DTYPE_I32:
    CLASS_LABELS(int32_t, 0);
    break;
  case CLM_DTYPE_I64:
    CLASS_LABELS(int64_t, 0);
    break;
  case CLM_DTYPE_F32:
    CLASS_LABELS(float, 1);
    break;
  case CLM_DTYPE_F64:
    CLASS_LABELS(double, 1);
    break;
  }
  return CLM_OK;
}

clm_status clm_array_labels_i32(clm_array *array, const int32_t **out,
                                clm_error *err) {
  clm_error_clear(err);
  if (out)
    *out = NULL;
  if (!array || !out)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_array_labels_i32: array and out must not be NULL");
  clm_array *a = array;
  if (!is_column(a))
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "%s: expected a 1-D array of class labels, got shape "
                    "(%" PRIu64 ", %" PRIu64 ")",
                    a->path, a->rows, a->cols);
  const uint64_t n = array_count(a);
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
  if (!a->labels_i32 && n > 0) {
    int32_t *buf = alloc_conversion(a, sizeof(int32_t), err);
    if (!buf)
      return CLM_ERR_OUT_OF_MEMORY;
    clm_status st = clm_array_read_labels_i32(a, 0, a->rows, buf, err);
    if (st != CLM_OK) {
      free(buf);
      return st;
    }
    a->labels_i32 = buf;
  }
  *out = a->labels_i32 ? a->labels_i32 : clm_array_empty_data();
  return CLM_OK;
}

clm_status clm_array_slice(clm_array *array, uint64_t first, uint64_t count,
                           clm_error *err) {
  clm_error_clear(err);
  if (!array)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_array_slice: array must not be NULL");
  clm_array *a = array;
  if (first > a->rows || a->rows - first < count)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_array_slice: rows [%" PRIu64 ", %" PRIu64
                    ") outside the %" PRIu64 " rows of %s",
                    first, first + count, a->rows, a->path);
  /* A cached conversion covers the old rows: refuse rather than mix. */
  if (a->labels_u8 || a->values_f32 || a->labels_i32)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_array_slice: %s was already converted", a->path);
  if (count == 0)
    a->data = clm_array_empty_data();
  else
    a->data = (const unsigned char *)a->data +
              first * a->cols * clm_dtype_size(a->dtype);
  a->rows = count;
  return CLM_OK;
}

clm_status clm_array_concat(const clm_array *const *parts, size_t count,
                            const char *name, clm_array **out, clm_error *err) {
  clm_error_clear(err);
  if (out)
    *out = NULL;
  if (!out || (count > 0 && !parts) || !name)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_array_concat: NULL argument");
  uint64_t rows = 0;
  for (size_t i = 0; i < count; ++i) {
    const clm_array *p = parts[i], *p0 = parts[0];
    if (!p)
      return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                      "clm_array_concat: part %zu is NULL", i);
    if (p->dtype != p0->dtype)
      return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                      "%s is %s but %s is %s: every shard must have the same "
                      "dtype",
                      p->path, clm_dtype_name(p->dtype), p0->path,
                      clm_dtype_name(p0->dtype));
    if (p->cols != p0->cols || (p->cols > 1 && p->ndim != p0->ndim))
      return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                      "%s has %" PRIu64 " columns but %s has %" PRIu64
                      ": every shard must have the same columns",
                      p->path, p->cols, p0->path, p0->cols);
    if (p->rows > UINT64_MAX / 2 - rows)
      return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                      "%s: too many rows in all", name);
    rows += p->rows;
  }
  clm_array *a = clm_array_new(name);
  if (!a)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate the array %s", name);
  if (count > 0) {
    a->dtype = parts[0]->dtype;
    a->ndim = parts[0]->ndim;
    a->cols = parts[0]->cols;
  }
  a->rows = rows;
  const size_t row_bytes = (size_t)a->cols * clm_dtype_size(a->dtype);
  if (rows > 0) {
    if (rows > SIZE_MAX / (row_bytes ? row_bytes : 1) ||
        !(a->owned = clm_malloc((size_t)rows * row_bytes))) {
      clm_array_free(a);
      return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                      "%s: cannot allocate %" PRIu64 " rows of %zu bytes", name,
                      rows, row_bytes);
    }
    unsigned char *dst = a->owned;
    for (size_t i = 0; i < count; ++i) {
      const size_t bytes = (size_t)parts[i]->rows * row_bytes;
      if (bytes)
        memcpy(dst, parts[i]->data, bytes);
      dst += bytes;
    }
    a->data = a->owned;
  }
  *out = a;
  return CLM_OK;
}
