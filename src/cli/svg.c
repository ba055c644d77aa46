/* A small SVG writer for the visual report: see svg.h. */
#include "svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the text buffer ---------------------------------------------- */

static int sb_reserve(struct sbuf *b, size_t more) {
  if (b->oom)
    return -1;
  if (b->len + more + 1 <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more + 1)
    cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = 1;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

void sb_putn(struct sbuf *b, const char *s, size_t n) {
  if (sb_reserve(b, n) != 0)
    return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void sb_puts(struct sbuf *b, const char *s) {
  sb_putn(b, s, strlen(s));
}

void sb_printf(struct sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  const int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n < sizeof small) {
    sb_putn(b, small, (size_t)n);
    return;
  }
  if (sb_reserve(b, (size_t)n) != 0)
    return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void sb_free(struct sbuf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

/* Length of the valid UTF-8 sequence at s (of at most n bytes) that XML
 * 1.0 accepts as a character, else 0. */
static size_t xml_char(const unsigned char *s, size_t n) {
  const unsigned c = s[0];
  if (c < 0x80)
    return (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') ? 1 : 0;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF)
    len = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4)
    len = 4, cp = c & 0x07;
  else
    return 0;
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
    return 0;
  return len;
}

static void esc_n(struct sbuf *b, const char *str, size_t max_chars) {
  if (!str)
    return;
  const unsigned char *s = (const unsigned char *)str;
  size_t n = strlen(str), chars = 0;
  /* Count characters first, to know whether a cut is needed. */
  size_t total = 0;
  for (size_t i = 0; i < n;) {
    const size_t q = xml_char(s + i, n - i);
    i += q ? q : 1;
    ++total;
  }
  const int cut = total > max_chars;
  const size_t keep = cut ? (max_chars > 1 ? max_chars - 1 : 0) : total;
  for (size_t i = 0; i < n && chars < keep; ++chars) {
    const size_t q = xml_char(s + i, n - i);
    if (q == 0) {
      sb_puts(b, "\xEF\xBF\xBD"); /* U+FFFD */
      ++i;
      continue;
    }
    switch (s[i]) {
    case '&':
      sb_puts(b, "&amp;");
      break;
    case '<':
      sb_puts(b, "&lt;");
      break;
    case '>':
      sb_puts(b, "&gt;");
      break;
    case '"':
      sb_puts(b, "&quot;");
      break;
    case '\'':
      sb_puts(b, "&#39;");
      break;
    default:
      sb_putn(b, str + i, q);
    }
    i += q;
  }
  if (cut)
    sb_puts(b, "\xE2\x80\xA6"); /* U+2026 */
}

void sb_esc(struct sbuf *b, const char *s) {
  esc_n(b, s, (size_t)-1);
}

void sb_esc_cut(struct sbuf *b, const char *s, size_t max_chars) {
  esc_n(b, s, max_chars);
}

/* ---- colors ------------------------------------------------------- */

const char *const svg_palette[SVG_N_COLORS] = {
    "#0072B2", /* blue */
    "#D55E00", /* vermillion */
    "#009E73", /* bluish green */
    "#CC79A7", /* reddish purple */
    "#E69F00", /* orange */
    "#56B4E9", /* sky blue */
    "#000000", /* black */
    "#F0E442", /* yellow */
};

const char *svg_dash(int i) {
  static const char *const d[] = {"", "6 3", "2 2", "8 3 2 3"};
  return d[(i / SVG_N_COLORS) % 4];
}

void svg_scale_color(double t, char *buf, int *dark) {
  if (!(t >= 0))
    t = 0;
  if (t > 1)
    t = 1;
  /* White to a dark blue through light blues (like ColorBrewer's Blues):
   * one hue, readable in grey and for color-blind readers. */
  static const double stops[5][3] = {{255, 255, 255},
                                     {198, 219, 239},
                                     {107, 174, 214},
                                     {33, 113, 181},
                                     {8, 48, 107}};
  const double u = t * 4;
  int i = (int)floor(u);
  if (i > 3)
    i = 3;
  const double f = u - i;
  int rgb[3];
  for (int c = 0; c < 3; ++c)
    rgb[c] = (int)lround(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]));
  snprintf(buf, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  if (dark)
    *dark = t > 0.55;
}

/* ---- elements ----------------------------------------------------- */

void svg_begin(struct sbuf *b, double width, double height, const char *title) {
  sb_printf(b,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
            "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"" SVG_FONT "\" font-size=\"12\" role=\"img\">\n",
            width, height, width, height);
  sb_puts(b, "<title>");
  sb_esc(b, title);
  sb_puts(b, "</title>\n");
  sb_printf(b,
            "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
            "fill=\"#ffffff\"/>\n",
            width, height);
  svg_text(b, 12, 20, "start", 14, "#222222", title);
}

void svg_end(struct sbuf *b) {
  sb_puts(b, "</svg>\n");
}

double svg_px(const struct svg_plot *p, double x) {
  double t;
  if (p->xlog)
    t = (log10(x) - log10(p->x0)) / (log10(p->x1) - log10(p->x0));
  else
    t = (x - p->x0) / (p->x1 - p->x0);
  if (!(t >= -0.02))
    t = -0.02;
  if (t > 1.02)
    t = 1.02;
  return p->x + t * p->w;
}

double svg_py(const struct svg_plot *p, double y) {
  double t;
  if (p->ylog)
    t = (log10(y) - log10(p->y0)) / (log10(p->y1) - log10(p->y0));
  else
    t = (y - p->y0) / (p->y1 - p->y0);
  if (!(t >= -0.02))
    t = -0.02;
  if (t > 1.02)
    t = 1.02;
  return p->y + p->h - t * p->h;
}

int svg_nice_ticks(double lo, double hi, int target, double *ticks, int max) {
  if (!(hi > lo) || !isfinite(lo) || !isfinite(hi) || target < 1)
    return 0;
  const double raw = (hi - lo) / target;
  const double mag = pow(10, floor(log10(raw)));
  const double r = raw / mag;
  const double step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
  int n = 0;
  for (double v = ceil(lo / step - 1e-9) * step;
       v <= hi + step * 1e-9 && n < max; v += step) {
    ticks[n++] = fabs(v) < step * 1e-9 ? 0.0 : v;
  }
  return n;
}

static void default_fmt(double v, double step, char *buf, size_t cap) {
  int decimals = 0;
  if (step > 0 && step < 1)
    decimals = (int)ceil(-log10(step) - 1e-9);
  snprintf(buf, cap, "%.*f", decimals, v);
}

/* 1, 10, 100, 1k, 10k, ... for log count axes. */
static void log_fmt(double v, char *buf, size_t cap) {
  static const char *const suffix[] = {"", "k", "M", "G", "T", "P"};
  int e = (int)lround(log10(v));
  if (e < 0) {
    snprintf(buf, cap, "%g", v);
    return;
  }
  int s = e / 3;
  if (s > 5)
    s = 5;
  snprintf(buf, cap, "%.0f%s", pow(10, e - 3 * s), suffix[s]);
}

static void axis_ticks(const struct svg_plot *p, int xaxis, svg_tick_fmt fmt) {
  struct sbuf *b = p->b;
  double ticks[64];
  int n = 0;
  const int lg = xaxis ? p->xlog : p->ylog;
  const double lo = xaxis ? p->x0 : p->y0, hi = xaxis ? p->x1 : p->y1;
  double step = 0;
  if (lg) {
    /* Every decade, or every second or third one on a short axis. */
    const double e0 = ceil(log10(lo) - 1e-9), e1 = log10(hi) + 1e-9;
    const double room = (xaxis ? p->w / 40 : p->h / 16);
    const double every = ceil((e1 - e0 + 1) / (room > 2 ? room : 2));
    for (double e = e0; e <= e1 && n<64; e += every> 1 ? every : 1)
      ticks[n++] = pow(10, e);
  } else {
    const double span = xaxis ? p->w : p->h;
    n = svg_nice_ticks(lo, hi, span < 200 ? 4 : 5, ticks, 64);
    step = n > 1 ? ticks[1] - ticks[0] : hi - lo;
  }
  for (int i = 0; i < n; ++i) {
    char label[32];
    if (lg)
      log_fmt(ticks[i], label, sizeof label);
    else if (fmt && xaxis)
      fmt(ticks[i], step, label, sizeof label);
    else
      default_fmt(ticks[i], step, label, sizeof label);
    if (xaxis) {
      const double x = svg_px(p, ticks[i]);
      svg_line(b, x, p->y, x, p->y + p->h, "#e3e3e3", 1, "");
      svg_line(b, x, p->y + p->h, x, p->y + p->h + 4, "#444444", 1, "");
      svg_text(b, x, p->y + p->h + 16, "middle", 11, "#333333", label);
    } else {
      const double y = svg_py(p, ticks[i]);
      svg_line(b, p->x, y, p->x + p->w, y, "#e3e3e3", 1, "");
      svg_line(b, p->x - 4, y, p->x, y, "#444444", 1, "");
      svg_text(b, p->x - 6, y + 4, "end", 11, "#333333", label);
    }
  }
}

void svg_axes(struct svg_plot *p, const char *xlabel, const char *ylabel,
              svg_tick_fmt x_fmt) {
  struct sbuf *b = p->b;
  axis_ticks(p, 1, x_fmt);
  axis_ticks(p, 0, NULL);
  sb_printf(b,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"none\" stroke=\"#444444\"/>\n",
            p->x, p->y, p->w, p->h);
  if (xlabel)
    svg_text(b, p->x + p->w / 2, p->y + p->h + 34, "middle", 12, "#222222",
             xlabel);
  if (ylabel) {
    const double x = p->x - 44, y = p->y + p->h / 2;
    sb_printf(b,
              "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
              "font-size=\"12\" fill=\"#222222\" "
              "transform=\"rotate(-90 %.1f %.1f)\">",
              x, y, x, y);
    sb_esc(b, ylabel);
    sb_puts(b, "</text>\n");
  }
}

void svg_line(struct sbuf *b, double x1, double y1, double x2, double y2,
              const char *color, double width, const char *dash) {
  sb_printf(b,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"%s\" stroke-width=\"%g\"",
            x1, y1, x2, y2, color, width);
  if (dash && *dash)
    sb_printf(b, " stroke-dasharray=\"%s\"", dash);
  sb_puts(b, "/>\n");
}

void svg_polyline(const struct svg_plot *p, const double *xs, const double *ys,
                  size_t n, const char *color, double width, const char *dash) {
  struct sbuf *b = p->b;
  if (n == 0)
    return;
  sb_puts(b, "<polyline points=\"");
  for (size_t i = 0; i < n; ++i)
    sb_printf(b, "%s%.1f,%.1f", i ? " " : "", svg_px(p, xs[i]),
              svg_py(p, ys[i]));
  sb_printf(b,
            "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%g\" "
            "stroke-linejoin=\"round\"",
            color, width);
  if (dash && *dash)
    sb_printf(b, " stroke-dasharray=\"%s\"", dash);
  sb_puts(b, "/>\n");
}

void svg_rect(struct sbuf *b, double x, double y, double w, double h,
              const char *fill, const char *stroke, const char *title) {
  sb_printf(b,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"%s\"",
            x, y, w > 0 ? w : 0, h > 0 ? h : 0, fill);
  if (stroke)
    sb_printf(b, " stroke=\"%s\" stroke-width=\"0.5\"", stroke);
  if (title) {
    sb_puts(b, "><title>");
    sb_esc(b, title);
    sb_puts(b, "</title></rect>\n");
  } else {
    sb_puts(b, "/>\n");
  }
}

void svg_text(struct sbuf *b, double x, double y, const char *anchor,
              double size, const char *fill, const char *text) {
  sb_printf(b,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%g\" "
            "fill=\"%s\">",
            x, y, anchor, size, fill);
  sb_esc(b, text);
  sb_puts(b, "</text>\n");
}

void svg_marker(const struct svg_plot *p, double x, double y, const char *color,
                const char *title) {
  sb_printf(p->b,
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#ffffff\" "
            "stroke=\"%s\" stroke-width=\"2\">",
            svg_px(p, x), svg_py(p, y), color);
  sb_puts(p->b, "<title>");
  sb_esc(p->b, title);
  sb_puts(p->b, "</title></circle>\n");
}

void svg_legend(struct sbuf *b, double x, double y, size_t n,
                const char *const *colors, const char *const *dashes,
                const char *const *labels) {
  for (size_t i = 0; i < n; ++i) {
    const double yy = y + 18.0 * (double)i;
    svg_line(b, x, yy - 4, x + 22, yy - 4, colors[i], 2.5,
             dashes ? dashes[i] : "");
    svg_text(b, x + 28, yy, "start", 11, "#222222", labels[i]);
  }
}
