/* The CLI's environment: PoCL's kernel cache directory (never one another
 * user could have created or planted), CLMETRICS_CHUNK and device specs
 * that are not device indices. */
#include "cli_fixture.h"

#include <errno.h>
#include <sys/time.h>

TestSuite(cli, .init = make_tmpdir, .fini = remove_tmpdir);

#define NOBODY 65534

/* ---------------------------------------------------------------- */
/* Running the CLI with a chosen environment, optionally as nobody   */
/* ---------------------------------------------------------------- */

/* Variables every run here sets itself (or leaves unset). */
static const char *const controlled[] = {"HOME",
                                         "XDG_CACHE_HOME",
                                         "TMPDIR",
                                         "POCL_CACHE_DIR",
                                         "POCL_KERNEL_CACHE",
                                         "CLMETRICS_VERBOSE",
                                         "CLMETRICS_CHUNK",
                                         "CLMETRICS_DEVICE",
                                         NULL};

static int is_controlled(const char *entry) {
  for (size_t i = 0; controlled[i]; ++i) {
    const size_t k = strlen(controlled[i]);
    if (strncmp(entry, controlled[i], k) == 0 && entry[k] == '=')
      return 1;
  }
  return 0;
}

static const char *setpriv_path(void) {
  static const char *const paths[] = {"/usr/bin/setpriv", "/bin/setpriv", NULL};
  for (size_t i = 0; paths[i]; ++i)
    if (access(paths[i], X_OK) == 0)
      return paths[i];
  return NULL;
}

/* Runs `prog` (CLM_CLI_PATH when NULL) with `args` (argv[1..]) and the
 * environment of this process minus the controlled variables, plus the
 * NULL-terminated "NAME=value" entries of `env` (TMPDIR defaults to the
 * test's directory); as uid/gid 65534 through setpriv when `as_nobody`. stdout
 * and stderr are captured as in run_cli. */
static run_result run_env(const char *const *env, int as_nobody,
                          const char *prog, const char *const *args) {
  run_result r = {0};
  const char *argv[64];
  size_t k = 0;
  if (!prog)
    prog = CLM_CLI_PATH;
  if (as_nobody) {
    argv[k++] = setpriv_path();
    argv[k++] = "--reuid=65534";
    argv[k++] = "--regid=65534";
    argv[k++] = "--clear-groups";
  }
  argv[k++] = prog;
  size_t pos = (size_t)snprintf(r.cmdline, sizeof r.cmdline, "%s%s",
                                as_nobody ? "(as nobody) " : "", prog);
  for (size_t i = 0; env && env[i]; ++i)
    pos += (size_t)snprintf(r.cmdline + pos, sizeof r.cmdline - pos, " [%s]",
                            env[i]);
  for (size_t i = 0; args[i]; ++i) {
    cr_assert(k < 63);
    argv[k++] = args[i];
    if (pos < sizeof r.cmdline)
      pos += (size_t)snprintf(r.cmdline + pos, sizeof r.cmdline - pos, " %s",
                              args[i]);
  }
  argv[k] = NULL;
  const char *envp[512];
  size_t e = 0;
  for (char **v = environ; *v && e < 480; ++v)
    if (!is_controlled(*v))
      envp[e++] = *v;
  int has_tmpdir = 0;
  for (size_t i = 0; env && env[i] && e < 509; ++i) {
    envp[e++] = env[i];
    has_tmpdir |= strncmp(env[i], "TMPDIR=", 7) == 0;
  }
  /* Nothing may land in the real /tmp: TMPDIR is the test's directory
   * unless the test chose one. */
  char *default_tmp = NULL;
  if (!has_tmpdir) {
    cr_assert_neq(asprintf(&default_tmp, "TMPDIR=%s", tmpdir), -1);
    envp[e++] = default_tmp;
  }
  envp[e] = NULL;
  run_result done = cli_run_waited(argv, (char *const *)envp);
  memcpy(done.cmdline, r.cmdline, sizeof r.cmdline);
  r = done;
  free(default_tmp);
  return r;
}

/* `clmetrics binary` on the standard fixture, JSON report. */
static run_result run_fixture(const char *const *env, int as_nobody) {
  return run_env(env, as_nobody, NULL,
                 EXTRA("binary", "--labels", fpath("labels.npy"), "--scores",
                       fpath("logits.npy"), "--json"));
}

/* The fixture's confusion counts at threshold 0.5 (z > 0). */
static void expect_fixture_report(const run_result *r) {
  cr_assert_eq(r->status, 0, "%s: exit %d: %s", r->cmdline, r->status, r->err);
  expect_json_report(r);
  double tp = 0, fp = 0, tn = 0, fn = 0;
  for (int i = 0; i < N; ++i) {
    const int pred = fx_z[i] > 0.0f;
    tp += fx_y[i] && pred;
    fn += fx_y[i] && !pred;
    fp += !fx_y[i] && pred;
    tn += !fx_y[i] && !pred;
  }
  expect_counts(r->out, tp, fp, tn, fn);
}

static const char *env_kv(const char *name, const char *value) {
  char *s = NULL;
  cr_assert_neq(asprintf(&s, "%s=%s", name, value), -1);
  return s;
}

static void make_dir(const char *path, mode_t mode) {
  cr_assert_eq(mkdir(path, mode), 0, "mkdir %s: %s", path, strerror(errno));
  cr_assert_eq(chmod(path, mode), 0); /* past the umask */
}

/* A directory another user could have made first, with a marker file
 * standing for a planted kernel binary. */
static void plant(const char *path, mode_t mode, uid_t uid) {
  make_dir(path, mode);
  char *marker = NULL;
  cr_assert_neq(asprintf(&marker, "%s/marker", path), -1);
  write_text(marker, "planted\n");
  cr_assert_eq(chown(marker, uid, uid), 0);
  /* An old mtime, so that any later change shows. */
  struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
  cr_assert_eq(utimes(path, tv), 0);
  cr_assert_eq(chown(path, uid, uid), 0, "chown %s: %s", path, strerror(errno));
  free(marker);
}

/* The entries of a directory, sorted, joined by spaces. */
static char *listing(const char *path) {
  struct dirent **names = NULL;
  const int k = scandir(path, &names, NULL, alphasort);
  cr_assert(k >= 0, "scandir %s: %s", path, strerror(errno));
  char *list = calloc(1, 1);
  size_t len = 0;
  for (int i = 0; i < k; ++i) {
    const char *n = names[i]->d_name;
    if (strcmp(n, ".") != 0 && strcmp(n, "..") != 0) {
      const size_t l = strlen(n);
      list = realloc(list, len + l + 2);
      memcpy(list + len, n, l);
      len += l;
      list[len++] = ' ';
      list[len] = '\0';
    }
    free(names[i]);
  }
  free(names);
  return list;
}

/* The planted directory is as it was: only the marker, unchanged, and its
 * modification time untouched (nothing created, renamed or removed). */
static void expect_untouched(const char *path, uid_t uid, mode_t mode) {
  char *list = listing(path);
  cr_expect_str_eq(list, "marker ", "%s was used: it now holds %s", path, list);
  free(list);
  struct stat st;
  cr_assert_eq(lstat(path, &st), 0);
  cr_expect_eq(st.st_mtime, 1000000000, "%s was modified", path);
  cr_expect_eq(st.st_uid, uid);
  cr_expect_eq(st.st_mode & 07777, mode);
  char *marker = NULL;
  cr_assert_neq(asprintf(&marker, "%s/marker", path), -1);
  char *text = slurp(marker, NULL);
  cr_expect_str_eq(text, "planted\n");
  free(text);
  free(marker);
}

static void need_root(void) {
  if (geteuid() != 0)
    cr_skip_test("needs root (to create directories owned by others)");
}

/* Skips unless uid 65534 can run the CLI and read the test directory. */
static void need_nobody(void) {
  need_root();
  if (!setpriv_path())
    cr_skip_test("setpriv (util-linux) is not installed");
  cr_assert_eq(chmod(tmpdir, 0755), 0);
  run_result r =
      run_env(NULL, 1, "/usr/bin/test", EXTRA("-r", fpath("labels.npy")));
  if (r.status != 0)
    cr_skip_test("uid 65534 cannot read %s (a parent directory is private)",
                 tmpdir);
  r = run_env(NULL, 1, NULL, EXTRA("--version"));
  if (r.status != 0)
    cr_skip_test("uid 65534 cannot run %s: %s", CLM_CLI_PATH, r.err);
}

/* ---------------------------------------------------------------- */
/* Kernel cache directory                                            */
/* ---------------------------------------------------------------- */

/* Root, HOME unset, $TMPDIR/clmetrics-pocl-cache-0 made first by another
 * user (mode 0777): refused with a warning, never read or written; the
 * run succeeds on a private directory that is gone afterwards. */
Test(cli, cache_planted_by_other_user_is_refused) {
  need_root();
  write_fixture();
  const char *tmp = fpath("tmp");
  make_dir(tmp, 0700);
  char *planted = NULL;
  cr_assert_neq(asprintf(&planted, "%s/clmetrics-pocl-cache-0", tmp), -1);
  plant(planted, 0777, NOBODY);
  run_result r =
      run_fixture(EXTRA(env_kv("TMPDIR", tmp), "CLMETRICS_VERBOSE=1"), 0);
  expect_fixture_report(&r);
  expect_untouched(planted, NOBODY, 0777);
  cr_expect_not_null(strstr(r.err, "warning"), "no warning: %s", r.err);
  cr_expect_not_null(strstr(r.err, planted), "warning lacks %s: %s", planted,
                     r.err);
  cr_expect_not_null(strstr(r.err, "owned by uid 65534"), "%s", r.err);
  cr_expect_not_null(strstr(r.err, "private directory"), "%s", r.err);
  /* The private directory was removed at exit. */
  char *list = listing(tmp);
  cr_expect_str_eq(list, "clmetrics-pocl-cache-0 ", "left behind: %s", list);
  free(list);
  free(planted);
}

/* Root's own name, but mode 0777 (anyone could have planted files). */
Test(cli, cache_world_writable_dir_is_refused) {
  write_fixture();
  const char *tmp = fpath("tmp");
  make_dir(tmp, 0700);
  char *planted = NULL;
  cr_assert_neq(asprintf(&planted, "%s/clmetrics-pocl-cache-%lu", tmp,
                         (unsigned long)geteuid()),
                -1);
  plant(planted, 0777, geteuid());
  run_result r = run_fixture(EXTRA(env_kv("TMPDIR", tmp)), 0);
  expect_fixture_report(&r);
  expect_untouched(planted, geteuid(), 0777);
  cr_expect_not_null(strstr(r.err, "writable by group or others"), "%s", r.err);
  char *list = listing(tmp), *want = NULL;
  cr_assert_neq(asprintf(&want, "%s ", strrchr(planted, '/') + 1), -1);
  cr_expect_str_eq(list, want, "left behind: %s", list);
  free(want);
  free(list);
  free(planted);
}

/* The fixed name is a symbolic link to a directory this user owns: not
 * followed (someone else could have pointed it anywhere). */
Test(cli, cache_symlink_is_refused) {
  write_fixture();
  const char *tmp = fpath("tmp");
  make_dir(tmp, 0700);
  const char *target = fpath("target");
  make_dir(target, 0700);
  char *link = NULL;
  cr_assert_neq(asprintf(&link, "%s/clmetrics-pocl-cache-%lu", tmp,
                         (unsigned long)geteuid()),
                -1);
  cr_assert_eq(symlink(target, link), 0);
  run_result r = run_fixture(EXTRA(env_kv("TMPDIR", tmp)), 0);
  expect_fixture_report(&r);
  char *list = listing(target);
  cr_expect_str_empty(list, "the link's target was used: %s", list);
  free(list);
  struct stat st;
  cr_assert_eq(lstat(link, &st), 0);
  cr_expect(S_ISLNK(st.st_mode), "the link was replaced");
  cr_expect_not_null(strstr(r.err, "symbolic link"), "%s", r.err);
  free(link);
}

/* Non-root: uid 65534 with HOME unset and a /tmp-like TMPDIR (root's,
 * mode 1777) where root made clmetrics-pocl-cache-65534 with mode 0777. */
Test(cli, cache_planted_for_nobody_is_refused) {
  write_fixture();
  need_nobody();
  const char *tmp = fpath("tmp");
  make_dir(tmp, 01777);
  char *planted = NULL;
  cr_assert_neq(asprintf(&planted, "%s/clmetrics-pocl-cache-65534", tmp), -1);
  plant(planted, 0777, 0);
  run_result r =
      run_fixture(EXTRA(env_kv("TMPDIR", tmp), "CLMETRICS_VERBOSE=1"), 1);
  expect_fixture_report(&r);
  expect_untouched(planted, 0, 0777);
  cr_expect_not_null(strstr(r.err, "owned by uid 0"), "%s", r.err);
  char *list = listing(tmp);
  cr_expect_str_eq(list, "clmetrics-pocl-cache-65534 ", "left behind: %s",
                   list);
  free(list);
  free(planted);
}

/* Nobody's own cache directory: created private (0700) on the first run,
 * then reused. */
Test(cli, cache_dir_created_private_and_reused) {
  write_fixture();
  need_nobody();
  const char *tmp = fpath("tmp");
  make_dir(tmp, 01777);
  char *mine = NULL;
  cr_assert_neq(asprintf(&mine, "%s/clmetrics-pocl-cache-65534", tmp), -1);
  for (int run = 0; run < 2; ++run) {
    run_result r =
        run_fixture(EXTRA(env_kv("TMPDIR", tmp), "CLMETRICS_VERBOSE=1"), 1);
    expect_fixture_report(&r);
    cr_expect_not_null(strstr(r.err, mine), "run %d: %s not named: %s", run,
                       mine, r.err);
    cr_expect_null(strstr(r.err, "warning"), "run %d: %s", run, r.err);
    struct stat st;
    cr_assert_eq(lstat(mine, &st), 0, "%s not created", mine);
    cr_expect(S_ISDIR(st.st_mode));
    cr_expect_eq(st.st_uid, NOBODY);
    cr_expect_eq(st.st_mode & 077, 0, "mode %o", st.st_mode & 07777);
    char *list = listing(mine);
    cr_expect_str_neq(list, "", "the cache was not used");
    free(list);
  }
  free(mine);
}

/* Under HOME, too: a kcache directory that is not the user's own is not
 * used (PoCL's own default would have used it). */
Test(cli, cache_foreign_dir_under_home_is_refused) {
  need_root();
  write_fixture();
  const char *home = fpath("home");
  make_dir(home, 0700);
  make_dir(fpath("home/.cache"), 0700);
  make_dir(fpath("home/.cache/pocl"), 0700);
  const char *kcache = fpath("home/.cache/pocl/kcache");
  plant(kcache, 0777, NOBODY);
  const char *tmp = fpath("tmp");
  make_dir(tmp, 0700);
  run_result r = run_fixture(
      EXTRA(env_kv("HOME", home), env_kv("TMPDIR", tmp), "CLMETRICS_VERBOSE=1"),
      0);
  expect_fixture_report(&r);
  expect_untouched(kcache, NOBODY, 0777);
  cr_expect_not_null(strstr(r.err, kcache), "%s", r.err);
  cr_expect_not_null(strstr(r.err, "clmetrics-pocl-cache-0"), "%s", r.err);
}

/* A user's own POCL_CACHE_DIR is used as it is. */
Test(cli, cache_pocl_cache_dir_is_respected) {
  write_fixture();
  const char *mine = fpath("mine");
  make_dir(mine, 0700);
  const char *tmp = fpath("tmp");
  make_dir(tmp, 0700);
  run_result r = run_fixture(
      EXTRA(env_kv("POCL_CACHE_DIR", mine), env_kv("TMPDIR", tmp)), 0);
  expect_fixture_report(&r);
  char *list = listing(mine);
  cr_expect_str_neq(list, "", "POCL_CACHE_DIR was not used");
  free(list);
  list = listing(tmp);
  cr_expect_str_empty(list, "TMPDIR used: %s", list);
  free(list);
}

/* No usable directory (HOME a file, TMPDIR missing): the error names the
 * cache directory problem and what was tried, not "no device". */
Test(cli, cache_none_usable_is_named) {
  write_fixture();
  const char *home = fpath("home-is-a-file");
  write_text(home, "x\n");
  const char *tmp = fpath("no-such-dir");
  run_result r =
      run_fixture(EXTRA(env_kv("HOME", home), env_kv("TMPDIR", tmp)), 0);
  expect_failure(&r, 1, NEEDLES("kernel cache directory", tmp, home));
  cr_expect_not_null(strstr(r.err, "POCL_CACHE_DIR"), "%s", r.err);
  /* `clmetrics devices` says the same. */
  r = run_env(EXTRA(env_kv("HOME", home), env_kv("TMPDIR", tmp)), 0, NULL,
              EXTRA("devices"));
  expect_failure(&r, 1, NEEDLES("kernel cache directory", tmp, home));
}

/* The same for a non-root user with a read-only HOME and TMPDIR. */
Test(cli, cache_none_usable_for_nobody_is_named) {
  write_fixture();
  need_nobody();
  const char *home = fpath("rohome");
  make_dir(home, 0755);
  const char *tmp = fpath("rotmp");
  make_dir(tmp, 0755);
  run_result r =
      run_fixture(EXTRA(env_kv("HOME", home), env_kv("TMPDIR", tmp)), 1);
  expect_failure(&r, 1, NEEDLES("kernel cache directory", tmp, home));
  char *list = listing(tmp);
  cr_expect_str_empty(list, "%s", list);
  free(list);
}

/* ---------------------------------------------------------------- */
/* CLMETRICS_CHUNK and device specs                                  */
/* ---------------------------------------------------------------- */

Test(cli, chunk_env_rejects_bad_values) {
  write_fixture();
  static const char *const bad[] = {
      "0",    "-5",         "abc",
      "1e30", "12x",        " 7",
      "1.5",  "1073741825", "99999999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    run_result r = run_fixture(EXTRA(env_kv("CLMETRICS_CHUNK", bad[i])), 0);
    expect_failure(&r, 2, NEEDLES("CLMETRICS_CHUNK", bad[i]));
  }
}

Test(cli, chunk_env_accepts_whole_numbers) {
  write_fixture();
  static const char *const good[] = {"1", "7", "64", "1073741824"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; ++i) {
    run_result r = run_fixture(EXTRA(env_kv("CLMETRICS_CHUNK", good[i])), 0);
    expect_fixture_report(&r);
  }
}

Test(cli, device_negative_index_is_named) {
  write_fixture();
  run_result r =
      run_env(NULL, 0, NULL,
              EXTRA("binary", "--labels", fpath("labels.npy"), "--scores",
                    fpath("logits.npy"), "--device", "-1"));
  expect_failure(&r, 1, NEEDLES("-1", "not a device index", "devices"));
  cr_expect_null(strstr(r.err, "18446744073709551615"), "%s", r.err);
  r = run_env(EXTRA("CLMETRICS_DEVICE=-1"), 0, NULL,
              EXTRA("binary", "--labels", fpath("labels.npy"), "--scores",
                    fpath("logits.npy")));
  expect_failure(&r, 1, NEEDLES("-1", "not a device index"));
}

Test(cli, device_huge_index_is_named) {
  write_fixture();
  run_result r = run_env(NULL, 0, NULL,
                         EXTRA("binary", "--labels", fpath("labels.npy"),
                               "--scores", fpath("logits.npy"), "--device",
                               "99999999999999999999999"));
  expect_failure(&r, 1, NEEDLES("99999999999999999999999", "out of range"));
  cr_expect_null(strstr(r.err, "18446744073709551615"), "%s", r.err);
  r = run_env(NULL, 0, NULL,
              EXTRA("binary", "--labels", fpath("labels.npy"), "--scores",
                    fpath("logits.npy"), "--device", "no-such-device"));
  expect_failure(&r, 1, NEEDLES("no-such-device", "device(s)"));
}
