/* Report writers of `clmetrics multilabel`: text table, JSON, warnings. */
#include "cli_multilabel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cli_warn_multilabel_undefined(const clm_multilabel_result *r, char **names,
                                   clm_zero_division zd) {
  const char *as = cli_zero_division_name(zd);
  static const struct {
    unsigned bit;
    const char *what, *why;
  } kinds[] = {
      {CLM_UNDEF_PRECISION, "precision", "nothing predicted"},
      {CLM_UNDEF_RECALL, "recall", "no true cells"},
      {CLM_UNDEF_F1, "F1", "no true and no predicted cells"},
      {CLM_UNDEF_JACCARD, "Jaccard", "no true and no predicted cells"}};
  for (size_t q = 0; q < sizeof kinds / sizeof *kinds; ++q) {
    char list[512] = "";
    size_t len = 0;
    uint32_t count = 0;
    for (uint32_t c = 0; c < r->n_labels; ++c) {
      if (!(r->labels[c].undefined & kinds[q].bit))
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
      cli_warning("%s is undefined (%s) for %u label%s: %s%s; reported as %s "
                  "(--zero-division)",
                  kinds[q].what, kinds[q].why, count, count == 1 ? "" : "s",
                  list, count > 20 ? ", ..." : "", as);
    if (r->samples_undefined & kinds[q].bit)
      cli_warning("%s is undefined (%s) for some rows; their samples-average "
                  "value is %s (--zero-division)",
                  kinds[q].what, kinds[q].why, as);
  }
}

/* ---- ordering of the per-label table ---- */
static const clm_multilabel_result *sort_res;
static int by_support(const void *pa, const void *pb) {
  const uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
  const double sa = sort_res->labels[a].support_weight,
               sb = sort_res->labels[b].support_weight;
  if (sa != sb)
    return sa > sb ? -1 : 1;
  return a < b ? -1 : a > b;
}
static int by_f1(const void *pa, const void *pb) {
  const uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
  double fa = sort_res->labels[a].f1, fb = sort_res->labels[b].f1;
  /* NaN (undefined under --zero-division nan) last. */
  if (isnan(fa) != isnan(fb))
    return isnan(fa) ? 1 : -1;
  if (!isnan(fa) && fa != fb)
    return fa < fb ? -1 : 1;
  return a < b ? -1 : a > b;
}

/* Label indices in table order; NULL when out of memory. */
static uint32_t *table_order(const struct cli_multilabel_args *a,
                             const clm_multilabel_result *r) {
  uint32_t *order = malloc((size_t)r->n_labels * sizeof *order);
  if (!order)
    return NULL;
  for (uint32_t c = 0; c < r->n_labels; ++c)
    order[c] = c;
  enum cli_ml_sort s = a->sort;
  if (s == CLI_ML_SORT_DEFAULT)
    s = r->n_labels > CLI_ML_TABLE_ROWS ? CLI_ML_SORT_SUPPORT
                                        : CLI_ML_SORT_LABEL;
  sort_res = r;
  if (s == CLI_ML_SORT_SUPPORT)
    qsort(order, r->n_labels, sizeof *order, by_support);
  else if (s == CLI_ML_SORT_F1)
    qsort(order, r->n_labels, sizeof *order, by_f1);
  return order;
}

static int has_ranking(const struct cli_multilabel_run *run) {
  return run->has_ranking && run->rank_labels.classes;
}

/* The micro ROC-AUC / AP: also without the per-label pass. */
static int has_micro(const struct cli_multilabel_run *run) {
  return run->has_ranking && run->rank_micro.classes;
}

static void text_averages(FILE *f, const char *name,
                          const clm_average_metrics *m, double jaccard) {
  fprintf(f, "  %-10s %9.6f %9.6f %9.6f %9.6f\n", name, m->precision, m->recall,
          m->f1, jaccard);
}

void cli_print_multilabel_text(FILE *f, const struct cli_multilabel_args *a,
                               const struct cli_multilabel_run *run) {
  const clm_multilabel_result *r = &run->res;
  cli_print_device(f, run->ctx);
  fprintf(f, "multilabel: %llu rows x %u labels (%llu cells)%s\n\n",
          (unsigned long long)r->n, r->n_labels,
          (unsigned long long)(r->n * r->n_labels),
          r->weighted ? ", sample-weighted" : "");
  fprintf(f, "  %-10s %9s %9s %9s %9s\n", "average", "precision", "recall",
          "f1", "jaccard");
  text_averages(f, "micro", &r->micro, r->jaccard_micro);
  text_averages(f, "macro", &r->macro, r->jaccard_macro);
  text_averages(f, "weighted", &r->weighted_avg, r->jaccard_weighted);
  text_averages(f, "samples", &r->samples, r->jaccard_samples);
  fprintf(f, "\n  subset accuracy (exact match)  %.6f\n", r->subset_accuracy);
  fprintf(f, "  hamming loss                   %.6f\n", r->hamming_loss);
  if (r->has_scores)
    fprintf(f, "  BCE mean (all cells)           %.6f\n", r->bce_mean);
  if (r->label_ranking) {
    fprintf(f, "  coverage error                 %.6f\n", r->coverage_error);
    fprintf(f, "  label ranking avg precision    %.6f\n",
            r->label_ranking_average_precision);
    fprintf(f, "  label ranking loss             %.6f\n",
            r->label_ranking_loss);
  }
  if (has_micro(run)) {
    const clm_ranking_result *q = &run->rank_labels;
    const clm_ranking_class *m = run->rank_micro.classes;
    const int pl = has_ranking(run);
    fprintf(f,
            "  ROC-AUC micro / macro / weighted / samples   %.6f %.6f "
            "%.6f %.6f\n",
            m->roc_auc, pl ? q->roc_auc_macro : NAN,
            pl ? q->roc_auc_weighted : NAN, r->roc_auc_samples);
    fprintf(f,
            "  average precision micro / macro / weighted   %.6f %.6f "
            "%.6f\n",
            m->average_precision, pl ? q->average_precision_macro : NAN,
            pl ? q->average_precision_weighted : NAN);
    if (run->rank_interval) { /* from merged saved states */
      cli_ranking_text_interval(f, q, "ROC-AUC micro", m->roc_auc_lo,
                                m->roc_auc_hi);
      cli_ranking_text_interval(f, q, "AP micro", m->average_precision_lo,
                                m->average_precision_hi);
    }
  }
  uint32_t *order = table_order(a, r);
  if (!order)
    return;
  const uint32_t shown = a->all_labels || r->n_labels <= CLI_ML_TABLE_ROWS
                             ? r->n_labels
                             : CLI_ML_TABLE_ROWS;
  fprintf(f, "\n  %-16s %9s %9s %9s %12s", "label", "precision", "recall", "f1",
          "support");
  if (r->has_scores)
    fprintf(f, " %9s", "bce");
  if (has_ranking(run))
    fprintf(f, " %9s %9s", "roc_auc", "ap");
  fputc('\n', f);
  for (uint32_t i = 0; i < shown; ++i) {
    const uint32_t c = order[i];
    const clm_multilabel_label *m = &r->labels[c];
    char name[64];
    cli_class_name(run->names, c, name, 17);
    fprintf(f, "  %-16s %9.6f %9.6f %9.6f %12.10g", name, m->precision,
            m->recall, m->f1, m->support_weight);
    if (r->has_scores)
      fprintf(f, " %9.6f", m->bce_mean);
    if (has_ranking(run))
      fprintf(f, " %9.6f %9.6f", run->rank_labels.classes[c].roc_auc,
              run->rank_labels.classes[c].average_precision);
    fputc('\n', f);
  }
  if (shown < r->n_labels)
    fprintf(f, "  ... %u more labels (%s; --all-labels shows every label)\n",
            r->n_labels - shown,
            a->sort == CLI_ML_SORT_F1      ? "worst F1 first"
            : a->sort == CLI_ML_SORT_LABEL ? "in label order"
                                           : "largest support first");
  free(order);
  fprintf(f, "\n  time: startup %.3f s, compute %.3f s, total %.3f s\n",
          clm_context_startup_seconds(run->ctx), run->compute_s, run->total_s);
}

static void json_avg(struct json *j, const char *key,
                     const clm_average_metrics *m) {
  json_object_open(j, key);
  json_number(j, "precision", m->precision);
  json_number(j, "recall", m->recall);
  json_number(j, "f1", m->f1);
  json_object_close(j);
}

/* A cell as an integer count, or its weight sum when weighted. */
static void json_cell(struct json *j, const char *key, int weighted,
                      uint64_t count, double weight) {
  if (weighted)
    json_number(j, key, weight);
  else
    json_u64(j, key, count);
}

static void json_per_label(struct json *j,
                           const struct cli_multilabel_run *run) {
  const clm_multilabel_result *r = &run->res;
  const int w = r->weighted;
  json_array_open(j, "per_label");
  for (uint32_t c = 0; c < r->n_labels; ++c) {
    const clm_multilabel_label *m = &r->labels[c];
    json_object_open(j, NULL);
    json_u64(j, "label", c);
    if (run->names)
      json_string(j, "name", run->names[c]);
    json_cell(j, "tp", w, m->tp, m->w_tp);
    json_cell(j, "fp", w, m->fp, m->w_fp);
    json_cell(j, "tn", w, m->tn, m->w_tn);
    json_cell(j, "fn", w, m->fn, m->w_fn);
    json_number(j, "precision", m->precision);
    json_number(j, "recall", m->recall);
    json_number(j, "f1", m->f1);
    json_number(j, "jaccard", m->jaccard);
    json_cell(j, "support", w, m->support, m->support_weight);
    if (w) {
      json_object_open(j, "counts");
      json_u64(j, "tp", m->tp);
      json_u64(j, "fp", m->fp);
      json_u64(j, "tn", m->tn);
      json_u64(j, "fn", m->fn);
      json_object_close(j);
    }
    if (r->has_scores)
      json_number(j, "bce_mean", m->bce_mean);
    if (has_ranking(run)) {
      json_number(j, "roc_auc", run->rank_labels.classes[c].roc_auc);
      json_number(j, "average_precision",
                  run->rank_labels.classes[c].average_precision);
      if (run->rank_interval)
        cli_ranking_json_class_interval(j, &run->rank_labels.classes[c]);
    }
    json_object_close(j);
  }
  json_array_close(j);
}

/* scikit-learn's multilabel_confusion_matrix: per label [[tn, fp], [fn,
 * tp]]. */
static void json_mcm(struct json *j, const clm_multilabel_result *r) {
  json_array_open(j, "multilabel_confusion_matrix");
  for (uint32_t c = 0; c < r->n_labels; ++c) {
    const clm_multilabel_label *m = &r->labels[c];
    json_array_open(j, NULL);
    json_array_open(j, NULL);
    json_cell(j, NULL, r->weighted, m->tn, m->w_tn);
    json_cell(j, NULL, r->weighted, m->fp, m->w_fp);
    json_array_close(j);
    json_array_open(j, NULL);
    json_cell(j, NULL, r->weighted, m->fn, m->w_fn);
    json_cell(j, NULL, r->weighted, m->tp, m->w_tp);
    json_array_close(j);
    json_array_close(j);
  }
  json_array_close(j);
}

/* Labels whose `bit` is undefined, by index. */
static void json_undefined_labels(struct json *j, const char *key,
                                  const clm_multilabel_result *r,
                                  unsigned bit) {
  json_array_open(j, key);
  for (uint32_t c = 0; c < r->n_labels; ++c)
    if (r->labels[c].undefined & bit)
      json_u64(j, NULL, c);
  json_array_close(j);
}

void cli_print_multilabel_json(FILE *f, const struct cli_multilabel_args *a,
                               const struct cli_multilabel_run *run) {
  const clm_multilabel_result *r = &run->res;
  struct json j;
  json_begin(&j, f);
  json_string(&j, "task", "multilabel");
  json_u64(&j, "n", r->n);
  json_u64(&j, "labels", r->n_labels);
  json_u64(&j, "cells", r->n * r->n_labels);
  json_bool(&j, "sample_weighted", r->weighted);
  json_number(&j, "weight_sum", r->weight_sum);
  json_string(&j, "zero_division", cli_zero_division_name(a->zd));
  if (r->has_scores) {
    json_string(&j, "scores_kind",
                a->kind == CLM_SCORES_PROBS ? "probs" : "logits");
    if (run->thresholds) {
      json_array_open(&j, "thresholds");
      for (uint32_t c = 0; c < r->n_labels; ++c)
        json_number(&j, NULL, run->thresholds[c]);
      json_array_close(&j);
    } else {
      json_number(&j, "threshold", a->threshold);
    }
  }
  json_per_label(&j, run);
  json_avg(&j, "micro", &r->micro);
  json_avg(&j, "macro", &r->macro);
  json_avg(&j, "weighted", &r->weighted_avg);
  json_avg(&j, "samples", &r->samples);
  json_number(&j, "subset_accuracy", r->subset_accuracy);
  json_number(&j, "hamming_loss", r->hamming_loss);
  json_object_open(&j, "jaccard");
  json_number(&j, "samples", r->jaccard_samples);
  json_number(&j, "macro", r->jaccard_macro);
  json_number(&j, "micro", r->jaccard_micro);
  json_number(&j, "weighted", r->jaccard_weighted);
  json_object_close(&j);
  if (r->has_scores) {
    json_object_open(&j, "loss");
    json_number(&j, "bce_mean", r->bce_mean);
    json_object_close(&j);
  }
  if (r->label_ranking) {
    json_number(&j, "coverage_error", r->coverage_error);
    json_number(&j, "label_ranking_average_precision",
                r->label_ranking_average_precision);
    json_number(&j, "label_ranking_loss", r->label_ranking_loss);
  }
  if (has_micro(run)) {
    /* macro and weighted only once the per-label pass has run. */
    const clm_ranking_result *q = &run->rank_labels;
    const clm_ranking_class *m = run->rank_micro.classes;
    const int pl = has_ranking(run);
    json_object_open(&j, "roc_auc");
    json_number(&j, "micro", m->roc_auc);
    if (pl) {
      json_number(&j, "macro", q->roc_auc_macro);
      json_number(&j, "weighted", q->roc_auc_weighted);
    }
    if (run->rank_interval) { /* from merged saved states */
      json_array_open(&j, "micro_interval");
      json_number(&j, NULL, m->roc_auc_lo);
      json_number(&j, NULL, m->roc_auc_hi);
      json_array_close(&j);
      cli_ranking_json_avg_interval(&j, q, 1);
    }
    if (r->label_ranking)
      json_number(&j, "samples", r->roc_auc_samples);
    json_object_close(&j);
    json_object_open(&j, "average_precision");
    json_number(&j, "micro", m->average_precision);
    if (pl) {
      json_number(&j, "macro", q->average_precision_macro);
      json_number(&j, "weighted", q->average_precision_weighted);
    }
    if (run->rank_interval) {
      json_array_open(&j, "micro_interval");
      json_number(&j, NULL, m->average_precision_lo);
      json_number(&j, NULL, m->average_precision_hi);
      json_array_close(&j);
      cli_ranking_json_avg_interval(&j, q, 0);
    }
    json_object_close(&j);
    if (run->rank_interval)
      json_bool(&j, "ranking_exact", q->exact && run->rank_micro.exact);
  }
  if (r->n_labels <= CLI_ML_MCM_MAX || a->full)
    json_mcm(&j, r);
  json_object_open(&j, "undefined");
  json_undefined_labels(&j, "precision", r, CLM_UNDEF_PRECISION);
  json_undefined_labels(&j, "recall", r, CLM_UNDEF_RECALL);
  json_undefined_labels(&j, "f1", r, CLM_UNDEF_F1);
  json_undefined_labels(&j, "jaccard", r, CLM_UNDEF_JACCARD);
  json_array_open(&j, "samples");
  if (r->samples_undefined & CLM_UNDEF_PRECISION)
    json_string(&j, NULL, "precision");
  if (r->samples_undefined & CLM_UNDEF_RECALL)
    json_string(&j, NULL, "recall");
  if (r->samples_undefined & CLM_UNDEF_F1)
    json_string(&j, NULL, "f1");
  if (r->samples_undefined & CLM_UNDEF_JACCARD)
    json_string(&j, NULL, "jaccard");
  json_array_close(&j);
  json_object_close(&j);
  cli_json_device(&j, run->ctx);
  cli_json_timing(&j, clm_context_startup_seconds(run->ctx), run->compute_s,
                  run->total_s, NULL);
  json_end(&j);
}
