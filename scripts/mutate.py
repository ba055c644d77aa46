#!/usr/bin/env python3
"""Mutation testing for clmetrics.

Each mutant in tests/mutation/mutants.txt is one small textual change to one
source or kernel file. The harness applies each to a private copy of the
tree, rebuilds incrementally, runs the ctest tests the mutant names and
reports whether the suite noticed (killed) or not (survived).

  scripts/mutate.py              run every mutant, print the table and rate
  scripts/mutate.py --only NAME  run the named mutants (repeatable)
  scripts/mutate.py --check      only check that every mutant still applies
                                 (its `find` text occurs exactly once)

Mutant blocks in the list (blank-line separated):
  name: a-short-name
  file: path/from/the/repository/root
  find: text that occurs exactly once in the file
  replace: its replacement
  tests: ctest -R regex of the tests that should kill it
  equivalent: reason (optional: a documented equivalent mutant, not counted)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIST = os.path.join(ROOT, "tests", "mutation", "mutants.txt")


def parse(path):
    mutants, cur = [], {}
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                if cur:
                    mutants.append(cur)
                    cur = {}
                continue
            key, sep, value = line.partition(": ")
            if not sep or key not in ("name", "file", "find", "replace",
                                      "tests", "equivalent"):
                sys.exit(f"{path}:{lineno}: expected 'key: value', got {line!r}")
            if key == "name":
                cur["line"] = lineno
            # \n in find/replace stands for a newline, \t for a tab.
            if key in ("find", "replace"):
                value = value.replace("\\n", "\n").replace("\\t", "\t")
            cur[key] = value
    if cur:
        mutants.append(cur)
    names = set()
    for m in mutants:
        for key in ("name", "file", "find", "replace", "tests"):
            if key not in m:
                sys.exit(f"{path}:{m.get('line', '?')}: mutant lacks '{key}'")
        if m["name"] in names:
            sys.exit(f"{path}: duplicate mutant name {m['name']}")
        names.add(m["name"])
    return mutants


def check(mutants, root):
    """Every find text occurs exactly once; returns the list of problems."""
    problems = []
    for m in mutants:
        path = os.path.join(root, m["file"])
        if not os.path.isfile(path):
            problems.append(f"{m['name']}: {m['file']} does not exist")
            continue
        text = open(path, encoding="utf-8").read()
        n = text.count(m["find"])
        if n != 1:
            problems.append(f"{m['name']}: '{m['find']}' occurs {n} times in "
                            f"{m['file']} (must be exactly once)")
        elif m["find"] == m["replace"]:
            problems.append(f"{m['name']}: replace equals find")
    return problems


def line_of(root, m):
    text = open(os.path.join(root, m["file"]), encoding="utf-8").read()
    return text[: text.index(m["find"])].count("\n") + 1


def copy_tree(dst):
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
        check=True, capture_output=True).stdout.decode().split("\0")
    for rel in files:
        if not rel or not os.path.isfile(os.path.join(ROOT, rel)):
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, rel)) or dst,
                    exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), os.path.join(dst, rel))


def run(cmd, cwd, timeout):
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"") + (e.stderr or b"")
        return 124, out.decode() if isinstance(out, bytes) else out


def failed_tests(output):
    names, grab = [], False
    for line in output.splitlines():
        if "The following tests FAILED" in line:
            grab = True
            continue
        if grab:
            m = re.match(r"\s*\d+ - (\S+)", line)
            if m:
                names.append(m.group(1))
            elif line.strip() and not line.startswith("\t"):
                grab = False
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--workdir", help="keep the copy and build here")
    ap.add_argument("--timeout", type=int, default=600,
                    help="seconds per mutant's tests (default 600)")
    args = ap.parse_args()
    mutants = parse(LIST)
    problems = check(mutants, ROOT)
    if args.check or problems:
        for p in problems:
            print("mutate: " + p, file=sys.stderr)
        if not problems:
            print(f"mutate: all {len(mutants)} mutants apply")
        return 1 if problems else 0
    if args.only:
        unknown = set(args.only) - {m["name"] for m in mutants}
        if unknown:
            sys.exit(f"mutate: unknown mutants: {', '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m["name"] in args.only]

    work = args.workdir or tempfile.mkdtemp(prefix="clm-mutate-")
    src, build = os.path.join(work, "src"), os.path.join(work, "build")
    shutil.rmtree(src, ignore_errors=True)
    copy_tree(src)
    rc, out = run(["cmake", "-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                   "-DCLM_BUILD_TESTS=ON", "-DCLM_BUILD_BENCH=OFF"], work, 600)
    if rc == 0:
        rc, out = run(["cmake", "--build", build, "-j", str(os.cpu_count() or 2)],
                      work, 1800)
    if rc != 0:
        sys.exit("mutate: the unmutated tree does not build:\n" + out[-4000:])

    rows = []
    t_start = time.time()
    for i, m in enumerate(mutants, 1):
        path = os.path.join(src, m["file"])
        original = open(path, encoding="utf-8").read()
        where = f"{m['file']}:{line_of(src, m)}"
        t0 = time.time()
        with open(path, "w", encoding="utf-8") as f:
            f.write(original.replace(m["find"], m["replace"], 1))
        try:
            rc, out = run(["cmake", "--build", build, "-j",
                           str(os.cpu_count() or 2)], work, 1800)
            if rc != 0:
                status, by = "killed", "build"
            else:
                rc, out = run(["ctest", "-R", m["tests"], "-j2",
                               "--timeout", str(args.timeout)], build,
                              args.timeout * 4)
                if "No tests were found" in out:
                    status, by = "error", "no test matches " + m["tests"]
                elif rc != 0:
                    status, by = "killed", ",".join(failed_tests(out)) or "ctest"
                else:
                    status, by = "survived", "-"
        finally:
            with open(path, "w", encoding="utf-8") as f:
                f.write(original)
        if m.get("equivalent") and status == "survived":
            status, by = "equivalent", m["equivalent"]
        rows.append((m["name"], where, status, by, time.time() - t0))
        print(f"[{i}/{len(mutants)}] {m['name']:32s} {where:40s} {status:10s} "
              f"{by} ({time.time() - t0:.0f} s)", flush=True)
    # Leave the copy as the original again so the build dir stays usable.
    run(["cmake", "--build", build, "-j", str(os.cpu_count() or 2)], work, 1800)

    counted = [r for r in rows if r[2] in ("killed", "survived")]
    killed = sum(r[2] == "killed" for r in rows)
    print()
    print(f"{'mutant':32s} {'where':40s} {'result':10s} by")
    for r in rows:
        print(f"{r[0]:32s} {r[1]:40s} {r[2]:10s} {r[3]}")
    rate = 100.0 * killed / len(counted) if counted else 0.0
    print(f"\nmutate: {killed} of {len(counted)} mutants killed ({rate:.1f} %), "
          f"{sum(r[2] == 'equivalent' for r in rows)} documented equivalent, "
          f"{sum(r[2] == 'error' for r in rows)} errors, "
          f"{time.time() - t_start:.0f} s")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r[2] != "error" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
