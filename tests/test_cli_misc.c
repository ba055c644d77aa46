/* `clmetrics` help, version, devices and demo. */
#include "cli_fixture.h"

TestSuite(cli, .init = make_tmpdir, .fini = remove_tmpdir);

/* ---------------------------------------------------------------- */
/* Help, version, devices, demo                                      */
/* ---------------------------------------------------------------- */

Test(cli, help_everywhere) {
  const char *const *cmds[] = {
      (const char *const[]){"--help", NULL},
      (const char *const[]){"binary", "--help", NULL},
      (const char *const[]){"demo", "--help", NULL},
      (const char *const[]){"devices", "--help", NULL}};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; ++i) {
    run_result r = run_cli(cmds[i]);
    cr_expect_eq(r.status, 0, "%s: exit %d: %s", r.cmdline, r.status, r.err);
    cr_expect_not_null(strstr(r.out, "usage"), "%s: %s", r.cmdline, r.out);
  }
}

Test(cli, version) {
  run_result r = RUN("--version");
  cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  cr_expect_not_null(strstr(r.out, CLM_VERSION_STRING), "%s", r.out);
}

Test(cli, devices_lists_one) {
  run_result r = RUN("devices");
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  cr_expect_not_null(strstr(r.out, "platform"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "[0]"), "no device listed: %s", r.out);
}

Test(cli, demo_small) {
  run_result r = RUN("demo", "--n", "1000");
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  cr_expect_not_null(strstr(r.out, "origin Q1"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "1000"), "%s", r.out);
}

/* ================================================================ */
/* `clmetrics multiclass`                                            */
/* ================================================================ */
