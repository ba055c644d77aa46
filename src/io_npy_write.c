/* NumPy .npy writer: float32 arrays, written safely (see clm_npy_writer in
 * clmetrics.h). */
#include "array_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const unsigned char NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

static clm_status io_fail(clm_error *err, const char *path, const char *what,
                          int errnum) {
  char buf[128];
  return clm_fail(err, CLM_ERR_IO, -1, 0, "%s: %s: %s", path, what,
                  clm_strerror(errnum, buf, sizeof buf));
}

/* ---------------------------------------------------------------- */
/* Writer                                                            */
/* ---------------------------------------------------------------- */

static int write_full(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Creates `path`.tmp.<unique> with O_EXCL, so the final file gets the
 * usual 0666 & ~umask permissions (mkstemp would force 0600). */
static int open_temp(const char *path, char **tmp_out) {
  static atomic_ulong counter;
  size_t n = strlen(path) + 64;
  char *tmp = clm_malloc(n);
  if (!tmp) {
    errno = ENOMEM;
    return -1;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  for (int attempt = 0; attempt < 100; attempt++) {
    unsigned long c = atomic_fetch_add(&counter, 1);
    snprintf(tmp, n, "%s.tmp.%ld.%lx.%lx", path, (long)getpid(),
             (unsigned long)ts.tv_nsec ^ (c * 2654435761ul), c);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      *tmp_out = tmp;
      return fd;
    }
    if (errno != EEXIST)
      break;
  }
  int e = errno;
  free(tmp);
  errno = e;
  return -1;
}

/* Exactly one of f32 / f64 is non-NULL (or both NULL when empty). */
static clm_status write_npy(const char *path, const float *f32,
                            const double *f64, uint64_t rows, uint64_t cols,
                            clm_error *err) {
  clm_error_clear(err);
  if (!path)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_npy_write: path must not be NULL");
  uint64_t c = cols == 0 ? 1 : cols;
  if (rows > UINT64_MAX / c || rows * c > SIZE_MAX / sizeof(float))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "%s: shape (%" PRIu64 ", %" PRIu64 ") is too large", path,
                    rows, cols);
  uint64_t n = rows * c;
  if (n > 0 && !f32 && !f64)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "%s: data must not be NULL", path);

  char header[256];
  int hl;
  if (cols == 0)
    hl = snprintf(header, sizeof header,
                  "{'descr': '<f4', 'fortran_order': False, 'shape': (%" PRIu64
                  ",), }",
                  rows);
  else
    hl = snprintf(header, sizeof header,
                  "{'descr': '<f4', 'fortran_order': False, 'shape': (%" PRIu64
                  ", %" PRIu64 "), }",
                  rows, cols);
  /* Pad with spaces and a final newline so data starts at a multiple of 64,
   * as numpy does; total stays far below the 1.0 format's 64 KiB limit. */
  size_t total = 10 + (size_t)hl + 1;
  total = (total + 63) / 64 * 64;
  unsigned char pre[10 + sizeof header + 64];
  size_t dict_len = total - 10;
  memcpy(pre, NPY_MAGIC, 6);
  pre[6] = 1;
  pre[7] = 0;
  pre[8] = (unsigned char)(dict_len & 0xff);
  pre[9] = (unsigned char)(dict_len >> 8);
  memcpy(pre + 10, header, (size_t)hl);
  memset(pre + 10 + hl, ' ', dict_len - (size_t)hl - 1);
  pre[total - 1] = '\n';

  char *tmp = NULL;
  int fd = open_temp(path, &tmp);
  if (fd < 0)
    return io_fail(err, path, "cannot create a temporary file", errno);

  int e = 0;
  if (write_full(fd, pre, total) != 0)
    e = errno;
  if (!e && f32 && n > 0 && write_full(fd, f32, (size_t)n * sizeof(float)))
    e = errno;
  if (!e && f64) {
    float buf[4096];
    for (uint64_t i = 0; i < n && !e;) {
      size_t m = n - i < 4096 ? (size_t)(n - i) : 4096;
      for (size_t j = 0; j < m; j++)
        buf[j] = clm_f64_to_f32(f64[i + j]);
      if (write_full(fd, buf, m * sizeof(float)) != 0)
        e = errno;
      i += m;
    }
  }
  /* close can report delayed write errors (NFS, quotas). */
  if (close(fd) != 0 && !e)
    e = errno;
  if (!e && rename(tmp, path) != 0)
    e = errno;
  if (e) {
    unlink(tmp);
    free(tmp);
    return io_fail(err, path, "cannot write", e);
  }
  free(tmp);
  return CLM_OK;
}

clm_status clm_npy_write_f32(const char *path, const float *data, uint64_t rows,
                             uint64_t cols, clm_error *err) {
  return write_npy(path, data, NULL, rows, cols, err);
}

clm_status clm_npy_write_f64_as_f32(const char *path, const double *data,
                                    uint64_t rows, uint64_t cols,
                                    clm_error *err) {
  return write_npy(path, NULL, data, rows, cols, err);
}
