/* NumPy .npy reader (memory-mapped). */
#include "io/array_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Data is used in place, so the host must share the files' byte order. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "clmetrics' .npy support requires a little-endian host"
#endif

static const unsigned char NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* The longest header accepted (1 MiB). NumPy writes headers of a few hundred
 * bytes for the 1-D and 2-D arrays of plain dtypes read here (its own reader
 * refuses more than 10000 bytes by default); the limit only stops a
 * version 2/3 length field from asking for up to 4 GiB. */
#define NPY_MAX_HEADER (1u << 20)

/* ---------------------------------------------------------------- */
/* Header dict parser                                                */
/* ---------------------------------------------------------------- */

typedef struct npy_header {
  char descr[64];
  int have_descr, have_order, have_shape;
  int fortran_order;
  int ndim;
  uint64_t shape[2];
} npy_header;

typedef struct parser {
  const char *p, *end;
  const char *path;
  clm_error *err;
} parser;

static void skip_ws(parser *ps) {
  while (ps->p < ps->end &&
         (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
}

static clm_status bad_header(parser *ps, const char *what) {
  return clm_fail(ps->err, CLM_ERR_FORMAT, -1, 0,
                  "%s: malformed .npy header: %s", ps->path, what);
}

static int accept(parser *ps, char c) {
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == c) {
    ps->p++;
    return 1;
  }
  return 0;
}

/* A Python string literal, single or double quoted, without escapes. */
static clm_status parse_string(parser *ps, char *buf, size_t cap) {
  skip_ws(ps);
  if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
    return bad_header(ps, "expected a quoted string");
  char q = *ps->p++;
  const char *start = ps->p;
  while (ps->p < ps->end && *ps->p != q) {
    if (*ps->p == '\\')
      return bad_header(ps, "escapes in strings are not supported");
    ps->p++;
  }
  if (ps->p >= ps->end)
    return bad_header(ps, "unterminated string");
  size_t len = (size_t)(ps->p - start);
  ps->p++;
  if (len >= cap)
    len = cap - 1; /* only for messages: no supported name is this long */
  memcpy(buf, start, len);
  buf[len] = '\0';
  return CLM_OK;
}

static int accept_word(parser *ps, const char *w) {
  skip_ws(ps);
  size_t n = strlen(w);
  if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, w, n) == 0) {
    ps->p += n;
    return 1;
  }
  return 0;
}

static clm_status parse_shape(parser *ps, npy_header *h) {
  if (!accept(ps, '('))
    return bad_header(ps, "'shape' must be a tuple");
  int ndim = 0;
  uint64_t dims[3] = {0, 0, 0};
  for (;;) {
    if (accept(ps, ')'))
      break;
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
      return bad_header(ps, "'shape' must hold non-negative integers");
    uint64_t v = 0;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
      unsigned d = (unsigned)(*ps->p - '0');
      if (v > (UINT64_MAX - d) / 10)
        return clm_fail(ps->err, CLM_ERR_FORMAT, -1, 0,
                        "%s: .npy shape dimension overflows 64 bits", ps->path);
      v = v * 10 + d;
      ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'L' || *ps->p == 'l'))
      ps->p++; /* Python 2 long suffix in old files */
    if (ndim < 3)
      dims[ndim] = v;
    ndim++;
    if (accept(ps, ','))
      continue;
    if (accept(ps, ')'))
      break;
    return bad_header(ps, "expected ',' or ')' in 'shape'");
  }
  if (ndim == 0)
    return clm_fail(ps->err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "%s: 0-dimensional arrays are not supported", ps->path);
  if (ndim > 2) {
    if (ndim == 3)
      return clm_fail(ps->err, CLM_ERR_UNSUPPORTED, -1, 0,
                      "%s: %d-D arrays are not supported (shape (%" PRIu64
                      ", %" PRIu64 ", %" PRIu64 ")); expected 1-D or 2-D",
                      ps->path, ndim, dims[0], dims[1], dims[2]);
    return clm_fail(ps->err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "%s: %d-D arrays are not supported; expected 1-D or 2-D",
                    ps->path, ndim);
  }
  h->ndim = ndim;
  h->shape[0] = dims[0];
  h->shape[1] = ndim == 2 ? dims[1] : 1;
  return CLM_OK;
}

static clm_status parse_header(parser *ps, npy_header *h) {
  clm_status st;
  memset(h, 0, sizeof *h);
  if (!accept(ps, '{'))
    return bad_header(ps, "expected '{'");
  for (;;) {
    if (accept(ps, '}'))
      break;
    char key[32];
    if ((st = parse_string(ps, key, sizeof key)) != CLM_OK)
      return st;
    if (!accept(ps, ':'))
      return bad_header(ps, "expected ':' after a key");
    if (strcmp(key, "descr") == 0) {
      skip_ws(ps);
      if (ps->p < ps->end && *ps->p == '[')
        return clm_fail(ps->err, CLM_ERR_UNSUPPORTED, -1, 0,
                        "%s: structured dtypes are not supported", ps->path);
      if ((st = parse_string(ps, h->descr, sizeof h->descr)) != CLM_OK)
        return st;
      h->have_descr = 1;
    } else if (strcmp(key, "fortran_order") == 0) {
      if (accept_word(ps, "True"))
        h->fortran_order = 1;
      else if (accept_word(ps, "False"))
        h->fortran_order = 0;
      else
        return bad_header(ps, "'fortran_order' must be True or False");
      h->have_order = 1;
    } else if (strcmp(key, "shape") == 0) {
      if ((st = parse_shape(ps, h)) != CLM_OK)
        return st;
      h->have_shape = 1;
    } else {
      return clm_fail(ps->err, CLM_ERR_FORMAT, -1, 0,
                      "%s: malformed .npy header: unexpected key '%s'",
                      ps->path, key);
    }
    if (accept(ps, ','))
      continue;
    if (accept(ps, '}'))
      break;
    return bad_header(ps, "expected ',' or '}'");
  }
  skip_ws(ps); /* numpy pads with spaces and a final newline */
  if (ps->p != ps->end)
    return bad_header(ps, "unexpected text after the dict");
  if (!h->have_descr || !h->have_order || !h->have_shape)
    return bad_header(ps, "'descr', 'fortran_order' and 'shape' are required");
  return CLM_OK;
}

static clm_status map_descr(const char *path, const char *descr, clm_dtype *out,
                            clm_error *err) {
  static const struct {
    const char *name;
    clm_dtype dtype;
  } table[] = {
      {"b1", CLM_DTYPE_BOOL}, {"u1", CLM_DTYPE_U8},  {"i1", CLM_DTYPE_I8},
      {"i2", CLM_DTYPE_I16},  {"i4", CLM_DTYPE_I32}, {"i8", CLM_DTYPE_I64},
      {"f4", CLM_DTYPE_F32},  {"f8", CLM_DTYPE_F64},
  };
  if (descr[0] == '>')
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "%s: big-endian dtype '%s' is not supported; convert "
                    "with astype('<%s')",
                    path, descr, descr + 1);
  if (descr[0] == '<' || descr[0] == '|') {
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
      if (strcmp(descr + 1, table[i].name) == 0) {
        *out = table[i].dtype;
        return CLM_OK;
      }
  }
  return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                  "%s: unsupported dtype '%s' (supported: bool, uint8, int8, "
                  "int16, int32, int64, float32, float64)",
                  path, descr);
}

/* ---------------------------------------------------------------- */
/* Reader                                                            */
/* ---------------------------------------------------------------- */

static clm_status io_fail(clm_error *err, const char *path, const char *what,
                          int errnum) {
  char buf[128];
  return clm_fail(err, CLM_ERR_IO, -1, 0, "%s: %s: %s", path, what,
                  clm_strerror(errnum, buf, sizeof buf));
}

/* pread until `len` bytes or EOF; returns bytes read or -1. */
static ssize_t read_full(int fd, void *buf, size_t len, off_t off) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = pread(fd, (char *)buf + got, len - got, off + (off_t)got);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (r == 0)
      break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

/* `sb` is fd's fstat: a regular file. */
/* The magic, version and header length: the header dict starts at
 * *hstart and is *hlen bytes long. */
static clm_status read_preamble(int fd, uint64_t fsize, const char *path,
                                uint64_t *hstart, uint64_t *hlen,
                                clm_error *err) {
  if (fsize == 0)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "%s: empty file, not an .npy file", path);
  unsigned char pre[12];
  ssize_t got = read_full(fd, pre, sizeof pre, 0);
  if (got < 0)
    return io_fail(err, path, "cannot read", errno);
  if (got < 6 || memcmp(pre, NPY_MAGIC, 6) != 0)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "%s: not an .npy file (bad magic bytes)", path);
  if (got < 10)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "%s: truncated: file ends inside the .npy preamble", path);
  unsigned major = pre[6], minor = pre[7];
  if (major == 1 && minor == 0) {
    *hstart = 10;
    *hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (got < 12)
      return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                      "%s: truncated: file ends inside the .npy preamble",
                      path);
    *hstart = 12;
    *hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 |
            (uint64_t)pre[11] << 24;
  } else {
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "%s: .npy format version %u.%u is not supported", path,
                    major, minor);
  }
  if (*hlen > NPY_MAX_HEADER)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "%s: malformed .npy header: %" PRIu64
                    " bytes, more than the limit of %u",
                    path, *hlen, (unsigned)NPY_MAX_HEADER);
  if (*hstart + *hlen > fsize)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "%s: truncated: header of %" PRIu64
                    " bytes but the file has only %" PRIu64 " after the "
                    "preamble",
                    path, *hlen, fsize - *hstart);
  return CLM_OK;
}

/* Reads and parses the ASCII header dict. */
static clm_status read_header(int fd, const char *path, uint64_t hstart,
                              uint64_t hlen, npy_header *h, clm_error *err) {
  char *text = clm_malloc(hlen ? (size_t)hlen : 1);
  if (!text)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "%s: cannot allocate the .npy header", path);
  ssize_t got = read_full(fd, text, (size_t)hlen, (off_t)hstart);
  if (got < 0 || (uint64_t)got != hlen) {
    int e = got < 0 ? errno : EIO;
    free(text);
    return io_fail(err, path, "cannot read the .npy header", e);
  }
  for (uint64_t i = 0; i < hlen; i++)
    if ((unsigned char)text[i] >= 0x80 || text[i] == '\0') {
      free(text);
      return clm_fail(
          err, CLM_ERR_FORMAT, -1, 0,
          "%s: malformed .npy header: byte %" PRIu64 " is not ASCII", path, i);
    }
  parser ps = {text, text + hlen, path, err};
  clm_status st = parse_header(&ps, h);
  free(text);
  return st;
}

/* Maps the data in place, or copies it where a hand-written header
 * misaligns it (numpy itself always pads to 16 or 64 bytes). */
static clm_status map_data(int fd, const char *path, uint64_t dstart,
                           uint64_t dbytes, size_t isz, clm_array *a,
                           clm_error *err) {
  if (dstart % isz == 0) {
    size_t len = (size_t)(dstart + dbytes);
    void *base = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED)
      return io_fail(err, path, "cannot map", errno);
    a->map_base = base;
    a->map_len = len;
    a->data = (const unsigned char *)base + dstart;
    return CLM_OK;
  }
  void *buf = clm_malloc((size_t)dbytes);
  if (!buf)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "%s: cannot allocate %" PRIu64 " bytes", path, dbytes);
  ssize_t got = read_full(fd, buf, (size_t)dbytes, (off_t)dstart);
  if (got < 0 || (uint64_t)got != dbytes) {
    int e = got < 0 ? errno : EIO;
    free(buf);
    return io_fail(err, path, "cannot read", e);
  }
  a->owned = buf;
  a->data = buf;
  return CLM_OK;
}

static clm_status load_npy_fd(int fd, const struct stat *sb, const char *path,
                              clm_array *a, clm_error *err) {
  const uint64_t fsize = (uint64_t)sb->st_size;
  uint64_t hstart = 0, hlen = 0;
  clm_status st = read_preamble(fd, fsize, path, &hstart, &hlen, err);
  npy_header h;
  if (st == CLM_OK)
    st = read_header(fd, path, hstart, hlen, &h, err);
  clm_dtype dtype = CLM_DTYPE_F64;
  if (st == CLM_OK)
    st = map_descr(path, h.descr, &dtype, err);
  if (st != CLM_OK)
    return st;
  /* Only a true 2-D matrix is laid out differently in Fortran order. */
  if (h.fortran_order && h.ndim == 2 && h.shape[0] > 1 && h.shape[1] > 1)
    return clm_fail(err, CLM_ERR_UNSUPPORTED, -1, 0,
                    "%s: Fortran-order arrays are not supported; save with "
                    "np.ascontiguousarray",
                    path);
  const uint64_t isz = clm_dtype_size(dtype);
  const uint64_t rows = h.shape[0], cols = h.shape[1];
  if ((cols != 0 && rows > UINT64_MAX / cols) ||
      (rows * cols > UINT64_MAX / isz))
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "%s: .npy shape (%" PRIu64 ", %" PRIu64
                    ") overflows 64-bit sizes",
                    path, rows, cols);
  const uint64_t dbytes = rows * cols * isz, dstart = hstart + hlen;
  if (fsize - dstart < dbytes)
    return clm_fail(err, CLM_ERR_FORMAT, -1, 0,
                    "%s: truncated: expected %" PRIu64
                    " bytes of data, found %" PRIu64,
                    path, dbytes, fsize - dstart);
  if (dstart + dbytes > SIZE_MAX)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "%s: file too large to map", path);
  a->dtype = dtype;
  a->ndim = h.ndim;
  a->rows = rows;
  a->cols = cols;
  if (dbytes == 0)
    return CLM_OK; /* data stays at the static dummy; mmap(0) is invalid */
  return map_data(fd, path, dstart, dbytes, (size_t)isz, a, err);
}

static clm_status not_regular(clm_error *err, const char *path, mode_t mode) {
  const char *kind = S_ISDIR(mode)    ? "a directory"
                     : S_ISFIFO(mode) ? "a FIFO"
                     : S_ISCHR(mode)  ? "a character device"
                     : S_ISBLK(mode)  ? "a block device"
                     : S_ISSOCK(mode) ? "a socket"
                                      : "a special file";
  return clm_fail(err, CLM_ERR_IO, -1, 0,
                  "%s: .npy inputs must be regular files (this is %s)", path,
                  kind);
}

/* Opens `path` for mapping, refusing anything but a regular file without
 * ever blocking: open() of a FIFO waits for a writer, and opening a device
 * can have effects, so the path is stat'ed first, opened with O_NONBLOCK,
 * and the descriptor checked to be that same regular file (a swap between
 * stat and open is refused), before O_NONBLOCK is cleared. Returns the
 * descriptor in *fd_out with its fstat in *sb. */
static clm_status open_regular(const char *path, int *fd_out, struct stat *sb,
                               clm_error *err) {
  struct stat pre;
  if (stat(path, &pre) != 0)
    return io_fail(err, path, "cannot open", errno);
  if (!S_ISREG(pre.st_mode))
    return not_regular(err, path, pre.st_mode);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return io_fail(err, path, "cannot open", errno);
  clm_status st = CLM_OK;
  int fl;
  if (fstat(fd, sb) != 0)
    st = io_fail(err, path, "cannot stat", errno);
  else if (!S_ISREG(sb->st_mode))
    st = not_regular(err, path, sb->st_mode);
  else if (sb->st_dev != pre.st_dev || sb->st_ino != pre.st_ino)
    st = clm_fail(err, CLM_ERR_IO, -1, 0,
                  "%s: the file was replaced while being opened", path);
  else if ((fl = fcntl(fd, F_GETFL)) < 0 ||
           fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
    st = io_fail(err, path, "cannot open", errno);
  if (st != CLM_OK) {
    close(fd);
    return st;
  }
  *fd_out = fd;
  return CLM_OK;
}

clm_status clm_array_load_npy(const char *path, clm_array **out,
                              clm_error *err) {
  clm_error_clear(err);
  if (out)
    *out = NULL;
  if (!path || !out)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_array_load_npy: path and out must not be NULL");
  struct stat sb;
  int fd = -1;
  clm_status st = open_regular(path, &fd, &sb, err);
  if (st != CLM_OK)
    return st;
  clm_array *a = clm_array_new(path);
  if (!a) {
    close(fd);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "%s: out of memory",
                    path);
  }
  st = load_npy_fd(fd, &sb, path, a, err);
  close(fd); /* the mapping stays valid after close */
  if (st != CLM_OK) {
    clm_array_free(a);
    return st;
  }
  *out = a;
  return CLM_OK;
}
