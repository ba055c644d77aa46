/* Sharded inputs: `--labels 'y_*.npy'` (a glob, sorted by name) or
 * `--labels @list.txt` (one path per line) name the shards of one input,
 * in order; every sample-aligned input (labels, scores or predictions,
 * weights, features) must have the same number of shards with the same
 * rows each. One process reads all of them as one array (their rows one
 * after the other); under MPI each rank takes a contiguous block of the
 * rows (whole shards when there are at least as many shards as ranks,
 * else, or with --split-rows, even row ranges that may split a file), so
 * the ranks together read each row once. Messages about a row name the
 * shard file and the row in it. */
#include "cli_mpi.h"
#include "cli_shards.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_shards_split_rows;

/* The shard list of the first sharded input: the others must match. */
static struct {
  int set;
  char *spec;
  size_t n;
  char **paths;
  uint64_t *rows;
} layout;

/* Where the rows of a loaded input come from, to name them in messages:
 * local rows [start, start + rows) are rows [first, ...) of path. */
struct piece {
  const char *path; /* owned by the registry entry */
  uint64_t start, first, rows;
};
struct located {
  char *name; /* the array's name in messages */
  struct piece *pieces;
  size_t n;
  char **paths;
};
static struct located registry[16];
static size_t registered;

static int is_spec(const char *path) {
  return path[0] == '@' || strpbrk(path, "*?[") != NULL;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(char **v, size_t n) {
  for (size_t i = 0; i < n && v; ++i)
    free(v[i]);
  free(v);
}

static int push(char ***v, size_t *n, const char *s) {
  char **nv = realloc(*v, (*n + 1) * sizeof *nv);
  if (!nv)
    return -1;
  *v = nv;
  if (!(nv[*n] = strdup(s)))
    return -1;
  ++*n;
  return 0;
}

/* The list file: one path per line; blank lines and lines starting with
 * '#' are skipped; a trailing '\r' is dropped. */
static int read_list(const char *list, char ***out, size_t *n) {
  FILE *f = fopen(list, "r");
  if (!f) {
    cli_error("%s: cannot read the shard list: %s", list, strerror(errno));
    return CLI_EXIT_ERROR;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int rc = -1;
  while (rc < 0 && (len = getline(&line, &cap, f)) >= 0) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    if (len == 0 || line[0] == '#')
      continue;
    if (push(out, n, line) != 0) {
      cli_error("out of memory reading %s", list);
      rc = CLI_EXIT_ERROR;
    }
  }
  if (rc < 0 && ferror(f)) {
    cli_error("%s: cannot read the shard list", list);
    rc = CLI_EXIT_ERROR;
  }
  free(line);
  fclose(f);
  if (rc < 0 && *n == 0) {
    cli_error("%s: the shard list names no file", list);
    rc = CLI_EXIT_ERROR;
  }
  return rc;
}

/* The files a spec names, in order. */
static int expand(const char *spec, char ***out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (spec[0] == '@')
    return read_list(spec + 1, out, n);
  if (!is_spec(spec) || access(spec, F_OK) == 0) { /* a plain file */
    if (push(out, n, spec) != 0) {
      cli_error("out of memory");
      return CLI_EXIT_ERROR;
    }
    return -1;
  }
  glob_t g;
  /* Sorted by strcmp below, not by the locale: the order is the data's. */
  const int gr = glob(spec, GLOB_NOSORT, NULL, &g);
  if (gr == GLOB_NOMATCH) {
    cli_error("no file matches '%s'", spec);
    return CLI_EXIT_ERROR;
  }
  if (gr != 0) {
    cli_error("cannot expand '%s'", spec);
    return CLI_EXIT_ERROR;
  }
  qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, by_name);
  int rc = -1;
  for (size_t i = 0; i < g.gl_pathc && rc < 0; ++i)
    if (push(out, n, g.gl_pathv[i]) != 0) {
      cli_error("out of memory");
      rc = CLI_EXIT_ERROR;
    }
  globfree(&g);
  return rc;
}

/* Checks the shards of `spec` against the first sharded input's. */
static int check_layout(const char *spec, char **paths, size_t n,
                        const uint64_t *rows) {
  if (!layout.set) {
    layout.set = 1;
    layout.spec = strdup(spec);
    layout.n = n;
    layout.paths = calloc(n, sizeof *layout.paths);
    layout.rows = malloc(n * sizeof *layout.rows);
    if (!layout.spec || !layout.paths || !layout.rows) {
      cli_error("out of memory");
      return CLI_EXIT_ERROR;
    }
    for (size_t i = 0; i < n; ++i) {
      layout.rows[i] = rows[i];
      if (!(layout.paths[i] = strdup(paths[i]))) {
        cli_error("out of memory");
        return CLI_EXIT_ERROR;
      }
    }
    return -1;
  }
  if (n != layout.n) {
    cli_error("'%s' names %zu file%s but '%s' names %zu: every input needs "
              "one shard per shard of the labels",
              spec, n, n == 1 ? "" : "s", layout.spec, layout.n);
    return CLI_EXIT_ERROR;
  }
  for (size_t i = 0; i < n; ++i)
    if (rows[i] != layout.rows[i]) {
      cli_error("shard %zu: %s has %llu rows but %s has %llu", i, paths[i],
                (unsigned long long)rows[i], layout.paths[i],
                (unsigned long long)layout.rows[i]);
      return CLI_EXIT_ERROR;
    }
  return -1;
}

/* This rank's rows: pieces (file, first row, rows) in order. Whole files
 * when every rank can have one, else (or with --split-rows) even row
 * ranges. Zero-row files are skipped. */
struct span {
  size_t file;
  uint64_t first, rows;
};

static size_t assign(const uint64_t *rows, size_t n, int R, int r,
                     struct span *out) {
  uint64_t total = 0;
  size_t nonempty = 0;
  for (size_t i = 0; i < n; ++i) {
    total += rows[i];
    nonempty += rows[i] > 0;
  }
  size_t k = 0;
  if (R == 1) {
    for (size_t i = 0; i < n; ++i)
      if (rows[i] > 0)
        out[k++] = (struct span){i, 0, rows[i]};
    return k;
  }
  if (!cli_shards_split_rows && nonempty >= (size_t)R) {
    /* Contiguous blocks of files: rank q takes files while the middle of
     * the next one lies before q's share of the rows and enough files are
     * left for the ranks after it; every rank gets at least one. */
    size_t i = 0, left = nonempty;
    uint64_t cum = 0;
    for (int q = 0; q < R; ++q) {
      const unsigned __int128 end = (unsigned __int128)total * (q + 1) / R;
      size_t taken = 0;
      while (i < n) {
        if (rows[i] == 0) {
          ++i;
          continue;
        }
        const int more = q == R - 1 || (left > (size_t)(R - 1 - q) &&
                                        cum + rows[i] / 2 < end);
        if (taken > 0 && !more)
          break;
        if (q == r)
          out[k++] = (struct span){i, 0, rows[i]};
        cum += rows[i];
        ++taken;
        --left;
        ++i;
      }
    }
    return k;
  }
  /* Even row ranges over the files' rows one after the other. */
  const uint64_t lo = (uint64_t)((unsigned __int128)total * r / R);
  const uint64_t hi = (uint64_t)((unsigned __int128)total * (r + 1) / R);
  uint64_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t a = at > lo ? at : lo;
    const uint64_t b = at + rows[i] < hi ? at + rows[i] : hi;
    if (a < b)
      out[k++] = (struct span){i, a - at, b - a};
    at += rows[i];
  }
  return k;
}

static void remember(const char *name, char **paths, size_t n_files,
                     const struct span *sp, size_t k) {
  if (registered == sizeof registry / sizeof *registry)
    return; /* messages then name the input as given */
  struct located *l = &registry[registered];
  l->name = strdup(name);
  l->pieces = calloc(k ? k : 1, sizeof *l->pieces);
  l->paths = calloc(n_files, sizeof *l->paths);
  if (!l->name || !l->pieces || !l->paths) {
    free(l->name);
    free(l->pieces);
    free(l->paths);
    return;
  }
  uint64_t start = 0;
  for (size_t j = 0; j < k; ++j) {
    const size_t f = sp[j].file;
    if (!l->paths[f])
      l->paths[f] = strdup(paths[f]);
    l->pieces[j] = (struct piece){l->paths[f] ? l->paths[f] : "?", start,
                                  sp[j].first, sp[j].rows};
    start += sp[j].rows;
  }
  l->n = k;
  ++registered;
  /* Only the paths the pieces use were copied; keep the count for free. */
  (void)n_files;
}

int cli_shards_load(const char *spec, clm_array **out) {
  *out = NULL;
  char **paths = NULL;
  size_t n = 0;
  int rc = expand(spec, &paths, &n);
  clm_array **arrays = rc < 0 ? calloc(n, sizeof *arrays) : NULL;
  uint64_t *rows = rc < 0 ? calloc(n, sizeof *rows) : NULL;
  struct span *sp = rc < 0 ? calloc(n, sizeof *sp) : NULL;
  if (rc < 0 && (!arrays || !rows || !sp)) {
    cli_error("out of memory");
    rc = CLI_EXIT_ERROR;
  }
  /* Every rank opens every shard (a .npy header and a mapping; a CSV is
   * parsed) to know the rows; it keeps only its own. */
  for (size_t i = 0; i < n && rc < 0; ++i) {
    clm_error err;
    const clm_status st = clm_array_load(paths[i], &arrays[i], &err);
    if (st != CLM_OK)
      rc = cli_report_error(&err, st);
    else
      rows[i] = clm_array_rows(arrays[i]);
  }
  if (rc < 0)
    rc = check_layout(spec, paths, n, rows);
  size_t k = 0;
  if (rc < 0) {
    k = assign(rows, n, cli_mpi_size(), cli_mpi_rank(), sp);
    uint64_t mine = 0;
    for (size_t j = 0; j < k; ++j)
      mine += sp[j].rows;
    if (cli_mpi_size() > 1 && mine == 0) {
      uint64_t total = 0;
      for (size_t i = 0; i < n; ++i)
        total += rows[i];
      cli_error("%s: no rows for this rank (%llu rows in all for %d ranks): "
                "run fewer ranks",
                spec, (unsigned long long)total, cli_mpi_size());
      rc = CLI_EXIT_ERROR;
    }
  }
  /* Slices in place (no copy); several pieces are copied into one array. */
  for (size_t j = 0; j < k && rc < 0; ++j) {
    clm_error err;
    const clm_status st =
        clm_array_slice(arrays[sp[j].file], sp[j].first, sp[j].rows, &err);
    if (st != CLM_OK)
      rc = cli_report_error(&err, st);
  }
  if (rc < 0 && k == 1) {
    /* One piece: the file itself, sliced in place when partial. */
    *out = arrays[sp[0].file];
    arrays[sp[0].file] = NULL;
    const char *path = paths[sp[0].file];
    if (sp[0].rows != rows[sp[0].file])
      remember(path, paths, n, sp, k);
    if (strcmp(spec, path) != 0)
      remember(spec, paths, n, sp, k);
  } else if (rc < 0) {
    /* Several pieces: copied one after the other into one array named by
     * the spec. */
    const clm_array **parts = calloc(k ? k : 1, sizeof *parts);
    clm_error err;
    clm_status st = CLM_ERR_OUT_OF_MEMORY;
    if (parts) {
      for (size_t j = 0; j < k; ++j)
        parts[j] = arrays[sp[j].file];
      st = clm_array_concat(parts, k, spec, out, &err);
      if (st == CLM_OK)
        remember(spec, paths, n, sp, k);
    }
    free(parts);
    if (st != CLM_OK && parts)
      rc = cli_report_error(&err, st);
    else if (st != CLM_OK)
      rc = (cli_error("out of memory"), CLI_EXIT_ERROR);
  }
  for (size_t i = 0; i < n && arrays; ++i)
    clm_array_free(arrays[i]);
  free(arrays);
  free(rows);
  free(sp);
  free_list(paths, n);
  return rc < 0 ? CLI_EXIT_OK : rc;
}

int cli_shards_wanted(const char *path) {
  return path && (is_spec(path) || cli_mpi_size() > 1);
}

/* "<name>: index N..." or "<name>: row N..." about local row N: the file
 * and its row instead. "index F (row R, column C)" (a flat index) becomes
 * "row R', column C". */
void cli_shards_locate(const char *msg, char *out, size_t cap) {
  for (size_t e = 0; e < registered; ++e) {
    const struct located *l = &registry[e];
    const size_t nl = strlen(l->name);
    if (strncmp(msg, l->name, nl) != 0 || strncmp(msg + nl, ": ", 2) != 0)
      continue;
    const char *p = msg + nl + 2;
    const char *word = strncmp(p, "index ", 6) == 0 ? "index"
                       : strncmp(p, "row ", 4) == 0 ? "row"
                                                    : NULL;
    if (!word)
      continue;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p + strlen(word) + 1, &end, 10);
    if (errno || end == p + strlen(word) + 1)
      continue;
    unsigned long long col = 0;
    int flat = 0;
    if (strncmp(end, " (row ", 6) == 0) {
      char *e2, *e3;
      const unsigned long long r = strtoull(end + 6, &e2, 10);
      if (strncmp(e2, ", column ", 9) == 0) {
        col = strtoull(e2 + 9, &e3, 10);
        if (*e3 == ')') {
          v = r;
          word = "row";
          flat = 1;
          end = e3 + 1;
        }
      }
    }
    for (size_t j = 0; j < l->n; ++j) {
      const struct piece *pc = &l->pieces[j];
      if (v < pc->start || v >= pc->start + pc->rows)
        continue;
      const unsigned long long fr = pc->first + (v - pc->start);
      if (flat)
        snprintf(out, cap, "%s: row %llu, column %llu%s", pc->path, fr, col,
                 end);
      else
        snprintf(out, cap, "%s: %s %llu%s", pc->path, word, fr, end);
      return;
    }
  }
  snprintf(out, cap, "%s", msg);
}
