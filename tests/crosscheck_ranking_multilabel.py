#!/usr/bin/python3
"""Cross-check clm_ranking_compute_multilabel (per-label exact ROC-AUC and
average precision of an indicator matrix) against scikit-learn's
roc_auc_score and average_precision_score with average=None, "macro",
"weighted" and "micro", unweighted and with sample_weight.

Usage: /usr/bin/python3 tests/crosscheck_ranking_multilabel.py \
           --lib build/libclmetrics.so

No CLI subcommand evaluates multilabel ranking yet, so this calls the
shared library through ctypes (the structs below mirror include/clmetrics.h
for the LP64 ABI). Conventions:

* Scores are ranked as stored (float32 or float64); scikit-learn rejects
  infinities, so +-inf are replaced by finite values above / below every
  other score (the same order and ties) for scikit-learn only.
* Every label has both classes (scikit-learn raises otherwise); weights are
  float32 with about one row in five of weight 0, which scikit-learn drops
  as the library does.
* "weighted" weighs each label by its positives' weight (scikit-learn's
  sum of y_true * sample_weight per column) = the result's
  positive_weight; "micro" is the binary ranking of the n * k cells, the
  library's k = 1 call over the same arrays with each row's weight repeated
  k times.
* Tolerance: RANK_REL_TOL relative, as tests/crosscheck.py (exact values
  against scikit-learn's float64 sums).

Exits 0 and prints "skipped" without NumPy / scikit-learn or when no OpenCL
device is found.
"""

import argparse
import ctypes as C
import sys

try:
    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score
except Exception as exc:  # optional dependencies
    print(f"crosscheck_ranking_multilabel: skipped: {exc}")
    sys.exit(0)

RANK_REL_TOL = 1e-9


class Error(C.Structure):
    _fields_ = [("status", C.c_int), ("index", C.c_int64),
                ("value", C.c_double), ("message", C.c_char * 512),
                ("input", C.c_int)]


class Options(C.Structure):
    _fields_ = [("memory_budget", C.c_uint64), ("curve_points", C.c_uint64),
                ("batch_rows", C.c_uint64), ("scores_are_probs", C.c_int),
                # The collective reduce hook and its argument (NULL here).
                ("reduce", C.c_void_p), ("reduce_user", C.c_void_p)]


class Class(C.Structure):
    _fields_ = [("positives", C.c_uint64), ("negatives", C.c_uint64),
                ("roc_auc", C.c_double), ("roc_auc_lo", C.c_double),
                ("roc_auc_hi", C.c_double),
                ("average_precision", C.c_double),
                ("average_precision_lo", C.c_double),
                ("average_precision_hi", C.c_double),
                ("distinct", C.c_uint64), ("curve", C.c_void_p),
                ("curve_len", C.c_uint64), ("positive_weight", C.c_double),
                ("negative_weight", C.c_double)]


class Result(C.Structure):
    _fields_ = [("n", C.c_uint64), ("k", C.c_uint32), ("exact", C.c_int),
                ("classes", C.POINTER(Class)),
                ("roc_auc_macro", C.c_double),
                ("roc_auc_weighted", C.c_double),
                ("average_precision_macro", C.c_double),
                ("average_precision_weighted", C.c_double),
                ("passes", C.c_uint32), ("memory_bytes", C.c_uint64)]


class Lib:
    def __init__(self, path):
        self.lib = C.CDLL(path)
        L = self.lib
        L.clm_status_str.restype = C.c_char_p
        L.clm_dtype_name.restype = C.c_char_p
        # The dtype enum's values, by their names (no header parsing).
        self.dtypes = {}
        for v in range(16):
            name = L.clm_dtype_name(C.c_int(v))
            if name:
                self.dtypes[name.decode()] = v
        L.clm_ranking_compute_multilabel.argtypes = [
            C.c_void_p, C.c_void_p, C.c_void_p, C.c_int, C.c_void_p,
            C.c_uint64, C.c_uint32, C.POINTER(Options), C.POINTER(Result),
            C.POINTER(Error)]
        L.clm_ranking_compute_arrays.argtypes = [
            C.c_void_p, C.c_void_p, C.c_void_p, C.c_int, C.c_uint64,
            C.c_uint32, C.c_int, C.POINTER(Options), C.POINTER(Result),
            C.POINTER(Error)]
        L.clm_ranking_compute_arrays_weighted.argtypes = [
            C.c_void_p, C.c_void_p, C.c_void_p, C.c_void_p, C.c_int,
            C.c_uint64, C.c_uint32, C.c_int, C.POINTER(Options),
            C.POINTER(Result), C.POINTER(Error)]
        L.clm_ranking_result_release.argtypes = [C.POINTER(Result)]
        L.clm_context_free.argtypes = [C.c_void_p]
        # The context options are opaque here: room, then their init.
        self.ctx_opts = C.create_string_buffer(4096)
        L.clm_context_options_init(self.ctx_opts)
        self.ctx = C.c_void_p()
        err = Error()
        st = L.clm_context_create(self.ctx_opts, C.byref(self.ctx),
                                  C.byref(err))
        self.status = st
        self.message = err.message.decode(errors="replace")

    def dtype(self, a):
        return self.dtypes["float64" if a.dtype == np.float64 else "float32"]

    def _result(self, st, r, err):
        if st != 0:
            raise RuntimeError(f"status {st}: {err.message.decode()}")
        k = r.k
        out = {
            "auc": [r.classes[c].roc_auc for c in range(k)],
            "ap": [r.classes[c].average_precision for c in range(k)],
            "pos_w": [r.classes[c].positive_weight for c in range(k)],
            "auc_macro": r.roc_auc_macro, "auc_weighted": r.roc_auc_weighted,
            "ap_macro": r.average_precision_macro,
            "ap_weighted": r.average_precision_weighted,
            "exact": r.exact,
        }
        self.lib.clm_ranking_result_release(C.byref(r))
        return out

    def multilabel(self, Y, S, w):
        Y = np.ascontiguousarray(Y, dtype=np.uint8)
        S = np.ascontiguousarray(S)
        wp = None if w is None else np.ascontiguousarray(w, np.float32)
        r, err, o = Result(), Error(), Options()
        self.lib.clm_ranking_options_init(C.byref(o))
        st = self.lib.clm_ranking_compute_multilabel(
            self.ctx, Y.ctypes.data, S.ctypes.data, self.dtype(S),
            None if wp is None else wp.ctypes.data, Y.shape[0], Y.shape[1],
            C.byref(o), C.byref(r), C.byref(err))
        return self._result(st, r, err)

    def binary(self, y, s, w):
        y = np.ascontiguousarray(y, dtype=np.uint8)
        s = np.ascontiguousarray(s)
        r, err, o = Result(), Error(), Options()
        self.lib.clm_ranking_options_init(C.byref(o))
        if w is None:
            st = self.lib.clm_ranking_compute_arrays(
                self.ctx, y.ctypes.data, s.ctypes.data, self.dtype(s), len(y),
                1, 0, C.byref(o), C.byref(r), C.byref(err))
        else:
            w = np.ascontiguousarray(w, np.float32)
            st = self.lib.clm_ranking_compute_arrays_weighted(
                self.ctx, y.ctypes.data, s.ctypes.data, w.ctypes.data,
                self.dtype(s), len(y), 1, 0, C.byref(o), C.byref(r),
                C.byref(err))
        return self._result(st, r, err)


def finite(S):
    r = np.array(S, dtype=np.float64)
    fin = r[np.isfinite(r)]
    hi = float(fin.max()) if fin.size else 0.0
    lo = float(fin.min()) if fin.size else 0.0
    step = max(hi - lo, abs(hi), abs(lo), 1.0)
    r[np.isposinf(r)] = hi + step
    r[np.isneginf(r)] = lo - step
    return r


class Checker:
    def __init__(self):
        self.failures = 0
        self.checks = 0

    def close(self, case, what, got, want):
        self.checks += 1
        tol = RANK_REL_TOL * abs(want)
        if not abs(got - want) <= tol:
            self.failures += 1
            print(f"FAIL {case}: {what} = {got!r}, scikit-learn {want!r}")


def make_case(rng, n, k, dtype, kind, weighted):
    # Label c positive with probability (c % 4 + 1) / 6; both classes
    # forced into every label.
    p = (np.arange(k) % 4 + 1) / 6.0
    Y = (rng.random((n, k)) < p).astype(np.uint8)
    Y[0, :] = 1
    Y[1, :] = 0
    if kind == "ties":
        S = rng.integers(-3, 4, size=(n, k)).astype(dtype) / 2 + Y * 0.5
    elif kind == "inf":
        S = rng.standard_normal((n, k)).astype(dtype) + Y
        S[rng.random((n, k)) < 0.05] = np.inf
        S[rng.random((n, k)) < 0.05] = -np.inf
    else:
        S = (rng.standard_normal((n, k)) + Y).astype(dtype)
    S = S.astype(dtype)
    w = None
    if weighted:
        w = (3 * rng.random(n)).astype(np.float32)
        w[rng.random(n) < 0.2] = 0
        w[0] = w[1] = 1  # the forced rows keep both classes weighted
    return Y, S, w


def check_case(chk, lib, name, Y, S, w):
    k = Y.shape[1]
    got = lib.multilabel(Y, S, w)
    if got["exact"] != 1:
        chk.failures += 1
        print(f"FAIL {name}: not exact")
    Sf = finite(S)
    sw = None if w is None else w.astype(np.float64)
    auc = np.atleast_1d(roc_auc_score(Y, Sf, average=None, sample_weight=sw))
    ap = np.atleast_1d(average_precision_score(Y, Sf, average=None,
                                               sample_weight=sw))
    for c in range(k):
        chk.close(name, f"roc_auc[{c}]", got["auc"][c], float(auc[c]))
        chk.close(name, f"average_precision[{c}]", got["ap"][c], float(ap[c]))
    for avg in ("macro", "weighted"):
        chk.close(name, f"roc_auc {avg}", got[f"auc_{avg}"],
                  float(roc_auc_score(Y, Sf, average=avg, sample_weight=sw)))
        chk.close(name, f"average_precision {avg}", got[f"ap_{avg}"],
                  float(average_precision_score(Y, Sf, average=avg,
                                                sample_weight=sw)))
    # Micro: the flattened cells, each row's weight repeated k times.
    wc = None if w is None else np.repeat(w, k)
    micro = lib.binary(Y.ravel(), S.ravel(), wc)
    chk.close(name, "roc_auc micro", micro["auc"][0],
              float(roc_auc_score(Y, Sf, average="micro", sample_weight=sw)))
    chk.close(name, "average_precision micro", micro["ap"][0],
              float(average_precision_score(Y, Sf, average="micro",
                                            sample_weight=sw)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lib", required=True, help="path to libclmetrics.so")
    args = ap.parse_args()
    lib = Lib(args.lib)
    if lib.status != 0:
        print(f"crosscheck_ranking_multilabel: skipped: no context "
              f"({lib.message})")
        return 0
    rng = np.random.default_rng(20240611)
    chk = Checker()
    cases = 0
    for n, k in ((2, 1), (257, 3), (3001, 7), (500, 40)):
        for dtype in (np.float32, np.float64):
            for kind in ("ties", "inf", "normal"):
                for weighted in (0, 1):
                    Y, S, w = make_case(rng, n, k, dtype, kind, weighted)
                    name = (f"n={n} k={k} {np.dtype(dtype).name} {kind}"
                            f"{' weighted' if weighted else ''}")
                    check_case(chk, lib, name, Y, S, w)
                    cases += 1
    lib.lib.clm_context_free(lib.ctx)
    print(f"crosscheck_ranking_multilabel: {cases} cases, {chk.checks} "
          f"checks, {chk.failures} failures")
    return 1 if chk.failures else 0


if __name__ == "__main__":
    sys.exit(main())
