/* PoCL's kernel cache for the CLI: a directory that only this user can
 * write, never one that another user could have created or planted.
 *
 * PoCL loads compiled kernels (shared objects) from its cache directory:
 * $POCL_CACHE_DIR, else $XDG_CACHE_HOME/pocl/kcache, else
 * $HOME/.cache/pocl/kcache, else /tmp/pocl/kcache (a name any local user
 * can create first). It needs a writable one even with POCL_KERNEL_CACHE=0
 * (the build's temporary files go there), and finds no device without one.
 * So unless the user set POCL_CACHE_DIR, the CLI always names the
 * directory itself:
 *   1. $XDG_CACHE_HOME/pocl/kcache, then $HOME/.cache/pocl/kcache;
 *   2. $TMPDIR (else /tmp)/clmetrics-pocl-cache-<euid>, reused across runs;
 *   3. a fresh private directory made by mkdtemp in $TMPDIR (else /tmp),
 *      with the kernel cache off (it cannot be reused) and removed at exit;
 *   4. none: PoCL gets a path that cannot exist, so that it never falls
 *      back to /tmp/pocl, and cli_open_context names the problem.
 * A directory is used only when it is a real directory (opened with
 * O_NOFOLLOW, checked with fstat on that descriptor) owned by the
 * effective user with no group or other write permission, and its parent
 * is one that no other user can rename entries in (owned by this user or
 * root, and not writable by group or others unless sticky, as /tmp). */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_PATH_MAX 4096

/* What was tried and why it was not used, for the error message. */
static char tried[8192];
/* A mkdtemp directory to remove at exit, or "". */
static char private_dir[CACHE_PATH_MAX];
static int cache_unusable;

static void cache_info(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void cache_info(const char *fmt, ...) {
  if (!getenv("CLMETRICS_VERBOSE"))
    return;
  va_list ap;
  va_start(ap, fmt);
  fputs("clmetrics: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void note_tried(const char *path, const char *why) {
  const size_t len = strlen(tried);
  if (len + 16 < sizeof tried)
    snprintf(tried + len, sizeof tried - len, "%s%s (%s)", len ? ", " : "",
             path, why);
}

/* Whether a directory may hold the cache: "" if so, else why not. */
static const char *private_problem(const struct stat *st, char *why,
                                   size_t cap) {
  if (!S_ISDIR(st->st_mode))
    snprintf(why, cap, "not a directory");
  else if (st->st_uid != geteuid())
    snprintf(why, cap, "owned by uid %lu, not by uid %lu",
             (unsigned long)st->st_uid, (unsigned long)geteuid());
  else if (st->st_mode & (S_IWGRP | S_IWOTH))
    snprintf(why, cap, "writable by group or others, mode %04o",
             (unsigned)(st->st_mode & 07777));
  else
    why[0] = '\0';
  return why;
}

/* Whether a directory may contain the cache directory: no other user may
 * rename or replace its entries. "" if so, else why not. */
static const char *parent_problem(const struct stat *st, char *why,
                                  size_t cap) {
  if (!S_ISDIR(st->st_mode))
    snprintf(why, cap, "not a directory");
  else if (st->st_uid != geteuid() && st->st_uid != 0)
    snprintf(why, cap, "owned by uid %lu", (unsigned long)st->st_uid);
  else if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))
    snprintf(why, cap, "writable by group or others without the sticky bit");
  else
    why[0] = '\0';
  return why;
}

/* Opens `name` in the directory `dirfd` without following a symbolic link,
 * creating it (mode 0700) first when `create` and it does not exist.
 * Returns the descriptor, or -1 with the reason in `why`. */
static int open_subdir(int dirfd, const char *name, int create, int *created,
                       char *why, size_t cap) {
  *created = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd =
        openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
      return fd;
    const int e = errno;
    if (e == ENOENT && create && attempt == 0) {
      if (mkdirat(dirfd, name, 0700) == 0)
        *created = 1;
      else if (errno != EEXIST) {
        snprintf(why, cap, "cannot create: %s", strerror(errno));
        return -1;
      }
      continue;
    }
    struct stat st;
    if ((e == ELOOP || e == ENOTDIR) &&
        fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
      snprintf(why, cap, "%s",
               S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
    else
      snprintf(why, cap, "%s", strerror(e));
    return -1;
  }
  snprintf(why, cap, "%s", strerror(ENOENT));
  return -1;
}

/* Opens the directory `path` (following links: it names where the user
 * keeps things) and checks it as a parent. -1 with the reason otherwise. */
static int open_parent(const char *path, int create, char *why, size_t cap) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create && mkdir(path, 0700) == 0)
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(why, cap, "%s", strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    snprintf(why, cap, "%s", strerror(errno));
    close(fd);
    return -1;
  }
  if (*parent_problem(&st, why, cap)) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Walks the NULL-terminated `names` below the directory `fd` (which it
 * closes), creating missing ones, and checks each as private. 0 if the
 * last one may hold the cache; else -1, with `failed_at` the index of the
 * name that failed and the reason in `why`. */
static int walk_private(int fd, const char *const *names, int *failed_at,
                        int *existed, char *why, size_t cap) {
  *existed = 0;
  for (int i = 0; names[i]; ++i) {
    int created = 0;
    const int sub = open_subdir(fd, names[i], 1, &created, why, cap);
    close(fd);
    *failed_at = i;
    if (sub < 0)
      return -1;
    fd = sub;
    struct stat st;
    if (fstat(fd, &st) != 0) {
      snprintf(why, cap, "%s", strerror(errno));
      close(fd);
      return -1;
    }
    if (*private_problem(&st, why, cap)) {
      *existed = !created;
      close(fd);
      return -1;
    }
  }
  close(fd);
  return 0;
}

/* $XDG_CACHE_HOME or $HOME/.cache, then pocl/kcache below it, as PoCL's
 * own default; 0 and the path in `out` when usable. */
static int try_user_cache(const char *base, int create_base, char *out,
                          size_t cap) {
  char why[256];
  const int fd = open_parent(base, create_base, why, sizeof why);
  if (fd < 0) {
    note_tried(base, why);
    return -1;
  }
  static const char *const names[] = {"pocl", "kcache", NULL};
  int failed_at = 0, existed = 0;
  if (walk_private(fd, names, &failed_at, &existed, why, sizeof why) != 0) {
    char path[CACHE_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s%s", base, failed_at ? "pocl/" : "",
             names[failed_at]);
    note_tried(path, why);
    if (existed)
      cli_warning("not using %s as the kernel cache: %s", path, why);
    return -1;
  }
  snprintf(out, cap, "%s/pocl/kcache", base);
  return 0;
}

/* Removes the directory tree below `dirfd` without following links. */
static void remove_below(int dirfd) {
  DIR *d = fdopendir(dirfd);
  if (!d) {
    close(dirfd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    const int sub = openat(dirfd, e->d_name,
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub >= 0) {
      remove_below(sub);
      unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
    } else {
      unlinkat(dirfd, e->d_name, 0);
    }
  }
  closedir(d);
}

void cli_kernel_cache_cleanup(void) {
  if (!private_dir[0])
    return;
  const int fd =
      open(private_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0)
    remove_below(fd);
  rmdir(private_dir);
  private_dir[0] = '\0';
}

/* The temporary directory: a reusable per-user name, else a private
 * mkdtemp one. 0 and the path in `out` when usable. */
static int try_temporary(char *out, size_t cap) {
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp)
    tmp = "/tmp";
  char why[256];
  const int fd = open_parent(tmp, 0, why, sizeof why);
  if (fd < 0) {
    note_tried(tmp, why);
    return -1;
  }
  char name[64];
  snprintf(name, sizeof name, "clmetrics-pocl-cache-%lu",
           (unsigned long)geteuid());
  const char *const names[] = {name, NULL};
  int failed_at = 0, existed = 0;
  if (walk_private(fd, names, &failed_at, &existed, why, sizeof why) == 0) {
    snprintf(out, cap, "%s/%s", tmp, name);
    return 0;
  }
  char fixed[CACHE_PATH_MAX];
  snprintf(fixed, sizeof fixed, "%s/%s", tmp, name);
  note_tried(fixed, why);
  /* Only for the message: the name exists, so someone made it. */
  struct stat lst;
  if (existed || lstat(fixed, &lst) == 0)
    cli_warning("not using %s as the kernel cache: %s (another user may "
                "have created it); using a private temporary directory",
                fixed, why);
  /* A fresh directory only this process knows; mkdtemp makes it 0700. */
  char dir[CACHE_PATH_MAX];
  snprintf(dir, sizeof dir, "%s/clmetrics-pocl-XXXXXX", tmp);
  if (!mkdtemp(dir)) {
    const int e = errno;
    snprintf(dir, sizeof dir, "%s/clmetrics-pocl-XXXXXX", tmp);
    note_tried(dir, strerror(e));
    return -1;
  }
  snprintf(private_dir, sizeof private_dir, "%s", dir);
  atexit(cli_kernel_cache_cleanup);
  const int pfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (pfd < 0 || fstat(pfd, &st) != 0 ||
      *private_problem(&st, why, sizeof why)) {
    if (pfd >= 0)
      close(pfd);
    note_tried(dir, why[0] ? why : strerror(errno));
    cli_kernel_cache_cleanup();
    return -1;
  }
  close(pfd);
  /* Nothing in it outlives the run: do not cache kernels (the user's own
   * POCL_KERNEL_CACHE setting wins). */
  setenv("POCL_KERNEL_CACHE", "0", 0);
  snprintf(out, cap, "%s", dir);
  return 1;
}

void cli_setup_kernel_cache(void) {
  const char *set = getenv("POCL_CACHE_DIR");
  if (set && *set) {
    cache_info("kernel cache: %s (POCL_CACHE_DIR, as set)", set);
    return;
  }
  char dir[CACHE_PATH_MAX];
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  int rc = -1;
  if (xdg && *xdg)
    rc = try_user_cache(xdg, 1, dir, sizeof dir);
  if (rc != 0 && home && *home) {
    char base[CACHE_PATH_MAX];
    snprintf(base, sizeof base, "%s/.cache", strcmp(home, "/") ? home : "");
    rc = try_user_cache(base, 1, dir, sizeof dir);
  }
  if (rc != 0)
    rc = try_temporary(dir, sizeof dir);
  if (rc >= 0) {
    setenv("POCL_CACHE_DIR", dir, 1);
    if (rc == 0)
      cache_info("kernel cache: %s", dir);
    else
      cache_info("kernel cache off: PoCL builds in the private directory %s "
                 "(removed at exit)",
                 dir);
    return;
  }
  /* No usable directory. Name one that can never exist (nothing can be
   * created below /dev/null), so that PoCL does not fall back to a shared
   * default such as /tmp/pocl. */
  cache_unusable = 1;
  setenv("POCL_CACHE_DIR", "/dev/null/clmetrics-no-cache-dir", 1);
  setenv("POCL_KERNEL_CACHE", "0", 0);
  cache_info("no usable kernel cache directory (tried %s)", tried);
}

const char *cli_kernel_cache_problem(void) {
  return cache_unusable ? tried : NULL;
}
