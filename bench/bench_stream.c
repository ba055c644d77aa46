/* Streams more than 2^32 samples through the library's update API with
 * constant memory: one generated batch fed again and again, as a training
 * loop would feed its epochs. Checks that every count is exact past 2^32
 * (the total must equal the batch's counts times the repetitions) and that
 * two streams merged equal one. Prints samples/s. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clmetrics.h"
#include "reference.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void check(clm_status st, const clm_error *err, const char *what) {
  if (st != CLM_OK) {
    fprintf(stderr, "bench_stream: %s: %s\n", what,
            err && err->message[0] ? err->message : clm_status_str(st));
    exit(1);
  }
}

int main(int argc, char **argv) {
  double total_d = 5e9; /* > 2^32 = 4.29e9 */
  uint64_t batch = (uint64_t)1 << 26;
  const char *device = NULL;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--total") && i + 1 < argc)
      total_d = strtod(argv[++i], NULL);
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
      batch = (uint64_t)strtod(argv[++i], NULL);
    else if (!strcmp(argv[i], "--device") && i + 1 < argc)
      device = argv[++i];
    else {
      fprintf(stderr, "usage: bench_stream [--total N (5e9)] [--batch B "
                      "(2^26)] [--device SPEC]\n");
      return 2;
    }
  }
  const uint64_t reps = (uint64_t)(total_d / (double)batch) + 1;
  uint8_t *y = malloc(batch);
  float *z = malloc(batch * sizeof(float));
  int32_t *yt = malloc(batch * sizeof(int32_t)),
          *yp = malloc(batch * sizeof(int32_t));
  if (!y || !z || !yt || !yp)
    return 1;
  clm_rng rng;
  clm_rng_seed(&rng, 0x5EED);
  for (uint64_t i = 0; i < batch; ++i) {
    const uint64_t s = clm_rng_next(&rng);
    y[i] = (s >> 40) % 10 < 3;
    z[i] = (float)((int)((s >> 20) % 2001) - 1000) / 250.0f;
    yt[i] = (int32_t)((s >> 33) % 10);
    yp[i] = (s >> 13) % 10 < 7 ? yt[i] : (int32_t)((s >> 50) % 10);
  }
  clm_context_options o;
  clm_context_options_init(&o);
  o.device = device;
  clm_context *ctx;
  clm_error err;
  check(clm_context_create(&o, &ctx, &err), &err, "context");
  const clm_device_info *dev = clm_context_device(ctx);
  printf("# bench_stream: %s / %s; batch %llu samples fed %llu times = "
         "%llu samples (2^32 = 4294967296)\n",
         dev->platform, dev->name, (unsigned long long)batch,
         (unsigned long long)reps, (unsigned long long)(batch * reps));

  /* Binary: one batch alone, then the stream into two merged states. */
  clm_binary_state one, a, b;
  check(clm_binary_state_init(&one, CLM_SCORES_LOGITS, 0.5, 0), NULL, "init");
  check(clm_binary_update(ctx, &one, y, z, batch, NULL, NULL, &err), &err,
        "update");
  check(clm_binary_state_init(&a, CLM_SCORES_LOGITS, 0.5, 0), NULL, "init");
  check(clm_binary_state_init(&b, CLM_SCORES_LOGITS, 0.5, 0), NULL, "init");
  double t0 = now_s();
  for (uint64_t r = 0; r < reps; ++r)
    check(
        clm_binary_update(ctx, r % 2 ? &b : &a, y, z, batch, NULL, NULL, &err),
        &err, "update");
  check(clm_binary_merge(&a, &b), NULL, "merge");
  double dt = now_s() - t0;
  int ok = a.n == one.n * reps && a.tp == one.tp * reps &&
           a.fp == one.fp * reps && a.tn == one.tn * reps &&
           a.fn == one.fn * reps && a.n > ((uint64_t)1 << 32);
  printf("binary      n=%llu tp=%llu fp=%llu tn=%llu fn=%llu  %.2f s  "
         "%.0f M samples/s  counts %s\n",
         (unsigned long long)a.n, (unsigned long long)a.tp,
         (unsigned long long)a.fp, (unsigned long long)a.tn,
         (unsigned long long)a.fn, dt, (double)a.n / dt / 1e6,
         ok ? "exact (= batch x reps)" : "WRONG");
  int all_ok = ok;

  /* Multi-class from labels, K = 10. */
  clm_multiclass_state m1, ma;
  check(clm_multiclass_state_init(&m1, 10, 0), NULL, "init");
  check(clm_multiclass_state_init(&ma, 10, 0), NULL, "init");
  check(clm_multiclass_update_labels(ctx, &m1, yt, yp, batch, &err), &err,
        "update");
  t0 = now_s();
  for (uint64_t r = 0; r < reps; ++r)
    check(clm_multiclass_update_labels(ctx, &ma, yt, yp, batch, &err), &err,
          "update");
  dt = now_s() - t0;
  ok = ma.n == m1.n * reps;
  for (int c = 0; c < 100; ++c)
    ok &= ma.confusion[c] == m1.confusion[c] * reps;
  printf("multiclass  n=%llu K=10 diagonal[0]=%llu  %.2f s  %.0f M "
         "samples/s  counts %s\n",
         (unsigned long long)ma.n, (unsigned long long)ma.confusion[0], dt,
         (double)ma.n / dt / 1e6, ok ? "exact (= batch x reps)" : "WRONG");
  all_ok &= ok;
  clm_multiclass_state_release(&m1);
  clm_multiclass_state_release(&ma);
  clm_binary_state_release(&one);
  clm_binary_state_release(&a);
  clm_binary_state_release(&b);
  clm_context_free(ctx);
  free(y), free(z), free(yt), free(yp);
  return all_ok ? 0 : 3;
}
