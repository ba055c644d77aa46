/* Fault injection (CLM_FAULT_INJECTION builds): the Nth allocation, buffer
 * creation, enqueue, build or map fails, for every N an evaluation reaches.
 * Each failure must give the right status and a message, never a crash;
 * the sanitizer build checks for leaks; the CLI must exit 1 with one message
 * and leave no output file. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h" /* clm_fault_arm, clm_fault_fired */

static const struct {
  const char *kind;
  clm_status want;
} kinds[] = {{"alloc", CLM_ERR_OUT_OF_MEMORY},
             {"buffer", CLM_ERR_OUT_OF_MEMORY},
             {"enqueue", CLM_ERR_OUT_OF_MEMORY}, /* CL_OUT_OF_RESOURCES */
             {"build", CLM_ERR_BUILD},
             {"map", CLM_ERR_OPENCL}};

static clm_status binary_run(void) {
  enum { N = 5000, D = 3 };
  static uint8_t y[N];
  static float z[N], x[N * D], g[N];
  for (int i = 0; i < N; ++i) {
    y[i] = (uint8_t)(i % 3 == 0);
    z[i] = (float)((i % 17) - 8) * 0.5f;
  }
  for (int i = 0; i < N * D; ++i)
    x[i] = (float)(i % 7) - 3.0f;
  clm_context_options o;
  clm_context_options_init(&o);
  o.chunk_samples = 2048; /* several chunks */
  clm_context *ctx = NULL;
  clm_error err;
  clm_status st = clm_context_create(&o, &ctx, &err);
  if (st == CLM_OK) {
    clm_binary_state s;
    st = clm_binary_state_init(&s, CLM_SCORES_LOGITS, 0.5, D);
    if (st == CLM_OK)
      st = clm_binary_update(ctx, &s, y, z, N, x, g, &err);
    clm_binary_result r;
    double w[D];
    if (st == CLM_OK)
      st = clm_binary_finalize(&s, CLM_ZERO_DIVISION_ZERO, &r, w);
    if (st == CLM_OK)
      cr_assert_eq(r.tp + r.fp + r.tn + r.fn, (uint64_t)N);
    clm_binary_state_release(&s);
  }
  if (st != CLM_OK && st != CLM_ERR_OUT_OF_MEMORY)
    cr_assert(err.message[0] || st == CLM_ERR_OUT_OF_MEMORY,
              "status %d without a message", st);
  clm_context_free(ctx);
  return st;
}

static clm_status multiclass_run(void) {
  enum { N = 3000, K = 7 };
  static int32_t yt[N], yp[N];
  static float s[N * K];
  for (int i = 0; i < N; ++i) {
    yt[i] = i % K;
    yp[i] = (i * 3) % K;
    for (int c = 0; c < K; ++c)
      s[i * K + c] = (float)((i + c * 5) % 11);
  }
  clm_context_options o;
  clm_context_options_init(&o);
  o.chunk_samples = 1000;
  clm_context *ctx = NULL;
  clm_error err;
  clm_status st = clm_context_create(&o, &ctx, &err);
  if (st == CLM_OK) {
    clm_multiclass_state m;
    st = clm_multiclass_state_init(&m, K, 2);
    if (st == CLM_OK)
      st = clm_multiclass_update_labels(ctx, &m, yt, yp, N, &err);
    if (st == CLM_OK)
      st = clm_multiclass_update_scores(ctx, &m, yt, s, N, CLM_SCORES_LOGITS,
                                        NULL, &err);
    clm_multiclass_result r;
    if (st == CLM_OK)
      st = clm_multiclass_finalize(&m, CLM_ZERO_DIVISION_ZERO, &r);
    if (st == CLM_OK) {
      cr_assert_eq(r.n, 2u * N);
      clm_multiclass_result_release(&r);
    }
    clm_multiclass_state_release(&m);
  }
  clm_context_free(ctx);
  return st;
}

static void sweep(clm_status (*run)(void), const char *what) {
  for (size_t q = 0; q < sizeof kinds / sizeof kinds[0]; ++q) {
    long n = 1;
    for (;; ++n) {
      cr_assert_lt(n, 2000, "%s: %s faults never stop", what, kinds[q].kind);
      clm_fault_arm(kinds[q].kind, n);
      clm_status st = run();
      if (!clm_fault_fired()) {
        cr_assert_eq(st, CLM_OK, "%s: %s:%ld not reached but status %d", what,
                     kinds[q].kind, n, st);
        break;
      }
      cr_assert_eq(st, kinds[q].want, "%s: %s:%ld gave %s (%d)", what,
                   kinds[q].kind, n, clm_status_str(st), st);
    }
    cr_log_info("%s: %ld %s faults each handled", what, n - 1, kinds[q].kind);
  }
  clm_fault_arm("alloc", 0);
  cr_assert_eq(run(), CLM_OK, "a clean run after the faults");
}

Test(fault, binary_every_failure_is_clean) {
  sweep(binary_run, "binary");
}

/* The copy path (discrete GPUs): two chunks in flight on two queues. */
Test(fault, binary_copy_path_every_failure_is_clean) {
  setenv("CLMETRICS_ZERO_COPY", "0", 1);
  sweep(binary_run, "binary (copy path)");
}

Test(fault, multiclass_every_failure_is_clean) {
  sweep(multiclass_run, "multiclass");
}

Test(fault, multiclass_copy_path_every_failure_is_clean) {
  setenv("CLMETRICS_ZERO_COPY", "0", 1);
  sweep(multiclass_run, "multiclass (copy path)");
}

/* ---- through the CLI: exit 1, one message, no output file ---- */

static int write_file(const char *path, const void *hdr, size_t hn,
                      const void *data, size_t dn) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  fwrite(hdr, 1, hn, f);
  fwrite(data, 1, dn, f);
  return fclose(f);
}

/* A version 1.0 .npy header for a 1-D array of `n` items of `descr`. */
static size_t npy_header(char *buf, const char *descr, size_t n) {
  char dict[128];
  int len = snprintf(
      dict, sizeof dict,
      "{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }", descr, n);
  size_t total = 10 + (size_t)len + 1;
  size_t pad = (64 - total % 64) % 64;
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  const unsigned hl = (unsigned)(len + pad + 1);
  buf[8] = (char)(hl & 0xff);
  buf[9] = (char)(hl >> 8);
  memcpy(buf + 10, dict, (size_t)len);
  memset(buf + 10 + len, ' ', pad);
  buf[10 + len + pad] = '\n';
  return 10 + (size_t)len + pad + 1;
}

static int dir_is_empty(const char *dir) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  struct dirent *e;
  int empty = 1;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      empty = 0;
  closedir(d);
  return empty;
}

Test(fault, cli_fails_cleanly) {
  char dir[] = "/tmp/clm_fault_XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char labels[256], scores[256], outdir[256], grad[300], errf[300];
  snprintf(labels, sizeof labels, "%s/y.npy", dir);
  snprintf(scores, sizeof scores, "%s/z.npy", dir);
  snprintf(outdir, sizeof outdir, "%s/out", dir);
  snprintf(grad, sizeof grad, "%s/g.npy", outdir);
  snprintf(errf, sizeof errf, "%s/stderr", dir);
  cr_assert_eq(mkdir(outdir, 0700), 0);
  enum { N = 3000 };
  uint8_t y[N];
  float z[N];
  for (int i = 0; i < N; ++i) {
    y[i] = (uint8_t)(i & 1);
    z[i] = (float)(i % 9) - 4.0f;
  }
  char hdr[128];
  size_t hn = npy_header(hdr, "|u1", N);
  cr_assert_eq(write_file(labels, hdr, hn, y, sizeof y), 0);
  hn = npy_header(hdr, "<f4", N);
  cr_assert_eq(write_file(scores, hdr, hn, z, sizeof z), 0);
  for (size_t q = 0; q < sizeof kinds / sizeof kinds[0]; ++q) {
    for (long n = 1;; ++n) {
      cr_assert_lt(n, 2000);
      char env[64];
      snprintf(env, sizeof env, "CLM_FAULT=%s:%ld", kinds[q].kind, n);
      char *const argv[] = {(char *)CLM_CLI_PATH,
                            "binary",
                            "--labels",
                            labels,
                            "--scores",
                            scores,
                            "--grad-out",
                            grad,
                            "--json",
                            NULL};
      extern char **environ;
      size_t ne = 0;
      while (environ[ne])
        ++ne;
      char **envp = calloc(ne + 2, sizeof *envp);
      memcpy(envp, environ, ne * sizeof *envp);
      envp[ne] = env;
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
      posix_spawn_file_actions_addopen(&fa, 2, errf,
                                       O_WRONLY | O_CREAT | O_TRUNC, 0600);
      pid_t pid;
      cr_assert_eq(posix_spawn(&pid, CLM_CLI_PATH, &fa, NULL, argv, envp), 0);
      posix_spawn_file_actions_destroy(&fa);
      free(envp);
      int ws;
      cr_assert_eq(waitpid(pid, &ws, 0), pid);
      cr_assert(WIFEXITED(ws), "%s: the CLI crashed", env);
      const int code = WEXITSTATUS(ws);
      FILE *f = fopen(errf, "r");
      char line[1024];
      int lines = 0, has_error = 0;
      while (f && fgets(line, sizeof line, f)) {
        ++lines;
        has_error |= strstr(line, "error") != NULL;
      }
      if (f)
        fclose(f);
      if (code == 0) {
        remove(grad);
        break; /* the Nth call of this kind was never reached */
      }
      cr_assert_eq(code, 1, "%s: exit %d", env, code);
      cr_assert(has_error && lines == 1, "%s: %d stderr lines", env, lines);
      cr_assert(dir_is_empty(outdir), "%s: output left behind", env);
    }
  }
  remove(labels);
  remove(scores);
  remove(errf);
  rmdir(outdir);
  rmdir(dir);
}
