/* Shared by the fuzz targets: the input written to a per-process file, since
 * the readers take paths (and .npy files are memory-mapped). */
#ifndef CLM_FUZZ_COMMON_H
#define CLM_FUZZ_COMMON_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clmetrics.h"

static char fuzz_path[256];

static void fuzz_remove_file(void) {
  if (fuzz_path[0])
    unlink(fuzz_path);
}

/* The process's input file: created once under an unpredictable name
 * (mkstemps, so nobody else's file or link can be in its place), rewritten
 * for each input, removed at exit. */
static const char *fuzz_write_file(const char *ext, const uint8_t *data,
                                   size_t size) {
  int fd;
  if (!fuzz_path[0]) {
    const char *dir = getenv("TMPDIR");
    snprintf(fuzz_path, sizeof fuzz_path, "%s/clm_fuzz_XXXXXX%s",
             dir ? dir : "/tmp", ext);
    fd = mkstemps(fuzz_path, (int)strlen(ext));
    if (fd < 0)
      abort();
    atexit(fuzz_remove_file);
  } else {
    fd = open(fuzz_path, O_WRONLY | O_TRUNC | O_NOFOLLOW);
  }
  if (fd < 0)
    abort();
  size_t done = 0;
  while (done < size) {
    ssize_t k = write(fd, data + done, size - done);
    if (k <= 0)
      abort();
    done += (size_t)k;
  }
  close(fd);
  return fuzz_path;
}

/* Loads the input with `load` and runs every conversion of what it read. */
static int fuzz_reader(const char *ext,
                       clm_status (*load)(const char *, clm_array **,
                                          clm_error *),
                       const uint8_t *data, size_t size) {
  const char *path = fuzz_write_file(ext, data, size);
  clm_array *a = NULL;
  clm_error err;
  if (load(path, &a, &err) == CLM_OK) {
    const uint8_t *u8;
    const int32_t *i32;
    const float *f32;
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
  clm_array_free(a);
  return 0;
}

#endif
