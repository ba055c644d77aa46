/* `clmetrics merge STATE...`: combines states saved by --save-state (any
 * number, merged in the order given) and prints the report one run over
 * all their data would print. */
#include "cli_state.h"
#include "report_html.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: clmetrics merge STATE... [--json] [--html FILE] [--svg-dir "
          "DIR]\n\n"
          "Merges states saved by `clmetrics binary|multiclass|multilabel\n"
          "... --save-state FILE` (e.g. one per shard of the data) and prints\n"
          "the report of one run over all their data: counts exactly, sums\n"
          "in the order the files are given. The states must come from the\n"
          "same command with the same options (threshold, scores kind, K or\n"
          "L, weights, calibration bins, ...). ROC-AUC and average precision\n"
          "come from streaming counts per score prefix, with a certified\n"
          "interval [lo, hi] that is exact when its width is 0. No device\n"
          "is used. The page of --html has no ROC / PR curves (the states\n"
          "hold no curve points) and says so.\n\n"
          "  --json                 print one JSON object instead of the "
          "report\n");
  fputs(cli_report_help, f);
  fprintf(f, "  --full                 every class or label in the page's "
             "table\n"
             "  --help                 this help\n");
}

int cli_merge(int argc, char **argv) {
  int json = 0, n_files = 0;
  struct cli_report_args page = {0};
  int prc;
  const char **files = calloc((size_t)argc + 1, sizeof *files);
  if (!files) {
    cli_error("out of memory");
    return CLI_EXIT_ERROR;
  }
  int rc = -1;
  for (int i = 1; i < argc && rc < 0; ++i) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      usage(stdout);
      rc = CLI_EXIT_OK;
    } else if (strcmp(arg, "--json") == 0) {
      json = 1;
    } else if ((prc = cli_report_flag(argc, argv, &i, "merge", 1, &page)) !=
               0) {
      if (prc > 0)
        rc = prc;
    } else if (strcmp(arg, "--") == 0) {
      while (++i < argc)
        files[n_files++] = argv[i];
    } else if (arg[0] == '-' && arg[1] != '\0') {
      rc = cli_usage_error("merge", "unknown option '%s'", arg);
    } else {
      files[n_files++] = arg;
    }
  }
  if (rc < 0 && n_files == 0)
    rc = cli_usage_error("merge", "give at least one saved state file");
  struct cli_file *ins = NULL;
  if (rc < 0 && cli_report_wanted(&page)) {
    /* The page and figures never replace a state file. */
    ins = calloc((size_t)n_files + 1, sizeof *ins);
    if (!ins) {
      cli_error("out of memory");
      rc = CLI_EXIT_ERROR;
    }
    for (int f = 0; f < n_files && rc < 0; ++f)
      ins[f] = (struct cli_file){"STATE", files[f]};
    if (rc < 0)
      rc = cli_report_check(&page, ins, (size_t)n_files, NULL, 0);
  }
  /* The page's "inputs": the state files, as many as fit. */
  char inputs[512];
  int used = snprintf(inputs, sizeof inputs, "%d saved state%s:", n_files,
                      n_files == 1 ? "" : "s");
  for (int f = 0; f < n_files && used > 0 && (size_t)used < sizeof inputs; ++f)
    used += snprintf(inputs + used, sizeof inputs - (size_t)used, "%s %s",
                     f ? "," : "", files[f]);
  if (used > 0 && (size_t)used >= sizeof inputs)
    memcpy(inputs + sizeof inputs - 5, " ...", 5);
  struct cli_state *s = NULL;
  if (rc < 0 && cli_state_read_file(files[0], &s) != CLI_EXIT_OK)
    rc = CLI_EXIT_ERROR;
  for (int f = 1; f < n_files && rc < 0; ++f) {
    struct cli_state *next = NULL;
    if (cli_state_read_file(files[f], &next) != CLI_EXIT_OK ||
        cli_state_merge(s, next, files[f]) != CLI_EXIT_OK)
      rc = CLI_EXIT_ERROR;
    cli_state_free(next);
  }
  if (rc < 0)
    rc = cli_state_report_page(s, json, NULL, NULL, &page, inputs);
  cli_state_free(s);
  free(ins);
  free(files);
  return rc;
}
