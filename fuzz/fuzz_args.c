/* libFuzzer target: command-line parsing of `binary` and `multiclass`. The
 * input is split at NUL or newline bytes into at most 40 arguments. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 1);
  if (!buf)
    return 0;
  memcpy(buf, data, size);
  buf[size] = '\0';
  char *argv[42];
  int argc = 0;
  argv[argc++] = "cmd";
  char *p = buf;
  for (size_t i = 0; i <= size && argc < 41; ++i) {
    if (i == size || buf[i] == '\0' || buf[i] == '\n') {
      buf[i] = '\0';
      argv[argc++] = p;
      p = buf + i + 1;
    }
  }
  argv[argc] = NULL;
  struct cli_binary_args b;
  memset(&b, 0, sizeof b);
  cli_binary_parse_args(argc, argv, &b);
  struct cli_multiclass_args m;
  memset(&m, 0, sizeof m);
  cli_multiclass_parse_args(argc, argv, &m);
  free(buf);
  return 0;
}
