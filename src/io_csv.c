/* CSV reader: numeric rows, optional header line, read as float64. */
#include "array_internal.h"

#include <ctype.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A header's first field starts like a name ("label", "_y", "\"p\""), so a
 * corrupt first value such as "0.5x" is an error rather than a header.
 * (A numeric header, such as pandas' "0" for an unnamed Series, cannot be
 * told from data and is read as data.) */
static int looks_like_name(const char *s, const char *e) {
  while (s < e && (*s == ' ' || *s == '\t'))
    ++s;
  return s < e &&
         (isalpha((unsigned char)*s) || *s == '_' || *s == '"' || *s == '\'');
}

static clm_status io_fail(clm_error *err, const char *path, const char *what,
                          int errnum) {
  char buf[128];
  return clm_fail(err, CLM_ERR_IO, -1, 0, "%s: %s: %s", path, what,
                  clm_strerror(errnum, buf, sizeof buf));
}

static clm_status read_file(const char *path, char **out, size_t *len,
                            clm_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return io_fail(err, path, "cannot open", errno);
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    return io_fail(err, path, "cannot stat", e);
  }
  if (S_ISDIR(sb.st_mode)) {
    close(fd);
    return io_fail(err, path, "cannot read", EISDIR);
  }
  /* st_size is only a hint (pipes report 0), so grow as needed. */
  size_t cap = sb.st_size > 0 ? (size_t)sb.st_size + 1 : 4096, n = 0;
  char *buf = clm_malloc(cap);
  if (!buf) {
    close(fd);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "%s: cannot allocate %zu bytes", path, cap);
  }
  for (;;) {
    if (n + 1 >= cap) {
      if (cap > SIZE_MAX / 2) {
        free(buf);
        close(fd);
        return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "%s: file too large",
                        path);
      }
      char *nb = clm_realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        close(fd);
        return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                        "%s: cannot allocate %zu bytes", path, cap * 2);
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      free(buf);
      close(fd);
      return io_fail(err, path, "cannot read", e);
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return CLM_OK;
}

static int is_space(char c) {
  return c == ' ' || c == '\t';
}

static int is_blank(const char *s, const char *e) {
  for (; s < e; s++)
    if (!is_space(*s) && *s != '\r')
      return 0;
  return 1;
}

/* Parses [s, e) as one number with optional surrounding blanks. Uses the C
 * locale so a host program's LC_NUMERIC cannot change the decimal point. */
static int parse_number(const char *s, const char *e, locale_t loc,
                        double *out) {
  while (s < e && is_space(*s))
    s++;
  while (e > s && is_space(e[-1]))
    e--;
  if (s == e)
    return 0;
  /* strtod needs a terminated string; fields are short, copy onto the
   * stack, and anything longer than 127 chars is not a sane number. */
  char tmp[128];
  size_t n = (size_t)(e - s);
  if (n >= sizeof tmp)
    return 0;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  char *end;
  double v = loc ? strtod_l(tmp, &end, loc) : strtod(tmp, &end);
  if (end != tmp + n)
    return 0;
  *out = v;
  return 1;
}

static size_t count_fields(const char *s, const char *e) {
  size_t n = 1;
  for (; s < e; s++)
    if (*s == ',')
      n++;
  return n;
}

typedef struct csv_ctx {
  const char *path;
  clm_error *err;
  locale_t loc;
  double *vals;
  uint64_t nvals, cap;
} csv_ctx;

static clm_status push(csv_ctx *c, double v) {
  if (c->nvals == c->cap) {
    uint64_t ncap = c->cap ? c->cap * 2 : 1024;
    if (ncap > SIZE_MAX / sizeof(double))
      return clm_fail(c->err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                      "%s: too many values", c->path);
    double *nv = clm_realloc(c->vals, (size_t)ncap * sizeof(double));
    if (!nv)
      return clm_fail(c->err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                      "%s: cannot allocate %" PRIu64 " values", c->path, ncap);
    c->vals = nv;
    c->cap = ncap;
  }
  c->vals[c->nvals++] = v;
  return CLM_OK;
}

static clm_status bad_field(csv_ctx *c, uint64_t line, size_t col,
                            const char *s, const char *e) {
  while (s < e && is_space(*s))
    s++;
  while (e > s && (is_space(e[-1]) || e[-1] == '\r'))
    e--;
  if (s == e)
    return clm_fail(c->err, CLM_ERR_FORMAT, -1, 0,
                    "%s: line %" PRIu64 ", column %zu: empty field", c->path,
                    line, col);
  int n = (int)(e - s);
  return clm_fail(c->err, CLM_ERR_FORMAT, -1, 0,
                  "%s: line %" PRIu64 ", column %zu: not a number: '%.*s'%s",
                  c->path, line, col, n > 40 ? 40 : n, s, n > 40 ? "..." : "");
}

static clm_status parse_csv(csv_ctx *c, const char *text, size_t len,
                            clm_array *a) {
  const char *p = text, *end = text + len;
  if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
    p += 3; /* UTF-8 byte-order mark written by spreadsheet exports */

  /* Trailing blank lines are ignored: find where the last non-blank ends. */
  const char *last = end;
  while (last > p) {
    const char *ls = last;
    while (ls > p && ls[-1] != '\n')
      ls--;
    if (!is_blank(ls, last))
      break;
    last = ls > p ? ls - 1 : p;
  }

  uint64_t line = 0, rows = 0;
  size_t cols = 0;
  while (p < last) {
    line++;
    const char *le = memchr(p, '\n', (size_t)(last - p));
    if (!le)
      le = last;
    const char *ce = le;
    if (ce > p && ce[-1] == '\r')
      ce--;
    if (is_blank(p, ce))
      return clm_fail(c->err, CLM_ERR_FORMAT, -1, 0,
                      "%s: line %" PRIu64 ": blank line inside the data",
                      c->path, line);
    size_t nf = count_fields(p, ce);
    const char *fs = p;
    const char *fe = memchr(fs, ',', (size_t)(ce - fs));
    if (!fe)
      fe = ce;
    double v;
    if (line == 1 && !parse_number(fs, fe, c->loc, &v) &&
        looks_like_name(fs, fe)) {
      p = le + 1; /* header line */
      continue;
    }
    if (rows == 0)
      cols = nf;
    else if (nf != cols)
      return clm_fail(c->err, CLM_ERR_FORMAT, -1, 0,
                      "%s: line %" PRIu64 ": expected %zu fields, found %zu",
                      c->path, line, cols, nf);
    for (size_t col = 1; col <= nf; col++) {
      fe = memchr(fs, ',', (size_t)(ce - fs));
      if (!fe)
        fe = ce;
      if (!parse_number(fs, fe, c->loc, &v))
        return bad_field(c, line, col, fs, fe);
      clm_status st = push(c, v);
      if (st != CLM_OK)
        return st;
      fs = fe + 1;
    }
    rows++;
    p = le + 1;
  }

  a->dtype = CLM_DTYPE_F64;
  a->rows = rows;
  a->cols = rows == 0 ? 1 : cols;
  a->ndim = a->cols == 1 ? 1 : 2;
  if (c->nvals > 0) {
    a->owned = c->vals;
    a->data = c->vals;
    c->vals = NULL;
  }
  return CLM_OK;
}

clm_status clm_array_load_csv(const char *path, clm_array **out,
                              clm_error *err) {
  clm_error_clear(err);
  if (out)
    *out = NULL;
  if (!path || !out)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_array_load_csv: path and out must not be NULL");
  char *text = NULL;
  size_t len = 0;
  clm_status st = read_file(path, &text, &len, err);
  if (st != CLM_OK)
    return st;
  clm_array *a = clm_array_new(path);
  if (!a) {
    free(text);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "%s: out of memory",
                    path);
  }
  csv_ctx c = {path, err, newlocale(LC_NUMERIC_MASK, "C", (locale_t)0),
               NULL, 0,   0};
  st = parse_csv(&c, text, len, a);
  if (c.loc)
    freelocale(c.loc);
  free(c.vals);
  free(text);
  if (st != CLM_OK) {
    clm_array_free(a);
    return st;
  }
  *out = a;
  return CLM_OK;
}
