/* Helpers shared by the benchmark programs: clocks, medians, --sizes parsing,
 * CSV quoting, and the "is the machine quiet?" header lines and footer (load
 * average, CPU used by other work). */
#ifndef CLM_BENCH_COMMON_H
#define CLM_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic wall clock, seconds. */
double bc_now_s(void);

/* libgomp reads OMP_WAIT_POLICY once, at load time. Left active, a
 * baseline's idle OpenMP threads spin for milliseconds after each parallel
 * loop and take the cores from PoCL's threads in the variant timed next
 * (bench_multilabel measured clmetrics at 0.80 instead of 1.19 Gcells/s).
 * Re-executes the program with OMP_WAIT_POLICY=passive unless the caller
 * chose a policy; returns (going on with the default policy) when it
 * cannot. Call first in main. */
void bc_omp_passive(int argc, char **argv);
/* The policy in force, for the header lines ("unset" if none). */
const char *bc_omp_policy(void);
/* CPU time (user + system) of this process, seconds. */
double bc_own_cpu_s(void);
/* Machine-wide busy and steal time from /proc/stat, seconds; -1 if
 * unavailable. */
int bc_proc_stat_busy(double *busy_s, double *steal_s);
/* First line of /proc/loadavg, or "unavailable". */
void bc_read_loadavg(char *buf, size_t cap);

/* Sorts v and returns its median. */
double bc_median(double *v, int n);

/* Parses "1e6,1e7,..." (integral values in [1, 1e12]) into out; returns the
 * count, or -1 on a malformed list or more than cap values. */
int bc_parse_sizes(const char *s, uint64_t *out, int cap);

/* Writes `in` as a quoted CSV field (quotes doubled) into out. */
void bc_csv_quote(const char *in, char *out, size_t cap);

/* Before the start: load average, then 0.5 s of /proc/stat while this
 * process sleeps (how many cores other work keeps busy). */
typedef struct bc_quiet {
  char loadavg[128];
  int ncpu;
  double idle_busy_cores; /* -1 when /proc/stat is unreadable */
} bc_quiet;
void bc_quiet_probe(bc_quiet *q);
/* The two header lines ("# /proc/loadavg before start", "# CPU busy ..."). */
void bc_quiet_print(const bc_quiet *q);

/* Around the timed runs: CPU used by other processes meanwhile. */
typedef struct bc_meter {
  int have_stat;
  double busy0, steal0, cpu0, t0;
} bc_meter;
void bc_meter_start(bc_meter *m);
/* The footer line ("# during the timed runs ..."). */
void bc_meter_print(const bc_meter *m);

#endif
