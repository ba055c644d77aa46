/* Calibration in the CLI: the options shared by `binary` and `multiclass`,
 * the optional equal-mass first pass, the reliability table in the text and
 * JSON reports and the --reliability-out CSV file. */
#include "cli_calibration.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_calibration_defaults(struct cli_calibration_args *a) {
  memset(a, 0, sizeof *a);
  a->bins = CLM_CALIBRATION_DEFAULT_BINS;
}

static const char *const value_flags[] = {
    "--calibration-bins", "--calibration-strategy", "--reliability-out", NULL};

int cli_calibration_flag(int argc, char **argv, int *i, const char *cmd,
                         struct cli_calibration_args *a) {
  const char *arg = argv[*i];
  if (strcmp(arg, "--no-calibration") == 0) {
    a->off = 1;
    return -1;
  }
  int is_value_flag = 0;
  for (const char *const *f = value_flags; *f; ++f)
    is_value_flag |= strcmp(arg, *f) == 0;
  if (!is_value_flag)
    return 0;
  const char *v = NULL;
  const int rc = cli_take_value(argc, argv, i, value_flags, cmd, &v);
  if (rc >= 0)
    return rc;
  if (strcmp(arg, "--calibration-bins") == 0) {
    if (cli_parse_u64(v, &a->bins) != 0 || a->bins < 1 || a->bins > 100000)
      return cli_usage_error(
          cmd, "--calibration-bins must be an integer in [1, 100000], not '%s'",
          v);
  } else if (strcmp(arg, "--calibration-strategy") == 0) {
    if (strcmp(v, "uniform") == 0)
      a->quantile = 0;
    else if (strcmp(v, "quantile") == 0)
      a->quantile = 1;
    else
      return cli_usage_error(
          cmd, "--calibration-strategy must be uniform or quantile, not '%s'",
          v);
  } else {
    a->reliability_out = v;
  }
  return -1;
}

int cli_calibration_check(const char *cmd, const struct cli_calibration_args *a,
                          int has_scores) {
  if (a->off && a->reliability_out)
    return cli_usage_error(
        cmd, "--reliability-out needs the calibration (drop --no-calibration)");
  if (!has_scores && a->reliability_out)
    return cli_usage_error(cmd, "--reliability-out needs --scores");
  if (a->quantile && a->bins > CLI_QUANTILE_FINE_BINS)
    return cli_usage_error(cmd,
                           "--calibration-strategy quantile takes at most %d "
                           "bins",
                           CLI_QUANTILE_FINE_BINS);
  return -1;
}

int cli_calibration_open_outputs(const struct cli_calibration_args *a,
                                 struct cli_calibration_out *out) {
  if (cli_output_open_text(&out->csv, "--reliability-out", a->reliability_out))
    return CLI_EXIT_ERROR;
  return -1;
}

static int init_state(clm_calibration_state *s, uint32_t k, uint32_t bins,
                      const double *edges, int classwise, int weighted,
                      int has_ignore, int32_t ignore_index) {
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  o.n_classes = k;
  o.n_bins = bins;
  o.edges = edges;
  o.classwise = classwise;
  o.weighted = weighted;
  o.has_ignore_index = has_ignore;
  o.ignore_index = ignore_index;
  const clm_status st = clm_calibration_state_init(s, &o);
  if (st != CLM_OK) {
    cli_error("calibration: %s", clm_status_str(st));
    return CLI_EXIT_ERROR;
  }
  return -1;
}

int cli_calibration_begin(const struct cli_calibration_args *a,
                          struct cli_calibration_out *out, uint32_t k,
                          int weighted, int has_ignore, int32_t ignore_index) {
  out->active = 1;
  out->quantile = a->quantile;
  out->requested_bins = (uint32_t)a->bins;
  if (a->quantile)
    return init_state(&out->fine, k, CLI_QUANTILE_FINE_BINS, NULL, 0, weighted,
                      has_ignore, ignore_index);
  return init_state(&out->state, k, (uint32_t)a->bins, NULL, 1, weighted,
                    has_ignore, ignore_index);
}

int cli_calibration_prepass(const struct cli_calibration_out *out) {
  return out->active && out->quantile && out->fine.n_bins && !out->state.n_bins;
}

int cli_calibration_end_prepass(struct cli_calibration_out *out) {
  double *edges = malloc((out->requested_bins + 1) * sizeof(double));
  if (!edges) {
    cli_error("cannot allocate calibration edges");
    return CLI_EXIT_ERROR;
  }
  uint32_t bins = 0;
  clm_status st = clm_calibration_quantile_edges(
      &out->fine, out->requested_bins, edges, &bins);
  int rc = -1;
  if (st == CLM_ERR_EMPTY) {
    /* No weight at all: the main pass reports it; any edges will do. */
    bins = 1;
    edges[0] = 0.0;
    edges[1] = 1.0;
  } else if (st != CLM_OK) {
    cli_error("calibration: %s", clm_status_str(st));
    rc = CLI_EXIT_ERROR;
  }
  if (rc < 0)
    rc = init_state(&out->state, out->fine.n_classes, bins, edges, 1,
                    out->fine.weighted, out->fine.has_ignore_index,
                    out->fine.ignore_index);
  free(edges);
  return rc;
}

static clm_calibration_state *target(struct cli_calibration_out *out) {
  return cli_calibration_prepass(out) ? &out->fine : &out->state;
}

clm_status cli_calibration_add_binary(clm_context *ctx,
                                      struct cli_calibration_out *out,
                                      uint64_t base, const uint8_t *y,
                                      const float *z, const float *w,
                                      uint64_t m, clm_scores_kind kind,
                                      clm_error *err) {
  const double t0 = cli_now();
  const clm_status st = clm_calibration_update_binary(ctx, target(out), base, y,
                                                      z, w, m, kind, err);
  out->seconds += cli_now() - t0;
  return st;
}

clm_status cli_calibration_add_multiclass(clm_context *ctx,
                                          struct cli_calibration_out *out,
                                          uint64_t base, const int32_t *y,
                                          const float *z, const float *w,
                                          uint64_t m, clm_scores_kind kind,
                                          clm_error *err) {
  const double t0 = cli_now();
  const clm_status st = clm_calibration_update_multiclass(
      ctx, target(out), base, y, z, w, m, kind, err);
  out->seconds += cli_now() - t0;
  return st;
}

static void put_num(struct cli_text *t, double v, char sep) {
  if (isnan(v))
    cli_text_put(t, "nan%c", sep);
  else
    cli_text_put(t, "%.17g%c", v, sep);
}

int cli_calibration_finish(struct cli_calibration_out *out) {
  if (!out->active)
    return -1;
  const clm_status st = clm_calibration_finalize(&out->state, &out->result);
  if (st == CLM_ERR_EMPTY) {
    cli_error("calibration: %s", out->state.n
                                     ? "the sample weights sum to 0"
                                     : "no samples left (all ignored)");
    return CLI_EXIT_ERROR;
  }
  if (st != CLM_OK) {
    cli_error("calibration: %s", clm_status_str(st));
    return CLI_EXIT_ERROR;
  }
  out->done = 1;
  if (!out->csv.w)
    return -1;
  struct cli_text t = {out->csv.w, CLM_OK, {0}};
  cli_text_put(&t, "bin,lo,hi,count,weight,confidence,frequency,gap\n");
  const clm_calibration_result *r = &out->result;
  for (uint32_t b = 0; b < r->n_bins; ++b) {
    const clm_calibration_bin *bin = &r->bins[b];
    cli_text_put(&t, "%u,", (unsigned)b);
    put_num(&t, bin->lo, ',');
    put_num(&t, bin->hi, ',');
    cli_text_put(&t, "%llu,", (unsigned long long)bin->count);
    put_num(&t, bin->weight, ',');
    put_num(&t, bin->confidence, ',');
    put_num(&t, bin->frequency, ',');
    put_num(&t, bin->gap, '\n');
  }
  if (t.st != CLM_OK) {
    cli_error("%s", t.err.message);
    return CLI_EXIT_ERROR;
  }
  if (cli_output_commit(&out->csv))
    return CLI_EXIT_ERROR;
  return -1;
}

void cli_calibration_abort(struct cli_calibration_out *out) {
  cli_output_abort(&out->csv);
}

void cli_calibration_free(struct cli_calibration_out *out) {
  clm_calibration_result_release(&out->result);
  clm_calibration_state_release(&out->fine);
  clm_calibration_state_release(&out->state);
}

static void text_value(FILE *f, const char *name, double v) {
  if (isnan(v))
    fprintf(f, "  %-22s %12s\n", name, "nan");
  else
    fprintf(f, "  %-22s %12.6f\n", name, v);
}

void cli_calibration_text(FILE *f, const struct cli_calibration_out *out) {
  if (!out->done)
    return;
  const clm_calibration_result *r = &out->result;
  fprintf(f, "\ncalibration (%s, %u %s bins%s)\n",
          r->n_classes > 1 ? "top-label confidence"
                           : "positive-class probability",
          (unsigned)r->n_bins, out->quantile ? "equal-mass" : "equal-width",
          r->weighted ? ", weighted" : "");
  text_value(f, "Brier score", r->brier);
  text_value(f, "ECE", r->ece);
  text_value(f, "RMS calibration error", r->rmsce);
  text_value(f, "max calibration error", r->mce);
  if (r->n_classes > 1)
    text_value(f, "class-wise ECE", r->classwise_ece);
  fprintf(f, "\n  %-17s %12s %11s %10s %10s\n", "bin", "count", "confidence",
          "frequency", "gap");
  for (uint32_t b = 0; b < r->n_bins; ++b) {
    const clm_calibration_bin *bin = &r->bins[b];
    char range[40];
    snprintf(range, sizeof range, "%s%.4g, %.4g]", b == 0 ? "[" : "(", bin->lo,
             bin->hi);
    if (bin->count == 0)
      fprintf(f, "  %-17s %12llu %11s %10s %10s\n", range, 0ULL, "-", "-", "-");
    else
      fprintf(f, "  %-17s %12llu %11.6f %10.6f %+10.6f\n", range,
              (unsigned long long)bin->count, bin->confidence, bin->frequency,
              bin->gap);
  }
}

void cli_calibration_json(struct json *j,
                          const struct cli_calibration_out *out) {
  if (!out->done)
    return;
  const clm_calibration_result *r = &out->result;
  json_object_open(j, "calibration");
  json_number(j, "brier", r->brier);
  json_number(j, "ece", r->ece);
  json_number(j, "rmsce", r->rmsce);
  json_number(j, "mce", r->mce);
  if (r->n_classes > 1) {
    json_number(j, "classwise_ece", r->classwise_ece);
    if (r->classwise_ece_per_class) {
      json_array_open(j, "classwise_ece_per_class");
      for (uint32_t c = 0; c < r->n_classes; ++c)
        json_number(j, NULL, r->classwise_ece_per_class[c]);
      json_array_close(j);
    }
  }
  json_string(j, "strategy", out->quantile ? "quantile" : "uniform");
  json_u64(j, "n_bins", r->n_bins);
  json_string(j, "confidence",
              r->n_classes > 1 ? "top_label" : "positive_class");
  json_array_open(j, "bins");
  for (uint32_t b = 0; b < r->n_bins; ++b) {
    const clm_calibration_bin *bin = &r->bins[b];
    json_object_open(j, NULL);
    json_number(j, "lo", bin->lo);
    json_number(j, "hi", bin->hi);
    json_u64(j, "count", bin->count);
    if (r->weighted)
      json_number(j, "weight", bin->weight);
    json_number(j, "confidence", bin->confidence);
    json_number(j, "frequency", bin->frequency);
    json_number(j, "gap", bin->gap);
    json_object_close(j);
  }
  json_array_close(j);
  json_object_close(j);
}
