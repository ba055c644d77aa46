"""brier_score_loss, calibration_curve, calibration_error and
CalibrationEvaluator against scikit-learn and a NumPy float64 reference of
torchmetrics' CalibrationError formulas.

Tolerances. The library's calibration sums are compensated float32 slices
added in float64: at most 13 * 2^-24 relative for binary inputs (its
tests/test_calibration.c), so 1e-6 relative here. Probabilities are
float32 numbers in most tests (float64 inputs are rounded to float32 by
the device); where float64 probabilities are used, a Brier term's error is
at most 2^-23 |p - y| absolute, hence the mean's at most 2^-23.
"""

import pickle
import warnings

import numpy as np
import pytest

import clmetrics as cm

sk = pytest.importorskip("sklearn.metrics")
skc = pytest.importorskip("sklearn.calibration")

RNG = np.random.default_rng(20261203)

REL = 1e-6


def probs32(n):
    p = RNG.random(n).astype(np.float32)
    p[: min(n, 2)] = [0.0, 1.0][: min(n, 2)]
    return p


# ---------------------------------------------------------------------------
# NumPy reference (torchmetrics' formulas; bins (lo, hi], the first [0, hi])
# ---------------------------------------------------------------------------


def ref_bins(conf, hit, w, edges):
    b = np.searchsorted(edges[1:-1], conf, side="left")
    nb = len(edges) - 1
    wsum = np.bincount(b, weights=w, minlength=nb)
    csum = np.bincount(b, weights=w * conf, minlength=nb)
    hsum = np.bincount(b, weights=w * hit, minlength=nb)
    return wsum, csum, hsum


def ref_errors(conf, hit, w, n_bins):
    conf = conf.astype(np.float64)
    hit = hit.astype(np.float64)
    edges = np.linspace(0, 1, n_bins + 1)
    wsum, csum, hsum = ref_bins(conf, hit, w, edges)
    nz = wsum > 0
    gap = hsum[nz] / wsum[nz] - csum[nz] / wsum[nz]
    share = wsum[nz] / wsum.sum()
    return {
        "l1": float((share * np.abs(gap)).sum()),
        "l2": float(np.sqrt((share * gap**2).sum())),
        "max": float(np.abs(gap).max()),
    }


# ---------------------------------------------------------------------------
# brier_score_loss
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 7, 1023, 1024, 1025, 100003])
def test_brier_binary(n):
    y = RNG.integers(0, 2, n)
    p = probs32(n)
    w = RNG.random(n).astype(np.float32).astype(np.float64)
    w[RNG.random(n) < 0.2] = 0
    w[0] = 1.0
    assert cm.brier_score_loss(y, p) == pytest.approx(sk.brier_score_loss(y, p), rel=REL)
    assert cm.brier_score_loss(y, p, sample_weight=w) == pytest.approx(
        sk.brier_score_loss(y, p, sample_weight=w), rel=REL)
    # float64 probabilities: rounded to float32, error <= 2^-23 absolute.
    p64 = RNG.random(n)
    assert abs(cm.brier_score_loss(y, p64) - sk.brier_score_loss(y, p64)) <= 2.0**-23 + REL
    # String labels with pos_label.
    ys = np.where(y == 1, "spam", "ham")
    assert cm.brier_score_loss(ys, p, pos_label="spam") == pytest.approx(
        sk.brier_score_loss(ys, p, pos_label="spam"), rel=REL)
    assert cm.brier_score_loss(ys, 1 - p, pos_label="ham") == pytest.approx(
        sk.brier_score_loss(ys, 1 - p, pos_label="ham"), rel=REL)


def test_brier_errors():
    with pytest.raises(ValueError, match="greater than 1"):
        cm.brier_score_loss([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError, match="less than 0"):
        cm.brier_score_loss([0, 1], [-0.5, 0.5])
    with pytest.raises(ValueError, match="pos_label"):
        cm.brier_score_loss(["a", "b"], [0.5, 0.5])
    with pytest.raises(ValueError, match="binary"):
        cm.brier_score_loss([0, 1, 2], [0.5, 0.5, 0.1])
    with pytest.raises(ValueError, match="weights sum to 0"):
        cm.brier_score_loss([0, 1], [0.5, 0.5], sample_weight=[0, 0])
    with pytest.raises(ValueError, match="index 1"):
        cm.brier_score_loss([0, 1], [0.5, 0.5], sample_weight=[1, np.inf])


@pytest.mark.parametrize("k", [2, 3, 10])
def test_brier_multiclass(k):
    n = 5000
    y = RNG.integers(0, k, n)
    p = RNG.random((n, k))
    p = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    w = RNG.random(n).astype(np.float32).astype(np.float64)
    onehot = np.eye(k)[y]
    per = ((p.astype(np.float64) - onehot) ** 2).sum(axis=1)
    ref = np.average(per, weights=w)
    if k == 2:  # halved: the binary form of the second column
        ref /= 2
        assert cm.brier_score_loss(y, p, sample_weight=w) == pytest.approx(
            sk.brier_score_loss(y, p[:, 1], sample_weight=w), rel=1e-5)
    assert cm.brier_score_loss(y, p, sample_weight=w) == pytest.approx(ref, rel=1e-5)


# ---------------------------------------------------------------------------
# calibration_curve
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 10, 1000, 65537])
@pytest.mark.parametrize("n_bins", [1, 5, 10, 33])
@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_calibration_curve(n, n_bins, strategy):
    y = RNG.integers(0, 2, n)
    p = probs32(n)
    if n > 10:
        p[::7] = np.float32(0.5)  # ties and values on an edge
        p[3::11] = np.float32(0.2)
    a = cm.calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    b = skc.calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    assert a[0].shape == b[0].shape
    np.testing.assert_allclose(a[0], b[0], rtol=REL, atol=0)
    np.testing.assert_allclose(a[1], b[1], rtol=REL, atol=0)


def test_calibration_curve_quantile_edges_at_0_and_1():
    y = RNG.integers(0, 2, 1000)
    p = np.zeros(1000, np.float32)
    p[700:] = 1.0
    p[600:700] = RNG.random(100).astype(np.float32)
    for n_bins in (3, 5, 10):
        a = cm.calibration_curve(y, p, n_bins=n_bins, strategy="quantile")
        b = skc.calibration_curve(y, p, n_bins=n_bins, strategy="quantile")
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_calibration_curve_errors():
    with pytest.raises(ValueError, match="outside"):
        cm.calibration_curve([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError, match="strategy"):
        cm.calibration_curve([0, 1], [0.5, 0.5], strategy="bogus")
    with pytest.raises(ValueError, match="binary"):
        cm.calibration_curve([0, 1, 2], [0.5, 0.5, 0.5])
    y = np.array(["a", "b", "a"])
    p = np.array([0.1, 0.9, 0.3], np.float32)
    a = cm.calibration_curve(y, p, pos_label="b", n_bins=3)
    b = skc.calibration_curve(y, p, pos_label="b", n_bins=3)
    np.testing.assert_allclose(a, b, rtol=REL)


# ---------------------------------------------------------------------------
# calibration_error
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 255, 256, 257, 100003])
@pytest.mark.parametrize("n_bins", [1, 15, 100])
def test_calibration_error_binary(n, n_bins):
    y = RNG.integers(0, 2, n)
    p = probs32(n)
    w = RNG.random(n).astype(np.float32)
    w[0] = 1
    for weights in (None, w):
        ref = ref_errors(p, y, np.ones(n) if weights is None else w.astype(np.float64), n_bins)
        for norm in ("l1", "l2", "max"):
            got = cm.calibration_error(y, p, n_bins=n_bins, norm=norm, sample_weight=weights)
            # Each bin's mean confidence and frequency within ~1e-7 relative;
            # the gap's absolute error is at most their sum.
            assert got == pytest.approx(ref[norm], rel=REL, abs=1e-6)


@pytest.mark.parametrize("k", [2, 5])
def test_calibration_error_top_label(k):
    n = 20011
    y = RNG.integers(0, k, n)
    p = RNG.random((n, k)) ** 3
    p = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    w = RNG.random(n).astype(np.float32)
    conf = p.max(axis=1)
    hit = p.argmax(axis=1) == y
    for weights in (None, w):
        ref = ref_errors(conf, hit, np.ones(n) if weights is None else w.astype(np.float64), 15)
        for norm in ("l1", "l2", "max"):
            got = cm.calibration_error(y, p, norm=norm, sample_weight=weights)
            assert got == pytest.approx(ref[norm], rel=REL, abs=1e-6)
    with pytest.raises(ValueError, match="norm"):
        cm.calibration_error(y, p, norm="l3")
    with pytest.raises(ValueError, match="class indices"):
        cm.calibration_error(np.full(n, k), p)


def test_calibration_error_against_torchmetrics_formula_edges():
    # Values exactly on bin edges land in the lower bin; 0 in the first.
    y = np.array([1, 0, 1, 1, 0, 0])
    p = np.array([0.0, 0.2, 0.4, 0.6, 1.0, 0.5], np.float32)
    for norm in ("l1", "l2", "max"):
        assert cm.calibration_error(y, p, n_bins=5, norm=norm) == pytest.approx(
            ref_errors(p, y, np.ones(6), 5)[norm], rel=1e-7)


# ---------------------------------------------------------------------------
# CalibrationEvaluator
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 4])
def test_calibration_evaluator(k):
    n = 30001
    if k == 1:
        y = RNG.integers(0, 2, n)
        s = probs32(n)
        conf, hit = s, y
    else:
        y = RNG.integers(0, k, n)
        s = RNG.random((n, k))
        s = (s / s.sum(axis=1, keepdims=True)).astype(np.float32)
        conf, hit = s.max(axis=1), s.argmax(axis=1) == y
    w = RNG.random(n).astype(np.float32)
    whole = cm.CalibrationEvaluator(k, weighted=True).update(y, s, sample_weight=w)
    parts = []
    for lo in range(0, n, 10000):
        e = cm.CalibrationEvaluator(k, weighted=True)
        e.update(y[lo:lo + 10000], s[lo:lo + 10000], sample_weight=w[lo:lo + 10000])
        parts.append(pickle.loads(pickle.dumps(e)))
    merged = parts[0]
    for e in parts[1:]:
        merged.merge(e)
    ref = ref_errors(conf, hit, w.astype(np.float64), 15)
    for r in (whole.compute(), merged.compute()):
        assert r["n"] == n and r["weighted"]
        assert r["ece"] == pytest.approx(ref["l1"], rel=REL, abs=1e-6)
        assert r["rmsce"] == pytest.approx(ref["l2"], rel=REL, abs=1e-6)
        assert r["mce"] == pytest.approx(ref["max"], rel=REL, abs=1e-6)
        assert sum(b["count"] for b in r["bins"]) == n
        if k == 1:
            assert r["brier"] == pytest.approx(
                sk.brier_score_loss(y, s, sample_weight=w.astype(np.float64)), rel=REL)
        else:
            assert len(r["classwise_ece_per_class"]) == k
    with pytest.raises(ValueError, match="merge"):
        cm.CalibrationEvaluator(k).merge(cm.CalibrationEvaluator(k, weighted=True))
    with pytest.raises(ValueError, match="merge"):
        cm.CalibrationEvaluator(k).merge(cm.CalibrationEvaluator(k, n_bins=10))
    with pytest.raises(ValueError, match="no samples"):
        cm.CalibrationEvaluator(k).compute()
    with pytest.raises(ValueError, match="weighted=True"):
        cm.CalibrationEvaluator(k).update(y, s, sample_weight=w)


def test_calibration_evaluator_logits_ignore_index():
    n, k = 5000, 3
    x = RNG.normal(size=(n, k)).astype(np.float32)
    y = RNG.integers(0, k, n)
    y[::10] = -100
    ev = cm.CalibrationEvaluator(k, scores="logits", ignore_index=-100).update(y, x)
    r = ev.compute()
    keep = y != -100
    e = np.exp(x[keep].astype(np.float64) - x[keep].max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    ref = ref_errors(p.max(axis=1), p.argmax(axis=1) == y[keep], np.ones(int(keep.sum())), 15)
    assert r["ignored"] == int((~keep).sum())
    # float32 softmax: confidences within a few 2^-24 relative.
    assert r["ece"] == pytest.approx(ref["l1"], rel=1e-5, abs=1e-6)
    back = pickle.loads(pickle.dumps(ev))
    assert back.compute()["ece"] == r["ece"]
