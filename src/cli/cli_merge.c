/* `clmetrics merge STATE...`: combines states saved by --save-state (any
 * number, merged in the order given) and prints the report one run over
 * all their data would print. */
#include "cli_state.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: clmetrics merge STATE... [--json]\n\n"
          "Merges states saved by `clmetrics binary|multiclass|multilabel\n"
          "... --save-state FILE` (e.g. one per shard of the data) and prints\n"
          "the report of one run over all their data: counts exactly, sums\n"
          "in the order the files are given. The states must come from the\n"
          "same command with the same options (threshold, scores kind, K or\n"
          "L, weights, calibration bins, ...). ROC-AUC and average precision\n"
          "come from streaming counts per score prefix, with a certified\n"
          "interval [lo, hi] that is exact when its width is 0. No device\n"
          "is used.\n\n"
          "  --json     print one JSON object instead of the report\n"
          "  --help     this help\n");
}

int cli_merge(int argc, char **argv) {
  int json = 0, n_files = 0;
  const char *html = NULL;
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
    } else if (strcmp(arg, "--html") == 0) {
      static const char *const with_value[] = {"--html", NULL};
      const int vrc =
          cli_take_value(argc, argv, &i, with_value, "merge", &html);
      if (vrc >= 0)
        rc = vrc;
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
  if (rc < 0 && html) {
    /* TODO(html report): once the HTML writer lands (wt-report), render the
     * merged bundle here, e.g. cli_state_html(s, html) after the merge
     * below, with the same safe replacement as the other outputs. */
    rc = cli_usage_error("merge", "--html is not available for merged "
                                  "states in this build");
  }
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
    rc = cli_state_report(s, json, NULL);
  cli_state_free(s);
  free(files);
  return rc;
}
