/* Class names for `multiclass --names`: read from a text file, one per
 * line, checked to be UTF-8 (the JSON report holds them as they are), and
 * cut to a column width for the text report. */
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Length of the valid UTF-8 sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF) at p, or 0. */
static size_t utf8_sequence(const unsigned char *p, size_t left) {
  if (left == 0)
    return 0;
  const unsigned char b = p[0];
  if (b < 0x80)
    return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
  if (b >= 0xc2 && b <= 0xdf)
    len = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    len = 3;
    if (b == 0xe0)
      lo = 0xa0;
    else if (b == 0xed)
      hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    len = 4;
    if (b == 0xf0)
      lo = 0x90;
    else if (b == 0xf4)
      hi = 0x8f;
  } else {
    return 0;
  }
  if (left < len || p[1] < lo || p[1] > hi)
    return 0;
  for (size_t q = 2; q < len; ++q)
    if (p[q] < 0x80 || p[q] > 0xbf)
      return 0;
  return len;
}

/* Checks one line of class names is valid UTF-8, so that the JSON report
 * holds the names as they are. */
static int check_name(const char *path, uint64_t lineno, const char *line,
                      size_t len) {
  const unsigned char *p = (const unsigned char *)line;
  for (size_t i = 0; i < len;) {
    const size_t q = utf8_sequence(p + i, len - i);
    if (q == 0) {
      cli_error("%s: line %llu: not valid UTF-8 (byte 0x%02x at byte %zu); "
                "class names must be UTF-8 text",
                path, (unsigned long long)lineno, p[i], i + 1);
      return -1;
    }
    i += q;
  }
  return 0;
}

/* One line of f into *buf (NUL-terminated, without its "\n"): its length,
 * or -1 at the end of the file with nothing read, -2 at a NUL byte (its
 * offset in *at), -3 past `limit` bytes, -4 out of memory. */
static long long read_line(FILE *f, char **buf, size_t *size, size_t limit,
                           size_t *at) {
  size_t len = 0;
  int c;
  for (;;) {
    if (len + 1 >= *size) {
      const size_t grown = *size ? 2 * *size : 256;
      char *p = realloc(*buf, grown);
      if (!p)
        return -4;
      *buf = p;
      *size = grown;
    }
    c = getc_unlocked(f);
    if (c == EOF || c == '\n')
      break;
    if (c == 0) {
      *at = len;
      return -2;
    }
    if (len >= limit)
      return -3;
    (*buf)[len++] = (char)c;
  }
  (*buf)[len] = '\0';
  return c == EOF && len == 0 ? -1 : (long long)len;
}

/* Opens the names file, refusing a directory (which fopen accepts); sets
 * *regular when it is a regular file. NULL after printing an error. */
static FILE *open_names(const char *path, int *regular) {
  FILE *f = fopen(path, "r");
  if (!f) {
    cli_error("%s: cannot open class names: %s", path, strerror(errno));
    return NULL;
  }
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0) {
    cli_error("%s: cannot read class names: %s", path, strerror(errno));
    fclose(f);
    return NULL;
  }
  if (S_ISDIR(sb.st_mode)) {
    cli_error("%s: is a directory; --names takes a text file with one class "
              "name per line",
              path);
    fclose(f);
    return NULL;
  }
  *regular = S_ISREG(sb.st_mode);
  return f;
}

/* The error for line `lineno` that read_line could not read (got < 0), or
 * that is one too many for a stream that is not a regular file. */
static void line_error(const char *path, uint64_t lineno, long long got,
                       size_t at, size_t limit, uint32_t k) {
  if (got == -2)
    cli_error("%s: line %llu: a NUL byte at byte %zu (class names are "
              "text, one per line)",
              path, (unsigned long long)lineno, at + 1);
  else if (got == -3)
    cli_error("%s: line %llu: longer than %zu bytes (not a file of "
              "class names?)",
              path, (unsigned long long)lineno, limit);
  else if (got == -4)
    cli_error("%s: out of memory reading line %llu", path,
              (unsigned long long)lineno);
  else
    cli_error("%s: more than %llu lines for %u class names", path,
              (unsigned long long)lineno - 1, k);
}

/* Drops a "\r" ending (so "\r\n" files read the same) and, on the first
 * line, a UTF-8 byte-order mark; returns the new length. */
static size_t strip_line(char *line, size_t len, uint64_t lineno) {
  if (len > 0 && line[len - 1] == '\r')
    line[--len] = '\0';
  if (lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
    memmove(line, line + 3, len - 2); /* a UTF-8 byte-order mark */
    len -= 3;
  }
  return len;
}

/* Names read so far: blank lines are held back and become empty names
 * only if a name follows, so trailing blank lines are ignored. Names past
 * the k-th are counted (for the error) but not kept. */
struct name_list {
  char **names;
  uint32_t k;
  uint64_t count, blanks;
};

/* Adds the non-empty name `line` after the blank lines before it; 0, or
 * -1 out of memory. */
static int add_name(struct name_list *l, const char *line) {
  int ok = 1;
  for (; l->blanks > 0 && ok; --l->blanks, ++l->count)
    if (l->count < l->k)
      ok = (l->names[l->count] = strdup("")) != NULL;
  if (l->count < l->k)
    ok = ok && (l->names[l->count] = strdup(line)) != NULL;
  ++l->count;
  return ok ? 0 : -1;
}

/* Reads the lines of f into l; 0, or -1 after printing an error. A stream
 * that is not a regular file (a pipe, a device) is read up to 1 MiB a line
 * and K + 2^20 lines, so an endless one cannot take all memory or time. */
static int read_lines(FILE *f, const char *path, int regular,
                      struct name_list *l) {
  const size_t limit = regular ? SIZE_MAX : (size_t)1 << 20;
  char *line = NULL;
  size_t cap = 0, at = 0;
  long long got;
  uint64_t lineno = 0;
  int ok = 1;
  errno = 0;
  while (ok && (got = read_line(f, &line, &cap, limit, &at)) != -1) {
    ++lineno;
    if (got < 0 ||
        (!regular && lineno > (uint64_t)l->k + ((uint64_t)1 << 20))) {
      line_error(path, lineno, got, at, limit, l->k);
      ok = 0;
      break;
    }
    const size_t len = strip_line(line, (size_t)got, lineno);
    if (check_name(path, lineno, line, len) != 0) {
      ok = 0;
      break;
    }
    if (len == 0) {
      ++l->blanks; /* a name only if more names follow */
      continue;
    }
    if (add_name(l, line) != 0) {
      cli_error("%s: out of memory reading class names", path);
      ok = 0;
    }
  }
  if (ok && ferror(f)) {
    cli_error("%s: cannot read class names: %s", path,
              strerror(errno ? errno : EIO));
    ok = 0;
  }
  free(line);
  return ok ? 0 : -1;
}

/* Reads K class names, one per line of any length (trailing blank lines
 * ignored; a "\r\n" ending is one). */
char **cli_read_class_names(const char *path, uint32_t k) {
  int regular = 0;
  FILE *f = open_names(path, &regular);
  if (!f)
    return NULL;
  struct name_list l = {calloc(k, sizeof(char *)), k, 0, 0};
  if (!l.names) {
    cli_error("%s: out of memory reading class names", path);
    fclose(f);
    return NULL;
  }
  int ok = read_lines(f, path, regular, &l) == 0;
  fclose(f);
  if (ok && l.count != k) {
    cli_error("%s: %llu class names for %u classes", path,
              (unsigned long long)l.count, k);
    ok = 0;
  }
  if (!ok) {
    cli_free_class_names(l.names, k);
    return NULL;
  }
  return l.names;
}

void cli_free_class_names(char **names, uint32_t k) {
  if (!names)
    return;
  for (uint32_t c = 0; c < k; ++c)
    free(names[c]);
  free(names);
}

void cli_class_name(char **names, uint32_t c, char *buf, size_t cap) {
  if (!names) {
    snprintf(buf, cap, "%u", c);
    return;
  }
  const unsigned char *p = (const unsigned char *)names[c];
  const size_t total = strlen(names[c]);
  size_t len = 0;
  while (len < total) {
    size_t q = utf8_sequence(p + len, total - len);
    if (q == 0)
      q = 1; /* names were checked when read */
    if (len + q >= cap)
      break;
    len += q;
  }
  memcpy(buf, names[c], len);
  buf[len] = '\0';
}
