/* The CLI's calibration, sample weights and loss options: usage errors,
 * bad weights named with file and index, hand-computed answers, the
 * reliability CSV, equal-mass bins and --ignore-index labels outside
 * [0, K). (tests/crosscheck_weights.py compares the same against
 * scikit-learn and PyTorch on random inputs.) */
#include "cli_fixture.h"

TestSuite(cliw, .init = make_tmpdir, .fini = remove_tmpdir);

/* Four samples by hand: y 1 1 0 0, z = 2, -1, 0.5, -3, w = 1, 3, 0.5, 2.
 * pred (z > 0): 1 0 1 0 -> TP w 1, FN 3, FP 0.5, TN 2. */
static void write_four(void) {
  const uint8_t y[4] = {1, 1, 0, 0};
  const float z[4] = {2.0f, -1.0f, 0.5f, -3.0f};
  const float w[4] = {1.0f, 3.0f, 0.5f, 2.0f};
  write_u8(fpath("y.npy"), y, 4);
  write_f32(fpath("z.npy"), z, 4);
  write_f32(fpath("w.npy"), w, 4);
}

Test(cliw, weighted_binary_known_answer) {
  write_four();
  run_result r =
      RUN("binary", "--labels", fpath("y.npy"), "--scores", fpath("z.npy"),
          "--weights", fpath("w.npy"), "--pos-weight", "2", "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  expect_json_report(&r);
  char *conf = json_object_text(r.out, "confusion");
  expect_close("tp", json_num(conf, "tp"), 1.0, 1e-6);
  expect_close("fn", json_num(conf, "fn"), 3.0, 1e-6);
  expect_close("fp", json_num(conf, "fp"), 0.5, 1e-6);
  expect_close("tn", json_num(conf, "tn"), 2.0, 1e-6);
  free(conf);
  expect_close("weight_sum", json_num(r.out, "weight_sum"), 6.5, 1e-6);
  expect_close("accuracy", json_num(r.out, "accuracy"), 3.0 / 6.5, 1e-6);
  expect_close("precision", json_num(r.out, "precision"), 1.0 / 1.5, 1e-6);
  expect_close("recall", json_num(r.out, "recall"), 0.25, 1e-6);
  /* l = w * (y ? 2 softplus(-z) : softplus(z)), mean over sum(w). */
  const double bce = 1 * 2 * softplus(-2.0) + 3 * 2 * softplus(1.0) +
                     0.5 * softplus(0.5) + 2 * softplus(-3.0);
  expect_close("bce_mean", json_num(r.out, "bce_mean"), bce / 6.5, 1e-6);
  expect_close("pos_weight", json_num(r.out, "pos_weight"), 2.0, 0.0);
  /* Weighted AUC: pairs (pos, neg) w_i w_j [z_i > z_j]: (2 > 0.5) 0.5,
   * (2 > -3) 2, (-1 > -3) 6 of (1 + 3) * (0.5 + 2) = 10. */
  expect_close("roc_auc", json_num(r.out, "roc_auc"), 8.5 / 10.0, 1e-12);
  cr_expect(json_has_key(r.out, "calibration"), "%s", r.out);
}

Test(cliw, bad_weights_name_file_and_index) {
  write_four();
  const double w64[4] = {1.0, 2.0, -0.5, 1.0};
  write_f64_v(fpath("w64.npy"), w64, 4);
  run_result r = RUN("binary", "--labels", fpath("y.npy"), "--scores",
                     fpath("z.npy"), "--weights", fpath("w64.npy"));
  expect_failure(&r, 1, NEEDLES(fpath("w64.npy"), "index 2", "weight"));
  const float wn[4] = {1.0f, NAN, 1.0f, 1.0f};
  write_f32(fpath("wn.npy"), wn, 4);
  r = RUN("binary", "--labels", fpath("y.npy"), "--scores", fpath("z.npy"),
          "--weights", fpath("wn.npy"));
  expect_failure(&r, 1, NEEDLES(fpath("wn.npy"), "1", "weight"));
  const float w0[4] = {0, 0, 0, 0};
  write_f32(fpath("w0.npy"), w0, 4);
  r = RUN("binary", "--labels", fpath("y.npy"), "--scores", fpath("z.npy"),
          "--weights", fpath("w0.npy"));
  expect_failure(&r, 1, NEEDLES(fpath("w0.npy"), "sum to 0"));
  const float w5[5] = {1, 1, 1, 1, 1};
  write_f32(fpath("w5.npy"), w5, 5);
  r = RUN("binary", "--labels", fpath("y.npy"), "--scores", fpath("z.npy"),
          "--weights", fpath("w5.npy"));
  expect_failure(&r, 1, NEEDLES(fpath("w5.npy"), "length mismatch"));
}

Test(cliw, usage_errors) {
  write_four();
  const char *y = fpath("y.npy"), *z = fpath("z.npy");
  run_result r =
      RUN("binary", "--labels", y, "--scores", z, "--pos-weight", "0");
  expect_failure(&r, 2, NEEDLES("--pos-weight"));
  r = RUN("binary", "--labels", y, "--scores", z, "--calibration-bins", "0");
  expect_failure(&r, 2, NEEDLES("--calibration-bins"));
  r = RUN("binary", "--labels", y, "--scores", z, "--calibration-strategy",
          "kmeans");
  expect_failure(&r, 2, NEEDLES("--calibration-strategy", "kmeans"));
  r = RUN("binary", "--labels", y, "--scores", z, "--no-calibration",
          "--reliability-out", opath("r.csv"));
  expect_failure(&r, 2, NEEDLES("--reliability-out"));
  const int32_t yc[4] = {0, 1, 2, 1};
  write_i32_v(fpath("yc.npy"), yc, 4);
  r = RUN("multiclass", "--labels", fpath("yc.npy"), "--pred", fpath("yc.npy"),
          "--label-smoothing", "0.1");
  expect_failure(&r, 2, NEEDLES("--label-smoothing", "--scores"));
  r = RUN("multiclass", "--labels", fpath("yc.npy"), "--pred", fpath("yc.npy"),
          "--ignore-index", "1.5");
  expect_failure(&r, 2, NEEDLES("--ignore-index"));
  const float s[12] = {0};
  write_f32_2d(fpath("s.npy"), s, 4, 3);
  r = RUN("multiclass", "--labels", fpath("yc.npy"), "--scores", fpath("s.npy"),
          "--label-smoothing", "1.5");
  expect_failure(&r, 2, NEEDLES("--label-smoothing"));
}

/* Probabilities on the edges of 5 bins: (lo, hi], the first [0, hi]. */
Test(cliw, reliability_bins_and_csv) {
  const uint8_t y[6] = {0, 1, 0, 1, 1, 0};
  const float p[6] = {0.0f, 0.25f, 0.5f, 0.75f, 1.0f, 0.125f};
  write_u8(fpath("y.npy"), y, 6);
  write_f32(fpath("p.npy"), p, 6);
  const char *csv = opath("rel.csv");
  run_result r =
      RUN("binary", "--labels", fpath("y.npy"), "--scores", fpath("p.npy"),
          "--scores-kind", "probs", "--calibration-bins", "4",
          "--reliability-out", csv, "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  /* Bins [0, .25]: 0, .25, .125 (hits 1 of 3, conf .125); (.25, .5]: .5
   * (0 of 1); (.5, .75]: .75 (1 of 1); (.75, 1]: 1 (1 of 1). */
  char *text = slurp(csv, NULL);
  cr_assert_not_null(text);
  cr_expect_str_eq(text, "bin,lo,hi,count,weight,confidence,frequency,gap\n"
                         "0,0,0.25,3,3,0.125,0.33333333333333331,"
                         "0.20833333333333331\n"
                         "1,0.25,0.5,1,1,0.5,0,-0.5\n"
                         "2,0.5,0.75,1,1,0.75,1,0.25\n"
                         "3,0.75,1,1,1,1,1,0\n");
  free(text);
  char *cal = json_object_text(r.out, "calibration");
  const double ece =
      3.0 / 6 * (1.0 / 3 - 0.125) + 1.0 / 6 * 0.5 + 1.0 / 6 * 0.25;
  expect_close("ece", json_num(cal, "ece"), ece, 1e-7);
  expect_close("mce", json_num(cal, "mce"), 0.5, 1e-7);
  double brier = 0;
  for (int i = 0; i < 6; ++i)
    brier += (p[i] - y[i]) * (p[i] - y[i]);
  expect_close("brier", json_num(cal, "brier"), brier / 6, 1e-7);
  free(cal);
}

Test(cliw, quantile_strategy) {
  enum { n = 1000 };
  uint8_t y[n];
  float p[n];
  for (int i = 0; i < n; ++i) {
    p[i] = (float)((i + 0.5) / n) * (float)((i + 0.5) / n); /* skewed */
    y[i] = (uint8_t)(i % 3 == 0);
  }
  write_u8(fpath("y.npy"), y, n);
  write_f32(fpath("p.npy"), p, n);
  run_result r =
      RUN("binary", "--labels", fpath("y.npy"), "--scores", fpath("p.npy"),
          "--scores-kind", "probs", "--calibration-bins", "4",
          "--calibration-strategy", "quantile", "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  char *bins = json_array_text(r.out, "bins");
  cr_assert_not_null(bins);
  /* Equal mass to within one fine bin (1/4096 of probability holds at
   * most a few dozen of these samples near 0). */
  for (int b = 0; b < 4; ++b) {
    char *o = json_nth_object(bins, b);
    cr_assert_not_null(o, "bin %d", b);
    const double c = json_num(o, "count");
    cr_expect(fabs(c - 250) <= 40, "bin %d holds %g", b, c);
    free(o);
  }
  free(bins);
}

/* --ignore-index -100 in an int64 file: those rows leave every metric,
 * the loss and the calibration. */
Test(cliw, ignore_index_negative_labels) {
  const int64_t y[6] = {0, -100, 2, 1, -100, 2};
  write_i64_v(fpath("y.npy"), y, 6);
  const float s[18] = {3, 0, 0, 9, 9, 9, 0, 0, 3, 0, 3, 0, 9, 9, 9, 3, 0, 0};
  write_f32_2d(fpath("s.npy"), s, 6, 3);
  run_result r = RUN("multiclass", "--labels", fpath("y.npy"), "--scores",
                     fpath("s.npy"), "--ignore-index", "-100", "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  cr_expect_eq(json_num(r.out, "n"), 4);
  cr_expect_eq(json_num(r.out, "ignored"), 2);
  expect_close("accuracy", json_num(r.out, "accuracy"), 0.75, 1e-12);
  expect_confusion_matrix(r.out, "[[1,0,0],[0,1,0],[1,0,1]]");
  /* Without the flag the -100 label is an error naming its index. */
  r = RUN("multiclass", "--labels", fpath("y.npy"), "--scores", fpath("s.npy"));
  expect_failure(&r, 1, NEEDLES(fpath("y.npy"), "1", "-100"));
}

Test(cliw, class_weights_file_checked) {
  const int32_t y[3] = {0, 1, 2};
  write_i32_v(fpath("y.npy"), y, 3);
  const float s[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  write_f32_2d(fpath("s.npy"), s, 3, 3);
  const double cw[3] = {1.0, -1.0, 2.0};
  write_f64_v(fpath("cw.npy"), cw, 3);
  run_result r = RUN("multiclass", "--labels", fpath("y.npy"), "--scores",
                     fpath("s.npy"), "--class-weights", fpath("cw.npy"));
  expect_failure(&r, 1, NEEDLES(fpath("cw.npy"), "class 1"));
  const double cw2[2] = {1.0, 1.0};
  write_f64_v(fpath("cw2.npy"), cw2, 2);
  r = RUN("multiclass", "--labels", fpath("y.npy"), "--scores", fpath("s.npy"),
          "--class-weights", fpath("cw2.npy"));
  expect_failure(&r, 1, NEEDLES(fpath("cw2.npy"), "3 values"));
  /* Valid weights: loss = sum w_y (lse - z_y) / sum w_y. */
  const double cw3[3] = {1.0, 2.0, 0.5};
  write_f64_v(fpath("cw3.npy"), cw3, 3);
  r = RUN("multiclass", "--labels", fpath("y.npy"), "--scores", fpath("s.npy"),
          "--class-weights", fpath("cw3.npy"), "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  const double l = log(exp(1.0) + 2.0) - 1.0;
  expect_close("cross_entropy_mean", json_num(r.out, "cross_entropy_mean"), l,
               1e-6);
}
