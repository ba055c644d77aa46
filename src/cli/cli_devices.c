/* `clmetrics devices`: every platform and device, with the index to pass to
 * --device. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_devices(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: clmetrics devices\n\n"
             "Lists the OpenCL platforms and devices. Choose one with\n"
             "--device SPEC or CLMETRICS_DEVICE=SPEC, where SPEC is the index\n"
             "shown here or a case-insensitive substring of the platform and\n"
             "device name. Default: the first GPU, else the first device.\n");
      return CLI_EXIT_OK;
    }
    return cli_usage_error("devices", "unknown argument '%s'", argv[i]);
  }
  size_t count = 0;
  clm_error err;
  clm_status st = clm_devices_list(NULL, 0, &count, &err);
  if (st != CLM_OK)
    return cli_report_device_error(st, &err);
  clm_device_info *info = calloc(count, sizeof *info);
  if (!info) {
    cli_error("out of memory");
    return CLI_EXIT_ERROR;
  }
  st = clm_devices_list(info, count, &count, &err);
  if (st != CLM_OK) {
    cli_error("%s", err.message);
    free(info);
    return CLI_EXIT_ERROR;
  }
  unsigned last_platform = (unsigned)-1;
  for (size_t i = 0; i < count; ++i) {
    const clm_device_info *d = &info[i];
    if (d->platform_index != last_platform) {
      printf("platform %u: %s\n", d->platform_index, d->platform);
      last_platform = d->platform_index;
    }
    printf("  [%u] %s (%s)\n", d->index, d->name, d->type);
    printf("      %s, driver %s\n", d->version, d->driver);
    printf("      %u compute units, %.1f GiB global memory, max allocation "
           "%.2f GiB, %.0f KiB local memory%s\n",
           d->compute_units, (double)d->global_mem_bytes / (1 << 30),
           (double)d->max_alloc_bytes / (1 << 30),
           (double)d->local_mem_bytes / 1024,
           d->host_unified_memory ? ", shares host memory" : "");
  }
  free(info);
  return CLI_EXIT_OK;
}
