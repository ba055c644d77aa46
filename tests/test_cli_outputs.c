/* Output safety of `clmetrics binary` (issue 8): outputs never destroy an
 * input or each other, non-regular targets are written through, replaced
 * files keep their mode and owner, long names work, signals leave no
 * temporary file, a truncated input is reported, and gradients stream
 * through bounded memory. */
#include "cli_fixture.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

TestSuite(cli, .init = make_tmpdir, .fini = remove_tmpdir);

/* The whole content of `path` equals `want` (len bytes). */
static void expect_content(const char *path, const void *want, size_t len) {
  size_t got_len = 0;
  char *got = slurp(path, &got_len);
  cr_expect(got_len == len && memcmp(got, want, len) == 0,
            "%s was changed (%zu bytes, expected %zu)", path, got_len, len);
  free(got);
}

/* A copy of `path`'s bytes (leaked). */
static char *content_of(const char *path, size_t *len) {
  return slurp(path, len);
}

/* ---------------------------------------------------------------- */
/* Outputs that would destroy an input or each other                 */
/* ---------------------------------------------------------------- */

Test(cli, grad_out_onto_labels_is_refused) {
  write_fixture();
  size_t len;
  char *before = content_of(fpath("labels.npy"), &len);
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--grad-out", fpath("labels.npy"));
  expect_failure(&r, 2, NEEDLES("--grad-out", "--labels", "input"));
  expect_content(fpath("labels.npy"), before, len);
}

/* Another name for the same file (a symlink, "dir/./name"): compared by
 * device and inode, not by name. */
Test(cli, grad_out_onto_scores_by_another_name_is_refused) {
  write_fixture();
  size_t len;
  char *before = content_of(fpath("logits.npy"), &len);
  cr_assert_eq(symlink(fpath("logits.npy"), fpath("alias.npy")), 0);
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--grad-out", fpath("alias.npy"));
  expect_failure(&r, 2, NEEDLES("--scores"));
  r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
          fpath("logits.npy"), "--grad-out", fpath("./logits.npy"));
  expect_failure(&r, 2, NEEDLES("--scores"));
  expect_content(fpath("logits.npy"), before, len);
}

Test(cli, weight_grad_out_onto_features_is_refused) {
  write_fixture();
  size_t len;
  char *before = content_of(fpath("features.npy"), &len);
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--features", fpath("features.npy"),
                     "--weight-grad-out", fpath("features.npy"));
  expect_failure(&r, 2, NEEDLES("--weight-grad-out", "--features"));
  expect_content(fpath("features.npy"), before, len);
}

Test(cli, two_outputs_to_one_file_are_refused) {
  write_fixture();
  const char *same = opath("same.npy");
  /* Neither existing yet, then an existing one: both refused, and the
   * existing file is kept. */
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--features", fpath("features.npy"),
                     "--grad-out", same, "--weight-grad-out", same);
  expect_failure(&r, 2, NEEDLES("--grad-out", "--weight-grad-out"));
  const char *kept = fpath("kept.npy");
  write_bytes(kept, "precious", 8);
  r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
          fpath("logits.npy"), "--features", fpath("features.npy"),
          "--grad-out", kept, "--weight-grad-out", kept);
  cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
  expect_content(kept, "precious", 8);
}

/* ---------------------------------------------------------------- */
/* Non-regular targets are written through                           */
/* ---------------------------------------------------------------- */

Test(cli, grad_out_to_dev_null_keeps_the_device) {
  write_fixture();
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--features", fpath("features.npy"),
                     "--grad-out", "/dev/null", "--weight-grad-out",
                     "/dev/null", "--json");
  cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  struct stat st;
  cr_assert_eq(stat("/dev/null", &st), 0);
  cr_expect(S_ISCHR(st.st_mode), "/dev/null is no longer a device");
}

/* Reads a FIFO to its end in a child; the bytes land in `sink`. */
static pid_t drain_fifo(const char *fifo, const char *sink) {
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    int in = open(fifo, O_RDONLY);
    int out = open(sink, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char buf[65536];
    ssize_t k;
    while (in >= 0 && out >= 0 && (k = read(in, buf, sizeof buf)) > 0)
      if (write(out, buf, (size_t)k) != k)
        _exit(3);
    _exit(in >= 0 && out >= 0 ? 0 : 2);
  }
  return pid;
}

Test(cli, grad_out_to_a_fifo_streams_the_npy) {
  write_fixture();
  const char *fifo = fpath("g.fifo"), *sink = fpath("g_from_fifo.npy");
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  pid_t reader = drain_fifo(fifo, sink);
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--grad-out", fifo, "--json");
  int ws = 0;
  cr_assert_eq(waitpid(reader, &ws, 0), reader);
  cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  struct stat st;
  cr_assert_eq(lstat(fifo, &st), 0);
  cr_expect(S_ISFIFO(st.st_mode), "the FIFO was replaced");
  /* The same bytes as a regular --grad-out file. */
  r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
          fpath("logits.npy"), "--grad-out", opath("g.npy"), "--json");
  cr_assert_eq(r.status, 0, "%s", r.err);
  size_t len;
  char *want = content_of(opath("g.npy"), &len);
  expect_content(sink, want, len);
}

/* ---------------------------------------------------------------- */
/* A replaced file keeps its mode and owner; long names              */
/* ---------------------------------------------------------------- */

Test(cli, replaced_output_keeps_its_mode) {
  write_fixture();
  const char *gp = opath("g.npy");
  write_bytes(gp, "old", 3);
  cr_assert_eq(chmod(gp, 0640), 0);
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--grad-out", gp, "--json");
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  struct stat st;
  cr_assert_eq(stat(gp, &st), 0);
  cr_expect_eq(st.st_mode & 07777, 0640, "mode %o, expected 640",
               st.st_mode & 07777);
  cr_expect_gt(st.st_size, 3, "the file was not replaced");
}

Test(cli, replaced_output_keeps_its_owner_as_root) {
  if (geteuid() != 0)
    cr_skip_test("needs root to give the file another owner");
  write_fixture();
  const char *gp = opath("g.npy");
  write_bytes(gp, "old", 3);
  cr_assert_eq(chown(gp, 65534, 65534), 0);
  cr_assert_eq(chmod(gp, 0600), 0);
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--grad-out", gp, "--json");
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  struct stat st;
  cr_assert_eq(stat(gp, &st), 0);
  cr_expect_eq(st.st_uid, 65534u, "owner %u", (unsigned)st.st_uid);
  cr_expect_eq(st.st_gid, 65534u, "group %u", (unsigned)st.st_gid);
  cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
}

/* A symlink output is kept and its target replaced. */
Test(cli, symlink_output_replaces_its_target) {
  write_fixture();
  const char *target = opath("real.npy"), *link = opath("link.npy");
  write_bytes(target, "old", 3);
  cr_assert_eq(symlink(target, link), 0);
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--grad-out", link, "--json");
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  struct stat st;
  cr_assert_eq(lstat(link, &st), 0);
  cr_expect(S_ISLNK(st.st_mode), "the symlink was replaced by a file");
  cr_assert_eq(stat(target, &st), 0);
  cr_expect_gt(st.st_size, 3, "the link's target was not written");
}

Test(cli, output_name_of_244_bytes) {
  write_fixture();
  char name[245];
  memset(name, 'g', 240);
  memcpy(name + 240, ".npy", 5);
  const char *gp = opath(name);
  run_result r = RUN("binary", "--labels", fpath("labels.npy"), "--scores",
                     fpath("logits.npy"), "--grad-out", gp, "--json");
  cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  cr_expect_eq(access(gp, F_OK), 0, "no output written");
  char *left = outdir_listing();
  cr_expect_eq(strlen(left), 245, "other files left: %s", left);
  free(left);
}

/* ---------------------------------------------------------------- */
/* Signals and truncated inputs                                      */
/* ---------------------------------------------------------------- */

/* Starts the CLI without waiting. */
static cli_proc spawn_cli(const char *const *args) {
  const char *argv[32];
  size_t k = 0;
  argv[k++] = CLM_CLI_PATH;
  for (size_t i = 0; args[i]; ++i)
    argv[k++] = args[i];
  argv[k] = NULL;
  return cli_start(argv, environ);
}

/* Waits (at most ~60 s) until the output directory holds a file: the
 * CLI's temporary output. */
static void wait_for_temp_file(pid_t pid) {
  for (int i = 0; i < 6000; ++i) {
    char *left = outdir_listing();
    const int found = left[0] != '\0';
    free(left);
    if (found)
      return;
    int ws;
    cr_assert_eq(waitpid(pid, &ws, WNOHANG), 0, "the CLI ended early");
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  cr_assert_fail("no temporary output appeared");
}

/* The CLI blocks opening --grad-out (a FIFO without a reader) after it has
 * created the temporary --weight-grad-out file: the signal then must remove
 * it and end the process by that signal. */
static void signal_removes_temporary_outputs(int sig) {
  write_fixture();
  const char *fifo = fpath("g.fifo");
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  cli_proc p =
      spawn_cli(EXTRA("binary", "--labels", fpath("labels.npy"), "--scores",
                      fpath("logits.npy"), "--features", fpath("features.npy"),
                      "--grad-out", fifo, "--weight-grad-out", opath("w.npy")));
  wait_for_temp_file(p.pid);
  cr_assert_eq(kill(p.pid, sig), 0);
  int ws = 0;
  cr_assert_eq(waitpid(p.pid, &ws, 0), p.pid);
  cr_expect(WIFSIGNALED(ws) && WTERMSIG(ws) == sig,
            "not ended by signal %d (status %#x)", sig, ws);
  cli_finish(&p, ws);
  char *left = outdir_listing();
  cr_expect_str_empty(left, "temporary files left behind: %s", left);
  free(left);
}

Test(cli, sigterm_removes_temporary_outputs) {
  signal_removes_temporary_outputs(SIGTERM);
}

Test(cli, sigint_removes_temporary_outputs) {
  signal_removes_temporary_outputs(SIGINT);
}

Test(cli, sighup_removes_temporary_outputs) {
  signal_removes_temporary_outputs(SIGHUP);
}

/* The scores file is cut to its header while the CLI waits on the FIFO, so
 * its mapping no longer has data behind it: one message naming the file,
 * exit 1, no temporary file. */
Test(cli, input_truncated_while_read) {
  enum { BIG = 1 << 18 };
  uint8_t *y = calloc(BIG, 1);
  float *z = calloc(BIG, sizeof(float)), *x = calloc(BIG, sizeof(float));
  for (int i = 0; i < BIG; ++i) {
    y[i] = (uint8_t)(i & 1);
    z[i] = (float)(i % 7) - 3.0f;
    x[i] = 0.5f;
  }
  const char *yp = fpath("y.npy"), *zp = fpath("z.npy"), *xp = fpath("x.npy");
  write_u8(yp, y, BIG);
  write_f32(zp, z, BIG);
  write_f32_2d(xp, x, BIG, 1);
  const char *fifo = fpath("g.fifo");
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  cli_proc p = spawn_cli(EXTRA("binary", "--labels", yp, "--scores", zp,
                               "--features", xp, "--grad-out", fifo,
                               "--weight-grad-out", opath("w.npy")));
  wait_for_temp_file(p.pid);
  cr_assert_eq(truncate(zp, 128), 0);
  pid_t reader = drain_fifo(fifo, fpath("sink.npy"));
  int ws = 0;
  cr_assert_eq(waitpid(p.pid, &ws, 0), p.pid);
  waitpid(reader, NULL, 0);
  run_result r = cli_finish(&p, ws);
  const char *err = r.err;
  cr_expect_eq(r.status, 1, "status %d, expected exit 1; stderr: %s", r.status,
               err);
  cr_expect_not_null(strstr(err, zp), "the file is not named: %s", err);
  cr_expect_not_null(strstr(err, "changed while being read"), "%s", err);
  cr_expect_eq(count_lines(err), 1, "not one line: %s", err);
  char *left = outdir_listing();
  cr_expect_str_empty(left, "temporary files left behind: %s", left);
  free(left);
  free(y);
  free(z);
  free(x);
}

/* ---------------------------------------------------------------- */
/* Bounded memory                                                    */
/* ---------------------------------------------------------------- */

/* Runs the CLI under an address-space-independent limit on its private
 * writable memory (RLIMIT_DATA: heap and anonymous mappings, not the
 * read-only mapped inputs); returns the exit status. */
static int run_with_data_limit(const char *const *args, rlim_t bytes,
                               const char *err_path) {
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    struct rlimit rl = {bytes, bytes};
    setrlimit(RLIMIT_DATA, &rl);
    int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    int nul = open("/dev/null", O_WRONLY);
    dup2(nul, 1);
    const char *argv[32];
    size_t k = 0;
    argv[k++] = CLM_CLI_PATH;
    for (size_t i = 0; args[i]; ++i)
      argv[k++] = args[i];
    argv[k] = NULL;
    execv(CLM_CLI_PATH, (char *const *)argv);
    _exit(127);
  }
  int ws = 0;
  cr_assert_eq(waitpid(pid, &ws, 0), pid);
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* 6e7 samples with int64 labels, float64 scores and --grad-out: whole-array
 * copies would need 60 + 240 + 240 MB of private memory; streamed batches
 * need a few tens of MB beyond what the runtime itself takes, and the exact
 * ranking stays within its --ranking-memory budget. */
Test(cli, gradients_stream_in_bounded_memory, .timeout = 300) {
#ifdef __SANITIZE_ADDRESS__
  cr_skip_test("AddressSanitizer reserves large shadow mappings");
#endif
  /* What an ordinary small run needs: the limit is that plus 256 MB. */
  write_fixture();
  rlim_t base = 0;
  const char *errp = fpath("limit.err");
  for (rlim_t mb = 256; mb <= 4096 && !base; mb *= 2)
    if (run_with_data_limit(EXTRA("binary", "--labels", fpath("labels.npy"),
                                  "--scores", fpath("logits.npy"), "--json"),
                            mb << 20, errp) == 0)
      base = mb << 20;
  cr_assert_neq(base, 0, "the CLI does not run under 4 GB of data");
  enum { BIG = 60000000 };
  const char *yp = fpath("y64.npy"), *zp = fpath("z64.npy");
  {
    int64_t *y = malloc(BIG * sizeof *y);
    double *z = malloc(BIG * sizeof *z);
    cr_assert(y && z);
    for (int i = 0; i < BIG; ++i) {
      y[i] = i % 3 == 0;
      z[i] = (double)(i % 11) - 5.0;
    }
    write_npy(yp, "<i8", shape1(BIG), y, BIG * sizeof *y);
    write_npy(zp, "<f8", shape1(BIG), z, BIG * sizeof *z);
    free(y);
    free(z);
  }
  const int rc = run_with_data_limit(EXTRA("binary", "--labels", yp, "--scores",
                                           zp, "--grad-out", opath("g.npy"),
                                           "--ranking-memory", "64M", "--json"),
                                     base + ((rlim_t)256 << 20), errp);
  char *err = slurp(errp, NULL);
  cr_expect_eq(rc, 0, "exit %d under a %llu MB data limit: %s", rc,
               (unsigned long long)((base >> 20) + 256), err);
  struct stat st;
  cr_expect_eq(stat(opath("g.npy"), &st), 0);
  cr_expect_eq((long long)st.st_size, 128 + (long long)BIG * 4);
  unlink(yp);
  unlink(zp);
}
