/* `clmetrics multiclass`: K x K confusion matrix on the device and a
 * classification report. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: clmetrics multiclass --labels FILE (--pred FILE | --scores FILE)"
      " [options]\n\n"
      "Multi-class metrics from predicted labels or an N x K score matrix,\n"
      "counted on an OpenCL device.\n\n"
      "  --labels FILE        true classes in [0, K) (integer or integral "
      "float)\n"
      "  --pred FILE          predicted classes in [0, K)\n"
      "  --scores FILE        N x K scores; the prediction is the row's argmax"
      "\n"
      "                       (ties to the lowest class), plus cross-entropy\n"
      "  --scores-kind KIND   logits (default) or probs\n"
      "  --classes K          number of classes (default: the score matrix's\n"
      "                       width, else the largest label + 1)\n"
      "  --top-k k            also report top-k accuracy (needs --scores)\n"
      "  --names FILE         class names, one per line (K lines)\n"
      "  --zero-division V    value of 0/0 ratios: 0 (default), 1 or nan\n"
      "  --device SPEC        device index or name substring "
      "(CLMETRICS_DEVICE)\n"
      "  --json               print one JSON object instead of the report\n"
      "  --help               this help\n");
}

int cli_multiclass_parse_args(int argc, char **argv,
                              struct cli_multiclass_args *a) {
  a->kind = CLM_SCORES_LOGITS;
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      usage(stdout);
      return CLI_EXIT_OK;
    }
    if (strcmp(arg, "--json") == 0) {
      a->json = 1;
      continue;
    }
    static const char *const with_value[] = {
        "--labels", "--pred",  "--scores",        "--scores-kind", "--classes",
        "--top-k",  "--names", "--zero-division", "--device",      NULL};
    const char *v = NULL;
    const int rc = cli_take_value(argc, argv, &i, with_value, "multiclass", &v);
    if (rc >= 0)
      return rc;
    if (strcmp(arg, "--labels") == 0)
      a->labels = v;
    else if (strcmp(arg, "--pred") == 0)
      a->pred = v;
    else if (strcmp(arg, "--scores") == 0)
      a->scores = v;
    else if (strcmp(arg, "--names") == 0)
      a->names = v;
    else if (strcmp(arg, "--device") == 0)
      a->device = v;
    else if (strcmp(arg, "--scores-kind") == 0) {
      if (cli_parse_scores_kind(v, &a->kind) != 0)
        return cli_usage_error(
            "multiclass", "--scores-kind must be logits or probs, not '%s'", v);
    } else if (strcmp(arg, "--classes") == 0) {
      if (cli_parse_u64(v, &a->classes) != 0 || a->classes < 2 ||
          a->classes > 0x7fffffffULL)
        return cli_usage_error(
            "multiclass", "--classes must be an integer >= 2, not '%s'", v);
    } else if (strcmp(arg, "--top-k") == 0) {
      if (cli_parse_u64(v, &a->top_k) != 0 || a->top_k < 1)
        return cli_usage_error(
            "multiclass", "--top-k must be a positive integer, not '%s'", v);
    } else if (strcmp(arg, "--zero-division") == 0) {
      if (cli_parse_zero_division(v, &a->zd) != 0)
        return cli_usage_error(
            "multiclass", "--zero-division must be 0, 1 or nan, not '%s'", v);
    }
  }
  if (!a->labels || (!a->pred == !a->scores))
    return cli_usage_error("multiclass",
                           "--labels and exactly one of --pred or --scores "
                           "are required");
  if (a->top_k && !a->scores)
    return cli_usage_error("multiclass", "--top-k needs --scores");
  return -1;
}

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

/* Reads K class names, one per line of any length (trailing blank lines
 * ignored; a "\r\n" ending is one); returns NULL after printing an error.
 * A stream that is not a regular file (a pipe, a device) is read up to
 * 1 MiB a line and K + 2^20 lines, so an endless one cannot take all
 * memory or time. */
static char **read_names(const char *path, uint32_t k) {
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
  const int regular = S_ISREG(sb.st_mode);
  const size_t limit = regular ? SIZE_MAX : (size_t)1 << 20;
  char **names = calloc(k, sizeof *names);
  char *line = NULL;
  size_t cap = 0, at = 0;
  long long got;
  uint64_t count = 0, blanks = 0, lineno = 0;
  int ok = names != NULL;
  if (!ok)
    cli_error("%s: out of memory reading class names", path);
  errno = 0;
  while (ok && (got = read_line(f, &line, &cap, limit, &at)) != -1) {
    ++lineno;
    if (got < 0 || (!regular && lineno > (uint64_t)k + ((uint64_t)1 << 20))) {
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
      ok = 0;
      break;
    }
    size_t len = (size_t)got;
    if (len > 0 && line[len - 1] == '\r')
      line[--len] = '\0';
    if (lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
      memmove(line, line + 3, len - 2); /* a UTF-8 byte-order mark */
      len -= 3;
    }
    if (check_name(path, lineno, line, len) != 0) {
      ok = 0;
      break;
    }
    if (len == 0) {
      ++blanks; /* a name only if more names follow */
      continue;
    }
    for (; blanks > 0 && ok; --blanks, ++count)
      if (count < k)
        ok = (names[count] = strdup("")) != NULL;
    if (count < k)
      ok = ok && (names[count] = strdup(line)) != NULL;
    ++count;
    if (!ok)
      cli_error("%s: out of memory reading class names", path);
  }
  if (ok && ferror(f)) {
    cli_error("%s: cannot read class names: %s", path,
              strerror(errno ? errno : EIO));
    ok = 0;
  }
  free(line);
  fclose(f);
  if (ok && count != k) {
    cli_error("%s: %llu class names for %u classes", path,
              (unsigned long long)count, k);
    ok = 0;
  }
  if (!ok && names) {
    for (uint32_t c = 0; c < k; ++c)
      free(names[c]);
    free(names);
    names = NULL;
  }
  return names;
}

static void free_names(char **names, uint32_t k) {
  if (!names)
    return;
  for (uint32_t c = 0; c < k; ++c)
    free(names[c]);
  free(names);
}

/* Class c's name (or number) cut to fit `cap` bytes, never inside a UTF-8
 * sequence. */
static void class_name(char **names, uint32_t c, char *buf, size_t cap) {
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

static void fmt(char *buf, size_t cap, double v) {
  if (isnan(v))
    snprintf(buf, cap, "nan");
  else
    snprintf(buf, cap, "%.4f", v);
}

/* Lists the classes whose metric was 0/0 in one warning per metric. */
static void warn_undefined(const clm_multiclass_result *r, char **names,
                           clm_zero_division zd) {
  const char *as = zd == CLM_ZERO_DIVISION_ONE   ? "1"
                   : zd == CLM_ZERO_DIVISION_NAN ? "nan"
                                                 : "0";
  static const struct {
    unsigned bit;
    const char *what, *why;
  } kinds[] = {{CLM_UNDEF_PRECISION, "precision", "no predicted samples"},
               {CLM_UNDEF_RECALL, "recall", "no true samples"},
               {CLM_UNDEF_F1, "F1", "no true or predicted samples"}};
  for (size_t q = 0; q < 3; ++q) {
    char list[512] = "";
    size_t len = 0;
    uint32_t count = 0;
    for (uint32_t c = 0; c < r->n_classes; ++c) {
      if (!(r->per_class[c].undefined & kinds[q].bit))
        continue;
      if (count < 20 && len < sizeof list - 64) {
        char name[64];
        class_name(names, c, name, sizeof name);
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                count ? ", " : "", name);
      }
      ++count;
    }
    if (count)
      cli_warning("%s is undefined (%s) for %u class%s: %s%s; reported as %s "
                  "(--zero-division)",
                  kinds[q].what, kinds[q].why, count, count == 1 ? "" : "es",
                  list, count > 20 ? ", ..." : "", as);
  }
  if (r->undefined & CLM_UNDEF_MCC)
    cli_warning("MCC is undefined (all true or all predicted labels are one "
                "class); reported as %s (--zero-division)",
                as);
  if (r->undefined & CLM_UNDEF_KAPPA)
    cli_warning("Cohen's kappa is undefined (chance agreement is 1); "
                "reported as %s (--zero-division)",
                as);
}

void cli_print_multiclass_text(FILE *f, const clm_multiclass_result *r,
                               const uint64_t *cm, char **names,
                               const clm_context *ctx, double startup_s,
                               double compute_s, double total_s) {
  const uint32_t k = r->n_classes;
  int w = 12;
  for (uint32_t c = 0; names && c < k; ++c)
    if ((int)strlen(names[c]) > w)
      w = (int)strlen(names[c]) > 40 ? 40 : (int)strlen(names[c]);
  char a[32], b[32], d[32];
  fprintf(f, "multi-class evaluation: %llu samples, %u classes\n",
          (unsigned long long)r->n, k);
  const clm_device_info *dev = clm_context_device(ctx);
  fprintf(f, "device: %s / %s (%s)\n\n", dev->platform, dev->name, dev->type);
  fprintf(f, "%*s %10s %10s %10s %12s\n\n", w, "", "precision", "recall",
          "f1-score", "support");
  for (uint32_t c = 0; c < k; ++c) {
    const clm_class_metrics *m = &r->per_class[c];
    char name[64];
    class_name(names, c, name, (size_t)w + 1);
    fmt(a, sizeof a, m->precision);
    fmt(b, sizeof b, m->recall);
    fmt(d, sizeof d, m->f1);
    fprintf(f, "%*s %10s %10s %10s %12llu\n", w, name, a, b, d,
            (unsigned long long)m->support);
  }
  fprintf(f, "\n");
  fmt(a, sizeof a, r->accuracy);
  fprintf(f, "%*s %10s %10s %10s %12llu\n", w, "accuracy", "", "", a,
          (unsigned long long)r->n);
  const struct {
    const char *name;
    const clm_average_metrics *m;
  } avgs[] = {{"macro avg", &r->macro},
              {"weighted avg", &r->weighted},
              {"micro avg", &r->micro}};
  for (size_t q = 0; q < 3; ++q) {
    fmt(a, sizeof a, avgs[q].m->precision);
    fmt(b, sizeof b, avgs[q].m->recall);
    fmt(d, sizeof d, avgs[q].m->f1);
    fprintf(f, "%*s %10s %10s %10s %12llu\n", w, avgs[q].name, a, b, d,
            (unsigned long long)r->n);
  }
  fprintf(f, "\n");
  fmt(a, sizeof a, r->balanced_accuracy);
  fprintf(f, "  balanced accuracy  %s\n", a);
  fmt(a, sizeof a, r->mcc);
  fprintf(f, "  MCC                %s\n", a);
  fmt(a, sizeof a, r->cohen_kappa);
  fprintf(f, "  Cohen's kappa      %s\n", a);
  if (r->has_loss)
    fprintf(f, "  cross-entropy      %.6g nats/sample\n",
            r->cross_entropy_mean);
  if (r->top_k)
    fprintf(f, "  top-%u accuracy     %.4f\n", r->top_k, r->top_k_accuracy);
  if (k <= 20 && cm) {
    fprintf(f, "\nconfusion matrix (rows: true class, columns: predicted)\n");
    int cw = 6;
    for (uint64_t q = 0; q < (uint64_t)k * k; ++q) {
      int len = snprintf(NULL, 0, "%llu", (unsigned long long)cm[q]);
      if (len + 1 > cw)
        cw = len + 1;
    }
    fprintf(f, "%*s", w, "");
    for (uint32_t c = 0; c < k; ++c) {
      char name[64];
      class_name(names, c, name, (size_t)cw + 1);
      fprintf(f, " %*s", cw, name);
    }
    fprintf(f, "\n");
    for (uint32_t i = 0; i < k; ++i) {
      char name[64];
      class_name(names, i, name, (size_t)w + 1);
      fprintf(f, "%*s", w, name);
      for (uint32_t j = 0; j < k; ++j)
        fprintf(f, " %*llu", cw, (unsigned long long)cm[(uint64_t)i * k + j]);
      fprintf(f, "\n");
    }
  }
  char rate[32];
  cli_format_rate(compute_s > 0 ? (double)r->n / compute_s : NAN, rate,
                  sizeof rate);
  fprintf(f,
          "\ntiming: start-up %.3f s, compute %.3f s (%ssamples/s), "
          "total %.3f s\n",
          startup_s, compute_s, rate, total_s);
}

static void json_averages(struct json *j, const char *key,
                          const clm_average_metrics *m) {
  json_object_open(j, key);
  json_number(j, "precision", m->precision);
  json_number(j, "recall", m->recall);
  json_number(j, "f1", m->f1);
  json_object_close(j);
}

void cli_print_multiclass_json(FILE *f, const clm_multiclass_result *r,
                               const uint64_t *cm, char **names,
                               clm_zero_division zd, const clm_context *ctx,
                               double startup_s, double compute_s,
                               double total_s) {
  const uint32_t k = r->n_classes;
  struct json j;
  json_begin(&j, f);
  json_string(&j, "task", "multiclass");
  json_u64(&j, "n", r->n);
  json_u64(&j, "classes", k);
  json_array_open(&j, "confusion_matrix");
  for (uint32_t i = 0; i < k; ++i) {
    json_array_open(&j, NULL);
    for (uint32_t c = 0; c < k; ++c)
      json_u64(&j, NULL, cm[(uint64_t)i * k + c]);
    json_array_close(&j);
  }
  json_array_close(&j);
  json_array_open(&j, "per_class");
  for (uint32_t c = 0; c < k; ++c) {
    const clm_class_metrics *m = &r->per_class[c];
    json_object_open(&j, NULL);
    json_u64(&j, "label", c);
    if (names)
      json_string(&j, "name", names[c]);
    json_number(&j, "precision", m->precision);
    json_number(&j, "recall", m->recall);
    json_number(&j, "f1", m->f1);
    json_u64(&j, "support", m->support);
    json_u64(&j, "predicted", m->predicted);
    json_object_close(&j);
  }
  json_array_close(&j);
  json_number(&j, "accuracy", r->accuracy);
  json_number(&j, "balanced_accuracy", r->balanced_accuracy);
  json_number(&j, "mcc", r->mcc);
  json_number(&j, "cohen_kappa", r->cohen_kappa);
  json_averages(&j, "macro", &r->macro);
  json_averages(&j, "micro", &r->micro);
  json_averages(&j, "weighted", &r->weighted);
  if (r->has_loss) {
    json_object_open(&j, "loss");
    json_number(&j, "cross_entropy_mean", r->cross_entropy_mean);
    json_object_close(&j);
  }
  if (r->top_k) {
    json_u64(&j, "top_k", r->top_k);
    json_number(&j, "top_k_accuracy", r->top_k_accuracy);
  }
  json_string(&j, "zero_division",
              zd == CLM_ZERO_DIVISION_ONE   ? "1"
              : zd == CLM_ZERO_DIVISION_NAN ? "nan"
                                            : "0");
  const clm_device_info *dev = clm_context_device(ctx);
  json_object_open(&j, "device");
  json_string(&j, "platform", dev->platform);
  json_string(&j, "name", dev->name);
  json_string(&j, "type", dev->type);
  json_object_close(&j);
  json_object_open(&j, "timing");
  json_number(&j, "startup_s", startup_s);
  json_number(&j, "compute_s", compute_s);
  json_number(&j, "total_s", total_s);
  json_object_close(&j);
  json_end(&j);
}

static int report_error(const clm_error *err, clm_status st) {
  cli_error("%s", err->message[0] ? err->message : clm_status_str(st));
  return CLI_EXIT_ERROR;
}

/* An array used where it lies (mapped or loaded): int32 labels or float32
 * scores, aligned for the device. Everything else is converted batch by
 * batch. */
static int in_place(const clm_array *a, clm_dtype dtype) {
  return clm_array_dtype(a) == dtype &&
         (uintptr_t)clm_array_data(a) % sizeof(int32_t) == 0;
}

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* Rows per update call. Inputs used in place go in one call (up to 2^31
 * rows, so no update passes the uint32 flush limit); converted ones in
 * bounded batches: 2^20 rows of labels (4 MiB a file) or 2^22 floats
 * (16 MiB) of scores, growing with K^2 up to 2^25 rows or 2^26 floats
 * (128 and 256 MiB), since every update zeroes and flushes the K x K
 * device counters once. */
static uint64_t batch_rows(uint64_t n, uint32_t k, int scores, int convert) {
  uint64_t rows;
  const uint64_t cells = (uint64_t)k * k;
  if (!convert)
    rows = (uint64_t)1 << 31;
  else if (!scores)
    rows = clamp_u64(cells, (uint64_t)1 << 20, (uint64_t)1 << 25);
  else
    rows = clamp_u64(cells, (uint64_t)1 << 22, (uint64_t)1 << 26) / k;
  if (rows == 0)
    rows = 1;
  return rows < n ? rows : n;
}

/* Prefixes err->message with "path: ". */
static void name_file(clm_error *err, const char *path) {
  char msg[sizeof err->message];
  const int w = snprintf(msg, sizeof msg, "%s: ", path);
  if (w > 0 && (size_t)w < sizeof msg)
    snprintf(msg + w, sizeof msg - (size_t)w, "%.*s",
             (int)(sizeof msg - (size_t)w - 1), err->message);
  memcpy(err->message, msg, sizeof msg);
}

/* Rows [first, first + m) of a label file as int32: in place, or converted
 * into buf (errors name the file and the file-wide index). */
static clm_status labels_at(const clm_array *a, int32_t *buf, uint64_t first,
                            uint64_t m, const int32_t **out, clm_error *err) {
  if (!buf) {
    *out = (const int32_t *)clm_array_data(a) + first;
    return CLM_OK;
  }
  *out = buf;
  return clm_array_read_labels_i32(a, first, m, buf, err);
}

/* K = the largest label + 1 over both label files, batch by batch; -1 when
 * found (with where it came from in k_from), else the exit code after one
 * message. */
static int infer_classes(const struct cli_multiclass_args *a,
                         const clm_array *labels, const clm_array *pred,
                         uint32_t *k, char *k_from, size_t k_from_cap) {
  const uint64_t n = clm_array_rows(labels);
  const clm_array *arrays[2] = {labels, pred};
  const char *paths[2] = {a->labels, a->pred};
  const uint64_t rows = batch_rows(n, 0, 0, 1);
  int32_t *bufs[2] = {NULL, NULL};
  int rc = -1;
  for (int q = 0; q < 2; ++q)
    if (!in_place(arrays[q], CLM_DTYPE_I32) &&
        !(bufs[q] = malloc(rows * sizeof(int32_t)))) {
      cli_error("cannot allocate %llu labels", (unsigned long long)rows);
      rc = CLI_EXIT_ERROR;
    }
  int32_t mx = 0;
  uint64_t at = 0;
  const char *where = a->labels;
  clm_error err;
  for (uint64_t first = 0; first < n && rc < 0; first += rows) {
    const uint64_t m = n - first < rows ? n - first : rows;
    for (int q = 0; q < 2 && rc < 0; ++q) {
      const int32_t *y;
      const clm_status st = labels_at(arrays[q], bufs[q], first, m, &y, &err);
      if (st != CLM_OK) {
        rc = report_error(&err, st);
        break;
      }
      /* Negative int32 labels used in place are reported by the update. */
      for (uint64_t i = 0; i < m; ++i)
        if (y[i] > mx)
          mx = y[i], at = first + i, where = paths[q];
    }
  }
  free(bufs[0]);
  free(bufs[1]);
  if (rc >= 0)
    return rc;
  if (mx == INT32_MAX) {
    cli_error("%s: index %llu: label %d is too large for a class index (K "
              "= label + 1 would be 2^31; at most 2^31 - 1 classes)",
              where, (unsigned long long)at, (int)mx);
    return CLI_EXIT_ERROR;
  }
  snprintf(k_from, k_from_cap,
           "; K = %lld came from label %d at index %llu of %s (give "
           "--classes to set K)",
           (long long)mx + 1, (int)mx, (unsigned long long)at, where);
  *k = (uint32_t)mx + 1;
  if (*k < 2) {
    cli_error("only one class (0) in %s and %s: need K >= 2; give "
              "--classes",
              a->labels, a->pred);
    return CLI_EXIT_ERROR;
  }
  return -1;
}

/* Host memory for K classes, checked before anything is allocated: the
 * state's K x K uint64 counts, the K x K uint32 device counters (host
 * memory on devices that share it, a mapping of them to flush otherwise)
 * and the per-class results. The library checks the device at the first
 * update. */
static int check_host_memory(uint32_t k, const char *hint) {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0)
    return 0;
  const double host = (double)pages * (double)page;
  const double cells = (double)k * (double)k;
  const double counts = cells * sizeof(uint64_t);
  const double counters = cells * sizeof(uint32_t);
  const double need = counts + counters + (double)k * sizeof(clm_class_metrics);
  if (need <= host)
    return 0;
  cli_error("not enough memory for %u classes: the %u x %u confusion matrix "
            "needs %.2f GB of host memory (%.2f GB of uint64 counts + %.2f GB "
            "of uint32 device counters); this host has %.2f GB%s",
            k, k, k, need / 1e9, counts / 1e9, counters / 1e9, host / 1e9,
            hint);
  return -1;
}

/* Runs the evaluation in batches of bounded size; -1 on success, else the
 * exit code after one message. */
static int evaluate(const struct cli_multiclass_args *a, clm_context *ctx,
                    clm_multiclass_state *state, const clm_array *labels,
                    const clm_array *other, uint32_t k, const char *k_from) {
  const uint64_t n = clm_array_rows(labels);
  const int yt_copy = !in_place(labels, CLM_DTYPE_I32);
  const int other_copy =
      !in_place(other, a->scores ? CLM_DTYPE_F32 : CLM_DTYPE_I32);
  const uint64_t rows =
      batch_rows(n, k, a->scores != NULL, yt_copy || other_copy);
  int32_t *yt_buf = NULL, *yp_buf = NULL;
  float *s_buf = NULL;
  int rc = -1;
  if ((yt_copy && !(yt_buf = malloc(rows * sizeof(int32_t)))) ||
      (other_copy && !a->scores &&
       !(yp_buf = malloc(rows * sizeof(int32_t)))) ||
      (other_copy && a->scores &&
       !(s_buf = malloc(rows * k * sizeof(float))))) {
    cli_error("cannot allocate buffers for %llu samples",
              (unsigned long long)rows);
    rc = CLI_EXIT_ERROR;
  }
  clm_error err;
  for (uint64_t first = 0; first < n && rc < 0; first += rows) {
    const uint64_t m = n - first < rows ? n - first : rows;
    const int32_t *yt = NULL, *yp = NULL;
    const float *s = NULL;
    clm_status st = labels_at(labels, yt_buf, first, m, &yt, &err);
    if (st == CLM_OK && !a->scores) {
      st = labels_at(other, yp_buf, first, m, &yp, &err);
    } else if (st == CLM_OK && !s_buf) {
      s = (const float *)clm_array_data(other) + first * k;
    } else if (st == CLM_OK && clm_array_dtype(other) == CLM_DTYPE_F64) {
      /* float64 scores (NumPy's default, CSV): rounded to float32 without
       * changing any row's argmax. */
      st = clm_multiclass_scores_from_f64_at(
          (const double *)clm_array_data(other) + first * k, m, first, k,
          a->kind, s_buf, &err);
      if (st != CLM_OK)
        name_file(&err, a->scores);
      s = s_buf;
    } else if (st == CLM_OK) {
      st = clm_array_read_values_f32(other, first, m, s_buf, 0, &err);
      s = s_buf;
    }
    if (st != CLM_OK) {
      rc = report_error(&err, st);
      break;
    }
    if (a->scores)
      st = clm_multiclass_update_scores_at(ctx, state, first, yt, s, m, a->kind,
                                           NULL, &err);
    else
      st = clm_multiclass_update_labels_at(ctx, state, first, yt, yp, m, &err);
    if (st != CLM_OK) {
      const char *file = err.input == CLM_INPUT_SCORES   ? a->scores
                         : err.input == CLM_INPUT_PRED   ? a->pred
                         : err.input == CLM_INPUT_LABELS ? a->labels
                                                         : NULL;
      const char *hint =
          st == CLM_ERR_BAD_LABEL && a->classes ? " (--classes)" : "";
      if (file)
        cli_error("%s: %s%s", file, err.message, hint);
      else
        cli_error("%s%s", err.message[0] ? err.message : clm_status_str(st),
                  k_from);
      rc = CLI_EXIT_ERROR;
    }
  }
  free(s_buf);
  free(yp_buf);
  free(yt_buf);
  return rc;
}

int cli_multiclass(int argc, char **argv) {
  struct cli_multiclass_args a;
  memset(&a, 0, sizeof a);
  int rc = cli_multiclass_parse_args(argc, argv, &a);
  if (rc >= 0)
    return rc;
  clm_array *labels = NULL, *other = NULL;
  clm_context *ctx = NULL;
  clm_multiclass_state state;
  memset(&state, 0, sizeof state);
  clm_multiclass_result res;
  memset(&res, 0, sizeof res);
  char **names = NULL;
  uint32_t k = 0;
  char k_from[512] = ""; /* where an inferred K came from, for errors */
  clm_error err;
  clm_status st;
  rc = CLI_EXIT_ERROR;

  const char *other_path = a.pred ? a.pred : a.scores;
  if ((st = clm_array_load(a.labels, &labels, &err)) != CLM_OK ||
      (st = clm_array_load(other_path, &other, &err)) != CLM_OK) {
    rc = report_error(&err, st);
    goto done;
  }
  const uint64_t n = clm_array_rows(labels);
  /* Shapes first (a read of no rows checks them, naming the file). */
  if ((st = clm_array_read_labels_i32(labels, 0, 0, NULL, &err)) != CLM_OK) {
    rc = report_error(&err, st);
    goto done;
  }
  if (a.scores) {
    if (clm_array_ndim(other) != 2) {
      cli_error("%s: scores must be a 2-D N x K matrix, got a 1-D array of "
                "%llu values (for binary scores use `clmetrics binary`)",
                a.scores, (unsigned long long)clm_array_rows(other));
      goto done;
    }
    const uint64_t width = clm_array_cols(other);
    if (a.classes && a.classes != width) {
      cli_error("%s has %llu columns but --classes is %llu", a.scores,
                (unsigned long long)width, a.classes);
      goto done;
    }
    k = (uint32_t)(width > 0x7fffffffULL ? 0 : width);
    if (width < 2 || width > 0x7fffffffULL) {
      cli_error("%s: need at least 2 classes (columns), got %llu", a.scores,
                (unsigned long long)width);
      goto done;
    }
  } else if ((st = clm_array_read_labels_i32(other, 0, 0, NULL, &err)) !=
             CLM_OK) {
    rc = report_error(&err, st);
    goto done;
  }
  if (clm_array_rows(other) != n) {
    cli_error("length mismatch: %s has %llu labels but %s has %llu rows",
              a.labels, (unsigned long long)n, other_path,
              (unsigned long long)clm_array_rows(other));
    goto done;
  }
  if (n == 0) {
    cli_error("%s: empty input (0 samples)", a.labels);
    goto done;
  }
  if (!a.scores) {
    if (a.classes)
      k = (uint32_t)a.classes;
    else if ((rc = infer_classes(&a, labels, other, &k, k_from,
                                 sizeof k_from)) >= 0)
      goto done;
    rc = CLI_EXIT_ERROR;
  }
  char hint[sizeof k_from + 64];
  if (a.classes)
    snprintf(hint, sizeof hint, " (--classes)");
  else if (a.scores)
    snprintf(hint, sizeof hint, " (the columns of %s)", a.scores);
  else
    snprintf(hint, sizeof hint, "%s", k_from);
  if (check_host_memory(k, hint) != 0)
    goto done;
  if (a.top_k > k) {
    cli_error("--top-k %llu exceeds the number of classes (%u)", a.top_k, k);
    goto done;
  }
  if (a.names && !(names = read_names(a.names, k)))
    goto done;

  if ((rc = cli_open_context(a.device, &ctx)) != CLI_EXIT_OK)
    goto done;
  rc = CLI_EXIT_ERROR;
  const double t0 = cli_now();
  st = clm_multiclass_state_init(&state, k, (uint32_t)a.top_k);
  if (st != CLM_OK) {
    cli_error("cannot prepare a %u-class state: %s%s", k, clm_status_str(st),
              k_from);
    goto done;
  }
  if ((rc = evaluate(&a, ctx, &state, labels, other, k, k_from)) >= 0)
    goto done;
  rc = CLI_EXIT_ERROR;
  st = clm_multiclass_finalize(&state, a.zd, &res);
  if (st != CLM_OK) {
    cli_error("%s", clm_status_str(st));
    goto done;
  }
  const double compute_s = cli_now() - t0;
  warn_undefined(&res, names, a.zd);
  if (a.json)
    cli_print_multiclass_json(stdout, &res, state.confusion, names, a.zd, ctx,
                              clm_context_startup_seconds(ctx), compute_s,
                              cli_now() - cli_start_time);
  else
    cli_print_multiclass_text(stdout, &res, state.confusion, names, ctx,
                              clm_context_startup_seconds(ctx), compute_s,
                              cli_now() - cli_start_time);
  rc = CLI_EXIT_OK;
done:
  clm_multiclass_result_release(&res);
  clm_multiclass_state_release(&state);
  clm_context_free(ctx);
  free_names(names, k);
  clm_array_free(other);
  clm_array_free(labels);
  return rc;
}
