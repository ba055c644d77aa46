/* The visual report's files (issue 14): --html and --svg-dir write
 * complete, well-formed files through temporary names, refuse to replace
 * an input or another output, leave nothing behind on failure, and escape
 * every user string. The page's content against the JSON report, the size
 * bound at K = 1000 and L = 10^4 and the browser screenshot are checked by
 * tests/report_html.py. */
#include "cli_fixture.h"

TestSuite(report, .init = make_tmpdir, .fini = remove_tmpdir);

static int contains(const char *path, const char *needle) {
  size_t len = 0;
  char *text = slurp(path, &len);
  const int found = strstr(text, needle) != NULL;
  free(text);
  return found;
}

/* Each figure a standalone SVG file, the page one XHTML document. */
Test(report, binary_page_and_figures) {
  write_fixture();
  const char *dir = opath("figs/sub");
  run_result r =
      RUN("binary", "--labels", fpath("labels.npy"), "--scores",
          fpath("logits.npy"), "--html", opath("page.html"), "--svg-dir", dir);
  cr_assert_eq(r.status, 0, "%s: %s", r.cmdline, r.err);
  cr_expect(strstr(r.out, "binary evaluation") != NULL,
            "the text report is still printed");
  const char *page = opath("page.html");
  cr_expect(contains(page, "<!DOCTYPE html>\n<html xmlns=\""
                           "http://www.w3.org/1999/xhtml\""));
  cr_expect(contains(page, "</html>\n"));
  static const char *const figs[] = {"confusion.svg",   "roc.svg",
                                     "pr.svg",          "threshold.svg",
                                     "reliability.svg", "histogram.svg"};
  for (size_t i = 0; i < sizeof figs / sizeof *figs; ++i) {
    char *p = NULL;
    cr_assert_neq(asprintf(&p, "%s/%s", dir, figs[i]), -1);
    cr_expect(contains(p, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<svg xmlns=\"http://www.w3.org/2000/svg\""),
              "%s is not a standalone SVG", p);
    cr_expect(contains(p, "</svg>\n"), "%s is incomplete", p);
  }
  struct stat st;
  cr_assert_eq(stat(dir, &st), 0);
  cr_expect_eq(st.st_mode & 0777, 0755, "--svg-dir created with mode %o",
               st.st_mode & 0777);
  /* No temporary file is left. */
  char *left = outdir_listing();
  cr_expect_str_eq(left, "figs page.html ");
}

Test(report, html_onto_an_input_is_refused) {
  write_fixture();
  size_t len, len2;
  char *before = slurp(fpath("logits.npy"), &len);
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--html", fpath("logits.npy"));
  expect_failure(&r, 2, NEEDLES("--html", "--scores", "input"));
  char *after = slurp(fpath("logits.npy"), &len2);
  cr_expect(len == len2 && memcmp(before, after, len) == 0);
}

/* A figure's name in --svg-dir that is an input: refused before any
 * work. */
Test(report, svg_dir_onto_an_input_is_refused) {
  write_fixture();
  cr_assert_eq(rename(fpath("logits.npy"), fpath("roc.svg")), 0);
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("roc.svg"), "--svg-dir", tmpdir);
  expect_failure(&r, 2, NEEDLES("--svg-dir", "--scores"));
}

Test(report, html_and_another_output_on_one_file_are_refused) {
  write_fixture();
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--grad-out", opath("x.html"),
                     "--html", opath("x.html"));
  expect_failure(&r, 2, NEEDLES("--grad-out", "--html"));
  r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
          fpath("logits.npy"), "--svg-dir", outdir, "--html", opath("roc.svg"));
  expect_failure(&r, 2, NEEDLES("--html", "--svg-dir"));
}

/* A page that cannot be written: exit 1, no figure, no directory, no
 * temporary file. */
Test(report, failure_leaves_nothing) {
  write_fixture();
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--svg-dir", opath("figs"), "--html",
                     opath("missing/page.html"));
  expect_failure(&r, 1, NEEDLES("missing"));
}

Test(report, usage_errors) {
  write_fixture();
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--html");
  expect_failure(&r, 2, NEEDLES("--html"));
  r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
          fpath("logits.npy"), "--svg-dir", "");
  expect_failure(&r, 2, NEEDLES("--svg-dir"));
}

/* Class names reach the page escaped, and a page without scores says
 * what it cannot show. */
Test(report, multiclass_names_are_escaped) {
  write_mc_fixture();
  write_text(fpath("names.txt"), "a<b\nc&d\n\"e\"\n'f'\n]]>g\n");
  run_result r = RUN("multiclass", "--labels", fpath("mc_y.npy"), "--pred",
                     fpath("mc_p.npy"), "--names", fpath("names.txt"), "--html",
                     opath("m.html"));
  cr_assert_eq(r.status, 0, "%s: %s", r.cmdline, r.err);
  const char *page = opath("m.html");
  cr_expect(contains(page, "a&lt;b"));
  cr_expect(contains(page, "c&amp;d"));
  cr_expect(contains(page, "&quot;e&quot;"));
  cr_expect(contains(page, "&#39;f&#39;"));
  cr_expect(contains(page, "]]&gt;g"));
  cr_expect(!contains(page, "a<b"));
  cr_expect(contains(page, "they need scores"));
}

Test(report, multilabel_page) {
  const uint8_t y[12] = {1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0};
  const float s[12] = {2, -1, 0.5f, 1, 0.3f, -2, -0.5f, 3, 1, -1, 2, 0.1f};
  write_npy(fpath("y.npy"), "|u1", shape2(4, 3), y, sizeof y);
  write_npy(fpath("s.npy"), "<f4", shape2(4, 3), s, sizeof s);
  run_result r =
      RUN("multilabel", "--labels", fpath("y.npy"), "--scores", fpath("s.npy"),
          "--html", opath("l.html"), "--svg-dir", opath("l"));
  cr_assert_eq(r.status, 0, "%s: %s", r.cmdline, r.err);
  cr_expect(contains(opath("l.html"), "micro average"));
  cr_expect(contains(opath("l.html"), "no calibration"));
  cr_expect_eq(access(opath("l/roc.svg"), F_OK), 0);
  cr_expect_eq(access(opath("l/pr.svg"), F_OK), 0);
}
