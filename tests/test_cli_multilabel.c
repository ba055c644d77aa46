/* `clmetrics multilabel`: usage, bad inputs named by file, row and label,
 * thresholds, gradients (values, refused targets, nothing left after an
 * error), names, predictions with known answers, the text table's order and
 * the confusion matrix's size limit. The metrics themselves are
 * cross-checked against scikit-learn in crosscheck_multilabel.py. */
#include "cli_fixture.h"
#include "reference.h"

TestSuite(cli, .init = make_tmpdir, .fini = remove_tmpdir);

/* ---------------------------------------------------------------- */
/* Fixture: ML_N rows of ML_L labels                                 */
/* ---------------------------------------------------------------- */

#define ML_N 40
#define ML_L 6

static uint8_t ml_y[ML_N * ML_L];
static float ml_z[ML_N * ML_L], ml_p[ML_N * ML_L], ml_w[ML_N];

/* Random labels, logits leaning towards them, probabilities, weights (some
 * zero); extreme logits in the first rows. */
static void make_ml_data(void) {
  clm_rng g;
  clm_rng_seed(&g, 20261215);
  for (int i = 0; i < ML_N * ML_L; ++i) {
    ml_y[i] = clm_rng_uniform(&g) < 0.4;
    ml_z[i] = (float)(clm_rng_uniform(&g) * 8.0 - 4.0) + (ml_y[i] ? 1 : -1);
    ml_p[i] = (float)clm_rng_uniform(&g);
  }
  static const float ext[] = {INFINITY, -INFINITY, 100.0f, -100.0f,
                              0.0f,     -0.0f,     17.5f,  -88.0f};
  for (size_t k = 0; k < sizeof ext / sizeof *ext; ++k)
    ml_z[k * 5] = ext[k];
  ml_p[0] = 0.0f;
  ml_p[1] = 1.0f;
  for (int i = 0; i < ML_N; ++i)
    ml_w[i] = i % 7 == 3 ? 0.0f : (float)(0.25 + 2.0 * clm_rng_uniform(&g));
}

static void write_u8_2d(const char *path, const uint8_t *v, size_t r,
                        size_t c) {
  write_npy(path, "|u1", shape2(r, c), v, r * c);
}

static void write_i64_2d(const char *path, const uint8_t *v, size_t r,
                         size_t c) {
  int64_t *w = malloc((r * c + 1) * sizeof *w);
  cr_assert_not_null(w);
  for (size_t i = 0; i < r * c; ++i)
    w[i] = v[i];
  write_npy(path, "<i8", shape2(r, c), w, r * c * sizeof *w);
  free(w);
}

static void write_f64_2d(const char *path, const float *v, size_t r, size_t c) {
  double *w = malloc((r * c + 1) * sizeof *w);
  cr_assert_not_null(w);
  for (size_t i = 0; i < r * c; ++i)
    w[i] = v[i];
  write_npy(path, "<f8", shape2(r, c), w, r * c * sizeof *w);
  free(w);
}

/* ml_y.npy (uint8), ml_y64.npy (int64), ml_z.npy (float32 logits),
 * ml_p.npy (float32 probabilities), ml_w.npy (float32 weights). */
static void write_ml_fixture(void) {
  make_ml_data();
  write_u8_2d(fpath("ml_y.npy"), ml_y, ML_N, ML_L);
  write_i64_2d(fpath("ml_y64.npy"), ml_y, ML_N, ML_L);
  write_f32_2d(fpath("ml_z.npy"), ml_z, ML_N, ML_L);
  write_f32_2d(fpath("ml_p.npy"), ml_p, ML_N, ML_L);
  write_f32(fpath("ml_w.npy"), ml_w, ML_N);
}

static void expect_ok_json(const run_result *r) {
  cr_assert_eq(r->status, 0, "%s: exit %d: %s", r->cmdline, r->status, r->err);
  const char *why = json_check(r->out);
  cr_assert_null(why, "%s: stdout is not one JSON object (%s): %s", r->cmdline,
                 why, r->out);
  cr_expect_not_null(strstr(r->out, "\"task\":\"multilabel\""), "%s", r->out);
}

/* per_label[c] as text (freed by the caller). */
static char *label_obj(const char *json, int c) {
  char *pl = json_array_text(json, "per_label");
  cr_assert_not_null(pl, "no per_label array: %s", json);
  char *o = json_nth_object(pl, c);
  cr_assert_not_null(o, "no per_label[%d]: %s", c, pl);
  free(pl);
  return o;
}

static double label_num(const char *json, int c, const char *key) {
  char *o = label_obj(json, c);
  const double v = json_num(o, key);
  free(o);
  return v;
}

/* A float32 .npy written by the CLI with the header's shape text `shape`
 * ("(40, 6)" or "(40,)") and `count` values. */
static float *read_f32_npy_shape(const char *path, const char *shape,
                                 size_t count) {
  size_t len = 0;
  char *b = slurp(path, &len);
  cr_assert(len >= 10 && memcmp(b, "\x93NUMPY", 6) == 0, "%s: bad magic", path);
  const unsigned major = (unsigned char)b[6];
  size_t pre = 10, hlen = 0;
  if (major == 1) {
    hlen = (size_t)(unsigned char)b[8] | (size_t)(unsigned char)b[9] << 8;
  } else {
    cr_assert(major == 2 && len >= 12, "%s: version %u", path, major);
    pre = 12;
    for (int k = 0; k < 4; ++k)
      hlen |= (size_t)(unsigned char)b[8 + k] << (8 * k);
  }
  cr_assert(pre + hlen <= len, "%s: header longer than the file", path);
  char *hdr = strndup(b + pre, hlen);
  cr_expect_not_null(strstr(hdr, "'descr': '<f4'"), "%s: %s", path, hdr);
  cr_expect_not_null(strstr(hdr, "'fortran_order': False"), "%s: %s", path,
                     hdr);
  char want[96];
  snprintf(want, sizeof want, "'shape': %s", shape);
  cr_expect_not_null(strstr(hdr, want), "%s: expected %s in %s", path, want,
                     hdr);
  free(hdr);
  cr_assert_eq(len - pre - hlen, count * sizeof(float),
               "%s: %zu data bytes, expected %zu", path, len - pre - hlen,
               count * sizeof(float));
  float *v = malloc((count + 1) * sizeof *v);
  memcpy(v, b + pre + hlen, count * sizeof *v);
  free(b);
  return v;
}

/* ---------------------------------------------------------------- */
/* Usage                                                             */
/* ---------------------------------------------------------------- */

Test(cli, ml_help) {
  run_result r = RUN("multilabel", "--help");
  cr_expect_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
  cr_expect_not_null(strstr(r.out, "usage: clmetrics multilabel"), "%s", r.out);
  static const char *const flags[] = {
      "--labels",   "--scores", "--pred",       "--thresholds", "--weights",
      "--grad-out", "--sort",   "--all-labels", "--full"};
  for (size_t i = 0; i < sizeof flags / sizeof *flags; ++i)
    cr_expect_not_null(strstr(r.out, flags[i]), "help lacks %s: %s", flags[i],
                       r.out);
  cr_expect_str_empty(r.err, "%s", r.err);
}

Test(cli, ml_needs_scores_or_pred) {
  write_ml_fixture();
  run_result r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--json");
  expect_failure(&r, 2, NEEDLES("--scores", "--pred"));
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--pred", fpath("ml_y.npy"), "--json");
  expect_failure(&r, 2, NEEDLES("--scores", "--pred"));
  r = RUN("multilabel", "--scores", fpath("ml_z.npy"), "--json");
  expect_failure(&r, 2, NEEDLES("--labels"));
}

Test(cli, ml_usage_errors) {
  write_ml_fixture();
  const char *lp = fpath("ml_y.npy"), *sp = fpath("ml_z.npy");
  run_result r =
      RUN("multilabel", "--labels", lp, "--scores", sp, "--sort", "name");
  expect_failure(&r, 2, NEEDLES("--sort", "name"));
  r = RUN("multilabel", "--labels", lp, "--scores", sp, "--threshold", "1.5");
  expect_failure(&r, 2, NEEDLES("--threshold", "1.5"));
  r = RUN("multilabel", "--labels", lp, "--pred", lp, "--grad-out",
          opath("g.npy"));
  expect_failure(&r, 2, NEEDLES("--grad-out", "--scores"));
  r = RUN("multilabel", "--labels", lp, "--scores", sp, "--zero-division", "2");
  expect_failure(&r, 2, NEEDLES("--zero-division"));
}

/* ---------------------------------------------------------------- */
/* Bad inputs: the file, the row and the label                       */
/* ---------------------------------------------------------------- */

Test(cli, ml_shape_mismatch_names_both_files) {
  write_ml_fixture();
  const char *lp = fpath("ml_y.npy");
  const char *s5 = fpath("z_40x5.npy"), *s39 = fpath("z_39x6.npy");
  write_f32_2d(s5, ml_z, ML_N, ML_L - 1);
  write_f32_2d(s39, ml_z, ML_N - 1, ML_L);
  run_result r = RUN("multilabel", "--labels", lp, "--scores", s5, "--json",
                     "--grad-out", opath("g.npy"));
  expect_failure(&r, 1, NEEDLES(s5, lp, "(40, 5)", "(40, 6)"));
  r = RUN("multilabel", "--labels", lp, "--scores", s39, "--json");
  expect_failure(&r, 1, NEEDLES(s39, lp, "(39, 6)", "(40, 6)"));
  r = RUN("multilabel", "--labels", lp, "--pred", s5, "--json");
  expect_failure(&r, 1, NEEDLES(s5, lp, "(40, 5)"));
  /* 1-D scores against N x 6 labels. */
  const char *s1 = fpath("z_1d.npy");
  write_f32(s1, ml_z, ML_N);
  r = RUN("multilabel", "--labels", lp, "--scores", s1, "--json");
  expect_failure(&r, 1, NEEDLES(s1, lp, "(40, 1)", "(40, 6)"));
}

/* int64 labels go through the reader; uint8 ones are checked on the
 * device: both name the file, the row and the column. */
Test(cli, ml_label_two_is_rejected) {
  write_ml_fixture();
  uint8_t y[ML_N * ML_L];
  memcpy(y, ml_y, sizeof y);
  y[7 * ML_L + 3] = 2;
  const char *l64 = fpath("bad_y64.npy"), *l8 = fpath("bad_y8.npy");
  write_i64_2d(l64, y, ML_N, ML_L);
  write_u8_2d(l8, y, ML_N, ML_L);
  run_result r = RUN("multilabel", "--labels", l64, "--scores",
                     fpath("ml_z.npy"), "--json", "--grad-out", opath("g.npy"));
  expect_failure(&r, 1, NEEDLES(l64, "row 7", "column 3", "2 is not 0 or 1"));
  r = RUN("multilabel", "--labels", l8, "--scores", fpath("ml_z.npy"), "--json",
          "--grad-out", opath("g.npy"));
  expect_failure(&r, 1, NEEDLES(l8, "row 7", "label 3", "2 is not 0 or 1"));
  r = RUN("multilabel", "--labels", l64, "--pred", fpath("ml_y.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(l64, "row 7", "column 3"));
  /* A prediction of 2 names the predictions file. */
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--pred", l8, "--json");
  expect_failure(&r, 1, NEEDLES(l8, "row 7", "3", "2"));
}

Test(cli, ml_negative_and_fractional_labels) {
  write_ml_fixture();
  int64_t y[ML_N * ML_L];
  for (int i = 0; i < ML_N * ML_L; ++i)
    y[i] = ml_y[i];
  y[12 * ML_L + 5] = -1;
  const char *lp = fpath("neg_y.npy");
  write_npy(lp, "<i8", shape2(ML_N, ML_L), y, sizeof y);
  run_result r = RUN("multilabel", "--labels", lp, "--scores",
                     fpath("ml_z.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(lp, "row 12", "column 5", "-1"));
  double yd[ML_N * ML_L];
  for (int i = 0; i < ML_N * ML_L; ++i)
    yd[i] = ml_y[i];
  yd[30 * ML_L + 1] = 0.5;
  const char *fp = fpath("frac_y.npy");
  write_npy(fp, "<f8", shape2(ML_N, ML_L), yd, sizeof yd);
  r = RUN("multilabel", "--labels", fp, "--scores", fpath("ml_z.npy"),
          "--json");
  expect_failure(&r, 1, NEEDLES(fp, "row 30", "column 1", "0.5"));
}

Test(cli, ml_nan_score) {
  write_ml_fixture();
  float z[ML_N * ML_L];
  memcpy(z, ml_z, sizeof z);
  z[9 * ML_L + 4] = NAN;
  z[33 * ML_L + 0] = NAN; /* a later one is not the one named */
  const char *s32 = fpath("nan_z32.npy"), *s64 = fpath("nan_z64.npy");
  write_f32_2d(s32, z, ML_N, ML_L);
  write_f64_2d(s64, z, ML_N, ML_L);
  const char *const paths[] = {s32, s64};
  for (int k = 0; k < 2; ++k) {
    run_result r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
                       paths[k], "--json", "--grad-out", opath("g.npy"));
    expect_failure(&r, 1, NEEDLES(paths[k], "row 9", "label 4", "NaN"));
    cr_expect_null(strstr(r.err, "row 33"), "not the first NaN: %s", r.err);
  }
}

Test(cli, ml_probability_out_of_range) {
  write_ml_fixture();
  float p[ML_N * ML_L];
  memcpy(p, ml_p, sizeof p);
  p[3 * ML_L + 2] = 1.5f;
  const char *s32 = fpath("p15_32.npy"), *s64 = fpath("p15_64.npy");
  write_f32_2d(s32, p, ML_N, ML_L);
  write_f64_2d(s64, p, ML_N, ML_L);
  const char *const paths[] = {s32, s64};
  for (int k = 0; k < 2; ++k) {
    run_result r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
                       paths[k], "--scores-kind", "probs", "--json");
    expect_failure(&r, 1, NEEDLES(paths[k], "row 3", "label 2", "1.5"));
  }
  memcpy(p, ml_p, sizeof p);
  p[20 * ML_L + 5] = -0.25f;
  write_f32_2d(s32, p, ML_N, ML_L);
  run_result r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
                     s32, "--scores-kind", "probs", "--json");
  expect_failure(&r, 1, NEEDLES(s32, "row 20", "label 5", "-0.25"));
  /* The same values are fine as logits. */
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores", s32,
          "--json");
  expect_ok_json(&r);
}

Test(cli, ml_bad_weight) {
  write_ml_fixture();
  float w[ML_N];
  memcpy(w, ml_w, sizeof w);
  w[11] = -2.0f;
  const char *wp = fpath("neg_w.npy");
  write_f32(wp, w, ML_N);
  run_result r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
                     fpath("ml_z.npy"), "--weights", wp, "--json", "--grad-out",
                     opath("g.npy"));
  expect_failure(&r, 1, NEEDLES(wp, "row 11", "-2"));
  w[11] = ml_w[11];
  w[25] = INFINITY;
  write_f32(wp, w, ML_N);
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--pred",
          fpath("ml_y.npy"), "--weights", wp, "--json");
  expect_failure(&r, 1, NEEDLES(wp, "25", "inf"));
  /* One weight too few. */
  write_f32(wp, ml_w, ML_N - 1);
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--weights", wp, "--json");
  expect_failure(&r, 1, NEEDLES(wp, "39"));
  /* Weights that sum to 0. */
  float zero[ML_N] = {0};
  write_f32(wp, zero, ML_N);
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--weights", wp, "--json");
  expect_failure(&r, 1, NEEDLES(wp, "sum to 0"));
}

Test(cli, ml_thresholds_file_errors) {
  write_ml_fixture();
  const char *tp = fpath("t.npy");
  double t[ML_L + 1] = {0.5, 0.25, 0.75, 0.1, 0.9, 0.5, 0.5};
  write_f64_v(tp, t, ML_L - 1);
  run_result r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
                     fpath("ml_z.npy"), "--thresholds", tp, "--json");
  expect_failure(&r, 1, NEEDLES(tp, "5 thresholds", "6 labels"));
  write_f64_v(tp, t, ML_L + 1);
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--thresholds", tp, "--json");
  expect_failure(&r, 1, NEEDLES(tp, "7 thresholds", "6 labels"));
  t[2] = 1.5;
  write_f64_v(tp, t, ML_L);
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--thresholds", tp, "--json");
  expect_failure(&r, 1, NEEDLES(tp, "index 2", "1.5", "[0, 1]"));
  t[2] = 0.75;
  t[4] = -0.125;
  write_f64_v(tp, t, ML_L);
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--thresholds", tp, "--json");
  expect_failure(&r, 1, NEEDLES(tp, "index 4", "-0.125"));
  t[4] = NAN;
  write_f64_v(tp, t, ML_L);
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--thresholds", tp, "--json");
  expect_failure(&r, 1, NEEDLES(tp, "index 4"));
  /* --threshold and --thresholds together; --thresholds with --pred. */
  t[4] = 0.9;
  write_f64_v(tp, t, ML_L);
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--thresholds", tp, "--threshold", "0.5");
  expect_failure(&r, 2, NEEDLES("--threshold", "--thresholds"));
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--pred",
          fpath("ml_y.npy"), "--thresholds", tp);
  expect_failure(&r, 2, NEEDLES("--thresholds", "--scores"));
}

/* Per-label thresholds decide each label: a cell is positive iff
 * sigma(z) > t_label; the JSON lists them. */
Test(cli, ml_thresholds_decide_per_label) {
  write_ml_fixture();
  const char *tp = fpath("t.npy");
  const double t[ML_L] = {0.0, 0.25, 0.5, 0.75, 0.9, 1.0};
  write_f64_v(tp, t, ML_L);
  run_result r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
                     fpath("ml_z.npy"), "--thresholds", tp, "--json");
  expect_ok_json(&r);
  char *ta = json_array_text(r.out, "thresholds");
  cr_assert_not_null(ta, "%s", r.out);
  cr_expect_str_eq(strip_spaces(ta), "[0,0.25,0.5,0.75,0.9,1]", "%s", ta);
  free(ta);
  for (int c = 0; c < ML_L; ++c) {
    const double cut = clm_ref_threshold_logit(t[c]);
    double tp_ = 0, fp = 0;
    for (int i = 0; i < ML_N; ++i) {
      const int pred = (double)ml_z[i * ML_L + c] > cut;
      tp_ += pred && ml_y[i * ML_L + c];
      fp += pred && !ml_y[i * ML_L + c];
    }
    cr_expect_eq(label_num(r.out, c, "tp"), tp_, "label %d tp: %s", c, r.out);
    cr_expect_eq(label_num(r.out, c, "fp"), fp, "label %d fp: %s", c, r.out);
  }
  /* t = 1 predicts nothing; t = 0 every cell but z = -inf. */
  cr_expect_eq(label_num(r.out, 5, "tp") + label_num(r.out, 5, "fp"), 0.0, "%s",
               r.out);
  cr_expect_eq(label_num(r.out, 0, "tp") + label_num(r.out, 0, "fp"), ML_N,
               "%s", r.out);
}

/* ---------------------------------------------------------------- */
/* Gradients                                                         */
/* ---------------------------------------------------------------- */

/* --grad-out: an N x L float32 .npy of sigma(z) - y (times the row's weight
 * with --weights; p - y for probabilities), within 1e-6 of double. */
Test(cli, ml_grad_out_values) {
  write_ml_fixture();
  const char *gp = opath("g.npy");
  for (int weighted = 0; weighted < 2; ++weighted) {
    for (int probs = 0; probs < 2; ++probs) {
      run_result r =
          weighted
              ? RUN("multilabel", "--labels", fpath("ml_y64.npy"), "--scores",
                    fpath(probs ? "ml_p.npy" : "ml_z.npy"), "--scores-kind",
                    probs ? "probs" : "logits", "--weights", fpath("ml_w.npy"),
                    "--grad-out", gp, "--json")
              : RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
                    fpath(probs ? "ml_p.npy" : "ml_z.npy"), "--scores-kind",
                    probs ? "probs" : "logits", "--grad-out", gp, "--json");
      expect_ok_json(&r);
      float *g = read_f32_npy_shape(gp, shape2(ML_N, ML_L), ML_N * ML_L);
      for (int i = 0; i < ML_N; ++i)
        for (int c = 0; c < ML_L; ++c) {
          const int k = i * ML_L + c;
          const double f = probs ? (double)ml_p[k] : sigmoid((double)ml_z[k]);
          const double w = weighted ? (double)ml_w[i] : 1.0;
          const double want = w * (f - (double)ml_y[k]);
          cr_expect(fabs((double)g[k] - want) <= 1e-6,
                    "%s: grad[%d][%d] = %.9g, expected %.9g (z %g, y %d)",
                    r.cmdline, i, c, (double)g[k], want, (double)ml_z[k],
                    ml_y[k]);
        }
      free(g);
    }
  }
  /* The extremes exactly: sigma(+inf) = 1 (row 0, label 0), sigma(-inf) =
   * 0 (row 0, label 5), sigma(0) = 0.5 (row 3, label 2). */
  run_result r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
                     fpath("ml_z.npy"), "--grad-out", gp, "--json");
  expect_ok_json(&r);
  float *g = read_f32_npy_shape(gp, shape2(ML_N, ML_L), ML_N * ML_L);
  cr_expect_eq(g[0], 1.0f - (float)ml_y[0], "grad at +inf: %g", (double)g[0]);
  cr_expect_eq(g[5], 0.0f - (float)ml_y[5], "grad at -inf: %g", (double)g[5]);
  cr_expect_eq(g[20], 0.5f - (float)ml_y[20], "grad at 0: %g", (double)g[20]);
  free(g);
}

/* 1-D labels and scores are one label: the gradient file is 1-D too. */
Test(cli, ml_grad_out_one_label_1d) {
  write_fixture(); /* labels.npy, logits.npy: N samples */
  const char *gp = opath("g.npy");
  run_result r = RUN("multilabel", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--grad-out", gp, "--json");
  expect_ok_json(&r);
  cr_expect_eq(json_num(r.out, "labels"), 1.0, "%s", r.out);
  float *g = read_f32_npy_shape(gp, shape1(N), N);
  for (int i = 0; i < N; ++i)
    cr_expect(fabs((double)g[i] - (sigmoid(fx_z[i]) - fx_y[i])) <= 1e-6,
              "grad[%d] = %g", i, (double)g[i]);
  free(g);
}

Test(cli, ml_grad_out_onto_an_input_is_refused) {
  write_ml_fixture();
  size_t len = 0;
  char *before = slurp(fpath("ml_z.npy"), &len);
  run_result r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
                     fpath("ml_z.npy"), "--grad-out", fpath("ml_z.npy"));
  expect_failure(&r, 2, NEEDLES("--grad-out", "--scores"));
  cr_assert_eq(symlink(fpath("ml_y.npy"), fpath("alias.npy")), 0);
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--grad-out", fpath("alias.npy"));
  expect_failure(&r, 2, NEEDLES("--grad-out", "--labels"));
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--weights", fpath("ml_w.npy"), "--grad-out",
          fpath("./ml_w.npy"));
  expect_failure(&r, 2, NEEDLES("--grad-out", "--weights"));
  const char *tp = fpath("t.npy");
  const double t[ML_L] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
  write_f64_v(tp, t, ML_L);
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--thresholds", tp, "--grad-out", tp);
  expect_failure(&r, 2, NEEDLES("--grad-out", "--thresholds"));
  size_t len2 = 0;
  char *after = slurp(fpath("ml_z.npy"), &len2);
  cr_expect(len == len2 && memcmp(before, after, len) == 0,
            "the scores file was changed");
  free(before);
  free(after);
}

/* A bad value in the last row, after a first batch of gradients has been
 * written: no --grad-out file and no temporary one is left. Rows per
 * batch: 2^22 / L. */
Test(cli, ml_no_partial_grad_out_after_an_error) {
  enum { L = 8, BIG = (1 << 22) / L + 5 };
  const size_t cells = (size_t)BIG * L;
  uint8_t *y = malloc(cells);
  float *z = malloc(cells * sizeof *z);
  cr_assert(y && z);
  clm_rng g;
  clm_rng_seed(&g, 77);
  for (size_t i = 0; i < cells; ++i) {
    y[i] = clm_rng_below(&g, 3) == 0;
    z[i] = (float)clm_rng_uniform(&g) * 4.0f - 2.0f;
  }
  const char *zp = fpath("big_z.npy");
  write_f32_2d(zp, z, BIG, L);
  /* uint8 labels (checked on the device), then int8 (by the reader). */
  y[cells - 2] = 2;
  const char *l8 = fpath("big_y_u8.npy"), *li8 = fpath("big_y_i8.npy");
  write_npy(l8, "|u1", shape2(BIG, L), y, cells);
  write_npy(li8, "|i1", shape2(BIG, L), y, cells);
  char row[32];
  snprintf(row, sizeof row, "row %d", BIG - 1);
  run_result r = RUN("multilabel", "--labels", l8, "--scores", zp, "--grad-out",
                     opath("g.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(l8, row, "6"));
  r = RUN("multilabel", "--labels", li8, "--scores", zp, "--grad-out",
          opath("g.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(li8, row, "column 6"));
  /* NaN in the last row of good labels. */
  y[cells - 2] = 1;
  write_npy(l8, "|u1", shape2(BIG, L), y, cells);
  z[cells - 1] = NAN;
  write_f32_2d(zp, z, BIG, L);
  r = RUN("multilabel", "--labels", l8, "--scores", zp, "--grad-out",
          opath("g.npy"), "--json");
  expect_failure(&r, 1, NEEDLES(zp, row, "label 7", "NaN"));
  free(y);
  free(z);
}

/* ---------------------------------------------------------------- */
/* Reports                                                           */
/* ---------------------------------------------------------------- */

Test(cli, ml_names_in_json_and_text) {
  write_ml_fixture();
  const char *np = fpath("names.txt");
  write_text(np, "cat\ndog\nbird\nfish\nemu\nyak\n");
  run_result r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
                     fpath("ml_z.npy"), "--names", np, "--json");
  expect_ok_json(&r);
  static const char *const names[] = {"cat",  "dog", "bird",
                                      "fish", "emu", "yak"};
  for (int c = 0; c < ML_L; ++c) {
    char *o = label_obj(r.out, c);
    char want[64];
    snprintf(want, sizeof want, "\"name\":\"%s\"", names[c]);
    cr_expect_not_null(strstr(o, want), "per_label[%d] lacks %s: %s", c, want,
                       o);
    cr_expect_eq(json_num(o, "label"), c, "%s", o);
    free(o);
  }
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--names", np);
  cr_assert_eq(r.status, 0, "%s: %s", r.cmdline, r.err);
  for (int c = 0; c < ML_L; ++c)
    cr_expect_not_null(strstr(r.out, names[c]), "text lacks %s: %s", names[c],
                       r.out);
  /* A names file of the wrong length. */
  write_text(np, "cat\ndog\n");
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--names", np, "--json");
  expect_failure(&r, 1, NEEDLES(np));
}

/* 4 rows of 3 labels from predictions, known answers:
 *   y = [[1,0,1],[0,1,0],[1,1,0],[0,0,0]]
 *   p = [[1,0,0],[0,1,1],[1,0,0],[0,0,0]]
 * label 0: tp 2 tn 2; label 1: tp 1 fn 1 tn 2; label 2: fp 1 fn 1 tn 2.
 * micro: tp 3 fp 1 fn 2. Rows: (tp, fp, fn) = (1,0,1), (1,1,0), (1,0,1),
 * (0,0,0) (undefined, 0 by default). */
Test(cli, ml_pred_known_answers) {
  static const uint8_t y[12] = {1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0};
  static const uint8_t p[12] = {1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0};
  write_u8_2d(fpath("y.npy"), y, 4, 3);
  write_i64_2d(fpath("p.npy"), p, 4, 3);
  run_result r = RUN("multilabel", "--labels", fpath("y.npy"), "--pred",
                     fpath("p.npy"), "--json");
  expect_ok_json(&r);
  static const double want[3][4] = {{2, 0, 2, 0}, {1, 0, 2, 1}, {0, 1, 2, 1}};
  static const char *const keys[4] = {"tp", "fp", "tn", "fn"};
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < 4; ++k)
      cr_expect_eq(label_num(r.out, c, keys[k]), want[c][k], "label %d %s: %s",
                   c, keys[k], r.out);
  char *mcm = json_array_text(r.out, "multilabel_confusion_matrix");
  cr_assert_not_null(mcm, "%s", r.out);
  cr_expect_str_eq(strip_spaces(mcm),
                   "[[[2,0],[0,2]],[[2,0],[1,1]],[[2,1],[1,0]]]", "%s", mcm);
  free(mcm);
  expect_close("micro.precision", mc_obj_num(r.out, "micro", "precision"), 0.75,
               1e-15);
  expect_close("micro.recall", mc_obj_num(r.out, "micro", "recall"), 0.6,
               1e-15);
  expect_close("micro.f1", mc_obj_num(r.out, "micro", "f1"), 2.0 / 3, 1e-15);
  expect_close("samples.precision", mc_obj_num(r.out, "samples", "precision"),
               0.625, 1e-15);
  expect_close("samples.recall", mc_obj_num(r.out, "samples", "recall"), 0.5,
               1e-15);
  expect_close("samples.f1", mc_obj_num(r.out, "samples", "f1"), 0.5, 1e-15);
  expect_close("jaccard.samples", mc_obj_num(r.out, "jaccard", "samples"),
               0.375, 1e-15);
  expect_close("jaccard.micro", mc_obj_num(r.out, "jaccard", "micro"), 0.5,
               1e-15);
  expect_close("subset_accuracy", json_num(r.out, "subset_accuracy"), 0.25,
               1e-15);
  expect_close("hamming_loss", json_num(r.out, "hamming_loss"), 0.25, 1e-15);
  /* Predictions carry no loss and no ranking. */
  static const char *const absent[] = {"loss", "coverage_error", "roc_auc",
                                       "label_ranking_loss", "threshold"};
  for (size_t k = 0; k < sizeof absent / sizeof *absent; ++k)
    cr_expect(!json_has_key(r.out, absent[k]), "%s present with --pred: %s",
              absent[k], r.out);
  /* The empty row under --zero-division 1 counts 1 in every samples value
   * and the run warns about it by default. */
  cr_expect_not_null(strstr(r.err, "warning"), "%s", r.err);
  r = RUN("multilabel", "--labels", fpath("y.npy"), "--pred", fpath("p.npy"),
          "--zero-division", "1", "--json");
  expect_ok_json(&r);
  expect_close("samples.precision zd 1",
               mc_obj_num(r.out, "samples", "precision"), 0.875, 1e-15);
  expect_close("samples.f1 zd 1", mc_obj_num(r.out, "samples", "f1"), 0.75,
               1e-15);
  r = RUN("multilabel", "--labels", fpath("y.npy"), "--pred", fpath("p.npy"),
          "--zero-division", "nan", "--json");
  expect_ok_json(&r);
  expect_close("samples.precision zd nan",
               mc_obj_num(r.out, "samples", "precision"), 2.5 / 3, 1e-15);
}

/* 8 rows, 5 named labels with (tp, fp, fn) chosen so that F1 and support
 * order them differently:
 *   alpha (4,0,0) F1 1,   support 4     bravo (0,2,2) F1 0,    support 2
 *   charlie (2,2,2) 0.5,  support 4     delta (3,1,0) 6/7,     support 3
 *   echo (1,3,0) 1/3,     support 1 */
static void write_sort_fixture(void) {
  static const int counts[5][3] = {
      {4, 0, 0}, {0, 2, 2}, {2, 2, 2}, {3, 1, 0}, {1, 3, 0}};
  uint8_t y[8 * 5] = {0}, p[8 * 5] = {0};
  for (int c = 0; c < 5; ++c) {
    int i = 0;
    for (int k = 0; k < counts[c][0]; ++k, ++i)
      y[i * 5 + c] = p[i * 5 + c] = 1;
    for (int k = 0; k < counts[c][1]; ++k, ++i)
      p[i * 5 + c] = 1;
    for (int k = 0; k < counts[c][2]; ++k, ++i)
      y[i * 5 + c] = 1;
  }
  write_u8_2d(fpath("sy.npy"), y, 8, 5);
  write_u8_2d(fpath("sp.npy"), p, 8, 5);
  write_text(fpath("snames.txt"), "alpha\nbravo\ncharlie\ndelta\necho\n");
}

/* The names appear in the table (after its header) in this order. */
static void expect_table_order(const run_result *r, const char *const *order,
                               size_t count) {
  cr_assert_eq(r->status, 0, "%s: %s", r->cmdline, r->err);
  const char *t = strstr(r->out, "\n  label ");
  cr_assert_not_null(t, "no table header: %s", r->out);
  const char *prev = t;
  for (size_t i = 0; i < count; ++i) {
    char pat[40];
    snprintf(pat, sizeof pat, "\n  %s ", order[i]);
    const char *q = strstr(t, pat);
    cr_expect_not_null(q, "%s: table lacks %s: %s", r->cmdline, order[i],
                       r->out);
    if (!q)
      continue;
    cr_expect(q > prev, "%s: %s is not after the previous name:\n%s",
              r->cmdline, order[i], r->out);
    prev = q;
  }
}

Test(cli, ml_sort_orders_the_table) {
  write_sort_fixture();
  run_result r =
      RUN("multilabel", "--labels", fpath("sy.npy"), "--pred", fpath("sp.npy"),
          "--names", fpath("snames.txt"), "--sort", "f1");
  expect_table_order(
      &r, (const char *const[]){"bravo", "echo", "charlie", "delta", "alpha"},
      5);
  r = RUN("multilabel", "--labels", fpath("sy.npy"), "--pred", fpath("sp.npy"),
          "--names", fpath("snames.txt"), "--sort", "support");
  expect_table_order(
      &r, (const char *const[]){"alpha", "charlie", "delta", "bravo", "echo"},
      5);
  r = RUN("multilabel", "--labels", fpath("sy.npy"), "--pred", fpath("sp.npy"),
          "--names", fpath("snames.txt"));
  expect_table_order(
      &r, (const char *const[]){"alpha", "bravo", "charlie", "delta", "echo"},
      5);
  /* The JSON stays in label order whatever the table's order. */
  r = RUN("multilabel", "--labels", fpath("sy.npy"), "--pred", fpath("sp.npy"),
          "--names", fpath("snames.txt"), "--sort", "f1", "--json");
  expect_ok_json(&r);
  expect_close("per_label[3].f1", label_num(r.out, 3, "f1"), 6.0 / 7, 1e-15);
  char *o = label_obj(r.out, 0);
  cr_expect_not_null(strstr(o, "\"alpha\""), "%s", o);
  free(o);
}

/* 35 labels, label k true (and predicted) in the first k + 1 of 40 rows:
 * by default the table shows the 30 largest supports (lab34 ... lab05) and
 * says how many are left out; --all-labels shows all 35. */
Test(cli, ml_all_labels_and_default_cut) {
  enum { R = 40, K = 35 };
  uint8_t y[R * K] = {0};
  char names[K * 8 + 1] = "";
  for (int c = 0; c < K; ++c) {
    for (int i = 0; i <= c; ++i)
      y[i * K + c] = 1;
    char line[16];
    snprintf(line, sizeof line, "lab%02d\n", c);
    strcat(names, line);
  }
  write_u8_2d(fpath("y35.npy"), y, R, K);
  write_text(fpath("n35.txt"), names);
  run_result r = RUN("multilabel", "--labels", fpath("y35.npy"), "--pred",
                     fpath("y35.npy"), "--names", fpath("n35.txt"));
  cr_assert_eq(r.status, 0, "%s: %s", r.cmdline, r.err);
  const char *first30[30];
  static char buf[30][8];
  for (int i = 0; i < 30; ++i) {
    snprintf(buf[i], sizeof buf[i], "lab%02d", 34 - i);
    first30[i] = buf[i];
  }
  expect_table_order(&r, first30, 30);
  for (int c = 0; c < 5; ++c) {
    char pat[16];
    snprintf(pat, sizeof pat, "lab%02d ", c);
    cr_expect_null(strstr(r.out, pat), "%s shown without --all-labels: %s", pat,
                   r.out);
  }
  cr_expect_not_null(strstr(r.out, "5 more labels"), "%s", r.out);
  r = RUN("multilabel", "--labels", fpath("y35.npy"), "--pred",
          fpath("y35.npy"), "--names", fpath("n35.txt"), "--all-labels",
          "--sort", "label");
  const char *all[K];
  static char abuf[K][8];
  for (int i = 0; i < K; ++i) {
    snprintf(abuf[i], sizeof abuf[i], "lab%02d", i);
    all[i] = abuf[i];
  }
  expect_table_order(&r, all, K);
  cr_expect_null(strstr(r.out, "more labels"), "%s", r.out);
}

/* The multilabel confusion matrix is in the JSON up to 1000 labels, and
 * beyond that only with --full. */
Test(cli, ml_full_confusion_matrix_beyond_1000_labels) {
  enum { R = 3 };
  for (int L = 1000; L <= 1001; ++L) {
    uint8_t *y = calloc((size_t)R * L, 1), *p = calloc((size_t)R * L, 1);
    cr_assert(y && p);
    for (int c = 0; c < L; ++c) {
      y[(c % R) * L + c] = 1;
      p[((c + c / 7) % R) * L + c] = 1;
    }
    write_u8_2d(fpath("wy.npy"), y, R, (size_t)L);
    write_u8_2d(fpath("wp.npy"), p, R, (size_t)L);
    free(y);
    free(p);
    run_result r = RUN("multilabel", "--labels", fpath("wy.npy"), "--pred",
                       fpath("wp.npy"), "--json");
    expect_ok_json(&r);
    cr_expect_eq(json_num(r.out, "labels"), L, "%s", r.cmdline);
    cr_expect_eq(json_has_key(r.out, "multilabel_confusion_matrix"), L <= 1000,
                 "L = %d: matrix %s without --full", L,
                 L <= 1000 ? "missing" : "present");
    r = RUN("multilabel", "--labels", fpath("wy.npy"), "--pred",
            fpath("wp.npy"), "--json", "--full");
    expect_ok_json(&r);
    char *m = json_array_text(r.out, "multilabel_confusion_matrix");
    cr_assert_not_null(m, "L = %d: no matrix with --full", L);
    /* One [[tn, fp], [fn, tp]] per label; the last one's counts. */
    size_t blocks = 0;
    for (const char *q = m; (q = strstr(q, "[[")) != NULL; q += 2)
      ++blocks;
    cr_expect_eq(blocks, (size_t)L, "L = %d: %zu matrices", L, blocks);
    char *mm = strip_spaces(m);
    const int c = L - 1, hit = (c % R) == ((c + c / 7) % R);
    char last[64];
    snprintf(last, sizeof last, "[[%d,%d],[%d,%d]]]", hit ? 2 : 1, hit ? 0 : 1,
             hit ? 0 : 1, hit ? 1 : 0);
    const size_t ml = strlen(mm), ll = strlen(last);
    cr_expect(ml >= ll && strcmp(mm + ml - ll, last) == 0,
              "L = %d: last matrix, expected %s: ...%s", L, last,
              ml > 40 ? mm + ml - 40 : mm);
    free(m);
  }
}

/* The micro ROC-AUC and AP come with scores, not with --no-ranking. */
Test(cli, ml_micro_ranking_in_json) {
  write_ml_fixture();
  run_result r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
                     fpath("ml_z.npy"), "--json");
  expect_ok_json(&r);
  cr_expect_not_null(strstr(r.out, "\"roc_auc\":{\"micro\":"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "\"average_precision\":{\"micro\":"), "%s",
                     r.out);
  const double auc = mc_obj_num(r.out, "roc_auc", "micro");
  cr_expect(auc > 0.5 && auc <= 1.0, "micro AUC %g", auc);
  r = RUN("multilabel", "--labels", fpath("ml_y.npy"), "--scores",
          fpath("ml_z.npy"), "--json", "--no-ranking");
  expect_ok_json(&r);
  cr_expect(!json_has_key(r.out, "average_precision"), "%s", r.out);
}
