/* The array object shared by array.c, io_npy.c and io_csv.c. */
#ifndef CLM_ARRAY_INTERNAL_H
#define CLM_ARRAY_INTERNAL_H

#include "internal.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

struct clm_array {
  char *path; /* owned copy, prefixes every message */
  clm_dtype dtype;
  int ndim;      /* 1 or 2 */
  uint64_t rows; /* dimension 0 */
  uint64_t cols; /* dimension 1, 1 for a 1-D array */
  /* Element data, row-major: points into the mapping, into `owned`, or at a
   * static dummy when there are no elements (never NULL). */
  const void *data;
  void *map_base; /* mmap'ed region, or NULL */
  size_t map_len;
  void *owned;         /* malloc'ed data (CSV, unaligned .npy), or NULL */
  uint8_t *labels_u8;  /* cached clm_array_labels_u8 conversion */
  float *values_f32;   /* cached clm_array_values_f32 conversion */
  int32_t *labels_i32; /* cached clm_array_labels_i32 conversion */
};

/* Bytes per element of `dtype`. */
size_t clm_dtype_size(clm_dtype dtype);

/* A zeroed array owning a copy of `path`, data pointing at the static
 * dummy; NULL when out of memory. */
clm_array *clm_array_new(const char *path);

/* A non-NULL pointer for zero-element buffers, so callers can treat NULL as
 * "not loaded". Suitably aligned for any element type. */
const void *clm_array_empty_data(void);

/* Converting an out-of-range double is undefined in ISO C; saturate to
 * +-inf as numpy's astype(float32) does. NaN passes through. */
static inline float clm_f64_to_f32(double v) {
  if (v > (double)FLT_MAX)
    return INFINITY;
  if (v < -(double)FLT_MAX)
    return -INFINITY;
  return (float)v;
}

/* Thread-safe strerror into `buf`. */
const char *clm_strerror(int errnum, char *buf, size_t len);

#endif
