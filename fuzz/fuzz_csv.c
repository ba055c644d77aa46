/* libFuzzer target: the CSV reader and every conversion of what it loads. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_reader(".csv", clm_array_load_csv, data, size);
}
