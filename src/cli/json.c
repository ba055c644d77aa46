/* A small streaming JSON writer: enough for flat reports, always valid. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void separator(struct json *j) {
  if (!j->first[j->depth])
    fputc(',', j->f);
  j->first[j->depth] = 0;
}

/* Length of the valid UTF-8 sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF) at p, or 0. */
static size_t utf8_sequence(const unsigned char *p, size_t left) {
  const unsigned char b = p[0];
  if (b < 0x80)
    return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
  if (b >= 0xc2 && b <= 0xdf) {
    len = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    len = 3;
    if (b == 0xe0)
      lo = 0xa0; /* no overlong forms */
    else if (b == 0xed)
      hi = 0x9f; /* no surrogates */
  } else if (b >= 0xf0 && b <= 0xf4) {
    len = 4;
    if (b == 0xf0)
      lo = 0x90;
    else if (b == 0xf4)
      hi = 0x8f; /* nothing past U+10FFFF */
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

/* A JSON string that is always valid UTF-8, whatever the bytes: quotes,
 * backslashes and control characters escaped, each byte that does not
 * start a valid UTF-8 sequence written as U+FFFD. */
static void write_escaped(FILE *f, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  size_t left = strlen(s);
  fputc('"', f);
  while (left > 0) {
    const unsigned char b = *p;
    size_t len = 1;
    if (b == '"' || b == '\\')
      fprintf(f, "\\%c", b);
    else if (b < 0x20 || b == 0x7f)
      fprintf(f, "\\u%04x", b);
    else if (b < 0x80)
      fputc(b, f);
    else if ((len = utf8_sequence(p, left)) > 0)
      fwrite(p, 1, len, f);
    else {
      fputs("\\ufffd", f);
      len = 1;
    }
    p += len;
    left -= len;
  }
  fputc('"', f);
}

void json_key(struct json *j, const char *key) {
  separator(j);
  if (key) {
    write_escaped(j->f, key);
    fputc(':', j->f);
  }
}

void json_begin(struct json *j, FILE *f) {
  j->f = f;
  j->depth = 0;
  j->first[0] = 1;
  fputc('{', f);
}

void json_end(struct json *j) {
  fputs("}\n", j->f);
}

void json_object_open(struct json *j, const char *key) {
  json_key(j, key);
  fputc('{', j->f);
  j->first[++j->depth] = 1;
}

void json_object_close(struct json *j) {
  fputc('}', j->f);
  --j->depth;
}

void json_array_open(struct json *j, const char *key) {
  json_key(j, key);
  fputc('[', j->f);
  j->first[++j->depth] = 1;
}

void json_array_close(struct json *j) {
  fputc(']', j->f);
  --j->depth;
}

void json_string(struct json *j, const char *key, const char *value) {
  json_key(j, key);
  write_escaped(j->f, value ? value : "");
}

void json_number(struct json *j, const char *key, double v) {
  json_key(j, key);
  if (isnan(v))
    fputs("null", j->f);
  else if (isinf(v))
    fputs(v > 0 ? "1e999" : "-1e999", j->f);
  else {
    /* Shortest of 15..17 significant digits that reads back exactly. */
    char buf[40];
    for (int prec = 15; prec <= 17; ++prec) {
      snprintf(buf, sizeof buf, "%.*g", prec, v);
      if (strtod(buf, NULL) == v)
        break;
    }
    fputs(buf, j->f);
  }
}

void json_u64(struct json *j, const char *key, unsigned long long v) {
  json_key(j, key);
  fprintf(j->f, "%llu", v);
}

void json_bool(struct json *j, const char *key, int v) {
  json_key(j, key);
  fputs(v ? "true" : "false", j->f);
}
