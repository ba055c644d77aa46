/* The binary report: a text table or one JSON object, and the warnings
 * about metrics that were 0/0 (shared by `binary` and `demo`). */
#include "cli_calibration.h"
#include "cli_ranking.h"

#include <math.h>

static const char *undefined_reason(unsigned bit) {
  switch (bit) {
  case CLM_UNDEF_PRECISION:
    return "precision (no predicted positives: TP + FP = 0)";
  case CLM_UNDEF_RECALL:
    return "recall (no true positives in the labels: TP + FN = 0)";
  case CLM_UNDEF_F1:
    return "F1 (no positives at all: TP + FP + FN = 0)";
  case CLM_UNDEF_SPECIFICITY:
    return "specificity (no true negatives in the labels: TN + FP = 0)";
  case CLM_UNDEF_MCC:
    return "MCC (a row or column of the confusion matrix is empty)";
  default:
    return "a metric";
  }
}

void cli_warn_undefined(const clm_binary_result *r, clm_zero_division zd) {
  const char *as = cli_zero_division_name(zd);
  for (unsigned bit = 1; bit <= CLM_UNDEF_MCC; bit <<= 1)
    if (r->undefined & bit)
      cli_warning("%s is undefined; reported as %s (--zero-division)",
                  undefined_reason(bit), as);
}

static void print_value(FILE *f, const char *name, double v) {
  if (isnan(v))
    fprintf(f, "  %-22s %12s\n", name, "nan");
  else
    fprintf(f, "  %-22s %12.6f\n", name, v);
}

void cli_print_binary_text(FILE *f, const struct cli_binary_report *rep) {
  const clm_binary_result *r = rep->result;
  fprintf(f, "binary evaluation: %llu samples, scores as %s, threshold %g\n",
          (unsigned long long)r->n,
          rep->kind == CLM_SCORES_PROBS ? "probabilities" : "logits",
          r->threshold);
  if (rep->labels_path)
    fprintf(f, "labels: %s\nscores: %s\n", rep->labels_path, rep->scores_path);
  cli_print_device(f, rep->ctx);
  if (r->weighted) {
    fprintf(f,
            "  sample weights: sum %.6g over %llu samples; metrics below "
            "are weighted\n",
            r->weight_sum, (unsigned long long)r->n);
    fprintf(f, "  weighted confusion     predicted 1   predicted 0\n");
    fprintf(f, "  actual 1            %14.6g %13.6g\n", r->w_tp, r->w_fn);
    fprintf(f, "  actual 0            %14.6g %13.6g\n\n", r->w_fp, r->w_tn);
  } else {
    fprintf(f, "  confusion matrix       predicted 1   predicted 0\n");
    fprintf(f, "  actual 1            %14llu %13llu\n",
            (unsigned long long)r->tp, (unsigned long long)r->fn);
    fprintf(f, "  actual 0            %14llu %13llu\n\n",
            (unsigned long long)r->fp, (unsigned long long)r->tn);
  }
  fprintf(f, "  %-22s %12s\n", "metric", "value");
  print_value(f, "accuracy", r->accuracy);
  print_value(f, "precision", r->precision);
  print_value(f, "recall", r->recall);
  print_value(f, "F1", r->f1);
  print_value(f, "specificity", r->specificity);
  print_value(f, "balanced accuracy", r->balanced_accuracy);
  print_value(f, "MCC", r->mcc);
  if (rep->ranking) {
    const clm_ranking_class *c = &rep->ranking->result.classes[0];
    print_value(f, "ROC-AUC", c->roc_auc);
    if (rep->ranking->interval)
      cli_ranking_text_interval(f, &rep->ranking->result, "ROC-AUC",
                                c->roc_auc_lo, c->roc_auc_hi);
    print_value(f, "average precision", c->average_precision);
    if (rep->ranking->interval)
      cli_ranking_text_interval(f, &rep->ranking->result, "AP",
                                c->average_precision_lo,
                                c->average_precision_hi);
  }
  fprintf(f, "\n");
  if (r->pos_weight != 1.0)
    fprintf(f, "  %-22s %12.6g\n", "pos_weight", r->pos_weight);
  fprintf(f, "  %-22s %12.6g nats/sample\n", "BCE mean", r->bce_mean);
  fprintf(f, "  %-22s %12.6g nats\n", "BCE sum", r->bce_sum);
  fprintf(f, "  %-22s %12.6g\n", "dL/db (mean grad)", r->grad_bias);
  if (rep->weight_grad) {
    uint64_t show = rep->n_features < 8 ? rep->n_features : 8;
    fprintf(f, "  %-22s", "dL/dW");
    for (uint64_t j = 0; j < show; ++j)
      fprintf(f, " %.6g", rep->weight_grad[j]);
    if (show < rep->n_features)
      fprintf(f, " ... (%llu values)", (unsigned long long)rep->n_features);
    fprintf(f, "\n");
  }
  if (rep->calibration)
    cli_calibration_text(f, rep->calibration);
  char rate[32];
  const double bytes = (double)r->n * (sizeof(float) + 1);
  cli_format_rate(rep->compute_s > 0 ? (double)r->n / rep->compute_s : NAN,
                  rate, sizeof rate);
  fprintf(f,
          "\ntiming: start-up %.3f s, compute %.3f s (%ssamples/s, %.2f "
          "GB/s of input), total %.3f s\n",
          rep->startup_s, rep->compute_s, rate,
          rep->compute_s > 0 ? bytes / rep->compute_s / 1e9 : 0.0,
          rep->total_s);
  if (rep->ranking)
    fprintf(f,
            "ranking: %.3f s of the compute, %u passes over the data, "
            "%.1f MiB\n",
            rep->ranking->seconds, (unsigned)rep->ranking->result.passes,
            (double)rep->ranking->result.memory_bytes / (1 << 20));
}

/* The names of the metrics that were 0/0, as a JSON array. */
static void json_undefined(struct json *j, unsigned undefined,
                           const struct cli_ranking_out *ranking) {
  static const struct {
    unsigned bit;
    const char *name;
  } names[] = {{CLM_UNDEF_PRECISION, "precision"},
               {CLM_UNDEF_RECALL, "recall"},
               {CLM_UNDEF_F1, "f1"},
               {CLM_UNDEF_SPECIFICITY, "specificity"},
               {CLM_UNDEF_MCC, "mcc"}};
  json_array_open(j, "undefined");
  for (size_t k = 0; k < sizeof names / sizeof names[0]; ++k)
    if (undefined & names[k].bit)
      json_string(j, NULL, names[k].name);
  if (ranking && isnan(ranking->result.classes[0].roc_auc))
    json_string(j, NULL, "roc_auc");
  if (ranking && isnan(ranking->result.classes[0].average_precision))
    json_string(j, NULL, "average_precision");
  json_array_close(j);
}

void cli_print_binary_json(FILE *f, const struct cli_binary_report *rep) {
  const clm_binary_result *r = rep->result;
  struct json j;
  json_begin(&j, f);
  json_string(&j, "task", "binary");
  json_u64(&j, "n", r->n);
  json_number(&j, "threshold", r->threshold);
  json_string(&j, "scores_kind",
              rep->kind == CLM_SCORES_PROBS ? "probs" : "logits");
  json_bool(&j, "weighted", r->weighted);
  /* Weighted runs report the cells as sums of weights (scikit-learn's
   * confusion_matrix(sample_weight=)) and the integer counts beside. */
  json_object_open(&j, "confusion");
  if (r->weighted) {
    json_number(&j, "tp", r->w_tp);
    json_number(&j, "fp", r->w_fp);
    json_number(&j, "tn", r->w_tn);
    json_number(&j, "fn", r->w_fn);
  } else {
    json_u64(&j, "tp", r->tp);
    json_u64(&j, "fp", r->fp);
    json_u64(&j, "tn", r->tn);
    json_u64(&j, "fn", r->fn);
  }
  json_object_close(&j);
  if (r->weighted) {
    json_object_open(&j, "counts");
    json_u64(&j, "tp", r->tp);
    json_u64(&j, "fp", r->fp);
    json_u64(&j, "tn", r->tn);
    json_u64(&j, "fn", r->fn);
    json_object_close(&j);
    json_number(&j, "weight_sum", r->weight_sum);
  }
  json_number(&j, "accuracy", r->accuracy);
  json_number(&j, "precision", r->precision);
  json_number(&j, "recall", r->recall);
  json_number(&j, "f1", r->f1);
  json_number(&j, "specificity", r->specificity);
  json_number(&j, "balanced_accuracy", r->balanced_accuracy);
  json_number(&j, "mcc", r->mcc);
  if (rep->ranking) {
    const clm_ranking_class *c = &rep->ranking->result.classes[0];
    json_number(&j, "roc_auc", c->roc_auc);
    json_number(&j, "average_precision", c->average_precision);
    if (rep->ranking->interval) { /* from merged saved states */
      cli_ranking_json_class_interval(&j, c);
      cli_ranking_json_exact(&j, &rep->ranking->result);
    }
  }
  json_object_open(&j, "loss");
  json_number(&j, "bce_mean", r->bce_mean);
  json_number(&j, "bce_sum", r->bce_sum);
  json_number(&j, "pos_weight", r->pos_weight);
  json_object_close(&j);
  json_object_open(&j, "gradient");
  json_number(&j, "bias", r->grad_bias);
  if (rep->weight_grad) {
    json_array_open(&j, "weights");
    for (uint64_t k = 0; k < rep->n_features; ++k)
      json_number(&j, NULL, rep->weight_grad[k]);
    json_array_close(&j);
  }
  json_object_close(&j);
  if (rep->calibration)
    cli_calibration_json(&j, rep->calibration);
  json_undefined(&j, r->undefined, rep->ranking);
  json_string(&j, "zero_division", cli_zero_division_name(rep->zero_division));
  cli_json_device(&j, rep->ctx);
  cli_json_timing(&j, rep->startup_s, rep->compute_s, rep->total_s,
                  rep->ranking);
  json_end(&j);
}
