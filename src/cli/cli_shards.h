/* Sharded and split sample-aligned inputs (cli_shards.c). */
#ifndef CLM_CLI_SHARDS_H
#define CLM_CLI_SHARDS_H

#include "cli.h"

/* --split-rows: under MPI, split rows evenly even when every rank could
 * take whole shards. */
extern int cli_shards_split_rows;

/* Whether `path` needs cli_shards_load: a glob or @list, or any input
 * under MPI with several ranks (each takes its rows). */
int cli_shards_wanted(const char *path);
/* Loads this process's rows of a sample-aligned input; CLI_EXIT_OK, else
 * the exit code after one message. */
int cli_shards_load(const char *spec, clm_array **out);
/* Rewrites a message about a row of a loaded sharded input so that it
 * names the shard file and the row in it (else copies it). */
void cli_shards_locate(const char *msg, char *out, size_t cap);

#endif
