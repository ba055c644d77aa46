/* The end-to-end baseline a C programmer would write: mmap two .npy files
 * (uint8 labels, float32 logits) and run the fast-math OpenMP loop over
 * them; prints the counts, the mean loss and the seconds spent after exec
 * (mapping included). Usage: e2e_cloop LABELS.npy SCORES.npy */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "baselines.h"

/* Maps a 1-D .npy file of `descr`; returns the data and its length. */
static const void *map_npy(const char *path, const char *descr, size_t item,
                           size_t *n) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    perror(path);
    exit(1);
  }
  const unsigned char *p =
      mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED || memcmp(p, "\x93NUMPY", 6) != 0) {
    fprintf(stderr, "%s: not an .npy file\n", path);
    exit(1);
  }
  size_t hl =
      p[6] == 1
          ? (size_t)(p[8] | p[9] << 8)
          : (size_t)(p[8] | p[9] << 8 | p[10] << 16 | (size_t)p[11] << 24);
  size_t off = (p[6] == 1 ? 10 : 12) + hl;
  char header[512] = {0};
  memcpy(header, p, off < sizeof header - 1 ? off : sizeof header - 1);
  if (!strstr(header + (p[6] == 1 ? 10 : 12), descr)) {
    fprintf(stderr, "%s: expected dtype %s\n", path, descr);
    exit(1);
  }
  *n = ((size_t)st.st_size - off) / item;
  madvise((void *)p, (size_t)st.st_size, MADV_SEQUENTIAL);
  return p + off;
}

int main(int argc, char **argv) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (argc != 3) {
    fprintf(stderr, "usage: e2e_cloop LABELS.npy SCORES.npy\n");
    return 2;
  }
  size_t n, m;
  const uint8_t *y = map_npy(argv[1], "|u1", 1, &n);
  const float *z = map_npy(argv[2], "<f4", 4, &m);
  if (n != m) {
    fprintf(stderr, "length mismatch\n");
    return 1;
  }
  bl_result r;
  bl_binary_omp_nograd_fast(y, z, n, &r);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("{\"n\": %zu, \"tp\": %llu, \"fp\": %llu, \"tn\": %llu, \"fn\": "
         "%llu, \"bce_mean\": %.9g, \"seconds\": %.6f}\n",
         n, (unsigned long long)r.tp, (unsigned long long)r.fp,
         (unsigned long long)r.tn, (unsigned long long)r.fn,
         r.loss_sum / (double)n,
         (double)(t1.tv_sec - t0.tv_sec) +
             1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
  return 0;
}
