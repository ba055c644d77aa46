/* Tests of the .npy / CSV readers, label and value conversions, and the
 * .npy writer. Fixtures are written byte by byte, so no Python is needed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp */
#endif
#include <criterion/criterion.h>

#include "clmetrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------- */
/* Fixture helpers                                                   */
/* ---------------------------------------------------------------- */

static char tmpdir[256];

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/clm_test_io.XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
  DIR *d = opendir(tmpdir);
  if (!d)
    return;
  struct dirent *e;
  char p[512];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(tmpdir);
}

TestSuite(io, .init = make_tmpdir, .fini = remove_tmpdir);

static const char *fpath(const char *name) {
  static char buf[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
  return buf[k];
}

static void write_bytes(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "cannot create %s", path);
  if (len)
    cr_assert_eq(fwrite(data, 1, len, f), len);
  cr_assert_eq(fclose(f), 0);
}

/* Writes an .npy file: magic, version, header length, `dict` padded with
 * spaces and '\n' to a multiple of `align` bytes (0: no padding, no
 * newline), then `payload`. */
static const char *write_npy_raw(const char *name, int major, const char *dict,
                                 size_t align, const void *payload,
                                 size_t plen) {
  const char *path = fpath(name);
  size_t pre = major == 1 ? 10 : 12;
  size_t dl = strlen(dict);
  size_t total = pre + dl;
  if (align) {
    total += 1;
    total = (total + align - 1) / align * align;
  }
  size_t hl = total - pre;
  unsigned char *buf = malloc(total + plen + 1);
  cr_assert_not_null(buf);
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = 0;
  buf[8] = (unsigned char)(hl & 0xff);
  buf[9] = (unsigned char)((hl >> 8) & 0xff);
  if (major != 1) {
    buf[10] = (unsigned char)((hl >> 16) & 0xff);
    buf[11] = (unsigned char)((hl >> 24) & 0xff);
  }
  memcpy(buf + pre, dict, dl);
  if (align) {
    memset(buf + pre + dl, ' ', hl - dl - 1);
    buf[total - 1] = '\n';
  }
  if (plen)
    memcpy(buf + total, payload, plen);
  write_bytes(path, buf, total + plen);
  free(buf);
  return path;
}

/* The common case: a numpy-style v1 header for `descr` and `shape`. */
static const char *write_npy(const char *name, const char *descr,
                             const char *shape, const void *payload,
                             size_t plen) {
  char dict[256];
  snprintf(dict, sizeof dict,
           "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr,
           shape);
  return write_npy_raw(name, 1, dict, 64, payload, plen);
}

static const char *write_text(const char *name, const char *text) {
  const char *path = fpath(name);
  write_bytes(path, text, strlen(text));
  return path;
}

static int count_dir_entries(const char *dir) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      n++;
  closedir(d);
  return n;
}

static int starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Loads `path` expecting `want`; checks the message names the path and,
 * when given, contains `needle`. */
static void expect_load_fail(const char *path, clm_status want,
                             const char *needle) {
  clm_array *a = (clm_array *)0x1;
  clm_error err;
  clm_status st = clm_array_load(path, &a, &err);
  cr_assert_eq(st, want, "%s: got %d (%s), want %d", path, st, err.message,
               want);
  cr_assert_eq(err.status, want);
  cr_assert_null(a);
  cr_assert(starts_with(err.message, path), "message '%s' lacks the path",
            err.message);
  if (needle)
    cr_assert(strstr(err.message, needle) != NULL, "message '%s' lacks '%s'",
              err.message, needle);
}

static clm_array *load_ok(const char *path) {
  clm_array *a = NULL;
  clm_error err;
  clm_status st = clm_array_load(path, &a, &err);
  cr_assert_eq(st, CLM_OK, "%s: %s", path, err.message);
  cr_assert_eq(err.status, CLM_OK);
  cr_assert_not_null(a);
  cr_assert_str_eq(clm_array_path(a), path);
  return a;
}

/* ---------------------------------------------------------------- */
/* Labels of every dtype                                             */
/* ---------------------------------------------------------------- */

static const uint8_t WANT_LABELS[6] = {0, 1, 1, 0, 1, 0};

static void check_labels(const char *path, clm_dtype dtype, int direct) {
  clm_array *a = load_ok(path);
  cr_assert_eq(clm_array_dtype(a), dtype);
  cr_assert_eq(clm_array_ndim(a), 1);
  cr_assert_eq(clm_array_rows(a), 6);
  cr_assert_eq(clm_array_cols(a), 1);
  const uint8_t *lab = NULL;
  clm_error err;
  cr_assert_eq(clm_array_labels_u8(a, &lab, &err), CLM_OK, "%s", err.message);
  cr_assert_arr_eq(lab, WANT_LABELS, 6);
  if (direct)
    cr_assert_eq((const void *)lab, clm_array_data(a));
  else
    cr_assert_neq((const void *)lab, clm_array_data(a));
  const uint8_t *again = NULL;
  cr_assert_eq(clm_array_labels_u8(a, &again, NULL), CLM_OK);
  cr_assert_eq(again, lab, "the conversion is cached");
  const float *vals = NULL;
  cr_assert_eq(clm_array_values_f32(a, &vals, &err), CLM_OK);
  for (int i = 0; i < 6; i++)
    cr_assert_eq(vals[i], (float)WANT_LABELS[i]);
  clm_array_free(a);
}

Test(io, labels_bool) {
  const char *p = write_npy("b.npy", "|b1", "(6,)", WANT_LABELS, 6);
  check_labels(p, CLM_DTYPE_BOOL, 1);
}

Test(io, labels_u1) {
  const char *p = write_npy("u.npy", "|u1", "(6,)", WANT_LABELS, 6);
  check_labels(p, CLM_DTYPE_U8, 1);
  p = write_npy("u2.npy", "<u1", "(6,)", WANT_LABELS, 6);
  check_labels(p, CLM_DTYPE_U8, 1);
}

Test(io, labels_i1) {
  int8_t v[6];
  for (int i = 0; i < 6; i++)
    v[i] = (int8_t)WANT_LABELS[i];
  check_labels(write_npy("i1.npy", "|i1", "(6,)", v, sizeof v), CLM_DTYPE_I8,
               0);
  check_labels(write_npy("i1b.npy", "<i1", "(6,)", v, sizeof v), CLM_DTYPE_I8,
               0);
}

Test(io, labels_i2) {
  int16_t v[6];
  for (int i = 0; i < 6; i++)
    v[i] = (int16_t)WANT_LABELS[i];
  check_labels(write_npy("i2.npy", "<i2", "(6,)", v, sizeof v), CLM_DTYPE_I16,
               0);
}

Test(io, labels_i4) {
  int32_t v[6];
  for (int i = 0; i < 6; i++)
    v[i] = WANT_LABELS[i];
  check_labels(write_npy("i4.npy", "<i4", "(6,)", v, sizeof v), CLM_DTYPE_I32,
               0);
}

Test(io, labels_i8) {
  int64_t v[6];
  for (int i = 0; i < 6; i++)
    v[i] = WANT_LABELS[i];
  check_labels(write_npy("i8.npy", "<i8", "(6,)", v, sizeof v), CLM_DTYPE_I64,
               0);
}

Test(io, labels_f4) {
  float v[6];
  for (int i = 0; i < 6; i++)
    v[i] = WANT_LABELS[i];
  check_labels(write_npy("f4.npy", "<f4", "(6,)", v, sizeof v), CLM_DTYPE_F32,
               0);
}

Test(io, labels_f8) {
  double v[6];
  for (int i = 0; i < 6; i++)
    v[i] = WANT_LABELS[i];
  check_labels(write_npy("f8.npy", "<f8", "(6,)", v, sizeof v), CLM_DTYPE_F64,
               0);
}

/* Expects labels_u8 to fail with BAD_LABEL at `index` with `value`. */
static void expect_bad_label(const char *path, int64_t index, double value,
                             const char *needle) {
  clm_array *a = load_ok(path);
  const uint8_t *lab = (const uint8_t *)0x1;
  clm_error err;
  cr_assert_eq(clm_array_labels_u8(a, &lab, &err), CLM_ERR_BAD_LABEL);
  cr_assert_null(lab);
  cr_assert_eq(err.status, CLM_ERR_BAD_LABEL);
  cr_assert_eq(err.index, index);
  if (isnan(value))
    cr_assert(isnan(err.value));
  else
    cr_assert_eq(err.value, value);
  cr_assert(starts_with(err.message, path), "%s", err.message);
  cr_assert(strstr(err.message, needle) != NULL, "'%s' lacks '%s'", err.message,
            needle);
  /* A failed conversion is not cached: it fails again. */
  cr_assert_eq(clm_array_labels_u8(a, &lab, NULL), CLM_ERR_BAD_LABEL);
  clm_array_free(a);
}

Test(io, bad_label_i1_minus_one) {
  int8_t v[8] = {0, 1, 0, -1, 1, 0, 1, 1};
  expect_bad_label(write_npy("x.npy", "|i1", "(8,)", v, sizeof v), 3, -1,
                   "index 3: label -1 is not 0 or 1");
}

Test(io, bad_label_i2_two) {
  int16_t v[20] = {0};
  v[17] = 2;
  expect_bad_label(write_npy("x.npy", "<i2", "(20,)", v, sizeof v), 17, 2,
                   "index 17: label 2 is not 0 or 1");
}

Test(io, bad_label_i4_two) {
  int32_t v[5] = {1, 1, 2, 0, 0};
  expect_bad_label(write_npy("x.npy", "<i4", "(5,)", v, sizeof v), 2, 2,
                   "index 2: label 2 is not 0 or 1");
}

Test(io, bad_label_i8_minus_one) {
  int64_t v[5] = {1, 1, 0, 0, -1};
  expect_bad_label(write_npy("x.npy", "<i8", "(5,)", v, sizeof v), 4, -1,
                   "index 4: label -1 is not 0 or 1");
}

Test(io, bad_label_f4_half) {
  float v[4] = {0, 0.5f, 1, 0};
  expect_bad_label(write_npy("x.npy", "<f4", "(4,)", v, sizeof v), 1, 0.5,
                   "index 1: label 0.5 is not 0 or 1");
}

Test(io, bad_label_f8_nan) {
  double v[4] = {0, 1, 1, NAN};
  expect_bad_label(write_npy("x.npy", "<f8", "(4,)", v, sizeof v), 3, NAN,
                   "index 3: label nan is not 0 or 1");
}

Test(io, bad_label_f8_two) {
  double v[3] = {2.0, 1, 1};
  expect_bad_label(write_npy("x.npy", "<f8", "(3,)", v, sizeof v), 0, 2.0,
                   "index 0: label 2 is not 0 or 1");
}

Test(io, labels_n_by_1) {
  int64_t v[5] = {1, 0, 1, 1, 0};
  clm_array *a = load_ok(write_npy("n1.npy", "<i8", "(5, 1)", v, sizeof v));
  cr_assert_eq(clm_array_ndim(a), 2);
  cr_assert_eq(clm_array_rows(a), 5);
  cr_assert_eq(clm_array_cols(a), 1);
  const uint8_t *lab;
  cr_assert_eq(clm_array_labels_u8(a, &lab, NULL), CLM_OK);
  uint8_t want[5] = {1, 0, 1, 1, 0};
  cr_assert_arr_eq(lab, want, 5);
  clm_array_free(a);
}

Test(io, labels_reject_2d) {
  int64_t v[10] = {0};
  const char *p = write_npy("n2.npy", "<i8", "(5, 2)", v, sizeof v);
  clm_array *a = load_ok(p);
  const uint8_t *lab;
  clm_error err;
  cr_assert_eq(clm_array_labels_u8(a, &lab, &err), CLM_ERR_UNSUPPORTED);
  cr_assert(strstr(err.message, "expected a 1-D array, got shape (5, 2)"), "%s",
            err.message);
  cr_assert(starts_with(err.message, p));
  clm_array_free(a);
}

/* ---------------------------------------------------------------- */
/* Class labels (int32) beyond the int32 range                       */
/* ---------------------------------------------------------------- */

/* Reads rows [first, first + count) as class labels expecting
 * CLM_ERR_BAD_LABEL at `index` (in the whole array) with the value as
 * stored, and the same from the whole-array conversion when first = 0. */
static void expect_bad_class(const char *path, uint64_t first, uint64_t count,
                             int64_t index, double value, const char *why) {
  clm_array *a = load_ok(path);
  int32_t out[16];
  cr_assert(count <= 16);
  clm_error err;
  cr_assert_eq(clm_array_read_labels_i32(a, first, count, out, &err),
               CLM_ERR_BAD_LABEL, "%s rows %llu+%llu: %s", path,
               (unsigned long long)first, (unsigned long long)count,
               err.message);
  cr_assert_eq(err.status, CLM_ERR_BAD_LABEL);
  cr_assert_eq(err.index, index, "%s", err.message);
  cr_assert_eq(err.value, value, "%s: value %.17g", err.message, err.value);
  char needle[96];
  snprintf(needle, sizeof needle, "index %lld: label %.17g is %s",
           (long long)index, value, why);
  cr_assert(starts_with(err.message, path), "%s", err.message);
  cr_assert(strstr(err.message, needle), "'%s' lacks '%s'", err.message,
            needle);
  if (first == 0) {
    const int32_t *lab = (const int32_t *)0x1;
    cr_assert_eq(clm_array_labels_i32(a, &lab, &err), CLM_ERR_BAD_LABEL);
    cr_assert_null(lab);
    cr_assert_eq(err.index, index);
    cr_assert(strstr(err.message, needle), "'%s' lacks '%s'", err.message,
              needle);
  }
  clm_array_free(a);
}

Test(io, class_labels_int64_beyond_int32_are_not_wrapped) {
  /* INT32_MAX is the largest label; 2^31 would wrap to INT32_MIN, 2^32 + 2
   * to class 2 and -(2^32) + 1 to class 1 through an int32. */
  int64_t v[8] = {0, 3, INT32_MAX, 1, 2, 0, 4, 1};
  const char *p = write_npy("c.npy", "<i8", "(8,)", v, sizeof v);
  clm_array *a = load_ok(p);
  int32_t out[8];
  clm_error err;
  cr_assert_eq(clm_array_read_labels_i32(a, 0, 8, out, &err), CLM_OK, "%s",
               err.message);
  for (int i = 0; i < 8; ++i)
    cr_assert_eq(out[i], (int32_t)v[i]);
  clm_array_free(a);
  const struct {
    int64_t v;
    const char *why;
  } bad[] = {{(int64_t)1 << 31, "too large for a class index"},
             {((int64_t)1 << 32) + 2, "too large for a class index"},
             {(int64_t)1 << 32, "too large for a class index"},
             {INT64_MAX, "too large for a class index"},
             {-((int64_t)1 << 32) + 1, "negative"},
             {INT64_MIN, "negative"}};
  for (size_t b = 0; b < sizeof bad / sizeof bad[0]; ++b) {
    v[5] = bad[b].v;
    p = write_npy("c.npy", "<i8", "(8,)", v, sizeof v);
    expect_bad_class(p, 0, 8, 5, (double)bad[b].v, bad[b].why);
    /* A batch that starts later names the index in the whole array. */
    expect_bad_class(p, 4, 3, 5, (double)bad[b].v, bad[b].why);
    /* Batches before and after it are fine. */
    a = load_ok(p);
    cr_assert_eq(clm_array_read_labels_i32(a, 0, 5, out, &err), CLM_OK);
    cr_assert_eq(clm_array_read_labels_i32(a, 6, 2, out, &err), CLM_OK);
    cr_assert_eq(out[0], 4);
    clm_array_free(a);
  }
}

Test(io, class_labels_float_beyond_int32) {
  double d[4] = {1, 0, 2147483647.0, 2};
  const char *p = write_npy("cd.npy", "<f8", "(4,)", d, sizeof d);
  clm_array *a = load_ok(p);
  int32_t out[4];
  cr_assert_eq(clm_array_read_labels_i32(a, 0, 4, out, NULL), CLM_OK);
  cr_assert_eq(out[2], INT32_MAX);
  clm_array_free(a);
  const double big[] = {2147483648.0, 4294967298.0, 1e300, INFINITY};
  for (size_t b = 0; b < 4; ++b) {
    d[3] = big[b];
    p = write_npy("cd.npy", "<f8", "(4,)", d, sizeof d);
    expect_bad_class(p, 0, 4, 3, big[b], "too large for a class index");
  }
  /* float32: 2^31 is the first float past INT32_MAX. */
  float f[3] = {0, 2147483648.0f, 1};
  p = write_npy("cf.npy", "<f4", "(3,)", f, sizeof f);
  expect_bad_class(p, 0, 3, 1, 2147483648.0, "too large for a class index");
}

/* ---------------------------------------------------------------- */
/* Scores and features                                               */
/* ---------------------------------------------------------------- */

Test(io, scores_f32_direct) {
  float v[4] = {-1.5f, 0.25f, 3e30f, -0.0f};
  clm_array *a = load_ok(write_npy("s.npy", "<f4", "(4,)", v, sizeof v));
  const float *s;
  cr_assert_eq(clm_array_values_f32(a, &s, NULL), CLM_OK);
  cr_assert_eq((const void *)s, clm_array_data(a));
  cr_assert_arr_eq(s, v, sizeof v);
  clm_array_free(a);
}

Test(io, scores_f64_converted) {
  double v[6] = {-1.5, 0.1, 1e300, -1e300, NAN, 1e-50};
  clm_array *a = load_ok(write_npy("s.npy", "<f8", "(6,)", v, sizeof v));
  cr_assert_eq(clm_array_dtype(a), CLM_DTYPE_F64);
  const float *s, *s2;
  cr_assert_eq(clm_array_values_f32(a, &s, NULL), CLM_OK);
  cr_assert_eq(s[0], -1.5f);
  cr_assert_eq(s[1], 0.1f);
  cr_assert(isinf(s[2]) && s[2] > 0);
  cr_assert(isinf(s[3]) && s[3] < 0);
  cr_assert(isnan(s[4]));
  cr_assert_eq(s[5], 0.0f);
  cr_assert_eq(clm_array_values_f32(a, &s2, NULL), CLM_OK);
  cr_assert_eq(s, s2, "the conversion is cached");
  clm_array_free(a);
}

Test(io, values_from_ints) {
  int32_t v[3] = {-7, 0, 123456};
  clm_array *a = load_ok(write_npy("v.npy", "<i4", "(3,)", v, sizeof v));
  const float *s;
  cr_assert_eq(clm_array_values_f32(a, &s, NULL), CLM_OK);
  cr_assert_eq(s[0], -7.0f);
  cr_assert_eq(s[1], 0.0f);
  cr_assert_eq(s[2], 123456.0f);
  clm_array_free(a);
}

Test(io, features_2d) {
  float v[12];
  for (int i = 0; i < 12; i++)
    v[i] = (float)i * 0.5f;
  clm_array *a = load_ok(write_npy("f.npy", "<f4", "(3, 4)", v, sizeof v));
  cr_assert_eq(clm_array_ndim(a), 2);
  cr_assert_eq(clm_array_rows(a), 3);
  cr_assert_eq(clm_array_cols(a), 4);
  const float *s;
  cr_assert_eq(clm_array_values_f32(a, &s, NULL), CLM_OK);
  cr_assert_arr_eq(s, v, sizeof v);
  clm_array_free(a);
}

Test(io, zero_length) {
  clm_array *a = load_ok(write_npy("z.npy", "<f8", "(0,)", NULL, 0));
  cr_assert_eq(clm_array_rows(a), 0);
  cr_assert_eq(clm_array_ndim(a), 1);
  cr_assert_not_null(clm_array_data(a));
  const uint8_t *lab = NULL;
  const float *s = NULL;
  cr_assert_eq(clm_array_labels_u8(a, &lab, NULL), CLM_OK);
  cr_assert_not_null(lab);
  cr_assert_eq(clm_array_values_f32(a, &s, NULL), CLM_OK);
  cr_assert_not_null(s);
  clm_array_free(a);

  a = load_ok(write_npy("z2.npy", "<f4", "(0, 3)", NULL, 0));
  cr_assert_eq(clm_array_rows(a), 0);
  cr_assert_eq(clm_array_cols(a), 3);
  cr_assert_eq(clm_array_ndim(a), 2);
  clm_array_free(a);
}

/* ---------------------------------------------------------------- */
/* Header variants                                                   */
/* ---------------------------------------------------------------- */

static void check_f4_123(const char *path, uint64_t rows, uint64_t cols) {
  clm_array *a = load_ok(path);
  cr_assert_eq(clm_array_dtype(a), CLM_DTYPE_F32);
  cr_assert_eq(clm_array_rows(a), rows);
  cr_assert_eq(clm_array_cols(a), cols);
  const float *s = clm_array_data(a);
  for (uint64_t i = 0; i < rows * cols; i++)
    cr_assert_eq(s[i], (float)(i + 1));
  clm_array_free(a);
}

static const float F123[6] = {1, 2, 3, 4, 5, 6};

Test(io, version_2_and_3) {
  const char *d = "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }";
  check_f4_123(write_npy_raw("v2.npy", 2, d, 64, F123, sizeof F123), 6, 1);
  check_f4_123(write_npy_raw("v3.npy", 3, d, 64, F123, sizeof F123), 6, 1);
}

Test(io, key_orders_and_spacing) {
  check_f4_123(write_npy_raw("k1.npy", 1,
                             "{'shape': (6,), 'fortran_order': False, "
                             "'descr': '<f4'}",
                             64, F123, sizeof F123),
               6, 1);
  check_f4_123(write_npy_raw("k2.npy", 1,
                             "{'fortran_order':False,'shape':(2,3),'descr':'<"
                             "f4',}",
                             16, F123, sizeof F123),
               2, 3);
  check_f4_123(write_npy_raw("k3.npy", 1,
                             "{\"descr\": \"<f4\", \"shape\": ( 2 , 3 , ), "
                             "\"fortran_order\": False}",
                             64, F123, sizeof F123),
               2, 3);
  /* No padding at all: data misaligned, still read correctly. */
  check_f4_123(write_npy_raw("k4.npy", 1,
                             "{'descr':'<f4','fortran_order':False,'shape':("
                             "6,)}",
                             0, F123, sizeof F123),
               6, 1);
  /* Python 2 long suffix. */
  check_f4_123(write_npy_raw("k5.npy", 1,
                             "{'descr': '<f4', 'fortran_order': False, "
                             "'shape': (3L, 2L), }",
                             64, F123, sizeof F123),
               3, 2);
}

Test(io, fortran_order_1d_is_fine) {
  check_f4_123(write_npy_raw("fo1.npy", 1,
                             "{'descr': '<f4', 'fortran_order': True, "
                             "'shape': (6,), }",
                             64, F123, sizeof F123),
               6, 1);
}

Test(io, dispatch_uppercase_extension) {
  check_f4_123(write_npy("UP.NPY", "<f4", "(6,)", F123, sizeof F123), 6, 1);
  clm_array *a = NULL;
  cr_assert_eq(clm_array_load_npy(fpath("UP.NPY"), &a, NULL), CLM_OK);
  clm_array_free(a);
}

/* ---------------------------------------------------------------- */
/* Malformed files                                                   */
/* ---------------------------------------------------------------- */

Test(io, wrong_magic) {
  expect_load_fail(write_text("m.npy", "PK\x03\x04 this is a zip file"),
                   CLM_ERR_FORMAT, "not an .npy file");
  expect_load_fail(write_text("m2.npy", "\x93NUM"), CLM_ERR_FORMAT,
                   "not an .npy file");
}

Test(io, empty_npy) {
  expect_load_fail(write_text("e.npy", ""), CLM_ERR_FORMAT, NULL);
}

Test(io, truncated_header) {
  const char *p = fpath("th.npy");
  unsigned char b[30] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0, '{'};
  write_bytes(p, b, sizeof b);
  expect_load_fail(p, CLM_ERR_FORMAT, "truncated");
  unsigned char c[9] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118};
  write_bytes(p, c, sizeof c);
  expect_load_fail(p, CLM_ERR_FORMAT, "truncated");
}

Test(io, truncated_data) {
  double v[1] = {1};
  const char *p = write_npy("td.npy", "<f8", "(2,)", v, sizeof v);
  expect_load_fail(p, CLM_ERR_FORMAT,
                   "truncated: expected 16 bytes of data, found 8");
}

Test(io, big_endian) {
  const char *p = write_npy("be.npy", ">f4", "(6,)", F123, sizeof F123);
  expect_load_fail(p, CLM_ERR_UNSUPPORTED, ">f4");
}

Test(io, fortran_order_2d) {
  const char *p = write_npy_raw("fo.npy", 1,
                                "{'descr': '<f4', 'fortran_order': True, "
                                "'shape': (2, 3), }",
                                64, F123, sizeof F123);
  expect_load_fail(p, CLM_ERR_UNSUPPORTED, "Fortran");
}

Test(io, unsupported_dtypes) {
  float c[4] = {0};
  expect_load_fail(write_npy("c8.npy", "<c8", "(2,)", c, sizeof c),
                   CLM_ERR_UNSUPPORTED, "'<c8'");
  char u[24] = {0};
  expect_load_fail(write_npy("u3.npy", "<U3", "(2,)", u, sizeof u),
                   CLM_ERR_UNSUPPORTED, "'<U3'");
  expect_load_fail(write_npy("u2.npy", "<u2", "(2,)", u, 4),
                   CLM_ERR_UNSUPPORTED, "'<u2'");
  expect_load_fail(write_npy_raw("st.npy", 1,
                                 "{'descr': [('a', '<f4')], 'fortran_order': "
                                 "False, 'shape': (1,), }",
                                 64, u, 4),
                   CLM_ERR_UNSUPPORTED, "structured");
}

Test(io, bad_ndim) {
  expect_load_fail(write_npy("3d.npy", "<f4", "(1, 2, 3)", F123, sizeof F123),
                   CLM_ERR_UNSUPPORTED, "3-D");
  expect_load_fail(write_npy("0d.npy", "<f4", "()", F123, 4),
                   CLM_ERR_UNSUPPORTED, "0-dimensional");
}

Test(io, non_ascii_header) {
  const char *p = write_npy_raw("na.npy", 1,
                                "{'descr': '<f4', 'fortran_order': False, "
                                "'shape': (6,), '\xc3\xa9': 1}",
                                64, F123, sizeof F123);
  expect_load_fail(p, CLM_ERR_FORMAT, "ASCII");
}

Test(io, overflowing_shape) {
  expect_load_fail(
      write_npy("o1.npy", "<f8", "(4294967296, 4294967296)", F123, sizeof F123),
      CLM_ERR_FORMAT, "overflow");
  expect_load_fail(
      write_npy("o2.npy", "<f8", "(18446744073709551615,)", F123, sizeof F123),
      CLM_ERR_FORMAT, "overflow");
  expect_load_fail(write_npy("o3.npy", "<f8", "(99999999999999999999999,)",
                             F123, sizeof F123),
                   CLM_ERR_FORMAT, "overflow");
  /* Large but not overflowing: reported as truncated data. */
  expect_load_fail(
      write_npy("o4.npy", "|u1", "(1000000, 1000)", F123, sizeof F123),
      CLM_ERR_FORMAT, "truncated: expected 1000000000 bytes");
}

Test(io, malformed_dicts) {
  const char *bad[] = {
      "{'descr': '<f4', 'fortran_order': False}",
      "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (6,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': [6]}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}",
      "{'descr': '<f4' 'fortran_order': False, 'shape': (6,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-6,)}",
      "{'descr': '<f4, 'fortran_order': False, 'shape': (6,)}",
      "['descr', '<f4']",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} junk",
      "",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_load_fail(write_npy_raw("md.npy", 1, bad[i], 64, F123, sizeof F123),
                     CLM_ERR_FORMAT, "malformed .npy header");
}

Test(io, unsupported_version) {
  const char *p = write_npy_raw("v9.npy", 1,
                                "{'descr': '<f4', 'fortran_order': False, "
                                "'shape': (6,), }",
                                64, F123, sizeof F123);
  FILE *f = fopen(p, "r+b");
  cr_assert_not_null(f);
  fseek(f, 6, SEEK_SET);
  fputc(9, f);
  fclose(f);
  expect_load_fail(p, CLM_ERR_UNSUPPORTED, "version 9.0");
}

Test(io, missing_file) {
  expect_load_fail(fpath("nope.npy"), CLM_ERR_IO, "No such file");
  expect_load_fail(fpath("nope.csv"), CLM_ERR_IO, "No such file");
}

Test(io, directory_is_io_error) {
  char p[300];
  snprintf(p, sizeof p, "%s/d.npy", tmpdir);
  cr_assert_eq(mkdir(p, 0700), 0);
  expect_load_fail(p, CLM_ERR_IO, NULL);
  rmdir(p);
}

Test(io, null_arguments) {
  clm_array *a;
  clm_error err;
  cr_assert_eq(clm_array_load(NULL, &a, &err), CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_array_load("x.npy", NULL, &err), CLM_ERR_INVALID_ARGUMENT);
  const uint8_t *lab;
  const float *s;
  cr_assert_eq(clm_array_labels_u8(NULL, &lab, &err), CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_array_values_f32(NULL, &s, NULL), CLM_ERR_INVALID_ARGUMENT);
  clm_array_free(NULL);
  cr_assert_str_eq(clm_dtype_name(CLM_DTYPE_F32), "float32");
  cr_assert_str_eq(clm_dtype_name(CLM_DTYPE_BOOL), "bool");
  cr_assert_str_eq(clm_dtype_name(CLM_DTYPE_I64), "int64");
}

/* ---------------------------------------------------------------- */
/* Writer                                                            */
/* ---------------------------------------------------------------- */

static long data_offset(const char *path) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  unsigned char b[10];
  cr_assert_eq(fread(b, 1, 10, f), 10);
  fclose(f);
  cr_assert_eq(b[6], 1);
  cr_assert_eq(b[7], 0);
  return 10 + (long)(b[8] | b[9] << 8);
}

Test(io, write_f32_roundtrip_1d) {
  const char *p = fpath("w1.npy");
  float v[5] = {0.5f, -2, 1e-20f, INFINITY, 7};
  clm_error err;
  cr_assert_eq(clm_npy_write_f32(p, v, 5, 0, &err), CLM_OK, "%s", err.message);
  cr_assert_eq(data_offset(p) % 64, 0);
  clm_array *a = load_ok(p);
  cr_assert_eq(clm_array_dtype(a), CLM_DTYPE_F32);
  cr_assert_eq(clm_array_ndim(a), 1);
  cr_assert_eq(clm_array_rows(a), 5);
  cr_assert_arr_eq(clm_array_data(a), v, sizeof v);
  clm_array_free(a);
  cr_assert_eq(count_dir_entries(tmpdir), 1, "temporary file left behind");
}

Test(io, write_f32_roundtrip_2d_and_overwrite) {
  const char *p = fpath("w2.npy");
  float v[6] = {1, 2, 3, 4, 5, 6};
  cr_assert_eq(clm_npy_write_f32(p, v, 3, 2, NULL), CLM_OK);
  v[0] = 42;
  cr_assert_eq(clm_npy_write_f32(p, v, 2, 3, NULL), CLM_OK);
  clm_array *a = load_ok(p);
  cr_assert_eq(clm_array_ndim(a), 2);
  cr_assert_eq(clm_array_rows(a), 2);
  cr_assert_eq(clm_array_cols(a), 3);
  cr_assert_arr_eq(clm_array_data(a), v, sizeof v);
  clm_array_free(a);
  cr_assert_eq(count_dir_entries(tmpdir), 1);
}

Test(io, write_f64_as_f32) {
  const char *p = fpath("w3.npy");
  double v[4] = {0.1, -3.25, 1e300, NAN};
  cr_assert_eq(clm_npy_write_f64_as_f32(p, v, 4, 0, NULL), CLM_OK);
  clm_array *a = load_ok(p);
  const float *s = clm_array_data(a);
  cr_assert_eq(s[0], 0.1f);
  cr_assert_eq(s[1], -3.25f);
  cr_assert(isinf(s[2]));
  cr_assert(isnan(s[3]));
  clm_array_free(a);
  cr_assert_eq(count_dir_entries(tmpdir), 1);
}

Test(io, write_large_f64_chunks) {
  const char *p = fpath("big.npy");
  size_t n = 10000;
  double *v = malloc(n * sizeof *v);
  cr_assert_not_null(v);
  for (size_t i = 0; i < n; i++)
    v[i] = (double)i;
  cr_assert_eq(clm_npy_write_f64_as_f32(p, v, n / 4, 4, NULL), CLM_OK);
  clm_array *a = load_ok(p);
  cr_assert_eq(clm_array_rows(a), n / 4);
  cr_assert_eq(clm_array_cols(a), 4);
  const float *s = clm_array_data(a);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(s[i], (float)i);
  clm_array_free(a);
  free(v);
}

Test(io, write_empty) {
  const char *p = fpath("we.npy");
  cr_assert_eq(clm_npy_write_f32(p, NULL, 0, 0, NULL), CLM_OK);
  clm_array *a = load_ok(p);
  cr_assert_eq(clm_array_rows(a), 0);
  clm_array_free(a);
}

Test(io, write_into_missing_directory) {
  char p[300];
  snprintf(p, sizeof p, "%s/no/such/dir/out.npy", tmpdir);
  float v[1] = {1};
  clm_error err;
  cr_assert_eq(clm_npy_write_f32(p, v, 1, 0, &err), CLM_ERR_IO);
  cr_assert_eq(err.status, CLM_ERR_IO);
  cr_assert(starts_with(err.message, p), "%s", err.message);
  cr_assert_eq(count_dir_entries(tmpdir), 0);
  cr_assert_eq(clm_npy_write_f32(fpath("x.npy"), NULL, 1, 0, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(count_dir_entries(tmpdir), 0);
}

Test(io, write_over_directory_leaves_no_temp) {
  /* rename() onto a non-empty directory fails after the data is written,
   * exercising the unlink-on-failure path. */
  char p[300], q[320];
  snprintf(p, sizeof p, "%s/dir.npy", tmpdir);
  cr_assert_eq(mkdir(p, 0700), 0);
  snprintf(q, sizeof q, "%s/keep", p);
  write_bytes(q, "x", 1);
  float v[2] = {1, 2};
  clm_error err;
  cr_assert_eq(clm_npy_write_f32(p, v, 2, 0, &err), CLM_ERR_IO);
  cr_assert(starts_with(err.message, p), "%s", err.message);
  cr_assert_eq(count_dir_entries(tmpdir), 1, "only the directory remains");
  unlink(q);
  rmdir(p);
}

/* ---------------------------------------------------------------- */
/* CSV                                                               */
/* ---------------------------------------------------------------- */

Test(io, csv_one_column_no_header) {
  clm_array *a = load_ok(write_text("a.csv", "1\n0\n 1 \n0.5\n"));
  cr_assert_eq(clm_array_dtype(a), CLM_DTYPE_F64);
  cr_assert_eq(clm_array_ndim(a), 1);
  cr_assert_eq(clm_array_rows(a), 4);
  cr_assert_eq(clm_array_cols(a), 1);
  const double *d = clm_array_data(a);
  cr_assert_eq(d[0], 1);
  cr_assert_eq(d[2], 1);
  cr_assert_eq(d[3], 0.5);
  const uint8_t *lab;
  clm_error err;
  cr_assert_eq(clm_array_labels_u8(a, &lab, &err), CLM_ERR_BAD_LABEL);
  cr_assert_eq(err.index, 3);
  cr_assert_eq(err.value, 0.5);
  clm_array_free(a);
}

Test(io, csv_header_crlf_no_final_newline) {
  clm_array *a =
      load_ok(write_text("h.txt", "label\r\n1\r\n0\r\n1\r\n0\r\n\r\n\n"));
  cr_assert_eq(clm_array_rows(a), 4);
  const uint8_t *lab;
  cr_assert_eq(clm_array_labels_u8(a, &lab, NULL), CLM_OK);
  uint8_t want[4] = {1, 0, 1, 0};
  cr_assert_arr_eq(lab, want, 4);
  clm_array_free(a);

  a = load_ok(write_text("h2.csv", "\xEF\xBB\xBFy\n1\n0"));
  cr_assert_eq(clm_array_rows(a), 2);
  clm_array_free(a);
}

Test(io, csv_2d_nan_inf) {
  clm_array *a = load_ok(
      write_text("m.csv", "x1, x2 ,x3\n1,2,3\n-4e2, nan ,inf\n0x10,-inf,7\n"));
  cr_assert_eq(clm_array_ndim(a), 2);
  cr_assert_eq(clm_array_rows(a), 3);
  cr_assert_eq(clm_array_cols(a), 3);
  const double *d = clm_array_data(a);
  cr_assert_eq(d[3], -400);
  cr_assert(isnan(d[4]));
  cr_assert(isinf(d[5]) && d[5] > 0);
  cr_assert_eq(d[6], 16);
  cr_assert(isinf(d[7]) && d[7] < 0);
  const float *s;
  cr_assert_eq(clm_array_values_f32(a, &s, NULL), CLM_OK);
  cr_assert_eq(s[8], 7.0f);
  clm_array_free(a);
}

Test(io, csv_ragged) {
  expect_load_fail(write_text("r.csv", "a,b\n1,2\n3,4\n5\n6,7\n"),
                   CLM_ERR_FORMAT, "line 4: expected 2 fields, found 1");
}

Test(io, csv_non_numeric) {
  expect_load_fail(write_text("n.csv", "1,2\n3,abc\n"), CLM_ERR_FORMAT,
                   "line 2, column 2: not a number: 'abc'");
  expect_load_fail(write_text("n2.csv", "1,2\n3,\n"), CLM_ERR_FORMAT,
                   "line 2, column 2: empty field");
  expect_load_fail(
      write_text(
          "n3.csv",
          "x\n1\n2\n"
          "this-is-a-very-long-bit-of-text-that-goes-on-and-on-and-on\n"),
      CLM_ERR_FORMAT,
      "line 4, column 1: not a number: "
      "'this-is-a-very-long-bit-of-text-that-goe'...");
}

Test(io, csv_corrupt_first_value_is_not_a_header) {
  /* Only a name-like first field makes line 1 a header. */
  expect_load_fail(write_text("c.csv", "0.5x\n0.7\n0.1\n"), CLM_ERR_FORMAT,
                   "line 1, column 1: not a number: '0.5x'");
}

Test(io, csv_blank_line_in_middle) {
  expect_load_fail(write_text("b.csv", "1\n0\n\n1\n"), CLM_ERR_FORMAT,
                   "line 3: blank line");
}

Test(io, csv_empty_and_header_only) {
  clm_array *a = load_ok(write_text("e.csv", ""));
  cr_assert_eq(clm_array_rows(a), 0);
  cr_assert_not_null(clm_array_data(a));
  clm_array_free(a);
  a = load_ok(write_text("e2.csv", "y_true\n"));
  cr_assert_eq(clm_array_rows(a), 0);
  clm_array_free(a);
  a = load_ok(write_text("e3.csv", "\n \n\r\n"));
  cr_assert_eq(clm_array_rows(a), 0);
  clm_array_free(a);
}

Test(io, csv_via_load_csv_on_npy_name) {
  /* clm_array_load_csv ignores the extension. */
  const char *p = write_text("t.npy", "1\n2\n");
  clm_array *a = NULL;
  cr_assert_eq(clm_array_load_csv(p, &a, NULL), CLM_OK);
  cr_assert_eq(clm_array_rows(a), 2);
  clm_array_free(a);
}

/* ---------------------------------------------------------------- */
/* Streams, limits and hostile text                                  */
/* ---------------------------------------------------------------- */

/* io_csv.c's CSV_MAX_LINE: the longest line, without its "\n" or "\r\n". */
#define MAX_LINE ((size_t)1 << 20)

/* Every test that could block or grow without end on a regression runs
 * under this guard: SIGALRM kills the test, which then fails. */
#define GUARD(seconds) alarm(seconds)

/* A child that writes `len` bytes of `text` into a pipe in pieces of 1 to 7
 * bytes (or, with len == 0, the byte `text[0]` forever); returns its pid and
 * the pipe's read end in *rfd. */
static pid_t spawn_writer(const char *text, size_t len, int *rfd) {
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    close(fds[0]);
    signal(SIGPIPE, SIG_DFL);
    if (len == 0) {
      char block[4096];
      memset(block, text[0], sizeof block);
      for (;;)
        if (write(fds[1], block, sizeof block) < 0)
          _exit(0);
    }
    for (size_t done = 0, k = 0; done < len; k++) {
      size_t n = 1 + k % 7;
      if (n > len - done)
        n = len - done;
      ssize_t w = write(fds[1], text + done, n);
      if (w <= 0)
        _exit(1);
      done += (size_t)w;
    }
    _exit(0);
  }
  close(fds[1]);
  *rfd = fds[0];
  return pid;
}

static void reap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

static const char *fd_path(int fd) {
  static char buf[64];
  snprintf(buf, sizeof buf, "/dev/fd/%d", fd);
  return buf;
}

Test(io, csv_nul_bytes_fail_fast) {
  char zeros[4096] = {0};
  const char *p = fpath("zeros.csv");
  write_bytes(p, zeros, sizeof zeros);
  expect_load_fail(p, CLM_ERR_FORMAT, "NUL byte at offset 0: not CSV text");
  p = fpath("late.csv");
  write_bytes(p, "1\n2\n\0\n", 6);
  expect_load_fail(p, CLM_ERR_FORMAT, "NUL byte at offset 4");
  p = fpath("utf16.csv");
  write_bytes(p, "\xFF\xFEy\0\n\0001\0\n\0", 10);
  expect_load_fail(p, CLM_ERR_FORMAT, "UTF-16 text is not supported");
  /* .npy data under another name is named as such. */
  p = write_npy("y.dat", "<f4", "(6,)", F123, sizeof F123);
  expect_load_fail(p, CLM_ERR_FORMAT, ".npy data read as CSV");
}

Test(io, csv_dev_zero_fails_fast) {
  /* An endless stream of NULs: the first block read already fails. */
  GUARD(20);
  expect_load_fail("/dev/zero", CLM_ERR_FORMAT, "NUL byte at offset 0");
  alarm(0);
}

/* A file of `head`, then `n` copies of `c`, then `tail`. */
static const char *write_long_line(const char *name, const char *head, char c,
                                   size_t n, const char *tail) {
  size_t hl = strlen(head), tl = strlen(tail);
  char *buf = malloc(hl + n + tl);
  cr_assert_not_null(buf);
  memcpy(buf, head, hl);
  memset(buf + hl, c, n);
  memcpy(buf + hl + n, tail, tl);
  const char *p = fpath(name);
  write_bytes(p, buf, hl + n + tl);
  free(buf);
  return p;
}

Test(io, csv_line_length_limit) {
  GUARD(60);
  /* A 2 MiB line, after a header and with one more line after it. */
  expect_load_fail(write_long_line("2m.csv", "y\n", '1', 2 * MAX_LINE, "\n1\n"),
                   CLM_ERR_FORMAT, "line 2 is longer than 1048576 bytes");
  /* ... or at the end of the file without a newline. */
  expect_load_fail(write_long_line("2m_eof.csv", "", '7', 2 * MAX_LINE, ""),
                   CLM_ERR_FORMAT, "line 1 is longer than 1048576 bytes");
  /* One byte over; "\r\n" is not counted. */
  expect_load_fail(
      write_long_line("over.csv", "0.", '3', MAX_LINE - 1, "\r\n1\r\n"),
      CLM_ERR_FORMAT, "line 1 is longer than 1048576 bytes");
  /* Exactly at the limit, then more lines: a number of 1 MiB of digits. */
  const char *p =
      write_long_line("limit.csv", "0.", '3', MAX_LINE - 2, "\r\n0.25\r\n");
  clm_array *a = load_ok(p);
  cr_assert_eq(clm_array_rows(a), 2);
  const double *d = clm_array_data(a);
  cr_assert_eq(d[0], strtod("0.333333333333333333333333", NULL));
  cr_assert_eq(d[1], 0.25);
  clm_array_free(a);
  alarm(0);
}

Test(io, csv_endless_pipe_is_bounded) {
  /* A writer that never sends "\n": the read stops at the line limit. */
  GUARD(20);
  int rfd;
  pid_t pid = spawn_writer("a", 0, &rfd);
  clm_array *a = (clm_array *)0x1;
  clm_error err;
  cr_assert_eq(clm_array_load(fd_path(rfd), &a, &err), CLM_ERR_FORMAT, "%s",
               err.message);
  cr_assert_null(a);
  cr_assert(strstr(err.message, "line 1 is longer than 1048576 bytes"), "%s",
            err.message);
  close(rfd);
  reap(pid);
  alarm(0);
}

Test(io, csv_from_pipe_in_small_pieces) {
  /* Lines cross every read boundary; the result equals the file's. */
  GUARD(60);
  size_t cap = 1 << 20, n = 0;
  char *text = malloc(cap);
  cr_assert_not_null(text);
  n += (size_t)snprintf(text + n, cap - n, "\xEF\xBB\xBFlabel, score\r\n");
  for (int i = 0; i < 20000; i++)
    n += (size_t)snprintf(text + n, cap - n, "%d,%.17g\r\n", i % 2,
                          i * 0.001 - 7);
  int rfd;
  pid_t pid = spawn_writer(text, n, &rfd);
  clm_array *a = load_ok(fd_path(rfd));
  close(rfd);
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  write_bytes(fpath("same.csv"), text, n);
  clm_array *b = load_ok(fpath("same.csv"));
  cr_assert_eq(clm_array_rows(a), 20000);
  cr_assert_eq(clm_array_cols(a), 2);
  cr_assert_eq(clm_array_rows(b), 20000);
  cr_assert_eq(clm_array_cols(b), 2);
  cr_assert_eq(
      memcmp(clm_array_data(a), clm_array_data(b), 20000 * 2 * sizeof(double)),
      0);
  const double *d = clm_array_data(a);
  cr_assert_eq(d[2 * 12345 + 1], 12345 * 0.001 - 7);
  clm_array_free(a);
  clm_array_free(b);
  free(text);
  alarm(0);
}

Test(io, csv_from_fifo) {
  GUARD(20);
  const char *p = fpath("f.csv");
  cr_assert_eq(mkfifo(p, 0600), 0);
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    int fd = open(p, O_WRONLY);
    if (fd < 0 || write(fd, "y\n1\n0\n1\n", 8) != 8)
      _exit(1);
    _exit(0);
  }
  clm_array *a = load_ok(p);
  cr_assert_eq(clm_array_rows(a), 3);
  clm_array_free(a);
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  alarm(0);
}

Test(io, npy_non_regular_files_refused_without_blocking) {
  /* open() of a FIFO without a writer would block for ever. */
  GUARD(10);
  const char *p = fpath("fifo.npy");
  cr_assert_eq(mkfifo(p, 0600), 0);
  expect_load_fail(p, CLM_ERR_IO,
                   ".npy inputs must be regular files (this is a FIFO)");
  clm_array *a = NULL;
  clm_error err;
  cr_assert_eq(clm_array_load_npy(p, &a, &err), CLM_ERR_IO);

  p = fpath("null.npy");
  cr_assert_eq(symlink("/dev/null", p), 0);
  expect_load_fail(p, CLM_ERR_IO, "(this is a character device)");

  p = fpath("dir.npy");
  cr_assert_eq(mkdir(p, 0700), 0);
  expect_load_fail(p, CLM_ERR_IO, "(this is a directory)");
  rmdir(p);

  p = fpath("sock.npy");
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  cr_assert_geq(s, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  cr_assert_lt(strlen(p), sizeof sa.sun_path);
  strcpy(sa.sun_path, p);
  cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
  expect_load_fail(p, CLM_ERR_IO, "(this is a socket)");
  close(s);
  alarm(0);
}

Test(io, npy_header_length_limit) {
  const char *d = "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }";
  /* Padded to 2 MiB: over the 1 MiB limit. */
  expect_load_fail(write_npy_raw("h2m.npy", 2, d, 2 << 20, F123, sizeof F123),
                   CLM_ERR_FORMAT, "more than the limit of 1048576");
  /* A length field that claims 4 GiB fails without reading it. */
  const char *p = write_npy_raw("h4g.npy", 2, d, 64, F123, sizeof F123);
  FILE *f = fopen(p, "r+b");
  cr_assert_not_null(f);
  fseek(f, 8, SEEK_SET);
  fwrite("\xff\xff\xff\xff", 1, 4, f);
  fclose(f);
  expect_load_fail(p, CLM_ERR_FORMAT, "more than the limit");
  /* 128 KiB of padding is still fine. */
  check_f4_123(write_npy_raw("h128k.npy", 2, d, 128 << 10, F123, sizeof F123),
               6, 1);
}

/* First-line header detection: `rows` data rows, or an error containing
 * `error`. */
static const struct {
  const char *text;
  uint64_t rows;
  const char *error;
} HEADER_CASES[] = {
    {"label\n1\n0\n", 2, NULL},
    {"y_true\n1\n", 1, NULL},
    {"_y\n1\n", 1, NULL},
    {" \"p\" \n1\n", 1, NULL},
    {"\"my label\",\"score\"\n1,0.5\n", 1, NULL},
    {"score v2.1-final\n1\n", 1, NULL},
    {"p(y=1)\n0.5\n", 1, NULL},
    {"temp\xC3\xA9rature\n1\n", 1, NULL},
    {"inf_score\n1\n", 1, NULL},
    {"\"0.5\"\n0.7\n", 2, NULL},
    {"\"0.5\",\"1\"\n0.7,0\n", 2, NULL},
    {"nan\n1\n", 2, NULL},
    {"NaN\n1\n", 2, NULL},
    {"inf\n1\n", 2, NULL},
    {"-Infinity\n1\n", 2, NULL},
    {"0x1p3\n1\n", 2, NULL},
    {"0\n1\n", 2, NULL},
    {"NA\n1\n", 0, "line 1, column 1: not a number: 'NA'"},
    {"\"NA\"\n1\n", 0, "line 1, column 1: not a number: '\"NA\"'"},
    {"n/a\n1\n", 0, "line 1, column 1: not a number: 'n/a'"},
    {"NULL,1\n1,2\n", 0, "line 1, column 1: not a number: 'NULL'"},
    {"None\n", 0, "line 1, column 1: not a number: 'None'"},
    {"0.5x\n1\n", 0, "line 1, column 1: not a number: '0.5x'"},
    {"'p'\n1\n", 0, "line 1, column 1: not a number: ''p''"},
    {"x1;x2\n1;2\n", 0, "line 1, column 1: not a number: 'x1;x2'"},
    {"1label\n1\n", 0, "line 1, column 1: not a number: '1label'"},
    {"\xFFlabel\n1\n", 0, "line 1, column 1: not a number: '\\xfflabel'"},
    {"1\nlabel\n", 0, "line 2, column 1: not a number: 'label'"},
};

Test(io, csv_header_detection) {
  for (size_t i = 0; i < sizeof HEADER_CASES / sizeof HEADER_CASES[0]; i++) {
    char name[32];
    snprintf(name, sizeof name, "hd%zu.csv", i);
    const char *p = write_text(name, HEADER_CASES[i].text);
    if (HEADER_CASES[i].error) {
      expect_load_fail(p, CLM_ERR_FORMAT, HEADER_CASES[i].error);
      continue;
    }
    clm_array *a = load_ok(p);
    cr_assert_eq(clm_array_rows(a), HEADER_CASES[i].rows, "case %zu: '%s'", i,
                 HEADER_CASES[i].text);
    clm_array_free(a);
  }
  /* Data read from a first line: a quoted number, and NaN kept as NaN for
   * the scores checks to report. */
  clm_array *a = load_ok(write_text("q.csv", "\"0.5\",\" -2 \"\n0.7,1\n"));
  const double *d = clm_array_data(a);
  cr_assert_eq(d[0], 0.5);
  cr_assert_eq(d[1], -2);
  clm_array_free(a);
  a = load_ok(write_text("nan1.csv", "NaN\n1\n"));
  cr_assert(isnan(((const double *)clm_array_data(a))[0]));
  clm_array_free(a);
}

Test(io, csv_quoted_fields) {
  clm_array *a = load_ok(write_text("qq.csv", "y,p\n\"1\",\"0.25\"\n0,1\n"));
  cr_assert_eq(clm_array_rows(a), 2);
  cr_assert_eq(clm_array_cols(a), 2);
  cr_assert_eq(((const double *)clm_array_data(a))[1], 0.25);
  clm_array_free(a);
  /* A comma inside quotes does not split the field. */
  expect_load_fail(write_text("qc.csv", "y\n\"1,5\"\n"), CLM_ERR_FORMAT,
                   "line 2, column 1: not a number: '\"1,5\"'");
}

Test(io, csv_long_decimals_round_as_strtod) {
  char digits[201], big[256], frac[256], tiny[256], text[1024];
  for (int i = 0; i < 200; i++)
    digits[i] = (char)('0' + (i * 7 + 3) % 10);
  digits[200] = '\0';
  snprintf(big, sizeof big, "%s", digits);
  snprintf(frac, sizeof frac, "0.%s", digits);
  snprintf(tiny, sizeof tiny, "-%.1s.%se-250", digits, digits + 1);
  snprintf(text, sizeof text, "%s, %s\n\"%s\",1\n", big, frac, tiny);
  clm_array *a = load_ok(write_text("long.csv", text));
  cr_assert_eq(clm_array_rows(a), 2);
  const double *d = clm_array_data(a);
  cr_assert_eq(d[0], strtod(big, NULL));
  cr_assert_eq(d[1], strtod(frac, NULL));
  cr_assert_eq(d[2], strtod(tiny, NULL));
  cr_assert_eq(d[3], 1);
  cr_assert(d[0] > 3e199 && d[0] < 4e199);
  clm_array_free(a);
}

static void expect_printable(const char *msg) {
  for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
    cr_assert(*p >= 0x20 && *p != 0x7F, "raw byte 0x%02x in '%s'", *p, msg);
}

Test(io, csv_control_bytes_escaped) {
  clm_array *a = NULL;
  clm_error err;
  const char *p = write_text("ctl.csv", "1\n2\na\x01"
                                        "b\tc\x7F\xFF\xC3\xA9\\z\x1B[31m\n");
  expect_load_fail(p, CLM_ERR_FORMAT,
                   "line 3, column 1: not a number: "
                   "'a\\x01b\\tc\\x7f\\xff\xC3\xA9\\\\z\\x1b[31m'");
  cr_assert_eq(clm_array_load(p, &a, &err), CLM_ERR_FORMAT);
  expect_printable(err.message);

  /* A carriage return inside a line is shown, not swallowed. */
  expect_load_fail(write_text("cr.csv", "1\r2\n"), CLM_ERR_FORMAT,
                   "not a number: '1\\r2'");

  /* Long fields are cut at 40 characters, escapes counting as one. */
  char field[80];
  memset(field, 2, 60);
  memcpy(field + 60, "\n", 2);
  p = write_text("ctl2.csv", field);
  char want[256] = "not a number: '";
  for (int i = 0; i < 40; i++)
    strcat(want, "\\x02");
  strcat(want, "'...");
  expect_load_fail(p, CLM_ERR_FORMAT, want);
  cr_assert_eq(clm_array_load(p, &a, &err), CLM_ERR_FORMAT);
  expect_printable(err.message);
}

/* ---- boundaries the mutation audit found unchecked ---- */

/* Data one byte short of the shape is truncated, not read past the end. */
Test(io, truncated_data_by_one_byte) {
  double v[2] = {1, 2};
  char buf[sizeof v];
  memcpy(buf, v, sizeof v);
  const char *p = write_npy("td1.npy", "<f8", "(2,)", buf, sizeof v - 1);
  expect_load_fail(p, CLM_ERR_FORMAT,
                   "truncated: expected 16 bytes of data, found 15");
}

/* A Fortran-order matrix of two columns is laid out differently too. */
Test(io, fortran_order_two_columns) {
  const char *p = write_npy_raw("fo2.npy", 1,
                                "{'descr': '<f4', 'fortran_order': True, "
                                "'shape': (3, 2), }",
                                64, F123, sizeof F123);
  expect_load_fail(p, CLM_ERR_UNSUPPORTED, "Fortran");
}

/* -1 as a class label is negative, reported by the reader itself. */
Test(io, class_label_minus_one_is_negative) {
  const int64_t y[4] = {0, 2, -1, 1};
  const char *p = write_npy("neg.npy", "<i8", "(4,)", y, sizeof y);
  clm_array *a = load_ok(p);
  int32_t out[4];
  clm_error err;
  cr_assert_eq(clm_array_read_labels_i32(a, 0, 4, out, &err),
               CLM_ERR_BAD_LABEL);
  cr_assert_eq(err.index, 2);
  cr_assert_eq(err.value, -1.0);
  cr_assert(strstr(err.message, "negative"), "%s", err.message);
  cr_assert_eq(clm_array_read_labels_i32(a, 3, 1, out, &err), CLM_OK);
  cr_assert_eq(out[0], 1);
  clm_array_free(a);
}

/* Row ranges past the end are refused, never read. */
Test(io, batch_ranges_past_the_end) {
  const char *p = write_npy("r.npy", "<f4", "(6,)", F123, sizeof F123);
  clm_array *a = load_ok(p);
  float f[8];
  uint8_t u[8];
  int32_t i[8];
  clm_error err;
  cr_assert_eq(clm_array_read_values_f32(a, 4, 2, f, 0, &err), CLM_OK);
  cr_assert_eq(f[1], 6.0f);
  cr_assert_eq(clm_array_read_values_f32(a, 4, 3, f, 0, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_array_read_values_f32(a, 7, 0, f, 0, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_array_read_labels_u8(a, 2, 5, u, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_array_read_labels_i32(a, 6, 1, i, &err),
               CLM_ERR_INVALID_ARGUMENT);
  cr_assert_eq(clm_array_read_labels_i32(a, UINT64_MAX, 2, i, &err),
               CLM_ERR_INVALID_ARGUMENT);
  clm_array_free(a);
}
