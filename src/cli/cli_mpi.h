/* MPI in the CLI (cli_mpi.c). Built with CLM_WITH_MPI (CMake CLM_MPI=ON)
 * and launched by mpirun, each rank evaluates its part of the rows and rank
 * 0 prints one report; otherwise every call here is a no-op and
 * cli_mpi_active() is 0, so the CLI behaves exactly as without MPI.
 *
 * Failures never hang the job: every collective step is preceded by an
 * agreement (a sum over the ranks of "my step failed"); a rank that fails
 * announces it at its next agreement (at the latest when its command
 * ends), every rank then stops, and the failing ranks' messages (captured
 * by cli_error instead of printed) reach rank 0, which prints them once,
 * naming each rank. */
#ifndef CLM_CLI_MPI_H
#define CLM_CLI_MPI_H

#include "cli.h"

/* Called first by main: MPI_Init when launched by mpirun (with MPI built
 * in). Returns -1 to go on, else an exit code (after one message). */
int cli_mpi_init(int argc, char **argv);
/* Called last by main with the command's exit code: the final agreement,
 * the failing ranks' messages printed by rank 0, MPI_Finalize. Returns
 * the process's exit code. */
int cli_mpi_finish(int rc);

int cli_mpi_active(void); /* 1 under mpirun with MPI built in */
int cli_mpi_rank(void);   /* 0 when not active */
int cli_mpi_size(void);   /* 1 when not active */
/* "yes (Open MPI v4.1.4)" or "no". */
const char *cli_mpi_version(void);

/* Options that cannot work with rows split between ranks (per-sample
 * outputs, ...): a usage error on every rank (printed once). -1 to go on. */
int cli_mpi_check_args(int argc, char **argv);

/* Sets the ranking options' reduce hook (an MPI_Allreduce of the counts)
 * when active, so the exact ranking runs over every rank's rows. */
void cli_mpi_ranking_options(clm_ranking_options *o);

/* Whether a rank's failure is known to every rank (an agreement counted
 * it). */
int cli_mpi_failure_known(void);
/* An agreement: every rank passes whether its step failed; returns the
 * number of ranks that failed (0: go on with the collective step). */
unsigned cli_mpi_agree(int failed);

/* cli_error's sink under MPI: the message is kept for rank 0 instead of
 * printed. Returns 1 when captured. */
int cli_mpi_capture(const char *message);

/* Rank 0 receives every rank's serialized state (in rank order) after an
 * agreement; other ranks get NULL. lens[r], bufs[r]: rank r's bytes.
 * Returns -1 to go on, else the exit code (the failure is then known). */
int cli_mpi_gather_bytes(const uint8_t *buf, size_t len, uint8_t ***bufs,
                         size_t **lens);

/* The end of a command under MPI: gathers every rank's state to rank 0,
 * merges them in rank order and, there, prints the report (text or JSON,
 * and the --html page / --svg-dir figures of `page`), and writes the merged
 * state to `save` (an opened --save-state output, or NULL). `ranking`: the
 * collective exact ranking (for multilabel the per-label one, with
 * `micro`), or NULL. Takes ownership of `state` (NULL when this rank could
 * not build it: a failure). Returns the exit code. */
struct cli_state;
struct cli_report_args;
struct cli_mpi_end {
  int json;
  const struct cli_ranking_out *ranking;
  const clm_ranking_result *micro;
  const struct cli_report_args *page;
  const char *inputs; /* what the page names as the data */
  struct cli_output *save;
};
int cli_mpi_report(struct cli_state *state, const struct cli_mpi_end *end);

/* Under MPI, the ranks other than 0 write no files: NULL for them. */
const char *cli_mpi_rank0_path(const char *path);

#endif
