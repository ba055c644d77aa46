/* libFuzzer target: the .npy reader and every conversion of what it loads. */
#include <stdint.h>

#include "clmetrics.h"
#include "fuzz_common.h"

static void exercise(clm_array *a) {
  const uint8_t *u8;
  const int32_t *i32;
  const float *f32;
  clm_error err;
  const uint64_t rows = clm_array_rows(a), cols = clm_array_cols(a);
  volatile uint64_t sink = rows * cols;
  if (clm_array_labels_u8(a, &u8, &err) == CLM_OK && rows > 0)
    sink += u8[rows - 1];
  if (clm_array_labels_i32(a, &i32, &err) == CLM_OK && rows > 0)
    sink += (uint64_t)i32[rows - 1];
  if (clm_array_values_f32(a, &f32, &err) == CLM_OK && rows * cols > 0)
    sink += (uint64_t)(f32[rows * cols - 1] == 0.0f);
  (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_write_file(".npy", data, size);
  clm_array *a = NULL;
  clm_error err;
  if (clm_array_load_npy(path, &a, &err) == CLM_OK)
    exercise(a);
  clm_array_free(a);
  return 0;
}
