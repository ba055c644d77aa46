/* Odd and hostile inputs to the CLI (issue 8): multi-class inputs stream
 * through bounded memory, class counts beyond the machine fail before
 * allocating, rows without a cross-entropy, class names of any length and
 * only UTF-8, and the JSON writer's strings always valid UTF-8. */
#include "cli_fixture.h"

#include <sys/resource.h>
#include <time.h>

/* The JSON writer itself, to feed it bytes no report can carry (its
 * "cli.h" resolves beside it). */
#include "../src/cli/json.c"

TestSuite(cli, .init = make_tmpdir, .fini = remove_tmpdir);

/* ---------------------------------------------------------------- */
/* Helpers                                                           */
/* ---------------------------------------------------------------- */

/* Whether s[0..len) is valid UTF-8 (RFC 3629), written independently of
 * the CLI's checks. */
static int valid_utf8(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint32_t cp;
    size_t n;
    if (s[i] < 0x80) {
      ++i;
      continue;
    } else if ((s[i] & 0xe0) == 0xc0) {
      cp = s[i] & 0x1f, n = 2;
    } else if ((s[i] & 0xf0) == 0xe0) {
      cp = s[i] & 0x0f, n = 3;
    } else if ((s[i] & 0xf8) == 0xf0) {
      cp = s[i] & 0x07, n = 4;
    } else {
      return 0;
    }
    if (i + n > len)
      return 0;
    for (size_t q = 1; q < n; ++q) {
      if ((s[i + q] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + q] & 0x3f);
    }
    const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += n;
  }
  return 1;
}

/* RssAnon of a running process in KiB, or -1. */
static long rss_anon_kb(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "RssAnon:", 8) == 0)
      kb = strtol(line + 8, NULL, 10);
  fclose(f);
  return kb;
}

/* Runs the CLI like run_cli, sampling its anonymous memory (heap, device
 * buffers of a CPU device; not the mapped input files) every 2 ms: the
 * peak in MiB goes to *peak_mib. Whole-array copies live from before the
 * evaluation until the end, so the samples cannot miss them. */
static run_result run_cli_peak(const char *const *args, double *peak_mib) {
  const char *argv[64];
  size_t k = 0;
  argv[k++] = CLM_CLI_PATH;
  for (size_t i = 0; args[i]; ++i) {
    cr_assert(k < 63);
    argv[k++] = args[i];
  }
  argv[k] = NULL;
  cli_proc p = cli_start(argv, environ);
  long peak = 0;
  int ws = 0;
  for (;;) {
    const long kb = rss_anon_kb(p.pid);
    if (kb > peak)
      peak = kb;
    const pid_t w = waitpid(p.pid, &ws, WNOHANG);
    cr_assert_neq(w, -1);
    if (w == p.pid)
      break;
    usleep(2000);
  }
  run_result r = cli_finish(&p, ws);
  snprintf(r.cmdline, sizeof r.cmdline, "clmetrics %s ...", args[0]);
  *peak_mib = (double)peak / 1024.0;
  return r;
}

/* Whether this build runs under AddressSanitizer (the CLI too): its shadow
 * memory and quarantine change every memory figure. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* Overwrites bytes of a file in place (the data of an .npy sits at its
 * end: offset from the end of the file). */
static void patch_from_end(const char *path, uint64_t from_end,
                           const void *bytes, size_t len) {
  int fd = open(path, O_WRONLY);
  cr_assert_geq(fd, 0);
  struct stat sb;
  cr_assert_eq(fstat(fd, &sb), 0);
  cr_assert_eq(pwrite(fd, bytes, len, (off_t)(sb.st_size - from_end)),
               (ssize_t)len);
  close(fd);
}

static double physical_memory(void) {
  return (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGE_SIZE);
}

/* ---------------------------------------------------------------- */
/* Memory bounded for any N: int64 labels, float64 scores            */
/* ---------------------------------------------------------------- */

/* 2^21 x 8 float64 scores (128 MiB) and int64 labels: evaluated in
 * batches, never a float32 copy of the whole matrix (64 MiB) nor of the
 * labels, with the same report as the float32/int32 files of the same
 * values used in place; a bad row past several batches is named by its
 * row in the file. */
Test(cli, mc_f64_scores_stream_in_bounded_memory, .timeout = 300) {
  enum { K = 8 };
  const size_t n = (size_t)1 << 21;
  double *s64 = malloc(n * K * sizeof *s64);
  float *s32 = malloc(n * K * sizeof *s32);
  int64_t *y64 = malloc(n * sizeof *y64);
  int32_t *y32 = malloc(n * sizeof *y32);
  cr_assert(s64 && s32 && y64 && y32);
  uint64_t seed = 12345;
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    y64[i] = y32[i] = (int32_t)((seed >> 33) % K);
    for (int c = 0; c < K; ++c) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      /* Quarters in [-4, 4): exact in float32, with ties. */
      const double v = (double)((seed >> 40) % 32) * 0.25 - 4.0;
      s64[i * K + c] = v;
      s32[i * K + c] = (float)v;
    }
  }
  const char *sp = fpath("s64.npy"), *lp = fpath("y64.npy");
  write_npy(sp, "<f8", shape2(n, K), s64, n * K * sizeof *s64);
  write_i64_v(lp, y64, n);
  write_f32_2d(fpath("s32.npy"), s32, n, K);
  write_i32_v(fpath("y32.npy"), y32, n);
  free(s64);
  free(s32);
  free(y64);
  free(y32);

  double small_mib = 0, big_mib = 0, ref_mib = 0;
  /* The same command on 1000 rows: the process's own baseline. */
  const int64_t ys[4] = {0, 1, 2, 3};
  double ss[4 * K] = {0};
  for (int i = 0; i < 4; ++i)
    ss[i * K + i] = 1;
  write_i64_v(fpath("ys.npy"), ys, 4);
  write_npy(fpath("ss.npy"), "<f8", shape2(4, K), ss, sizeof ss);
  run_result r = run_cli_peak(EXTRA("multiclass", "--labels", fpath("ys.npy"),
                                    "--scores", fpath("ss.npy"), "--json"),
                              &small_mib);
  cr_assert_eq(r.status, 0, "%s", r.err);
  r = run_cli_peak(EXTRA("multiclass", "--labels", lp, "--scores", sp,
                         "--top-k", "3", "--json"),
                   &big_mib);
  cr_assert_eq(r.status, 0, "%s", r.err);
  expect_mc_json(&r, K);
  run_result ref =
      run_cli_peak(EXTRA("multiclass", "--labels", fpath("y32.npy"), "--scores",
                         fpath("s32.npy"), "--top-k", "3", "--json"),
                   &ref_mib);
  cr_assert_eq(ref.status, 0, "%s", ref.err);
  cr_log_info("anonymous memory: %.1f MiB (4 rows), %.1f MiB (float64), "
              "%.1f MiB (float32 in place)",
              small_mib, big_mib, ref_mib);
  /* The baseline is the same command on the float32 copy of the data,
   * which is evaluated in place from the mapped file: the one-vs-rest
   * ranking's histograms grow with the number of distinct scores (up to
   * its budget), so the 4-row run only bounds the process's fixed cost.
   * Streaming float64 adds a chunk buffer; a copy of all scores would add
   * n x K floats (64 MiB), and the bound is half of that. */
  if (!UNDER_ASAN) {
    const double copy_mib = (double)n * K * sizeof(float) / 1048576;
    cr_expect_lt(big_mib - ref_mib, copy_mib / 2,
                 "float64 scores took %.1f MiB over the %.1f MiB of the "
                 "float32 run: near a float32 copy of all %zu x %d scores "
                 "(%.0f MiB)",
                 big_mib - ref_mib, ref_mib, n, K, copy_mib);
    cr_expect_lt(small_mib, ref_mib, "the 4-row run took %.1f MiB", small_mib);
  }
  /* Same answers: counts exactly, the loss to float32 summation. */
  char *cm = json_array_text(r.out, "confusion_matrix");
  char *cm_ref = json_array_text(ref.out, "confusion_matrix");
  cr_assert(cm && cm_ref);
  cr_expect_str_eq(cm, cm_ref);
  free(cm);
  free(cm_ref);
  cr_expect_eq(json_num(r.out, "accuracy"), json_num(ref.out, "accuracy"));
  cr_expect_eq(json_num(r.out, "top_k_accuracy"),
               json_num(ref.out, "top_k_accuracy"));
  expect_close("cross-entropy", mc_obj_num(r.out, "loss", "cross_entropy_mean"),
               mc_obj_num(ref.out, "loss", "cross_entropy_mean"), 1e-6);

  /* Row 1500001 (a later batch) all -inf: named by its row in the file. */
  const double ninf[K] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY,
                          -INFINITY, -INFINITY, -INFINITY, -INFINITY};
  patch_from_end(sp, (uint64_t)(n - 1500001) * K * sizeof(double), ninf,
                 sizeof ninf);
  r = RUN("multiclass", "--labels", lp, "--scores", sp, "--json");
  expect_failure(&r, 1, NEEDLES(sp, "row 1500001", "every score is -inf"));
  /* And a bad label further on, in the int64 labels. */
  const double one[K] = {1, 0, 0, 0, 0, 0, 0, 0};
  patch_from_end(sp, (uint64_t)(n - 1500001) * K * sizeof(double), one,
                 sizeof one);
  const int64_t bad = 9;
  patch_from_end(lp, (uint64_t)(n - 2000003) * sizeof(int64_t), &bad,
                 sizeof bad);
  r = RUN("multiclass", "--labels", lp, "--scores", sp, "--json");
  expect_failure(&r, 1, NEEDLES(lp, "2000003", "9"));
}

/* int64 labels and predictions (NumPy's default) of 2^22 + 5 samples: no
 * int32 copy of either file (16 MiB each); K inferred batch by batch from
 * a label that only occurs in the last batch; a bad prediction there named
 * with its file and index. */
Test(cli, mc_i64_labels_stream_in_bounded_memory, .timeout = 300) {
  const size_t n = ((size_t)1 << 22) + 5;
  int64_t *y = malloc(n * sizeof *y), *p = malloc(n * sizeof *p);
  cr_assert(y && p);
  for (size_t i = 0; i < n; ++i) {
    y[i] = (int64_t)(i % 5);
    p[i] = (int64_t)((i * 7) % 5);
  }
  y[n - 2] = 6; /* K = 7, from the last batch only */
  const char *lp = fpath("yl.npy"), *pp = fpath("pl.npy");
  write_i64_v(lp, y, n);
  write_i64_v(pp, p, n);
  free(y);
  free(p);
  const int64_t ys[3] = {0, 1, 2};
  write_i64_v(fpath("ys.npy"), ys, 3);
  double small_mib = 0, big_mib = 0;
  run_result r = run_cli_peak(EXTRA("multiclass", "--labels", fpath("ys.npy"),
                                    "--pred", fpath("ys.npy"), "--json"),
                              &small_mib);
  cr_assert_eq(r.status, 0, "%s", r.err);
  r = run_cli_peak(EXTRA("multiclass", "--labels", lp, "--pred", pp, "--json"),
                   &big_mib);
  cr_assert_eq(r.status, 0, "%s", r.err);
  expect_mc_json(&r, 7);
  cr_expect_eq(json_num(r.out, "n"), (double)n);
  cr_expect_eq(mc_class_num(r.out, 6, "support"), 1.0);
  cr_log_info("anonymous memory: %.1f MiB (3 rows), %.1f MiB (%zu rows)",
              small_mib, big_mib, n);
  if (!UNDER_ASAN)
    cr_expect_lt(big_mib - small_mib, (double)n * sizeof(int32_t) / 1048576,
                 "int64 labels took %.1f MiB over the %.1f MiB baseline: as "
                 "much as an int32 copy of one file",
                 big_mib - small_mib, small_mib);
  const int64_t bad = 11;
  patch_from_end(pp, 2 * sizeof(int64_t), &bad, sizeof bad); /* index n-2 */
  r = RUN("multiclass", "--labels", lp, "--pred", pp, "--classes", "7",
          "--json");
  char idx[32];
  snprintf(idx, sizeof idx, "%zu", n - 2);
  expect_failure(&r, 1, NEEDLES(pp, idx, "11"));
}

/* ---------------------------------------------------------------- */
/* Class counts beyond the machine                                   */
/* ---------------------------------------------------------------- */

static void expect_fast_memory_failure(const char *classes) {
  write_mc_fixture();
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--classes", classes, "--json");
  clock_gettime(CLOCK_MONOTONIC, &t1);
  char what[64];
  snprintf(what, sizeof what, "%s classes", classes);
  expect_failure(&r, 1,
                 NEEDLES("not enough memory", what, "GB of host memory",
                         "GB of uint64 counts", "this host has"));
  const double s = (double)(t1.tv_sec - t0.tv_sec) +
                   (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  cr_expect_lt(s, 20.0, "--classes %s took %.1f s to fail", classes, s);
  /* Nothing near the matrix's size was ever resident. */
  struct rusage ru;
  cr_assert_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
  cr_expect_lt(ru.ru_maxrss, 1024L * 1024, "peak RSS %ld KiB", ru.ru_maxrss);
}

/* 2 * 10^9 classes need 3.2e19 bytes of counts on any machine. */
Test(cli, mc_classes_beyond_any_memory_fail_fast) {
  expect_fast_memory_failure("2000000000");
}

/* The case: 46000 classes are 16.9 GB of uint64 counts plus 8.5 GB
 * of uint32 counters; refused before anything is allocated where the host
 * has less. */
Test(cli, mc_classes_46000_fail_fast) {
  const double need = 12.0 * 46000.0 * 46000.0;
  if (physical_memory() >= need)
    cr_skip_test("this host has %.1f GB, enough for 46000 classes",
                 physical_memory() / 1e9);
  expect_fast_memory_failure("46000");
}

/* ---------------------------------------------------------------- */
/* Rows without a cross-entropy                                      */
/* ---------------------------------------------------------------- */

Test(cli, mc_all_neg_inf_row_is_an_error) {
  write_mc_fixture();
  float s[MN * MK];
  memcpy(s, mc_s, sizeof s);
  for (int c = 0; c < MK; ++c)
    s[9 * MK + c] = -INFINITY;
  const char *sp = fpath("ninf_s.npy");
  write_f32_2d(sp, s, MN, MK);
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     sp, "--json");
  expect_failure(&r, 1,
                 NEEDLES(sp, "row 9", "every score is -inf", "probability"));
}

Test(cli, mc_all_pos_inf_row_is_an_error) {
  write_mc_fixture();
  double s[MN * MK];
  for (int i = 0; i < MN * MK; ++i)
    s[i] = mc_s[i];
  for (int c = 0; c < MK; ++c)
    s[14 * MK + c] = INFINITY;
  const char *sp = fpath("pinf_s.npy");
  write_npy(sp, "<f8", shape2(MN, MK), s, sizeof s);
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     sp, "--json");
  expect_failure(&r, 1, NEEDLES(sp, "row 14", "every score is +inf"));
  /* float32 too (the kernel's check). */
  float f[MN * MK];
  for (int i = 0; i < MN * MK; ++i)
    f[i] = (float)s[i];
  const char *fp = fpath("pinf_f.npy");
  write_f32_2d(fp, f, MN, MK);
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores", fp,
          "--json");
  expect_failure(&r, 1, NEEDLES(fp, "row 14", "every score is +inf"));
}

/* Short of all: one +inf among -inf is a defined loss (0 for the true
 * class, inf otherwise); an all-zero probability row costs -log(eps). */
Test(cli, mc_partly_infinite_rows_and_zero_probabilities) {
  const int64_t y[2] = {0, 1};
  const float z[6] = {INFINITY, -INFINITY, -INFINITY, -INFINITY, 2.0f, 0.0f};
  write_i64_v(fpath("y2.npy"), y, 2);
  write_f32_2d(fpath("z2.npy"), z, 2, 3);
  run_result r = RUN("multiclass", "--labels", fpath("y2.npy"), "--scores",
                     fpath("z2.npy"), "--json");
  cr_assert_eq(r.status, 0, "%s", r.err);
  const double want = (0.0 + log1p(exp(-2.0))) / 2; /* row 1: {-inf, 2, 0} */
  expect_close("cross-entropy", mc_obj_num(r.out, "loss", "cross_entropy_mean"),
               want, 1e-6);
  const float p[6] = {0, 0, 0, 0.2f, 0.5f, 0.3f};
  write_f32_2d(fpath("p2.npy"), p, 2, 3);
  r = RUN("multiclass", "--labels", fpath("y2.npy"), "--scores",
          fpath("p2.npy"), "--scores-kind", "probs", "--json");
  cr_assert_eq(r.status, 0, "%s", r.err);
  expect_close("cross-entropy", mc_obj_num(r.out, "loss", "cross_entropy_mean"),
               (-log(0x1p-23) - log(0.5)) / 2, 1e-6);
}

/* ---------------------------------------------------------------- */
/* Class names                                                       */
/* ---------------------------------------------------------------- */

static char *name_of(const char *json, int c) {
  char *pc = json_array_text(json, "per_class");
  cr_assert_not_null(pc, "%s", json);
  char *o = json_nth_object(pc, c);
  cr_assert_not_null(o);
  free(pc);
  const char *q = strstr(o, "\"name\":\"");
  cr_assert_not_null(q, "%s", o);
  q += 8;
  const char *e = q;
  while (*e && !(*e == '"' && e[-1] != '\\'))
    ++e;
  char *name = strndup(q, (size_t)(e - q));
  free(o);
  return name;
}

/* A 5000-byte name is one name: the names after it keep their classes. */
Test(cli, mc_names_of_any_length) {
  write_mc_fixture();
  const size_t long_len = 5000;
  char *text = malloc(long_len + 64);
  cr_assert_not_null(text);
  strcpy(text, "alpha\nbeta\n");
  size_t at = strlen(text);
  for (size_t i = 0; i < long_len; ++i)
    text[at++] = (char)('a' + i % 26);
  strcpy(text + at, "\ndelta\r\nepsilon\n\n");
  const char *np = fpath("long_names.txt");
  write_text(np, text);
  free(text);
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--names", np, "--json");
  cr_assert_eq(r.status, 0, "%s", r.err);
  expect_mc_json(&r, MK);
  char *n2 = name_of(r.out, 2), *n3 = name_of(r.out, 3),
       *n4 = name_of(r.out, 4);
  cr_expect_eq(strlen(n2), long_len);
  cr_expect_str_eq(n3, "delta");
  cr_expect_str_eq(n4, "epsilon");
  free(n2), free(n3), free(n4);
  /* The text report cuts it to its column. */
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
          fpath("mc_p.npy"), "--names", np);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_expect_not_null(strstr(r.out, "epsilon"));
}

Test(cli, mc_names_directory) {
  write_mc_fixture();
  const char *dir = fpath("names_dir");
  cr_assert_eq(mkdir(dir, 0700), 0);
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--names", dir, "--json");
  expect_failure(&r, 1, NEEDLES(dir, "directory"));
  cr_expect_null(strstr(r.err, "0 class names"), "%s", r.err);
}

/* Non-UTF-8 bytes (Latin-1, an overlong '/', a surrogate) are refused with
 * the file and line, not written into the JSON. */
Test(cli, mc_names_invalid_utf8) {
  write_mc_fixture();
  const char *bad[] = {"caf\xe9", "\xc0\xaf", "\xed\xa0\x80x",
                       "ok\xf4\x90\x80\x80"};
  for (size_t q = 0; q < sizeof bad / sizeof bad[0]; ++q) {
    char text[128];
    snprintf(text, sizeof text, "a\nb\n%s\nd\ne\n", bad[q]);
    char name[32];
    snprintf(name, sizeof name, "latin%zu.txt", q);
    const char *np = fpath(name);
    write_text(np, text);
    run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                       fpath("mc_p.npy"), "--names", np, "--json");
    expect_failure(&r, 1, NEEDLES(np, "line 3", "UTF-8"));
  }
}

/* A NUL byte is not text; an endless stream (/dev/zero) is refused at
 * once rather than read into memory; a byte-order mark is not a name. */
Test(cli, mc_names_nul_bytes_and_endless_streams) {
  write_mc_fixture();
  const char *np = fpath("nul_names.txt");
  write_bytes(np, "a\nb\0c\nc\nd\ne\n", 12);
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--names", np, "--json");
  expect_failure(&r, 1, NEEDLES(np, "line 2", "NUL"));
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
          fpath("mc_p.npy"), "--names", "/dev/zero", "--json");
  expect_failure(&r, 1, NEEDLES("/dev/zero", "line 1", "NUL"));
  const char *bp = fpath("bom_names.txt");
  write_text(bp, "\xef\xbb\xbf"
                 "first\nb\nc\nd\ne\n");
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
          fpath("mc_p.npy"), "--names", bp, "--json");
  cr_assert_eq(r.status, 0, "%s", r.err);
  char *n0 = name_of(r.out, 0);
  cr_expect_str_eq(n0, "first");
  free(n0);
}

/* UTF-8 names and control characters: the JSON holds them, valid UTF-8
 * with the controls escaped. */
Test(cli, mc_names_utf8_and_controls_in_json) {
  write_mc_fixture();
  const char *np = fpath("utf8_names.txt");
  write_text(np, "Z\xc3\xbcrich\n\xe6\x9d\xb1\xe4\xba\xac\n"
                 "tab\there\n\xf0\x9f\x90\x88 cat\n\"quoted\\\"\n");
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--names", np, "--json");
  cr_assert_eq(r.status, 0, "%s", r.err);
  expect_mc_json(&r, MK);
  cr_expect(valid_utf8((const unsigned char *)r.out, strlen(r.out)));
  char *n0 = name_of(r.out, 0), *n1 = name_of(r.out, 1),
       *n2 = name_of(r.out, 2), *n3 = name_of(r.out, 3);
  cr_expect_str_eq(n0, "Z\xc3\xbcrich");
  cr_expect_str_eq(n1, "\xe6\x9d\xb1\xe4\xba\xac");
  cr_expect_str_eq(n2, "tab\\u0009here");
  cr_expect_str_eq(n3, "\xf0\x9f\x90\x88 cat");
  free(n0), free(n1), free(n2), free(n3);
  cr_expect_not_null(strstr(r.out, "\"name\":\"\\\"quoted\\\\\\\"\""), "%s",
                     r.out);
}

/* ---------------------------------------------------------------- */
/* The JSON writer: valid UTF-8 whatever bytes it is given           */
/* ---------------------------------------------------------------- */

static char *json_of(const char *value) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_not_null(f);
  struct json j;
  json_begin(&j, f);
  json_string(&j, "s", value);
  json_end(&j);
  fclose(f);
  cr_expect(valid_utf8((const unsigned char *)buf, len), "not UTF-8: %s", buf);
  cr_expect_null(json_check(buf), "%s", buf);
  return buf;
}

Test(cli, json_strings_are_always_valid_utf8) {
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"plain", "{\"s\":\"plain\"}\n"},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
       "{\"s\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}\n"},
      {"caf\xe9!", "{\"s\":\"caf\\ufffd!\"}\n"},               /* Latin-1 */
      {"\xc0\xaf", "{\"s\":\"\\ufffd\\ufffd\"}\n"},            /* overlong */
      {"\xed\xa0\x80", "{\"s\":\"\\ufffd\\ufffd\\ufffd\"}\n"}, /* surrogate */
      {"\xf4\x90\x80\x80", "{\"s\":\"\\ufffd\\ufffd\\ufffd\\ufffd\"}\n"},
      {"end\xe2\x82", "{\"s\":\"end\\ufffd\\ufffd\"}\n"}, /* cut short */
      {"\xff\xfe", "{\"s\":\"\\ufffd\\ufffd\"}\n"},
      {"a\x01\x1f\x7f\n\"\\",
       "{\"s\":\"a\\u0001\\u001f\\u007f\\u000a\\\"\\\\\"}\n"},
      {"\xef\xbf\xbd", "{\"s\":\"\xef\xbf\xbd\"}\n"}, /* U+FFFD itself */
      {"\xf4\x8f\xbf\xbf", "{\"s\":\"\xf4\x8f\xbf\xbf\"}\n"}, /* U+10FFFF */
  };
  for (size_t q = 0; q < sizeof cases / sizeof cases[0]; ++q) {
    char *got = json_of(cases[q].in);
    cr_expect_str_eq(got, cases[q].out, "case %zu", q);
    free(got);
  }
}

/* ---------------------------------------------------------------- */
/* Messages that mislead                                             */
/* ---------------------------------------------------------------- */

/* Label 2^31 - 1 without --classes: K would be 2^31, which no --classes
 * can give; the message says the label is too large. */
Test(cli, mc_label_int32_max_is_too_large) {
  write_mc_fixture();
  int64_t y[MN];
  memcpy(y, mc_y, sizeof y);
  y[5] = 2147483647;
  const char *lp = fpath("max_y.npy");
  write_i64_v(lp, y, MN);
  run_result r =
      RUN("multiclass", "--labels", lp, "--pred", fpath("mc_p.npy"), "--json");
  expect_failure(&r, 1,
                 NEEDLES(lp, "index 5", "2147483647", "too large for a class"));
  cr_expect_null(strstr(r.err, "give --classes"), "%s", r.err);
  /* int32 predictions used in place: the same. */
  int32_t p[MN];
  for (int i = 0; i < MN; ++i)
    p[i] = (int32_t)mc_p[i];
  p[11] = INT32_MAX;
  const char *pp = fpath("max_p.npy");
  write_i32_v(pp, p, MN);
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred", pp, "--json");
  expect_failure(
      &r, 1, NEEDLES(pp, "index 11", "2147483647", "too large for a class"));
}
