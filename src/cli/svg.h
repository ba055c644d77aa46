/* A small SVG writer for the visual report (svg.c): a growable text
 * buffer, XML escaping, plot areas with axes and ticks at 1-2-5 numbers,
 * lines, polylines, rectangles, text and a colorblind-safe palette. Every
 * string that may come from a user (class names, paths, device names)
 * goes through svg_esc, so the output is always well-formed XML. */
#ifndef CLM_CLI_SVG_H
#define CLM_CLI_SVG_H

#include <stddef.h>

/* Text that grows as it is written; `oom` is set (and stays set) when an
 * allocation failed, after which writes are dropped. */
struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
};
void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sb_puts(struct sbuf *b, const char *s);
void sb_putn(struct sbuf *b, const char *s, size_t n);
/* s as XML character data or attribute value: & < > " ' escaped, invalid
 * UTF-8 and characters XML 1.0 forbids (C0 controls but tab, LF, CR)
 * written as U+FFFD. NULL writes nothing. */
void sb_esc(struct sbuf *b, const char *s);
/* As sb_esc, cut to at most `max_chars` characters (an ellipsis marks a
 * cut). */
void sb_esc_cut(struct sbuf *b, const char *s, size_t max_chars);
void sb_free(struct sbuf *b);

/* Okabe-Ito colors, in the order curves take them (yellow, hard to see on
 * white, last). */
#define SVG_N_COLORS 8
extern const char *const svg_palette[SVG_N_COLORS];
/* Dash patterns that tell apart curves beyond the palette ("" solid). */
const char *svg_dash(int i);
/* A sequential white-to-blue scale for t in [0, 1], as "#rrggbb" into buf
 * (8 bytes); *dark is set when text on it should be white. */
void svg_scale_color(double t, char *buf, int *dark);

#define SVG_FONT "DejaVu Sans, Helvetica, Arial, sans-serif"

/* Opens a standalone <svg> element (its own namespace, size, viewBox and
 * font, so the same text works inline and as a file) with a <title> and a
 * heading at the top. */
void svg_begin(struct sbuf *b, double width, double height, const char *title);
void svg_end(struct sbuf *b);

/* A plot area: pixel box (x, y, w, h) and the data ranges shown in it. */
struct svg_plot {
  struct sbuf *b;
  double x, y, w, h;
  double x0, x1, y0, y1;
  int xlog, ylog; /* log10 axes (ranges must be > 0) */
};
double svg_px(const struct svg_plot *p, double x);
double svg_py(const struct svg_plot *p, double y);
/* Tick values at nice numbers (1, 2, 5 times a power of ten) covering
 * [lo, hi] with about `target` ticks; returns how many (at most max). */
int svg_nice_ticks(double lo, double hi, int target, double *ticks, int max);
/* Frame, grid, ticks and labels of both axes and their titles. x_fmt: a
 * function that formats an x tick (NULL: the default), e.g. sigma(t). */
typedef void (*svg_tick_fmt)(double v, double step, char *buf, size_t cap);
void svg_axes(struct svg_plot *p, const char *xlabel, const char *ylabel,
              svg_tick_fmt x_fmt);

void svg_line(struct sbuf *b, double x1, double y1, double x2, double y2,
              const char *color, double width, const char *dash);
/* n points in data coordinates, clipped to the plot's box. */
void svg_polyline(const struct svg_plot *p, const double *xs, const double *ys,
                  size_t n, const char *color, double width, const char *dash);
/* A rectangle; title (escaped, may be NULL) becomes its tooltip. */
void svg_rect(struct sbuf *b, double x, double y, double w, double h,
              const char *fill, const char *stroke, const char *title);
/* anchor: "start", "middle" or "end"; text is escaped. */
void svg_text(struct sbuf *b, double x, double y, const char *anchor,
              double size, const char *fill, const char *text);
/* A marker at a data point: a ring with a tooltip. */
void svg_marker(const struct svg_plot *p, double x, double y, const char *color,
                const char *title);

/* A legend: n entries of a color swatch (and dash) and a label, drawn from
 * (x, y) downwards. */
void svg_legend(struct sbuf *b, double x, double y, size_t n,
                const char *const *colors, const char *const *dashes,
                const char *const *labels);

#endif
