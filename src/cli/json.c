/* A small streaming JSON writer: enough for flat reports, always valid. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>

static void separator(struct json *j) {
  if (!j->first[j->depth])
    fputc(',', j->f);
  j->first[j->depth] = 0;
}

static void write_escaped(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; ++p) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
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
