/* Saved states in the CLI: the bundle of one run (options + library
 * states), its bytes, the merge with option checks, and the report from a
 * (merged) bundle.
 *
 * Bundle bytes (version CLI_STATE_VERSION), every integer little-endian:
 *   0       4  magic "CLMB"
 *   4       4  bundle version
 *   8       4  command family (1 binary, 2 multiclass, 3 multilabel)
 *   12      4  reserved, 0
 *   16      8  payload length P
 *   24      P  payload
 *   24 + P  4  CRC-32C of bytes [0, 24 + P)
 * Payload: kind, zero_division, flags, calibration bins, names count u32;
 * merged u64; each name (u32 length, bytes); section count u32; sections
 * (tag u32, length u64, a library saved state: tag 1 task, 2 calibration,
 * 3 ranking, 4 micro ranking). */
#include "cli_multilabel.h"
#include "cli_state.h"
#include "report_html.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { TAG_TASK = 1, TAG_CALIBRATION = 2, TAG_RANKING = 3, TAG_MICRO = 4 };

static const char *family_name(enum cli_state_family f) {
  return f == CLI_STATE_BINARY       ? "binary"
         : f == CLI_STATE_MULTICLASS ? "multiclass"
         : f == CLI_STATE_MULTILABEL ? "multilabel"
                                     : "unknown";
}

void cli_state_free(struct cli_state *s) {
  if (!s)
    return;
  clm_binary_state_release(&s->binary);
  clm_multiclass_state_release(&s->multiclass);
  clm_multilabel_state_release(&s->multilabel);
  clm_calibration_state_release(&s->calibration);
  clm_ranking_state_release(&s->ranking);
  clm_ranking_state_release(&s->ranking_micro);
  cli_free_class_names(s->names, s->n_names);
  free(s);
}

static struct cli_state *state_new(void) {
  struct cli_state *s = calloc(1, sizeof *s);
  if (!s)
    cli_error("cannot allocate a saved state");
  return s;
}

/* ---- bytes ----------------------------------------------------------- */

struct wbuf {
  uint8_t *p;
  size_t len, cap;
  int oom;
};

static void w_bytes(struct wbuf *w, const void *data, size_t n) {
  if (w->oom)
    return;
  if (n > SIZE_MAX / 2 - w->len) {
    w->oom = 1;
    return;
  }
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n)
      cap *= 2;
    uint8_t *p = realloc(w->p, cap);
    if (!p) {
      w->oom = 1;
      return;
    }
    w->p = p;
    w->cap = cap;
  }
  memcpy(w->p + w->len, data, n);
  w->len += n;
}

static void w_le(struct wbuf *w, uint64_t v, int bytes) {
  uint8_t b[8];
  for (int i = 0; i < bytes; ++i)
    b[i] = (uint8_t)(v >> (8 * i));
  w_bytes(w, b, (size_t)bytes);
}

static uint64_t get_le(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* One library state as a section; buf from a clm_*_state_save. */
static void w_section(struct wbuf *w, uint32_t tag, clm_status st, uint8_t *buf,
                      size_t len) {
  if (st != CLM_OK) {
    w->oom = 1;
    return;
  }
  w_le(w, tag, 4);
  w_le(w, len, 8);
  w_bytes(w, buf, len);
  clm_state_buffer_free(buf);
}

int cli_state_to_bytes(const struct cli_state *s, uint8_t **out,
                       size_t *out_len) {
  struct wbuf w = {0};
  w_bytes(&w, "CLMB", 4);
  w_le(&w, CLI_STATE_VERSION, 4);
  w_le(&w, (uint32_t)s->family, 4);
  w_le(&w, 0, 4);
  w_le(&w, 0, 8); /* payload length, patched below */
  w_le(&w, (uint32_t)s->kind, 4);
  w_le(&w, (uint32_t)s->zd, 4);
  w_le(&w, s->flags, 4);
  w_le(&w, s->calibration_bins, 4);
  w_le(&w, s->names ? s->n_names : 0, 4);
  w_le(&w, s->merged, 8);
  for (uint32_t c = 0; s->names && c < s->n_names; ++c) {
    const size_t n = strlen(s->names[c]);
    w_le(&w, n, 4);
    w_bytes(&w, s->names[c], n);
  }
  const uint32_t sections =
      1 + !!s->has_calibration + !!s->has_ranking + !!s->has_ranking_micro;
  w_le(&w, sections, 4);
  uint8_t *b = NULL;
  size_t n = 0;
  clm_error err;
  clm_status st = s->family == CLI_STATE_BINARY
                      ? clm_binary_state_save(&s->binary, &b, &n, &err)
                  : s->family == CLI_STATE_MULTICLASS
                      ? clm_multiclass_state_save(&s->multiclass, &b, &n, &err)
                      : clm_multilabel_state_save(&s->multilabel, &b, &n, &err);
  w_section(&w, TAG_TASK, st, b, n);
  if (s->has_calibration) {
    st = clm_calibration_state_save(&s->calibration, &b, &n, &err);
    w_section(&w, TAG_CALIBRATION, st, b, n);
  }
  if (s->has_ranking) {
    st = clm_ranking_state_save(&s->ranking, &b, &n, &err);
    w_section(&w, TAG_RANKING, st, b, n);
  }
  if (s->has_ranking_micro) {
    st = clm_ranking_state_save(&s->ranking_micro, &b, &n, &err);
    w_section(&w, TAG_MICRO, st, b, n);
  }
  if (!w.oom) {
    for (int i = 0; i < 8; ++i)
      w.p[16 + i] = (uint8_t)((uint64_t)(w.len - 24) >> (8 * i));
    w_le(&w, clm_crc32c(0, w.p, w.len), 4);
  }
  if (w.oom) {
    free(w.p);
    cli_error("cannot serialize the saved state: out of memory");
    return CLI_EXIT_ERROR;
  }
  *out = w.p;
  *out_len = w.len;
  return CLI_EXIT_OK;
}

/* A bounded reader; any overrun latches `bad`. */
struct rbuf {
  const uint8_t *p;
  size_t len, pos;
  int bad;
};

static const uint8_t *r_take(struct rbuf *r, uint64_t n) {
  if (r->bad || n > r->len - r->pos) {
    r->bad = 1;
    return NULL;
  }
  const uint8_t *p = r->p + r->pos;
  r->pos += (size_t)n;
  return p;
}

static uint64_t r_le(struct rbuf *r, int bytes) {
  const uint8_t *p = r_take(r, (uint64_t)bytes);
  return p ? get_le(p, bytes) : 0;
}

/* Loads one section into the bundle; -1 to go on. */
static int load_section(struct cli_state *s, uint32_t tag, const uint8_t *b,
                        size_t n, const char *origin) {
  clm_error err;
  clm_status st = CLM_ERR_FORMAT;
  int *seen = NULL, dummy = 0;
  const char *what = "task";
  switch (tag) {
  case TAG_TASK:
    seen = &dummy;
    st = s->family == CLI_STATE_BINARY
             ? clm_binary_state_load(b, n, &s->binary, &err)
         : s->family == CLI_STATE_MULTICLASS
             ? clm_multiclass_state_load(b, n, &s->multiclass, &err)
             : clm_multilabel_state_load(b, n, &s->multilabel, &err);
    break;
  case TAG_CALIBRATION:
    what = "calibration";
    seen = &s->has_calibration;
    if (!*seen)
      st = clm_calibration_state_load(b, n, &s->calibration, &err);
    break;
  case TAG_RANKING:
  case TAG_MICRO:
    what = tag == TAG_RANKING ? "ranking" : "micro ranking";
    seen = tag == TAG_RANKING ? &s->has_ranking : &s->has_ranking_micro;
    if (!*seen)
      st = clm_ranking_state_load(
          b, n, tag == TAG_RANKING ? &s->ranking : &s->ranking_micro, &err);
    break;
  default:
    cli_error("%s: malformed saved state: unknown section %u", origin,
              (unsigned)tag);
    return CLI_EXIT_ERROR;
  }
  if (*seen) {
    cli_error("%s: malformed saved state: two %s sections", origin, what);
    return CLI_EXIT_ERROR;
  }
  if (st != CLM_OK) {
    cli_error("%s: %s section: %s", origin, what,
              err.message[0] ? err.message : clm_status_str(st));
    return CLI_EXIT_ERROR;
  }
  *seen = 1;
  return -1;
}

/* The bundle's header: magic, version, length, checksum. -1 to go on with
 * the payload in *r. */
static int check_header(const uint8_t *buf, size_t len, const char *origin,
                        struct rbuf *r, uint32_t *family) {
  if (len < 4 || memcmp(buf, "CLMB", 4) != 0) {
    if (len >= 4 && memcmp(buf, "CLMS", 4) == 0)
      cli_error("%s: a library state (clm_*_state_save), not a state saved "
                "by `clmetrics ... --save-state`",
                origin);
    else
      cli_error("%s: not a clmetrics saved state (it does not start with "
                "\"CLMB\")",
                origin);
    return CLI_EXIT_ERROR;
  }
  if (len < 28) {
    cli_error("%s: truncated saved state: %zu bytes, shorter than the "
              "28-byte header and checksum",
              origin, len);
    return CLI_EXIT_ERROR;
  }
  const uint32_t version = (uint32_t)get_le(buf + 4, 4);
  if (version > CLI_STATE_VERSION || version == 0) {
    if (version)
      cli_error("%s: saved state written by a newer clmetrics: format "
                "version %u, this build reads up to %u",
                origin, (unsigned)version, (unsigned)CLI_STATE_VERSION);
    else
      cli_error("%s: malformed saved state: format version 0", origin);
    return CLI_EXIT_ERROR;
  }
  const uint64_t payload = get_le(buf + 16, 8);
  if (payload != len - 28) {
    if (payload > len - 28)
      cli_error("%s: truncated saved state: %zu bytes, the header declares "
                "%llu",
                origin, len, (unsigned long long)payload + 28);
    else
      cli_error("%s: malformed saved state: %llu bytes after its end", origin,
                (unsigned long long)(len - 28 - payload));
    return CLI_EXIT_ERROR;
  }
  const uint32_t stored = (uint32_t)get_le(buf + len - 4, 4);
  const uint32_t computed = clm_crc32c(0, buf, len - 4);
  if (stored != computed) {
    cli_error("%s: corrupted saved state: checksum mismatch (stored CRC-32C "
              "0x%08x, computed 0x%08x)",
              origin, (unsigned)stored, (unsigned)computed);
    return CLI_EXIT_ERROR;
  }
  *family = (uint32_t)get_le(buf + 8, 4);
  if (get_le(buf + 12, 4) != 0 || *family < CLI_STATE_BINARY ||
      *family > CLI_STATE_MULTILABEL) {
    cli_error("%s: malformed saved state: command family %u", origin,
              (unsigned)*family);
    return CLI_EXIT_ERROR;
  }
  r->p = buf + 24;
  r->len = len - 28;
  r->pos = 0;
  r->bad = 0;
  return -1;
}

/* Checks what the sections must hold for the bundle's options. */
static int check_sections(const struct cli_state *s, const char *origin) {
  const char *bad = NULL;
  if (s->has_ranking_micro && s->family != CLI_STATE_MULTILABEL)
    bad = "a micro ranking outside a multilabel state";
  else if (s->has_calibration != !!(s->flags & CLI_STATE_CALIBRATION))
    bad = "the calibration section does not match its flag";
  else if (s->has_ranking && !(s->flags & CLI_STATE_RANKING))
    bad = "a ranking section without ranking";
  else if (s->family == CLI_STATE_MULTILABEL &&
           s->has_ranking != s->has_ranking_micro)
    bad = "a multilabel ranking without its micro part";
  else if (s->has_calibration && s->calibration_bins != s->calibration.n_bins)
    bad = "the calibration bins do not match the calibration state";
  else if (s->n_names &&
           s->n_names !=
               (s->family == CLI_STATE_MULTICLASS   ? s->multiclass.n_classes
                : s->family == CLI_STATE_MULTILABEL ? s->multilabel.n_labels
                                                    : 0))
    bad = "the number of names does not match K or L";
  if (bad) {
    cli_error("%s: malformed saved state: %s", origin, bad);
    return CLI_EXIT_ERROR;
  }
  return -1;
}

int cli_state_from_bytes(const uint8_t *buf, size_t len, const char *origin,
                         struct cli_state **out) {
  *out = NULL;
  struct rbuf r;
  uint32_t family;
  int rc = check_header(buf, len, origin, &r, &family);
  if (rc >= 0)
    return rc;
  struct cli_state *s = state_new();
  if (!s)
    return CLI_EXIT_ERROR;
  s->family = (enum cli_state_family)family;
  const uint32_t kind = (uint32_t)r_le(&r, 4), zd = (uint32_t)r_le(&r, 4);
  s->flags = (uint32_t)r_le(&r, 4);
  s->calibration_bins = (uint32_t)r_le(&r, 4);
  const uint32_t n_names = (uint32_t)r_le(&r, 4);
  s->merged = r_le(&r, 8);
  rc = -1;
  if (r.bad || kind > CLM_SCORES_PROBS || zd > CLM_ZERO_DIVISION_NAN ||
      (s->flags & ~CLI_STATE_FLAGS_ALL) || s->merged == 0 ||
      n_names > (r.len - r.pos) / 4) {
    cli_error("%s: malformed saved state: bad options", origin);
    rc = CLI_EXIT_ERROR;
  }
  s->kind = (clm_scores_kind)kind;
  s->zd = (clm_zero_division)zd;
  if (rc < 0 && n_names) {
    /* Each name takes at least its 4-byte length: n_names is bounded by
     * the bytes present (checked above) before this allocation. */
    if (!(s->names = calloc(n_names, sizeof *s->names))) {
      cli_error("cannot allocate %u names", (unsigned)n_names);
      rc = CLI_EXIT_ERROR;
    }
    s->n_names = s->names ? n_names : 0;
    for (uint32_t c = 0; c < s->n_names && rc < 0; ++c) {
      const uint64_t n = r_le(&r, 4);
      const uint8_t *p = r_take(&r, n);
      if (!p) {
        cli_error("%s: truncated saved state inside the names", origin);
        rc = CLI_EXIT_ERROR;
      } else if (!(s->names[c] = malloc((size_t)n + 1))) {
        cli_error("cannot allocate a name");
        rc = CLI_EXIT_ERROR;
      } else {
        memcpy(s->names[c], p, (size_t)n);
        s->names[c][n] = '\0';
      }
    }
  }
  const uint32_t sections = rc < 0 ? (uint32_t)r_le(&r, 4) : 0;
  int task = 0;
  for (uint32_t i = 0; i < sections && rc < 0; ++i) {
    const uint32_t tag = (uint32_t)r_le(&r, 4);
    const uint64_t n = r_le(&r, 8);
    const uint8_t *p = r_take(&r, n);
    if (!p) {
      cli_error("%s: malformed saved state: section %u runs past the end",
                origin, (unsigned)i);
      rc = CLI_EXIT_ERROR;
      break;
    }
    task += tag == TAG_TASK;
    rc = load_section(s, tag, p, (size_t)n, origin);
  }
  if (rc < 0 && (r.bad || r.pos != r.len || task != 1)) {
    cli_error("%s: malformed saved state: %s", origin,
              task != 1 ? "no task state" : "bytes after the last section");
    rc = CLI_EXIT_ERROR;
  }
  if (rc < 0)
    rc = check_sections(s, origin);
  if (rc >= 0) {
    cli_state_free(s);
    return rc;
  }
  *out = s;
  return CLI_EXIT_OK;
}

int cli_state_read_file(const char *path, struct cli_state **out) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    cli_error("%s: cannot open: %s", path, strerror(errno));
    return CLI_EXIT_ERROR;
  }
  struct stat sb;
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0, hint = 65536;
  /* Read to the end (a pipe works too); the size only sizes the buffer. */
  if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0)
    hint = (size_t)sb.st_size + 1;
  int rc = CLI_EXIT_OK;
  for (;;) {
    if (len == cap) {
      const size_t ncap = cap ? cap * 2 : hint;
      uint8_t *nb = ncap > cap ? realloc(buf, ncap) : NULL;
      if (!nb) {
        cli_error("%s: cannot allocate memory to read the saved state", path);
        rc = CLI_EXIT_ERROR;
        break;
      }
      buf = nb;
      cap = ncap;
    }
    const size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) {
      if (ferror(f)) {
        cli_error("%s: read error: %s", path, strerror(errno));
        rc = CLI_EXIT_ERROR;
      }
      break;
    }
  }
  fclose(f);
  if (rc == CLI_EXIT_OK)
    rc = cli_state_from_bytes(buf, len, path, out);
  free(buf);
  return rc;
}

/* ---- merge ----------------------------------------------------------- */

static int mismatch(const char *origin, const char *option, const char *got,
                    const char *want) {
  cli_error("%s: cannot merge: %s is %s here but %s in the states before it",
            origin, option, got, want);
  return CLI_EXIT_ERROR;
}

static int mismatch_num(const char *origin, const char *option, double got,
                        double want) {
  char a[40], b[40];
  /* The shortest form that reads back exactly (0.7, not 0.69999...). */
  for (int p = 15; p <= 17; ++p) {
    snprintf(a, sizeof a, "%.*g", p, got);
    if (strtod(a, NULL) == got)
      break;
  }
  for (int p = 15; p <= 17; ++p) {
    snprintf(b, sizeof b, "%.*g", p, want);
    if (strtod(b, NULL) == want)
      break;
  }
  return mismatch(origin, option, a, b);
}

static const char *onoff(int v) {
  return v ? "on" : "off";
}

static const char *kind_name(clm_scores_kind k) {
  return k == CLM_SCORES_PROBS ? "probs" : "logits";
}

/* The first option that differs between two states; -1 when they agree. */
static int check_task(const struct cli_state *d, const struct cli_state *s,
                      const char *o) {
  if (d->family == CLI_STATE_BINARY) {
    const clm_binary_state *a = &d->binary, *b = &s->binary;
    if (a->threshold != b->threshold)
      return mismatch_num(o, "--threshold", b->threshold, a->threshold);
    if (a->pos_weight != b->pos_weight)
      return mismatch_num(o, "--pos-weight", b->pos_weight, a->pos_weight);
    if (a->n_features != b->n_features)
      return mismatch_num(o, "the number of --features columns",
                          (double)b->n_features, (double)a->n_features);
  } else if (d->family == CLI_STATE_MULTICLASS) {
    const clm_multiclass_state *a = &d->multiclass, *b = &s->multiclass;
    if (a->n_classes != b->n_classes)
      return mismatch_num(o, "the number of classes K", b->n_classes,
                          a->n_classes);
    if (a->top_k != b->top_k)
      return mismatch_num(o, "--top-k", b->top_k, a->top_k);
    if (a->has_ignore_index != b->has_ignore_index ||
        (a->has_ignore_index && a->ignore_index != b->ignore_index)) {
      char x[24] = "none", y[24] = "none";
      if (b->has_ignore_index)
        snprintf(x, sizeof x, "%d", (int)b->ignore_index);
      if (a->has_ignore_index)
        snprintf(y, sizeof y, "%d", (int)a->ignore_index);
      return mismatch(o, "--ignore-index", x, y);
    }
    if (a->label_smoothing != b->label_smoothing)
      return mismatch_num(o, "--label-smoothing", b->label_smoothing,
                          a->label_smoothing);
    if (!a->class_weight != !b->class_weight ||
        (a->class_weight && memcmp(a->class_weight, b->class_weight,
                                   (size_t)a->n_classes * sizeof(double)) != 0))
      return mismatch(o, "--class-weights",
                      b->class_weight ? "given" : "absent",
                      a->class_weight ? "different values" : "absent");
  } else {
    const clm_multilabel_state *a = &d->multilabel, *b = &s->multilabel;
    if (a->n_labels != b->n_labels)
      return mismatch_num(o, "the number of labels L", b->n_labels,
                          a->n_labels);
    if (a->label_ranking != b->label_ranking)
      return mismatch(o, "label ranking (--no-label-ranking)",
                      onoff(b->label_ranking), onoff(a->label_ranking));
    for (uint32_t c = 0; c < a->n_labels; ++c)
      if (a->thresholds[c] != b->thresholds[c]) {
        char what[64];
        snprintf(what, sizeof what, "the threshold of label %u", (unsigned)c);
        return mismatch_num(o, what, b->thresholds[c], a->thresholds[c]);
      }
  }
  return -1;
}

static int check_ranking(const clm_ranking_state *a, const clm_ranking_state *b,
                         const char *o) {
  if (a->dtype != b->dtype)
    return mismatch(o, "the scores' dtype (ranked as stored)",
                    clm_dtype_name(b->dtype), clm_dtype_name(a->dtype));
  if (a->k != b->k || a->bits != b->bits || a->softmax != b->softmax ||
      a->multilabel != b->multilabel)
    return mismatch(o, "the streaming ranking's layout", "different",
                    "another");
  return -1;
}

static int check_names(const struct cli_state *d, const struct cli_state *s,
                       const char *o) {
  if (!d->names != !s->names)
    return mismatch(o, "--names", s->names ? "given" : "absent",
                    d->names ? "given" : "absent");
  for (uint32_t c = 0; d->names && c < d->n_names; ++c)
    if (strcmp(d->names[c], s->names[c]) != 0) {
      char what[48];
      snprintf(what, sizeof what, "the name of class/label %u", (unsigned)c);
      return mismatch(o, what, s->names[c], d->names[c]);
    }
  return -1;
}

int cli_state_merge(struct cli_state *d, const struct cli_state *s,
                    const char *o) {
  if (d->family != s->family)
    return mismatch(o, "the command", family_name(s->family),
                    family_name(d->family));
  const uint32_t df = d->flags, sf = s->flags;
  if ((df ^ sf) & CLI_STATE_SCORES)
    return mismatch(o, "the input",
                    sf & CLI_STATE_SCORES ? "--scores" : "--pred",
                    df & CLI_STATE_SCORES ? "--scores" : "--pred");
  if (d->kind != s->kind)
    return mismatch(o, "--scores-kind", kind_name(s->kind), kind_name(d->kind));
  if ((df ^ sf) & CLI_STATE_WEIGHTED)
    return mismatch(o, "--weights",
                    sf & CLI_STATE_WEIGHTED ? "given" : "absent",
                    df & CLI_STATE_WEIGHTED ? "given" : "absent");
  if (d->zd != s->zd)
    return mismatch(o, "--zero-division", cli_zero_division_name(s->zd),
                    cli_zero_division_name(d->zd));
  if ((df ^ sf) & CLI_STATE_CALIBRATION)
    return mismatch(o, "calibration (--no-calibration)",
                    onoff(sf & CLI_STATE_CALIBRATION),
                    onoff(df & CLI_STATE_CALIBRATION));
  if (d->calibration_bins != s->calibration_bins)
    return mismatch_num(o, "--calibration-bins", s->calibration_bins,
                        d->calibration_bins);
  if ((df ^ sf) & CLI_STATE_RANKING)
    return mismatch(o, "ranking (--no-ranking)", onoff(sf & CLI_STATE_RANKING),
                    onoff(df & CLI_STATE_RANKING));
  if ((df ^ sf) & CLI_STATE_THRESHOLDS)
    return mismatch(o, "--thresholds",
                    sf & CLI_STATE_THRESHOLDS ? "given" : "absent",
                    df & CLI_STATE_THRESHOLDS ? "given" : "absent");
  int rc = check_task(d, s, o);
  if (rc < 0)
    rc = check_names(d, s, o);
  if (rc < 0 && d->has_ranking != s->has_ranking)
    rc = mismatch(o, "the streaming ranking",
                  s->has_ranking ? "saved" : "absent",
                  d->has_ranking ? "saved" : "absent");
  if (rc < 0 && d->has_ranking)
    rc = check_ranking(&d->ranking, &s->ranking, o);
  if (rc < 0 && d->has_ranking_micro)
    rc = check_ranking(&d->ranking_micro, &s->ranking_micro, o);
  if (rc >= 0)
    return rc;
  /* The comparisons above cover what the library merges check, so none of
   * these fails after another has changed dst; they still check. */
  clm_status st = d->family == CLI_STATE_BINARY
                      ? clm_binary_merge(&d->binary, &s->binary)
                  : d->family == CLI_STATE_MULTICLASS
                      ? clm_multiclass_merge(&d->multiclass, &s->multiclass)
                      : clm_multilabel_merge(&d->multilabel, &s->multilabel);
  if (st == CLM_OK && d->has_calibration)
    st = clm_calibration_merge(&d->calibration, &s->calibration);
  if (st == CLM_OK && d->has_ranking)
    st = clm_ranking_merge(&d->ranking, &s->ranking);
  if (st == CLM_OK && d->has_ranking_micro)
    st = clm_ranking_merge(&d->ranking_micro, &s->ranking_micro);
  if (st != CLM_OK) {
    cli_error("%s: cannot merge: %s", o, clm_status_str(st));
    return CLI_EXIT_ERROR;
  }
  d->merged += s->merged;
  return CLI_EXIT_OK;
}

/* ---- report ---------------------------------------------------------- */

static void warn_no_ranking(const struct cli_state *s) {
  if ((s->flags & CLI_STATE_RANKING) && !s->has_ranking &&
      (s->flags & CLI_STATE_SCORES))
    cli_warning("ROC-AUC and average precision are not in saved states of "
                "weighted runs (the streaming ranking state counts rows, "
                "not weights): left out of the merged report");
}

/* The ranking to report: the caller's exact result, or the streaming
 * state's certified intervals. -1 to go on (out->done when there is one). */
static int ranking_for(const struct cli_state *s, const clm_ranking_state *st,
                       int has, const struct cli_ranking_out *given,
                       struct cli_ranking_out *out) {
  memset(out, 0, sizeof *out);
  if (given) {
    *out = *given;
    out->done = 1;
    return -1;
  }
  if (!has)
    return -1;
  const clm_status rs = clm_ranking_finalize(st, &out->result);
  if (rs != CLM_OK) {
    cli_error("ranking of the merged state: %s", clm_status_str(rs));
    return CLI_EXIT_ERROR;
  }
  (void)s;
  out->done = 1;
  out->interval = 1;
  return -1;
}

static int calibration_for(const struct cli_state *s,
                           struct cli_calibration_out *cal) {
  memset(cal, 0, sizeof *cal);
  if (!s->has_calibration)
    return -1;
  const clm_status st = clm_calibration_finalize(&s->calibration, &cal->result);
  if (st == CLM_ERR_EMPTY) {
    cli_error("calibration: %s", s->calibration.n
                                     ? "the sample weights sum to 0"
                                     : "no samples left (all ignored)");
    return CLI_EXIT_ERROR;
  }
  if (st != CLM_OK) {
    cli_error("calibration: %s", clm_status_str(st));
    return CLI_EXIT_ERROR;
  }
  cal->active = cal->done = 1;
  cal->requested_bins = s->calibration_bins;
  return -1;
}

/* Where the page says the data came from: every input is in the states. */
#define IN_STATES "(in the saved states)"

static int report_binary(const struct cli_state *s, int json,
                         const struct cli_ranking_out *given, double t0,
                         const struct cli_report_args *page,
                         const char *inputs) {
  clm_binary_result res;
  const uint64_t d = s->binary.n_features;
  double *wg = d ? malloc(d * sizeof *wg) : NULL;
  if (d && !wg) {
    cli_error("cannot allocate %llu weight gradients", (unsigned long long)d);
    return CLI_EXIT_ERROR;
  }
  struct cli_calibration_out cal;
  struct cli_ranking_out rank;
  memset(&rank, 0, sizeof rank);
  int rc = -1;
  const clm_status st = clm_binary_finalize(&s->binary, s->zd, &res, wg);
  if (st == CLM_ERR_EMPTY && s->binary.weighted) {
    cli_error("the sample weights sum to 0: every weighted metric is "
              "undefined");
    rc = CLI_EXIT_ERROR;
  } else if (st != CLM_OK) {
    cli_error("%s", clm_status_str(st));
    rc = CLI_EXIT_ERROR;
  }
  if (rc < 0)
    rc = calibration_for(s, &cal);
  if (rc < 0)
    rc = ranking_for(s, &s->ranking, s->has_ranking, given, &rank);
  if (rc < 0) {
    cli_warn_undefined(&res, s->zd);
    cli_ranking_warn(&rank);
    if (!given)
      warn_no_ranking(s);
    const double now = cli_now();
    struct cli_binary_report rep = {
        .result = &res,
        .ctx = NULL,
        .kind = s->kind,
        .zero_division = s->zd,
        .weight_grad = wg,
        .n_features = d,
        .compute_s = now - t0,
        .total_s = now - cli_start_time,
        .labels_path = inputs,
        .scores_path = IN_STATES,
        .ranking = rank.done ? &rank : NULL,
        .calibration = cal.done ? &cal : NULL,
    };
    if (page && (rc = cli_report_binary(page, &rep)) >= 0) {
      /* the page failed: its message is out */
    } else if (json) {
      cli_print_binary_json(stdout, &rep);
    } else {
      cli_print_binary_text(stdout, &rep);
    }
    if (rc < 0)
      rc = CLI_EXIT_OK;
  }
  if (!given)
    clm_ranking_result_release(&rank.result);
  clm_calibration_result_release(&cal.result);
  free(wg);
  return rc;
}

static int report_multiclass(const struct cli_state *s, int json,
                             const struct cli_ranking_out *given, double t0,
                             const struct cli_report_args *page,
                             const char *inputs) {
  clm_multiclass_result res;
  memset(&res, 0, sizeof res);
  struct cli_calibration_out cal;
  struct cli_ranking_out rank;
  memset(&cal, 0, sizeof cal);
  memset(&rank, 0, sizeof rank);
  int rc = -1;
  const clm_status st = clm_multiclass_finalize(&s->multiclass, s->zd, &res);
  if (st == CLM_ERR_EMPTY) {
    cli_error("%s", s->multiclass.n == 0
                        ? "every row has the --ignore-index label: nothing "
                          "to evaluate"
                        : "the sample weights sum to 0: every weighted "
                          "metric is undefined");
    rc = CLI_EXIT_ERROR;
  } else if (st != CLM_OK) {
    cli_error("%s", clm_status_str(st));
    rc = CLI_EXIT_ERROR;
  }
  if (rc < 0)
    rc = calibration_for(s, &cal);
  if (rc < 0)
    rc = ranking_for(s, &s->ranking, s->has_ranking, given, &rank);
  if (rc < 0) {
    cli_warn_multiclass_undefined(&res, s->names, s->zd);
    cli_ranking_warn(&rank);
    if (!given)
      warn_no_ranking(s);
    const struct cli_ranking_out *q = rank.done ? &rank : NULL;
    const struct cli_multiclass_extra extra = {
        s->multiclass.w_confusion, cal.done ? &cal : NULL, &s->multiclass};
    const double now = cli_now();
    const int scores = (s->flags & CLI_STATE_SCORES) != 0;
    const struct cli_report_multiclass mp = {
        .res = &res,
        .cm = s->multiclass.confusion,
        .wcm = s->multiclass.w_confusion,
        .names = s->names,
        .compute_s = now - t0,
        .total_s = now - cli_start_time,
        .ranking = q,
        .calibration = extra.calibration,
        .labels_path = inputs,
        .pred_path = scores ? NULL : IN_STATES,
        .scores_path = scores ? IN_STATES : NULL,
        .weights_path = s->multiclass.w_confusion ? IN_STATES : NULL,
        .kind = s->kind};
    if (page && (rc = cli_report_multiclass(page, &mp)) >= 0) {
      /* the page failed: its message is out */
    } else if (json) {
      cli_print_multiclass_json(stdout, &res, s->multiclass.confusion, s->names,
                                s->zd, NULL, 0.0, now - t0,
                                now - cli_start_time, q, &extra);
    } else {
      cli_print_multiclass_text(stdout, &res, s->multiclass.confusion, s->names,
                                NULL, 0.0, now - t0, now - cli_start_time, q,
                                &extra);
    }
    if (rc < 0)
      rc = CLI_EXIT_OK;
  }
  if (!given)
    clm_ranking_result_release(&rank.result);
  clm_calibration_result_release(&cal.result);
  clm_multiclass_result_release(&res);
  return rc;
}

static int report_multilabel(const struct cli_state *s, int json,
                             const struct cli_ranking_out *given,
                             const clm_ranking_result *given_micro, double t0,
                             const struct cli_report_args *page,
                             const char *inputs) {
  struct cli_multilabel_args a;
  memset(&a, 0, sizeof a);
  a.kind = s->kind;
  a.zd = s->zd;
  a.json = json;
  a.sort = CLI_ML_SORT_DEFAULT;
  a.threshold = s->multilabel.thresholds[0];
  struct cli_multilabel_run r;
  memset(&r, 0, sizeof r);
  r.n = s->multilabel.n;
  r.L = s->multilabel.n_labels;
  r.names = s->names;
  if (s->flags & CLI_STATE_THRESHOLDS)
    r.thresholds = s->multilabel.thresholds;
  int rc = -1;
  clm_status st = clm_multilabel_finalize(&s->multilabel, s->zd, &r.res);
  if (st == CLM_OK && s->multilabel.weighted && !(s->multilabel.w_sum > 0)) {
    cli_error("the sample weights sum to 0: every weighted metric is "
              "undefined");
    rc = CLI_EXIT_ERROR;
  } else if (st != CLM_OK) {
    cli_error("%s", clm_status_str(st));
    rc = CLI_EXIT_ERROR;
  }
  if (rc < 0 && given) {
    r.rank_labels = given->result; /* borrowed: not released here */
    if (given_micro)
      r.rank_micro = *given_micro;
    r.has_ranking = 1;
  } else if (rc < 0 && s->has_ranking) {
    st = clm_ranking_finalize(&s->ranking, &r.rank_labels);
    if (st == CLM_OK)
      st = clm_ranking_finalize(&s->ranking_micro, &r.rank_micro);
    if (st != CLM_OK) {
      cli_error("ranking of the merged state: %s", clm_status_str(st));
      rc = CLI_EXIT_ERROR;
    }
    r.has_ranking = 1;
    r.rank_interval = 1;
  }
  if (rc < 0) {
    cli_warn_multilabel_undefined(&r.res, r.names, s->zd);
    if (!given)
      warn_no_ranking(s);
    r.compute_s = cli_now() - t0;
    r.total_s = cli_now() - cli_start_time;
    a.labels = inputs;
    if (s->flags & CLI_STATE_SCORES)
      a.scores = IN_STATES;
    else
      a.pred = IN_STATES;
    if (s->multilabel.weighted)
      a.weights = IN_STATES;
    if (s->flags & CLI_STATE_THRESHOLDS)
      a.thresholds = IN_STATES;
    if (page && (rc = cli_report_multilabel(page, &a, &r)) >= 0) {
      /* the page failed: its message is out */
    } else if (json) {
      cli_print_multilabel_json(stdout, &a, &r);
    } else {
      cli_print_multilabel_text(stdout, &a, &r);
    }
    if (rc < 0)
      rc = CLI_EXIT_OK;
  }
  if (!given) {
    clm_ranking_result_release(&r.rank_labels);
    clm_ranking_result_release(&r.rank_micro);
  }
  clm_multilabel_result_release(&r.res);
  return rc;
}

int cli_state_report(const struct cli_state *s, int json,
                     const struct cli_ranking_out *ranking) {
  return cli_state_report_page(s, json, ranking, NULL, NULL, "saved states");
}

int cli_state_report_page(const struct cli_state *s, int json,
                          const struct cli_ranking_out *ranking,
                          const clm_ranking_result *micro,
                          const struct cli_report_args *page,
                          const char *inputs) {
  const double t0 = cli_now();
  if (page && !cli_report_wanted(page))
    page = NULL;
  switch (s->family) {
  case CLI_STATE_BINARY:
    return report_binary(s, json, ranking, t0, page, inputs);
  case CLI_STATE_MULTICLASS:
    return report_multiclass(s, json, ranking, t0, page, inputs);
  case CLI_STATE_MULTILABEL:
    return report_multilabel(s, json, ranking, micro, t0, page, inputs);
  }
  cli_error("unknown saved-state family %u", (unsigned)s->family);
  return CLI_EXIT_ERROR;
}

/* ---- the streaming ranking of a run ---------------------------------- */

static void rank_free(struct cli_state_rank *r) {
  clm_ranking_state_release(&r->st);
  clm_ranking_state_release(&r->micro);
  free(r->ykept);
  free(r->zkept);
  memset(r, 0, sizeof *r);
}

int cli_state_rank_begin(struct cli_state_rank *r, const clm_array *scores,
                         uint32_t k, int multilabel, clm_scores_kind kind,
                         const int32_t *ignore) {
  memset(r, 0, sizeof *r);
  r->f64 = clm_array_dtype(scores) == CLM_DTYPE_F64;
  r->k = k;
  const clm_dtype dt = r->f64 ? CLM_DTYPE_F64 : CLM_DTYPE_F32;
  clm_status st;
  if (multilabel) {
    st = clm_ranking_state_init_multilabel(&r->st, k, dt, 0);
    if (st == CLM_OK)
      st = clm_ranking_state_init(&r->micro, 1, dt, 0, 0);
    r->has_micro = 1;
  } else {
    st = clm_ranking_state_init(&r->st, k, dt,
                                k > 1 && kind == CLM_SCORES_LOGITS, 0);
  }
  if (ignore) {
    r->has_ignore = 1;
    r->ignore = *ignore;
  }
  if (st != CLM_OK) {
    rank_free(r);
    cli_error("cannot prepare the streaming ranking for --save-state: %s",
              clm_status_str(st));
    return CLI_EXIT_ERROR;
  }
  r->active = 1;
  return -1;
}

clm_status cli_state_rank_add(clm_context *ctx, struct cli_state_rank *r,
                              const clm_array *scores, uint64_t first,
                              uint64_t m, const void *labels,
                              const float *converted, clm_error *err) {
  if (!r->active || m == 0)
    return CLM_OK;
  const clm_dtype sd = clm_array_dtype(scores);
  const size_t esz = sd == CLM_DTYPE_F64 ? 8 : 4;
  const void *z = sd == CLM_DTYPE_F64 || sd == CLM_DTYPE_F32
                      ? (const void *)((const char *)clm_array_data(scores) +
                                       first * r->k * esz)
                      : (const void *)converted;
  uint64_t rows = m;
  if (r->has_ignore) { /* keep the rows the evaluation counted */
    if (r->cap < m) {
      free(r->ykept);
      free(r->zkept);
      r->ykept = malloc(m * sizeof *r->ykept);
      r->zkept = malloc(m * r->k * esz);
      r->cap = r->ykept && r->zkept ? m : 0;
      if (!r->cap) {
        err->status = CLM_ERR_OUT_OF_MEMORY;
        err->index = -1;
        err->input = CLM_INPUT_NONE;
        snprintf(err->message, sizeof err->message,
                 "cannot allocate the streaming ranking's buffers");
        return CLM_ERR_OUT_OF_MEMORY;
      }
    }
    const int32_t *y = labels;
    rows = 0;
    for (uint64_t i = 0; i < m; ++i)
      if (y[i] != r->ignore) {
        r->ykept[rows] = y[i];
        memcpy((char *)r->zkept + rows * r->k * esz,
               (const char *)z + i * r->k * esz, r->k * esz);
        ++rows;
      }
    labels = r->ykept;
    z = r->zkept;
  }
  clm_status st = clm_ranking_update(ctx, &r->st, first, labels, z, rows, err);
  if (st == CLM_OK && r->has_micro)
    st = clm_ranking_update(ctx, &r->micro, first * r->k, labels, z,
                            rows * r->k, err);
  return st;
}

void cli_state_rank_free(struct cli_state_rank *r) {
  rank_free(r);
}

/* ---- bundles of the commands ----------------------------------------- */

/* dst = a copy of src through the library's bytes (what a saved file holds,
 * so a run's bundle is exactly what a reader would load). */
#define COPY_STATE(save, load, dst, src, what, rc)                             \
  do {                                                                         \
    uint8_t *b_ = NULL;                                                        \
    size_t n_ = 0;                                                             \
    clm_error e_;                                                              \
    clm_status s_ = save(src, &b_, &n_, &e_);                                  \
    if (s_ == CLM_OK)                                                          \
      s_ = load(b_, n_, dst, &e_);                                             \
    clm_state_buffer_free(b_);                                                 \
    if (s_ != CLM_OK) {                                                        \
      cli_error("cannot copy the %s state: %s", what, e_.message);             \
      rc = CLI_EXIT_ERROR;                                                     \
    }                                                                          \
  } while (0)

static int copy_extras(struct cli_state *s,
                       const struct cli_calibration_out *cal,
                       const struct cli_state_rank *rank) {
  int rc = -1;
  if (cal && cal->active && cal->state.n_bins) {
    COPY_STATE(clm_calibration_state_save, clm_calibration_state_load,
               &s->calibration, &cal->state, "calibration", rc);
    s->has_calibration = rc < 0;
    s->flags |= CLI_STATE_CALIBRATION;
    s->calibration_bins = cal->state.n_bins;
  }
  if (rc < 0 && rank && rank->active) {
    COPY_STATE(clm_ranking_state_save, clm_ranking_state_load, &s->ranking,
               &rank->st, "ranking", rc);
    s->has_ranking = rc < 0;
    if (rc < 0 && rank->has_micro) {
      COPY_STATE(clm_ranking_state_save, clm_ranking_state_load,
                 &s->ranking_micro, &rank->micro, "ranking", rc);
      s->has_ranking_micro = rc < 0;
    }
  }
  return rc;
}

static int copy_names(struct cli_state *s, char **names, uint32_t n) {
  if (!names)
    return -1;
  if (!(s->names = calloc(n, sizeof *s->names))) {
    cli_error("cannot allocate %u names", (unsigned)n);
    return CLI_EXIT_ERROR;
  }
  s->n_names = n;
  for (uint32_t c = 0; c < n; ++c)
    if (!(s->names[c] = strdup(names[c]))) {
      cli_error("cannot allocate a name");
      return CLI_EXIT_ERROR;
    }
  return -1;
}

static int finish(struct cli_state *s, int rc, struct cli_state **out) {
  if (rc >= 0) {
    cli_state_free(s);
    return rc;
  }
  *out = s;
  return -1;
}

int cli_state_of_binary(const struct cli_binary_args *a,
                        const clm_binary_state *st,
                        const struct cli_calibration_out *cal,
                        const struct cli_state_rank *rank,
                        struct cli_state **out) {
  struct cli_state *s = state_new();
  if (!s)
    return CLI_EXIT_ERROR;
  s->family = CLI_STATE_BINARY;
  s->kind = a->kind;
  s->zd = a->zd;
  s->merged = 1;
  s->flags = CLI_STATE_SCORES | (a->weights ? CLI_STATE_WEIGHTED : 0) |
             (a->rank.off ? 0 : CLI_STATE_RANKING);
  int rc = -1;
  COPY_STATE(clm_binary_state_save, clm_binary_state_load, &s->binary, st,
             "binary", rc);
  if (rc < 0)
    rc = copy_extras(s, cal, rank);
  return finish(s, rc, out);
}

int cli_state_of_multiclass(const struct cli_multiclass_args *a,
                            const clm_multiclass_state *st, char **names,
                            const struct cli_calibration_out *cal,
                            const struct cli_state_rank *rank,
                            struct cli_state **out) {
  struct cli_state *s = state_new();
  if (!s)
    return CLI_EXIT_ERROR;
  s->family = CLI_STATE_MULTICLASS;
  s->kind = a->kind;
  s->zd = a->zd;
  s->merged = 1;
  s->flags = (a->scores ? CLI_STATE_SCORES : 0) |
             (a->weights ? CLI_STATE_WEIGHTED : 0) |
             (a->scores && !a->rank.off ? CLI_STATE_RANKING : 0);
  int rc = -1;
  COPY_STATE(clm_multiclass_state_save, clm_multiclass_state_load,
             &s->multiclass, st, "multiclass", rc);
  if (rc < 0)
    rc = copy_names(s, names, st->n_classes);
  if (rc < 0)
    rc = copy_extras(s, cal, rank);
  return finish(s, rc, out);
}

int cli_state_of_multilabel(const struct cli_multilabel_args *a,
                            const clm_multilabel_state *st, char **names,
                            int per_label_thresholds,
                            const struct cli_state_rank *rank,
                            struct cli_state **out) {
  struct cli_state *s = state_new();
  if (!s)
    return CLI_EXIT_ERROR;
  s->family = CLI_STATE_MULTILABEL;
  s->kind = a->kind;
  s->zd = a->zd;
  s->merged = 1;
  s->flags = (a->scores ? CLI_STATE_SCORES : 0) |
             (a->weights ? CLI_STATE_WEIGHTED : 0) |
             (a->scores && !a->rank.off ? CLI_STATE_RANKING : 0) |
             (per_label_thresholds ? CLI_STATE_THRESHOLDS : 0);
  int rc = -1;
  COPY_STATE(clm_multilabel_state_save, clm_multilabel_state_load,
             &s->multilabel, st, "multilabel", rc);
  if (rc < 0)
    rc = copy_names(s, names, st->n_labels);
  if (rc < 0)
    rc = copy_extras(s, NULL, rank);
  return finish(s, rc, out);
}

/* ---- --save-state ---------------------------------------------------- */

int cli_state_save_open(struct cli_output *o, const char *path) {
  if (cli_output_open_text(o, "--save-state", path))
    return CLI_EXIT_ERROR;
  return -1;
}

int cli_state_save_commit(struct cli_output *o, const struct cli_state *s) {
  if (!o->w)
    return -1;
  uint8_t *buf = NULL;
  size_t len = 0;
  if (cli_state_to_bytes(s, &buf, &len) != CLI_EXIT_OK)
    return CLI_EXIT_ERROR;
  clm_error err;
  const clm_status st = clm_npy_writer_append_bytes(o->w, buf, len, &err);
  free(buf);
  if (st != CLM_OK) {
    cli_error("%s", err.message);
    return CLI_EXIT_ERROR;
  }
  if (cli_output_commit(o))
    return CLI_EXIT_ERROR;
  return -1;
}
