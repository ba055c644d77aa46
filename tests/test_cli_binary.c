/* `clmetrics binary`: every bad input (exit status, one clear message, no
 * output file left behind), the JSON report, known answers, gradient files
 * and CSV inputs. */
#include "cli_fixture.h"

#include <float.h>

TestSuite(cli, .init = make_tmpdir, .fini = remove_tmpdir);

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

/* uint8 and bool labels without features or gradient output reach the
 * device as they are: the kernel finds the bad label, and the exit status
 * and message are the same as the readers'. */
Test(cli, bad_label_uint8_found_on_device) {
  write_fixture();
  uint8_t y[N];
  memcpy(y, fx_y, N);
  y[N - 1] = 7;
  const char *lp = fpath("bad_last.npy");
  write_u8(lp, y, N);
  run_result r =
      RUN("binary", "--labels", lp, "--scores", fpath("logits.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(lp, "index 63", "label 7", "not 0 or 1"));
}

Test(cli, bad_label_bool_byte_found_on_device) {
  write_fixture();
  uint8_t y[N];
  memcpy(y, fx_y, N);
  y[0] = 2; /* a bool file with a byte numpy would never write */
  const char *lp = fpath("bad_bool.npy");
  write_npy(lp, "|b1", shape1(N), y, N);
  run_result r =
      RUN("binary", "--labels", lp, "--scores", fpath("logits.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(lp, "index 0", "label 2", "not 0 or 1"));
}

/* float64 labels go through the reader: the first of two bad ones. */
Test(cli, bad_label_float64_first) {
  write_fixture();
  double y[N];
  for (int i = 0; i < N; ++i)
    y[i] = fx_y[i];
  y[0] = -1.0;
  y[N - 1] = 0.5;
  const char *lp = fpath("bad_f64.npy");
  write_f64_v(lp, y, N);
  run_result r =
      RUN("binary", "--labels", lp, "--scores", fpath("logits.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(lp, "index 0", "-1", "not 0 or 1"));
  cr_expect_null(strstr(r.err, "index 63"), "%s", r.err);
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

/* float64 logits of exactly +-FLT_MAX stay finite in float32: against
 * their label they cost FLT_MAX, not inf; only magnitudes past FLT_MAX
 * become +-inf. One FLT_MAX-sized loss per run (two would overflow a
 * work-group's float partial). */
Test(cli, f64_float_max_logits) {
  const double fm = (double)FLT_MAX;
  const uint8_t y1[4] = {0, 1, 1, 0};
  const double z1[4] = {fm, nextafter(fm, INFINITY), nextafter(fm, 0.0),
                        -nextafter(fm, INFINITY)};
  write_u8(fpath("y1.npy"), y1, 4);
  write_f64_v(fpath("z1.npy"), z1, 4);
  run_result r = RUN("binary", "--labels", fpath("y1.npy"), "--scores",
                     fpath("z1.npy"), "--grad-out", opath("g.npy"), "--json");
  cr_assert_eq(r.status, 0, "%s: %s", r.cmdline, r.err);
  expect_json_report(&r);
  cr_expect_eq(json_num(r.out, "bce_sum"), fm, "%s", r.out);
  expect_counts(r.out, 2, 1, 1, 0);
  float *g = read_npy_f32(opath("g.npy"), 4);
  cr_expect(g[0] == 1.0f && g[1] == 0.0f && g[2] == 0.0f && g[3] == 0.0f,
            "gradients %g %g %g %g", g[0], g[1], g[2], g[3]);
  free(g);
  const uint8_t y2[2] = {1, 0};
  const double z2[2] = {-fm, -nextafter(fm, 0.0)};
  write_u8(fpath("y2.npy"), y2, 2);
  write_f64_v(fpath("z2.npy"), z2, 2);
  r = RUN("binary", "--labels", fpath("y2.npy"), "--scores", fpath("z2.npy"),
          "--json");
  cr_assert_eq(r.status, 0, "%s: %s", r.cmdline, r.err);
  cr_expect_eq(json_num(r.out, "bce_sum"), fm, "%s", r.out);
  expect_counts(r.out, 0, 0, 1, 1);
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

/* NaN or +-inf in --features would make every weight gradient NaN or inf:
 * rejected with the row and column. */
Test(cli, non_finite_features) {
  write_fixture();
  float x[N * D];
  memcpy(x, fx_x, sizeof x);
  x[17 * D + 2] = NAN;
  const char *xp = fpath("nan_features.npy");
  write_f32_2d(xp, x, N, D);
  run_result r = run_binary(fpath("labels.npy"), fpath("logits.npy"), xp, NULL);
  expect_failure(&r, 1, NEEDLES(xp, "row 17", "column 2"));
  x[17 * D + 2] = 1.0f;
  x[40 * D] = -INFINITY;
  write_f32_2d(xp, x, N, D);
  r = run_binary(fpath("labels.npy"), fpath("logits.npy"), xp, NULL);
  expect_failure(&r, 1, NEEDLES(xp, "row 40", "column 0", "inf"));
}
