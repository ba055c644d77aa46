"""roc_auc_score, average_precision_score, roc_curve and
precision_recall_curve against scikit-learn: values to 1e-12 relative (the
engine's are exact), curves point for point with bitwise thresholds."""

import threading
import time
import warnings

import numpy as np
import pytest

import clmetrics as cm
from clmetrics import _core

sk = pytest.importorskip("sklearn.metrics")

RNG = np.random.default_rng(20260305)
REL = 1e-12


def quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


def assert_bitwise(a, b, what=""):
    """Same dtype, shape and bits (NaN equal to NaN of the same bits)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    view = {1: np.uint8, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
    bad = np.flatnonzero(a.view(view) != b.view(view))
    assert bad.size == 0, (
        f"{what}: {bad.size} of {a.size} differ, first at {bad[0]}: "
        f"{a[bad[0]]!r} != {b[bad[0]]!r}"
    )


def assert_curves_equal(got, want, what=""):
    for name, g, w in zip(("x", "y", "thresholds"), got, want):
        assert_bitwise(g, w, f"{what} {name}")


def check_binary(y, s, pos_label=None, inf_ref=None):
    """Every ranking function of clmetrics against scikit-learn on (y, s).
    inf_ref: finite scores of the same order and ties, for scikit-learn,
    which rejects +-inf."""
    ref = s if inf_ref is None else inf_ref
    auc = cm.roc_auc_score(y, s)
    assert auc == pytest.approx(sk.roc_auc_score(y, ref), rel=REL, abs=0)
    pl = 1 if pos_label is None else pos_label
    ap = cm.average_precision_score(y, s, pos_label=pl)
    assert ap == pytest.approx(
        sk.average_precision_score(y, ref, pos_label=pl), rel=REL, abs=0
    )
    for drop in (False, True):
        got = cm.roc_curve(y, s, pos_label=pos_label, drop_intermediate=drop)
        want = sk.roc_curve(y, ref, pos_label=pos_label, drop_intermediate=drop)
        if inf_ref is None:
            assert_curves_equal(got, want, f"roc_curve(drop={drop})")
        else:
            assert_bitwise(got[0], want[0], "fpr")
            assert_bitwise(got[1], want[1], "tpr")
            assert_bitwise(got[2][1:], unmap_inf(want[2][1:], s, ref), "thr")
    got = cm.precision_recall_curve(y, s, pos_label=pos_label)
    want = sk.precision_recall_curve(y, ref, pos_label=pos_label)
    if inf_ref is None:
        assert_curves_equal(got, want, "precision_recall_curve")
    else:
        assert_bitwise(got[0], want[0], "precision")
        assert_bitwise(got[1], want[1], "recall")
        assert_bitwise(got[2], unmap_inf(want[2], s, ref), "thresholds")
    # AP from the curve returned here, as scikit-learn derives it.
    p, r, _ = got
    assert ap == pytest.approx(-np.sum(np.diff(r) * p[:-1]), rel=REL, abs=0)


def finite_ref(s):
    """float64 scores with +-inf replaced by finite values beyond the
    others: the same order and ties."""
    r = np.asarray(s, dtype=np.float64).copy()
    fin = r[np.isfinite(r)]
    hi = fin.max() if fin.size else 0.0
    lo = fin.min() if fin.size else 0.0
    span = max(hi - lo, 1.0)
    r[np.isposinf(r)] = hi + span
    r[np.isneginf(r)] = lo - span
    return r


def unmap_inf(thr, s, ref):
    """scikit-learn's thresholds over `ref` as they are over `s`."""
    out = np.asarray(thr, dtype=np.float64).copy()
    big, small = ref[np.isposinf(s)], ref[np.isneginf(s)]
    if big.size:
        out[out == big[0]] = np.inf
    if small.size:
        out[out == small[0]] = -np.inf
    return out.astype(s.dtype)


# ---------------------------------------------------------------------------
# Binary: random data, ties, edges
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,rate", [(2, 0.5), (37, 0.3), (5000, 0.1), (20011, 0.5)])
def test_random(dtype, n, rate):
    y = RNG.random(n) < rate
    if y.all() or not y.any():
        y[0], y[-1] = True, False  # two classes
    s = (RNG.standard_normal(n) + 0.8 * y).astype(dtype)
    check_binary(y.astype(np.int64), s)
    check_binary(y, s)
    check_binary(y.astype(np.uint8), s)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_heavy_ties(dtype):
    n = 10000
    y = (RNG.random(n) < 0.4).astype(np.int32)
    s = np.round(RNG.standard_normal(n) * 2 + y).astype(dtype)  # ~20 values
    check_binary(y, s)
    s = (RNG.integers(0, 3, n) / 2).astype(dtype)  # 0, 0.5, 1
    check_binary(y, s)


def test_all_scores_equal():
    y = np.array([0, 1, 1, 0, 1, 0, 0])
    check_binary(y, np.full(7, 0.25, np.float32))
    assert cm.roc_auc_score(y, np.zeros(7)) == 0.5
    assert cm.average_precision_score(y, np.zeros(7)) == pytest.approx(3 / 7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_perfect_and_inverted(dtype):
    y = np.array([0] * 50 + [1] * 30)
    s = RNG.random(80).astype(dtype)
    s = np.sort(s)
    check_binary(y, s)
    assert cm.roc_auc_score(y, s) == 1.0
    assert cm.average_precision_score(y, s) == 1.0
    check_binary(y, s[::-1].copy())
    assert cm.roc_auc_score(y, s[::-1].copy()) == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_infinities(dtype):
    n = 3000
    y = (RNG.random(n) < 0.3).astype(np.uint8)
    s = (RNG.standard_normal(n) + y).astype(dtype)
    s[RNG.random(n) < 0.05] = np.inf
    s[RNG.random(n) < 0.05] = -np.inf
    check_binary(y, s, inf_ref=finite_ref(s))
    fpr, tpr, thr = cm.roc_curve(y, s)
    assert thr[0] == np.inf and thr[1] == np.inf and thr[-1] == -np.inf
    # Only infinities.
    y2 = np.array([1, 0, 1, 0, 0], np.uint8)
    s2 = np.array([np.inf, -np.inf, np.inf, np.inf, -np.inf], dtype)
    check_binary(y2, s2, inf_ref=finite_ref(s2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_signed_zeros(dtype):
    y = np.array([0, 1, 0, 1, 1, 0, 0, 1])
    for first in (-0.0, 0.0):
        s = np.array([first, 0.0, -0.0, -0.0, 0.5, 0.0, -0.5, 0.0], dtype)
        check_binary(y, s)  # thresholds compared bitwise: the sign too
    s = RNG.choice(np.array([-0.0, 0.0, 1.0, -1.0], dtype), 2000)
    check_binary((RNG.random(2000) < 0.5).astype(np.int64), s)


def test_float64_close_values():
    """float64 scores 1e-12 apart are distinct (no float32 rounding)."""
    n = 4000
    y = (RNG.random(n) < 0.5).astype(np.int64)
    s = 0.5 + RNG.integers(0, 200, n) * 1e-12 + y * 3e-13
    assert len(np.unique(s.astype(np.float32))) < 5
    check_binary(y, s)


def test_other_dtypes_and_containers():
    y = [0, 1, 1, 0, 1, 0, 1, 1]
    s_int = [3, 5, 5, 1, 2, 2, 9, 0]
    assert cm.roc_auc_score(y, s_int) == pytest.approx(sk.roc_auc_score(y, s_int))
    got = cm.roc_curve(y, s_int)
    want = sk.roc_curve(y, s_int)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])  # float64 here, int there
    s16 = np.array(s_int, np.float16)
    assert cm.average_precision_score(y, s16) == pytest.approx(
        sk.average_precision_score(y, s16), rel=REL)
    # Column vectors.
    col = np.array(s_int, np.float64)[:, None]
    assert cm.roc_auc_score(np.array(y)[:, None], col) == pytest.approx(
        sk.roc_auc_score(y, s_int))
    torch = pytest.importorskip("torch")
    yt, st = torch.tensor(y), torch.tensor(s_int, dtype=torch.float32)
    assert cm.roc_auc_score(yt, st) == pytest.approx(sk.roc_auc_score(y, s_int))


def test_label_sets_and_pos_label():
    n = 500
    b = RNG.random(n) < 0.4
    s = (RNG.standard_normal(n) + b).astype(np.float32)
    # {-1, 1}: pos_label inferred as 1.
    check_binary(np.where(b, 1, -1), s)
    # Other labels: the greater is positive for roc_auc_score; curves need
    # pos_label.
    y = np.where(b, 7, 3)
    assert cm.roc_auc_score(y, s) == pytest.approx(sk.roc_auc_score(y, s), rel=REL)
    check_binary(y, s, pos_label=7)
    check_binary(y, s, pos_label=3)
    ys = np.where(b, "spam", "ham")
    assert cm.roc_auc_score(ys, s) == pytest.approx(sk.roc_auc_score(ys, s), rel=REL)
    check_binary(ys, s, pos_label="ham")
    with pytest.raises(ValueError, match="pos_label is not specified"):
        cm.roc_curve(y, s)
    with pytest.raises(ValueError, match="pos_label is not specified"):
        cm.precision_recall_curve(ys, s)
    with pytest.raises(ValueError, match="pos_label=1 is not a valid label"):
        cm.average_precision_score(y, s)
    # Multi-class labels with a pos_label: that class against the rest.
    y3 = RNG.integers(0, 3, n)
    for pl in (0, 2):
        got = cm.roc_curve(y3, s, pos_label=pl)
        assert_curves_equal(got, sk.roc_curve(y3, s, pos_label=pl))
        got = cm.precision_recall_curve(y3, s, pos_label=pl)
        assert_curves_equal(got, sk.precision_recall_curve(y3, s, pos_label=pl))
    with pytest.raises(ValueError, match="multiclass format is not supported"):
        cm.roc_curve(y3, s)


def test_thresholds_first_point():
    """thresholds[0] = thresholds[1] + 1 in the scores' dtype (scikit-learn
    1.2), so 1e8 + 1 is 1e8 in float32."""
    y = np.array([1, 1, 0])
    s = np.array([1e8, 2, 3], np.float32)
    got = cm.roc_curve(y, s)
    assert got[2].dtype == np.float32 and got[2][0] == np.float32(1e8)
    assert_curves_equal(got, sk.roc_curve(y, s))


def test_drop_intermediate_pr_keeps_ap():
    """precision_recall_curve(drop_intermediate=True) (scikit-learn >= 1.3's
    rule) drops only points on vertical runs: the AP of the curve is kept,
    and the end points too."""
    n = 3000
    y = (RNG.random(n) < 0.2).astype(np.int64)
    s = np.round(RNG.standard_normal(n) * 3 + y, 1)
    p0, r0, t0 = cm.precision_recall_curve(y, s)
    p1, r1, t1 = cm.precision_recall_curve(y, s, drop_intermediate=True)
    assert len(t1) < len(t0)
    assert t1[0] == t0[0] and t1[-1] == t0[-1]
    assert np.isin(t1, t0).all()
    ap0 = -np.sum(np.diff(r0) * p0[:-1])
    ap1 = -np.sum(np.diff(r1) * p1[:-1])
    assert ap1 == pytest.approx(ap0, rel=1e-12)
    assert ap0 == pytest.approx(cm.average_precision_score(y, s), rel=1e-12)
    # The rule itself, on the full curve: keep i iff tps changes next to it.
    tps = np.round(r0[:-1][::-1] * y.sum())
    keep = np.r_[True, (np.diff(tps[:-1]) != 0) | (np.diff(tps[1:]) != 0), True]
    assert_bitwise(t1, t0[::-1][keep][::-1], "dropped thresholds")


# ---------------------------------------------------------------------------
# One class present
# ---------------------------------------------------------------------------


def test_one_class():
    s = np.array([0.1, 0.4, 0.3, 0.3], np.float32)
    for y in (np.zeros(4, np.int64), np.ones(4, np.uint8), np.ones(4, bool)):
        with pytest.raises(ValueError, match="Only one class present in y_true"):
            cm.roc_auc_score(y, s)
    # No positives: scikit-learn 1.2 warns and returns 0.
    y = np.zeros(4, np.int64)
    with pytest.warns(UserWarning, match="No positive class found"):
        ap = cm.average_precision_score(y, s)
    assert ap == 0.0 == quiet(sk.average_precision_score, y, s)
    # Only positives: AP is 1.
    assert cm.average_precision_score(np.ones(4), s) == 1.0
    # Curves: NaN rates with scikit-learn's warnings.
    for y in (np.zeros(4, np.int64), np.ones(4, np.int64)):
        with pytest.warns(UserWarning):
            got = cm.roc_curve(y, s)
        assert_curves_equal(got, quiet(sk.roc_curve, y, s), f"roc y={y[0]}")
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            got = cm.precision_recall_curve(y, s)
        assert (len(w) == 1) == (y[0] == 0)
        assert_curves_equal(got, quiet(sk.precision_recall_curve, y, s), "pr")


# ---------------------------------------------------------------------------
# Multi-class one-vs-rest
# ---------------------------------------------------------------------------


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("k", [3, 10])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multiclass_ovr(k, dtype):
    n = 6000
    y = RNG.choice(k, n, p=np.arange(1, k + 1) / (k * (k + 1) / 2))
    z = RNG.standard_normal((n, k))
    z[np.arange(n), y] += 1.0
    p = softmax(z).astype(dtype)
    if dtype == np.float32:
        p[: n // 10] = np.round(p[: n // 10], 2)  # ties
        p = p / p.sum(axis=1, keepdims=True, dtype=np.float32)
    for yy in (y.astype(np.int32), y.astype(np.int64), y.astype(np.uint8)):
        for av in ("macro", "weighted", "micro"):
            got = cm.roc_auc_score(yy, p, multi_class="ovr", average=av)
            want = sk.roc_auc_score(yy, p, multi_class="ovr", average=av)
            assert got == pytest.approx(want, rel=REL, abs=0), av
        got = cm.roc_auc_score(yy, p, multi_class="ovr", average=None)
        want = sk.roc_auc_score(yy, p, multi_class="ovr", average=None)
        np.testing.assert_allclose(got, want, rtol=REL, atol=0)
    # Per-class AP against the binary reference; averages as scikit-learn
    # >= 1.3 (macro/weighted of those, micro on the raveled one-hot).
    ap = cm.average_precision_score(y, p, average=None)
    want = np.array([sk.average_precision_score(y == c, p[:, c]) for c in range(k)])
    np.testing.assert_allclose(ap, want, rtol=REL, atol=0)
    assert cm.average_precision_score(y, p) == pytest.approx(want.mean(), rel=REL)
    support = np.bincount(y, minlength=k)
    assert cm.average_precision_score(y, p, average="weighted") == pytest.approx(
        np.average(want, weights=support), rel=REL)
    onehot = np.eye(k)[y]
    assert cm.average_precision_score(y, p, average="micro") == pytest.approx(
        sk.average_precision_score(onehot, p, average="micro"), rel=REL)
    # String labels, and labels= naming the columns.
    names = np.array([f"c{i:02d}" for i in range(k)])
    assert cm.roc_auc_score(names[y], p, multi_class="ovr") == pytest.approx(
        sk.roc_auc_score(names[y], p, multi_class="ovr"), rel=REL)
    assert cm.roc_auc_score(y, p, multi_class="ovr", labels=list(range(k))) == \
        pytest.approx(sk.roc_auc_score(y, p, multi_class="ovr",
                                       labels=list(range(k))), rel=REL)


def test_multiclass_errors():
    n, k = 300, 3
    y = RNG.integers(0, k, n)
    p = softmax(RNG.standard_normal((n, k)))
    with pytest.raises(ValueError, match=r"multi_class must be in \('ovo', 'ovr'\)"):
        cm.roc_auc_score(y, p)
    with pytest.raises(NotImplementedError, match="ovo"):
        cm.roc_auc_score(y, p, multi_class="ovo")
    with pytest.raises(ValueError, match="not supported"):
        cm.roc_auc_score(y, p, multi_class="ovx")
    with pytest.raises(ValueError, match="sum up to 1.0"):
        cm.roc_auc_score(y, p * 2, multi_class="ovr")
    with pytest.raises(ValueError, match="average must be one of"):
        cm.roc_auc_score(y, p, multi_class="ovr", average="samples")
    with pytest.raises(ValueError, match="Partial AUC"):
        cm.roc_auc_score(y, p, multi_class="ovr", max_fpr=0.5)
    with pytest.raises(ValueError, match="Number of classes in y_true"):
        cm.roc_auc_score(y[y < 2], p[y < 2], multi_class="ovr")
    with pytest.raises(ValueError, match="must be ordered"):
        cm.roc_auc_score(y, p, multi_class="ovr", labels=[2, 1, 0])
    with pytest.raises(ValueError, match="must be unique"):
        cm.roc_auc_score(y, p, multi_class="ovr", labels=[0, 0, 1])
    with pytest.raises(ValueError, match="Number of given labels"):
        cm.roc_auc_score(y, p, multi_class="ovr", labels=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="not in parameter 'labels'"):
        cm.roc_auc_score(y, p, multi_class="ovr", labels=[0, 1, 5])
    # A class of labels absent from y_true: undefined, as scikit-learn.
    y2 = y.copy()
    y2[y2 == 1] = 0
    with pytest.raises(ValueError, match="Only one class present"):
        cm.roc_auc_score(y2, p, multi_class="ovr", labels=[0, 1, 2])
    with pytest.raises(ValueError, match="pos_label is fixed to 1"):
        cm.average_precision_score(y, p, pos_label=2)
    with pytest.raises(ValueError):
        cm.average_precision_score(y, p[:, 0])


# ---------------------------------------------------------------------------
# Errors and unsupported arguments
# ---------------------------------------------------------------------------


def test_errors():
    y = np.array([0, 1, 1, 0])
    s = np.array([0.1, 0.4, 0.35, 0.8])
    w = np.ones(4)
    for f in (cm.roc_auc_score, cm.average_precision_score, cm.roc_curve,
              cm.precision_recall_curve):
        with pytest.raises(ValueError, match="index 2"):
            f(y, s, sample_weight=np.array([1, 1, -1, 1.0]))
        with pytest.raises(ValueError, match="sample_weight.shape"):
            f(y, s, sample_weight=w[:3])
        with pytest.raises(ValueError, match="NaN"):
            f(y, np.array([0.1, np.nan, 0.3, 0.2]))
        with pytest.raises(ValueError, match="inconsistent numbers of samples"):
            f(y, s[:3])
        with pytest.raises(ValueError, match="0 sample"):
            f(np.array([], np.int64), np.array([]))
        if f in (cm.roc_curve, cm.precision_recall_curve):
            # (the scores of indicator matrices: tests/test_multilabel.py)
            with pytest.raises(NotImplementedError, match="multilabel"):
                f(np.eye(4, 2, dtype=int), np.ones((4, 2)) / 2)
    with pytest.raises(NotImplementedError, match="max_fpr"):
        cm.roc_auc_score(y, s, max_fpr=0.5)
    with pytest.raises(ValueError, match="max_fpr in range"):
        cm.roc_auc_score(y, s, max_fpr=1.5)
    assert cm.roc_auc_score(y, s, max_fpr=1) == sk.roc_auc_score(y, s)
    with pytest.raises(ValueError, match="average has to be one of"):
        cm.roc_auc_score(y, s, average="mean")
    with pytest.raises(ValueError, match="average has to be one of"):
        cm.average_precision_score(y, s, average="mean")
    with pytest.raises(ValueError, match="1d array"):
        cm.roc_auc_score(y, np.ones((4, 2)) / 2)
    with pytest.raises(ValueError):
        cm.roc_auc_score(np.array([0.5, 1.5, 1.0, 0.0]), s)  # continuous


# ---------------------------------------------------------------------------
# Engine: zero copy, the GIL
# ---------------------------------------------------------------------------


def test_zero_copy():
    n = 1000
    for ydt in (np.uint8, bool):
        y = (RNG.random(n) < 0.5).astype(ydt)
        for sdt in (np.float32, np.float64):
            s = RNG.random(n).astype(sdt)
            cm.roc_auc_score(y, s)
            assert _core._last_buffers() == (y.ctypes.data, s.ctypes.data)
            cm.average_precision_score(y, s)
            assert _core._last_buffers() == (y.ctypes.data, s.ctypes.data)
            cm.roc_curve(y, s)
            assert _core._last_buffers() == (y.ctypes.data, s.ctypes.data)
    y = RNG.integers(0, 4, n).astype(np.int32)
    for sdt in (np.float32, np.float64):
        p = softmax(RNG.standard_normal((n, 4))).astype(sdt)
        cm.roc_auc_score(y, p, multi_class="ovr")
        assert _core._last_buffers() == (y.ctypes.data, p.ctypes.data)
        cm.average_precision_score(y, p)
        assert _core._last_buffers() == (y.ctypes.data, p.ctypes.data)


def test_gil_released():
    n = 4_000_000
    y = (RNG.random(n) < 0.5).astype(np.uint8)
    s = RNG.random(n).astype(np.float32)
    cm.roc_auc_score(y[:100], s[:100])  # warm up
    ticks = []
    done = threading.Event()

    def spin():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    th = threading.Thread(target=spin)
    th.start()
    time.sleep(0.01)
    t0 = time.perf_counter()
    _core.ranking(y, s)
    t1 = time.perf_counter()
    done.set()
    th.join()
    during = [t for t in ticks if t0 < t < t1]
    assert t1 - t0 > 0.02, "call too short to observe"
    assert len(during) >= 3, f"{len(during)} ticks during a {t1 - t0:.3f}s call"


def test_core_ranking_arguments():
    y = np.array([0, 1, 1, 0], np.uint8)
    s = np.array([0.1, 0.4, 0.35, 0.8], np.float32)
    r = _core.ranking(y, s, curve_points=2)
    c = r["classes"][0]
    assert r["exact"] and c["positives"] == 2 and c["negatives"] == 2
    pts = np.frombuffer(c["curve"], dtype=[("t", "<f8"), ("tp", "<u8"), ("fp", "<u8"),
                                           ("tpw", "<f8"), ("fpw", "<f8")])
    assert len(pts) <= 2 and pts["t"][0] == np.float32(0.8) and pts["t"][-1] == np.float32(0.1)
    with pytest.raises(ValueError, match="curve_points"):
        _core.ranking(y, s, curve_points=1)
    with pytest.raises(ValueError, match="memory_budget"):
        _core.ranking(y, s, memory_budget=1000)
    with pytest.raises(TypeError, match="int32"):
        _core.ranking(y, s, k=2)
    with pytest.raises(ValueError, match="n x k"):
        _core.ranking(np.zeros(4, np.int32), s, k=2)
    with pytest.raises(TypeError, match="bool or uint8"):
        _core.ranking(y.astype(np.int64), s)
    # A small budget: more passes, the same values.
    n = 200_000
    yb = (RNG.random(n) < 0.3).astype(np.uint8)
    sb = RNG.standard_normal(n)
    big = _core.ranking(yb, sb)
    small = _core.ranking(yb, sb, memory_budget=64 << 10)
    assert small["passes"] > big["passes"]
    assert small["classes"][0]["roc_auc"] == big["classes"][0]["roc_auc"]
    assert small["classes"][0]["average_precision"] == \
        big["classes"][0]["average_precision"]
    assert big["classes"][0]["roc_auc"] == pytest.approx(
        sk.roc_auc_score(yb, sb), rel=REL)
