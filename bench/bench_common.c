/* Shared benchmark helpers; see bench_common.h. */
#include "bench_common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

double bc_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bc_own_cpu_s(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return 0.0;
  return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
         (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

int bc_proc_stat_busy(double *busy_s, double *steal_s) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f)
    return -1;
  unsigned long long v[8] = {0};
  int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (got < 7)
    return -1;
  const double hz = (double)sysconf(_SC_CLK_TCK);
  /* user nice system idle iowait irq softirq steal */
  *busy_s = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
  *steal_s = (double)v[7] / hz;
  return 0;
}

void bc_read_loadavg(char *buf, size_t cap) {
  snprintf(buf, cap, "unavailable");
  FILE *f = fopen("/proc/loadavg", "r");
  if (!f)
    return;
  if (fgets(buf, (int)cap, f)) {
    size_t len = strlen(buf);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
      buf[--len] = '\0';
  }
  fclose(f);
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bc_median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int bc_parse_sizes(const char *s, uint64_t *out, int cap) {
  int k = 0;
  while (*s) {
    char *end;
    errno = 0;
    const double v = strtod(s, &end);
    if (end == s || errno || !(v >= 1.0) || v > 1e12 || v != floor(v) ||
        k == cap)
      return -1;
    out[k++] = (uint64_t)v;
    s = end;
    if (*s == ',')
      ++s;
    else if (*s)
      return -1;
  }
  return k;
}

void bc_csv_quote(const char *in, char *out, size_t cap) {
  size_t o = 0;
  if (cap < 3) {
    if (cap)
      out[0] = '\0';
    return;
  }
  out[o++] = '"';
  for (const char *p = in; *p && o < cap - 3; ++p) {
    if (*p == '"')
      out[o++] = '"';
    out[o++] = *p;
  }
  out[o++] = '"';
  out[o] = '\0';
}

void bc_quiet_probe(bc_quiet *q) {
  bc_read_loadavg(q->loadavg, sizeof q->loadavg);
  q->ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
  q->idle_busy_cores = -1.0;
  double busy0 = 0, steal0 = 0, busy1 = 0, steal1 = 0;
  if (bc_proc_stat_busy(&busy0, &steal0) == 0) {
    const double t0 = bc_now_s();
    const struct timespec half = {0, 500000000L};
    nanosleep(&half, NULL);
    if (bc_proc_stat_busy(&busy1, &steal1) == 0)
      q->idle_busy_cores = (busy1 - busy0) / (bc_now_s() - t0);
  }
}

void bc_quiet_print(const bc_quiet *q) {
  printf("# /proc/loadavg before start: %s\n", q->loadavg);
  if (q->idle_busy_cores >= 0.0)
    printf("# CPU busy before start (0.5 s, this process asleep): %.2f of %d "
           "cores -> %s\n",
           q->idle_busy_cores, q->ncpu,
           q->idle_busy_cores > 0.25
               ? "other work is running: multi-thread figures are suspect"
               : "the other cores look free");
}

void bc_meter_start(bc_meter *m) {
  m->have_stat = bc_proc_stat_busy(&m->busy0, &m->steal0) == 0;
  m->cpu0 = bc_own_cpu_s();
  m->t0 = bc_now_s();
}

void bc_meter_print(const bc_meter *m) {
  const double wall = bc_now_s() - m->t0;
  const double cpu = bc_own_cpu_s() - m->cpu0;
  double busy1 = 0, steal1 = 0;
  if (m->have_stat && bc_proc_stat_busy(&busy1, &steal1) == 0) {
    const double others = (busy1 - m->busy0) - cpu;
    printf("# during the timed runs (%.1f s): this process used %.1f CPU-s; "
           "other work ~%.1f CPU-s (%.2f cores on average); steal %.1f s\n",
           wall, cpu, others > 0 ? others : 0.0,
           (others > 0 ? others : 0.0) / wall, steal1 - m->steal0);
  }
}

void bc_omp_passive(int argc, char **argv) {
  if (!getenv("OMP_WAIT_POLICY") && argc > 0) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);
    /* No /proc: on with the default policy (bc_omp_policy says which). */
    unsetenv("OMP_WAIT_POLICY");
  }
}

const char *bc_omp_policy(void) {
  const char *p = getenv("OMP_WAIT_POLICY");
  return p ? p : "unset";
}
