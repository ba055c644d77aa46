/* Messages, option parsing, input and context opening, and the report
 * pieces both commands share, for the CLI. */
#include "cli.h"
#include "cli_mpi.h"
#include "cli_outputs.h"
#include "cli_ranking.h"
#include "cli_shards.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

double cli_start_time;

double cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  const int len = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (len < 0) {
    fputs("clmetrics: error: (out of memory formatting the message)\n", stderr);
    return;
  }
  /* A row of a sharded input is named by its shard file and row. */
  const size_t cap = (size_t)len + 4096;
  char *located = malloc(cap);
  if (located)
    cli_shards_locate(msg, located, cap);
  const char *out = located ? located : msg;
  /* Under MPI rank 0 prints every rank's messages once, at the end. */
  if (!cli_mpi_capture(out))
    fprintf(stderr, "clmetrics: error: %s\n", out);
  free(located);
  free(msg);
}

void cli_warning(const char *fmt, ...) {
  if (cli_mpi_rank() > 0) /* every rank would say the same */
    return;
  va_list ap;
  va_start(ap, fmt);
  fputs("clmetrics: warning: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  if (cli_mpi_rank() > 0) /* every rank has the same arguments */
    return CLI_EXIT_USAGE;
  va_list ap;
  va_start(ap, fmt);
  fputs("clmetrics: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see `clmetrics %s --help`)\n", cmd);
  va_end(ap);
  return CLI_EXIT_USAGE;
}

int cli_report_error(const clm_error *err, clm_status st) {
  cli_error("%s", err->message[0] ? err->message : clm_status_str(st));
  return CLI_EXIT_ERROR;
}

void cli_name_file(clm_error *err, const char *path) {
  char msg[sizeof err->message];
  const int w = snprintf(msg, sizeof msg, "%s: ", path);
  if (w > 0 && (size_t)w < sizeof msg)
    snprintf(msg + w, sizeof msg - (size_t)w, "%.*s",
             (int)(sizeof msg - (size_t)w - 1), err->message);
  memcpy(err->message, msg, sizeof msg);
}

const char *cli_input_path(clm_input input, const char *labels,
                           const char *pred, const char *scores,
                           const char *weights) {
  switch (input) {
  case CLM_INPUT_WEIGHTS:
    return weights;
  case CLM_INPUT_LABELS:
    return labels;
  case CLM_INPUT_PRED:
    return pred;
  case CLM_INPUT_SCORES:
    return scores;
  default:
    return NULL;
  }
}

int cli_load_input(const char *path, clm_array **out) {
  if (!path)
    return CLI_EXIT_OK;
  if (cli_shards_wanted(path))
    return cli_shards_load(path, out);
  return cli_load_file(path, out);
}

int cli_load_file(const char *path, clm_array **out) {
  if (!path)
    return CLI_EXIT_OK;
  clm_error err;
  const clm_status st = clm_array_load(path, out, &err);
  return st == CLM_OK ? CLI_EXIT_OK : cli_report_error(&err, st);
}

int cli_take_value(int argc, char **argv, int *i, const char *const *with_value,
                   const char *cmd, const char **value) {
  const char *arg = argv[*i];
  int known = 0;
  for (const char *const *w = with_value; *w; ++w)
    known |= strcmp(arg, *w) == 0;
  if (!known)
    return cli_usage_error(cmd, "unknown option '%s'", arg);
  if (*i + 1 >= argc)
    return cli_usage_error(cmd, "option %s needs a value", arg);
  *value = argv[++*i];
  return -1;
}

int cli_parse_double(const char *s, double *out) {
  if (!s || !*s)
    return -1;
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  /* Underflow (a subnormal or smaller) is a usable value; overflow is not. */
  if (*end != '\0' || (errno == ERANGE && fabs(v) > 1.0))
    return -1;
  *out = v;
  return 0;
}

int cli_parse_u64(const char *s, unsigned long long *out) {
  if (!s || !*s || *s == '-')
    return -1;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end != '\0' || errno == ERANGE)
    return -1;
  *out = v;
  return 0;
}

int cli_parse_scores_kind(const char *s, clm_scores_kind *out) {
  if (!s)
    return -1;
  if (strcmp(s, "logits") == 0)
    *out = CLM_SCORES_LOGITS;
  else if (strcmp(s, "probs") == 0 || strcmp(s, "probabilities") == 0)
    *out = CLM_SCORES_PROBS;
  else
    return -1;
  return 0;
}

int cli_parse_zero_division(const char *s, clm_zero_division *out) {
  if (!s)
    return -1;
  if (strcmp(s, "0") == 0)
    *out = CLM_ZERO_DIVISION_ZERO;
  else if (strcmp(s, "1") == 0)
    *out = CLM_ZERO_DIVISION_ONE;
  else if (strcmp(s, "nan") == 0 || strcmp(s, "NaN") == 0)
    *out = CLM_ZERO_DIVISION_NAN;
  else
    return -1;
  return 0;
}

static void log_to_stderr(void *user, clm_log_level level,
                          const char *message) {
  (void)user;
  if (level >= CLM_LOG_WARNING)
    cli_warning("%s", message);
  else if (getenv("CLMETRICS_VERBOSE"))
    fprintf(stderr, "clmetrics: %s\n", message);
}

/* A progress bar on stderr for runs past about a second, only when stderr
 * is a terminal: rate and time left, redrawn at most 10 times a second. */
struct progress {
  double t0, last;
  int shown;
  /* A command feeding its input in batches: the batch's first row and the
   * whole input's rows (0: each update call is the whole run). */
  uint64_t base, total;
};
static struct progress progress_state;

void cli_progress_batch(uint64_t first, uint64_t total) {
  progress_state.base = first;
  progress_state.total = total;
}

static void progress_to_stderr(void *user, uint64_t done, uint64_t total) {
  struct progress *p = user;
  if (p->total) {
    done += p->base;
    total = p->total;
  }
  const double now = cli_now();
  const int finished = done >= total;
  if (p->t0 == 0)
    p->t0 = now; /* the first chunk of an update call */
  if (now - p->t0 >= 1.0 && (now - p->last >= 0.1 || finished) && isatty(2)) {
    p->last = now;
    const double frac = total ? (double)done / (double)total : 1.0;
    const double rate = (double)done / (now - p->t0);
    char r[32], bar[31];
    cli_format_rate(rate, r, sizeof r);
    for (int i = 0; i < 30; ++i)
      bar[i] = i < (int)(frac * 30) ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\r[%s] %5.1f%%  %ssamples/s  ETA %.0f s ", bar,
            100.0 * frac, r, rate > 0 ? (double)(total - done) / rate : 0.0);
    p->shown = 1;
  }
  if (finished) {
    if (p->shown)
      fputs("\r\033[K", stderr); /* clear the line before the report */
    p->shown = 0;
    p->t0 = 0;
  }
}

int cli_report_device_error(clm_status st, const clm_error *err) {
  const char *msg = err->message[0] ? err->message : clm_status_str(st);
  const char *cache = cli_kernel_cache_problem();
  size_t count = 1;
  clm_error probe;
  /* Without a cache directory PoCL reports no device at all (not a device
   * spec that matched nothing): name the cache problem instead. */
  if (cache && st == CLM_ERR_NO_DEVICE &&
      clm_devices_list(NULL, 0, &count, &probe) != CLM_ERR_NO_PLATFORM &&
      count == 0)
    cli_error("%s: PoCL needs a writable kernel cache directory and none "
              "was usable (tried %s); set POCL_CACHE_DIR, HOME or TMPDIR to "
              "a directory you own",
              msg, cache);
  else
    cli_error("%s", msg);
  return CLI_EXIT_ERROR;
}

int cli_open_context(const char *device, clm_context **out) {
  clm_context_options opts;
  clm_context_options_init(&opts);
  opts.device = device;
  opts.log = log_to_stderr;
  opts.progress = progress_to_stderr;
  opts.progress_user = &progress_state;
  /* Samples per kernel launch: a whole number from 1 to 2^30 (the
   * library's cap), or the variable unset/empty. */
  const char *chunk = getenv("CLMETRICS_CHUNK");
  if (chunk && *chunk) {
    unsigned long long c = 0;
    if (strspn(chunk, "0123456789") != strlen(chunk) ||
        cli_parse_u64(chunk, &c) != 0 || c == 0 || c > (1ULL << 30)) {
      cli_error("CLMETRICS_CHUNK=%s is not a number of samples per launch "
                "(a whole number from 1 to %llu)",
                chunk, 1ULL << 30);
      return CLI_EXIT_USAGE;
    }
    opts.chunk_samples = c;
  }
  /* The runtime's worker threads start with our signals blocked, so a
   * signal reaches the main thread, never in the middle of registering a
   * temporary output. */
  sigset_t old;
  cli_block_signals(&old);
  clm_error err;
  clm_status st = clm_context_create(&opts, out, &err);
  cli_restore_signals(&old);
  if (st != CLM_OK)
    return cli_report_device_error(st, &err);
  /* The OpenCL runtime's compiler installs crash handlers of its own:
   * ours (temporary outputs, truncated inputs) go back on top. */
  cli_install_signal_handlers();
  return CLI_EXIT_OK;
}

void cli_format_rate(double v, char *buf, size_t cap) {
  if (!isfinite(v))
    snprintf(buf, cap, "-");
  else if (v >= 1e9)
    snprintf(buf, cap, "%.2f G", v / 1e9);
  else if (v >= 1e6)
    snprintf(buf, cap, "%.1f M", v / 1e6);
  else if (v >= 1e3)
    snprintf(buf, cap, "%.1f k", v / 1e3);
  else
    snprintf(buf, cap, "%.0f ", v);
}

const char *cli_zero_division_name(clm_zero_division zd) {
  return zd == CLM_ZERO_DIVISION_ONE   ? "1"
         : zd == CLM_ZERO_DIVISION_NAN ? "nan"
                                       : "0";
}

void cli_print_device(FILE *f, const clm_context *ctx) {
  const clm_device_info *dev = clm_context_device(ctx);
  if (!dev) { /* a report merged from saved states */
    fprintf(f, "merged from saved states (no device used)\n\n");
    return;
  }
  fprintf(f, "device: %s / %s (%s)\n\n", dev->platform, dev->name, dev->type);
}

void cli_json_device(struct json *j, const clm_context *ctx) {
  const clm_device_info *dev = clm_context_device(ctx);
  if (!dev) { /* merged from saved states: no device */
    json_key(j, "device");
    fputs("null", j->f);
    return;
  }
  json_object_open(j, "device");
  json_string(j, "platform", dev->platform);
  json_string(j, "name", dev->name);
  json_string(j, "type", dev->type);
  json_object_close(j);
}

void cli_json_timing(struct json *j, double startup_s, double compute_s,
                     double total_s, const struct cli_ranking_out *ranking) {
  json_object_open(j, "timing");
  json_number(j, "startup_s", startup_s);
  json_number(j, "compute_s", compute_s);
  json_number(j, "total_s", total_s);
  cli_ranking_json_timing(j, ranking);
  json_object_close(j);
}
