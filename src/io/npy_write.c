/* NumPy .npy writer: float32 arrays streamed into a temporary file beside
 * the target and renamed over it only when complete (see clm_npy_writer in
 * clmetrics.h). */
#include "io/array_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

struct clm_npy_writer {
  int fd;
  char *path;   /* the target, as given (messages) */
  char *target; /* what is replaced: `path`, or a symlink's resolved target */
  char *tmp;    /* temporary file beside it; NULL when writing through */
  uint64_t expected, written; /* float32 values */
  int text;                   /* raw bytes, no header or count */
  int have_old;               /* a regular file is being replaced */
  struct stat old;
};

static clm_status io_fail(clm_error *err, const char *path, const char *what,
                          int errnum) {
  char buf[128];
  return clm_fail(err, CLM_ERR_IO, -1, 0, "%s: %s: %s", path, what,
                  clm_strerror(errnum, buf, sizeof buf));
}

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

/* Creates a short temporary name in the target's directory with O_EXCL and
 * mode 0666 (the umask applies, as for any new file), so a target name of
 * up to NAME_MAX bytes still works. */
static int open_temp(const char *target, char **tmp_out) {
  static atomic_ulong counter;
  const char *slash = strrchr(target, '/');
  const size_t dir_len = slash ? (size_t)(slash - target) + 1 : 0;
  const size_t n = dir_len + 64;
  char *tmp = clm_malloc(n);
  if (!tmp) {
    errno = ENOMEM;
    return -1;
  }
  for (int attempt = 0; attempt < 100; attempt++) {
    const unsigned long c = atomic_fetch_add(&counter, 1);
    snprintf(tmp, n, "%.*s.clm-%ld-%lu.tmp", (int)dir_len, target,
             (long)getpid(), c);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      *tmp_out = tmp;
      return fd;
    }
    if (errno != EEXIST)
      break;
  }
  const int e = errno;
  free(tmp);
  errno = e;
  return -1;
}

static size_t npy_preamble(unsigned char *pre, size_t cap, uint64_t rows,
                           uint64_t cols) {
  char header[160];
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
  /* Padded with spaces and a final newline so data starts at a multiple of
   * 64, as numpy does. */
  size_t total = (10 + (size_t)hl + 1 + 63) / 64 * 64;
  if (total > cap)
    return 0;
  const size_t dict_len = total - 10;
  memcpy(pre, NPY_MAGIC, 6);
  pre[6] = 1;
  pre[7] = 0;
  pre[8] = (unsigned char)(dict_len & 0xff);
  pre[9] = (unsigned char)(dict_len >> 8);
  memcpy(pre + 10, header, (size_t)hl);
  memset(pre + 10 + hl, ' ', dict_len - (size_t)hl - 1);
  pre[total - 1] = '\n';
  return total;
}

void clm_npy_writer_abort(clm_npy_writer *w) {
  if (!w)
    return;
  if (w->fd >= 0)
    close(w->fd);
  if (w->tmp)
    unlink(w->tmp);
  free(w->tmp);
  free(w->target);
  free(w->path);
  free(w);
}

/* Chooses how to write `path`: through to a non-regular file, or via a
 * temporary file replacing a regular one (a symlink's target, keeping the
 * link). */
static clm_status open_output(clm_npy_writer *w, clm_error *err) {
  struct stat st;
  if (stat(w->path, &st) == 0 && S_ISDIR(st.st_mode))
    return clm_fail(err, CLM_ERR_IO, -1, 0, "%s: is a directory", w->path);
  if (stat(w->path, &st) == 0 && !S_ISREG(st.st_mode)) {
    /* A device, FIFO or socket: a sink such as /dev/null, never replaced.
     * O_NONBLOCK is not used: a FIFO waits for its reader, like a shell
     * redirection. */
    w->fd = open(w->path, O_WRONLY | O_CLOEXEC);
    if (w->fd < 0)
      return io_fail(err, w->path, "cannot open for writing", errno);
    return CLM_OK;
  }
  struct stat lst;
  if (lstat(w->path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
    w->target = realpath(w->path, NULL);
    if (!w->target && errno != ENOENT)
      return io_fail(err, w->path, "cannot resolve the link", errno);
  }
  if (!w->target && !(w->target = strdup(w->path)))
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "out of memory");
  if (stat(w->target, &w->old) == 0) {
    w->have_old = 1;
    if (access(w->target, W_OK) != 0)
      return io_fail(err, w->path, "cannot write", errno);
  }
  w->fd = open_temp(w->target, &w->tmp);
  if (w->fd < 0)
    return io_fail(err, w->path, "cannot create a temporary file", errno);
  return CLM_OK;
}

clm_status clm_npy_writer_open(const char *path, uint64_t rows, uint64_t cols,
                               clm_npy_writer **out, clm_error *err) {
  clm_error_clear(err);
  if (out)
    *out = NULL;
  if (!path || !out)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_npy_writer_open: path and out must not be NULL");
  const uint64_t c = cols == 0 ? 1 : cols;
  if (rows > UINT64_MAX / c / sizeof(float))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "%s: shape (%" PRIu64 ", %" PRIu64 ") is too large", path,
                    rows, cols);
  clm_npy_writer *w = clm_calloc(1, sizeof *w);
  if (!w || !(w->path = strdup(path))) {
    free(w);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "out of memory");
  }
  w->fd = -1;
  w->expected = rows * c;
  clm_status st = open_output(w, err);
  unsigned char pre[256];
  const size_t len = npy_preamble(pre, sizeof pre, rows, cols);
  if (st == CLM_OK && write_full(w->fd, pre, len) != 0)
    st = io_fail(err, w->path, "cannot write", errno);
  if (st != CLM_OK) {
    clm_npy_writer_abort(w);
    return st;
  }
  *out = w;
  return CLM_OK;
}

clm_status clm_npy_writer_open_text(const char *path, clm_npy_writer **out,
                                    clm_error *err) {
  clm_error_clear(err);
  if (out)
    *out = NULL;
  if (!path || !out)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_npy_writer_open_text: path and out must not be NULL");
  clm_npy_writer *w = clm_calloc(1, sizeof *w);
  if (!w || !(w->path = strdup(path))) {
    free(w);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "out of memory");
  }
  w->fd = -1;
  w->text = 1;
  clm_status st = open_output(w, err);
  if (st != CLM_OK) {
    clm_npy_writer_abort(w);
    return st;
  }
  *out = w;
  return CLM_OK;
}

clm_status clm_npy_writer_append_bytes(clm_npy_writer *w, const void *data,
                                       size_t len, clm_error *err) {
  clm_error_clear(err);
  if (!w || !w->text || (len > 0 && !data))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_npy_writer_append_bytes: not a text writer");
  if (write_full(w->fd, data, len) != 0)
    return io_fail(err, w->path, "cannot write", errno);
  return CLM_OK;
}

const char *clm_npy_writer_temp_path(const clm_npy_writer *w) {
  return w ? w->tmp : NULL;
}

static clm_status check_room(clm_npy_writer *w, uint64_t count,
                             clm_error *err) {
  if (!w)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_npy_writer: NULL writer");
  if (w->text || count > w->expected - w->written)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "%s: %" PRIu64 " values written past the %" PRIu64
                    " of the header",
                    w->path, w->written + count, w->expected);
  return CLM_OK;
}

clm_status clm_npy_writer_append_f32(clm_npy_writer *w, const float *data,
                                     uint64_t count, clm_error *err) {
  clm_error_clear(err);
  clm_status st = check_room(w, count, err);
  if (st != CLM_OK)
    return st;
  if (count > 0 && !data)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_npy_writer_append_f32: NULL data");
  const char *p = (const char *)data;
  for (uint64_t left = count; left > 0;) {
    /* write() moves at most about 2 GiB at a time. */
    const uint64_t m = left < ((uint64_t)1 << 28) ? left : (uint64_t)1 << 28;
    if (write_full(w->fd, p, (size_t)m * sizeof(float)) != 0)
      return io_fail(err, w->path, "cannot write", errno);
    p += m * sizeof(float);
    left -= m;
  }
  w->written += count;
  return CLM_OK;
}

clm_status clm_npy_writer_append_f64(clm_npy_writer *w, const double *data,
                                     uint64_t count, clm_error *err) {
  clm_error_clear(err);
  clm_status st = check_room(w, count, err);
  if (st != CLM_OK)
    return st;
  if (count > 0 && !data)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_npy_writer_append_f64: NULL data");
  float buf[4096];
  for (uint64_t i = 0; i < count;) {
    const size_t m = count - i < 4096 ? (size_t)(count - i) : 4096;
    for (size_t j = 0; j < m; j++)
      buf[j] = clm_f64_to_f32(data[i + j]);
    st = clm_npy_writer_append_f32(w, buf, m, err);
    if (st != CLM_OK)
      return st;
    i += m;
  }
  return CLM_OK;
}

clm_status clm_npy_writer_commit(clm_npy_writer *w, clm_error *err) {
  clm_error_clear(err);
  if (!w)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_npy_writer_commit: NULL writer");
  clm_status st = CLM_OK;
  if (!w->text && w->written != w->expected)
    st = clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                  "%s: %" PRIu64 " of %" PRIu64 " values written", w->path,
                  w->written, w->expected);
  /* The replaced file's permissions (and, as root, its owner) carry over. */
  if (st == CLM_OK && w->tmp && w->have_old) {
    if (fchmod(w->fd, w->old.st_mode & 07777) != 0)
      st = io_fail(err, w->path, "cannot set the mode", errno);
    else if (geteuid() == 0 && fchown(w->fd, w->old.st_uid, w->old.st_gid) != 0)
      st = io_fail(err, w->path, "cannot set the owner", errno);
  }
  /* close can report delayed write errors (NFS, quotas). */
  const int rc = close(w->fd);
  w->fd = -1;
  if (st == CLM_OK && rc != 0)
    st = io_fail(err, w->path, "cannot write", errno);
  if (st == CLM_OK && w->tmp) {
    if (rename(w->tmp, w->target) != 0)
      st = io_fail(err, w->path, "cannot write", errno);
    else {
      free(w->tmp);
      w->tmp = NULL; /* nothing left to remove */
    }
  }
  clm_npy_writer_abort(w);
  return st;
}

static clm_status write_whole(const char *path, const float *f32,
                              const double *f64, uint64_t rows, uint64_t cols,
                              clm_error *err) {
  clm_npy_writer *w = NULL;
  clm_status st = clm_npy_writer_open(path, rows, cols, &w, err);
  if (st != CLM_OK)
    return st;
  const uint64_t n = rows * (cols == 0 ? 1 : cols);
  st = f64 ? clm_npy_writer_append_f64(w, f64, n, err)
           : clm_npy_writer_append_f32(w, f32, n, err);
  if (st != CLM_OK) {
    clm_npy_writer_abort(w);
    return st;
  }
  return clm_npy_writer_commit(w, err);
}

clm_status clm_npy_write_f32(const char *path, const float *data, uint64_t rows,
                             uint64_t cols, clm_error *err) {
  return write_whole(path, data, NULL, rows, cols, err);
}

clm_status clm_npy_write_f64_as_f32(const char *path, const double *data,
                                    uint64_t rows, uint64_t cols,
                                    clm_error *err) {
  return write_whole(path, NULL, data, rows, cols, err);
}
