/* clmetrics: the command-line front end. Uses only the public API. */
#include "cli.h"
#include "cli_mpi.h"
#include "cli_outputs.h"
#include "cli_shards.h"
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
          "  --version   print the version (and whether MPI is built in)\n\n"
          "inputs: every sample-aligned file (--labels, --scores, --pred,\n"
          "  --weights, --features) may be a glob of shards ('y_*.npy',\n"
          "  sorted by name) or @LIST (one path per line); under mpirun\n"
          "  each rank reads its rows (whole shards, or even row ranges\n"
          "  with --split-rows or fewer shards than ranks).\n\n"
          "environment: CLMETRICS_DEVICE (device index or name substring),\n"
          "  CLMETRICS_KERNEL_DIR (load .cl files from a directory),\n"
          "  CLMETRICS_CHUNK (samples per kernel launch).\n");
}

static int run(int argc, char **argv);

int main(int argc, char **argv) {
  /* Under mpirun (with MPI built in): MPI_Init and this rank's device.
   * Not launched by mpirun, nothing changes. */
  int rc = cli_mpi_init(argc, argv);
  if (rc >= 0)
    return rc;
  rc = run(argc, argv);
  /* Under MPI: the final agreement; failing ranks' messages. */
  rc = cli_mpi_finish(rc);
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
    printf("clmetrics %s\nMPI: %s\n", clm_version_string(), cli_mpi_version());
    return CLI_EXIT_OK;
  }
  /* --split-rows (any command, for sharded inputs under MPI): rows split
   * evenly between the ranks even when each could take whole shards. */
  for (int i = 2; i < argc; ++i)
    if (strcmp(argv[i], "--split-rows") == 0) {
      cli_shards_split_rows = 1;
      memmove(argv + i, argv + i + 1, (size_t)(argc - i) * sizeof *argv);
      --argc;
      --i;
    }
  const int mrc = cli_mpi_check_args(argc - 1, argv + 1);
  if (mrc >= 0)
    return mrc;
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
