/* CSV reader: numeric rows, optional header line, read as float64.
 *
 * The text is read in blocks and only the line being parsed is kept, so a
 * pipe, a FIFO (`<(printf ...)`) or an endless stream can be read: memory is
 * bounded by CSV_MAX_LINE plus the values parsed (8 bytes each). A line
 * longer than CSV_MAX_LINE and any NUL byte (binary data, /dev/zero, UTF-16)
 * end the read with an error naming the line or the offset. */
#include "io/array_internal.h"

#include <ctype.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The longest line accepted, in bytes, not counting its "\n" or "\r\n"
 * (1 MiB). It bounds every field, hence every number's digits, too. */
#define CSV_MAX_LINE ((size_t)1 << 20)
/* Bytes asked of each read(); the buffer grows past this only to hold one
 * long line, up to CSV_MAX_LINE + "\r\n" + a terminating byte. */
#define CSV_BLOCK ((size_t)1 << 16)
#define CSV_BUF_MAX (CSV_MAX_LINE + 3)

static clm_status io_fail(clm_error *err, const char *path, const char *what,
                          int errnum) {
  char buf[128];
  return clm_fail(err, CLM_ERR_IO, -1, 0, "%s: %s: %s", path, what,
                  clm_strerror(errnum, buf, sizeof buf));
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

static void trim(char **s, char **e) {
  while (*s < *e && is_space(**s))
    ++*s;
  while (*e > *s && is_space((*e)[-1]))
    --*e;
}

/* Strips one pair of enclosing double quotes (RFC 4180), and the blanks
 * inside them. */
static void unquote(char **s, char **e) {
  if (*e - *s >= 2 && **s == '"' && (*e)[-1] == '"') {
    ++*s;
    --*e;
    trim(s, e);
  }
}

/* Length of the valid UTF-8 sequence of two to four bytes at [s, e), or 0
 * (overlong forms, surrogates and code points past U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, const unsigned char *e) {
  size_t n;
  unsigned lo = 0x80, hi = 0xBF;
  if (*s >= 0xC2 && *s <= 0xDF)
    n = 2;
  else if (*s >= 0xE0 && *s <= 0xEF) {
    n = 3;
    if (*s == 0xE0)
      lo = 0xA0;
    else if (*s == 0xED)
      hi = 0x9F;
  } else if (*s >= 0xF0 && *s <= 0xF4) {
    n = 4;
    if (*s == 0xF0)
      lo = 0x90;
    else if (*s == 0xF4)
      hi = 0x8F;
  } else
    return 0;
  if ((size_t)(e - s) < n || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xBF)
      return 0;
  return n;
}

/* The end of the field starting at s: the next comma outside double
 * quotes, or e. ("" inside quotes closes and reopens them, as RFC 4180's
 * escaped quote does.) */
static char *field_end(char *s, char *e) {
  for (;;) {
    char *comma = memchr(s, ',', (size_t)(e - s));
    char *stop = comma ? comma : e;
    char *open = memchr(s, '"', (size_t)(stop - s));
    if (!open)
      return stop;
    char *close = memchr(open + 1, '"', (size_t)(e - open - 1));
    if (!close)
      return e;
    s = close + 1;
  }
}

static size_t count_fields(char *s, char *e) {
  size_t n = 1;
  for (char *f = field_end(s, e); f < e; f = field_end(f + 1, e))
    n++;
  return n;
}

/* Parses [s, e) as one number, with optional blanks and one pair of double
 * quotes around it, as strtod does (any length: the digits are rounded
 * correctly). Uses the C locale so a host program's LC_NUMERIC cannot change
 * the decimal point. *e is overwritten during the call and restored. */
static int parse_number(char *s, char *e, locale_t loc, double *out) {
  trim(&s, &e);
  unquote(&s, &e);
  /* strtod itself would skip "\f", "\v", "\n" and "\r". */
  if (s == e || isspace((unsigned char)*s))
    return 0;
  char saved = *e;
  *e = '\0';
  char *end;
  double v = loc ? strtod_l(s, &end, loc) : strtod(s, &end);
  *e = saved;
  if (end != e)
    return 0;
  *out = v;
  return 1;
}

/* Line 1 is a header when its first field is a name. After blanks and one
 * pair of double quotes are stripped, a name starts with an ASCII letter,
 * '_' or a non-ASCII UTF-8 character and continues with those, digits,
 * spaces and " _.-()[]/:+=#%@" ("label", "y_true", "\"p\"", "score v2",
 * "p(y=1)"). Anything else makes line 1 data, so nothing is skipped
 * silently: a value strtod reads ("0.5", "\"0.5\"", "nan", "NaN", "inf",
 * "0x1p3") is a number (NaN goes through, as on any line, for the scores
 * checks to report), and the missing-value markers NA, N/A, NULL and None
 * (any case), a corrupt value ("0.5x"), a single-quoted or
 * semicolon-separated line are reported as "not a number". A numeric header
 * such as pandas' "0" for an unnamed Series cannot be told from data and is
 * read as data. Only the first field is looked at. */
static int is_header(char *s, char *e, locale_t loc) {
  double v;
  if (parse_number(s, e, loc, &v))
    return 0;
  trim(&s, &e);
  unquote(&s, &e);
  static const char *const missing[] = {"na", "n/a", "null", "none"};
  for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
    if ((size_t)(e - s) == strlen(missing[i]) &&
        strncasecmp(s, missing[i], strlen(missing[i])) == 0)
      return 0;
  const unsigned char *p = (const unsigned char *)s,
                      *pe = (const unsigned char *)e;
  if (p == pe)
    return 0;
  for (int first = 1; p < pe; first = 0) {
    size_t n = *p >= 0x80 ? utf8_len(p, pe) : 1;
    if (n == 0)
      return 0;
    if (n == 1 && !isalpha(*p) && *p != '_' &&
        (first || (!isdigit(*p) && !(*p && strchr(" .-()[]/:+=#%@", *p)))))
      return 0;
    p += n;
  }
  return 1;
}

typedef struct csv_ctx {
  const char *path;
  clm_error *err;
  locale_t loc;
  double *vals;
  uint64_t nvals, cap;
  uint64_t line;  /* the line being parsed, from 1 */
  uint64_t blank; /* the first blank line after the last data line, or 0 */
  uint64_t rows;
  size_t cols;
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

/* Writes at most `max_chars` characters of [s, e) into out (capacity at
 * least 4 * max_chars + 1) with control bytes, backslashes and bytes that are
 * not UTF-8 escaped (\n, \t, \r, \\, \xNN), so a message holds only
 * printable, valid UTF-8 text. Returns 1 when the text was cut. */
static int escape_text(const char *s, const char *e, size_t max_chars,
                       char *out) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s,
                      *pe = (const unsigned char *)e;
  char *o = out;
  for (size_t chars = 0; p < pe; chars++) {
    if (chars == max_chars) {
      *o = '\0';
      return 1;
    }
    size_t n = *p >= 0x80 ? utf8_len(p, pe) : 1;
    if (n > 1) {
      memcpy(o, p, n);
      o += n;
      p += n;
      continue;
    }
    unsigned char b = *p++;
    if (b == '\n' || b == '\t' || b == '\r' || b == '\\') {
      *o++ = '\\';
      *o++ = b == '\n' ? 'n' : b == '\t' ? 't' : b == '\r' ? 'r' : '\\';
    } else if (b < 0x20 || b >= 0x7F) {
      *o++ = '\\';
      *o++ = 'x';
      *o++ = hex[b >> 4];
      *o++ = hex[b & 15];
    } else {
      *o++ = (char)b;
    }
  }
  *o = '\0';
  return 0;
}

#define CSV_SHOW_CHARS 40

static clm_status bad_field(csv_ctx *c, size_t col, char *s, char *e) {
  trim(&s, &e);
  if (s == e)
    return clm_fail(c->err, CLM_ERR_FORMAT, -1, 0,
                    "%s: line %" PRIu64 ", column %zu: empty field", c->path,
                    c->line, col);
  char shown[4 * CSV_SHOW_CHARS + 1];
  int cut = escape_text(s, e, CSV_SHOW_CHARS, shown);
  return clm_fail(c->err, CLM_ERR_FORMAT, -1, 0,
                  "%s: line %" PRIu64 ", column %zu: not a number: '%s'%s",
                  c->path, c->line, col, shown, cut ? "..." : "");
}

static clm_status too_long(csv_ctx *c) {
  return clm_fail(c->err, CLM_ERR_FORMAT, -1, 0,
                  "%s: line %" PRIu64 " is longer than %zu bytes", c->path,
                  c->line, CSV_MAX_LINE);
}

/* Parses line c->line, [s, e) without its "\n". Writes (and restores) *e,
 * which must be inside the buffer. */
static clm_status parse_line(csv_ctx *c, char *s, char *e) {
  if (e > s && e[-1] == '\r')
    e--;
  if ((size_t)(e - s) > CSV_MAX_LINE)
    return too_long(c);
  if (c->line == 1 && e - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
    s += 3; /* UTF-8 byte-order mark written by spreadsheet exports */
  /* Trailing blank lines are ignored; blank lines before data are not. */
  if (is_blank(s, e)) {
    if (!c->blank)
      c->blank = c->line;
    return CLM_OK;
  }
  if (c->blank)
    return clm_fail(c->err, CLM_ERR_FORMAT, -1, 0,
                    "%s: line %" PRIu64 ": blank line inside the data", c->path,
                    c->blank);
  if (c->line == 1 && is_header(s, field_end(s, e), c->loc))
    return CLM_OK;
  size_t nf = count_fields(s, e);
  if (c->rows == 0)
    c->cols = nf;
  else if (nf != c->cols)
    return clm_fail(c->err, CLM_ERR_FORMAT, -1, 0,
                    "%s: line %" PRIu64 ": expected %zu fields, found %zu",
                    c->path, c->line, c->cols, nf);
  char *fs = s;
  for (size_t col = 1; col <= nf; col++) {
    char *fe = field_end(fs, e);
    double v;
    if (!parse_number(fs, fe, c->loc, &v))
      return bad_field(c, col, fs, fe);
    clm_status st = push(c, v);
    if (st != CLM_OK)
      return st;
    fs = fe + 1;
  }
  c->rows++;
  return CLM_OK;
}

static clm_status nul_byte(csv_ctx *c, uint64_t offset,
                           const unsigned char *head, size_t nhead) {
  if (nhead >= 6 && memcmp(head, "\x93NUMPY", 6) == 0)
    return clm_fail(c->err, CLM_ERR_FORMAT, -1, 0,
                    "%s: .npy data read as CSV (a name ending in .npy selects "
                    "the .npy reader)",
                    c->path);
  if (nhead >= 2 && ((head[0] == 0xFF && head[1] == 0xFE) ||
                     (head[0] == 0xFE && head[1] == 0xFF)))
    return clm_fail(c->err, CLM_ERR_FORMAT, -1, 0,
                    "%s: UTF-16 text is not supported (NUL byte at offset "
                    "%" PRIu64 "); save the CSV as UTF-8",
                    c->path, offset);
  return clm_fail(c->err, CLM_ERR_FORMAT, -1, 0,
                  "%s: NUL byte at offset %" PRIu64 ": not CSV text", c->path,
                  offset);
}

/* Reads fd to its end, line by line. buf[start, end) holds the text not yet
 * parsed, buf[scan, end) the part not yet searched for "\n"; buf[0] is at
 * file offset `base`. One byte past `end` is always free for parse_line. */
static clm_status read_csv(csv_ctx *c, int fd) {
  size_t cap = CSV_BLOCK, start = 0, scan = 0, end = 0, nhead = 0;
  uint64_t base = 0;
  unsigned char head[6] = {0}; /* the first bytes, to name what this is */
  int eof = 0;
  char *buf = clm_malloc(cap);
  if (!buf)
    return clm_fail(c->err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "%s: cannot allocate %zu bytes", c->path, cap);
  clm_status st = CLM_OK;
  for (;;) {
    char *nl = memchr(buf + scan, '\n', end - scan);
    if (nl) {
      c->line++;
      if ((st = parse_line(c, buf + start, nl)) != CLM_OK)
        break;
      start = scan = (size_t)(nl - buf) + 1;
      continue;
    }
    scan = end;
    if (end - start > CSV_MAX_LINE + 1) { /* even if "\r\n" comes next */
      c->line++;
      st = too_long(c);
      break;
    }
    if (eof) {
      if (start < end) {
        c->line++;
        st = parse_line(c, buf + start, buf + end);
      }
      break;
    }
    if (start > 0) {
      memmove(buf, buf + start, end - start);
      base += start;
      end -= start;
      scan = end;
      start = 0;
    }
    if (cap - 1 - end < CSV_BLOCK / 2 && cap < CSV_BUF_MAX) {
      size_t ncap = cap * 2 < CSV_BUF_MAX ? cap * 2 : CSV_BUF_MAX;
      char *nb = clm_realloc(buf, ncap);
      if (!nb) {
        st = clm_fail(c->err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                      "%s: cannot allocate %zu bytes", c->path, ncap);
        break;
      }
      buf = nb;
      cap = ncap;
    }
    size_t room = cap - 1 - end;
    if (room > CSV_BLOCK)
      room = CSV_BLOCK;
    /* room > 0: end - start <= CSV_MAX_LINE + 1 = CSV_BUF_MAX - 2 here. */
    ssize_t r = read(fd, buf + end, room);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      st = io_fail(c->err, c->path, "cannot read", errno);
      break;
    }
    if (r == 0) {
      eof = 1;
      continue;
    }
    for (size_t i = 0; nhead < sizeof head && i < (size_t)r; i++)
      head[nhead++] = (unsigned char)buf[end + i];
    const char *z = memchr(buf + end, '\0', (size_t)r);
    if (z) {
      st = nul_byte(c, base + (uint64_t)(z - buf), head, nhead);
      break;
    }
    end += (size_t)r;
  }
  free(buf);
  return st;
}

clm_status clm_array_load_csv(const char *path, clm_array **out,
                              clm_error *err) {
  clm_error_clear(err);
  if (out)
    *out = NULL;
  if (!path || !out)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_array_load_csv: path and out must not be NULL");
  /* A FIFO blocks here until a writer opens it, as for any reader. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
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
  clm_array *a = clm_array_new(path);
  if (!a) {
    close(fd);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0, "%s: out of memory",
                    path);
  }
  csv_ctx c = {0};
  c.path = path;
  c.err = err;
  c.loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  clm_status st = read_csv(&c, fd);
  close(fd);
  if (c.loc)
    freelocale(c.loc);
  if (st != CLM_OK) {
    free(c.vals);
    clm_array_free(a);
    return st;
  }
  a->dtype = CLM_DTYPE_F64;
  a->rows = c.rows;
  a->cols = c.rows == 0 ? 1 : c.cols;
  a->ndim = a->cols == 1 ? 1 : 2;
  if (c.nvals > 0) {
    /* Give back the growth slack; keeping the larger block is fine too. */
    double *fit = clm_realloc(c.vals, (size_t)c.nvals * sizeof(double));
    a->owned = fit ? fit : c.vals;
    a->data = a->owned;
  } else {
    free(c.vals);
  }
  *out = a;
  return CLM_OK;
}
