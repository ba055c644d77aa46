/* `--save-state` and `clmetrics merge`: three shards saved and merged
 * against one run over all the data (binary with logits and weights,
 * unweighted binary for the ranking intervals, multi-class from K = 5
 * scores, multilabel L = 7), and refused inputs: corrupted, truncated,
 * newer and mismatched states, nothing half-written.
 *
 * What "the same report" means, derived from the library's documented
 * bounds (u = 2^-24):
 * - Counts are integers: equal. Metrics computed from counts alone
 *   (unweighted ratios, top-k accuracy, subset accuracy, Hamming loss):
 *   the same integers through the same double operations, so equal.
 * - Float sums (losses, gradients, sample-weight sums, calibration
 *   confidences): each run's value is within (T + 2K + 16) u of the exact
 *   sum of magnitudes (clmetrics.h: binary (D + 16) u with D <= T - 1,
 *   multi-class (R + 2K + 16) u with R the rows of a work-group tile, and
 *   smaller for calibration's compensated sums), T the work-group tile
 *   from clm_context_launch_shape: sharding regroups those float partials,
 *   so two runs may differ by twice that. Ratios of two such sums
 *   (weighted metrics, means) add the two relative errors: tolerance
 *   F = 4 (T + 2K + 16) u relative (absolute for gradients, whose terms
 *   are at most 1 in magnitude, and for ECE, a sum of |gaps| weighted by
 *   shares that add to 1).
 * - Per-row double sums of the multilabel samples averages and label
 *   ranking: added in row order in both runs, only regrouped at the shard
 *   boundaries: within 2 n 2^-53 relative.
 * - ROC-AUC and AP: the merged value comes with a certified [lo, hi]; the
 *   one-run exact value must lie inside it, and equal it when lo == hi.
 *   Averages of intervals carry K roundings: slack 4 K 2^-53. */
#include "cli_fixture.h"
#include "reference.h"

TestSuite(cli, .init = make_tmpdir, .fini = remove_tmpdir);

#define U 0x1p-24

/* The work-group tile of the device the CLI will use (its default). */
static double tile_rows(void) {
  clm_context *ctx = NULL;
  clm_error err;
  const clm_status st = clm_context_create(NULL, &ctx, &err);
  if (st == CLM_ERR_NO_PLATFORM || st == CLM_ERR_NO_DEVICE)
    cr_skip_test("no OpenCL device: %s", err.message);
  cr_assert_eq(st, CLM_OK, "%s", err.message);
  clm_launch_shape sh;
  clm_context_launch_shape(ctx, &sh);
  clm_context_free(ctx);
  const double narrow = (double)sh.local_size * sh.items * sh.vector_width;
  const double wide = (double)sh.local_size * 4;
  return narrow > wide ? narrow : wide;
}

static double float_tol(uint32_t k) {
  return 4.0 * (tile_rows() + 2.0 * k + 16.0) * U;
}

static void near(const char *what, double got, double want, double tol,
                 int relative) {
  const double scale = relative ? fmax(fabs(want), 1e-300) : 1.0;
  cr_expect(fabs(got - want) <= tol * scale,
            "%s: merged %.17g, one run %.17g (tol %.3g%s)", what, got, want,
            tol, relative ? " relative" : "");
}

static void same(const char *what, double got, double want) {
  cr_expect(got == want || (isnan(got) && isnan(want)),
            "%s: merged %.17g, one run %.17g (must be equal)", what, got, want);
}

static double num_in(const char *json, const char *obj, const char *key) {
  if (!obj)
    return json_num(json, key);
  char *o = json_object_text(json, obj);
  cr_assert_not_null(o, "object %s missing", obj);
  const double v = json_num(o, key);
  free(o);
  return v;
}

/* [lo, hi] of "key": [lo, hi]. */
static void interval(const char *json, const char *key, double *lo,
                     double *hi) {
  char *a = json_array_text(json, key);
  cr_assert_not_null(a, "%s missing", key);
  cr_assert_eq(sscanf(a, "[%lf,%lf]", lo, hi), 2, "%s: %s", key, a);
  free(a);
}

/* The exact value inside the merged interval, equal when it is exact. */
static void in_interval(const char *what, const char *merged, const char *key,
                        double exact, double slack) {
  char ikey[96];
  snprintf(ikey, sizeof ikey, "%s_interval", key);
  double lo, hi;
  interval(merged, ikey, &lo, &hi);
  const double mid = json_num(merged, key);
  cr_expect(lo <= mid && mid <= hi, "%s: estimate outside its interval", what);
  if (lo == hi)
    cr_expect(mid == exact, "%s: exact interval %.17g but one run %.17g", what,
              mid, exact);
  else
    cr_expect(lo - slack <= exact && exact <= hi + slack,
              "%s: one run's exact %.17g outside the merged [%.17g, %.17g]",
              what, exact, lo, hi);
}

/* Runs `cmd` on each of three shards with --save-state, merges them, and
 * runs `cmd` once on all the data; returns both JSON reports. args: the
 * command's arguments with "%d" in shard file names (NULL-terminated),
 * one_args the same for the whole data. */
static void shards_and_one(const char *const *shard_args,
                           const char *const *one_args, char **merged,
                           char **one, char **merge_err) {
  const char *states[3];
  for (int s = 0; s < 3; ++s) {
    const char *argv[40];
    int k = 0;
    char state[32];
    snprintf(state, sizeof state, "s%d.state", s);
    for (int i = 0; shard_args[i]; ++i) {
      char *v = NULL;
      cr_assert_neq(asprintf(&v, shard_args[i], s), -1);
      argv[k++] = strchr(shard_args[i], '/') || strstr(shard_args[i], ".npy")
                      ? fpath(v)
                      : v;
    }
    argv[k++] = "--save-state";
    argv[k++] = states[s] = fpath(state);
    argv[k++] = "--json";
    argv[k] = NULL;
    run_result r = run_cli(argv);
    cr_assert_eq(r.status, 0, "%s: %s", r.cmdline, r.err);
  }
  run_result m = RUN("merge", states[0], states[1], states[2], "--json");
  cr_assert_eq(m.status, 0, "%s: %s", m.cmdline, m.err);
  json_check(m.out);
  const char *argv[40];
  int k = 0;
  for (int i = 0; one_args[i]; ++i)
    argv[k++] = strstr(one_args[i], ".npy") ? fpath(one_args[i]) : one_args[i];
  argv[k++] = "--json";
  argv[k] = NULL;
  run_result o = run_cli(argv);
  cr_assert_eq(o.status, 0, "%s: %s", o.cmdline, o.err);
  *merged = m.out;
  *one = o.out;
  if (merge_err)
    *merge_err = m.err;
}

/* ---- data: N rows cut into shards of 1999, 2500 and 1501 ---- */

#define SN 6000
static const size_t cut[4] = {0, 1999, 4499, SN};

static void write_shards_u8(const char *name, const uint8_t *v, size_t cols) {
  char p[64];
  for (int s = 0; s < 3; ++s) {
    snprintf(p, sizeof p, "%s%d.npy", name, s);
    const size_t r = cut[s + 1] - cut[s];
    write_npy(fpath(p), "|u1", cols ? shape2(r, cols) : shape1(r),
              v + cut[s] * (cols ? cols : 1), r * (cols ? cols : 1));
  }
  snprintf(p, sizeof p, "%s.npy", name);
  write_npy(fpath(p), "|u1", cols ? shape2(SN, cols) : shape1(SN), v,
            SN * (cols ? cols : 1));
}

static void write_shards_f32(const char *name, const float *v, size_t cols) {
  char p[64];
  for (int s = 0; s < 3; ++s) {
    snprintf(p, sizeof p, "%s%d.npy", name, s);
    const size_t r = cut[s + 1] - cut[s];
    write_npy(fpath(p), "<f4", cols ? shape2(r, cols) : shape1(r),
              v + cut[s] * (cols ? cols : 1),
              r * (cols ? cols : 1) * sizeof(float));
  }
  snprintf(p, sizeof p, "%s.npy", name);
  write_npy(fpath(p), "<f4", cols ? shape2(SN, cols) : shape1(SN), v,
            SN * (cols ? cols : 1) * sizeof(float));
}

static void write_shards_i32(const char *name, const int32_t *v) {
  char p[64];
  for (int s = 0; s < 3; ++s) {
    snprintf(p, sizeof p, "%s%d.npy", name, s);
    const size_t r = cut[s + 1] - cut[s];
    write_npy(fpath(p), "<i4", shape1(r), v + cut[s], r * sizeof(int32_t));
  }
  snprintf(p, sizeof p, "%s.npy", name);
  write_npy(fpath(p), "<i4", shape1(SN), v, SN * sizeof(int32_t));
}

static void make_binary_data(void) {
  static uint8_t y[SN];
  static float z[SN], w[SN];
  clm_rng g;
  clm_rng_seed(&g, 15001);
  for (int i = 0; i < SN; ++i) {
    y[i] = clm_rng_uniform(&g) < 0.35;
    z[i] = (float)(clm_rng_uniform(&g) * 10.0 - 5.0) + (y[i] ? 1.5f : 0.0f);
    w[i] = i % 11 == 4 ? 0.0f : (float)(0.1 + 3.0 * clm_rng_uniform(&g));
  }
  z[7] = 40.0f; /* extremes */
  z[8] = -40.0f;
  write_shards_u8("by", y, 0);
  write_shards_f32("bz", z, 0);
  write_shards_f32("bw", w, 0);
}

/* ---- binary ---- */

Test(cli, binary_weighted_shards_merge_to_one_run) {
  make_binary_data();
  const double F = float_tol(1);
  char *m, *o, *merr;
  shards_and_one(EXTRA("binary", "--labels", "by%d.npy", "--scores", "bz%d.npy",
                       "--weights", "bw%d.npy", "--threshold", "0.4"),
                 EXTRA("binary", "--labels", "by.npy", "--scores", "bz.npy",
                       "--weights", "bw.npy", "--threshold", "0.4"),
                 &m, &o, &merr);
  same("n", json_num(m, "n"), json_num(o, "n"));
  static const char *cells[] = {"tp", "fp", "tn", "fn"};
  for (int c = 0; c < 4; ++c) {
    same(cells[c], num_in(m, "counts", cells[c]),
         num_in(o, "counts", cells[c]));
    near(cells[c], num_in(m, "confusion", cells[c]),
         num_in(o, "confusion", cells[c]), F, 1);
  }
  near("weight_sum", json_num(m, "weight_sum"), json_num(o, "weight_sum"), F,
       1);
  static const char *ratios[] = {"accuracy",    "precision",
                                 "recall",      "f1",
                                 "specificity", "balanced_accuracy"};
  for (int k = 0; k < 6; ++k)
    near(ratios[k], json_num(m, ratios[k]), json_num(o, ratios[k]), F, 1);
  near("bce_mean", num_in(m, "loss", "bce_mean"), num_in(o, "loss", "bce_mean"),
       F, 1);
  near("gradient bias", num_in(m, "gradient", "bias"),
       num_in(o, "gradient", "bias"), F, 0);
  near("brier", num_in(m, "calibration", "brier"),
       num_in(o, "calibration", "brier"), F, 1);
  near("ece", num_in(m, "calibration", "ece"), num_in(o, "calibration", "ece"),
       F, 0);
  /* Bin counts are integers. */
  char *mb = json_array_text(m, "bins"), *ob = json_array_text(o, "bins");
  for (int b = 0; b < 15; ++b) {
    char *x = json_nth_object(mb, b), *y = json_nth_object(ob, b);
    cr_assert(x && y);
    same("bin count", json_num(x, "count"), json_num(y, "count"));
  }
  /* Weighted runs save no ranking: said once, and left out. */
  cr_expect(!json_has_key(m, "roc_auc"), "%s", m);
  cr_expect(strstr(merr, "not in saved states of weighted runs"), "%s", merr);
  cr_expect(strstr(m, "\"device\":null"), "%s", m);
}

Test(cli, binary_unweighted_counts_equal_and_auc_in_interval) {
  make_binary_data();
  char *m, *o;
  shards_and_one(
      EXTRA("binary", "--labels", "by%d.npy", "--scores", "bz%d.npy"),
      EXTRA("binary", "--labels", "by.npy", "--scores", "bz.npy"), &m, &o,
      NULL);
  static const char *cells[] = {"tp", "fp", "tn", "fn"};
  for (int c = 0; c < 4; ++c)
    same(cells[c], num_in(m, "confusion", cells[c]),
         num_in(o, "confusion", cells[c]));
  static const char *exact[] = {"accuracy", "precision",   "recall",
                                "f1",       "specificity", "balanced_accuracy",
                                "mcc"};
  for (int k = 0; k < 7; ++k)
    same(exact[k], json_num(m, exact[k]), json_num(o, exact[k]));
  in_interval("ROC-AUC", m, "roc_auc", json_num(o, "roc_auc"), 0);
  in_interval("AP", m, "average_precision", json_num(o, "average_precision"),
              0);
  cr_expect(json_has_key(m, "ranking_exact"));
  /* The text report says where the interval comes from. */
  const char *s0 = fpath("s0.state"), *s1 = fpath("s1.state"),
             *s2 = fpath("s2.state");
  run_result t = RUN("merge", s0, s1, s2);
  cr_assert_eq(t.status, 0, "%s", t.err);
  cr_expect(strstr(t.out, "merged from saved states") &&
                (strstr(t.out, "certified") || strstr(t.out, "exact")),
            "%s", t.out);
}

/* Perfectly separated scores: every prefix holds one class, so the merged
 * ranking is exact and equals the one-run value. */
Test(cli, separated_scores_give_exact_merged_auc) {
  static uint8_t y[SN];
  static float z[SN];
  for (int i = 0; i < SN; ++i) {
    y[i] = i % 3 == 0;
    z[i] = y[i] ? 10.0f + (float)(i % 97) : -10.0f - (float)(i % 89);
  }
  write_shards_u8("sy", y, 0);
  write_shards_f32("sz", z, 0);
  char *m, *o;
  shards_and_one(
      EXTRA("binary", "--labels", "sy%d.npy", "--scores", "sz%d.npy"),
      EXTRA("binary", "--labels", "sy.npy", "--scores", "sz.npy"), &m, &o,
      NULL);
  double lo, hi;
  interval(m, "roc_auc_interval", &lo, &hi);
  cr_expect(lo == hi, "[%.17g, %.17g]", lo, hi);
  same("roc_auc", json_num(m, "roc_auc"), json_num(o, "roc_auc"));
  same("average_precision", json_num(m, "average_precision"),
       json_num(o, "average_precision"));
  cr_expect(strstr(m, "\"ranking_exact\":true"), "%s", m);
}

/* ---- multi-class ---- */

#define MCK 5
Test(cli, multiclass_scores_k5_shards_merge_to_one_run) {
  static int32_t y[SN];
  static float s[SN * MCK];
  clm_rng g;
  clm_rng_seed(&g, 15002);
  for (int i = 0; i < SN; ++i) {
    y[i] = (int32_t)clm_rng_below(&g, MCK);
    for (int c = 0; c < MCK; ++c)
      s[i * MCK + c] =
          (float)(clm_rng_uniform(&g) * 6.0 - 3.0) + (c == y[i] ? 1.0f : 0.0f);
  }
  write_shards_i32("my", y);
  write_shards_f32("ms", s, MCK);
  const double F = float_tol(MCK);
  char *m, *o;
  shards_and_one(EXTRA("multiclass", "--labels", "my%d.npy", "--scores",
                       "ms%d.npy", "--top-k", "2"),
                 EXTRA("multiclass", "--labels", "my.npy", "--scores", "ms.npy",
                       "--top-k", "2"),
                 &m, &o, NULL);
  char *cm = strip_spaces(json_array_text(m, "confusion_matrix"));
  char *co = strip_spaces(json_array_text(o, "confusion_matrix"));
  cr_expect_str_eq(cm, co);
  static const char *exact[] = {"accuracy", "balanced_accuracy", "mcc",
                                "cohen_kappa", "top_k_accuracy"};
  for (int k = 0; k < 5; ++k)
    same(exact[k], json_num(m, exact[k]), json_num(o, exact[k]));
  same("macro f1", num_in(m, "macro", "f1"), num_in(o, "macro", "f1"));
  near("cross-entropy mean", num_in(m, "loss", "cross_entropy_mean"),
       num_in(o, "loss", "cross_entropy_mean"), F, 1);
  near("ece", num_in(m, "calibration", "ece"), num_in(o, "calibration", "ece"),
       F, 0);
  char *pm = json_array_text(m, "per_class"),
       *po = json_array_text(o, "per_class");
  for (int c = 0; c < MCK; ++c) {
    char *x = json_nth_object(pm, c), *z = json_nth_object(po, c);
    same("per-class f1", json_num(x, "f1"), json_num(z, "f1"));
    in_interval("per-class ROC-AUC", x, "roc_auc", json_num(z, "roc_auc"), 0);
    in_interval("per-class AP", x, "average_precision",
                json_num(z, "average_precision"), 0);
  }
  const double slack = 4.0 * MCK * 0x1p-53;
  char *ra = json_object_text(m, "roc_auc");
  char *rb = json_object_text(o, "roc_auc");
  in_interval("ROC-AUC macro", ra, "macro", json_num(rb, "macro"), slack);
  in_interval("ROC-AUC weighted", ra, "weighted", json_num(rb, "weighted"),
              slack);
}

/* ---- multilabel ---- */

#define MLL 7
Test(cli, multilabel_l7_shards_merge_to_one_run) {
  static uint8_t y[SN * MLL];
  static float z[SN * MLL];
  clm_rng g;
  clm_rng_seed(&g, 15003);
  for (int i = 0; i < SN * MLL; ++i) {
    y[i] = clm_rng_uniform(&g) < 0.3;
    z[i] = (float)(clm_rng_uniform(&g) * 8.0 - 4.0) + (y[i] ? 1.0f : 0.0f);
  }
  write_shards_u8("ly", y, MLL);
  write_shards_f32("lz", z, MLL);
  const double F = float_tol(MLL);
  const double R = 2.0 * SN * 0x1p-53;
  char *m, *o;
  shards_and_one(
      EXTRA("multilabel", "--labels", "ly%d.npy", "--scores", "lz%d.npy"),
      EXTRA("multilabel", "--labels", "ly.npy", "--scores", "lz.npy"), &m, &o,
      NULL);
  char *pm = json_array_text(m, "per_label"),
       *po = json_array_text(o, "per_label");
  for (int c = 0; c < MLL; ++c) {
    char *x = json_nth_object(pm, c), *w = json_nth_object(po, c);
    static const char *cells[] = {"tp", "fp", "tn", "fn", "f1", "jaccard"};
    for (int k = 0; k < 6; ++k)
      same(cells[k], json_num(x, cells[k]), json_num(w, cells[k]));
    near("per-label bce", json_num(x, "bce_mean"), json_num(w, "bce_mean"), F,
         1);
    in_interval("per-label ROC-AUC", x, "roc_auc", json_num(w, "roc_auc"), 0);
  }
  same("subset accuracy", json_num(m, "subset_accuracy"),
       json_num(o, "subset_accuracy"));
  same("hamming loss", json_num(m, "hamming_loss"),
       json_num(o, "hamming_loss"));
  same("micro f1", num_in(m, "micro", "f1"), num_in(o, "micro", "f1"));
  near("samples f1", num_in(m, "samples", "f1"), num_in(o, "samples", "f1"), R,
       1);
  near("LRAP", json_num(m, "label_ranking_average_precision"),
       json_num(o, "label_ranking_average_precision"), R, 1);
  near("ranking loss", json_num(m, "label_ranking_loss"),
       json_num(o, "label_ranking_loss"), R, 1);
  near("coverage", json_num(m, "coverage_error"), json_num(o, "coverage_error"),
       R, 1);
  char *ra = json_object_text(m, "roc_auc"),
       *rb = json_object_text(o, "roc_auc");
  in_interval("ROC-AUC micro", ra, "micro", json_num(rb, "micro"), 0);
  in_interval("ROC-AUC macro", ra, "macro", json_num(rb, "macro"),
              4.0 * MLL * 0x1p-53);
}

/* ---- refused states ---- */

/* Saves shard 0 and 1 of the binary data; returns the two state paths. */
static void two_states(const char **a, const char **b, const char *extra_b) {
  make_binary_data();
  *a = fpath("a.state");
  *b = fpath("b.state");
  run_result r = RUN("binary", "--labels", fpath("by0.npy"), "--scores",
                     fpath("bz0.npy"), "--save-state", *a);
  cr_assert_eq(r.status, 0, "%s", r.err);
  r = extra_b
          ? RUN("binary", "--labels", fpath("by1.npy"), "--scores",
                fpath("bz1.npy"), "--save-state", *b, "--threshold", extra_b)
          : RUN("binary", "--labels", fpath("by1.npy"), "--scores",
                fpath("bz1.npy"), "--save-state", *b);
  cr_assert_eq(r.status, 0, "%s", r.err);
}

static void rewrite(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(data, 1, len, f), len);
  fclose(f);
}

Test(cli, corrupted_state_rejected) {
  const char *a, *b;
  two_states(&a, &b, NULL);
  size_t len;
  char *data = slurp(b, &len);
  data[len / 2] ^= 0x10;
  rewrite(b, data, len);
  run_result r = RUN("merge", a, b, "--json");
  expect_failure(&r, 1, NEEDLES("b.state", "checksum mismatch"));
  cr_expect_str_eq(r.out, "");
}

Test(cli, truncated_state_rejected) {
  const char *a, *b;
  two_states(&a, &b, NULL);
  size_t len;
  char *data = slurp(b, &len);
  const size_t cuts[] = {0, 3, 27, 100, len / 2, len - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof *cuts; ++i) {
    rewrite(b, data, cuts[i]);
    run_result r = RUN("merge", a, b);
    expect_failure(&r, 1, NEEDLES("b.state"));
    cr_expect(strstr(r.err, "truncated") || strstr(r.err, "not a clmetrics"),
              "%zu bytes: %s", cuts[i], r.err);
  }
}

Test(cli, newer_version_rejected) {
  const char *a, *b;
  two_states(&a, &b, NULL);
  size_t len;
  char *data = slurp(b, &len);
  data[4] = 9; /* bundle version 9, checksum resealed */
  const uint32_t crc = clm_crc32c(0, data, len - 4);
  for (int i = 0; i < 4; ++i)
    data[len - 4 + i] = (char)(crc >> (8 * i));
  rewrite(b, data, len);
  run_result r = RUN("merge", a, b);
  expect_failure(
      &r, 1, NEEDLES("newer clmetrics", "format version 9", "reads up to 1"));
}

Test(cli, mismatched_states_rejected_naming_file_and_option) {
  const char *a, *b;
  two_states(&a, &b, "0.7");
  run_result r = RUN("merge", a, b);
  expect_failure(&r, 1, NEEDLES("b.state", "--threshold", "0.7", "0.5"));
  /* Another command. */
  static int32_t y[20];
  static float s[20 * 3];
  for (int i = 0; i < 20; ++i) {
    y[i] = i % 3;
    for (int c = 0; c < 3; ++c)
      s[i * 3 + c] = (float)((i * 7 + c * 3) % 5);
  }
  write_npy(fpath("y3.npy"), "<i4", shape1(20), y, sizeof y);
  write_npy(fpath("s3.npy"), "<f4", shape2(20, 3), s, sizeof s);
  const char *c = fpath("c.state");
  r = RUN("multiclass", "--labels", fpath("y3.npy"), "--scores",
          fpath("s3.npy"), "--save-state", c);
  cr_assert_eq(r.status, 0, "%s", r.err);
  r = RUN("merge", a, c);
  expect_failure(&r, 1, NEEDLES("c.state", "multiclass", "binary"));
  /* Weighted against unweighted. */
  const char *w = fpath("w.state");
  r = RUN("binary", "--labels", fpath("by2.npy"), "--scores", fpath("bz2.npy"),
          "--weights", fpath("bw2.npy"), "--save-state", w);
  cr_assert_eq(r.status, 0, "%s", r.err);
  r = RUN("merge", a, w);
  expect_failure(&r, 1, NEEDLES("w.state", "--weights"));
  /* Not a state at all. */
  r = RUN("merge", a, fpath("by0.npy"));
  expect_failure(&r, 1, NEEDLES("by0.npy", "not a clmetrics saved state"));
}

Test(cli, failed_run_leaves_no_state) {
  make_binary_data();
  static uint8_t bad[10] = {0, 1, 2, 0, 1, 0, 1, 0, 1, 0};
  static float z[10];
  write_u8(fpath("bad.npy"), bad, 10);
  write_f32(fpath("z10.npy"), z, 10);
  const char *out = opath("x.state");
  run_result r = RUN("binary", "--labels", fpath("bad.npy"), "--scores",
                     fpath("z10.npy"), "--save-state", out);
  cr_expect_eq(r.status, 1, "%s", r.err);
  cr_expect_str_eq(outdir_listing(), "");
  /* An existing state stays as it was. */
  rewrite(out, "old", 3);
  r = RUN("binary", "--labels", fpath("bad.npy"), "--scores", fpath("z10.npy"),
          "--save-state", out);
  cr_expect_eq(r.status, 1);
  size_t len;
  char *data = slurp(out, &len);
  cr_expect(len == 3 && memcmp(data, "old", 3) == 0);
  cr_expect_str_eq(outdir_listing(), "x.state ");
}

Test(cli, save_state_refused_on_an_input_and_with_quantile_bins) {
  make_binary_data();
  run_result r = RUN("binary", "--labels", fpath("by0.npy"), "--scores",
                     fpath("bz0.npy"), "--save-state", fpath("bz0.npy"));
  expect_failure(&r, 2, NEEDLES("--save-state", "same file as --scores"));
  r = RUN("binary", "--labels", fpath("by0.npy"), "--scores", fpath("bz0.npy"),
          "--save-state", fpath("q.state"), "--calibration-strategy",
          "quantile");
  expect_failure(&r, 2, NEEDLES("--save-state", "uniform"));
  r = RUN("merge");
  expect_failure(&r, 2, NEEDLES("merge", "at least one"));
}
