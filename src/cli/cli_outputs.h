/* Output safety for the CLI (cli_outputs.c). */
#ifndef CLM_CLI_OUTPUTS_H
#define CLM_CLI_OUTPUTS_H

#include "cli.h"

#include <signal.h>

/* A file named by a flag, for messages: "--grad-out g.npy". */
struct cli_file {
  const char *flag, *path; /* path may be NULL: not given */
};

/* Refuses, before any work, an output that is the same file as an input
 * (by device and inode) and two outputs naming one file; non-regular
 * outputs (/dev/null, FIFOs) are exempt. Returns -1 to go on, else the
 * exit code after one message. */
int cli_check_outputs(const struct cli_file *inputs, size_t n_in,
                      const struct cli_file *outputs, size_t n_out);

/* SIGINT/SIGTERM/SIGHUP/SIGPIPE remove the temporary outputs, then the
 * process dies of the signal; SIGBUS from a memory-mapped input that
 * shrank prints which file changed and exits 1. */
void cli_install_signal_handlers(void);

/* Blocks SIGINT, SIGTERM, SIGHUP and SIGPIPE in the calling thread (and
 * in the threads it creates meanwhile); restores the old mask. */
void cli_block_signals(sigset_t *old);
void cli_restore_signals(const sigset_t *old);

/* Registers an input's mapping, so a SIGBUS inside it names the file. */
void cli_watch_input(const clm_array *array);

/* A .npy output streamed chunk by chunk (clm_npy_writer), its temporary
 * file registered for removal on signals. path NULL: no output. */
struct cli_output {
  const char *flag, *path;
  clm_npy_writer *w;
};
int cli_output_open(struct cli_output *o, const char *flag, const char *path,
                    uint64_t rows, uint64_t cols);
/* The same for a text (CSV) output, written with clm_npy_writer_append_bytes.
 */
int cli_output_open_text(struct cli_output *o, const char *flag,
                         const char *path);
int cli_output_commit(struct cli_output *o);
void cli_output_abort(struct cli_output *o);

/* printf-style appends to a text output, keeping the first error. */
struct cli_text {
  clm_npy_writer *w;
  clm_status st;
  clm_error err;
};
void cli_text_put(struct cli_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
