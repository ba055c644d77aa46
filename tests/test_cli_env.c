/* Placeholder: filled by the safety work. */
#include "cli_fixture.h"

TestSuite(cli, .init = make_tmpdir, .fini = remove_tmpdir);
