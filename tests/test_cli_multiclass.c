/* `clmetrics multiclass`: bad inputs, known answers, label dtypes, scores,
 * zero division, reports with names, CSV scores; the demo's Q2 report. */
#include "cli_fixture.h"

TestSuite(cli, .init = make_tmpdir, .fini = remove_tmpdir);

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

/* int64 labels past INT32_MAX are errors as stored, never wrapped through
 * an int32: 2^32 + 2 would become class 2 (valid here) and 2^31 would
 * become INT32_MIN. Labels with predictions and with scores; predictions. */
Test(cli, mc_int64_labels_past_int32_are_not_wrapped) {
  write_mc_fixture();
  int64_t y[MN];
  memcpy(y, mc_y, sizeof y);
  y[9] = ((int64_t)1 << 32) + 2;
  const char *lp = fpath("mc_wrap_y.npy");
  write_i64_v(lp, y, MN);
  run_result r =
      RUN("multiclass", "--labels", lp, "--pred", fpath("mc_p.npy"), "--json");
  expect_failure(&r, 1,
                 NEEDLES(lp, "index 9",
                         "label 4294967298 is too large for a "
                         "class"));
  r = RUN("multiclass", "--labels", lp, "--scores", fpath("mc_s.npy"),
          "--json");
  expect_failure(&r, 1,
                 NEEDLES(lp, "index 9",
                         "label 4294967298 is too large for a "
                         "class"));
  memcpy(y, mc_y, sizeof y);
  y[0] = (int64_t)1 << 31;
  write_i64_v(lp, y, MN);
  r = RUN("multiclass", "--labels", lp, "--pred", fpath("mc_p.npy"),
          "--classes", "5", "--json");
  expect_failure(&r, 1,
                 NEEDLES(lp, "index 0",
                         "label 2147483648 is too large for a "
                         "class"));
  int64_t p[MN];
  memcpy(p, mc_p, sizeof p);
  p[15] = ((int64_t)1 << 32) + 1;
  const char *pp = fpath("mc_wrap_p.npy");
  write_i64_v(pp, p, MN);
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred", pp, "--json");
  expect_failure(&r, 1,
                 NEEDLES(pp, "index 15",
                         "label 4294967297 is too large for a "
                         "class"));
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

/* float64 scores with an exact tie at the maximum and a third column that
 * rounds onto it in float32: the first maximum (NumPy's argmax) is the
 * prediction, for logits and probabilities. */
Test(cli, mc_f64_scores_exact_tie_first_maximum) {
  enum { M = 4, K = 3 };
  const double a = 1.0 - 1e-12;
  const int32_t y[M] = {0, 1, 1, 2};
  const double s[M * K] = {1.0, 1.0, a,    /* 0 */
                           1.0, a,   1.0,  /* 0 */
                           a,   1.0, 1.0,  /* 1 */
                           a,   a,   1.0}; /* 2 */
  write_i32_v(fpath("y.npy"), y, M);
  write_npy(fpath("s.npy"), "<f8", shape2(M, K), s, sizeof s);
  for (int probs = 0; probs <= 1; ++probs) {
    run_result r = RUN("multiclass", "--labels", fpath("y.npy"), "--scores",
                       fpath("s.npy"), "--scores-kind",
                       probs ? "probs" : "logits", "--json");
    cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
    expect_mc_json(&r, K);
    expect_confusion_matrix(r.out, "[[1,0,0],[1,1,0],[0,0,1]]");
  }
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

/* ---------------------------------------------------------------- */
/* --grad-out                                                        */
/* ---------------------------------------------------------------- */

#include "ref_multiclass_options.h"

/* A float32 .npy of `rows` x `cols` (checked in the header), its data. */
static float *read_grad(const char *path, size_t rows, size_t cols) {
  size_t len = 0;
  char *b = slurp(path, &len);
  cr_assert(len >= 12 && memcmp(b, "\x93NUMPY", 6) == 0, "%s: bad magic", path);
  const size_t pre = b[6] == 1 ? 10 : 12;
  size_t hlen = (size_t)(unsigned char)b[8] | (size_t)(unsigned char)b[9] << 8;
  if (b[6] != 1)
    hlen |= (size_t)(unsigned char)b[10] << 16 | (size_t)(unsigned char)b[11]
                                                     << 24;
  cr_assert(pre + hlen <= len, "%s: header longer than the file", path);
  char *hdr = strndup(b + pre, hlen);
  char want[96];
  snprintf(want, sizeof want, "'shape': %s", shape2(rows, cols));
  cr_expect_not_null(strstr(hdr, "'descr': '<f4'"), "%s: %s", path, hdr);
  cr_expect_not_null(strstr(hdr, want), "%s: expected %s in %s", path, want,
                     hdr);
  free(hdr);
  cr_assert_eq(len - pre - hlen, rows * cols * sizeof(float),
               "%s: %zu data bytes", path, len - pre - hlen);
  float *g = malloc(rows * cols * sizeof(float));
  cr_assert_not_null(g);
  memcpy(g, b + pre + hlen, rows * cols * sizeof(float));
  free(b);
  return g;
}

/* Rows [lo, hi) of a gradient file against the double reference, within
 * its derived float32 bound (tests/test_multiclass_grad.c). */
static void expect_grad_rows(const float *g, const float *z, const int32_t *y,
                             const float *w, uint32_t k, size_t lo, size_t hi,
                             const clm_ref_mc_options *o, int probs) {
  double ref[64], mag[64];
  cr_assert(k <= 64);
  for (size_t i = lo; i < hi; ++i) {
    cr_assert_eq(clm_ref_ce_option_grad(z + i * k, k, probs, y[i],
                                        w ? w[i] : 1.0, o, ref, mag),
                 0);
    for (uint32_t j = 0; j < k; ++j)
      cr_expect(fabs(g[i * k + j] - ref[j]) <= 0x1p-24 * mag[j],
                "row %zu col %u: %.9g, want %.17g", i, (unsigned)j,
                (double)g[i * k + j], ref[j]);
  }
}

/* N x K float32 of s_n dl_n/dz with every loss option; the float64 copy of
 * the scores (rounded to float32 by the CLI) gives the same file. */
Test(cli, mc_grad_out_values) {
  write_mc_fixture();
  int32_t y[MN];
  float w[MN];
  for (int i = 0; i < MN; ++i) {
    y[i] = (int32_t)mc_y[i];
    w[i] = (float)(i % 4) * 0.5f; /* zeros too */
  }
  y[3] = -100;
  y[9] = -100;
  write_i32_v(fpath("y.npy"), y, MN);
  write_f32(fpath("w.npy"), w, MN);
  const double cw[MK] = {1.0, 0.5, 2.0, 0.0, 1.25};
  write_f64_v(fpath("cw.npy"), cw, MK);
  double s64[MN * MK];
  for (int i = 0; i < MN * MK; ++i)
    s64[i] = mc_s[i];
  write_npy(fpath("s64.npy"), "<f8", shape2(MN, MK), s64, sizeof s64);
  const char *gp = opath("g.npy");
  /* Plain. */
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     fpath("mc_s.npy"), "--grad-out", gp, "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  float *g = read_grad(gp, MN, MK);
  int32_t y0[MN];
  for (int i = 0; i < MN; ++i)
    y0[i] = (int32_t)mc_y[i];
  const clm_ref_mc_options plain = {MK, NULL, 0, 0, 0.0, NULL};
  expect_grad_rows(g, mc_s, y0, NULL, MK, 0, MN, &plain, 0);
  free(g);
  /* Every option, float32 and float64 scores. */
  const char *scores[2] = {fpath("mc_s.npy"), fpath("s64.npy")};
  float *g32 = NULL;
  for (int q = 0; q < 2; ++q) {
    r = RUN("multiclass", "--labels", fpath("y.npy"), "--scores", scores[q],
            "--weights", fpath("w.npy"), "--class-weights", fpath("cw.npy"),
            "--ignore-index", "-100", "--label-smoothing", "0.2", "--grad-out",
            gp, "--json");
    cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
    cr_expect(json_has_key(r.out, "normalizer"), "%s", r.out);
    g = read_grad(gp, MN, MK);
    const clm_ref_mc_options all = {MK, cw, 1, -100, 0.2, NULL};
    expect_grad_rows(g, mc_s, y, w, MK, 0, MN, &all, 0);
    for (int j = 0; j < MK; ++j)
      cr_expect(g[3 * MK + j] == 0.0f && g[9 * MK + j] == 0.0f,
                "ignored rows must be 0");
    if (q == 0)
      g32 = g;
    else {
      cr_expect(memcmp(g, g32, sizeof(float) * MN * MK) == 0,
                "float64 scores gave another gradient");
      free(g);
    }
  }
  free(g32);
  /* Probabilities: the row over its sum, as logits log p. */
  float p[MN * MK];
  for (int i = 0; i < MN; ++i)
    for (int j = 0; j < MK; ++j)
      p[i * MK + j] = (float)((i + 2 * j) % 5) * 0.1f;
  write_f32_2d(fpath("p.npy"), p, MN, MK);
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
          fpath("p.npy"), "--scores-kind", "probs", "--grad-out", gp, "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  g = read_grad(gp, MN, MK);
  expect_grad_rows(g, p, y0, NULL, MK, 0, MN, &plain, 1);
  free(g);
  char *left = outdir_listing();
  cr_expect_str_eq(left, "g.npy ", "only g.npy expected, got: %s", left);
  free(left);
}

Test(cli, mc_grad_out_needs_scores) {
  write_mc_fixture();
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--grad-out", opath("g.npy"));
  expect_failure(&r, 2, NEEDLES("--grad-out", "--scores"));
  char *left = outdir_listing();
  cr_expect_str_eq(left, "", "nothing may be written: %s", left);
  free(left);
}

Test(cli, mc_grad_out_onto_an_input_is_refused) {
  write_mc_fixture();
  size_t len = 0, len2 = 0;
  char *before = slurp(fpath("mc_s.npy"), &len);
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
                     fpath("mc_s.npy"), "--grad-out", fpath("mc_s.npy"));
  expect_failure(&r, 2, NEEDLES("--grad-out", "--scores"));
  cr_assert_eq(symlink(fpath("mc_y.npy"), fpath("alias.npy")), 0);
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
          fpath("mc_s.npy"), "--grad-out", fpath("alias.npy"));
  expect_failure(&r, 2, NEEDLES("--grad-out", "--labels"));
  /* Another output naming the same file. */
  r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--scores",
          fpath("mc_s.npy"), "--grad-out", opath("x.csv"), "--roc-out",
          opath("x.csv"));
  expect_failure(&r, 2, NEEDLES("--grad-out", "--roc-out"));
  char *after = slurp(fpath("mc_s.npy"), &len2);
  cr_expect(len == len2 && memcmp(before, after, len) == 0,
            "the scores file was changed");
  free(after);
  free(before);
}

/* A bad label in the last rows, after a first batch's gradients were
 * streamed to the temporary file: exit 1, the existing target untouched
 * and no temporary file left. K = 1024 makes batches of 4096 rows. */
Test(cli, mc_grad_out_no_file_on_failure) {
  enum { K = 1024, M = 4096 + 100 };
  float *z = malloc((size_t)M * K * sizeof *z);
  int32_t *y = malloc(M * sizeof *y);
  cr_assert(z && y);
  for (size_t i = 0; i < M; ++i) {
    y[i] = (int32_t)((i * 37) % K);
    for (size_t j = 0; j < K; ++j)
      z[i * K + j] = (float)((i * 7 + j * 13) % 29) * 0.25f - 3.0f;
  }
  write_f32_2d(fpath("z.npy"), z, M, K);
  /* A bad label near the end: nothing is left in the output directory. */
  const char *gp = opath("g.npy");
  y[M - 3] = K;
  write_i32_v(fpath("y.npy"), y, M);
  char idx[32];
  snprintf(idx, sizeof idx, "%d", M - 3);
  run_result r =
      RUN("multiclass", "--labels", fpath("y.npy"), "--scores", fpath("z.npy"),
          "--grad-out", gp, "--no-ranking", "--no-calibration", "--json");
  expect_failure(&r, 1, NEEDLES(idx, "1024"));
  /* A good run: the rows around the batch boundary are right. */
  y[M - 3] = 5;
  write_i32_v(fpath("y.npy"), y, M);
  r = RUN("multiclass", "--labels", fpath("y.npy"), "--scores", fpath("z.npy"),
          "--grad-out", gp, "--no-ranking", "--no-calibration", "--json");
  cr_assert_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  float *g = read_grad(gp, M, K);
  const clm_ref_mc_options plain = {K, NULL, 0, 0, 0.0, NULL};
  double *ref = malloc(K * sizeof *ref), *mag = malloc(K * sizeof *mag);
  const size_t rows[] = {0, 4095, 4096, M - 3, M - 1};
  for (int q = 0; q < 5; ++q) {
    const size_t i = rows[q];
    cr_assert_eq(
        clm_ref_ce_option_grad(z + i * K, K, 0, y[i], 1.0, &plain, ref, mag),
        0);
    for (size_t j = 0; j < K; ++j)
      cr_expect(fabs(g[i * K + j] - ref[j]) <= 0x1p-24 * mag[j],
                "row %zu col %zu: %.9g, want %.17g", i, j, (double)g[i * K + j],
                ref[j]);
  }
  free(mag);
  free(ref);
  free(g);
  /* The failure again over the existing file: it is left as it was. */
  size_t len = 0, len2 = 0;
  char *before = slurp(gp, &len);
  y[M - 3] = K;
  write_i32_v(fpath("y.npy"), y, M);
  r = RUN("multiclass", "--labels", fpath("y.npy"), "--scores", fpath("z.npy"),
          "--grad-out", gp, "--no-ranking", "--no-calibration", "--json");
  cr_expect_eq(r.status, 1, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  char *after = slurp(gp, &len2);
  cr_expect(len == len2 && memcmp(before, after, len) == 0,
            "the existing --grad-out file was changed");
  char *left = outdir_listing();
  cr_expect_str_eq(left, "g.npy ", "a temporary file was left: %s", left);
  free(left);
  free(after);
  free(before);
  free(y);
  free(z);
}
