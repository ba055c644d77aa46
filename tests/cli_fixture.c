/* Shared fixture of the CLI tests; see cli_fixture.h. */
#include "cli_fixture.h"
#include "reference.h"
/* ---------------------------------------------------------------- */
/* Temporary directory per test                                      */
/* ---------------------------------------------------------------- */

char tmpdir[1024]; /* inputs and captured stdout/stderr */
char outdir[1100]; /* only the CLI's output files go here */

void make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "%s/clm_test_cli.XXXXXX", CLM_TEST_TMP);
  cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp under %s failed", CLM_TEST_TMP);
  snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
  cr_assert_eq(mkdir(outdir, 0700), 0);
}

void remove_tree(const char *path) {
  DIR *d = opendir(path);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char p[2048];
    snprintf(p, sizeof p, "%s/%s", path, e->d_name);
    struct stat st;
    if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
      remove_tree(p);
    else
      unlink(p);
  }
  closedir(d);
  rmdir(path);
}

void remove_tmpdir(void) {
  remove_tree(tmpdir);
}

/* A path inside the test's directory (leaked: tests run in child
 * processes). */
const char *fpath(const char *name) {
  char *p = NULL;
  cr_assert_neq(asprintf(&p, "%s/%s", tmpdir, name), -1);
  return p;
}

const char *opath(const char *name) {
  char *p = NULL;
  cr_assert_neq(asprintf(&p, "%s/%s", outdir, name), -1);
  return p;
}

/* Names in the output directory, joined by spaces ("" when empty). */
char *outdir_listing(void) {
  DIR *d = opendir(outdir);
  cr_assert_not_null(d);
  char *list = calloc(1, 1);
  size_t len = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    size_t k = strlen(e->d_name);
    list = realloc(list, len + k + 2);
    memcpy(list + len, e->d_name, k);
    len += k;
    list[len++] = ' ';
    list[len] = '\0';
  }
  closedir(d);
  return list;
}

/* ---------------------------------------------------------------- */
/* Fixture writers                                                   */
/* ---------------------------------------------------------------- */

void write_bytes(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "cannot create %s", path);
  if (len)
    cr_assert_eq(fwrite(data, 1, len, f), len);
  cr_assert_eq(fclose(f), 0);
}

/* A .npy file: magic, version major.0, header dict padded with spaces to a
 * multiple of 64 bytes and ended by '\n', then `nbytes` of data. */
void write_npy_v(const char *path, int major, const char *descr, int fortran,
                 const char *shape, const void *data, size_t nbytes) {
  char dict[256];
  int dl = snprintf(dict, sizeof dict,
                    "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }",
                    descr, fortran ? "True" : "False", shape);
  cr_assert(dl > 0 && (size_t)dl < sizeof dict);
  const size_t pre = major == 1 ? 10 : 12;
  size_t total = pre + (size_t)dl + 1;
  total = (total + 63) / 64 * 64;
  const size_t hlen = total - pre;
  unsigned char *buf = malloc(total + nbytes + 1);
  cr_assert_not_null(buf);
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = 0;
  if (major == 1) {
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
  } else {
    for (int k = 0; k < 4; ++k)
      buf[8 + k] = (unsigned char)((hlen >> (8 * k)) & 0xff);
  }
  memcpy(buf + pre, dict, (size_t)dl);
  memset(buf + pre + dl, ' ', total - pre - (size_t)dl - 1);
  buf[total - 1] = '\n';
  if (nbytes)
    memcpy(buf + total, data, nbytes);
  write_bytes(path, buf, total + nbytes);
  free(buf);
}

void write_npy(const char *path, const char *descr, const char *shape,
               const void *data, size_t nbytes) {
  write_npy_v(path, 1, descr, 0, shape, data, nbytes);
}

const char *shape1(size_t n) {
  char *s = NULL;
  cr_assert_neq(asprintf(&s, "(%zu,)", n), -1);
  return s;
}

const char *shape2(size_t r, size_t c) {
  char *s = NULL;
  cr_assert_neq(asprintf(&s, "(%zu, %zu)", r, c), -1);
  return s;
}

void write_u8(const char *path, const uint8_t *v, size_t n) {
  write_npy(path, "|u1", shape1(n), v, n);
}

void write_i64(const char *path, const uint8_t *v, size_t n) {
  int64_t *w = malloc((n + 1) * sizeof *w);
  for (size_t i = 0; i < n; ++i)
    w[i] = v[i];
  write_npy(path, "<i8", shape1(n), w, n * sizeof *w);
  free(w);
}

void write_f32(const char *path, const float *v, size_t n) {
  write_npy(path, "<f4", shape1(n), v, n * sizeof *v);
}

void write_f64(const char *path, const float *v, size_t n) {
  double *w = malloc((n + 1) * sizeof *w);
  for (size_t i = 0; i < n; ++i)
    w[i] = v[i];
  write_npy(path, "<f8", shape1(n), w, n * sizeof *w);
  free(w);
}

void write_f32_2d(const char *path, const float *v, size_t r, size_t c) {
  write_npy(path, "<f4", shape2(r, c), v, r * c * sizeof *v);
}

/* ---------------------------------------------------------------- */
/* The standard fixture: N samples, D features                       */
/* ---------------------------------------------------------------- */

uint8_t fx_y[N];
float fx_z[N], fx_p[N], fx_x[N * D];

void make_fixture_data(void) {
  for (int i = 0; i < N; ++i) {
    fx_y[i] = (uint8_t)(i % 3 == 0);
    fx_z[i] = -3.0f + 6.0f * (float)i / (float)(N - 1);
    fx_p[i] = (float)i / (float)(N - 1);
    for (int j = 0; j < D; ++j)
      fx_x[i * D + j] = (float)((i * 7 + j * 5) % 11) / 4.0f - 1.0f;
  }
}

/* labels.npy, logits.npy, probs.npy, features.npy in the test dir. */
void write_fixture(void) {
  make_fixture_data();
  write_u8(fpath("labels.npy"), fx_y, N);
  write_f32(fpath("logits.npy"), fx_z, N);
  write_f32(fpath("probs.npy"), fx_p, N);
  write_f32_2d(fpath("features.npy"), fx_x, N, D);
}

/* ---------------------------------------------------------------- */
/* Running the CLI                                                   */
/* ---------------------------------------------------------------- */

char *slurp(const char *path, size_t *len_out) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot read %s", path);
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = (len + 4096 + 1) * 2;
      buf = realloc(buf, cap);
      cr_assert_not_null(buf);
    }
    size_t k = fread(buf + len, 1, 4096, f);
    len += k;
    if (k == 0)
      break;
  }
  fclose(f);
  buf[len] = '\0';
  if (len_out)
    *len_out = len;
  return buf;
}

/* Runs CLM_CLI_PATH with the NULL-terminated `args` (argv[1..]), stdin from
 * /dev/null, stdout and stderr captured in files of the test directory. */
cli_proc cli_start(const char *const *argv, char *const *envp) {
  static int counter;
  cli_proc p = {0};
  ++counter;
  cr_assert_neq(asprintf(&p.out_path, "%s/stdout.%d", tmpdir, counter), -1);
  cr_assert_neq(asprintf(&p.err_path, "%s/stderr.%d", tmpdir, counter), -1);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, p.out_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, p.err_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const int rc =
      posix_spawn(&p.pid, argv[0], &fa, NULL, (char *const *)argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  cr_assert_eq(rc, 0, "cannot run %s: %s", argv[0], strerror(rc));
  return p;
}

run_result cli_finish(cli_proc *p, int wait_status) {
  run_result r = {0};
  const int ws = wait_status;
  r.status = WIFEXITED(ws)     ? WEXITSTATUS(ws)
             : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws)
                               : -1;
  r.out = slurp(p->out_path, NULL);
  r.err = slurp(p->err_path, NULL);
  free(p->out_path);
  free(p->err_path);
  p->out_path = p->err_path = NULL;
  /* Only where no OpenCL device exists at all; CI installs PoCL. */
  if (r.status != 0 && strstr(r.err, "no OpenCL platform found"))
    cr_skip_test("no OpenCL device: %s", r.err);
  return r;
}

/* LeakSanitizer's exit-time tracer sometimes crashes while it stops the
 * OpenCL runtime's worker threads ("Tracer caught signal 11", a known
 * sanitizer flake, google/sanitizers#1353): the command itself had finished.
 * Only that exact report (sanitizer builds alone print it) earns one rerun. */
static int lsan_tracer_crashed(const run_result *r) {
  return r->status != 0 && r->err &&
         strstr(r->err, "LeakSanitizer has encountered a fatal error") &&
         strstr(r->err, "Tracer caught signal");
}

run_result cli_run_waited(const char *const *argv, char *const *envp) {
  run_result r = {0};
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt) {
      free(r.out);
      free(r.err);
    }
    cli_proc p = cli_start(argv, envp);
    int ws = 0;
    cr_assert_eq(waitpid(p.pid, &ws, 0), p.pid);
    r = cli_finish(&p, ws);
    if (!lsan_tracer_crashed(&r))
      break;
  }
  return r;
}

run_result run_cli(const char *const *args) {
  const char *argv[64];
  char cmdline[sizeof((run_result *)0)->cmdline];
  size_t k = 0;
  argv[k++] = CLM_CLI_PATH;
  size_t pos = (size_t)snprintf(cmdline, sizeof cmdline, "clmetrics");
  for (size_t i = 0; args[i]; ++i) {
    cr_assert(k < 63);
    argv[k++] = args[i];
    if (pos < sizeof cmdline)
      pos +=
          (size_t)snprintf(cmdline + pos, sizeof cmdline - pos, " %s", args[i]);
  }
  argv[k] = NULL;
  run_result r = cli_run_waited(argv, environ);
  memcpy(r.cmdline, cmdline, sizeof cmdline);
  return r;
}

/* `clmetrics binary --labels L --scores S --json --grad-out out/g.npy`,
 * with `--features F --weight-grad-out out/w.npy` when F is not NULL, then
 * the NULL-terminated `extra` arguments (may be NULL). */
run_result run_binary(const char *labels, const char *scores,
                      const char *features, const char *const *extra) {
  const char *argv[48];
  size_t k = 0;
  argv[k++] = "binary";
  argv[k++] = "--labels";
  argv[k++] = labels;
  argv[k++] = "--scores";
  argv[k++] = scores;
  argv[k++] = "--json";
  argv[k++] = "--grad-out";
  argv[k++] = opath("g.npy");
  if (features) {
    argv[k++] = "--features";
    argv[k++] = features;
    argv[k++] = "--weight-grad-out";
    argv[k++] = opath("w.npy");
  }
  for (size_t i = 0; extra && extra[i]; ++i) {
    cr_assert(k < 47);
    argv[k++] = extra[i];
  }
  argv[k] = NULL;
  return run_cli(argv);
}

size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; ++s)
    n += *s == '\n';
  return n;
}

/* A failed run: the exit status, exactly one line on stderr that says
 * "error" and holds every NULL-terminated needle, nothing on stdout, and no
 * file at all (neither output nor temporary) in the output directory. */
void expect_failure(const run_result *r, int code, const char *const *needles) {
  cr_expect_neq(r->status, 0, "%s: exit 0 on bad input", r->cmdline);
  cr_expect_eq(r->status, code, "%s: exit %d, expected %d; stderr: %s",
               r->cmdline, r->status, code, r->err);
  const size_t len = strlen(r->err);
  cr_expect(count_lines(r->err) == 1 && len > 0 && r->err[len - 1] == '\n',
            "%s: stderr must be exactly one line, got:\n%s", r->cmdline,
            r->err);
  cr_expect_not_null(strstr(r->err, "error"),
                     "%s: stderr does not say 'error': %s", r->cmdline, r->err);
  /* Indices and values are looked for with the directory's name blanked
   * out, so that digits in the path cannot match them. */
  char *scrubbed = strdup(r->err);
  const size_t dl = strlen(tmpdir);
  for (char *p = scrubbed; (p = strstr(p, tmpdir)) != NULL; p += dl)
    memset(p, '_', dl);
  for (size_t i = 0; needles && needles[i]; ++i) {
    const int is_path = strncmp(needles[i], tmpdir, dl) == 0;
    cr_expect_not_null(strstr(is_path ? r->err : scrubbed, needles[i]),
                       "%s: stderr lacks '%s': %s", r->cmdline, needles[i],
                       r->err);
  }
  free(scrubbed);
  cr_expect_str_empty(r->out, "%s: stdout not empty on error: %s", r->cmdline,
                      r->out);
  char *left = outdir_listing();
  cr_expect_str_empty(left, "%s: files left behind in the output dir: %s",
                      r->cmdline, left);
  free(left);
  cr_expect_eq(access(opath("g.npy"), F_OK), -1);
  cr_expect_eq(access(opath("w.npy"), F_OK), -1);
}

/* ---------------------------------------------------------------- */
/* JSON helpers                                                      */
/* ---------------------------------------------------------------- */

/* Exactly one JSON object: starts with '{', ends with "}\n", braces and
 * brackets balanced outside strings and closing only at the end, no other
 * newline, and the only bare words are true/false/null (and the exponent
 * 'e' of numbers such as 1e999). Returns NULL or the reason it is not. */
const char *json_check(const char *s) {
  const size_t len = strlen(s);
  if (len < 3 || s[0] != '{')
    return "does not start with '{'";
  if (s[len - 1] != '\n' || s[len - 2] != '}')
    return "does not end with \"}\\n\"";
  int depth = 0, in_str = 0;
  for (size_t i = 0; i + 1 < len; ++i) {
    const char c = s[i];
    if (in_str) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_str = 0;
      else if ((unsigned char)c < 0x20)
        return "control character inside a string";
      continue;
    }
    if (c == '"') {
      in_str = 1;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth < 0)
        return "unbalanced closing brace";
      if (depth == 0 && i != len - 2)
        return "text after the top-level object";
    } else if (c == '\n') {
      return "newline inside the object";
    } else if (isalpha((unsigned char)c)) {
      size_t k = i;
      while (k < len && isalpha((unsigned char)s[k]))
        ++k;
      const size_t wl = k - i;
      const int ok = (wl == 4 && strncmp(s + i, "true", 4) == 0) ||
                     (wl == 5 && strncmp(s + i, "false", 5) == 0) ||
                     (wl == 4 && strncmp(s + i, "null", 4) == 0) ||
                     (wl == 1 && (c == 'e' || c == 'E') && i > 0 &&
                      isdigit((unsigned char)s[i - 1]));
      if (!ok)
        return "bare word other than true/false/null (NaN or inf?)";
      i = k - 1;
    }
  }
  if (in_str)
    return "unterminated string";
  if (depth != 0)
    return "unbalanced braces";
  return NULL;
}

/* The bracketed text (open ... close, nesting counted) that is the value of
 * "key", or NULL. */
static char *json_bracketed(const char *json, const char *key, char open,
                            char close) {
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\":%c", key, open);
  const char *p = strstr(json, pat);
  if (!p)
    return NULL;
  p += strlen(pat) - 1;
  int depth = 0;
  const char *q = p;
  for (; *q; ++q) {
    if (*q == open)
      ++depth;
    else if (*q == close && --depth == 0)
      break;
  }
  if (!*q)
    return NULL;
  return strndup(p, (size_t)(q - p + 1));
}

/* The text of the object that is the value of "key" ({...}), or NULL. */
char *json_object_text(const char *json, const char *key) {
  return json_bracketed(json, key, '{', '}');
}

int json_has_key(const char *json, const char *key) {
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  return strstr(json, pat) != NULL;
}

/* The number that is the value of "key"; NaN for null. Fails the test when
 * the key is missing. */
double json_num(const char *json, const char *key) {
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(json, pat);
  cr_assert_not_null(p, "key %s missing from %s", key, json);
  p += strlen(pat);
  if (strncmp(p, "null", 4) == 0)
    return NAN;
  char *end = NULL;
  double v = strtod(p, &end);
  cr_assert(end != p, "key %s: not a number in %s", key, json);
  return v;
}

void expect_json_report(const run_result *r) {
  const char *why = json_check(r->out);
  cr_assert_null(why, "%s: stdout is not one JSON object (%s): %s", r->cmdline,
                 why, r->out);
  cr_expect_not_null(strstr(r->out, "\"task\":\"binary\""), "%s", r->out);
  static const char *const top[] = {
      "n",        "threshold",   "confusion",
      "accuracy", "precision",   "recall",
      "f1",       "specificity", "balanced_accuracy",
      "mcc",      "loss",        "gradient",
      "device",   "timing"};
  for (size_t i = 0; i < sizeof top / sizeof top[0]; ++i)
    cr_expect(json_has_key(r->out, top[i]), "key %s missing: %s", top[i],
              r->out);
  static const struct {
    const char *obj, *keys[5];
  } nested[] = {{"confusion", {"tp", "fp", "tn", "fn", NULL}},
                {"loss", {"bce_mean", "bce_sum", NULL}},
                {"gradient", {"bias", NULL}},
                {"device", {"platform", "name", NULL}}};
  for (size_t i = 0; i < sizeof nested / sizeof nested[0]; ++i) {
    char *o = json_object_text(r->out, nested[i].obj);
    cr_expect_not_null(o, "\"%s\" is not an object: %s", nested[i].obj, r->out);
    if (!o)
      continue;
    for (size_t k = 0; nested[i].keys[k]; ++k)
      cr_expect(json_has_key(o, nested[i].keys[k]), "%s lacks %s: %s",
                nested[i].obj, nested[i].keys[k], o);
    free(o);
  }
}

void expect_counts(const char *json, double tp, double fp, double tn,
                   double fn) {
  char *c = json_object_text(json, "confusion");
  cr_assert_not_null(c, "no confusion object: %s", json);
  cr_expect_eq(json_num(c, "tp"), tp, "tp: %s", c);
  cr_expect_eq(json_num(c, "fp"), fp, "fp: %s", c);
  cr_expect_eq(json_num(c, "tn"), tn, "tn: %s", c);
  cr_expect_eq(json_num(c, "fn"), fn, "fn: %s", c);
  free(c);
}

void expect_close(const char *what, double got, double want, double tol) {
  cr_expect(fabs(got - want) <= tol, "%s: got %.17g, expected %.17g (tol %g)",
            what, got, want, tol);
}

/* ---------------------------------------------------------------- */
/* .npy reader for the CLI's outputs                                 */
/* ---------------------------------------------------------------- */

/* Parses a float32 1-D .npy file written by the CLI and checks its header.
 * Returns the values (n of them). */
float *read_npy_f32(const char *path, size_t n) {
  size_t len = 0;
  char *b = slurp(path, &len);
  cr_assert(len >= 10 && memcmp(b, "\x93NUMPY", 6) == 0, "%s: bad magic", path);
  const unsigned major = (unsigned char)b[6];
  cr_assert(major == 1 || major == 2, "%s: version %u", path, major);
  size_t pre, hlen;
  if (major == 1) {
    pre = 10;
    hlen = (size_t)(unsigned char)b[8] | (size_t)(unsigned char)b[9] << 8;
  } else {
    cr_assert(len >= 12);
    pre = 12;
    hlen = 0;
    for (int k = 0; k < 4; ++k)
      hlen |= (size_t)(unsigned char)b[8 + k] << (8 * k);
  }
  cr_assert(pre + hlen <= len, "%s: header longer than the file", path);
  cr_expect_eq((pre + hlen) % 16, 0, "%s: data not 16-byte aligned", path);
  cr_expect_eq(b[pre + hlen - 1], '\n', "%s: header does not end in \\n", path);
  char *hdr = strndup(b + pre, hlen);
  cr_expect_not_null(strstr(hdr, "'descr': '<f4'"), "%s: %s", path, hdr);
  cr_expect_not_null(strstr(hdr, "'fortran_order': False"), "%s: %s", path,
                     hdr);
  char shp[64];
  snprintf(shp, sizeof shp, "'shape': (%zu,)", n);
  cr_expect_not_null(strstr(hdr, shp), "%s: expected %s in %s", path, shp, hdr);
  free(hdr);
  cr_assert_eq(len - pre - hlen, n * sizeof(float),
               "%s: %zu data bytes, expected %zu", path, len - pre - hlen,
               n * sizeof(float));
  float *v = malloc((n + 1) * sizeof *v);
  memcpy(v, b + pre + hlen, n * sizeof *v);
  free(b);
  return v;
}

/* The suites' short names for the shared reference (src/reference). */
double sigmoid(double z) {
  return clm_ref_sigmoid(z);
}

double softplus(double x) {
  return clm_ref_softplus(x);
}

/* ---------------------------------------------------------------- */
/* Fixtures                                                          */
/* ---------------------------------------------------------------- */

void write_i64_v(const char *path, const int64_t *v, size_t n) {
  write_npy(path, "<i8", shape1(n), v, n * sizeof *v);
}

void write_i32_v(const char *path, const int32_t *v, size_t n) {
  write_npy(path, "<i4", shape1(n), v, n * sizeof *v);
}

void write_f64_v(const char *path, const double *v, size_t n) {
  write_npy(path, "<f8", shape1(n), v, n * sizeof *v);
}

void write_text(const char *path, const char *text) {
  write_bytes(path, text, strlen(text));
}

/* 16 samples of K = 5 classes; predictions right except at 4 places;
 * logits with the true class ahead by 2 except where the prediction is
 * wrong. */
const int64_t mc_y[MN] = {0, 1, 2, 2, 1, 0, 3, 4, 4, 2, 1, 0, 2, 3, 4, 0};
const int64_t mc_p[MN] = {0, 1, 2, 1, 1, 0, 3, 4, 0, 2, 1, 2, 2, 3, 4, 4};
float mc_s[MN * MK];
/* Their confusion matrix (rows: true class). */

/* mc_y.npy (int64), mc_p.npy (int64), mc_s.npy (MN x MK float32 logits). */
void write_mc_fixture(void) {
  for (int i = 0; i < MN; ++i)
    for (int c = 0; c < MK; ++c)
      mc_s[i * MK + c] = (float)((i * 3 + c * 7) % 5) * 0.25f - 0.5f +
                         (c == mc_p[i] ? 2.0f : 0.0f);
  write_i64_v(fpath("mc_y.npy"), mc_y, MN);
  write_i64_v(fpath("mc_p.npy"), mc_p, MN);
  write_f32_2d(fpath("mc_s.npy"), mc_s, MN, MK);
}

/* ---------------------------------------------------------------- */
/* JSON helpers for the multi-class report                           */
/* ---------------------------------------------------------------- */

/* The text of the array that is the value of "key" ([...]), or NULL. */
char *json_array_text(const char *json, const char *key) {
  return json_bracketed(json, key, '[', ']');
}

/* The i-th {...} object at depth 1 of an array's text, or NULL. */
char *json_nth_object(const char *arr, int i) {
  int depth = 0, seen = -1;
  const char *start = NULL;
  for (const char *q = arr; *q; ++q) {
    if (*q == '{') {
      if (depth++ == 0 && ++seen == i)
        start = q;
    } else if (*q == '}' && --depth == 0 && start) {
      return strndup(start, (size_t)(q - start + 1));
    }
  }
  return NULL;
}

/* Removes whitespace in place. */
char *strip_spaces(char *s) {
  char *w = s;
  for (const char *r = s; *r; ++r)
    if (!isspace((unsigned char)*r))
      *w++ = *r;
  *w = '\0';
  return s;
}

void expect_confusion_matrix(const char *json, const char *want) {
  char *cm = json_array_text(json, "confusion_matrix");
  cr_assert_not_null(cm, "no confusion_matrix array: %s", json);
  cr_expect_str_eq(strip_spaces(cm), want, "confusion_matrix: %s", json);
  free(cm);
}

/* The multi-class report: one JSON object with every documented key, K
 * per-class objects, each average an object with precision/recall/f1. */
void expect_mc_json(const run_result *r, int k) {
  const char *why = json_check(r->out);
  cr_assert_null(why, "%s: stdout is not one JSON object (%s): %s", r->cmdline,
                 why, r->out);
  cr_expect_not_null(strstr(r->out, "\"task\":\"multiclass\""), "%s", r->out);
  static const char *const top[] = {
      "n",         "classes",     "confusion_matrix",
      "per_class", "accuracy",    "balanced_accuracy",
      "mcc",       "cohen_kappa", "macro",
      "micro",     "weighted"};
  for (size_t i = 0; i < sizeof top / sizeof top[0]; ++i)
    cr_expect(json_has_key(r->out, top[i]), "key %s missing: %s", top[i],
              r->out);
  cr_expect_eq(json_num(r->out, "classes"), k, "%s", r->out);
  static const char *const avgs[] = {"macro", "micro", "weighted"};
  for (size_t i = 0; i < 3; ++i) {
    char *o = json_object_text(r->out, avgs[i]);
    cr_expect_not_null(o, "\"%s\" is not an object: %s", avgs[i], r->out);
    if (!o)
      continue;
    cr_expect(json_has_key(o, "precision") && json_has_key(o, "recall") &&
                  json_has_key(o, "f1"),
              "%s lacks precision/recall/f1: %s", avgs[i], o);
    free(o);
  }
  char *pc = json_array_text(r->out, "per_class");
  cr_assert_not_null(pc, "per_class is not an array: %s", r->out);
  for (int c = 0; c < k; ++c) {
    char *o = json_nth_object(pc, c);
    cr_expect_not_null(o, "per_class has no object %d: %s", c, pc);
    if (!o)
      continue;
    static const char *const keys[] = {"label", "precision", "recall", "f1",
                                       "support"};
    for (size_t q = 0; q < sizeof keys / sizeof keys[0]; ++q)
      cr_expect(json_has_key(o, keys[q]), "per_class[%d] lacks %s: %s", c,
                keys[q], o);
    cr_expect_eq(json_num(o, "label"), c, "%s", o);
    free(o);
  }
  char *extra = json_nth_object(pc, k);
  cr_expect_null(extra, "per_class has more than %d objects: %s", k, pc);
  free(extra);
  free(pc);
}

/* per_class[c].key, NaN for null. */
double mc_class_num(const char *json, int c, const char *key) {
  char *pc = json_array_text(json, "per_class");
  cr_assert_not_null(pc, "%s", json);
  char *o = json_nth_object(pc, c);
  cr_assert_not_null(o, "no per_class[%d]: %s", c, pc);
  const double v = json_num(o, key);
  free(o);
  free(pc);
  return v;
}

/* obj.key for an average object ("macro", "micro", "weighted", "loss"). */
double mc_obj_num(const char *json, const char *obj, const char *key) {
  char *o = json_object_text(json, obj);
  cr_assert_not_null(o, "no object %s: %s", obj, json);
  const double v = json_num(o, key);
  free(o);
  return v;
}
