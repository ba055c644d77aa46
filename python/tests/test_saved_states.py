"""Evaluator states pickle through the library's saved-state bytes
(clm_*_state_save / _load: versioned, checksummed), merge after the trip
exactly as before it, and refuse corrupted bytes; the Dask example
(examples/dask_sharded.py) merges sharded evaluations into one pass's
numbers."""

import importlib.util
import pathlib
import pickle

import numpy as np
import pytest

import clmetrics
from clmetrics import _core

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _binary(seed, n, weighted=False):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    z = (rng.normal(size=n) + y).astype(np.float32)
    ev = clmetrics.BinaryEvaluator(threshold=0.3, pos_weight=2.0,
                                   weighted=weighted)
    ev.update(y, z, rng.random(n).astype(np.float32) if weighted else None)
    return ev


def _multiclass(seed, n, k=5):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    s = rng.normal(size=(n, k)).astype(np.float32)
    ev = clmetrics.MulticlassEvaluator(k, top_k=2, weighted=True)
    ev.update(y, s, sample_weight=rng.random(n).astype(np.float32))
    return ev


def _calibration(seed, n, k=3):
    rng = np.random.default_rng(seed)
    ev = clmetrics.CalibrationEvaluator(k, n_bins=10, scores="logits")
    ev.update(rng.integers(0, k, n), rng.normal(size=(n, k)).astype(np.float32))
    return ev


def _multilabel(seed, n, L=7):
    rng = np.random.default_rng(seed)
    y = rng.random((n, L)) < 0.3
    s = rng.normal(size=(n, L)).astype(np.float32)
    ev = clmetrics.MultilabelEvaluator(L, zero_division=0)
    ev.update(y, s)
    return ev


MAKERS = [_binary, _multiclass, _calibration, _multilabel]


def _plain(d):
    """compute()'s dict without the device entry, NaN-safe for ==."""
    d = dict(d)
    d.pop("device", None)
    return repr(d)


@pytest.mark.parametrize("make", MAKERS, ids=lambda f: f.__name__[1:])
def test_pickle_goes_through_saved_state_bytes(make):
    ev = make(1, 3001)
    blob = pickle.dumps(ev)
    assert b"CLMS" in blob  # the library's format, not a dict of fields
    back = pickle.loads(blob)
    assert _plain(back.compute()) == _plain(ev.compute())
    # The state's own bytes round-trip bit for bit.
    raw = ev._state.to_bytes()
    assert _core.state_from_bytes(raw).to_bytes() == raw


@pytest.mark.parametrize("make", MAKERS, ids=lambda f: f.__name__[1:])
def test_merge_after_pickle_equals_merge_before(make):
    a, b, c = make(2, 2000), make(3, 1500), make(4, 999)
    direct = make(2, 2000).merge(make(3, 1500)).merge(make(4, 999))
    through = pickle.loads(pickle.dumps(a))
    through.merge(pickle.loads(pickle.dumps(b))).merge(pickle.loads(pickle.dumps(c)))
    assert through._state.to_bytes() == direct._state.to_bytes()
    assert _plain(through.compute()) == _plain(direct.compute())


def test_corrupted_truncated_and_foreign_bytes_refused():
    raw = _binary(5, 500)._state.to_bytes()
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 0x40
        with pytest.raises(ValueError):
            _core.state_from_bytes(bytes(bad))
    for cut in (0, 10, len(raw) - 1):
        with pytest.raises(ValueError, match="truncated|not a clmetrics"):
            _core.state_from_bytes(raw[:cut])
    with pytest.raises(ValueError, match="not a clmetrics"):
        _core.state_from_bytes(b"\x93NUMPY" + b"\0" * 40)


def test_merging_different_options_refused_after_pickle():
    a = pickle.loads(pickle.dumps(_binary(6, 100)))
    other = clmetrics.BinaryEvaluator(threshold=0.5, pos_weight=2.0)
    other.update([0, 1], np.array([0.1, 0.2], dtype=np.float32))
    with pytest.raises(ValueError):
        a.merge(other)


def _load_example():
    path = ROOT / "examples" / "dask_sharded.py"
    spec = importlib.util.spec_from_file_location("dask_sharded", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_dask_sharded_example_equals_one_pass(scheduler):
    pytest.importorskip("dask")
    ex = _load_example()
    shards = [(seed, 20_000 + 777 * seed) for seed in range(5)]
    merged = ex.sharded(shards, threshold=0.4, scheduler=scheduler).compute()
    single = ex.one_pass(shards, threshold=0.4).compute()
    assert merged["n"] == single["n"]
    assert merged["confusion"] == single["confusion"]
    # Ratios of the same integer counts: equal.
    for key in ("accuracy", "precision", "recall", "f1", "mcc"):
        assert merged[key] == single[key], key
    # The loss is float32 partials per work-group, regrouped by sharding:
    # within twice the documented bound ((D + 12) u of the sum, D <= T - 1
    # with T the kernel tile; T <= 8192 on the shapes the engine picks).
    tol = 2 * (8192 + 12) * 2.0 ** -24
    assert merged["loss"]["bce_mean"] == pytest.approx(
        single["loss"]["bce_mean"], rel=tol)
