/* What the visual report of each command holds: the headline metrics and
 * the run's facts, then the figures the run has data for, a note naming
 * what is missing, and the per-class (per-label) table. */
#include "cli_calibration.h"
#include "cli_multilabel.h"
#include "cli_ranking.h"
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double ratio(double num, double den) {
  return den > 0 ? num / den : NAN;
}

static void figs_begin(struct report_page *p) {
  sb_puts(&p->body, "<div class=\"figs\">\n");
}

static void figs_end(struct report_page *p) {
  sb_puts(&p->body, "</div>\n");
}

static const char *kind_name(clm_scores_kind kind) {
  return kind == CLM_SCORES_PROBS ? "probabilities" : "logits";
}

/* A curve's name: the class's (cut to fit, never inside a UTF-8
 * sequence). */
static void curve_name(struct report_curve *c, char **names, uint32_t k) {
  cli_class_name(names, k, c->name, sizeof c->name);
}

/* Rows of the per-class table: every class in order, or the `cap` largest
 * by support; returns how many went into `out`. */
static const double *row_key;
static int by_support_desc(const void *a, const void *b) {
  const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  if (row_key[x] != row_key[y])
    return row_key[x] > row_key[y] ? -1 : 1;
  return x < y ? -1 : x > y;
}
static uint32_t table_rows(uint32_t k, const double *support, int full,
                           uint32_t *out) {
  for (uint32_t c = 0; c < k; ++c)
    out[c] = c;
  if (full || k <= CLI_REPORT_TABLE_ROWS)
    return k;
  row_key = support;
  qsort(out, k, sizeof *out, by_support_desc);
  return CLI_REPORT_TABLE_ROWS;
}

static void table_note(struct report_page *p, uint32_t shown, uint32_t k,
                       const char *what) {
  char note[256];
  if (shown < k)
    snprintf(note, sizeof note,
             "The table shows the %u %s with the largest support of %u "
             "(--full shows every one). Click a column head to sort.",
             shown, what, k);
  else
    snprintf(note, sizeof note, "Click a column head to sort.");
  report_note(p, note);
}

/* The ROC and PR figures of n picked curves, with their captions. */
static void curve_figs(struct report_page *p, const struct report_curve *c,
                       size_t n, const char *subset, const char *op) {
  char cap[512];
  figs_begin(p);
  snprintf(cap, sizeof cap,
           "ROC curves from the exact ranking's curve points; AUC in the "
           "legend. %s%s The dashed diagonal is chance.",
           subset, op);
  report_fig_roc(p, c, n, cap);
  snprintf(cap, sizeof cap,
           "Precision-recall curves (steps, as average precision sums them); "
           "AP in the legend. %s%s",
           subset, op);
  report_fig_pr(p, c, n, cap);
  figs_end(p);
}

/* ---- binary ------------------------------------------------------- */

int cli_report_binary(const struct cli_report_args *a,
                      const struct cli_binary_report *rep) {
  if (!cli_report_wanted(a))
    return -1;
  const clm_binary_result *r = rep->result;
  const clm_ranking_class *rk = rep->ranking && rep->ranking->done
                                    ? &rep->ranking->result.classes[0]
                                    : NULL;
  const clm_calibration_result *cal = rep->calibration && rep->calibration->done
                                          ? &rep->calibration->result
                                          : NULL;
  struct report_page p = {0};
  report_cards_begin(&p);
  report_card(&p, "accuracy", r->accuracy);
  report_card(&p, "precision", r->precision);
  report_card(&p, "recall", r->recall);
  report_card(&p, "F1", r->f1);
  report_card(&p, "specificity", r->specificity);
  report_card(&p, "balanced accuracy", r->balanced_accuracy);
  report_card(&p, "MCC", r->mcc);
  if (rk) {
    report_card(&p, "ROC-AUC", rk->roc_auc);
    report_card(&p, "average precision", rk->average_precision);
  }
  report_card(&p, "BCE mean", r->bce_mean);
  if (cal) {
    report_card(&p, "Brier score", cal->brier);
    report_card(&p, "ECE", cal->ece);
  }
  report_cards_end(&p);

  report_section(&p, "Run");
  report_facts_begin(&p);
  report_fact(&p, "task", "binary classification");
  if (rep->labels_path) {
    report_fact(&p, "labels", rep->labels_path);
    report_fact(&p, "scores", rep->scores_path);
  } else {
    report_fact(&p, "inputs", "synthetic data of `clmetrics demo`");
  }
  report_factf(&p, "samples", "%llu", (unsigned long long)r->n);
  if (r->weighted)
    report_factf(&p, "sample weights",
                 "sum %.6g: every metric and figure is weighted",
                 r->weight_sum);
  report_fact(&p, "scores as", kind_name(rep->kind));
  report_factf(&p, "threshold",
               "%g: predicted positive iff the probability is > %g",
               r->threshold, r->threshold);
  if (r->pos_weight != 1.0)
    report_factf(&p, "pos_weight", "%g", r->pos_weight);
  report_fact(&p, "zero division", cli_zero_division_name(rep->zero_division));
  report_fact_run(&p, rep->ctx, rep->startup_s, rep->compute_s, rep->total_s,
                  rep->ranking);
  report_facts_end(&p);

  report_section(&p, "Confusion matrix");
  const uint64_t cm[4] = {r->tn, r->fp, r->fn, r->tp};
  const double wcm[4] = {r->w_tn, r->w_fp, r->w_fn, r->w_tp};
  static const char *const fixed[2] = {"0 (negative)", "1 (positive)"};
  figs_begin(&p);
  report_fig_confusion(&p, 2, cm, r->weighted ? wcm : NULL, NULL, fixed);
  figs_end(&p);

  report_section(&p, "ROC and precision-recall curves");
  struct report_curve c = {.cl = rk, .has_op = 1};
  snprintf(c.name, sizeof c.name, "positive class");
  c.op_fpr = ratio(r->w_fp, r->w_fp + r->w_tn);
  c.op_tpr = ratio(r->w_tp, r->w_tp + r->w_fn);
  c.op_recall = c.op_tpr;
  c.op_precision = ratio(r->w_tp, r->w_tp + r->w_fp);
  char op[160];
  snprintf(op, sizeof op, "The ring marks the operating point of threshold %g.",
           r->threshold);
  if (rk && rk->curve_len > 0) {
    curve_figs(&p, &c, 1, "", op);
  } else {
    report_missing(&p, rk ? "the curves (the ranking kept no curve points)."
                          : "ROC and precision-recall curves and the "
                            "threshold sweep: the ranking was not computed "
                            "(--no-ranking).");
  }

  if (rk && rk->curve_len > 0) {
    report_section(&p, "Threshold sweep");
    figs_begin(&p);
    report_fig_threshold(&p, rk, rep->kind, r->threshold);
    char cap[512];
    const int every = rk->distinct > 0 && rk->curve_len >= rk->distinct;
    snprintf(cap, sizeof cap,
             "Precision, recall, F1 and the share predicted positive when the "
             "samples scoring at least t are called positive, at the exact "
             "ROC curve points (%llu %s). %sThe green ring marks the best F1, "
             "the grey line the threshold in use.",
             (unsigned long long)rk->curve_len,
             every ? "thresholds: every distinct score"
                   : "thresholds evenly spaced in rank; --curve-points M "
                     "for more",
             rep->kind == CLM_SCORES_LOGITS
                 ? "The scores are logits: the axis shows the probability "
                   "\xCF\x83(t). "
                 : "");
    report_fig_place(&p, cap);
    figs_end(&p);
  }

  report_section(&p, "Calibration and score distributions");
  if (cal) {
    figs_begin(&p);
    report_fig_reliability(&p, cal, rep->calibration->quantile,
                           "predicted probability of the positive class");
    report_fig_place(&p, "Observed frequency of positives per bin of the "
                         "predicted probability (bars), the gap to the "
                         "bin's mean probability (red) and the samples per "
                         "bin (below). ECE weighs each gap by its bin's "
                         "share of the samples.");
    report_fig_histogram(&p, cal, "Score histogram per true class",
                         "predicted probability of the positive class",
                         "true class 1", "true class 0");
    report_fig_place(&p, "Samples per calibration bin and true class (the "
                         "bin's count times its observed frequency are the "
                         "positives). Counts are on a log scale when they "
                         "span more than two decades.");
    figs_end(&p);
  } else {
    report_missing(&p, "the reliability diagram and the score histograms: "
                       "the calibration was not computed "
                       "(--no-calibration).");
  }

  report_section(&p, "Per class");
  static const char *const heads[] = {"class", "precision", "recall",
                                      "F1",    "support",   "predicted"};
  report_table_begin(&p, 6, heads, 1u);
  for (int cls = 1; cls >= 0; --cls) {
    const double tp = cls ? r->w_tp : r->w_tn, fp = cls ? r->w_fp : r->w_fn,
                 fn = cls ? r->w_fn : r->w_fp;
    report_row_begin(&p);
    report_cell_text(&p, fixed[cls]);
    report_cell_num(&p, ratio(tp, tp + fp), 4);
    report_cell_num(&p, ratio(tp, tp + fn), 4);
    report_cell_num(&p, ratio(2 * tp, 2 * tp + fp + fn), 4);
    report_cell_num(&p, tp + fn, r->weighted ? 3 : 0);
    report_cell_num(&p, tp + fp, r->weighted ? 3 : 0);
    report_row_end(&p);
  }
  report_table_end(&p);
  table_note(&p, 2, 2, "classes");
  const int rc = report_write(a, &p, "clmetrics: binary evaluation report");
  report_page_free(&p);
  return rc;
}

/* ---- multi-class -------------------------------------------------- */

int cli_report_multiclass(const struct cli_report_args *a,
                          const struct cli_report_multiclass *mc) {
  if (!cli_report_wanted(a))
    return -1;
  const clm_multiclass_result *r = mc->res;
  const uint32_t k = r->n_classes;
  const clm_ranking_result *q =
      mc->ranking && mc->ranking->done ? &mc->ranking->result : NULL;
  const clm_calibration_result *cal = mc->calibration && mc->calibration->done
                                          ? &mc->calibration->result
                                          : NULL;
  double *support = malloc((size_t)k * sizeof *support);
  uint32_t *rows = malloc((size_t)k * sizeof *rows);
  if (!support || !rows) {
    free(support);
    free(rows);
    cli_error("cannot allocate the visual report");
    return CLI_EXIT_ERROR;
  }
  for (uint32_t c = 0; c < k; ++c)
    support[c] = r->per_class[c].support_weight;
  struct report_page p = {0};
  report_cards_begin(&p);
  report_card(&p, "accuracy", r->accuracy);
  report_card(&p, "balanced accuracy", r->balanced_accuracy);
  report_card(&p, "macro F1", r->macro.f1);
  report_card(&p, "weighted F1", r->weighted.f1);
  report_card(&p, "MCC", r->mcc);
  report_card(&p, "Cohen's kappa", r->cohen_kappa);
  if (r->has_loss)
    report_card(&p, "cross-entropy", r->cross_entropy_mean);
  if (r->top_k) {
    char name[32];
    snprintf(name, sizeof name, "top-%u accuracy", r->top_k);
    report_card(&p, name, r->top_k_accuracy);
  }
  if (q) {
    report_card(&p, "ROC-AUC macro (OvR)", q->roc_auc_macro);
    report_card(&p, "AP macro (OvR)", q->average_precision_macro);
  }
  if (cal) {
    report_card(&p, "ECE (top-label)", cal->ece);
    report_card(&p, "Brier score", cal->brier);
  }
  report_cards_end(&p);

  report_section(&p, "Run");
  report_facts_begin(&p);
  report_fact(&p, "task", "multi-class classification");
  if (mc->labels_path)
    report_fact(&p, "labels", mc->labels_path);
  else
    report_fact(&p, "inputs", "built-in example of `clmetrics demo`");
  if (mc->pred_path)
    report_fact(&p, "predictions", mc->pred_path);
  if (mc->scores_path) {
    report_fact(&p, "scores", mc->scores_path);
    report_fact(&p, "scores as", kind_name(mc->kind));
  }
  if (mc->weights_path)
    report_factf(&p, "sample weights", "%s (sum %.6g): metrics are weighted",
                 mc->weights_path, r->weight_sum);
  report_factf(&p, "samples", "%llu", (unsigned long long)r->n);
  if (r->n_ignored)
    report_factf(&p, "ignored rows", "%llu (--ignore-index)",
                 (unsigned long long)r->n_ignored);
  report_factf(&p, "classes", "%u", k);
  report_fact_run(&p, mc->ctx, mc->startup_s, mc->compute_s, mc->total_s,
                  mc->ranking);
  report_facts_end(&p);

  report_section(&p, "Confusion matrix");
  figs_begin(&p);
  report_fig_confusion(&p, k, mc->cm, r->sample_weighted ? mc->wcm : NULL,
                       mc->names, NULL);
  figs_end(&p);

  report_section(&p, "ROC and precision-recall curves (one-vs-rest)");
  if (q && q->classes[0].curve) {
    uint32_t pick[CLI_REPORT_CURVES];
    const size_t n =
        report_pick_classes(q, k, support, CLI_REPORT_CURVES, pick);
    struct report_curve c[CLI_REPORT_CURVES];
    const double total = r->sample_weighted ? r->weight_sum : (double)r->n;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t cls = pick[i];
      const clm_class_metrics *m = &r->per_class[cls];
      const uint64_t d = (uint64_t)cls * k + cls;
      const double tp =
          r->sample_weighted && mc->wcm ? mc->wcm[d] : (double)mc->cm[d];
      memset(&c[i], 0, sizeof c[i]);
      curve_name(&c[i], mc->names, cls);
      c[i].cl = &q->classes[cls];
      c[i].has_op = 1;
      c[i].op_tpr = c[i].op_recall = ratio(tp, m->support_weight);
      c[i].op_fpr = ratio(m->predicted_weight - tp, total - m->support_weight);
      c[i].op_precision = ratio(tp, m->predicted_weight);
    }
    char subset[200] = "";
    if (n < k)
      snprintf(subset, sizeof subset,
               "%zu of %u classes: the %d largest by support and those with "
               "the lowest ROC-AUC. ",
               n, k, CLI_REPORT_CURVES / 2);
    curve_figs(&p, c, n, subset,
               "Rings mark each class's operating point under the argmax "
               "prediction.");
  } else {
    report_missing(&p, !mc->scores_path
                           ? "ROC and precision-recall curves: they need "
                             "scores (--scores), not predicted labels."
                           : "ROC and precision-recall curves: the ranking "
                             "was not computed (--no-ranking).");
  }

  report_section(&p, "Calibration and confidence");
  if (cal) {
    figs_begin(&p);
    report_fig_reliability(&p, cal, mc->calibration->quantile,
                           "top-label confidence (largest probability)");
    report_fig_place(&p, "Top-label reliability: per bin of the row's largest "
                         "probability, the share of rows whose argmax is the "
                         "true class (bars), the gap to the mean confidence "
                         "(red) and the rows per bin (below).");
    report_fig_histogram(&p, cal, "Top-label confidence: correct vs incorrect",
                         "top-label confidence", "correct (argmax = label)",
                         "incorrect");
    report_fig_place(&p, "Rows per confidence bin, split by whether the "
                         "argmax is the true class (from the top-label "
                         "calibration bins). Counts are on a log scale "
                         "when they span more than two decades.");
    figs_end(&p);
  } else {
    report_missing(&p, !mc->scores_path
                           ? "the reliability diagram and the confidence "
                             "histograms: they need scores (--scores)."
                           : "the reliability diagram and the confidence "
                             "histograms: the calibration was not computed "
                             "(--no-calibration).");
  }

  report_section(&p, "Per class");
  const double *cw = cal ? cal->classwise_ece_per_class : NULL;
  const char *heads[10] = {"class", "name",    "precision", "recall",
                           "F1",    "support", "predicted"};
  const int named = mc->names != NULL;
  if (!named) /* no name column */
    memmove(heads + 1, heads + 2, 5 * sizeof *heads);
  size_t nh = named ? 7 : 6;
  if (q) {
    heads[nh++] = "ROC-AUC";
    heads[nh++] = "AP";
  }
  if (cw)
    heads[nh++] = "class-wise ECE";
  report_table_begin(&p, nh, heads, named ? 2u : 0u);
  const uint32_t shown = table_rows(k, support, a->full, rows);
  const int dec = r->sample_weighted ? 3 : 0;
  for (uint32_t i = 0; i < shown; ++i) {
    const uint32_t cls = rows[i];
    const clm_class_metrics *m = &r->per_class[cls];
    char name[256];
    report_row_begin(&p);
    report_cell_u64(&p, cls);
    if (named) {
      cli_class_name(mc->names, cls, name, sizeof name);
      report_cell_text(&p, name);
    }
    report_cell_num(&p, m->precision, 4);
    report_cell_num(&p, m->recall, 4);
    report_cell_num(&p, m->f1, 4);
    report_cell_num(&p, m->support_weight, dec);
    report_cell_num(&p, m->predicted_weight, dec);
    if (q) {
      report_cell_num(&p, q->classes[cls].roc_auc, 4);
      report_cell_num(&p, q->classes[cls].average_precision, 4);
    }
    if (cw)
      report_cell_num(&p, cw[cls], 4);
    report_row_end(&p);
  }
  report_table_end(&p);
  table_note(&p, shown, k, "classes");
  const int rc =
      report_write(a, &p, "clmetrics: multi-class evaluation report");
  report_page_free(&p);
  free(rows);
  free(support);
  return rc;
}

/* ---- multilabel --------------------------------------------------- */

int cli_report_multilabel(const struct cli_report_args *a,
                          const struct cli_multilabel_args *args,
                          const struct cli_multilabel_run *run) {
  if (!cli_report_wanted(a))
    return -1;
  const clm_multilabel_result *r = &run->res;
  const uint32_t L = r->n_labels;
  const clm_ranking_result *q =
      run->has_ranking && run->rank_labels.classes ? &run->rank_labels : NULL;
  const clm_ranking_class *micro = run->has_ranking && run->rank_micro.classes
                                       ? run->rank_micro.classes
                                       : NULL;
  double *support = malloc((size_t)L * sizeof *support);
  uint32_t *rows = malloc((size_t)L * sizeof *rows);
  if (!support || !rows) {
    free(support);
    free(rows);
    cli_error("cannot allocate the visual report");
    return CLI_EXIT_ERROR;
  }
  double tp = 0, fp = 0, tn = 0, fn = 0;
  for (uint32_t c = 0; c < L; ++c) {
    const clm_multilabel_label *l = &r->labels[c];
    support[c] = l->support_weight;
    tp += l->w_tp, fp += l->w_fp, tn += l->w_tn, fn += l->w_fn;
  }
  struct report_page p = {0};
  report_cards_begin(&p);
  report_card(&p, "micro F1", r->micro.f1);
  report_card(&p, "macro F1", r->macro.f1);
  report_card(&p, "weighted F1", r->weighted_avg.f1);
  report_card(&p, "samples F1", r->samples.f1);
  report_card(&p, "subset accuracy", r->subset_accuracy);
  report_card(&p, "Hamming loss", r->hamming_loss);
  if (r->has_scores)
    report_card(&p, "BCE mean", r->bce_mean);
  if (micro) {
    report_card(&p, "ROC-AUC micro", micro->roc_auc);
    report_card(&p, "AP micro", micro->average_precision);
  }
  if (q) {
    report_card(&p, "ROC-AUC macro", q->roc_auc_macro);
    report_card(&p, "AP macro", q->average_precision_macro);
  }
  if (r->label_ranking) {
    report_card(&p, "coverage error", r->coverage_error);
    report_card(&p, "label ranking AP", r->label_ranking_average_precision);
    report_card(&p, "label ranking loss", r->label_ranking_loss);
  }
  report_cards_end(&p);

  report_section(&p, "Run");
  report_facts_begin(&p);
  report_fact(&p, "task", "multilabel classification");
  report_fact(&p, "labels", args->labels);
  if (args->scores) {
    report_fact(&p, "scores", args->scores);
    report_fact(&p, "scores as", kind_name(args->kind));
  }
  if (args->pred)
    report_fact(&p, "predictions", args->pred);
  if (args->weights)
    report_factf(&p, "sample weights", "%s (sum %.6g): metrics are weighted",
                 args->weights, r->weight_sum);
  report_factf(&p, "rows x labels", "%llu x %u (%llu cells)",
               (unsigned long long)r->n, L,
               (unsigned long long)(r->n * (uint64_t)L));
  if (args->thresholds)
    report_factf(&p, "thresholds", "one per label from %s", args->thresholds);
  else if (args->scores)
    report_factf(&p, "threshold",
                 "%g: a cell is predicted positive iff its probability is "
                 "> %g",
                 args->threshold, args->threshold);
  report_fact_run(&p, run->ctx, clm_context_startup_seconds(run->ctx),
                  run->compute_s, run->total_s, NULL);
  report_facts_end(&p);

  report_section(&p, "ROC and precision-recall curves (per label)");
  if (q && micro && q->classes[0].curve) {
    uint32_t pick[CLI_REPORT_CURVES];
    const size_t n =
        report_pick_classes(q, L, support, CLI_REPORT_CURVES, pick);
    struct report_curve c[CLI_REPORT_CURVES + 1];
    memset(c, 0, sizeof c);
    snprintf(c[0].name, sizeof c[0].name, "micro average");
    c[0].cl = micro;
    c[0].bold = 1;
    c[0].has_op = 1;
    c[0].op_fpr = ratio(fp, fp + tn);
    c[0].op_tpr = c[0].op_recall = ratio(tp, tp + fn);
    c[0].op_precision = ratio(tp, tp + fp);
    for (size_t i = 0; i < n; ++i) {
      const clm_multilabel_label *l = &r->labels[pick[i]];
      struct report_curve *ci = &c[i + 1];
      curve_name(ci, run->names, pick[i]);
      ci->cl = &q->classes[pick[i]];
      ci->has_op = 1;
      ci->op_fpr = ratio(l->w_fp, l->w_fp + l->w_tn);
      ci->op_tpr = ci->op_recall = ratio(l->w_tp, l->w_tp + l->w_fn);
      ci->op_precision = ratio(l->w_tp, l->w_tp + l->w_fp);
    }
    char subset[200] = "";
    if (n < L)
      snprintf(
          subset, sizeof subset,
          "%zu of %u labels: the %d largest by support and those with "
          "the lowest ROC-AUC, and the micro average (every cell, black). ",
          n, L, CLI_REPORT_CURVES / 2);
    else
      snprintf(subset, sizeof subset,
               "Every label and the micro average (every cell, black). ");
    curve_figs(&p, c, n + 1, subset,
               "Rings mark each label's operating point at its threshold.");
  } else {
    report_missing(&p, args->pred
                           ? "ROC and precision-recall curves: they need "
                             "scores (--scores), not predictions."
                           : "ROC and precision-recall curves: the ranking "
                             "was not computed (--no-ranking).");
  }
  report_section(&p, "Calibration and score distributions");
  report_missing(&p, "the reliability diagram and the score histograms: "
                     "multilabel has no calibration yet (no per-label "
                     "reliability bins are computed).");

  report_section(&p, "Per label");
  const char *heads[14] = {"label",  "name", "TP",      "FP",
                           "FN",     "TN",   "support", "precision",
                           "recall", "F1",   "Jaccard"};
  const int named = run->names != NULL;
  if (!named) /* no name column */
    memmove(heads + 1, heads + 2, 9 * sizeof *heads);
  size_t nh = named ? 11 : 10;
  if (r->has_scores)
    heads[nh++] = "BCE mean";
  if (q) {
    heads[nh++] = "ROC-AUC";
    heads[nh++] = "AP";
  }
  report_table_begin(&p, nh, heads, named ? 2u : 0u);
  const uint32_t shown = table_rows(L, support, args->full || a->full, rows);
  for (uint32_t i = 0; i < shown; ++i) {
    const uint32_t c = rows[i];
    const clm_multilabel_label *l = &r->labels[c];
    char name[256];
    report_row_begin(&p);
    report_cell_u64(&p, c);
    if (named) {
      cli_class_name(run->names, c, name, sizeof name);
      report_cell_text(&p, name);
    }
    if (r->weighted) {
      report_cell_num(&p, l->w_tp, 3);
      report_cell_num(&p, l->w_fp, 3);
      report_cell_num(&p, l->w_fn, 3);
      report_cell_num(&p, l->w_tn, 3);
      report_cell_num(&p, l->support_weight, 3);
    } else {
      report_cell_u64(&p, l->tp);
      report_cell_u64(&p, l->fp);
      report_cell_u64(&p, l->fn);
      report_cell_u64(&p, l->tn);
      report_cell_u64(&p, l->support);
    }
    report_cell_num(&p, l->precision, 4);
    report_cell_num(&p, l->recall, 4);
    report_cell_num(&p, l->f1, 4);
    report_cell_num(&p, l->jaccard, 4);
    if (r->has_scores)
      report_cell_num(&p, l->bce_mean, 4);
    if (q) {
      report_cell_num(&p, q->classes[c].roc_auc, 4);
      report_cell_num(&p, q->classes[c].average_precision, 4);
    }
    report_row_end(&p);
  }
  report_table_end(&p);
  table_note(&p, shown, L, "labels");
  const int rc = report_write(a, &p, "clmetrics: multilabel evaluation report");
  report_page_free(&p);
  free(rows);
  free(support);
  return rc;
}
