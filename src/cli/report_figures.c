/* The figures of the visual report, each a standalone SVG: ROC and PR
 * curves from the ranking's exact curve points, the confusion heatmap
 * from the counted matrix, the reliability diagram and score histograms
 * from the calibration bins, and the binary threshold sweep. */
#include "cli_ranking.h"
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Colors of class curves: the palette without black (the micro average's)
 * and yellow; beyond six, dashes. */
static const char *curve_color(size_t i) {
  static const int order[6] = {0, 1, 2, 3, 4, 5};
  return svg_palette[order[i % 6]];
}
static const char *curve_dash(size_t i) {
  static const char *const d[] = {"", "6 3", "2 2", "8 3 2 3"};
  return d[(i / 6) % 4];
}

/* Indices of at most CLI_REPORT_CURVE_POINTS points of n, both ends kept,
 * evenly spaced in index (the library already spaced them evenly in
 * rank). Returns the count; idx must hold CLI_REPORT_CURVE_POINTS. */
static size_t thin(uint64_t n, uint64_t *idx) {
  const uint64_t m = CLI_REPORT_CURVE_POINTS;
  if (n <= m) {
    for (uint64_t i = 0; i < n; ++i)
      idx[i] = i;
    return (size_t)n;
  }
  for (uint64_t j = 0; j < m; ++j)
    idx[j] = (uint64_t)llround((double)j * (double)(n - 1) / (double)(m - 1));
  return (size_t)m;
}

static double ratio(double num, double den) {
  return den > 0 ? num / den : NAN;
}

static double sigmoid(double t) {
  if (isinf(t))
    return t > 0 ? 1.0 : 0.0;
  return t >= 0 ? 1.0 / (1.0 + exp(-t)) : exp(t) / (1.0 + exp(t));
}

/* ---- ROC and PR --------------------------------------------------- */

static void curve_legend(struct sbuf *b, const struct report_curve *c, size_t n,
                         int roc, double x, double y) {
  for (size_t i = 0; i < n; ++i) {
    const double yy = y + 18.0 * (double)i;
    const char *color = c[i].bold ? "#000000" : curve_color(i);
    svg_line(b, x, yy - 4, x + 22, yy - 4, color, c[i].bold ? 3 : 2,
             c[i].bold ? "" : curve_dash(i));
    const double v = roc ? c[i].cl->roc_auc : c[i].cl->average_precision;
    struct sbuf t = {0};
    sb_esc_cut(&t, c[i].name, 16);
    sb_printf(b,
              "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
              "fill=\"#222222\">%s (%s ",
              x + 28, yy, t.p ? t.p : "", roc ? "AUC" : "AP");
    if (isnan(v))
      sb_puts(b, "undefined)</text>\n");
    else
      sb_printf(b, "%.4f)</text>\n", v);
    sb_free(&t);
  }
  const double yy = y + 18.0 * (double)n + 6;
  sb_printf(b,
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#ffffff\" "
            "stroke=\"#444444\" stroke-width=\"2\"/>\n",
            x + 11, yy - 4);
  svg_text(b, x + 28, yy, "start", 11, "#222222", "operating point");
}

static void curves_fig(struct report_page *p, const struct report_curve *c,
                       size_t n, const char *caption, int roc) {
  struct sbuf *b = report_fig_begin(p, roc ? "roc.svg" : "pr.svg");
  if (!b)
    return;
  const double W = 600, H = 400;
  svg_begin(
      b, W, H,
      roc ? (n > 1 ? "ROC curves" : "ROC curve")
          : (n > 1 ? "Precision-recall curves" : "Precision-recall curve"));
  struct svg_plot pl = {b, 60, 40, 290, 290, 0, 1, 0, 1, 0, 0};
  svg_axes(&pl, roc ? "false positive rate" : "recall",
           roc ? "true positive rate" : "precision", NULL);
  if (roc) {
    svg_line(b, svg_px(&pl, 0), svg_py(&pl, 0), svg_px(&pl, 1), svg_py(&pl, 1),
             "#999999", 1, "4 4");
  } else if (n == 1 && c[0].cl->positive_weight > 0) {
    const double prev = c[0].cl->positive_weight /
                        (c[0].cl->positive_weight + c[0].cl->negative_weight);
    svg_line(b, svg_px(&pl, 0), svg_py(&pl, prev), svg_px(&pl, 1),
             svg_py(&pl, prev), "#999999", 1, "4 4");
    svg_text(b, svg_px(&pl, 1) - 4, svg_py(&pl, prev) - 4, "end", 10, "#666666",
             "no skill (prevalence)");
  }
  uint64_t *idx = malloc(CLI_REPORT_CURVE_POINTS * sizeof *idx);
  double *xs = malloc((2 * CLI_REPORT_CURVE_POINTS + 2) * sizeof *xs);
  double *ys = malloc((2 * CLI_REPORT_CURVE_POINTS + 2) * sizeof *ys);
  if (!idx || !xs || !ys) {
    b->oom = 1;
    n = 0;
  }
  /* The micro average last, on top. */
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < n; ++i) {
      const clm_ranking_class *cl = c[i].cl;
      if (c[i].bold != pass || !cl->curve || cl->curve_len == 0)
        continue;
      const size_t m = thin(cl->curve_len, idx);
      size_t q = 0;
      xs[q] = 0;
      ys[q++] = roc ? 0 : 1;
      for (size_t j = 0; j < m; ++j) {
        const clm_curve_point *pt = &cl->curve[idx[j]];
        if (roc) {
          xs[q] = ratio(pt->fp_weight, cl->negative_weight);
          ys[q++] = ratio(pt->tp_weight, cl->positive_weight);
        } else {
          /* Steps: precision P_n over (R_{n-1}, R_n], as AP sums it. */
          const double r = ratio(pt->tp_weight, cl->positive_weight);
          const double pr = ratio(pt->tp_weight, pt->tp_weight + pt->fp_weight);
          xs[q] = xs[q - 1];
          ys[q++] = pr;
          xs[q] = r;
          ys[q++] = pr;
        }
      }
      /* Undefined rates (one class absent) leave the curve out. */
      int ok = 1;
      for (size_t j = 0; j < q; ++j)
        ok &= !isnan(xs[j]) && !isnan(ys[j]);
      if (ok)
        svg_polyline(&pl, xs, ys, q, pass ? "#000000" : curve_color(i),
                     pass ? 3 : 2, pass ? "" : curve_dash(i));
    }
  for (size_t i = 0; i < n; ++i) {
    if (!c[i].has_op)
      continue;
    const double x = roc ? c[i].op_fpr : c[i].op_recall;
    const double y = roc ? c[i].op_tpr : c[i].op_precision;
    if (isnan(x) || isnan(y))
      continue;
    char tip[160];
    struct sbuf nm = {0};
    sb_esc_cut(&nm, c[i].name, 40);
    snprintf(tip, sizeof tip, "operating point: %s %.4f, %s %.4f",
             roc ? "FPR" : "recall", x, roc ? "TPR" : "precision", y);
    sb_free(&nm);
    svg_marker(&pl, x, y, c[i].bold ? "#000000" : curve_color(i), tip);
  }
  free(ys);
  free(xs);
  free(idx);
  curve_legend(b, c, n, roc, 366, 52);
  svg_end(b);
  report_fig_place(p, caption);
}

void report_fig_roc(struct report_page *p, const struct report_curve *c,
                    size_t n, const char *caption) {
  curves_fig(p, c, n, caption, 1);
}

void report_fig_pr(struct report_page *p, const struct report_curve *c,
                   size_t n, const char *caption) {
  curves_fig(p, c, n, caption, 0);
}

/* ---- which classes get curves ------------------------------------- */

static const double *sort_key;
static int by_key_desc(const void *a, const void *b) {
  const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  if (sort_key[x] != sort_key[y])
    return sort_key[x] > sort_key[y] ? -1 : 1;
  return x < y ? -1 : x > y;
}

size_t report_pick_classes(const clm_ranking_result *q, uint32_t k,
                           const double *support, size_t max, uint32_t *out) {
  if (k <= max) {
    for (uint32_t c = 0; c < k; ++c)
      out[c] = c;
    return k;
  }
  uint32_t *order = malloc((size_t)k * sizeof *order);
  double *key = malloc((size_t)k * sizeof *key);
  size_t n = 0;
  if (!order || !key) {
    free(order);
    free(key);
    for (uint32_t c = 0; c < max; ++c)
      out[c] = c;
    return max;
  }
  for (uint32_t c = 0; c < k; ++c)
    order[c] = c;
  sort_key = support;
  qsort(order, k, sizeof *order, by_key_desc);
  /* The largest classes ... */
  for (uint32_t i = 0; i < k && n < max / 2; ++i)
    out[n++] = order[i];
  /* ... and the worst-ranked ones (lowest ROC-AUC, defined). */
  for (uint32_t c = 0; c < k; ++c) {
    const double v = q->classes[c].roc_auc;
    key[c] = isnan(v) ? -INFINITY : -v;
    order[c] = c;
  }
  sort_key = key;
  qsort(order, k, sizeof *order, by_key_desc);
  for (uint32_t i = 0; i < k && n < max; ++i) {
    if (isinf(key[order[i]]))
      break;
    int seen = 0;
    for (size_t j = 0; j < n; ++j)
      seen |= out[j] == order[i];
    if (!seen)
      out[n++] = order[i];
  }
  free(order);
  free(key);
  return n;
}

/* ---- confusion matrix --------------------------------------------- */

static double cell(const uint64_t *cm, const double *w, uint32_t k, uint32_t i,
                   uint32_t j) {
  const uint64_t q = (uint64_t)i * k + j;
  return w ? w[q] : (double)cm[q];
}

static void fmt_value(char *buf, size_t cap, double v, int weighted) {
  if (weighted)
    snprintf(buf, cap, "%.4g", v);
  else
    snprintf(buf, cap, "%.0f", v);
}

static void class_label(char **names, const char *const *fixed, uint32_t c,
                        char *buf, size_t cap) {
  if (fixed)
    snprintf(buf, cap, "%s", fixed[c]);
  else
    cli_class_name(names, c, buf, cap);
}

/* Rotated text (for column labels and vertical titles). */
static void text_rot(struct sbuf *b, double x, double y, double deg,
                     const char *anchor, double size, const char *text,
                     size_t max_chars) {
  sb_printf(b,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%g\" "
            "fill=\"#222222\" transform=\"rotate(%g %.1f %.1f)\">",
            x, y, anchor, size, deg, x, y);
  sb_esc_cut(b, text, max_chars);
  sb_puts(b, "</text>\n");
}

static void heatmap(struct report_page *p, uint32_t k, const uint64_t *cm,
                    const double *w, char **names, const char *const *fixed,
                    const uint32_t *idx, uint32_t n, const double *rowsum) {
  struct sbuf *b = report_fig_begin(p, "confusion.svg");
  if (!b)
    return;
  double cs = floor(440.0 / n);
  cs = cs < 14 ? 14 : cs > 90 ? 90 : cs;
  const size_t max_chars = 16;
  size_t longest = 1;
  for (uint32_t i = 0; i < n; ++i) {
    char name[256];
    class_label(names, fixed, idx[i], name, sizeof name);
    size_t chars = 0;
    for (const unsigned char *s = (const unsigned char *)name; *s; ++s)
      chars += (*s & 0xC0) != 0x80;
    if (chars > longest)
      longest = chars;
  }
  if (longest > max_chars)
    longest = max_chars;
  const double label_w = 7.0 * (double)longest + 12;
  /* Column labels lie flat when they fit their column, else slanted. */
  const int flat = label_w - 12 <= cs - 4;
  const double left = 40 + label_w, top = 44, grid = cs * n;
  const double bottom = flat ? 52 : label_w * 0.72 + 48;
  const double W = left + grid + 100, H = top + grid + bottom;
  char title[96];
  if (n < k)
    snprintf(title, sizeof title,
             "Confusion matrix: the %u largest of %u classes", n, k);
  else
    snprintf(title, sizeof title, "Confusion matrix");
  svg_begin(b, W < 360 ? 360 : W, H, title);
  const double font = cs >= 60 ? 13 : cs >= 40 ? 11 : 9;
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t j = 0; j < n; ++j) {
      const double v = cell(cm, w, k, idx[i], idx[j]);
      const double rate = rowsum[i] > 0 ? v / rowsum[i] : 0;
      char color[8], val[32], tip[400], ti[128], tj[128];
      int dark;
      svg_scale_color(rate, color, &dark);
      fmt_value(val, sizeof val, v, w != NULL);
      class_label(names, fixed, idx[i], ti, sizeof ti);
      class_label(names, fixed, idx[j], tj, sizeof tj);
      snprintf(tip, sizeof tip,
               "true %s, predicted %s: %s (%.1f%% of the "
               "true class)",
               ti, tj, val, 100 * rate);
      const double x = left + cs * j, y = top + cs * i;
      svg_rect(b, x, y, cs, cs, color, "#ffffff", tip);
      const char *ink = dark ? "#ffffff" : "#222222";
      const double vw = 0.62 * font * (double)strlen(val);
      if (cs >= 44 && vw <= cs - 4) {
        char pct[16];
        snprintf(pct, sizeof pct, "%.1f%%", 100 * rate);
        svg_text(b, x + cs / 2, y + cs / 2 - 1, "middle", font, ink, val);
        svg_text(b, x + cs / 2, y + cs / 2 + font, "middle", font - 2, ink,
                 pct);
      } else if (cs >= 22 && vw <= cs - 3) {
        svg_text(b, x + cs / 2, y + cs / 2 + font / 3, "middle", font, ink,
                 val);
      }
    }
  /* Row labels (true) on the left, column labels (predicted) below. */
  const double lfont = cs >= 16 ? 11 : 9;
  for (uint32_t i = 0; i < n; ++i) {
    char name[256];
    class_label(names, fixed, idx[i], name, sizeof name);
    sb_printf(b,
              "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
              "font-size=\"%g\" fill=\"#222222\">",
              left - 6, top + cs * i + cs / 2 + lfont / 3, lfont);
    sb_esc_cut(b, name, max_chars);
    sb_puts(b, "</text>\n");
    if (flat)
      text_rot(b, left + cs * i + cs / 2, top + grid + 16, 0, "middle", lfont,
               name, max_chars);
    else
      text_rot(b, left + cs * i + cs / 2 + lfont / 3, top + grid + 8, -45,
               "end", lfont, name, max_chars);
  }
  text_rot(b, 16, top + grid / 2, -90, "middle", 12, "true class", 40);
  svg_text(b, left + grid / 2, H - 10, "middle", 12, "#222222",
           "predicted class");
  /* The color scale: share of the true class's samples. */
  const double bx = left + grid + 24, bh = grid < 120 ? 120 : grid;
  for (int s = 0; s < 20; ++s) {
    char color[8];
    svg_scale_color(1.0 - (s + 0.5) / 20, color, NULL);
    svg_rect(b, bx, top + bh * s / 20, 14, bh / 20 + 0.5, color, NULL, NULL);
  }
  sb_printf(b,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"%.1f\" "
            "fill=\"none\" stroke=\"#444444\"/>\n",
            bx, (double)top, bh);
  svg_text(b, bx + 18, top + 9, "start", 10, "#333333", "100%");
  svg_text(b, bx + 18, top + bh / 2 + 4, "start", 10, "#333333", "50%");
  svg_text(b, bx + 18, top + bh, "start", 10, "#333333", "0%");
  text_rot(b, bx + 62, top + bh / 2, -90, "middle", 10, "share of true class",
           40);
  svg_end(b);
  char cap[256];
  snprintf(cap, sizeof cap,
           "Rows: true class, columns: predicted. Cells show the %s and are "
           "colored by the share of the true class (row-normalized)%s. Hover "
           "a cell for its values.",
           w ? "sums of sample weights" : "counts",
           n < k ? "; the classes are the largest by support, rates are "
                   "shares of the whole row"
                 : "");
  report_fig_place(p, cap);
}

/* The most confused pairs (off-diagonal cells), as horizontal bars. */
static void confused_pairs(struct report_page *p, uint32_t k,
                           const uint64_t *cm, const double *w, char **names,
                           const double *all_rowsum) {
  enum { TOP = 20 };
  uint32_t ti[TOP] = {0}, tj[TOP] = {0};
  double tv[TOP] = {0};
  int n = 0;
  for (uint32_t i = 0; i < k; ++i)
    for (uint32_t j = 0; j < k; ++j) {
      const double v = i == j ? 0 : cell(cm, w, k, i, j);
      if (!(v > 0) || (n == TOP && v <= tv[TOP - 1]))
        continue;
      int at = n < TOP ? n++ : TOP - 1;
      while (at > 0 && tv[at - 1] < v) {
        tv[at] = tv[at - 1];
        ti[at] = ti[at - 1];
        tj[at] = tj[at - 1];
        --at;
      }
      tv[at] = v;
      ti[at] = i;
      tj[at] = j;
    }
  if (n == 0) {
    report_note(p, "No sample was confused: every prediction is right.");
    return;
  }
  struct sbuf *b = report_fig_begin(p, "confused-pairs.svg");
  if (!b)
    return;
  const double left = 300, bar = 280, top = 44, row = 20;
  const double W = left + bar + 120, H = top + row * n + 30;
  svg_begin(b, W, H, "Most confused pairs (true \xE2\x86\x92 predicted)");
  for (int q = 0; q < n; ++q) {
    char a[128], c[128], label[300], val[32], tip[640];
    cli_class_name(names, ti[q], a, sizeof a);
    cli_class_name(names, tj[q], c, sizeof c);
    snprintf(label, sizeof label, "%s \xE2\x86\x92 %s", a, c);
    const double y = top + row * q;
    sb_printf(b,
              "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
              "font-size=\"11\" fill=\"#222222\">",
              left - 8, y + 14);
    sb_esc_cut(b, label, 42);
    sb_puts(b, "</text>\n");
    const double share = all_rowsum[ti[q]] > 0 ? tv[q] / all_rowsum[ti[q]] : 0;
    fmt_value(val, sizeof val, tv[q], w != NULL);
    snprintf(tip, sizeof tip, "%s: %s (%.1f%% of true %s)", label, val,
             100 * share, a);
    svg_rect(b, left, y + 3, bar * tv[q] / tv[0], row - 6, svg_palette[1], NULL,
             tip);
    char txt[64];
    snprintf(txt, sizeof txt, "%s (%.1f%%)", val, 100 * share);
    svg_text(b, left + bar * tv[q] / tv[0] + 6, y + 14, "start", 11, "#222222",
             txt);
  }
  svg_end(b);
  report_fig_place(p, "The off-diagonal cells with the most samples: bar "
                      "length is the count (or weight), the percentage the "
                      "share of the true class predicted as the other.");
}

void report_fig_confusion(struct report_page *p, uint32_t k, const uint64_t *cm,
                          const double *w, char **names,
                          const char *const *fixed_names) {
  double *rowsum = calloc(k, sizeof *rowsum);
  double *shown_rowsum = calloc(k, sizeof *shown_rowsum);
  uint32_t *idx = calloc(k, sizeof *idx);
  if (!rowsum || !shown_rowsum || !idx) {
    free(rowsum);
    free(shown_rowsum);
    free(idx);
    p->body.oom = 1;
    return;
  }
  for (uint32_t i = 0; i < k; ++i) {
    for (uint32_t j = 0; j < k; ++j)
      rowsum[i] += cell(cm, w, k, i, j);
    idx[i] = i;
  }
  uint32_t n = k;
  if (k > CLI_REPORT_HEATMAP_K) {
    sort_key = rowsum;
    qsort(idx, k, sizeof *idx, by_key_desc);
    n = CLI_REPORT_HEATMAP_K;
  }
  for (uint32_t i = 0; i < n; ++i)
    shown_rowsum[i] = rowsum[idx[i]];
  heatmap(p, k, cm, w, names, fixed_names, idx, n, shown_rowsum);
  if (k > CLI_REPORT_HEATMAP_K)
    confused_pairs(p, k, cm, w, names, rowsum);
  free(idx);
  free(shown_rowsum);
  free(rowsum);
}

/* ---- calibration -------------------------------------------------- */

void report_fig_reliability(struct report_page *p,
                            const clm_calibration_result *r, int quantile,
                            const char *what) {
  struct sbuf *b = report_fig_begin(p, "reliability.svg");
  if (!b)
    return;
  char title[128];
  snprintf(title, sizeof title, "Reliability diagram (ECE %.4f)", r->ece);
  const double W = 560, H = 500;
  svg_begin(b, W, H, title);
  struct svg_plot pl = {b, 64, 40, 300, 300, 0, 1, 0, 1, 0, 0};
  svg_axes(&pl, NULL, "observed frequency", NULL);
  svg_line(b, svg_px(&pl, 0), svg_py(&pl, 0), svg_px(&pl, 1), svg_py(&pl, 1),
           "#999999", 1, "4 4");
  double maxc = 0, minc = INFINITY;
  for (uint32_t i = 0; i < r->n_bins; ++i) {
    const clm_calibration_bin *bin = &r->bins[i];
    if (bin->count == 0)
      continue;
    maxc = bin->weight > maxc ? bin->weight : maxc;
    minc = bin->weight > 0 && bin->weight < minc ? bin->weight : minc;
    char tip[256];
    snprintf(tip, sizeof tip,
             "(%.4g, %.4g]: %llu samples, mean confidence %.4f, observed "
             "frequency %.4f, gap %+.4f",
             bin->lo, bin->hi, (unsigned long long)bin->count, bin->confidence,
             bin->frequency, bin->gap);
    const double x0 = svg_px(&pl, bin->lo), x1 = svg_px(&pl, bin->hi);
    const double y = svg_py(&pl, bin->frequency);
    svg_rect(b, x0, y, x1 - x0, svg_py(&pl, 0) - y, "#a6cee3", "#1f78b4", tip);
  }
  for (uint32_t i = 0; i < r->n_bins; ++i) {
    const clm_calibration_bin *bin = &r->bins[i];
    if (bin->count == 0)
      continue;
    svg_line(b, svg_px(&pl, bin->confidence), svg_py(&pl, bin->confidence),
             svg_px(&pl, bin->confidence), svg_py(&pl, bin->frequency),
             svg_palette[1], 2, "");
    sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#000000\"/>\n",
              svg_px(&pl, bin->confidence), svg_py(&pl, bin->frequency));
  }
  /* Counts per bin below, on a log axis when they span decades. */
  const int lg = maxc > 0 && maxc / minc > 100;
  struct svg_plot cp = {b,
                        64,
                        380,
                        300,
                        70,
                        0,
                        1,
                        lg ? pow(10, floor(log10(minc))) : 0,
                        lg ? pow(10, ceil(log10(maxc)))
                           : (maxc > 0 ? maxc * 1.1 : 1),
                        0,
                        lg};
  if (lg && cp.y1 <= cp.y0)
    cp.y1 = cp.y0 * 10;
  svg_axes(&cp, what, r->weighted ? "weight" : "count", NULL);
  for (uint32_t i = 0; i < r->n_bins; ++i) {
    const clm_calibration_bin *bin = &r->bins[i];
    if (!(bin->weight > 0))
      continue;
    const double x0 = svg_px(&cp, bin->lo), x1 = svg_px(&cp, bin->hi);
    const double y = svg_py(&cp, bin->weight);
    svg_rect(b, x0 + 0.5, y, x1 - x0 - 1, svg_py(&cp, cp.y0) - y, "#777777",
             NULL, NULL);
  }
  /* Legend and the errors. */
  const double lx = 384;
  svg_rect(b, lx, 48, 22, 10, "#a6cee3", "#1f78b4", NULL);
  svg_text(b, lx + 28, 57, "start", 11, "#222222", "observed frequency");
  svg_line(b, lx + 11, 66, lx + 11, 80, svg_palette[1], 2, "");
  sb_printf(b, "<circle cx=\"%.1f\" cy=\"80\" r=\"3\" fill=\"#000000\"/>\n",
            lx + 11);
  svg_text(b, lx + 28, 78, "start", 11, "#222222", "gap to mean confidence");
  svg_line(b, lx, 96, lx + 22, 96, "#999999", 1, "4 4");
  svg_text(b, lx + 28, 100, "start", 11, "#222222", "perfect calibration");
  char line[96];
  const struct {
    const char *name;
    double v;
  } errs[] = {{"ECE", r->ece},
              {"RMS calibration error", r->rmsce},
              {"max calibration error", r->mce},
              {"Brier score", r->brier}};
  for (int i = 0; i < 4; ++i) {
    snprintf(line, sizeof line, "%s %.4f", errs[i].name, errs[i].v);
    svg_text(b, lx, 130 + 18.0 * i, "start", 11, "#222222", line);
  }
  snprintf(line, sizeof line, "%u %s bins", (unsigned)r->n_bins,
           quantile ? "equal-mass" : "equal-width");
  svg_text(b, lx, 130 + 18.0 * 4, "start", 11, "#555555", line);
  svg_text(b, lx, 392, "start", 10, "#555555",
           lg ? "samples per bin (log scale)" : "samples per bin");
  svg_end(b);
}

void report_fig_histogram(struct report_page *p,
                          const clm_calibration_result *r, const char *title,
                          const char *xlabel, const char *pos_name,
                          const char *neg_name) {
  struct sbuf *b = report_fig_begin(p, "histogram.svg");
  if (!b)
    return;
  const uint32_t nb = r->n_bins;
  double *pos = calloc(nb ? nb : 1, sizeof *pos);
  double *neg = calloc(nb ? nb : 1, sizeof *neg);
  if (!pos || !neg) {
    free(pos);
    free(neg);
    b->oom = 1;
    return;
  }
  double mx = 0, mn = INFINITY;
  for (uint32_t i = 0; i < nb; ++i) {
    const clm_calibration_bin *bin = &r->bins[i];
    if (bin->count == 0)
      continue;
    /* frequency is the (weighted) share of hits: unweighted, count *
     * frequency is an integer up to rounding. */
    double hits = bin->weight * bin->frequency;
    if (!r->weighted)
      hits = round(hits);
    pos[i] = hits;
    neg[i] = bin->weight - hits;
    if (!r->weighted)
      neg[i] = round(neg[i]);
    for (int s = 0; s < 2; ++s) {
      const double v = s ? pos[i] : neg[i];
      mx = v > mx ? v : mx;
      mn = v > 0 && v < mn ? v : mn;
    }
  }
  const int lg = mx > 0 && mx / mn > 100;
  const double W = 570, H = 390;
  svg_begin(b, W, H, title);
  struct svg_plot pl = {b, 70, 40, 300, 280, 0, 1, 0, mx > 0 ? mx * 1.08 : 1,
                        0, lg};
  if (lg) {
    pl.y0 = pow(10, floor(log10(mn)));
    pl.y1 = pow(10, ceil(log10(mx)));
    if (pl.y1 <= pl.y0)
      pl.y1 = pl.y0 * 10;
  }
  svg_axes(&pl, xlabel,
           lg ? (r->weighted ? "weight (log scale)" : "samples (log scale)")
              : (r->weighted ? "weight" : "samples"),
           NULL);
  const char *colors[2] = {svg_palette[0], svg_palette[1]};
  for (uint32_t i = 0; i < nb; ++i) {
    const clm_calibration_bin *bin = &r->bins[i];
    const double x0 = svg_px(&pl, bin->lo), x1 = svg_px(&pl, bin->hi);
    const double gap = (x1 - x0) * 0.08, half = (x1 - x0 - 2 * gap) / 2;
    for (int s = 0; s < 2; ++s) {
      const double v = s ? pos[i] : neg[i];
      if (!(v > 0))
        continue;
      char tip[200];
      snprintf(tip, sizeof tip, "%s, (%.4g, %.4g]: %.6g",
               s ? pos_name : neg_name, bin->lo, bin->hi, v);
      const double y = svg_py(&pl, v);
      svg_rect(b, x0 + gap + half * s, y, half, svg_py(&pl, pl.y0) - y,
               colors[s], NULL, tip);
    }
  }
  const char *labels[2] = {neg_name, pos_name};
  const char *dashes[2] = {"", ""};
  for (int s = 0; s < 2; ++s)
    svg_rect(b, 390, 48 + 20.0 * s, 22, 10, colors[s], NULL, NULL);
  for (int s = 0; s < 2; ++s) {
    sb_printf(b,
              "<text x=\"418\" y=\"%.1f\" font-size=\"11\" fill=\"#222222\">",
              57 + 20.0 * s);
    sb_esc_cut(b, labels[s], 28);
    sb_puts(b, "</text>\n");
  }
  (void)dashes;
  char line[64];
  snprintf(line, sizeof line, "%u bins of the calibration", (unsigned)nb);
  svg_text(b, 390, 104, "start", 10, "#555555", line);
  if (lg)
    svg_text(b, 390, 120, "start", 10, "#555555",
             "log scale: empty bars are 0");
  svg_end(b);
  free(pos);
  free(neg);
}

/* ---- the binary threshold sweep ----------------------------------- */

static void prob_fmt(double v, double step, char *buf, size_t cap) {
  int decimals = step > 0 && step < 1 ? (int)ceil(-log10(step) - 1e-9) : 0;
  snprintf(buf, cap, "%.*f", decimals, v);
}

void report_fig_threshold(struct report_page *p, const clm_ranking_class *cl,
                          clm_scores_kind kind, double threshold) {
  struct sbuf *b = report_fig_begin(p, "threshold.svg");
  if (!b)
    return;
  const double P = cl->positive_weight, total = P + cl->negative_weight;
  /* The best F1 over every curve point (not only the drawn ones). */
  uint64_t best = 0;
  double best_f1 = -1;
  for (uint64_t i = 0; i < cl->curve_len; ++i) {
    const clm_curve_point *pt = &cl->curve[i];
    const double f1 =
        ratio(2 * pt->tp_weight, pt->tp_weight + pt->fp_weight + P);
    if (f1 > best_f1)
      best_f1 = f1, best = i;
  }
  const int logits = kind == CLM_SCORES_LOGITS;
  const double W = 620, H = 420;
  svg_begin(b, W, H, "Threshold sweep");
  struct svg_plot pl = {b, 64, 40, 340, 300, 0, 1, 0, 1, 0, 0};
  svg_axes(&pl, logits ? "threshold as probability \xCF\x83(t)" : "threshold",
           "value", prob_fmt);
  uint64_t *idx = malloc(CLI_REPORT_CURVE_POINTS * sizeof *idx);
  double *xs = malloc(CLI_REPORT_CURVE_POINTS * sizeof *xs);
  double *ys = malloc(4 * CLI_REPORT_CURVE_POINTS * sizeof *ys);
  const char *names[4] = {"precision", "recall", "F1", "positive rate"};
  const char *colors[4] = {svg_palette[0], svg_palette[1], svg_palette[2],
                           svg_palette[3]};
  const char *dashes[4] = {"", "", "", "6 3"};
  if (idx && xs && ys && cl->curve_len) {
    const size_t m = thin(cl->curve_len, idx);
    for (size_t j = 0; j < m; ++j) {
      const clm_curve_point *pt = &cl->curve[idx[j]];
      const double t = pt->threshold;
      xs[j] = logits ? sigmoid(t) : t;
      const double pp = pt->tp_weight + pt->fp_weight;
      ys[j] = ratio(pt->tp_weight, pp);
      ys[m + j] = ratio(pt->tp_weight, P);
      ys[2 * m + j] = ratio(2 * pt->tp_weight, pp + P);
      ys[3 * m + j] = ratio(pp, total);
    }
    for (int s = 0; s < 4; ++s) {
      int ok = 1;
      for (size_t j = 0; j < m; ++j)
        ok &= !isnan(ys[s * m + j]);
      if (ok)
        svg_polyline(&pl, xs, ys + s * m, m, colors[s], s == 2 ? 2.5 : 1.8,
                     dashes[s]);
    }
  } else if (!(idx && xs && ys)) {
    b->oom = 1;
  }
  free(ys);
  free(xs);
  free(idx);
  const double tx =
      logits || (threshold >= 0 && threshold <= 1) ? threshold : 0;
  svg_line(b, svg_px(&pl, tx), pl.y, svg_px(&pl, tx), pl.y + pl.h, "#555555",
           1.2, "");
  svg_text(b, svg_px(&pl, tx) + 3, pl.y + 12, "start", 10, "#555555",
           "threshold");
  const double lx = 424;
  svg_legend(b, lx, 56, 4, colors, dashes, names);
  if (best_f1 >= 0) {
    const double bt = cl->curve[best].threshold;
    const double bx = logits ? sigmoid(bt) : bt;
    svg_line(b, svg_px(&pl, bx), pl.y, svg_px(&pl, bx), pl.y + pl.h,
             svg_palette[2], 1.2, "3 3");
    svg_marker(&pl, bx, best_f1, svg_palette[2], "best F1");
    char line[128];
    snprintf(line, sizeof line, "best F1 %.4f", best_f1);
    svg_text(b, lx, 150, "start", 11, "#222222", line);
    if (logits)
      snprintf(line, sizeof line, "at \xCF\x83(t) = %.4f (t = %.4g)", bx, bt);
    else
      snprintf(line, sizeof line, "at score \xE2\x89\xA5 %.4g", bt);
    svg_text(b, lx, 168, "start", 11, "#222222", line);
    snprintf(line, sizeof line, "threshold in use: %.4g", threshold);
    svg_text(b, lx, 192, "start", 11, "#555555", line);
  }
  svg_end(b);
}
