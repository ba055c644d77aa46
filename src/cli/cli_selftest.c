/* `clmetrics selftest`: proves the kernels on the user's device. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: clmetrics selftest [--device SPEC | --all]\n\n"
          "Runs every kernel on the device (default: as for other commands;\n"
          "--all: every device) over fixed inputs — awkward sizes, extreme\n"
          "values, every work-group size and confusion strategy the engine\n"
          "may pick — and compares with a double-precision CPU reference.\n"
          "Prints a pass/fail table with the worst error (in units of the\n"
          "tolerance); exits non-zero if any check fails.\n");
}

static int run_one(const char *device) {
  clm_context_options o;
  clm_context_options_init(&o);
  o.device = device;
  enum { CAP = 64 };
  clm_selftest_row rows[CAP];
  size_t count = 0;
  clm_error err;
  clm_context *ctx = NULL;
  if (cli_open_context(device, &ctx) != CLI_EXIT_OK)
    return CLI_EXIT_ERROR;
  const clm_device_info *d = clm_context_device(ctx);
  printf("self-test on [%u] %s / %s (%s)\n", d->index, d->platform, d->name,
         d->type);
  printf("build options: %s\n\n", clm_context_build_options(ctx));
  clm_context_free(ctx);
  const double t0 = cli_now();
  clm_status st = clm_selftest(&o, rows, CAP, &count, &err);
  printf("  %-12s %-32s %6s %10s  %s\n", "kernel", "configuration", "cases",
         "worst", "result");
  for (size_t i = 0; i < count && i < CAP; ++i) {
    const clm_selftest_row *r = &rows[i];
    printf("  %-12s %-32s %6u %10.3g  %s", r->kernel, r->config, r->cases,
           r->worst, r->passed ? "pass" : "FAIL");
    printf(" (%s)\n", r->detail);
  }
  printf("\n'worst' is the largest error seen over its tolerance (pass <= "
         "1); %.1f s\n",
         cli_now() - t0);
  if (st == CLM_OK) {
    printf("all %zu checks passed\n", count);
    return CLI_EXIT_OK;
  }
  cli_error("%s", err.message[0] ? err.message : clm_status_str(st));
  return CLI_EXIT_ERROR;
}

int cli_selftest(int argc, char **argv) {
  const char *device = NULL;
  int all = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return CLI_EXIT_OK;
    } else if (strcmp(argv[i], "--all") == 0) {
      all = 1;
    } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
      device = argv[++i];
    } else {
      return cli_usage_error("selftest", "unknown or incomplete option '%s'",
                             argv[i]);
    }
  }
  if (!all)
    return run_one(device);
  size_t count = 0;
  clm_error err;
  if (clm_devices_list(NULL, 0, &count, &err) != CLM_OK) {
    cli_error("%s", err.message);
    return CLI_EXIT_ERROR;
  }
  int rc = CLI_EXIT_OK;
  for (size_t i = 0; i < count; ++i) {
    char spec[32];
    snprintf(spec, sizeof spec, "%zu", i);
    if (run_one(spec) != CLI_EXIT_OK)
      rc = CLI_EXIT_ERROR;
    printf("\n");
  }
  return rc;
}
