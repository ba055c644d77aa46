/* Shared fixture of the CLI tests (test_cli_*.c): a temporary directory
 * per test, fixture writers (.npy byte by byte, no Python needed), running
 * the CLI as a subprocess, checks of a failed run and JSON helpers. */
#ifndef CLM_TEST_CLI_FIXTURE_H
#define CLM_TEST_CLI_FIXTURE_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include "clmetrics.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define N 64
#define D 3
typedef struct run_result {
  int status; /* exit status, or 128 + signal */
  char *out, *err;
  char cmdline[2048];
} run_result;
#define RUN(...) run_cli((const char *const[]){__VA_ARGS__, NULL})
#define EXTRA(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define MN 16
#define MK 5
#define MC_CM "[[2,0,1,0,1],[0,3,0,0,0],[0,1,3,0,0],[0,0,0,2,0],[1,0,0,0,2]]"

extern char tmpdir[1024]; /* inputs and captured stdout/stderr */
extern char outdir[1100]; /* only the CLI's output files go here */
void make_tmpdir(void);
void remove_tree(const char *path);
void remove_tmpdir(void);
const char *fpath(const char *name);
const char *opath(const char *name);
char *outdir_listing(void);
void write_bytes(const char *path, const void *data, size_t len);
void write_npy_v(const char *path, int major, const char *descr, int fortran,
                 const char *shape, const void *data, size_t nbytes);
void write_npy(const char *path, const char *descr, const char *shape,
               const void *data, size_t nbytes);
const char *shape1(size_t n);
const char *shape2(size_t r, size_t c);
void write_u8(const char *path, const uint8_t *v, size_t n);
void write_i64(const char *path, const uint8_t *v, size_t n);
void write_f32(const char *path, const float *v, size_t n);
void write_f64(const char *path, const float *v, size_t n);
void write_f32_2d(const char *path, const float *v, size_t r, size_t c);
extern uint8_t fx_y[N];
extern float fx_z[N], fx_p[N], fx_x[N * D];
void make_fixture_data(void);
void write_fixture(void);
char *slurp(const char *path, size_t *len_out);
/* A started CLI process (argv[0]: the program; stdin /dev/null, stdout
 * and stderr in files of the test directory), and its end: the exit status
 * (128 + signal), the captured output, and a skip only where no OpenCL
 * platform exists at all. */
typedef struct cli_proc {
  pid_t pid;
  char *out_path, *err_path;
} cli_proc;
cli_proc cli_start(const char *const *argv, char *const *envp);
run_result cli_finish(cli_proc *p, int wait_status);
/* Starts argv and waits for it (rerun once only on LeakSanitizer's own
 * exit-time tracer crash). */
run_result cli_run_waited(const char *const *argv, char *const *envp);
/* Runs CLM_CLI_PATH with the NULL-terminated `args` and waits for it. */
run_result run_cli(const char *const *args);
run_result run_binary(const char *labels, const char *scores,
                      const char *features, const char *const *extra);
size_t count_lines(const char *s);
void expect_failure(const run_result *r, int code, const char *const *needles);
const char *json_check(const char *s);
char *json_object_text(const char *json, const char *key);
int json_has_key(const char *json, const char *key);
double json_num(const char *json, const char *key);
void expect_json_report(const run_result *r);
void expect_counts(const char *json, double tp, double fp, double tn,
                   double fn);
void expect_close(const char *what, double got, double want, double tol);
float *read_npy_f32(const char *path, size_t n);
/* clm_ref_sigmoid and clm_ref_softplus (src/reference/reference.h). */
double sigmoid(double z);
double softplus(double x);
void write_i64_v(const char *path, const int64_t *v, size_t n);
void write_i32_v(const char *path, const int32_t *v, size_t n);
void write_f64_v(const char *path, const double *v, size_t n);
void write_text(const char *path, const char *text);
extern const int64_t mc_y[MN];
extern const int64_t mc_p[MN];
extern float mc_s[MN * MK];
void write_mc_fixture(void);
char *json_array_text(const char *json, const char *key);
char *json_nth_object(const char *arr, int i);
char *strip_spaces(char *s);
void expect_confusion_matrix(const char *json, const char *want);
void expect_mc_json(const run_result *r, int k);
double mc_class_num(const char *json, int c, const char *key);
double mc_obj_num(const char *json, const char *obj, const char *key);

/* Suite set-up and tear-down: TestSuite(x, .init = make_tmpdir,
 * .fini = remove_tmpdir). */
void make_tmpdir(void);
void remove_tmpdir(void);

#endif
