"""Evaluators, pickling, merging, gradients, zero copy, the GIL, errors."""

import pickle
import threading
import time

import numpy as np
import pytest

import clmetrics as cm
from clmetrics import _core

sk = pytest.importorskip("sklearn.metrics")
RNG = np.random.default_rng(7)


def test_devices_and_init():
    devs = cm.devices()
    assert devs and {"index", "name", "platform", "type"} <= set(devs[0])
    info = cm.init()
    assert info["name"] == cm.device_info()["name"]
    assert cm.init()["name"] == info["name"]


def binary_data(n):
    y = RNG.random(n) < 0.4
    z = (RNG.standard_normal(n) + y).astype(np.float32)
    return y, z


def test_binary_evaluator_vs_sklearn():
    y, z = binary_data(10000)
    ev = cm.BinaryEvaluator(threshold=0.3)
    ev.update(y, z)
    r = ev.compute()
    pred = 1 / (1 + np.exp(-z.astype(np.float64))) > 0.3
    assert r["n"] == 10000
    assert r["precision"] == pytest.approx(sk.precision_score(y, pred), rel=1e-12)
    assert r["recall"] == pytest.approx(sk.recall_score(y, pred), rel=1e-12)
    assert r["f1"] == pytest.approx(sk.f1_score(y, pred), rel=1e-12)
    assert r["mcc"] == pytest.approx(sk.matthews_corrcoef(y, pred), rel=1e-9)
    assert r["accuracy"] == pytest.approx(sk.accuracy_score(y, pred), rel=1e-12)
    p = 1 / (1 + np.exp(-z.astype(np.float64)))
    assert r["loss"]["bce_mean"] == pytest.approx(sk.log_loss(y, p), rel=1e-5)
    assert set(r) >= {"task", "confusion", "specificity", "balanced_accuracy",
                      "gradient", "undefined", "device"}
    # probabilities, float64 scores
    ev2 = cm.BinaryEvaluator(scores="probs")
    ev2.update(y.astype(np.int64), p)
    assert ev2.compute()["f1"] == pytest.approx(sk.f1_score(y, p > 0.5), rel=1e-12)


def test_merge_and_pickle_binary():
    y, z = binary_data(20000)
    whole = cm.BinaryEvaluator()
    whole.update(y, z)
    shards = []
    for i in range(4):
        e = cm.BinaryEvaluator()
        e.update(y[i * 5000:(i + 1) * 5000], z[i * 5000:(i + 1) * 5000])
        shards.append(pickle.loads(pickle.dumps(e)))
    merged = shards[0]
    for e in shards[1:]:
        merged.merge(e)
    a, b = merged.compute(), whole.compute()
    assert a["confusion"] == b["confusion"]
    # per-work-group float32 partials: shard boundaries move the rounding
    assert a["loss"]["bce_sum"] == pytest.approx(b["loss"]["bce_sum"], rel=1e-6)
    merged.reset()
    assert merged.n == 0
    with pytest.raises(ValueError):
        merged.compute()
    with pytest.raises(ValueError):
        cm.BinaryEvaluator(threshold=0.2).merge(whole)


def test_multiclass_evaluator():
    k = 6
    y = RNG.integers(0, k, 30000).astype(np.int32)
    s = RNG.standard_normal((30000, k)).astype(np.float32)
    s[np.arange(30000), y] += 1.0
    ev = cm.MulticlassEvaluator(k, top_k=3)
    ev.update(y, s)
    r = ev.compute()
    pred = s.argmax(axis=1)
    np.testing.assert_array_equal(np.array(r["confusion_matrix"]),
                                  sk.confusion_matrix(y, pred, labels=range(k)))
    assert r["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert r["macro"]["f1"] == pytest.approx(
        cm.f1_score(y, pred, average="macro", labels=range(k)), rel=1e-12)
    assert r["mcc"] == pytest.approx(sk.matthews_corrcoef(y, pred), rel=1e-9)
    assert r["cohen_kappa"] == pytest.approx(sk.cohen_kappa_score(y, pred), rel=1e-9)
    assert r["top_k_accuracy"] == pytest.approx(
        sk.top_k_accuracy_score(y, s, k=3), rel=1e-12)
    z = s.astype(np.float64)
    lse = np.log(np.exp(z).sum(axis=1))
    assert r["loss"]["cross_entropy_mean"] == pytest.approx(
        np.mean(lse - z[np.arange(30000), y]), rel=1e-5)
    # shards through pickle == one pass; label updates too
    parts = [cm.MulticlassEvaluator(k, top_k=3) for _ in range(3)]
    for i, e in enumerate(parts):
        e.update(y[i * 10000:(i + 1) * 10000], s[i * 10000:(i + 1) * 10000])
    m = pickle.loads(pickle.dumps(parts[0]))
    m.merge(pickle.loads(pickle.dumps(parts[1]))).merge(parts[2])
    assert m.compute()["confusion_matrix"] == r["confusion_matrix"]
    assert m.compute()["top_k_accuracy"] == r["top_k_accuracy"]
    lab = cm.MulticlassEvaluator(k)
    lab.update(y.astype(np.int64), pred)
    assert lab.compute()["confusion_matrix"] == r["confusion_matrix"]
    with pytest.raises(ValueError):
        lab.update(np.array([0, k]), np.array([0, 0]))


def test_bce_with_logits_matches_torch():
    torch = pytest.importorskip("torch")
    n, d = 5000, 7
    x = RNG.standard_normal((n, d)).astype(np.float32)
    w = RNG.standard_normal(d).astype(np.float32)
    y = (RNG.random(n) < 0.5).astype(np.float32)
    for reduction in ["mean", "sum"]:
        W = torch.tensor(w, requires_grad=True)
        b = torch.zeros((), requires_grad=True)
        X = torch.tensor(x)
        z = X @ W + b
        z.retain_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            z, torch.tensor(y), reduction=reduction)
        loss.backward()
        r = cm.bce_with_logits(y, z.detach().numpy(), features=x, reduction=reduction)
        assert r.loss == pytest.approx(loss.item(), rel=1e-5)
        np.testing.assert_allclose(r.grad, z.grad.numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(r.weight_grad, W.grad.numpy(), rtol=1e-4, atol=1e-6)
        assert r.bias_grad == pytest.approx(b.grad.item(), rel=1e-4, abs=1e-6)
    r = cm.bce_with_logits(torch.tensor(y), torch.tensor(x @ w))
    assert r.weight_grad is None
    with pytest.raises(NotImplementedError, match="reduction"):
        cm.bce_with_logits(y, x @ w, reduction="none")
    with pytest.raises(NotImplementedError):
        cm.bce_with_logits(np.full(n, 0.3), x @ w)


def test_zero_copy():
    y, z = binary_data(100000)
    st = _core.BinaryState(0, 0.5)
    st.update(y.view(np.uint8), z)
    assert _core._last_buffers() == (y.ctypes.data, z.ctypes.data)
    ev = cm.BinaryEvaluator()
    ev.update(y, z)
    assert _core._last_buffers() == (y.ctypes.data, z.ctypes.data)
    t = RNG.integers(0, 4, 1000).astype(np.int32)
    s = RNG.random((1000, 4)).astype(np.float32)
    cm.MulticlassEvaluator(4).update(t, s)
    assert _core._last_buffers() == (t.ctypes.data, s.ctypes.data)


def test_gil_released():
    n = 30_000_000
    y = np.zeros(n, dtype=np.uint8)
    z = np.ones(n, dtype=np.float32)
    st = _core.BinaryState(0, 0.5)
    st.update(y[:1000], z[:1000])  # warm up
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
    st.update(y, z)
    t1 = time.perf_counter()
    done.set()
    th.join()
    during = [t for t in ticks if t0 < t < t1]
    assert t1 - t0 > 0.02, "call too short to observe"
    assert len(during) >= 3, f"{len(during)} ticks during a {t1 - t0:.3f}s call"


def test_errors_map_to_exceptions():
    st = _core.BinaryState(0, 0.5)
    with pytest.raises(ValueError, match="index 1"):
        st.update(np.array([0, 2], np.uint8), np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="index 2"):
        st.update(np.zeros(3, np.uint8), np.array([0, 1, np.nan]))
    with pytest.raises(ValueError, match="inconsistent"):
        st.update(np.zeros(3, np.uint8), np.zeros(2, np.float32))
    with pytest.raises(TypeError):
        st.update(np.zeros(3, np.int64), np.zeros(3, np.float32))
    with pytest.raises(TypeError):
        st.update(np.zeros(3, np.uint8), np.zeros(6, np.float32)[::2])
    with pytest.raises(ValueError, match="index 3"):
        cm.BinaryEvaluator(scores="probs").update([0, 1, 1, 0], [0.1, 0.2, 0.3, 1.5])
    with pytest.raises(ValueError):
        cm.BinaryEvaluator(threshold=2.0)
    mst = _core.MulticlassState(3)
    with pytest.raises(ValueError, match="index 1"):
        mst.update_labels(np.array([0, 5], np.int32), np.array([0, 0], np.int32))
    with pytest.raises(MemoryError):
        _core.MulticlassState(2**31 - 2)
    with pytest.raises(RuntimeError, match="already"):
        cm.init(device="no-such-device-anywhere")
