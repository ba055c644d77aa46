"""clmetrics against scikit-learn on random and edge inputs."""

import math
import warnings

import numpy as np
import pytest

import clmetrics as cm

sk = pytest.importorskip("sklearn.metrics")

RNG = np.random.default_rng(20261127)

PRF_FUNCS = ["precision_score", "recall_score", "f1_score"]


def _quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


def both(name, *a, **k):
    return _quiet(getattr(cm, name), *a, **k), _quiet(getattr(sk, name), *a, **k)


def assert_same(a, b):
    if isinstance(b, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif b is None:
        assert a is None
    else:
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                                   rtol=1e-12, atol=0)


def random_pair(n, k, dtype=np.int64):
    t = RNG.integers(0, k, n).astype(dtype)
    p = np.where(RNG.random(n) < 0.6, t, RNG.integers(0, k, n)).astype(dtype)
    return t, p


CASES = {
    "binary": random_pair(500, 2),
    "multi": random_pair(700, 5),
    "ties_one_class_pred": (np.array([0, 1, 1, 0, 1]), np.array([1, 1, 1, 1, 1])),
    "one_class": (np.array([1, 1, 1]), np.array([1, 1, 1])),
    "no_positive_pred": (np.array([0, 1, 0, 1]), np.array([0, 0, 0, 0])),
    "strings": (np.array(["cat", "dog", "emu", "dog"]), np.array(["dog", "dog", "emu", "cat"])),
    "large_labels": (np.array([7, 100000, -3, 7]), np.array([7, 7, -3, 100000])),
    "bool": (np.array([True, False, True, True]), np.array([True, True, False, True])),
    "float": (np.array([0.0, 1.0, 2.0, 1.0]), np.array([0.0, 2.0, 2.0, 1.0])),
    "column": (np.array([[0], [1], [2], [1]]), np.array([0, 2, 2, 1])),
    "lists": ([0, 1, 2, 1], [0, 2, 2, 1]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_simple_scores(case):
    t, p = CASES[case]
    for name in ["accuracy_score", "balanced_accuracy_score", "matthews_corrcoef",
                 "cohen_kappa_score", "confusion_matrix"]:
        a, b = both(name, t, p)
        if name == "confusion_matrix":
            assert a.dtype == np.int64
            np.testing.assert_array_equal(a, b)
        elif isinstance(b, float) and math.isnan(b):
            assert math.isnan(a)
        else:
            assert a == pytest.approx(b, rel=1e-12, abs=1e-15), name
    a, b = both("accuracy_score", t, p, normalize=False)
    assert a == b
    a, b = both("balanced_accuracy_score", t, p, adjusted=True)
    if not math.isnan(b):
        assert a == pytest.approx(b, rel=1e-12)
    for w in ["linear", "quadratic"]:
        a, b = both("cohen_kappa_score", t, p, weights=w)
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted", "binary"])
@pytest.mark.parametrize("zero_division", ["warn", 0, 1])
def test_prf(case, average, zero_division):
    t, p = CASES[case]
    pos = {"strings": "dog", "bool": True}.get(case, 1)
    kw = dict(average=average, zero_division=zero_division, pos_label=pos)
    for name in PRF_FUNCS + ["precision_recall_fscore_support"]:
        try:
            b = _quiet(getattr(sk, name), t, p, **kw)
        except ValueError as e:
            with pytest.raises(ValueError):
                _quiet(getattr(cm, name), t, p, **kw)
            continue
        assert_same(_quiet(getattr(cm, name), t, p, **kw), b)
    for beta in [0.5, 2.0]:
        try:
            b = _quiet(sk.fbeta_score, t, p, beta=beta, **kw)
        except ValueError:
            continue
        assert_same(_quiet(cm.fbeta_score, t, p, beta=beta, **kw), b)


@pytest.mark.parametrize("labels", [[0, 2], [2, 0], [0, 1, 2, 3, 9], [9, 0], [4]])
def test_labels_subsets_supersets(labels):
    t, p = random_pair(300, 4)
    for average in [None, "micro", "macro", "weighted"]:
        for name in PRF_FUNCS:
            a, b = both(name, t, p, labels=labels, average=average, zero_division=0)
            assert_same(a, b)
    if any(l in t for l in labels):
        a, b = both("confusion_matrix", t, p, labels=labels)
        np.testing.assert_array_equal(a, b)
        for norm in ["true", "pred", "all"]:
            a, b = both("confusion_matrix", t, p, labels=labels, normalize=norm)
            np.testing.assert_allclose(a, b, rtol=1e-12)
        a, b = both("cohen_kappa_score", t, p, labels=labels)
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)
    else:
        with pytest.raises(ValueError, match="At least one label"):
            cm.confusion_matrix(t, p, labels=labels)
    a, b = both("classification_report", t, p, labels=labels)
    assert a == b
    a, b = both("classification_report", t, p, labels=labels, output_dict=True)
    assert a == b


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("zero_division", ["warn", 0, 1])
def test_classification_report(case, zero_division):
    t, p = CASES[case]
    for digits in [2, 4]:
        a, b = both("classification_report", t, p, digits=digits, zero_division=zero_division)
        assert a == b
    a, b = both("classification_report", t, p, output_dict=True, zero_division=zero_division)
    assert a == b


def test_report_target_names():
    t, p = CASES["multi"]
    names = ["a", "bb", "ccc", "dddd", "a long class name"]
    a, b = both("classification_report", t, p, target_names=names)
    assert a == b
    with pytest.raises(ValueError):
        cm.classification_report(t, p, target_names=names[:2])


def test_zero_division_nan():
    # Class 2 never predicted: its precision is 0/0.
    t = np.array([0, 1, 2, 2])
    p = np.array([0, 1, 1, 0])
    prec = cm.precision_score(t, p, average=None, zero_division=np.nan)
    assert prec[0] == 0.5 and prec[1] == 0.5 and math.isnan(prec[2])
    # NaN entries are left out of averages (scikit-learn >= 1.3).
    assert cm.precision_score(t, p, average="macro", zero_division=np.nan) == 0.5
    f = cm.f1_score([0, 0], [0, 0], labels=[1], average=None, zero_division=np.nan)
    assert math.isnan(f[0])
    assert math.isnan(cm.f1_score([0, 0], [0, 0], labels=[1], average="macro",
                                  zero_division=np.nan))


def test_warns_like_sklearn():
    with pytest.warns(cm.UndefinedMetricWarning):
        cm.precision_score([0, 1], [0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cm.precision_score([0, 1], [0, 0], zero_division=0)


def test_string_labels_pos_label():
    t = np.array(["spam", "ham", "ham", "spam", "spam"])
    p = np.array(["spam", "spam", "ham", "ham", "spam"])
    a, b = both("f1_score", t, p, pos_label="spam")
    assert a == pytest.approx(b)
    with pytest.raises(ValueError, match="pos_label"):
        cm.f1_score(t, p)  # pos_label=1 is not a label
    with pytest.raises(ValueError, match="Mix of label input types"):
        cm.accuracy_score(["a", "b"], [1, 0])


def test_torch_tensor_input():
    torch = pytest.importorskip("torch")
    t = torch.randint(0, 3, (1000,))
    p = torch.randint(0, 3, (1000,))
    a = cm.f1_score(t, p, average="macro")
    b = sk.f1_score(t.numpy(), p.numpy(), average="macro")
    assert a == pytest.approx(b, rel=1e-12)
    np.testing.assert_array_equal(cm.confusion_matrix(t, p),
                                  sk.confusion_matrix(t.numpy(), p.numpy()))


def test_bad_inputs():
    with pytest.raises(ValueError, match="0 sample"):
        cm.accuracy_score([], [])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        cm.accuracy_score([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="continuous"):
        cm.accuracy_score([0.5, 1.0], [1, 1])
    with pytest.raises(ValueError, match="average"):
        cm.f1_score([0, 1, 2], [0, 1, 1])
    with pytest.raises(ValueError, match="average has to be"):
        cm.f1_score([0, 1], [0, 1], average="bogus")
    with pytest.raises(ValueError, match="index 1"):
        cm.f1_score([0, 1], [0, 1], sample_weight=[1, -2])
    # Indicator matrices are supported by the set-wise metrics
    # (tests/test_multilabel.py), not by the multi-class-only ones.
    with pytest.raises(NotImplementedError, match="multilabel"):
        cm.matthews_corrcoef(np.eye(3, dtype=int), np.eye(3, dtype=int))
    with pytest.raises(ValueError, match="zero_division"):
        cm.f1_score([0, 1], [0, 1], zero_division=5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_loss_binary(dtype):
    y = RNG.integers(0, 2, 1000)
    p = RNG.random(1000).astype(dtype)
    p[:3] = [0.0, 1.0, 1e-12]
    y[:3] = [1, 0, 1]
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    for normalize in [True, False]:
        a = cm.log_loss(y, p, normalize=normalize)
        b = sk.log_loss(y, p, normalize=normalize)
        assert a == pytest.approx(b, rel=rtol)
    assert cm.log_loss(y, p, eps=1e-3) == pytest.approx(sk.log_loss(y, p, eps=1e-3), rel=rtol)
    ys = np.where(y == 1, "yes", "no")
    assert cm.log_loss(ys, p) == pytest.approx(sk.log_loss(ys, p), rel=rtol)
    assert cm.log_loss(y, p[:, None]) == pytest.approx(sk.log_loss(y, p[:, None]), rel=rtol)


def test_log_loss_multiclass():
    y = RNG.integers(0, 4, 500)
    p = RNG.random((500, 4))
    p[0] = [0, 0, 0, 1]
    y[0] = 0
    assert cm.log_loss(y, p) == pytest.approx(sk.log_loss(y, p), rel=1e-12)
    q = p / p.sum(axis=1, keepdims=True)
    assert cm.log_loss(y, q) == pytest.approx(sk.log_loss(y, q), rel=1e-12)
    y3 = np.where(y == 3, 1, y)  # only 3 classes present: labels= needed
    with pytest.raises(ValueError):
        cm.log_loss(y3, p)
    assert cm.log_loss(y3, p, labels=[0, 1, 2, 3]) == pytest.approx(
        sk.log_loss(y3, p, labels=[0, 1, 2, 3]), rel=1e-12)
    with pytest.raises(ValueError, match="only one label"):
        cm.log_loss([1, 1], [0.5, 0.5])
    with pytest.raises(ValueError, match="0 sample"):
        cm.log_loss([], np.zeros((0, 3)))
    with pytest.raises(ValueError, match="index 3"):
        cm.log_loss(y, p, sample_weight=np.r_[np.ones(3), np.nan, np.ones(496)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k(dtype, k):
    y = RNG.integers(0, 5, 800)
    s = RNG.random((800, 5)).astype(dtype)
    s[:100] = np.round(s[:100] * 2) / 2  # many ties
    for normalize in [True, False]:
        a = cm.top_k_accuracy_score(y, s, k=k, normalize=normalize)
        b = sk.top_k_accuracy_score(y, s, k=k, normalize=normalize)
        assert a == b
    yb = RNG.integers(0, 2, 100)
    sb = RNG.random(100)
    assert cm.top_k_accuracy_score(yb, sb, k=1) == sk.top_k_accuracy_score(yb, sb, k=1)
    lab = ["a", "b", "c", "d", "e"]
    ys = np.array(lab)[y]
    assert cm.top_k_accuracy_score(ys, s, k=k, labels=lab) == \
        sk.top_k_accuracy_score(ys, s, k=k, labels=lab)
