/* clmetrics: the command-line front end. Uses only the public API. */
#include "cli.h"
#include "cli_outputs.h"
#include "cli_state.h"

#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: clmetrics <command> [options]\n\n"
          "Evaluates classifiers on OpenCL devices.\n\n"
          "commands:\n"
          "  binary      binary metrics, BCE loss and gradients from label and "
          "score files\n"
          "  multiclass  confusion matrix, classification report, "
          "cross-entropy\n"
          "  multilabel  per-label and averaged metrics of an N x L indicator "
          "matrix\n"
          "  merge       combine states saved with --save-state into one "
          "report\n"
          "  demo        run the built-in examples (no files needed)\n"
          "  devices     list OpenCL platforms and devices\n"
          "  selftest    check every kernel on the device against a CPU "
          "reference\n\n"
          "options:\n"
          "  --help      this help; `clmetrics <command> --help` for a "
          "command's\n"
          "  --version   print the version\n\n"
          "environment: CLMETRICS_DEVICE (device index or name substring),\n"
          "  CLMETRICS_KERNEL_DIR (load .cl files from a directory),\n"
          "  CLMETRICS_CHUNK (samples per kernel launch).\n");
}

static int run(int argc, char **argv);

int main(int argc, char **argv) {
  int rc = run(argc, argv);
  /* A report that could not be written is a failure (e.g. a full disk or a
   * closed pipe): say so and exit non-zero. */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "clmetrics: error: cannot write the report to standard "
                    "output\n");
    return rc ? rc : CLI_EXIT_ERROR;
  }
  return rc;
}

static int run(int argc, char **argv) {
  cli_start_time = cli_now();
  cli_install_signal_handlers();
  cli_setup_kernel_cache();
  if (argc < 2) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
      strcmp(cmd, "help") == 0) {
    usage(stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("clmetrics %s\n", clm_version_string());
    return CLI_EXIT_OK;
  }
  if (strcmp(cmd, "binary") == 0)
    return cli_binary(argc - 1, argv + 1);
  if (strcmp(cmd, "multiclass") == 0)
    return cli_multiclass(argc - 1, argv + 1);
  if (strcmp(cmd, "multilabel") == 0)
    return cli_multilabel(argc - 1, argv + 1);
  if (strcmp(cmd, "merge") == 0)
    return cli_merge(argc - 1, argv + 1);
  if (strcmp(cmd, "demo") == 0)
    return cli_demo(argc - 1, argv + 1);
  if (strcmp(cmd, "selftest") == 0)
    return cli_selftest(argc - 1, argv + 1);
  if (strcmp(cmd, "devices") == 0)
    return cli_devices(argc - 1, argv + 1);
  fprintf(stderr, "clmetrics: error: unknown command '%s'\n\n", cmd);
  usage(stderr);
  return CLI_EXIT_USAGE;
}
