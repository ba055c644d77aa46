/* Tests of the `clmetrics` command-line tool, run as a subprocess: every
 * bad input of the binary command (exit status, one clear message on
 * stderr, no output file left behind), the JSON report, known answers,
 * gradient files, CSV inputs and the help/version/devices/demo commands.
 * Fixtures are written byte by byte, so no Python is needed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, asprintf */
#endif
#include <criterion/criterion.h>

#include "clmetrics.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---------------------------------------------------------------- */
/* Temporary directory per test                                      */
/* ---------------------------------------------------------------- */

static char tmpdir[1024]; /* inputs and captured stdout/stderr */
static char outdir[1100]; /* only the CLI's output files go here */

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "%s/clm_test_cli.XXXXXX", CLM_TEST_TMP);
  cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp under %s failed", CLM_TEST_TMP);
  snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
  cr_assert_eq(mkdir(outdir, 0700), 0);
}

static void remove_tree(const char *path) {
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

static void remove_tmpdir(void) {
  remove_tree(tmpdir);
}

TestSuite(cli, .init = make_tmpdir, .fini = remove_tmpdir);

/* A path inside the test's directory (leaked: tests run in child
 * processes). */
static const char *fpath(const char *name) {
  char *p = NULL;
  cr_assert_neq(asprintf(&p, "%s/%s", tmpdir, name), -1);
  return p;
}

static const char *opath(const char *name) {
  char *p = NULL;
  cr_assert_neq(asprintf(&p, "%s/%s", outdir, name), -1);
  return p;
}

/* Names in the output directory, joined by spaces ("" when empty). */
static char *outdir_listing(void) {
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

static void write_bytes(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "cannot create %s", path);
  if (len)
    cr_assert_eq(fwrite(data, 1, len, f), len);
  cr_assert_eq(fclose(f), 0);
}

/* A .npy file: magic, version major.0, header dict padded with spaces to a
 * multiple of 64 bytes and ended by '\n', then `nbytes` of data. */
static void write_npy_v(const char *path, int major, const char *descr,
                        int fortran, const char *shape, const void *data,
                        size_t nbytes) {
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

static void write_npy(const char *path, const char *descr, const char *shape,
                      const void *data, size_t nbytes) {
  write_npy_v(path, 1, descr, 0, shape, data, nbytes);
}

static const char *shape1(size_t n) {
  char *s = NULL;
  cr_assert_neq(asprintf(&s, "(%zu,)", n), -1);
  return s;
}

static const char *shape2(size_t r, size_t c) {
  char *s = NULL;
  cr_assert_neq(asprintf(&s, "(%zu, %zu)", r, c), -1);
  return s;
}

static void write_u8(const char *path, const uint8_t *v, size_t n) {
  write_npy(path, "|u1", shape1(n), v, n);
}

static void write_i64(const char *path, const uint8_t *v, size_t n) {
  int64_t *w = malloc((n + 1) * sizeof *w);
  for (size_t i = 0; i < n; ++i)
    w[i] = v[i];
  write_npy(path, "<i8", shape1(n), w, n * sizeof *w);
  free(w);
}

static void write_f32(const char *path, const float *v, size_t n) {
  write_npy(path, "<f4", shape1(n), v, n * sizeof *v);
}

static void write_f64(const char *path, const float *v, size_t n) {
  double *w = malloc((n + 1) * sizeof *w);
  for (size_t i = 0; i < n; ++i)
    w[i] = v[i];
  write_npy(path, "<f8", shape1(n), w, n * sizeof *w);
  free(w);
}

static void write_f32_2d(const char *path, const float *v, size_t r, size_t c) {
  write_npy(path, "<f4", shape2(r, c), v, r * c * sizeof *v);
}

/* ---------------------------------------------------------------- */
/* The standard fixture: N samples, D features                       */
/* ---------------------------------------------------------------- */

#define N 64
#define D 3

static uint8_t fx_y[N];
static float fx_z[N], fx_p[N], fx_x[N * D];

static void make_fixture_data(void) {
  for (int i = 0; i < N; ++i) {
    fx_y[i] = (uint8_t)(i % 3 == 0);
    fx_z[i] = -3.0f + 6.0f * (float)i / (float)(N - 1);
    fx_p[i] = (float)i / (float)(N - 1);
    for (int j = 0; j < D; ++j)
      fx_x[i * D + j] = (float)((i * 7 + j * 5) % 11) / 4.0f - 1.0f;
  }
}

/* labels.npy, logits.npy, probs.npy, features.npy in the test dir. */
static void write_fixture(void) {
  make_fixture_data();
  write_u8(fpath("labels.npy"), fx_y, N);
  write_f32(fpath("logits.npy"), fx_z, N);
  write_f32(fpath("probs.npy"), fx_p, N);
  write_f32_2d(fpath("features.npy"), fx_x, N, D);
}

/* ---------------------------------------------------------------- */
/* Running the CLI                                                   */
/* ---------------------------------------------------------------- */

typedef struct run_result {
  int status; /* exit status, or 128 + signal */
  char *out, *err;
  char cmdline[2048];
} run_result;

static char *slurp(const char *path, size_t *len_out) {
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
static run_result run_cli(const char *const *args) {
  static int counter;
  run_result r = {0};
  const char *argv[64];
  size_t k = 0;
  argv[k++] = CLM_CLI_PATH;
  size_t pos = (size_t)snprintf(r.cmdline, sizeof r.cmdline, "clmetrics");
  for (size_t i = 0; args[i]; ++i) {
    cr_assert(k < 63);
    argv[k++] = args[i];
    if (pos < sizeof r.cmdline)
      pos += (size_t)snprintf(r.cmdline + pos, sizeof r.cmdline - pos, " %s",
                              args[i]);
  }
  argv[k] = NULL;
  ++counter;
  char *out_path = NULL, *err_path = NULL;
  cr_assert_neq(asprintf(&out_path, "%s/stdout.%d", tmpdir, counter), -1);
  cr_assert_neq(asprintf(&err_path, "%s/stderr.%d", tmpdir, counter), -1);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int rc =
      posix_spawn(&pid, CLM_CLI_PATH, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  cr_assert_eq(rc, 0, "cannot run %s: %s", CLM_CLI_PATH, strerror(rc));
  int ws = 0;
  cr_assert_eq(waitpid(pid, &ws, 0), pid);
  if (WIFEXITED(ws))
    r.status = WEXITSTATUS(ws);
  else if (WIFSIGNALED(ws))
    r.status = 128 + WTERMSIG(ws);
  else
    r.status = -1;
  r.out = slurp(out_path, NULL);
  r.err = slurp(err_path, NULL);
  /* Only where no OpenCL device exists at all; CI installs PoCL. */
  if (r.status != 0 && strstr(r.err, "no OpenCL platform found"))
    cr_skip_test("no OpenCL device: %s", r.err);
  free(out_path);
  free(err_path);
  return r;
}

#define RUN(...) run_cli((const char *const[]){__VA_ARGS__, NULL})

/* `clmetrics binary --labels L --scores S --json --grad-out out/g.npy`,
 * with `--features F --weight-grad-out out/w.npy` when F is not NULL, then
 * the NULL-terminated `extra` arguments (may be NULL). */
static run_result run_binary(const char *labels, const char *scores,
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

#define EXTRA(...) ((const char *const[]){__VA_ARGS__, NULL})

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; ++s)
    n += *s == '\n';
  return n;
}

/* A failed run: the exit status, exactly one line on stderr that says
 * "error" and holds every NULL-terminated needle, nothing on stdout, and no
 * file at all (neither output nor temporary) in the output directory. */
static void expect_failure(const run_result *r, int code,
                           const char *const *needles) {
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

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---------------------------------------------------------------- */
/* JSON helpers                                                      */
/* ---------------------------------------------------------------- */

/* Exactly one JSON object: starts with '{', ends with "}\n", braces and
 * brackets balanced outside strings and closing only at the end, no other
 * newline, and the only bare words are true/false/null (and the exponent
 * 'e' of numbers such as 1e999). Returns NULL or the reason it is not. */
static const char *json_check(const char *s) {
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

/* The text of the object that is the value of "key" ({...}), or NULL. */
static char *json_object_text(const char *json, const char *key) {
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\":{", key);
  const char *p = strstr(json, pat);
  if (!p)
    return NULL;
  p += strlen(pat) - 1;
  int depth = 0;
  const char *q = p;
  for (; *q; ++q) {
    if (*q == '{')
      ++depth;
    else if (*q == '}' && --depth == 0)
      break;
  }
  if (!*q)
    return NULL;
  return strndup(p, (size_t)(q - p + 1));
}

static int json_has_key(const char *json, const char *key) {
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  return strstr(json, pat) != NULL;
}

/* The number that is the value of "key"; NaN for null. Fails the test when
 * the key is missing. */
static double json_num(const char *json, const char *key) {
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

static void expect_json_report(const run_result *r) {
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

static void expect_counts(const char *json, double tp, double fp, double tn,
                          double fn) {
  char *c = json_object_text(json, "confusion");
  cr_assert_not_null(c, "no confusion object: %s", json);
  cr_expect_eq(json_num(c, "tp"), tp, "tp: %s", c);
  cr_expect_eq(json_num(c, "fp"), fp, "fp: %s", c);
  cr_expect_eq(json_num(c, "tn"), tn, "tn: %s", c);
  cr_expect_eq(json_num(c, "fn"), fn, "fn: %s", c);
  free(c);
}

static void expect_close(const char *what, double got, double want,
                         double tol) {
  cr_expect(fabs(got - want) <= tol, "%s: got %.17g, expected %.17g (tol %g)",
            what, got, want, tol);
}

/* ---------------------------------------------------------------- */
/* .npy reader for the CLI's outputs                                 */
/* ---------------------------------------------------------------- */

/* Parses a float32 1-D .npy file written by the CLI and checks its header.
 * Returns the values (n of them). */
static float *read_npy_f32(const char *path, size_t n) {
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

static double sigmoid(double z) {
  if (z >= 0)
    return 1.0 / (1.0 + exp(-z));
  const double e = exp(z);
  return e / (1.0 + e);
}

/* log(1 + exp(x)) without overflow. */
static double softplus(double x) {
  if (isinf(x))
    return x > 0 ? x : 0.0;
  return fmax(x, 0.0) + log1p(exp(-fabs(x)));
}

/* ---------------------------------------------------------------- */
/* Bad input                                                          */
/* ---------------------------------------------------------------- */

Test(cli, bad_label_uint8) {
  write_fixture();
  uint8_t y[N];
  memcpy(y, fx_y, N);
  y[37] = 201;
  const char *lp = fpath("bad_labels.npy");
  write_u8(lp, y, N);
  run_result r =
      run_binary(lp, fpath("logits.npy"), fpath("features.npy"), NULL);
  expect_failure(&r, 1, NEEDLES(lp, "37", "201"));
}

Test(cli, bad_label_int64) {
  write_fixture();
  int64_t y[N];
  for (int i = 0; i < N; ++i)
    y[i] = fx_y[i];
  y[41] = 12345;
  const char *lp = fpath("bad_labels64.npy");
  write_npy(lp, "<i8", shape1(N), y, sizeof y);
  run_result r =
      run_binary(lp, fpath("logits.npy"), fpath("features.npy"), NULL);
  expect_failure(&r, 1, NEEDLES(lp, "41", "12345"));
}

Test(cli, nan_score) {
  write_fixture();
  float z[N];
  memcpy(z, fx_z, sizeof z);
  z[23] = NAN;
  const char *sp = fpath("nan_scores.npy");
  write_f32(sp, z, N);
  run_result r =
      run_binary(fpath("labels.npy"), sp, fpath("features.npy"), NULL);
  expect_failure(&r, 1, NEEDLES(sp, "23"));
  cr_expect(strstr(r.err, "NaN") || strstr(r.err, "nan"),
            "value NaN not named: %s", r.err);
}

Test(cli, probability_out_of_range) {
  write_fixture();
  float p[N];
  memcpy(p, fx_p, sizeof p);
  p[11] = 1.5f;
  const char *sp = fpath("bad_probs.npy");
  write_f32(sp, p, N);
  run_result r = run_binary(fpath("labels.npy"), sp, fpath("features.npy"),
                            EXTRA("--scores-kind", "probs"));
  expect_failure(&r, 1, NEEDLES(sp, "11", "1.5"));
}

Test(cli, length_mismatch) {
  write_fixture();
  const char *sp = fpath("short_scores.npy");
  write_f32(sp, fx_z, N - 1);
  run_result r = run_binary(fpath("labels.npy"), sp, NULL, NULL);
  expect_failure(&r, 1, NEEDLES(sp, "64", "63"));
}

Test(cli, features_row_mismatch) {
  write_fixture();
  const char *xp = fpath("short_features.npy");
  write_f32_2d(xp, fx_x, N - 4, D);
  run_result r = run_binary(fpath("labels.npy"), fpath("logits.npy"), xp, NULL);
  expect_failure(&r, 1, NEEDLES(xp, "60", "64"));
}

Test(cli, empty_input) {
  const char *lp = fpath("empty_labels.npy");
  const char *sp = fpath("empty_scores.npy");
  write_npy(lp, "|u1", "(0,)", NULL, 0);
  write_npy(sp, "<f4", "(0,)", NULL, 0);
  run_result r = run_binary(lp, sp, NULL, NULL);
  expect_failure(&r, 1, NEEDLES("empty"));
  cr_expect(strstr(r.err, lp) || strstr(r.err, sp), "no file named: %s", r.err);
}

Test(cli, missing_file) {
  write_fixture();
  const char *lp = fpath("does_not_exist.npy");
  run_result r =
      run_binary(lp, fpath("logits.npy"), fpath("features.npy"), NULL);
  expect_failure(&r, 1, NEEDLES(lp));
}

Test(cli, missing_features_file) {
  write_fixture();
  const char *xp = fpath("no_features.npy");
  run_result r = run_binary(fpath("labels.npy"), fpath("logits.npy"), xp, NULL);
  expect_failure(&r, 1, NEEDLES(xp));
}

Test(cli, unreadable_file) {
  if (geteuid() == 0) {
    remove_tmpdir(); /* .fini does not run after a skip */
    cr_skip_test("root reads files whatever their mode");
  }
  write_fixture();
  const char *sp = fpath("logits.npy");
  cr_assert_eq(chmod(sp, 0), 0);
  run_result r = run_binary(fpath("labels.npy"), sp, NULL, NULL);
  expect_failure(&r, 1, NEEDLES(sp));
}

Test(cli, not_an_npy) {
  write_fixture();
  unsigned char junk[300];
  srand(12345);
  for (size_t i = 0; i < sizeof junk; ++i)
    junk[i] = (unsigned char)(rand() & 0xff);
  junk[0] = 0x42; /* never the 0x93 of the magic */
  const char *sp = fpath("junk.npy");
  write_bytes(sp, junk, sizeof junk);
  run_result r = run_binary(fpath("labels.npy"), sp, NULL, NULL);
  expect_failure(&r, 1, NEEDLES(sp));
}

Test(cli, truncated_npy) {
  write_fixture();
  const char *sp = fpath("truncated.npy");
  /* Header says 64 float32 values, only 40 follow. */
  write_npy(sp, "<f4", shape1(N), fx_z, 40 * sizeof(float));
  run_result r = run_binary(fpath("labels.npy"), sp, NULL, NULL);
  expect_failure(&r, 1, NEEDLES(sp));
}

Test(cli, truncated_header) {
  write_fixture();
  const char *sp = fpath("truncated_header.npy");
  write_bytes(sp, "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'for", 30);
  run_result r = run_binary(fpath("labels.npy"), sp, NULL, NULL);
  expect_failure(&r, 1, NEEDLES(sp));
}

Test(cli, big_endian) {
  write_fixture();
  uint32_t be[N];
  for (int i = 0; i < N; ++i) {
    uint32_t u;
    memcpy(&u, &fx_z[i], 4);
    be[i] = __builtin_bswap32(u);
  }
  const char *sp = fpath("big_endian.npy");
  write_npy(sp, ">f4", shape1(N), be, sizeof be);
  run_result r = run_binary(fpath("labels.npy"), sp, NULL, NULL);
  expect_failure(&r, 1, NEEDLES(sp, ">f4"));
}

Test(cli, fortran_order_features) {
  write_fixture();
  const char *xp = fpath("fortran.npy");
  write_npy_v(xp, 1, "<f4", 1, shape2(N, D), fx_x, sizeof fx_x);
  run_result r = run_binary(fpath("labels.npy"), fpath("logits.npy"), xp, NULL);
  expect_failure(&r, 1, NEEDLES(xp));
  cr_expect(strcasestr(r.err, "fortran") != NULL, "%s", r.err);
}

Test(cli, unsupported_dtype) {
  write_fixture();
  float c[2 * N];
  for (int i = 0; i < N; ++i) {
    c[2 * i] = fx_z[i];
    c[2 * i + 1] = 0.0f;
  }
  const char *sp = fpath("complex.npy");
  write_npy(sp, "<c8", shape1(N), c, sizeof c);
  run_result r = run_binary(fpath("labels.npy"), sp, NULL, NULL);
  expect_failure(&r, 1, NEEDLES(sp, "<c8"));
}

Test(cli, scores_2d) {
  write_fixture();
  const char *sp = fpath("scores_2d.npy");
  write_f32_2d(sp, fx_x, N, 3);
  run_result r = run_binary(fpath("labels.npy"), sp, NULL, NULL);
  expect_failure(&r, 1, NEEDLES(sp, "64", "3"));
}

Test(cli, threshold_above_one) {
  write_fixture();
  run_result r = run_binary(fpath("labels.npy"), fpath("logits.npy"),
                            fpath("features.npy"), EXTRA("--threshold", "1.5"));
  expect_failure(&r, 2, NEEDLES("threshold", "1.5"));
}

Test(cli, threshold_negative) {
  write_fixture();
  run_result r =
      run_binary(fpath("labels.npy"), fpath("logits.npy"),
                 fpath("features.npy"), EXTRA("--threshold", "-0.1"));
  expect_failure(&r, 2, NEEDLES("threshold", "-0.1"));
}

Test(cli, threshold_not_a_number) {
  write_fixture();
  run_result r = run_binary(fpath("labels.npy"), fpath("logits.npy"),
                            fpath("features.npy"), EXTRA("--threshold", "abc"));
  expect_failure(&r, 2, NEEDLES("threshold", "abc"));
}

Test(cli, threshold_nan) {
  write_fixture();
  run_result r = run_binary(fpath("labels.npy"), fpath("logits.npy"), NULL,
                            EXTRA("--threshold", "nan"));
  expect_failure(&r, 2, NEEDLES("threshold"));
}

Test(cli, unknown_flag) {
  write_fixture();
  run_result r = run_binary(fpath("labels.npy"), fpath("logits.npy"),
                            fpath("features.npy"), EXTRA("--bogus-flag"));
  expect_failure(&r, 2, NEEDLES("--bogus-flag"));
}

Test(cli, bad_scores_kind) {
  write_fixture();
  run_result r = run_binary(fpath("labels.npy"), fpath("logits.npy"), NULL,
                            EXTRA("--scores-kind", "odds"));
  expect_failure(&r, 2, NEEDLES("odds"));
}

Test(cli, bad_zero_division) {
  write_fixture();
  run_result r = run_binary(fpath("labels.npy"), fpath("logits.npy"), NULL,
                            EXTRA("--zero-division", "2"));
  expect_failure(&r, 2, NEEDLES("zero-division"));
}

Test(cli, weight_grad_out_without_features) {
  write_fixture();
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--grad-out", opath("g.npy"),
                     "--weight-grad-out", opath("w.npy"), "--json");
  expect_failure(&r, 2, NEEDLES("--weight-grad-out", "--features"));
}

Test(cli, unknown_command) {
  run_result r = RUN("frobnicate");
  cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
  cr_expect_not_null(strstr(r.err, "frobnicate"), "%s", r.err);
}

/* The second output cannot be written: the first must not stay behind. */
Test(cli, unwritable_weight_grad_out) {
  write_fixture();
  const char *wp = opath("no_such_dir/w.npy");
  run_result r =
      RUN("binary", "--labels", fpath("labels.npy"), "--scores",
          fpath("logits.npy"), "--features", fpath("features.npy"),
          "--grad-out", opath("g.npy"), "--weight-grad-out", wp, "--json");
  expect_failure(&r, 1, NEEDLES(wp));
}

/* An existing gradient file survives a failed run. */
Test(cli, existing_output_kept_when_the_other_fails) {
  write_fixture();
  const char *gp = fpath("g_existing.npy");
  write_bytes(gp, "old", 3);
  const char *wp = opath("no_such_dir/w.npy");
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--features", fpath("features.npy"),
                     "--grad-out", gp, "--weight-grad-out", wp, "--json");
  cr_expect_eq(r.status, 1, "exit %d: %s", r.status, r.err);
  size_t len = 0;
  char *content = slurp(gp, &len);
  cr_expect(len == 3 && memcmp(content, "old", 3) == 0,
            "the existing --grad-out file was changed");
  free(content);
}

/* A report that cannot be written is an error, not a silent success. */
Test(cli, report_to_a_full_device_fails) {
  write_fixture();
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "'%s' binary --labels '%s' --scores '%s' --json > /dev/full "
           "2>/dev/null",
           CLM_CLI_PATH, fpath("labels.npy"), fpath("logits.npy"));
  const int ws = system(cmd);
  cr_assert(WIFEXITED(ws));
  cr_expect_eq(WEXITSTATUS(ws), 1);
}

Test(cli, unwritable_grad_out) {
  write_fixture();
  const char *gp = opath("no_such_dir/g.npy");
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--grad-out", gp, "--json");
  expect_failure(&r, 1, NEEDLES(gp));
}

/* ---------------------------------------------------------------- */
/* Successful runs                                                   */
/* ---------------------------------------------------------------- */

Test(cli, json_report_shape) {
  write_fixture();
  run_result r = run_binary(fpath("labels.npy"), fpath("logits.npy"),
                            fpath("features.npy"), NULL);
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  cr_expect_null(strstr(r.err, "error"), "%s", r.err);
  expect_json_report(&r);
  cr_expect_eq(json_num(r.out, "n"), N);
  cr_expect_eq(json_num(r.out, "threshold"), 0.5);
  const double tp = json_num(r.out, "tp"), fp = json_num(r.out, "fp"),
               tn = json_num(r.out, "tn"), fn = json_num(r.out, "fn");
  cr_expect_eq(tp + fp + tn + fn, N);
}

/* 8 samples by hand. Predicted positive iff z > 0 (sigma(z) > 0.5); z = 0
 * exactly is negative. y: 1 0 1 1 0 0 1 0, pred: 1 0 0 1 1 0 1 0. */
Test(cli, known_answer_logits) {
  const uint8_t y[8] = {1, 0, 1, 1, 0, 0, 1, 0};
  const float z[8] = {2.0f, -1.0f, -3.0f, 0.5f, 1.0f, -2.0f, 4.0f, 0.0f};
  write_u8(fpath("y.npy"), y, 8);
  write_f32(fpath("z.npy"), z, 8);
  run_result r = RUN("binary", "--labels", fpath("y.npy"), "--scores",
                     fpath("z.npy"), "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  expect_json_report(&r);
  expect_counts(r.out, 3, 1, 3, 1);
  cr_expect_eq(json_num(r.out, "n"), 8);
  expect_close("accuracy", json_num(r.out, "accuracy"), 0.75, 1e-12);
  expect_close("precision", json_num(r.out, "precision"), 0.75, 1e-12);
  expect_close("recall", json_num(r.out, "recall"), 0.75, 1e-12);
  expect_close("f1", json_num(r.out, "f1"), 0.75, 1e-12);
  expect_close("specificity", json_num(r.out, "specificity"), 0.75, 1e-12);
  expect_close("mcc", json_num(r.out, "mcc"), 0.5, 1e-12);
  double bce = 0, g = 0;
  for (int i = 0; i < 8; ++i) {
    bce += softplus(z[i]) - y[i] * (double)z[i];
    g += sigmoid(z[i]) - y[i];
  }
  expect_close("bce_sum", json_num(r.out, "bce_sum"), bce, 1e-6 * bce);
  expect_close("bce_mean", json_num(r.out, "bce_mean"), bce / 8,
               1e-6 * bce / 8);
  expect_close("bias", json_num(r.out, "bias"), g / 8, 1e-6);
}

/* 10 probabilities, threshold 0.25 (exact in binary): p > 0.25 strictly.
 * y:    1    1    0    0    0     1   0   0 0 0
 * p:  .9  .25  .25  .75 .125   .5  .5   0 1 .375
 * pred: 1    0    0    1    0     1   1   0 1 1
 * TP 2, FN 1, FP 4, TN 3. BCE clips p to [eps, 1 - eps], eps = 2^-23. */
Test(cli, known_answer_probs) {
  const uint8_t y[10] = {1, 1, 0, 0, 0, 1, 0, 0, 0, 0};
  const float p[10] = {0.9f, 0.25f, 0.25f, 0.75f, 0.125f,
                       0.5f, 0.5f,  0.0f,  1.0f,  0.375f};
  write_u8(fpath("y.npy"), y, 10);
  write_f32(fpath("p.npy"), p, 10);
  run_result r =
      RUN("binary", "--labels", fpath("y.npy"), "--scores", fpath("p.npy"),
          "--scores-kind", "probs", "--threshold", "0.25", "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  expect_json_report(&r);
  expect_counts(r.out, 2, 4, 3, 1);
  cr_expect_eq(json_num(r.out, "threshold"), 0.25);
  expect_close("accuracy", json_num(r.out, "accuracy"), 0.5, 1e-12);
  expect_close("precision", json_num(r.out, "precision"), 1.0 / 3, 1e-12);
  expect_close("recall", json_num(r.out, "recall"), 2.0 / 3, 1e-12);
  expect_close("f1", json_num(r.out, "f1"), 4.0 / 9, 1e-12);
  expect_close("specificity", json_num(r.out, "specificity"), 3.0 / 7, 1e-12);
  expect_close("balanced_accuracy", json_num(r.out, "balanced_accuracy"),
               (2.0 / 3 + 3.0 / 7) / 2, 1e-12);
  expect_close("mcc", json_num(r.out, "mcc"), 2.0 / sqrt(504.0), 1e-12);
  const double eps = ldexp(1.0, -23);
  double bce = 0, g = 0;
  for (int i = 0; i < 10; ++i) {
    const double q = fmin(fmax((double)p[i], eps), 1.0 - eps);
    bce += y[i] ? -log(q) : -log1p(-q);
    g += (double)p[i] - y[i];
  }
  expect_close("bce_sum", json_num(r.out, "bce_sum"), bce, 1e-6 * bce);
  expect_close("bias", json_num(r.out, "bias"), g / 10, 1e-6);
}

/* All labels and predictions negative: precision, recall, F1 and MCC are
 * 0/0. */
static void write_all_negative(void) {
  const uint8_t y[6] = {0, 0, 0, 0, 0, 0};
  const float z[6] = {-1.0f, -2.0f, -0.5f, -3.0f, -10.0f, -0.25f};
  write_u8(fpath("y.npy"), y, 6);
  write_f32(fpath("z.npy"), z, 6);
}

Test(cli, zero_division_nan_is_null) {
  write_all_negative();
  run_result r = RUN("binary", "--labels", fpath("y.npy"), "--scores",
                     fpath("z.npy"), "--zero-division", "nan", "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  expect_json_report(&r);
  expect_counts(r.out, 0, 0, 6, 0);
  cr_expect_not_null(strstr(r.out, "\"precision\":null"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "\"recall\":null"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "\"f1\":null"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "\"mcc\":null"), "%s", r.out);
  cr_expect_eq(json_num(r.out, "accuracy"), 1.0);
  cr_expect_eq(json_num(r.out, "specificity"), 1.0);
}

Test(cli, zero_division_default_and_one) {
  write_all_negative();
  run_result r = RUN("binary", "--labels", fpath("y.npy"), "--scores",
                     fpath("z.npy"), "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  expect_json_report(&r);
  cr_expect_eq(json_num(r.out, "precision"), 0.0, "%s", r.out);
  cr_expect_eq(json_num(r.out, "recall"), 0.0, "%s", r.out);
  cr_expect_not_null(strstr(r.err, "warning"),
                     "default zero division must warn: %s", r.err);
  cr_expect_not_null(strstr(r.err, "precision"), "%s", r.err);
  r = RUN("binary", "--labels", fpath("y.npy"), "--scores", fpath("z.npy"),
          "--zero-division", "1", "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  cr_expect_eq(json_num(r.out, "precision"), 1.0, "%s", r.out);
  cr_expect_eq(json_num(r.out, "recall"), 1.0, "%s", r.out);
}

/* Per-sample gradients, including extreme logits. */
Test(cli, grad_out_matches_reference) {
  enum { M = 40 };
  uint8_t y[M];
  float z[M];
  const float extremes[] = {100.0f, -100.0f, 88.7f,    -88.7f,
                            0.0f,   -0.0f,   INFINITY, -INFINITY,
                            1e-30f, -1e-30f, 17.5f,    -17.5f};
  const size_t ne = sizeof extremes / sizeof extremes[0];
  for (int i = 0; i < M; ++i) {
    y[i] = (uint8_t)((i * 5 + 1) % 7 < 3);
    z[i] = (size_t)i < ne ? extremes[i] : (float)(i - 26) * 0.37f;
  }
  /* Keep the loss finite: +inf only with y = 1, -inf only with y = 0. */
  y[6] = 1;
  y[7] = 0;
  write_u8(fpath("y.npy"), y, M);
  write_f32(fpath("z.npy"), z, M);
  run_result r = RUN("binary", "--labels", fpath("y.npy"), "--scores",
                     fpath("z.npy"), "--grad-out", opath("g.npy"), "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  expect_json_report(&r);
  float *g = read_npy_f32(opath("g.npy"), M);
  double gsum = 0, bce = 0;
  for (int i = 0; i < M; ++i) {
    const double want = sigmoid(z[i]) - y[i];
    gsum += want;
    bce += y[i] ? softplus(-(double)z[i]) : softplus(z[i]);
    cr_expect(fabs((double)g[i] - want) <= 1e-6,
              "grad[%d] (y=%u, z=%g): got %.9g, expected %.17g", i, y[i],
              (double)z[i], (double)g[i], want);
  }
  free(g);
  expect_close("bias", json_num(r.out, "bias"), gsum / M, 1e-6);
  const double bsum = json_num(r.out, "bce_sum");
  cr_expect(isfinite(bsum), "bce_sum %g", bsum);
  expect_close("bce_sum", bsum, bce, 1e-6 * bce);
  char *left = outdir_listing();
  cr_expect_str_eq(left, "g.npy ", "only g.npy expected, got: %s", left);
  free(left);
}

Test(cli, weight_grad_out_matches_reference) {
  write_fixture();
  run_result r = run_binary(fpath("labels.npy"), fpath("logits.npy"),
                            fpath("features.npy"), NULL);
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  expect_json_report(&r);
  float *g = read_npy_f32(opath("g.npy"), N);
  float *w = read_npy_f32(opath("w.npy"), D);
  double want[D] = {0}, scale[D] = {0}, bias = 0;
  for (int i = 0; i < N; ++i) {
    const double gi = sigmoid(fx_z[i]) - fx_y[i];
    cr_expect(fabs((double)g[i] - gi) <= 1e-6, "grad[%d]: %.9g vs %.17g", i,
              (double)g[i], gi);
    bias += gi / N;
    for (int j = 0; j < D; ++j) {
      want[j] += gi * fx_x[i * D + j] / N;
      scale[j] += fabs(gi * fx_x[i * D + j]) / N;
    }
  }
  for (int j = 0; j < D; ++j)
    cr_expect(fabs((double)w[j] - want[j]) <= 1e-5 * scale[j] + 1e-7,
              "dL/dW[%d]: got %.9g, expected %.17g", j, (double)w[j], want[j]);
  expect_close("bias", json_num(r.out, "bias"), bias, 1e-6);
  free(g);
  free(w);
}

/* CSV inputs with header lines give the same report as the .npy files. */
Test(cli, csv_inputs) {
  write_fixture();
  FILE *fy = fopen(fpath("labels.csv"), "w");
  FILE *fz = fopen(fpath("logits.csv"), "w");
  FILE *fxx = fopen(fpath("features.csv"), "w");
  cr_assert(fy && fz && fxx);
  fprintf(fy, "label\n");
  fprintf(fz, "logit\n");
  fprintf(fxx, "a,b,c\n");
  for (int i = 0; i < N; ++i) {
    fprintf(fy, "%d\n", fx_y[i]);
    fprintf(fz, "%.9g\n", (double)fx_z[i]);
    fprintf(fxx, "%.9g,%.9g,%.9g\n", (double)fx_x[i * D],
            (double)fx_x[i * D + 1], (double)fx_x[i * D + 2]);
  }
  fclose(fy);
  fclose(fz);
  fclose(fxx);
  run_result a = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--features", fpath("features.npy"),
                     "--weight-grad-out", opath("w_npy.npy"), "--json");
  run_result b = RUN("binary", "--labels", fpath("labels.csv"), "--scores",
                     fpath("logits.csv"), "--features", fpath("features.csv"),
                     "--weight-grad-out", opath("w_csv.npy"), "--json");
  cr_assert_eq(a.status, 0, "%s: %s", a.cmdline, a.err);
  cr_assert_eq(b.status, 0, "%s: %s", b.cmdline, b.err);
  expect_json_report(&b);
  static const char *const keys[] = {"n",       "tp",       "fp",   "tn", "fn",
                                     "bce_sum", "bce_mean", "bias", "mcc"};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; ++k)
    cr_expect_eq(json_num(a.out, keys[k]), json_num(b.out, keys[k]),
                 "%s differs between .npy and CSV: %s vs %s", keys[k], a.out,
                 b.out);
  float *wa = read_npy_f32(opath("w_npy.npy"), D);
  float *wb = read_npy_f32(opath("w_csv.npy"), D);
  for (int j = 0; j < D; ++j)
    cr_expect_eq(wa[j], wb[j], "dL/dW[%d]: %.9g vs %.9g", j, (double)wa[j],
                 (double)wb[j]);
  free(wa);
  free(wb);
}

/* Other dtypes and a version 2 header give the same counts. */
Test(cli, other_dtypes_and_v2_header) {
  write_fixture();
  write_i64(fpath("labels64.npy"), fx_y, N);
  write_f64(fpath("logits64.npy"), fx_z, N);
  write_npy_v(fpath("logits_v2.npy"), 2, "<f4", 0, shape1(N), fx_z,
              sizeof fx_z);
  run_result a = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--json");
  run_result b = RUN("binary", "--labels", fpath("labels64.npy"), "--scores",
                     fpath("logits64.npy"), "--json");
  run_result c = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits_v2.npy"), "--json");
  cr_assert_eq(a.status, 0, "%s: %s", a.cmdline, a.err);
  cr_assert_eq(b.status, 0, "%s: %s", b.cmdline, b.err);
  cr_assert_eq(c.status, 0, "%s: %s", c.cmdline, c.err);
  static const char *const keys[] = {"tp", "fp", "tn", "fn", "bce_sum"};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; ++k) {
    cr_expect_eq(json_num(a.out, keys[k]), json_num(b.out, keys[k]), "%s",
                 keys[k]);
    cr_expect_eq(json_num(a.out, keys[k]), json_num(c.out, keys[k]), "%s",
                 keys[k]);
  }
}

/* BCE at infinite logits: z = +inf with y = 1 costs exactly 0; with y = 0
 * the loss is +inf, written as 1e999. */
Test(cli, infinite_logits) {
  const uint8_t one = 1, zero = 0;
  const float inf = INFINITY;
  write_u8(fpath("y1.npy"), &one, 1);
  write_u8(fpath("y0.npy"), &zero, 1);
  write_f32(fpath("zinf.npy"), &inf, 1);
  run_result r = RUN("binary", "--labels", fpath("y1.npy"), "--scores",
                     fpath("zinf.npy"), "--grad-out", opath("g.npy"), "--json");
  cr_assert_eq(r.status, 0, "%s: %s", r.cmdline, r.err);
  expect_json_report(&r);
  cr_expect_eq(json_num(r.out, "bce_sum"), 0.0, "%s", r.out);
  cr_expect_eq(json_num(r.out, "bce_mean"), 0.0, "%s", r.out);
  cr_expect_eq(json_num(r.out, "bias"), 0.0, "%s", r.out);
  float *g = read_npy_f32(opath("g.npy"), 1);
  cr_expect_eq(g[0], 0.0f);
  free(g);
  r = RUN("binary", "--labels", fpath("y0.npy"), "--scores", fpath("zinf.npy"),
          "--json");
  cr_assert_eq(r.status, 0, "%s: %s", r.cmdline, r.err);
  expect_json_report(&r);
  cr_expect_not_null(strstr(r.out, "\"bce_mean\":1e999"), "%s", r.out);
  cr_expect_eq(json_num(r.out, "bias"), 1.0, "%s", r.out);
}

Test(cli, text_report) {
  write_fixture();
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"));
  cr_assert_eq(r.status, 0, "%s: %s", r.cmdline, r.err);
  cr_expect_not_null(strstr(r.out, "accuracy"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "device"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "samples/s"), "%s", r.out);
}

/* ---------------------------------------------------------------- */
/* Help, version, devices, demo                                      */
/* ---------------------------------------------------------------- */

Test(cli, help_everywhere) {
  const char *const *cmds[] = {
      (const char *const[]){"--help", NULL},
      (const char *const[]){"binary", "--help", NULL},
      (const char *const[]){"demo", "--help", NULL},
      (const char *const[]){"devices", "--help", NULL}};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; ++i) {
    run_result r = run_cli(cmds[i]);
    cr_expect_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
    cr_expect_not_null(strstr(r.out, "usage"), "%s: %s", r.cmdline, r.out);
  }
}

Test(cli, version) {
  run_result r = RUN("--version");
  cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  cr_expect_not_null(strstr(r.out, CLM_VERSION_STRING), "%s", r.out);
}

Test(cli, devices_lists_one) {
  run_result r = RUN("devices");
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  cr_expect_not_null(strstr(r.out, "platform"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "[0]"), "no device listed: %s", r.out);
}

Test(cli, demo_small) {
  run_result r = RUN("demo", "--n", "1000");
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  cr_expect_not_null(strstr(r.out, "origin Q1"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "1000"), "%s", r.out);
}

/* ================================================================ */
/* `clmetrics multiclass`                                            */
/* ================================================================ */

/* ---------------------------------------------------------------- */
/* Fixtures                                                          */
/* ---------------------------------------------------------------- */

static void write_i64_v(const char *path, const int64_t *v, size_t n) {
  write_npy(path, "<i8", shape1(n), v, n * sizeof *v);
}

static void write_i32_v(const char *path, const int32_t *v, size_t n) {
  write_npy(path, "<i4", shape1(n), v, n * sizeof *v);
}

static void write_f64_v(const char *path, const double *v, size_t n) {
  write_npy(path, "<f8", shape1(n), v, n * sizeof *v);
}

static void write_text(const char *path, const char *text) {
  write_bytes(path, text, strlen(text));
}

/* 16 samples of K = 5 classes; predictions right except at 4 places;
 * logits with the true class ahead by 2 except where the prediction is
 * wrong. */
#define MN 16
#define MK 5
static const int64_t mc_y[MN] = {0, 1, 2, 2, 1, 0, 3, 4,
                                 4, 2, 1, 0, 2, 3, 4, 0};
static const int64_t mc_p[MN] = {0, 1, 2, 1, 1, 0, 3, 4,
                                 0, 2, 1, 2, 2, 3, 4, 4};
static float mc_s[MN * MK];
/* Their confusion matrix (rows: true class). */
#define MC_CM "[[2,0,1,0,1],[0,3,0,0,0],[0,1,3,0,0],[0,0,0,2,0],[1,0,0,0,2]]"

/* mc_y.npy (int64), mc_p.npy (int64), mc_s.npy (MN x MK float32 logits). */
static void write_mc_fixture(void) {
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
static char *json_array_text(const char *json, const char *key) {
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\":[", key);
  const char *p = strstr(json, pat);
  if (!p)
    return NULL;
  p += strlen(pat) - 1;
  int depth = 0;
  const char *q = p;
  for (; *q; ++q) {
    if (*q == '[')
      ++depth;
    else if (*q == ']' && --depth == 0)
      break;
  }
  if (!*q)
    return NULL;
  return strndup(p, (size_t)(q - p + 1));
}

/* The i-th {...} object at depth 1 of an array's text, or NULL. */
static char *json_nth_object(const char *arr, int i) {
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
static char *strip_spaces(char *s) {
  char *w = s;
  for (const char *r = s; *r; ++r)
    if (!isspace((unsigned char)*r))
      *w++ = *r;
  *w = '\0';
  return s;
}

static void expect_confusion_matrix(const char *json, const char *want) {
  char *cm = json_array_text(json, "confusion_matrix");
  cr_assert_not_null(cm, "no confusion_matrix array: %s", json);
  cr_expect_str_eq(strip_spaces(cm), want, "confusion_matrix: %s", json);
  free(cm);
}

/* The multi-class report: one JSON object with every documented key, K
 * per-class objects, each average an object with precision/recall/f1. */
static void expect_mc_json(const run_result *r, int k) {
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
static double mc_class_num(const char *json, int c, const char *key) {
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
static double mc_obj_num(const char *json, const char *obj, const char *key) {
  char *o = json_object_text(json, obj);
  cr_assert_not_null(o, "no object %s: %s", obj, json);
  const double v = json_num(o, key);
  free(o);
  return v;
}

/* ---------------------------------------------------------------- */
/* Multi-class bad input                                             */
/* ---------------------------------------------------------------- */

Test(cli, mc_label_out_of_range_with_classes) {
  write_mc_fixture();
  int64_t y[MN];
  memcpy(y, mc_y, sizeof y);
  y[12] = 7;
  const char *lp = fpath("mc_bad_y.npy");
  write_i64_v(lp, y, MN);
  run_result r = RUN("multiclass", "--labels", lp, "--pred", fpath("mc_p.npy"),
                     "--classes", "5", "--json");
  expect_failure(&r, 1, NEEDLES(lp, "12", "7"));
}

Test(cli, mc_label_out_of_range_of_score_width) {
  write_mc_fixture();
  int64_t y[MN];
  memcpy(y, mc_y, sizeof y);
  y[11] = 6;
  const char *lp = fpath("mc_bad_y.npy");
  write_i64_v(lp, y, MN);
  run_result r = RUN("multiclass", "--labels", lp, "--scores",
                     fpath("mc_s.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(lp, "11", "6"));
}

Test(cli, mc_pred_out_of_range) {
  write_mc_fixture();
  int64_t p[MN];
  memcpy(p, mc_p, sizeof p);
  p[10] = 8;
  const char *pp = fpath("mc_bad_p.npy");
  write_i64_v(pp, p, MN);
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred", pp,
                     "--classes", "5", "--json");
  expect_failure(&r, 1, NEEDLES(pp, "10", "8"));
}

Test(cli, mc_negative_label) {
  write_mc_fixture();
  int64_t y[MN];
  memcpy(y, mc_y, sizeof y);
  y[4] = -3;
  const char *lp = fpath("mc_neg_y.npy");
  write_i64_v(lp, y, MN);
  run_result r =
      RUN("multiclass", "--labels", lp, "--pred", fpath("mc_p.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(lp, "4", "-3"));
}

Test(cli, mc_negative_prediction_int32) {
  write_mc_fixture();
  int32_t p[MN];
  for (int i = 0; i < MN; ++i)
    p[i] = (int32_t)mc_p[i];
  p[13] = -1;
  const char *pp = fpath("mc_neg_p.npy");
  write_i32_v(pp, p, MN);
  run_result r =
      RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred", pp, "--json");
  expect_failure(&r, 1, NEEDLES(pp, "13", "-1"));
}

Test(cli, mc_non_integral_label) {
  write_mc_fixture();
  double y[MN];
  for (int i = 0; i < MN; ++i)
    y[i] = (double)mc_y[i];
  y[6] = 2.5;
  const char *lp = fpath("mc_frac_y.npy");
  write_f64_v(lp, y, MN);
  run_result r =
      RUN("multiclass", "--labels", lp, "--pred", fpath("mc_p.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(lp, "6", "2.5"));
}

Test(cli, mc_label_too_large_for_int32) {
  write_mc_fixture();
  int64_t y[MN];
  memcpy(y, mc_y, sizeof y);
  y[2] = 3000000000LL;
  const char *lp = fpath("mc_big_y.npy");
  write_i64_v(lp, y, MN);
  run_result r =
      RUN("multiclass", "--labels", lp, "--pred", fpath("mc_p.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(lp, "3000000000"));
}

/* Several bad labels far into a larger input: the first is named. */
Test(cli, mc_first_of_many_bad_labels) {
  enum { M = 200003 };
  int32_t *y = malloc(M * sizeof *y);
  cr_assert_not_null(y);
  for (int i = 0; i < M; ++i)
    y[i] = i % 5;
  y[150001] = 9;
  y[199999] = 11;
  const char *lp = fpath("many_bad_y.npy");
  const char *pp = fpath("many_p.npy");
  write_i32_v(lp, y, M);
  for (int i = 0; i < M; ++i)
    y[i] = (i * 7) % 5;
  write_i32_v(pp, y, M);
  free(y);
  run_result r = RUN("multiclass", "--labels", lp, "--pred", pp, "--classes",
                     "5", "--json");
  expect_failure(&r, 1, NEEDLES(lp, "150001", "9"));
  cr_expect_null(strstr(r.err, "199999"), "not the first bad index: %s", r.err);
}

/* NaN at two places of a larger score matrix: the first row is named. */
Test(cli, mc_first_of_many_nan_scores) {
  enum { M = 150001, K = 4 };
  float *s = malloc((size_t)M * K * sizeof *s);
  int32_t *y = malloc(M * sizeof *y);
  cr_assert(s && y);
  for (int i = 0; i < M; ++i) {
    y[i] = i % K;
    for (int c = 0; c < K; ++c)
      s[(size_t)i * K + c] = c == y[i] ? 1.0f : 0.0f;
  }
  s[(size_t)123457 * K + 3] = NAN;
  s[(size_t)140000 * K + 0] = NAN;
  const char *sp = fpath("many_nan_s.npy");
  write_f32_2d(sp, s, M, K);
  write_i32_v(fpath("many_y.npy"), y, M);
  free(s);
  free(y);
  run_result r = RUN("multiclass", "--labels", fpath("many_y.npy"), "--scores",
                     sp, "--json");
  expect_failure(&r, 1, NEEDLES(sp, "123457", "3"));
  cr_expect_null(strstr(r.err, "140000"), "not the first bad row: %s", r.err);
}

Test(cli, mc_nan_score) {
  write_mc_fixture();
  float s[MN * MK];
  memcpy(s, mc_s, sizeof s);
  s[13 * MK + 4] = NAN;
  const char *sp = fpath("mc_nan_s.npy");
  write_f32_2d(sp, s, MN, MK);
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     sp, "--json");
  expect_failure(&r, 1, NEEDLES(sp, "13", "4"));
  cr_expect(strstr(r.err, "NaN") || strstr(r.err, "nan"),
            "value NaN not named: %s", r.err);
}

Test(cli, mc_probability_out_of_range) {
  write_mc_fixture();
  float p[MN * MK];
  for (int i = 0; i < MN * MK; ++i)
    p[i] = 0.2f;
  p[7 * MK + 1] = 1.25f;
  const char *sp = fpath("mc_bad_probs.npy");
  write_f32_2d(sp, p, MN, MK);
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     sp, "--scores-kind", "probs", "--json");
  expect_failure(&r, 1, NEEDLES(sp, "7", "1.25"));
}

Test(cli, mc_row_mismatch_pred) {
  write_mc_fixture();
  const char *pp = fpath("mc_short_p.npy");
  write_i64_v(pp, mc_p, MN - 1);
  run_result r =
      RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred", pp, "--json");
  expect_failure(&r, 1, NEEDLES(pp, "16", "15"));
}

Test(cli, mc_row_mismatch_scores) {
  write_mc_fixture();
  const char *sp = fpath("mc_short_s.npy");
  write_f32_2d(sp, mc_s, MN - 1, MK);
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     sp, "--json");
  expect_failure(&r, 1, NEEDLES(sp, "16", "15"));
}

Test(cli, mc_scores_1d) {
  write_mc_fixture();
  const char *sp = fpath("mc_s1d.npy");
  write_f32(sp, mc_s, MN);
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     sp, "--json");
  expect_failure(&r, 1, NEEDLES(sp));
}

Test(cli, mc_scores_one_column) {
  write_mc_fixture();
  const char *sp = fpath("mc_s1col.npy");
  write_f32_2d(sp, mc_s, MN, 1);
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     sp, "--json");
  expect_failure(&r, 1, NEEDLES(sp));
}

Test(cli, mc_pred_2d) {
  write_mc_fixture();
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_s.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(fpath("mc_s.npy")));
}

/* All labels and predictions 0 and no --classes: K would be 1. */
Test(cli, mc_single_class_without_classes) {
  const int64_t z[8] = {0};
  const char *lp = fpath("zeros_y.npy");
  const char *pp = fpath("zeros_p.npy");
  write_i64_v(lp, z, 8);
  write_i64_v(pp, z, 8);
  run_result r = RUN("multiclass", "--labels", lp, "--pred", pp, "--json");
  expect_failure(&r, 1, NEEDLES(lp));
}

Test(cli, mc_classes_one) {
  write_mc_fixture();
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--classes", "1", "--json");
  expect_failure(&r, 2, NEEDLES("--classes", "1"));
}

Test(cli, mc_classes_zero_and_garbage) {
  write_mc_fixture();
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--classes", "0", "--json");
  expect_failure(&r, 2, NEEDLES("--classes", "0"));
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
          fpath("mc_p.npy"), "--classes", "five", "--json");
  expect_failure(&r, 2, NEEDLES("--classes", "five"));
}

/* --classes disagrees with the score matrix's width. */
Test(cli, mc_classes_smaller_than_score_width) {
  write_mc_fixture();
  const char *sp = fpath("mc_s.npy");
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     sp, "--classes", "3", "--json");
  expect_failure(&r, 1, NEEDLES(sp, "5", "3"));
}

/* --classes 3 but label 3 first appears at index 6. */
Test(cli, mc_classes_smaller_than_a_label) {
  write_mc_fixture();
  const char *lp = fpath("mc_y.npy");
  run_result r = RUN("multiclass", "--labels", lp, "--pred", fpath("mc_p.npy"),
                     "--classes", "3", "--json");
  expect_failure(&r, 1, NEEDLES(lp, "6", "3"));
}

Test(cli, mc_top_k_without_scores) {
  write_mc_fixture();
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--top-k", "2", "--json");
  expect_failure(&r, 2, NEEDLES("--top-k", "--scores"));
}

/* K comes from the score file, so k > K is a data error (exit 1). */
Test(cli, mc_top_k_above_classes) {
  write_mc_fixture();
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     fpath("mc_s.npy"), "--top-k", "6", "--json");
  expect_failure(&r, 1, NEEDLES("--top-k", "6", "5"));
}

Test(cli, mc_top_k_zero) {
  write_mc_fixture();
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     fpath("mc_s.npy"), "--top-k", "0", "--json");
  expect_failure(&r, 2, NEEDLES("--top-k", "0"));
}

Test(cli, mc_pred_and_scores_both) {
  write_mc_fixture();
  run_result r =
      RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
          fpath("mc_p.npy"), "--scores", fpath("mc_s.npy"), "--json");
  expect_failure(&r, 2, NEEDLES("--pred", "--scores"));
}

Test(cli, mc_neither_pred_nor_scores) {
  write_mc_fixture();
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--json");
  expect_failure(&r, 2, NEEDLES("--pred", "--scores"));
}

Test(cli, mc_no_labels) {
  write_mc_fixture();
  run_result r = RUN("multiclass", "--pred", fpath("mc_p.npy"), "--json");
  expect_failure(&r, 2, NEEDLES("--labels"));
}

Test(cli, mc_usage_errors) {
  write_mc_fixture();
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--bogus-flag");
  expect_failure(&r, 2, NEEDLES("--bogus-flag"));
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
          fpath("mc_s.npy"), "--scores-kind", "odds");
  expect_failure(&r, 2, NEEDLES("odds"));
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
          fpath("mc_p.npy"), "--zero-division", "2");
  expect_failure(&r, 2, NEEDLES("zero-division"));
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred");
  expect_failure(&r, 2, NEEDLES("--pred"));
}

Test(cli, mc_names_too_few) {
  write_mc_fixture();
  const char *np = fpath("names4.txt");
  write_text(np, "cat\ndog\nbird\nfish\n");
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--names", np);
  expect_failure(&r, 1, NEEDLES(np, "4", "5"));
}

Test(cli, mc_names_too_many) {
  write_mc_fixture();
  const char *np = fpath("names7.txt");
  write_text(np, "a\nb\nc\nd\ne\nf\ng\n");
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--names", np, "--json");
  expect_failure(&r, 1, NEEDLES(np, "7", "5"));
}

Test(cli, mc_names_missing_file) {
  write_mc_fixture();
  const char *np = fpath("no_names.txt");
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--names", np);
  expect_failure(&r, 1, NEEDLES(np));
}

Test(cli, mc_malformed_pred_npy) {
  write_mc_fixture();
  unsigned char junk[300];
  srand(54321);
  for (size_t i = 0; i < sizeof junk; ++i)
    junk[i] = (unsigned char)(rand() & 0xff);
  junk[0] = 0x42;
  const char *pp = fpath("mc_junk_p.npy");
  write_bytes(pp, junk, sizeof junk);
  run_result r =
      RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred", pp, "--json");
  expect_failure(&r, 1, NEEDLES(pp));
}

Test(cli, mc_truncated_pred_npy) {
  write_mc_fixture();
  const char *pp = fpath("mc_trunc_p.npy");
  write_npy(pp, "<i8", shape1(MN), mc_p, 10 * sizeof(int64_t));
  run_result r =
      RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred", pp, "--json");
  expect_failure(&r, 1, NEEDLES(pp));
}

Test(cli, mc_unsupported_pred_dtype) {
  write_mc_fixture();
  const char *pp = fpath("mc_c8_p.npy");
  float c[2 * MN] = {0};
  write_npy(pp, "<c8", shape1(MN), c, sizeof c);
  run_result r =
      RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred", pp, "--json");
  expect_failure(&r, 1, NEEDLES(pp, "<c8"));
}

Test(cli, mc_missing_labels_file) {
  write_mc_fixture();
  const char *lp = fpath("no_labels.npy");
  run_result r =
      RUN("multiclass", "--labels", lp, "--pred", fpath("mc_p.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(lp));
}

Test(cli, mc_empty_input) {
  const char *lp = fpath("mc_empty_y.npy");
  const char *pp = fpath("mc_empty_p.npy");
  write_npy(lp, "<i8", "(0,)", NULL, 0);
  write_npy(pp, "<i8", "(0,)", NULL, 0);
  run_result r = RUN("multiclass", "--labels", lp, "--pred", pp, "--classes",
                     "3", "--json");
  expect_failure(&r, 1, NEEDLES("empty"));
}

/* ---------------------------------------------------------------- */
/* Multi-class successful runs                                       */
/* ---------------------------------------------------------------- */

/* 10 samples, K = 3, by hand.
 * y:    0 0 0 1 1 1 2 2 2 2
 * pred: 0 0 1 1 1 1 2 2 0 0
 * matrix [[2,1,0],[0,3,0],[2,0,2]]; supports 3 3 4, predicted 4 4 2.
 * P = 1/2, 3/4, 1; R = 2/3, 1, 1/2; F1 = 4/7, 6/7, 2/3.
 * MCC = (7*10 - 32) / sqrt((100 - 36)(100 - 34)) = 38 / sqrt(4224);
 * kappa = (0.7 - 0.32) / (1 - 0.32) = 19/34. */
Test(cli, mc_known_answer_pred) {
  const int64_t y[10] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 2};
  const int64_t p[10] = {0, 0, 1, 1, 1, 1, 2, 2, 0, 0};
  write_i64_v(fpath("y.npy"), y, 10);
  write_i64_v(fpath("p.npy"), p, 10);
  run_result r = RUN("multiclass", "--labels", fpath("y.npy"), "--pred",
                     fpath("p.npy"), "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  cr_expect_null(strstr(r.err, "error"), "%s", r.err);
  expect_mc_json(&r, 3);
  cr_expect_eq(json_num(r.out, "n"), 10);
  expect_confusion_matrix(r.out, "[[2,1,0],[0,3,0],[2,0,2]]");
  const double P[3] = {0.5, 0.75, 1.0}, R[3] = {2.0 / 3, 1.0, 0.5},
               F[3] = {4.0 / 7, 6.0 / 7, 2.0 / 3}, S[3] = {3, 3, 4};
  for (int c = 0; c < 3; ++c) {
    expect_close("precision", mc_class_num(r.out, c, "precision"), P[c], 1e-12);
    expect_close("recall", mc_class_num(r.out, c, "recall"), R[c], 1e-12);
    expect_close("f1", mc_class_num(r.out, c, "f1"), F[c], 1e-12);
    cr_expect_eq(mc_class_num(r.out, c, "support"), S[c]);
  }
  expect_close("accuracy", json_num(r.out, "accuracy"), 0.7, 1e-12);
  expect_close("balanced_accuracy", json_num(r.out, "balanced_accuracy"),
               13.0 / 18, 1e-12);
  expect_close("mcc", json_num(r.out, "mcc"), 38.0 / sqrt(4224.0), 1e-12);
  expect_close("cohen_kappa", json_num(r.out, "cohen_kappa"), 19.0 / 34, 1e-12);
  expect_close("macro.precision", mc_obj_num(r.out, "macro", "precision"), 0.75,
               1e-12);
  expect_close("macro.recall", mc_obj_num(r.out, "macro", "recall"), 13.0 / 18,
               1e-12);
  expect_close("macro.f1", mc_obj_num(r.out, "macro", "f1"), 44.0 / 63, 1e-12);
  expect_close("weighted.precision", mc_obj_num(r.out, "weighted", "precision"),
               0.775, 1e-12);
  expect_close("weighted.recall", mc_obj_num(r.out, "weighted", "recall"), 0.7,
               1e-12);
  expect_close("weighted.f1", mc_obj_num(r.out, "weighted", "f1"), 73.0 / 105,
               1e-12);
  static const char *const pr[] = {"precision", "recall", "f1"};
  for (int q = 0; q < 3; ++q)
    expect_close("micro", mc_obj_num(r.out, "micro", pr[q]), 0.7, 1e-12);
  cr_expect(!json_has_key(r.out, "loss"), "loss without scores: %s", r.out);
  cr_expect(!json_has_key(r.out, "top_k_accuracy"), "top-k not asked: %s",
            r.out);
}

/* Labels in other dtypes (uint8, int16, int32, integral float64, CSV)
 * give the same matrix. */
Test(cli, mc_label_dtypes_agree) {
  write_mc_fixture();
  uint8_t y8[MN];
  int16_t y16[MN];
  int32_t y32[MN];
  double yf[MN];
  for (int i = 0; i < MN; ++i) {
    y8[i] = (uint8_t)mc_y[i];
    y16[i] = (int16_t)mc_y[i];
    y32[i] = (int32_t)mc_y[i];
    yf[i] = (double)mc_y[i];
  }
  write_u8(fpath("y8.npy"), y8, MN);
  write_npy(fpath("y16.npy"), "<i2", shape1(MN), y16, sizeof y16);
  write_i32_v(fpath("y32.npy"), y32, MN);
  write_f64_v(fpath("yf.npy"), yf, MN);
  FILE *f = fopen(fpath("y.csv"), "w");
  cr_assert_not_null(f);
  fprintf(f, "label\n");
  for (int i = 0; i < MN; ++i)
    fprintf(f, "%d\n", (int)mc_y[i]);
  fclose(f);
  const char *want = MC_CM;
  const char *files[] = {"mc_y.npy", "y8.npy", "y16.npy",
                         "y32.npy",  "yf.npy", "y.csv"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; ++i) {
    run_result r = RUN("multiclass", "--labels", fpath(files[i]), "--pred",
                       fpath("mc_p.npy"), "--json");
    cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
    expect_mc_json(&r, MK);
    expect_confusion_matrix(r.out, want);
  }
}

/* Scores: the prediction is the argmax (ties to the lowest index), the
 * loss is the mean of log-sum-exp minus the true logit, top-2 counts a hit
 * when fewer than 2 scores beat the true class's. */
Test(cli, mc_scores_logits_loss_and_top_k) {
  enum { M = 6, K = 3 };
  const int64_t y[M] = {0, 1, 2, 2, 1, 0};
  const float z[M * K] = {2.0f,  1.0f,  0.0f,  /* pred 0, true 0: top-1 hit */
                          3.0f,  1.0f,  -1.0f, /* pred 0, true 1: top-2 hit */
                          0.5f,  0.5f,  0.5f,  /* tie: pred 0, true 2 */
                          1.0f,  4.0f,  -2.0f, /* pred 1, true 2: top-2 miss */
                          -1.0f, 2.0f,  2.0f,  /* tie 1/2: pred 1, true 1 */
                          10.0f, -5.0f, 0.0f}; /* pred 0, true 0 */
  write_i64_v(fpath("y.npy"), y, M);
  write_f32_2d(fpath("z.npy"), z, M, K);
  run_result r = RUN("multiclass", "--labels", fpath("y.npy"), "--scores",
                     fpath("z.npy"), "--top-k", "2", "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  expect_mc_json(&r, K);
  expect_confusion_matrix(r.out, "[[2,0,0],[1,1,0],[1,1,0]]");
  double ce = 0;
  for (int i = 0; i < M; ++i) {
    double m = -INFINITY, s = 0;
    for (int c = 0; c < K; ++c)
      m = fmax(m, z[i * K + c]);
    for (int c = 0; c < K; ++c)
      s += exp(z[i * K + c] - m);
    ce += m + log(s) - z[i * K + y[i]];
  }
  ce /= M;
  const double got = mc_obj_num(r.out, "loss", "cross_entropy_mean");
  expect_close("cross_entropy_mean", got, ce, 1e-5 * ce);
  /* top-2: rows 0, 1, 4, 5 hit; row 3 misses; row 2 is a three-way tie
   * (not checked: its rank is a convention), so 4/6 or 5/6. */
  const double tk = json_num(r.out, "top_k_accuracy");
  cr_expect(fabs(tk - 4.0 / 6) < 1e-12 || fabs(tk - 5.0 / 6) < 1e-12,
            "top_k_accuracy %.17g: %s", tk, r.out);
  expect_close("accuracy", json_num(r.out, "accuracy"), 3.0 / 6, 1e-12);
}

/* Probabilities: -log(clip(p_true, 2^-23, 1)); p_true = 0 costs
 * 23 log 2. */
Test(cli, mc_scores_probs_loss) {
  enum { M = 4, K = 3 };
  const int32_t y[M] = {0, 1, 2, 2};
  const float p[M * K] = {0.5f, 0.25f, 0.25f, 0.125f, 0.75f, 0.125f,
                          1.0f, 0.0f,  0.0f,  0.25f,  0.25f, 0.5f};
  write_i32_v(fpath("y.npy"), y, M);
  write_f32_2d(fpath("p.npy"), p, M, K);
  run_result r =
      RUN("multiclass", "--labels", fpath("y.npy"), "--scores", fpath("p.npy"),
          "--scores-kind", "probs", "--top-k", "1", "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  expect_mc_json(&r, K);
  expect_confusion_matrix(r.out, "[[1,0,0],[0,1,0],[1,0,1]]");
  const double ce = (-log(0.5) - log(0.75) + 23 * log(2.0) - log(0.5)) / M;
  expect_close("cross_entropy_mean",
               mc_obj_num(r.out, "loss", "cross_entropy_mean"), ce, 1e-5 * ce);
  expect_close("top_k_accuracy", json_num(r.out, "top_k_accuracy"), 0.75,
               1e-12);
}

/* y = 0 1 2 2, pred = 0 1 1 1, K = 4: class 2 is never predicted
 * (precision 0/0), class 3 never true nor predicted (everything 0/0). */
static void write_unpredicted(void) {
  const int64_t y[4] = {0, 1, 2, 2};
  const int64_t p[4] = {0, 1, 1, 1};
  write_i64_v(fpath("y.npy"), y, 4);
  write_i64_v(fpath("p.npy"), p, 4);
}

Test(cli, mc_zero_division_nan_is_null) {
  write_unpredicted();
  run_result r =
      RUN("multiclass", "--labels", fpath("y.npy"), "--pred", fpath("p.npy"),
          "--classes", "4", "--zero-division", "nan", "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  expect_mc_json(&r, 4);
  expect_confusion_matrix(r.out, "[[1,0,0,0],[0,1,0,0],[0,2,0,0],[0,0,0,0]]");
  cr_expect(isnan(mc_class_num(r.out, 2, "precision")),
            "precision of a never-predicted class must be null: %s", r.out);
  cr_expect_eq(mc_class_num(r.out, 2, "recall"), 0.0, "%s", r.out);
  cr_expect_eq(mc_class_num(r.out, 2, "f1"), 0.0, "%s", r.out);
  static const char *const pr[] = {"precision", "recall", "f1"};
  for (int q = 0; q < 3; ++q)
    cr_expect(isnan(mc_class_num(r.out, 3, pr[q])),
              "class 3 %s must be null: %s", pr[q], r.out);
  expect_close("precision 1", mc_class_num(r.out, 1, "precision"), 1.0 / 3,
               1e-12);
  /* Macro averages skip the nulls, as scikit-learn >= 1.3. */
  expect_close("macro.precision", mc_obj_num(r.out, "macro", "precision"),
               (1.0 + 1.0 / 3) / 2, 1e-12);
  expect_close("macro.recall", mc_obj_num(r.out, "macro", "recall"),
               (1.0 + 1.0 + 0.0) / 3, 1e-12);
  expect_close("balanced_accuracy", json_num(r.out, "balanced_accuracy"),
               2.0 / 3, 1e-12);
  expect_close("accuracy", json_num(r.out, "accuracy"), 0.5, 1e-12);
}

Test(cli, mc_zero_division_default_warns_and_one) {
  write_unpredicted();
  run_result r = RUN("multiclass", "--labels", fpath("y.npy"), "--pred",
                     fpath("p.npy"), "--classes", "4", "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  expect_mc_json(&r, 4);
  cr_expect_eq(mc_class_num(r.out, 2, "precision"), 0.0, "%s", r.out);
  cr_expect_eq(mc_class_num(r.out, 3, "recall"), 0.0, "%s", r.out);
  cr_expect_not_null(strstr(r.err, "warning"),
                     "default zero division must warn: %s", r.err);
  cr_expect_not_null(strstr(r.err, "precision"), "%s", r.err);
  cr_expect_null(strstr(r.err, "error"), "%s", r.err);
  r = RUN("multiclass", "--labels", fpath("y.npy"), "--pred", fpath("p.npy"),
          "--classes", "4", "--zero-division", "1", "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  cr_expect_eq(mc_class_num(r.out, 2, "precision"), 1.0, "%s", r.out);
  cr_expect_eq(mc_class_num(r.out, 3, "precision"), 1.0, "%s", r.out);
  cr_expect_eq(mc_class_num(r.out, 3, "recall"), 1.0, "%s", r.out);
  cr_expect_eq(mc_class_num(r.out, 2, "recall"), 0.0, "%s", r.out);
}

Test(cli, mc_text_report_with_names) {
  write_mc_fixture();
  const char *np = fpath("names5.txt");
  write_text(np, "cat\ndog\nbird\nfish\nemu\n");
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--names", np);
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  static const char *const names[] = {"cat", "dog", "bird", "fish", "emu"};
  for (size_t i = 0; i < 5; ++i)
    cr_expect_not_null(strstr(r.out, names[i]), "name %s missing: %s", names[i],
                       r.out);
  cr_expect_not_null(strstr(r.out, "precision"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "accuracy"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "macro avg"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "weighted avg"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "confusion matrix"),
                     "K <= 20: the matrix must be shown: %s", r.out);
  /* The matrix header lists the names in order. */
  const char *m = strstr(r.out, "confusion matrix");
  if (m) {
    const char *prev = m;
    for (size_t i = 0; i < 5; ++i) {
      const char *q = strstr(prev, names[i]);
      cr_expect_not_null(q, "matrix header lacks %s in order: %s", names[i], m);
      if (q)
        prev = q;
    }
  }
  /* Names also go into the JSON. */
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
          fpath("mc_p.npy"), "--names", np, "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  expect_mc_json(&r, MK);
  cr_expect_not_null(strstr(r.out, "\"emu\""), "%s", r.out);
}

/* K = 21 > 20: the report leaves the matrix out. */
Test(cli, mc_text_report_large_k_omits_matrix) {
  int64_t y[21];
  for (int i = 0; i < 21; ++i)
    y[i] = i;
  write_i64_v(fpath("y21.npy"), y, 21);
  run_result r = RUN("multiclass", "--labels", fpath("y21.npy"), "--pred",
                     fpath("y21.npy"));
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  cr_expect_not_null(strstr(r.out, "accuracy"), "%s", r.out);
  cr_expect_null(strstr(r.out, "confusion matrix"), "K = 21: %s", r.out);
}

/* CSV scores (header, comma-separated rows) give the same report as the
 * .npy file. */
Test(cli, mc_csv_scores) {
  write_mc_fixture();
  FILE *f = fopen(fpath("s.csv"), "w");
  cr_assert_not_null(f);
  fprintf(f, "a,b,c,d,e\n");
  for (int i = 0; i < MN; ++i)
    for (int c = 0; c < MK; ++c)
      fprintf(f, "%.9g%s", (double)mc_s[i * MK + c], c + 1 < MK ? "," : "\n");
  fclose(f);
  run_result a = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     fpath("mc_s.npy"), "--json");
  run_result b = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     fpath("s.csv"), "--json");
  cr_assert_eq(a.status, 0, "%s: %s", a.cmdline, a.err);
  cr_assert_eq(b.status, 0, "%s: %s", b.cmdline, b.err);
  expect_mc_json(&a, MK);
  expect_mc_json(&b, MK);
  /* The logits favour mc_p, so the matrix is that of the --pred run. */
  expect_confusion_matrix(a.out, MC_CM);
  expect_confusion_matrix(b.out, MC_CM);
  cr_expect_eq(mc_obj_num(a.out, "loss", "cross_entropy_mean"),
               mc_obj_num(b.out, "loss", "cross_entropy_mean"), "%s vs %s",
               a.out, b.out);
}

Test(cli, mc_help) {
  run_result r = RUN("multiclass", "--help");
  cr_expect_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  cr_expect_not_null(strstr(r.out, "usage"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "--top-k"), "%s", r.out);
}

Test(cli, demo_origin_q2) {
  run_result r = RUN("demo", "--n", "1000");
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  cr_expect_not_null(strstr(r.out, "origin Q2"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "0.7937"), "F1_A must be 0.7937: %s", r.out);
}
