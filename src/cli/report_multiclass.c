/* The multi-class report: a classification report (with the confusion
 * matrix up to 20 classes) or one JSON object, and the warnings about
 * metrics that were 0/0 (shared by `multiclass` and `demo`). */
#include "cli_calibration.h"
#include "cli_ranking.h"

#include <math.h>
#include <string.h>

static void fmt(char *buf, size_t cap, double v) {
  if (isnan(v))
    snprintf(buf, cap, "nan");
  else
    snprintf(buf, cap, "%.4f", v);
}

/* Lists the classes whose metric was 0/0 in one warning per metric. */
void cli_warn_multiclass_undefined(const clm_multiclass_result *r, char **names,
                                   clm_zero_division zd) {
  const char *as = cli_zero_division_name(zd);
  static const struct {
    unsigned bit;
    const char *what, *why;
  } kinds[] = {{CLM_UNDEF_PRECISION, "precision", "no predicted samples"},
               {CLM_UNDEF_RECALL, "recall", "no true samples"},
               {CLM_UNDEF_F1, "F1", "no true or predicted samples"}};
  for (size_t q = 0; q < 3; ++q) {
    char list[512] = "";
    size_t len = 0;
    uint32_t count = 0;
    for (uint32_t c = 0; c < r->n_classes; ++c) {
      if (!(r->per_class[c].undefined & kinds[q].bit))
        continue;
      if (count < 20 && len < sizeof list - 64) {
        char name[64];
        cli_class_name(names, c, name, sizeof name);
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                count ? ", " : "", name);
      }
      ++count;
    }
    if (count)
      cli_warning("%s is undefined (%s) for %u class%s: %s%s; reported as %s "
                  "(--zero-division)",
                  kinds[q].what, kinds[q].why, count, count == 1 ? "" : "es",
                  list, count > 20 ? ", ..." : "", as);
  }
  if (r->undefined & CLM_UNDEF_MCC)
    cli_warning("MCC is undefined (all true or all predicted labels are one "
                "class); reported as %s (--zero-division)",
                as);
  if (r->undefined & CLM_UNDEF_KAPPA)
    cli_warning("Cohen's kappa is undefined (chance agreement is 1); "
                "reported as %s (--zero-division)",
                as);
}

/* Width of the name column: 12, or the longest name up to 40 bytes. */
static int name_width(char **names, uint32_t k) {
  int w = 12;
  for (uint32_t c = 0; names && c < k; ++c)
    if ((int)strlen(names[c]) > w)
      w = (int)strlen(names[c]) > 40 ? 40 : (int)strlen(names[c]);
  return w;
}

/* One row of the table: name, precision, recall, F1 and the support (a
 * count, or a sum of weights in weighted runs). */
static void print_row(FILE *f, int w, const char *name, double precision,
                      double recall, double f1, double support) {
  char a[32], b[32], d[32];
  fmt(a, sizeof a, precision);
  fmt(b, sizeof b, recall);
  fmt(d, sizeof d, f1);
  fprintf(f, "%*s %10s %10s %10s %12.10g\n", w, name, a, b, d, support);
}

/* The per-class rows, then accuracy and the three averages. */
static void print_table(FILE *f, const clm_multiclass_result *r, char **names,
                        int w) {
  fprintf(f, "%*s %10s %10s %10s %12s\n\n", w, "", "precision", "recall",
          "f1-score", "support");
  for (uint32_t c = 0; c < r->n_classes; ++c) {
    const clm_class_metrics *m = &r->per_class[c];
    char name[64];
    cli_class_name(names, c, name, (size_t)w + 1);
    print_row(f, w, name, m->precision, m->recall, m->f1,
              r->sample_weighted ? m->support_weight : (double)m->support);
  }
  fprintf(f, "\n");
  char a[32];
  fmt(a, sizeof a, r->accuracy);
  const double total = r->sample_weighted ? r->weight_sum : (double)r->n;
  fprintf(f, "%*s %10s %10s %10s %12.10g\n", w, "accuracy", "", "", a, total);
  const struct {
    const char *name;
    const clm_average_metrics *m;
  } avgs[] = {{"macro avg", &r->macro},
              {"weighted avg", &r->weighted},
              {"micro avg", &r->micro}};
  for (size_t q = 0; q < 3; ++q)
    print_row(f, w, avgs[q].name, avgs[q].m->precision, avgs[q].m->recall,
              avgs[q].m->f1, total);
  fprintf(f, "\n");
}

/* The single-number metrics under the table. */
static void print_summary(FILE *f, const clm_multiclass_result *r) {
  char a[32];
  fmt(a, sizeof a, r->balanced_accuracy);
  fprintf(f, "  balanced accuracy  %s\n", a);
  fmt(a, sizeof a, r->mcc);
  fprintf(f, "  MCC                %s\n", a);
  fmt(a, sizeof a, r->cohen_kappa);
  fprintf(f, "  Cohen's kappa      %s\n", a);
  if (r->has_loss)
    fprintf(f, "  cross-entropy      %.6g nats/sample\n",
            r->cross_entropy_mean);
  if (r->n_ignored)
    fprintf(f, "  ignored rows       %llu (--ignore-index)\n",
            (unsigned long long)r->n_ignored);
  if (r->top_k)
    fprintf(f, "  top-%u accuracy     %.4f\n", r->top_k, r->top_k_accuracy);
}

/* The K x K counts, columns as wide as the largest count needs (at least
 * 6), names cut to fit. */
static void print_confusion(FILE *f, const uint64_t *cm, char **names,
                            uint32_t k, int w) {
  fprintf(f, "\nconfusion matrix (rows: true class, columns: predicted)\n");
  int cw = 6;
  for (uint64_t q = 0; q < (uint64_t)k * k; ++q) {
    int len = snprintf(NULL, 0, "%llu", (unsigned long long)cm[q]);
    if (len + 1 > cw)
      cw = len + 1;
  }
  fprintf(f, "%*s", w, "");
  for (uint32_t c = 0; c < k; ++c) {
    char name[64];
    cli_class_name(names, c, name, (size_t)cw + 1);
    fprintf(f, " %*s", cw, name);
  }
  fprintf(f, "\n");
  for (uint32_t i = 0; i < k; ++i) {
    char name[64];
    cli_class_name(names, i, name, (size_t)w + 1);
    fprintf(f, "%*s", w, name);
    for (uint32_t j = 0; j < k; ++j)
      fprintf(f, " %*llu", cw, (unsigned long long)cm[(uint64_t)i * k + j]);
    fprintf(f, "\n");
  }
}

void cli_print_multiclass_text(FILE *f, const clm_multiclass_result *r,
                               const uint64_t *cm, char **names,
                               const clm_context *ctx, double startup_s,
                               double compute_s, double total_s,
                               const struct cli_ranking_out *ranking,
                               const struct cli_multiclass_extra *extra) {
  const uint32_t k = r->n_classes;
  const int w = name_width(names, k);
  fprintf(f, "multi-class evaluation: %llu samples, %u classes\n",
          (unsigned long long)r->n, k);
  cli_print_device(f, ctx);
  if (r->sample_weighted)
    fprintf(f,
            "sample weights: sum %.6g; metrics and supports below are "
            "weighted\n\n",
            r->weight_sum);
  print_table(f, r, names, w);
  print_summary(f, r);
  if (ranking) {
    const clm_ranking_result *q = &ranking->result;
    char a[32], b[32];
    fmt(a, sizeof a, q->roc_auc_macro);
    fmt(b, sizeof b, q->roc_auc_weighted);
    fprintf(f, "  ROC-AUC (OvR)      macro %s, weighted %s\n", a, b);
    fmt(a, sizeof a, q->average_precision_macro);
    fmt(b, sizeof b, q->average_precision_weighted);
    fprintf(f, "  average precision  macro %s, weighted %s\n", a, b);
    if (ranking->interval) { /* from merged saved states */
      double lo, hi;
      cli_ranking_avg_interval(q, 1, 0, &lo, &hi);
      cli_ranking_text_interval(f, q, "ROC-AUC macro", lo, hi);
      cli_ranking_avg_interval(q, 0, 0, &lo, &hi);
      cli_ranking_text_interval(f, q, "AP macro", lo, hi);
    }
  }
  if (extra && extra->calibration)
    cli_calibration_text(f, extra->calibration);
  if (k <= 20 && cm) /* larger matrices are for the JSON report */
    print_confusion(f, cm, names, k, w);
  char rate[32];
  cli_format_rate(compute_s > 0 ? (double)r->n / compute_s : NAN, rate,
                  sizeof rate);
  fprintf(f,
          "\ntiming: start-up %.3f s, compute %.3f s (%ssamples/s), "
          "total %.3f s\n",
          startup_s, compute_s, rate, total_s);
  if (ranking)
    fprintf(f,
            "ranking: %.3f s of the compute, %u passes over the data, "
            "%.1f MiB\n",
            ranking->seconds, (unsigned)ranking->result.passes,
            (double)ranking->result.memory_bytes / (1 << 20));
}

static void json_averages(struct json *j, const char *key,
                          const clm_average_metrics *m) {
  json_object_open(j, key);
  json_number(j, "precision", m->precision);
  json_number(j, "recall", m->recall);
  json_number(j, "f1", m->f1);
  json_object_close(j);
}

/* The K x K matrix: counts, or sums of weights when wcm is given. */
static void json_confusion(struct json *j, const char *key, const uint64_t *cm,
                           const double *wcm, uint32_t k) {
  json_array_open(j, key);
  for (uint32_t i = 0; i < k; ++i) {
    json_array_open(j, NULL);
    for (uint32_t c = 0; c < k; ++c)
      if (wcm)
        json_number(j, NULL, wcm[(uint64_t)i * k + c]);
      else
        json_u64(j, NULL, cm[(uint64_t)i * k + c]);
    json_array_close(j);
  }
  json_array_close(j);
}

static void json_per_class(struct json *j, const clm_multiclass_result *r,
                           char **names, const clm_ranking_result *q,
                           int interval) {
  json_array_open(j, "per_class");
  for (uint32_t c = 0; c < r->n_classes; ++c) {
    const clm_class_metrics *m = &r->per_class[c];
    json_object_open(j, NULL);
    json_u64(j, "label", c);
    if (names)
      json_string(j, "name", names[c]);
    json_number(j, "precision", m->precision);
    json_number(j, "recall", m->recall);
    json_number(j, "f1", m->f1);
    if (r->sample_weighted) {
      json_number(j, "support", m->support_weight);
      json_number(j, "predicted", m->predicted_weight);
      json_u64(j, "support_count", m->support);
      json_u64(j, "predicted_count", m->predicted);
    } else {
      json_u64(j, "support", m->support);
      json_u64(j, "predicted", m->predicted);
    }
    if (q) {
      json_number(j, "roc_auc", q->classes[c].roc_auc);
      json_number(j, "average_precision", q->classes[c].average_precision);
      if (interval)
        cli_ranking_json_class_interval(j, &q->classes[c]);
    }
    json_object_close(j);
  }
  json_array_close(j);
}

void cli_print_multiclass_json(FILE *f, const clm_multiclass_result *r,
                               const uint64_t *cm, char **names,
                               clm_zero_division zd, const clm_context *ctx,
                               double startup_s, double compute_s,
                               double total_s,
                               const struct cli_ranking_out *ranking,
                               const struct cli_multiclass_extra *extra) {
  const clm_ranking_result *q = ranking ? &ranking->result : NULL;
  const double *wcm = r->sample_weighted && extra ? extra->w_confusion : NULL;
  struct json j;
  json_begin(&j, f);
  json_string(&j, "task", "multiclass");
  json_u64(&j, "n", r->n);
  json_u64(&j, "classes", r->n_classes);
  json_bool(&j, "weighted", r->sample_weighted);
  if (r->sample_weighted)
    json_number(&j, "weight_sum", r->weight_sum);
  json_u64(&j, "ignored", r->n_ignored);
  /* Weighted runs: the matrix of sums of weights (scikit-learn's
   * confusion_matrix(sample_weight=)) and the counts beside it. */
  json_confusion(&j, "confusion_matrix", cm, wcm, r->n_classes);
  if (wcm)
    json_confusion(&j, "confusion_matrix_counts", cm, NULL, r->n_classes);
  const int interval = ranking && ranking->interval;
  json_per_class(&j, r, names, q, interval);
  json_number(&j, "accuracy", r->accuracy);
  json_number(&j, "balanced_accuracy", r->balanced_accuracy);
  json_number(&j, "mcc", r->mcc);
  json_number(&j, "cohen_kappa", r->cohen_kappa);
  json_averages(&j, "macro", &r->macro);
  json_averages(&j, "micro", &r->micro);
  json_averages(&j, "weighted", &r->weighted);
  if (r->has_loss) {
    const clm_multiclass_state *s = extra ? extra->state : NULL;
    json_object_open(&j, "loss");
    json_number(&j, "cross_entropy_mean", r->cross_entropy_mean);
    json_number(&j, "cross_entropy_sum", r->cross_entropy_sum);
    json_number(&j, "normalizer", r->cross_entropy_norm);
    if (s) {
      json_number(&j, "label_smoothing", s->label_smoothing);
      json_bool(&j, "class_weights", s->class_weight != NULL);
      if (s->has_ignore_index)
        json_number(&j, "ignore_index", s->ignore_index);
    }
    json_object_close(&j);
  }
  if (r->top_k) {
    json_u64(&j, "top_k", r->top_k);
    json_number(&j, "top_k_accuracy", r->top_k_accuracy);
  }
  if (q) {
    json_object_open(&j, "roc_auc");
    json_number(&j, "macro", q->roc_auc_macro);
    json_number(&j, "weighted", q->roc_auc_weighted);
    if (interval)
      cli_ranking_json_avg_interval(&j, q, 1);
    json_object_close(&j);
    json_object_open(&j, "average_precision");
    json_number(&j, "macro", q->average_precision_macro);
    json_number(&j, "weighted", q->average_precision_weighted);
    if (interval)
      cli_ranking_json_avg_interval(&j, q, 0);
    json_object_close(&j);
    if (interval)
      cli_ranking_json_exact(&j, q);
  }
  if (extra && extra->calibration)
    cli_calibration_json(&j, extra->calibration);
  json_string(&j, "zero_division", cli_zero_division_name(zd));
  cli_json_device(&j, ctx);
  cli_json_timing(&j, startup_s, compute_s, total_s, ranking);
  json_end(&j);
}
