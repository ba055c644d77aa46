/* Shared by the fuzz targets: the input written to a per-process file, since
 * the readers take paths (and .npy files are memory-mapped). */
#ifndef CLM_FUZZ_COMMON_H
#define CLM_FUZZ_COMMON_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *fuzz_write_file(const char *ext, const uint8_t *data,
                                   size_t size) {
  static char path[256];
  if (!path[0]) {
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/clm_fuzz_%ld%s", dir ? dir : "/tmp",
             (long)getpid(), ext);
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
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
  return path;
}

#endif
