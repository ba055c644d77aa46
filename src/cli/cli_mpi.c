/* MPI for the CLI: launch detection, per-rank device set-up, agreements,
 * the ranking reduce hook, error collection, state gathering. Without
 * CLM_WITH_MPI only the launch check remains. */
#include "cli_mpi.h"
#include "cli_state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef CLM_WITH_MPI
#include <mpi.h>
#endif

/* Environment set by the launchers (Open MPI, PMIx, Hydra/PMI). */
static const char *launcher_size(void) {
  const char *v = getenv("OMPI_COMM_WORLD_SIZE");
  if (!v)
    v = getenv("PMI_SIZE");
  if (!v)
    v = getenv("PMIX_SIZE");
  return v;
}

static int launched(void) {
  return launcher_size() || getenv("PMIX_RANK") || getenv("PMI_RANK") ||
         getenv("OMPI_COMM_WORLD_RANK");
}

static struct {
  int active, rank, size;
  int failure_known; /* an agreement counted a failure */
  int own_failure;   /* this rank announced its own failure */
  char *captured;    /* this rank's error messages, '\n' separated */
  size_t captured_len;
} g = {0, 0, 1, 0, 0, NULL, 0};

int cli_mpi_active(void) {
  return g.active;
}
int cli_mpi_rank(void) {
  return g.rank;
}
int cli_mpi_size(void) {
  return g.size;
}
int cli_mpi_failure_known(void) {
  return g.failure_known;
}

const char *cli_mpi_rank0_path(const char *path) {
  return g.active && g.rank != 0 ? NULL : path;
}

int cli_mpi_capture(const char *message) {
  if (!g.active)
    return 0;
  const size_t len = strlen(message);
  if (g.captured_len + len + 2 > (64u << 10)) /* keep the first 64 KiB */
    return 1;
  char *p = realloc(g.captured, g.captured_len + len + 2);
  if (!p)
    return 0; /* printed here instead: never lost */
  memcpy(p + g.captured_len, message, len);
  p[g.captured_len + len] = '\n';
  p[g.captured_len + len + 1] = '\0';
  g.captured = p;
  g.captured_len += len + 1;
  return 1;
}

int cli_mpi_check_args(int argc, char **argv) {
  if (!g.active)
    return -1;
  static const char *const refused[] = {"--grad-out", "--weight-grad-out",
                                        "--reliability-out", NULL};
  const char *cmd = argc > 0 ? argv[0] : "clmetrics";
  int pred = 0, classes = 0, weights = 0, scores = 0, no_ranking = 0;
  for (int i = 1; i < argc; ++i) {
    for (const char *const *f = refused; *f; ++f)
      if (strcmp(argv[i], *f) == 0)
        return cli_usage_error(cmd,
                               "%s is not supported under MPI (each rank "
                               "holds only part of the rows); run without "
                               "mpirun for it",
                               *f);
    if (strcmp(argv[i], "--calibration-strategy") == 0 && i + 1 < argc &&
        strcmp(argv[i + 1], "quantile") == 0)
      return cli_usage_error(cmd, "--calibration-strategy quantile is not "
                                  "supported under MPI (the edges would "
                                  "differ between ranks)");
    pred |= strcmp(argv[i], "--pred") == 0;
    classes |= strcmp(argv[i], "--classes") == 0;
    weights |= strcmp(argv[i], "--weights") == 0;
    scores |= strcmp(argv[i], "--scores") == 0;
    no_ranking |= strcmp(argv[i], "--no-ranking") == 0;
  }
  /* The weighted ranking sums weights per score key in double: it has no
   * integer reduction to run collectively. */
  if (weights && scores && !no_ranking)
    return cli_usage_error(cmd, "weighted ROC-AUC and average precision "
                                "(--weights with --scores) are not supported "
                                "under MPI; add --no-ranking for the other "
                                "weighted metrics, or run without mpirun");
  if (strcmp(cmd, "multiclass") == 0 && pred && !classes)
    return cli_usage_error(cmd, "under MPI, --pred needs --classes K (a rank "
                                "sees only its rows, so the largest label "
                                "cannot set K)");
  return -1;
}

#ifndef CLM_WITH_MPI

int cli_mpi_init(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *size = launcher_size();
  if (launched() && size && atoi(size) > 1) {
    /* R copies would each evaluate everything and print R reports. */
    const char *rank = getenv("OMPI_COMM_WORLD_RANK");
    if (!rank)
      rank = getenv("PMI_RANK");
    if (!rank || strcmp(rank, "0") == 0)
      fprintf(stderr,
              "clmetrics: error: this clmetrics was built without MPI "
              "(CMake option CLM_MPI=OFF) but runs under an MPI launcher "
              "with %s ranks; rebuild with -DCLM_MPI=ON or run it once "
              "without mpirun\n",
              size);
    return CLI_EXIT_USAGE;
  }
  return -1;
}

int cli_mpi_finish(int rc) {
  return rc;
}

const char *cli_mpi_version(void) {
  return "no";
}

void cli_mpi_ranking_options(clm_ranking_options *o) {
  (void)o;
}

unsigned cli_mpi_agree(int failed) {
  return failed ? 1 : 0;
}

int cli_mpi_gather_bytes(const uint8_t *buf, size_t len, uint8_t ***bufs,
                         size_t **lens) {
  (void)buf;
  (void)len;
  *bufs = NULL;
  *lens = NULL;
  return CLI_EXIT_ERROR;
}

int cli_mpi_report(struct cli_state *state, const struct cli_mpi_end *end) {
  (void)end;
  cli_state_free(state);
  return CLI_EXIT_ERROR;
}

#else /* CLM_WITH_MPI */

const char *cli_mpi_version(void) {
  static char buf[160];
  if (buf[0])
    return buf;
  char lib[MPI_MAX_LIBRARY_VERSION_STRING] = "";
  int len = 0;
  MPI_Get_library_version(lib, &len);
  /* "Open MPI v4.1.4, package: ...": the name and version. */
  char *comma = strchr(lib, ',');
  if (comma)
    *comma = '\0';
  char *nl = strchr(lib, '\n');
  if (nl)
    *nl = '\0';
  snprintf(buf, sizeof buf, "yes (%s)", lib[0] ? lib : "unknown library");
  return buf;
}

/* Threads of this rank: the CPUs this process may use, shared fairly among
 * the ranks on this node. */
static int node_ranks(int *local_rank) {
  MPI_Comm node;
  int lr = 0, ls = 1;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g.rank,
                          MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_rank(node, &lr);
    MPI_Comm_size(node, &ls);
    MPI_Comm_free(&node);
  }
  *local_rank = lr;
  return ls;
}

/* Before any OpenCL call: PoCL's CPU device takes its thread count from
 * the environment when the platform loads (POCL_MAX_PTHREAD_COUNT in PoCL
 * 1.x-3.x, POCL_CPU_MAX_CU_COUNT from 4.0); the user's settings win.
 * GPUs: the local rank picks one of them (round robin), unless a device
 * was named (--device or CLMETRICS_DEVICE). */
static void setup_device(int argc, char **argv) {
  int local_rank = 0;
  const int local_size = node_ranks(&local_rank);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1)
    cpus = 1;
  long share = cpus / local_size + (local_rank < cpus % local_size ? 1 : 0);
  if (share < 1)
    share = 1;
  char v[32];
  snprintf(v, sizeof v, "%ld", share);
  if (!getenv("POCL_MAX_PTHREAD_COUNT") && !getenv("POCL_CPU_MAX_CU_COUNT")) {
    setenv("POCL_MAX_PTHREAD_COUNT", v, 1);
    setenv("POCL_CPU_MAX_CU_COUNT", v, 1);
  }
  int named = getenv("CLMETRICS_DEVICE") != NULL;
  for (int i = 1; i < argc; ++i)
    named |= strcmp(argv[i], "--device") == 0;
  if (named)
    return;
  size_t count = 0;
  if (clm_devices_list(NULL, 0, &count, NULL) != CLM_OK || count == 0)
    return; /* the command reports it */
  clm_device_info *d = calloc(count, sizeof *d);
  if (d && clm_devices_list(d, count, &count, NULL) == CLM_OK) {
    unsigned gpus = 0;
    for (size_t i = 0; i < count; ++i)
      gpus += strcmp(d[i].type, "GPU") == 0;
    if (gpus > 1) {
      unsigned want = (unsigned)local_rank % gpus, seen = 0;
      for (size_t i = 0; i < count; ++i) {
        if (strcmp(d[i].type, "GPU") != 0)
          continue;
        if (seen++ == want) {
          snprintf(v, sizeof v, "%u", d[i].index);
          setenv("CLMETRICS_DEVICE", v, 1);
          break;
        }
      }
    }
  }
  free(d);
  if (getenv("CLMETRICS_VERBOSE"))
    fprintf(stderr,
            "clmetrics: rank %d of %d (local %d of %d): %s threads, device "
            "%s\n",
            g.rank, g.size, local_rank, local_size,
            getenv("POCL_MAX_PTHREAD_COUNT") ? getenv("POCL_MAX_PTHREAD_COUNT")
                                             : "default",
            getenv("CLMETRICS_DEVICE") ? getenv("CLMETRICS_DEVICE")
                                       : "default");
}

int cli_mpi_init(int argc, char **argv) {
  if (!launched())
    return -1;
  int provided = 0;
  /* Only the main thread calls MPI; the library's threads never do. */
  if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) !=
      MPI_SUCCESS) {
    fprintf(stderr, "clmetrics: error: MPI_Init failed\n");
    return CLI_EXIT_ERROR;
  }
  g.active = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &g.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g.size);
  setup_device(argc, argv);
  return -1;
}

static void note_agreement(uint64_t mine, uint64_t sum) {
  if (sum > 0)
    g.failure_known = 1;
  if (mine)
    g.own_failure = 1;
}

unsigned cli_mpi_agree(int failed) {
  if (!g.active)
    return failed ? 1 : 0;
  uint64_t mine = failed ? 1 : 0, sum = 0;
  MPI_Allreduce(&mine, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  note_agreement(mine, sum);
  return (unsigned)sum;
}

/* The ranking's reduce hook: a sum over the ranks, in place. Calls of one
 * word are the library's agreements. */
static clm_status ranking_reduce(void *user, uint64_t *counts, uint64_t len,
                                 clm_error *err) {
  (void)user;
  const uint64_t mine = len == 1 ? counts[0] : 0;
  uint64_t done = 0;
  while (done < len) { /* MPI counts are int */
    const uint64_t m = len - done < (1u << 30) ? len - done : (1u << 30);
    if (MPI_Allreduce(MPI_IN_PLACE, counts + done, (int)m, MPI_UINT64_T,
                      MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) {
      err->status = CLM_ERR_IO;
      snprintf(err->message, sizeof err->message, "MPI_Allreduce failed");
      return CLM_ERR_IO;
    }
    done += m;
  }
  if (len == 1)
    note_agreement(mine, counts[0]);
  return CLM_OK;
}

void cli_mpi_ranking_options(clm_ranking_options *o) {
  /* One rank holds every row: the ranking's own (gathering) path. */
  if (!g.active || g.size < 2)
    return;
  o->reduce = ranking_reduce;
  o->reduce_user = NULL;
}

int cli_mpi_gather_bytes(const uint8_t *buf, size_t len, uint8_t ***bufs,
                         size_t **lens) {
  *bufs = NULL;
  *lens = NULL;
  if (cli_mpi_agree(buf == NULL) != 0)
    return CLI_EXIT_ERROR;
  const int R = g.size;
  uint64_t mine = len, *all = NULL;
  if (g.rank == 0 && !(all = calloc((size_t)R, sizeof *all)))
    MPI_Abort(MPI_COMM_WORLD, 1); /* cannot continue in step */
  MPI_Gather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  /* Each rank sends its bytes in pieces of at most 1 GiB (MPI counts are
   * int), rank 0 receives them in rank order. */
  if (g.rank != 0) {
    for (size_t off = 0; off < len; off += (size_t)1 << 30) {
      const size_t m = len - off < ((size_t)1 << 30) ? len - off : (1u << 30);
      MPI_Send(buf + off, (int)m, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
    }
    return -1;
  }
  uint8_t **b = calloc((size_t)R, sizeof *b);
  size_t *l = calloc((size_t)R, sizeof *l);
  if (!b || !l)
    MPI_Abort(MPI_COMM_WORLD, 1);
  for (int r = 0; r < R; ++r) {
    l[r] = (size_t)all[r];
    b[r] = malloc(l[r] ? l[r] : 1);
    if (!b[r])
      MPI_Abort(MPI_COMM_WORLD, 1);
    if (r == 0) {
      memcpy(b[r], buf, len);
      continue;
    }
    for (size_t off = 0; off < l[r]; off += (size_t)1 << 30) {
      const size_t m = l[r] - off < ((size_t)1 << 30) ? l[r] - off : (1u << 30);
      MPI_Recv(b[r] + off, (int)m, MPI_BYTE, r, 7, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
    }
  }
  free(all);
  *bufs = b;
  *lens = l;
  return -1;
}

int cli_mpi_report(struct cli_state *state, const struct cli_mpi_end *end) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = CLI_EXIT_ERROR;
  if (state && cli_state_to_bytes(state, &buf, &len) != 0)
    buf = NULL;
  uint8_t **bufs = NULL;
  size_t *lens = NULL;
  /* A rank without bytes announces its failure here. */
  if (cli_mpi_gather_bytes(buf, len, &bufs, &lens) >= 0) {
    free(buf);
    cli_state_free(state);
    return CLI_EXIT_ERROR;
  }
  free(buf);
  if (g.rank != 0) {
    cli_state_free(state);
    return CLI_EXIT_OK;
  }
  /* Rank 0: merge in rank order, starting from rank 0's own bytes (so
   * every rank's state goes through the same decoding). */
  struct cli_state *merged = NULL;
  rc = CLI_EXIT_OK;
  for (int r = 0; r < g.size && rc == CLI_EXIT_OK; ++r) {
    char origin[32];
    snprintf(origin, sizeof origin, "rank %d", r);
    struct cli_state *s = NULL;
    rc = cli_state_from_bytes(bufs[r], lens[r], origin, &s);
    if (rc == CLI_EXIT_OK && !merged)
      merged = s, s = NULL;
    else if (rc == CLI_EXIT_OK)
      rc = cli_state_merge(merged, s, origin);
    cli_state_free(s);
  }
  for (int r = 0; r < g.size; ++r)
    free(bufs[r]);
  free(bufs);
  free(lens);
  /* The merged state is saved first, as one run saves before it reports. */
  if (rc == CLI_EXIT_OK && end->save &&
      cli_state_save_commit(end->save, merged) >= 0)
    rc = CLI_EXIT_ERROR;
  if (rc == CLI_EXIT_OK) {
    rc = cli_state_report_page(merged, end->json, end->ranking, end->micro,
                               end->page, end->inputs);
    if (rc < 0)
      rc = CLI_EXIT_OK;
  }
  cli_state_free(merged);
  cli_state_free(state);
  return rc;
}

/* The failing ranks' messages, printed by rank 0 in rank order. */
static int report_failures(int rc) {
  const int R = g.size;
  /* Per rank: exit code, whether it failed by itself, message bytes. */
  int mine[3] = {rc, g.own_failure, (int)g.captured_len};
  int *all = g.rank == 0 ? calloc((size_t)R * 3, sizeof *all) : NULL;
  if (g.rank == 0 && !all)
    MPI_Abort(MPI_COMM_WORLD, 1);
  MPI_Gather(mine, 3, MPI_INT, all, 3, MPI_INT, 0, MPI_COMM_WORLD);
  int *counts = NULL, *displs = NULL;
  char *text = NULL;
  if (g.rank == 0) {
    counts = calloc((size_t)R, sizeof *counts);
    displs = calloc((size_t)R, sizeof *displs);
    int total = 0;
    for (int r = 0; r < R; ++r) {
      counts[r] = all[3 * r + 2];
      displs[r] = total;
      total += counts[r];
    }
    text = malloc((size_t)total + 1);
    if (!counts || !displs || !text)
      MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Gatherv(g.captured ? g.captured : "", (int)g.captured_len, MPI_CHAR, text,
              counts, displs, MPI_CHAR, 0, MPI_COMM_WORLD);
  int code = rc != CLI_EXIT_OK ? rc : CLI_EXIT_ERROR;
  if (g.rank == 0) {
    int printed = 0, first_rc = 0;
    /* Ranks that failed by themselves (the others only stopped), in
     * rank order; runs of ranks with the same text are said once. */
    for (int pass = 0; pass < 2 && !printed; ++pass) {
      for (int r = 0; r < R;) {
        const int own = all[3 * r + 1];
        if ((pass == 0 && !own) || all[3 * r] == CLI_EXIT_OK ||
            counts[r] == 0) {
          ++r;
          continue;
        }
        if (!first_rc)
          first_rc = all[3 * r];
        int last = r;
        while (last + 1 < R && all[3 * (last + 1)] != CLI_EXIT_OK &&
               (pass == 1 || all[3 * (last + 1) + 1]) &&
               counts[last + 1] == counts[r] &&
               memcmp(text + displs[last + 1], text + displs[r],
                      (size_t)counts[r]) == 0)
          ++last;
        char who[64];
        if (last == r)
          snprintf(who, sizeof who, "rank %d of %d", r, R);
        else
          snprintf(who, sizeof who, "ranks %d-%d of %d", r, last, R);
        const char *p = text + displs[r], *end = p + counts[r];
        while (p < end) {
          const char *nl = memchr(p, '\n', (size_t)(end - p));
          const int n = (int)((nl ? nl : end) - p);
          fprintf(stderr, "clmetrics: error: %s: %.*s\n", who, n, p);
          printed = 1;
          p = nl ? nl + 1 : end;
        }
        r = last + 1;
      }
    }
    /* A usage error was printed by rank 0 already (every rank had it). */
    if (!printed && all[0] == CLI_EXIT_OK)
      fprintf(stderr, "clmetrics: error: a rank failed without a message\n");
    /* Usage errors are printed, not captured: their code still counts. */
    for (int r = 0; r < R && !first_rc; ++r)
      if (all[3 * r] != CLI_EXIT_OK)
        first_rc = all[3 * r];
    code = first_rc ? first_rc : CLI_EXIT_ERROR;
    fflush(stderr);
  }
  free(all);
  free(counts);
  free(displs);
  free(text);
  return code;
}

int cli_mpi_finish(int rc) {
  if (!g.active)
    return rc;
  /* Standard output first: rank 0's report is complete before anything
   * else is said. */
  fflush(stdout);
  if (!g.failure_known)
    cli_mpi_agree(rc != CLI_EXIT_OK);
  if (g.failure_known)
    rc = report_failures(rc);
  free(g.captured);
  g.captured = NULL;
  MPI_Finalize();
  g.active = 0;
  return rc;
}

#endif /* CLM_WITH_MPI */
