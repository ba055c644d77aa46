/* Output safety for the CLI: refusing outputs that would destroy an input
 * or each other, removing temporary files on fatal signals, and a clear
 * message when a memory-mapped input shrinks under us (SIGBUS). */
#include "cli_mpi.h"
#include "cli_outputs.h"

#include <pthread.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- what a path names ------------------------------------------------ */

struct file_id {
  int exists, regular;
  dev_t dev;
  ino_t ino;
  char *canon; /* for a file that does not exist yet: realpath(dir)/base */
};

static void identify(const char *path, struct file_id *id) {
  memset(id, 0, sizeof *id);
  if (!path)
    return;
  struct stat st;
  if (stat(path, &st) == 0) {
    id->exists = 1;
    id->regular = S_ISREG(st.st_mode);
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    return;
  }
  char *d = strdup(path), *b = strdup(path);
  if (d && b) {
    char *dir = realpath(dirname(d), NULL);
    const char *base = basename(b);
    if (dir) {
      const size_t n = strlen(dir) + strlen(base) + 2;
      id->canon = malloc(n);
      if (id->canon)
        snprintf(id->canon, n, "%s/%s", dir, base);
    }
    free(dir);
  }
  free(d);
  free(b);
}

static int same_file(const struct file_id *a, const struct file_id *b) {
  if (a->exists && b->exists)
    return a->dev == b->dev && a->ino == b->ino;
  if (!a->exists && !b->exists && a->canon && b->canon)
    return strcmp(a->canon, b->canon) == 0;
  return 0;
}

int cli_check_outputs(const struct cli_file *inputs, size_t n_in,
                      const struct cli_file *outputs, size_t n_out) {
  struct file_id in[8], out[8];
  int rc = -1;
  n_in = n_in < 8 ? n_in : 8;
  n_out = n_out < 8 ? n_out : 8;
  for (size_t i = 0; i < n_in; ++i)
    identify(inputs[i].path, &in[i]);
  for (size_t o = 0; o < n_out; ++o)
    identify(outputs[o].path, &out[o]);
  for (size_t o = 0; o < n_out && rc < 0; ++o) {
    if (!outputs[o].path || (out[o].exists && !out[o].regular))
      continue; /* /dev/null, a FIFO: written through, never replaced */
    for (size_t i = 0; i < n_in && rc < 0; ++i)
      if (inputs[i].path && in[i].exists && same_file(&out[o], &in[i])) {
        cli_error("%s %s is the same file as %s %s: refusing to overwrite "
                  "an input",
                  outputs[o].flag, outputs[o].path, inputs[i].flag,
                  inputs[i].path);
        rc = CLI_EXIT_USAGE;
      }
    for (size_t p = 0; p < o && rc < 0; ++p)
      if (same_file(&out[o], &out[p])) {
        cli_error("%s and %s both name %s: give each output its own file",
                  outputs[p].flag, outputs[o].flag, outputs[o].path);
        rc = CLI_EXIT_USAGE;
      }
  }
  for (size_t i = 0; i < n_in; ++i)
    free(in[i].canon);
  for (size_t o = 0; o < n_out; ++o)
    free(out[o].canon);
  return rc;
}

/* ---- temporary files removed on fatal signals ------------------------- */

#define MAX_TEMPS 8
static const char *volatile temps[MAX_TEMPS];

struct mapped_input {
  const char *path;
  const char *begin, *end;
};
static struct mapped_input inputs_watched[8];
static volatile sig_atomic_t n_watched;

static void remove_temps(void) {
  for (int i = 0; i < MAX_TEMPS; ++i)
    if (temps[i])
      unlink(temps[i]);
}

static void on_fatal_signal(int sig) {
  remove_temps();
  /* Die of the same signal, so the parent sees the conventional status. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
  raise(sig);
}

static void put(const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(2, s, n);
    if (w <= 0)
      return;
    s += w;
    n -= (size_t)w;
  }
}

static atomic_flag bus_seen = ATOMIC_FLAG_INIT;

static void on_sigbus(int sig, siginfo_t *info, void *uctx) {
  (void)sig;
  (void)uctx;
  /* Several device threads may fault at once: one reports and exits, the
   * others wait for that exit. */
  if (atomic_flag_test_and_set(&bus_seen))
    for (;;)
      pause();
  const char *addr = info ? (const char *)info->si_addr : NULL;
  const char *path = NULL;
  for (int i = 0; i < n_watched; ++i)
    if (addr >= inputs_watched[i].begin && addr < inputs_watched[i].end)
      path = inputs_watched[i].path;
  remove_temps();
  put("clmetrics: error: ");
  if (path) {
    put(path);
    put(": file changed while being read (it was truncated)\n");
  } else {
    put("an input file changed while being read (it was truncated)\n");
  }
  _exit(CLI_EXIT_ERROR);
}

static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

void cli_install_signal_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; ++i)
    sigaddset(&sa.sa_mask, fatal_signals[i]);
  sa.sa_handler = on_fatal_signal;
  for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; ++i) {
    struct sigaction old;
    /* A signal ignored by whoever started us stays ignored. */
    if (sigaction(fatal_signals[i], NULL, &old) == 0 &&
        old.sa_handler != SIG_IGN)
      sigaction(fatal_signals[i], &sa, NULL);
  }
  struct sigaction bus;
  memset(&bus, 0, sizeof bus);
  sigemptyset(&bus.sa_mask);
  bus.sa_sigaction = on_sigbus;
  bus.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &bus, NULL);
}

void cli_block_signals(sigset_t *old) {
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; ++i)
    sigaddset(&set, fatal_signals[i]);
  pthread_sigmask(SIG_BLOCK, &set, old);
}

void cli_restore_signals(const sigset_t *old) {
  pthread_sigmask(SIG_SETMASK, old, NULL);
}

static void cli_temp_add(const char *path) {
  for (int i = 0; path && i < MAX_TEMPS; ++i)
    if (!temps[i]) {
      temps[i] = path;
      return;
    }
}

static void cli_temp_remove(const char *path) {
  for (int i = 0; path && i < MAX_TEMPS; ++i)
    if (temps[i] == path)
      temps[i] = NULL;
}

static size_t dtype_size(clm_dtype d) {
  switch (d) {
  case CLM_DTYPE_BOOL:
  case CLM_DTYPE_U8:
  case CLM_DTYPE_I8:
    return 1;
  case CLM_DTYPE_I16:
    return 2;
  case CLM_DTYPE_I32:
  case CLM_DTYPE_F32:
    return 4;
  default:
    return 8;
  }
}

void cli_watch_input(const clm_array *a) {
  if (!a || n_watched >= 8)
    return;
  const uint64_t n = clm_array_rows(a) * clm_array_cols(a);
  const size_t bytes = (size_t)n * dtype_size(clm_array_dtype(a));
  const char *p = clm_array_data(a);
  inputs_watched[n_watched] =
      (struct mapped_input){clm_array_path(a), p, p + bytes};
  ++n_watched;
}

/* ---- writers that clean up after themselves --------------------------- */

static int output_open(struct cli_output *o, const char *flag, const char *path,
                       int text, uint64_t rows, uint64_t cols) {
  o->flag = flag;
  o->path = path;
  o->w = NULL;
  if (!path || cli_mpi_rank() > 0) /* under MPI rank 0 writes */
    return CLI_EXIT_OK;
  /* Creating a temporary file and registering it for removal happen with
   * the signals held back (only this thread takes them: see
   * cli_open_context). A FIFO or device is written through, with no
   * temporary file, and opening it may wait for a reader: signals stay
   * deliverable then. */
  struct stat sb;
  const int through = stat(path, &sb) == 0 && !S_ISREG(sb.st_mode);
  sigset_t old;
  if (!through)
    cli_block_signals(&old);
  clm_error err;
  clm_status st = text ? clm_npy_writer_open_text(path, &o->w, &err)
                       : clm_npy_writer_open(path, rows, cols, &o->w, &err);
  if (st == CLM_OK)
    cli_temp_add(clm_npy_writer_temp_path(o->w));
  if (!through)
    cli_restore_signals(&old);
  if (st != CLM_OK) {
    cli_error("%s", err.message);
    return CLI_EXIT_ERROR;
  }
  return CLI_EXIT_OK;
}

int cli_output_open(struct cli_output *o, const char *flag, const char *path,
                    uint64_t rows, uint64_t cols) {
  return output_open(o, flag, path, 0, rows, cols);
}

int cli_output_open_text(struct cli_output *o, const char *flag,
                         const char *path) {
  return output_open(o, flag, path, 1, 0, 0);
}

int cli_output_commit(struct cli_output *o) {
  if (!o->w)
    return CLI_EXIT_OK;
  sigset_t old;
  cli_block_signals(&old);
  cli_temp_remove(clm_npy_writer_temp_path(o->w));
  clm_error err;
  clm_status st = clm_npy_writer_commit(o->w, &err);
  o->w = NULL;
  cli_restore_signals(&old);
  if (st != CLM_OK) {
    cli_error("%s", err.message);
    return CLI_EXIT_ERROR;
  }
  return CLI_EXIT_OK;
}

void cli_output_abort(struct cli_output *o) {
  if (!o->w)
    return;
  sigset_t old;
  cli_block_signals(&old);
  cli_temp_remove(clm_npy_writer_temp_path(o->w));
  clm_npy_writer_abort(o->w);
  o->w = NULL;
  cli_restore_signals(&old);
}

void cli_text_put(struct cli_text *t, const char *fmt, ...) {
  if (t->st != CLM_OK)
    return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  const int len = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (len > 0)
    t->st = clm_npy_writer_append_bytes(t->w, buf, (size_t)len, &t->err);
}
