/* The visual report's options, the page around the figures (CSS, facts,
 * metric cards, the sortable table) and the files: each written under a
 * temporary name and renamed when complete, as the other outputs are. */
#include "cli_ranking.h"
#include "report_html.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- options ------------------------------------------------------ */

const char cli_report_help[] =
    "  --html FILE.html       write a visual report: one self-contained page\n"
    "                         (inline SVG and CSS, nothing fetched) with the\n"
    "                         metrics, confusion matrix, ROC and PR curves,\n"
    "                         reliability diagram, score histograms and a\n"
    "                         sortable table\n"
    "  --svg-dir DIR          write each figure as its own SVG file into DIR\n"
    "                         (created when absent)\n";

int cli_report_flag(int argc, char **argv, int *i, const char *cmd,
                    int take_full, struct cli_report_args *a) {
  const char *arg = argv[*i];
  if (take_full && strcmp(arg, "--full") == 0) {
    a->full = 1;
    return -1;
  }
  static const char *const with_value[] = {"--html", "--svg-dir", NULL};
  if (strcmp(arg, "--html") != 0 && strcmp(arg, "--svg-dir") != 0)
    return 0;
  const char *v = NULL;
  const int rc = cli_take_value(argc, argv, i, with_value, cmd, &v);
  if (rc >= 0)
    return rc;
  if (!*v)
    return cli_usage_error(cmd, "%s needs a non-empty path", arg);
  if (strcmp(arg, "--html") == 0)
    a->html = v;
  else
    a->svg_dir = v;
  return -1;
}

int cli_report_wanted(const struct cli_report_args *a) {
  return a->html || a->svg_dir;
}

/* Every figure file any page may write into --svg-dir. */
static const char *const fig_files[] = {
    "confusion.svg", "confused-pairs.svg", "roc.svg",       "pr.svg",
    "threshold.svg", "reliability.svg",    "histogram.svg", NULL};

/* DIR/name into buf; NULL when it does not fit. */
static const char *fig_path(const char *dir, const char *name, char *buf,
                            size_t cap) {
  const size_t dl = strlen(dir);
  const int slash = dl > 0 && dir[dl - 1] == '/';
  const int n = snprintf(buf, cap, "%s%s%s", dir, slash ? "" : "/", name);
  return n > 0 && (size_t)n < cap ? buf : NULL;
}

int cli_report_check(const struct cli_report_args *a,
                     const struct cli_file *inputs, size_t n_in,
                     const struct cli_file *outputs, size_t n_out) {
  if (!cli_report_wanted(a))
    return -1;
  /* cli_check_outputs compares at most 8 outputs: check each of ours
   * against the inputs and up to 6 others (the command's own were checked
   * already), the page among them. */
  struct cli_file outs[8];
  size_t m = 0;
  for (size_t o = 0; o < n_out && m < 6; ++o)
    if (outputs[o].path)
      outs[m++] = outputs[o];
  int rc = -1;
  if (a->html) {
    outs[m] = (struct cli_file){"--html", a->html};
    rc = cli_check_outputs(inputs, n_in, outs, m + 1);
    ++m;
  }
  for (const char *const *f = fig_files; a->svg_dir && *f && rc < 0; ++f) {
    char path[4096];
    if (!fig_path(a->svg_dir, *f, path, sizeof path)) {
      cli_error("--svg-dir %s: path too long", a->svg_dir);
      return CLI_EXIT_USAGE;
    }
    outs[m] = (struct cli_file){"--svg-dir", path};
    rc = cli_check_outputs(inputs, n_in, outs, m + 1);
  }
  return rc;
}

/* ---- page pieces -------------------------------------------------- */

struct sbuf *report_fig_begin(struct report_page *p, const char *file) {
  if (p->n_figs >= REPORT_MAX_FIGS)
    return NULL;
  snprintf(p->figs[p->n_figs].file, sizeof p->figs[p->n_figs].file, "%s", file);
  return &p->figs[p->n_figs++].svg;
}

void report_fig_place(struct report_page *p, const char *caption) {
  if (p->n_figs == 0)
    return;
  const struct sbuf *s = &p->figs[p->n_figs - 1].svg;
  sb_puts(&p->body, "<figure>\n");
  if (s->p)
    sb_putn(&p->body, s->p, s->len);
  if (caption) {
    sb_puts(&p->body, "<figcaption>");
    sb_esc(&p->body, caption);
    sb_puts(&p->body, "</figcaption>\n");
  }
  sb_puts(&p->body, "</figure>\n");
}

void report_section(struct report_page *p, const char *title) {
  sb_puts(&p->body, "<h2>");
  sb_esc(&p->body, title);
  sb_puts(&p->body, "</h2>\n");
}

void report_note(struct report_page *p, const char *text) {
  sb_puts(&p->body, "<p class=\"note\">");
  sb_esc(&p->body, text);
  sb_puts(&p->body, "</p>\n");
}

void report_missing(struct report_page *p, const char *text) {
  sb_puts(&p->body, "<p class=\"missing\"><strong>Not shown:</strong> ");
  sb_esc(&p->body, text);
  sb_puts(&p->body, "</p>\n");
}

void report_cards_begin(struct report_page *p) {
  sb_puts(&p->body, "<div class=\"cards\">\n");
}

void report_card(struct report_page *p, const char *name, double v) {
  sb_puts(&p->body, "<div class=\"card\"><div class=\"v\">");
  if (isnan(v))
    sb_puts(&p->body, "undefined");
  else if (isinf(v))
    sb_puts(&p->body, v > 0 ? "\xE2\x88\x9E" : "\xE2\x88\x92\xE2\x88\x9E");
  else
    sb_printf(&p->body, "%.4f", v);
  sb_puts(&p->body, "</div><div class=\"k\">");
  sb_esc(&p->body, name);
  sb_puts(&p->body, "</div></div>\n");
}

void report_cards_end(struct report_page *p) {
  sb_puts(&p->body, "</div>\n");
}

void report_facts_begin(struct report_page *p) {
  sb_puts(&p->body, "<table class=\"facts\"><tbody>\n");
}

void report_fact(struct report_page *p, const char *key, const char *value) {
  sb_puts(&p->body, "<tr><th>");
  sb_esc(&p->body, key);
  sb_puts(&p->body, "</th><td>");
  sb_esc(&p->body, value);
  sb_puts(&p->body, "</td></tr>\n");
}

void report_factf(struct report_page *p, const char *key, const char *fmt,
                  ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  report_fact(p, key, buf);
}

void report_facts_end(struct report_page *p) {
  sb_puts(&p->body, "</tbody></table>\n");
}

void report_fact_run(struct report_page *p, const clm_context *ctx,
                     double startup_s, double compute_s, double total_s,
                     const struct cli_ranking_out *ranking) {
  if (ctx) {
    const clm_device_info *dev = clm_context_device(ctx);
    struct sbuf s = {0};
    sb_printf(&s, "%s / %s (%s)", dev->platform, dev->name, dev->type);
    report_fact(p, "device", s.p ? s.p : "");
    sb_free(&s);
  }
  report_factf(p, "time", "start-up %.3f s, compute %.3f s, total %.3f s",
               startup_s, compute_s, total_s);
  if (ranking && ranking->done && ranking->interval) {
    /* Merged streaming counts: say how close to exact the values are. */
    const clm_ranking_result *q = &ranking->result;
    if (q->k == 1 && q->classes)
      report_factf(p, "ranking",
                   "from counts per score prefix (%s): ROC-AUC in [%.6f, "
                   "%.6f], average precision in [%.6f, %.6f]",
                   q->exact ? "exact" : "certified intervals",
                   q->classes[0].roc_auc_lo, q->classes[0].roc_auc_hi,
                   q->classes[0].average_precision_lo,
                   q->classes[0].average_precision_hi);
    else
      report_factf(p, "ranking", "from counts per score prefix: %s",
                   q->exact ? "exact" : "certified intervals (in the JSON)");
  } else if (ranking && ranking->done) {
    report_factf(p, "ranking",
                 "%.3f s of the compute, %u passes over the data, %.1f MiB",
                 ranking->seconds, (unsigned)ranking->result.passes,
                 (double)ranking->result.memory_bytes / (1 << 20));
  }
  char when[64] = "";
  const time_t now = time(NULL);
  struct tm tm;
  if (gmtime_r(&now, &tm))
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
  report_factf(p, "generated", "%s by clmetrics %s", when, CLM_VERSION_STRING);
}

void report_table_begin(struct report_page *p, size_t n_cols,
                        const char *const *headers, unsigned text_cols) {
  sb_puts(&p->body, "<div class=\"tablewrap\"><table class=\"sortable\">"
                    "<thead><tr>");
  for (size_t c = 0; c < n_cols; ++c) {
    sb_puts(&p->body, (text_cols >> c) & 1 ? "<th scope=\"col\" class=\"t\">"
                                           : "<th scope=\"col\">");
    sb_esc(&p->body, headers[c]);
    sb_puts(&p->body, "</th>");
  }
  sb_puts(&p->body, "</tr></thead>\n<tbody>\n");
}

void report_row_begin(struct report_page *p) {
  sb_puts(&p->body, "<tr>");
}

void report_cell_text(struct report_page *p, const char *text) {
  sb_puts(&p->body, "<td class=\"t\">");
  sb_esc_cut(&p->body, text, 60);
  sb_puts(&p->body, "</td>");
}

void report_cell_num(struct report_page *p, double v, int decimals) {
  if (isnan(v))
    sb_puts(&p->body, "<td>\xE2\x80\x94</td>"); /* an em dash */
  else
    sb_printf(&p->body, "<td>%.*f</td>", decimals, v);
}

void report_cell_u64(struct report_page *p, uint64_t v) {
  sb_printf(&p->body, "<td>%llu</td>", (unsigned long long)v);
}

void report_row_end(struct report_page *p) {
  sb_puts(&p->body, "</tr>\n");
}

void report_table_end(struct report_page *p) {
  sb_puts(&p->body, "</tbody></table></div>\n");
}

void report_page_free(struct report_page *p) {
  sb_free(&p->body);
  for (int f = 0; f < p->n_figs; ++f)
    sb_free(&p->figs[f].svg);
  p->n_figs = 0;
}

/* ---- the whole page ----------------------------------------------- */

static const char css[] =
    "body{font-family:" SVG_FONT ";color:#222;margin:24px auto;"
    "max-width:1260px;padding:0 16px;line-height:1.4}\n"
    "h1{font-size:24px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;"
    "border-bottom:1px solid #ccc;padding-bottom:4px}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}\n"
    ".card{border:1px solid #ccc;border-radius:6px;padding:8px 12px;"
    "min-width:120px;background:#f7f9fb}\n"
    ".card .v{font-size:20px;font-weight:bold;font-variant-numeric:"
    "tabular-nums}.card .k{font-size:12px;color:#555}\n"
    "table{border-collapse:collapse;font-size:13px}\n"
    "table.facts th{text-align:left;padding:2px 16px 2px 0;color:#555;"
    "font-weight:normal;vertical-align:top}"
    "table.facts td{padding:2px 0;word-break:break-all}\n"
    ".figs{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}\n"
    "figure{margin:0;break-inside:avoid;page-break-inside:avoid}\n"
    "figure svg{max-width:100%;height:auto;display:block}\n"
    "figcaption{font-size:12px;color:#555;max-width:560px}\n"
    ".note{font-size:13px;color:#444}"
    ".missing{font-size:13px;background:#fff4e5;border-left:4px solid "
    "#E69F00;padding:6px 10px}\n"
    ".tablewrap{display:inline-block;max-width:100%;max-height:640px;"
    "overflow:auto;border:1px solid #ddd}\n"
    "table.sortable th,table.sortable td{padding:3px 8px;border-bottom:1px "
    "solid #eee;text-align:right;font-variant-numeric:tabular-nums}\n"
    "table.sortable td.t,table.sortable th.t{text-align:left}\n"
    "table.sortable th{position:sticky;top:0;background:#eef2f6;"
    "cursor:pointer;user-select:none}\n"
    "table.sortable th[aria-sort=ascending]::after{content:' \\25B2'}\n"
    "table.sortable th[aria-sort=descending]::after{content:' \\25BC'}\n"
    "@media print{.tablewrap{max-height:none;overflow:visible;border:none}"
    "body{margin:0;max-width:none}h2{break-after:avoid}}\n";

/* Click a column head to sort by it (numbers as numbers, a dash last);
 * the page reads the same without it. Kept inside a commented CDATA
 * section so the page also parses as XML. */
static const char script[] =
    "//<![CDATA[\n"
    "(function(){\n"
    "function key(td){var s=td.textContent.trim();var v=parseFloat(s);\n"
    "return isNaN(v)||!/^[-+0-9.]/.test(s)?{n:0,s:s}:{n:1,v:v};}\n"
    "function cmp(a,b){if(a.n!==b.n)return b.n-a.n;\n"
    "if(a.n)return a.v-b.v;return a.s.localeCompare(b.s);}\n"
    "var ts=document.querySelectorAll('table.sortable');\n"
    "Array.prototype.forEach.call(ts,function(t){\n"
    "var hs=t.tHead.rows[0].cells;\n"
    "Array.prototype.forEach.call(hs,function(th,i){\n"
    "th.tabIndex=0;th.title='click to sort';\n"
    "function go(){var desc=th.getAttribute('aria-sort')==='ascending';\n"
    "Array.prototype.forEach.call(hs,function(h){h.removeAttribute("
    "'aria-sort');});\n"
    "th.setAttribute('aria-sort',desc?'descending':'ascending');\n"
    "var b=t.tBodies[0];var rows=Array.prototype.slice.call(b.rows);\n"
    "rows.sort(function(x,y){var r=cmp(key(x.cells[i]),key(y.cells[i]));\n"
    "return desc?-r:r;});\n"
    "rows.forEach(function(r){b.appendChild(r);});}\n"
    "th.addEventListener('click',go);\n"
    "th.addEventListener('keydown',function(e){if(e.key==='Enter')go();});\n"
    "});});})();\n"
    "//]]>\n";

/* mkdir -p with mode 0755 for the missing levels. */
static int make_dirs(const char *dir) {
  char *path = strdup(dir);
  if (!path)
    return -1;
  int rc = 0;
  for (char *q = path + 1; rc == 0; ++q) {
    const int end = *q == '\0';
    if (*q == '/' || end) {
      *q = '\0';
      if (mkdir(path, 0755) != 0 && errno != EEXIST)
        rc = -1;
      if (end)
        break;
      *q = '/';
    }
  }
  free(path);
  struct stat st;
  if (rc == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
    errno = ENOTDIR;
    rc = -1;
  }
  return rc;
}

/* Appends the parts to an open output; -1 on success. */
static int put_parts(struct cli_output *o, const char *head,
                     const struct sbuf *s) {
  clm_error err;
  clm_status st = clm_npy_writer_append_bytes(o->w, head, strlen(head), &err);
  if (st == CLM_OK && s->p)
    st = clm_npy_writer_append_bytes(o->w, s->p, s->len, &err);
  if (st != CLM_OK) {
    cli_error("%s", err.message);
    return CLI_EXIT_ERROR;
  }
  return -1;
}

int report_write(const struct cli_report_args *a, struct report_page *p,
                 const char *title) {
  struct sbuf page = {0};
  sb_puts(&page, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\""
                 " lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
                 "<meta name=\"viewport\" content=\"width=device-width, "
                 "initial-scale=1\"/>\n<meta name=\"generator\" "
                 "content=\"clmetrics " CLM_VERSION_STRING "\"/>\n<title>");
  sb_esc(&page, title);
  sb_printf(&page, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", css);
  sb_esc(&page, title);
  sb_puts(&page, "</h1>\n");
  if (p->body.p)
    sb_putn(&page, p->body.p, p->body.len);
  sb_printf(&page, "<script>\n%s</script>\n</body>\n</html>\n", script);
  int oom = page.oom || p->body.oom;
  for (int f = 0; f < p->n_figs; ++f)
    oom |= p->figs[f].svg.oom;
  int rc = -1;
  if (oom) {
    cli_error("cannot allocate the visual report");
    rc = CLI_EXIT_ERROR;
  }
  /* Every file is written under a temporary name first and renamed only
   * when all are complete: a failure leaves no new file (the page is
   * opened first, so a bad --html path does not even create DIR). */
  struct cli_output outs[REPORT_MAX_FIGS + 1];
  memset(outs, 0, sizeof outs);
  char paths[REPORT_MAX_FIGS][4096];
  if (rc < 0 && a->html) {
    if (cli_output_open_text(&outs[0], "--html", a->html))
      rc = CLI_EXIT_ERROR;
    else
      rc = put_parts(&outs[0], "", &page);
  }
  int n_open = 1; /* outs[0]: the page, when there is one */
  if (rc < 0 && a->svg_dir && make_dirs(a->svg_dir) != 0) {
    cli_error("--svg-dir %s: cannot create the directory: %s", a->svg_dir,
              strerror(errno));
    rc = CLI_EXIT_ERROR;
  }
  for (int f = 0; rc < 0 && a->svg_dir && f < p->n_figs; ++f) {
    if (!fig_path(a->svg_dir, p->figs[f].file, paths[f], sizeof paths[f])) {
      cli_error("--svg-dir %s: path too long", a->svg_dir);
      rc = CLI_EXIT_ERROR;
      break;
    }
    if (cli_output_open_text(&outs[1 + f], "--svg-dir", paths[f])) {
      rc = CLI_EXIT_ERROR;
      break;
    }
    n_open = 2 + f;
    rc = put_parts(&outs[1 + f], "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                   &p->figs[f].svg);
  }
  for (int f = 0; f < n_open; ++f) {
    if (rc < 0 && cli_output_commit(&outs[f]))
      rc = CLI_EXIT_ERROR;
    cli_output_abort(&outs[f]); /* after a failure: removes the rest */
  }
  sb_free(&page);
  return rc;
}
