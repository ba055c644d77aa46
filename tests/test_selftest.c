/* The device self-test passes on a correct device and catches a wrong one. */
#include <criterion/criterion.h>

#include <dirent.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clmetrics.h"

static void skip_without_device(void) {
  size_t count = 0;
  clm_error err;
  if (clm_devices_list(NULL, 0, &count, &err) != CLM_OK)
    cr_skip_test("no OpenCL device: %s", err.message);
}

Test(selftest, passes_on_this_device) {
  skip_without_device();
  clm_selftest_row rows[64];
  size_t count = 0;
  clm_error err;
  clm_status st = clm_selftest(NULL, rows, 64, &count, &err);
  for (size_t i = 0; i < count && i < 64; ++i)
    cr_expect(rows[i].passed, "%s %s: %s", rows[i].kernel, rows[i].config,
              rows[i].detail);
  cr_assert_eq(st, CLM_OK, "%s", err.message);
  cr_assert_geq(count, 10u);
  int kinds = 0;
  const char *names[] = {"binary", "weight_grad", "confusion", "argmax_ce",
                         "calibration"};
  for (int q = 0; q < 5; ++q)
    for (size_t i = 0; i < count; ++i)
      if (strcmp(rows[i].kernel, names[q]) == 0) {
        ++kinds;
        break;
      }
  cr_assert_eq(kinds, 5, "every kernel is exercised");
}

/* The kernel source files (every file of the kernels directory). */
static int kernel_files(char names[32][256]) {
  DIR *d = opendir(CLM_KERNEL_SOURCE_DIR);
  cr_assert_not_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < 32)
    if (e->d_name[0] != '.')
      snprintf(names[n++], 256, "%s", e->d_name);
  closedir(d);
  return n;
}

/* Copies the kernel sources, replacing `from` with `to` in `file`. */
static void broken_kernels(char *dir, const char *file, const char *from,
                           const char *to) {
  char names[32][256];
  const int n_names = kernel_files(names);
  for (int i = 0; i < n_names; ++i) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%.255s", CLM_KERNEL_SOURCE_DIR, names[i]);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    snprintf(path, sizeof path, "%.1024s/%.255s", dir, names[i]);
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    char *hit = strcmp(names[i], file) == 0 ? strstr(buf, from) : NULL;
    if (strcmp(names[i], file) == 0)
      cr_assert_not_null(hit, "'%s' not found in %s", from, file);
    if (hit) {
      fwrite(buf, 1, (size_t)(hit - buf), f);
      fputs(to, f);
      fputs(hit + strlen(from), f);
    } else {
      fputs(buf, f);
    }
    fclose(f);
  }
}

static void expect_failure(const char *file, const char *from, const char *to,
                           const char *kernel) {
  skip_without_device();
  char dir[] = "/tmp/clm_selftest_XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  broken_kernels(dir, file, from, to);
  clm_context_options o;
  clm_context_options_init(&o);
  o.kernel_dir = dir;
  clm_selftest_row rows[64];
  size_t count = 0;
  clm_error err;
  clm_status st = clm_selftest(&o, rows, 64, &count, &err);
  cr_assert_eq(st, CLM_ERR_SELFTEST, "status %d: %s", st, err.message);
  int caught = 0;
  for (size_t i = 0; i < count && i < 64; ++i)
    caught |= !rows[i].passed && strcmp(rows[i].kernel, kernel) == 0;
  cr_assert(caught, "no failing %s row", kernel);
  char names[32][256];
  const int n_names = kernel_files(names);
  for (int i = 0; i < n_names; ++i) {
    char path[4096];
    snprintf(path, sizeof path, "%.1024s/%.255s", dir, names[i]);
    remove(path);
  }
  rmdir(dir);
}

Test(selftest, catches_a_wrong_decision_rule) {
  expect_failure("binary.cl", "(z > thr)", "(z >= thr)", "binary");
}

Test(selftest, catches_a_wrong_calibration_bin) {
  expect_failure("calibration.cl", "p > (floatv)edges[e]",
                 "p >= (floatv)edges[e]", "calibration");
}

Test(selftest, catches_a_wrong_confusion_count) {
  expect_failure("multiclass.cl", "atomic_inc(&cm[(ulong)a * k + b]);",
                 "atomic_inc(&cm[(ulong)b * k + a]);", "confusion");
}
