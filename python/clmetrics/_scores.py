"""Score-based functions: log_loss, top_k_accuracy_score and the binary
cross-entropy with its gradients."""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple, Optional

import numpy as np

from . import _core
from ._validation import (
    _label_kind,
    _not_implemented,
    as_array,
    check_lengths,
    check_nonempty,
    column_or_1d,
    ensure_context,
    sample_weights,
)

ArrayLike = Any
_F32_EPS = float(np.finfo(np.float32).eps)


def _float_scores(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype not in (np.float16, np.float32, np.float64):
        a = a.astype(np.float64)
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    return a


def binary_labels_u8(y: np.ndarray) -> np.ndarray:
    """0/1 labels as uint8 without a copy for bool and uint8 arrays."""
    if y.dtype == np.bool_:
        return np.ascontiguousarray(y).view(np.uint8)
    if y.dtype == np.uint8:
        return np.ascontiguousarray(y)
    if y.dtype.kind not in "biuf":
        raise ValueError(f"binary labels must be numeric 0/1, got dtype {y.dtype}")
    bad = np.flatnonzero((y != 0) & (y != 1))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"label at index {i} is {y[i]!r}; binary labels must be 0 or 1")
    return y.astype(np.uint8)


def _classes_for(t: np.ndarray, labels: Optional[ArrayLike]) -> np.ndarray:
    src = t if labels is None else column_or_1d(labels, "labels")
    _label_kind(src)
    return np.unique(src)


def _encode_classes(t: np.ndarray, labels: Optional[ArrayLike]):
    """(sorted classes, index of each sample's class); a table lookup for
    small non-negative integers, a sort otherwise."""
    if labels is None and t.dtype.kind in "biu" and len(t):
        lo, hi = int(t.min()), int(t.max())
        if lo >= 0 and hi < (1 << 20):
            present = np.bincount(t.astype(np.intp, copy=False), minlength=hi + 1) > 0
            classes = np.flatnonzero(present)
            table = np.cumsum(present) - 1
            return classes.astype(t.dtype), table[t]
    classes = _classes_for(t, labels)
    idx = np.clip(np.searchsorted(classes, t), 0, len(classes) - 1)
    if not np.array_equal(classes[idx], t):
        raise ValueError("y_true contains values not in labels")
    return classes, idx


def log_loss(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    eps: Any = "auto",
    normalize: bool = True,
    sample_weight: Optional[ArrayLike] = None,
    labels: Optional[ArrayLike] = None,
) -> float:
    """Log loss (cross-entropy) of predicted probabilities.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Ground truth labels.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_classes)
        Predicted probabilities; a 1-D array holds the probability of the
        positive class (the larger of the two labels).
    eps : float or "auto", default="auto"
        Probabilities are clipped to [eps, 1 - eps]; "auto" is the machine
        epsilon of y_pred's dtype (scikit-learn 1.2's convention).
    normalize : bool, default=True
        Mean per sample if True (weighted mean with ``sample_weight``), else
        the (weighted) sum.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights, used as float32 (the device's weights; the host
        path uses the same float32 values in float64 arithmetic).
    labels : array-like, default=None
        The classes; inferred from y_true when None.

    Returns
    -------
    loss : float

    Notes
    -----
    The result follows scikit-learn 1.2 exactly: clip to [eps, 1 - eps],
    renormalize each row to sum 1, average -log p_true. The OpenCL engine
    clips at float32's epsilon and does not renormalize, so it is used only
    where that is the same computation: binary float32 probabilities in
    [0, 1] with ``eps="auto"`` (scikit-learn's eps is then float32's too;
    the engine sums in double, so results agree to float32 rounding).
    float64 and multi-class probabilities are computed on the host in
    NumPy float64, exactly as scikit-learn does. Labels in y_true that are
    not in ``labels`` raise ``ValueError``; empty input raises
    ``ValueError``. Weights summing to 0 with ``normalize=True`` raise
    ``ZeroDivisionError``, as scikit-learn (NumPy's ``average``).
    """
    p = _float_scores(as_array(y_pred), "y_pred")
    if p.ndim not in (1, 2):
        raise ValueError(f"Expected 1D or 2D array for y_pred, got shape {p.shape}")
    t = column_or_1d(y_true, "y_true")
    check_nonempty(p.shape[0], p.shape)
    check_lengths(p, t)
    if not np.isfinite(p).all():
        raise ValueError("Input contains NaN, infinity or a value too large.")
    eps_v = float(np.finfo(p.dtype).eps) if eps == "auto" else float(eps)
    w = sample_weights(sample_weight, len(t))
    classes, idx = _encode_classes(t, labels)
    if len(classes) == 1:
        if labels is None:
            raise ValueError(
                f"y_true contains only one label ({classes[0]}). Please provide "
                "the true labels explicitly through the labels argument."
            )
        raise ValueError(
            "The labels array needs to contain at least two labels for "
            f"log_loss, got {classes}."
        )
    n = len(t)
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    if p.ndim == 1:
        if len(classes) != 2:
            raise ValueError(
                "y_true and y_pred contain different number of classes "
                f"{len(classes)}, 2. Please provide the true labels explicitly "
                f"through the labels argument. Classes found in y_true: {classes}"
            )
        y01 = idx == 1
        if (
            p.dtype == np.float32
            and eps == "auto"
            and float(p.min()) >= 0.0
            and float(p.max()) <= 1.0
        ):
            if w is not None and normalize and float(w.sum(dtype=np.float64)) == 0:
                raise ZeroDivisionError("Weights sum to zero, can't be normalized")
            ensure_context()
            st = _core.BinaryState(1, 0.5, 0, 1.0, w is not None)
            st.update(y01.view(np.uint8), np.ascontiguousarray(p), None, None, w)
            r = st.finalize(0)
            return float(r["bce_mean"] if normalize else r["bce_sum"])
        pc = np.clip(p, eps_v, 1 - eps_v)
        q = 1 - pc
        s = q + pc
        ptrue = np.where(y01, pc, q) / s
    else:
        if p.shape[1] != len(classes):
            if labels is None:
                raise ValueError(
                    "y_true and y_pred contain different number of classes "
                    f"{len(classes)}, {p.shape[1]}. Please provide the true labels "
                    "explicitly through the labels argument. Classes found in "
                    f"y_true: {classes}"
                )
            raise ValueError(
                "The number of classes in labels is different from that in "
                f"y_pred. Classes found in labels: {classes}"
            )
        pc = np.clip(p, eps_v, 1 - eps_v)
        s = pc.sum(axis=1)
        ptrue = pc[np.arange(n), idx] / s
    loss = -np.log(ptrue.astype(np.float64, copy=False))
    if w is not None:
        w64 = w.astype(np.float64)
        if not normalize:
            return float(np.dot(loss, w64))
        return float(np.average(loss, weights=w64))
    return float(np.average(loss)) if normalize else float(loss.sum())


def top_k_accuracy_score(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    k: int = 2,
    normalize: bool = True,
    sample_weight: Optional[ArrayLike] = None,
    labels: Optional[ArrayLike] = None,
) -> float:
    """Top-k accuracy: the fraction of samples whose true class is among the
    k highest scores.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_score : array-like of shape (n_samples,) or (n_samples, n_classes)
        Scores (probabilities or logits); 1-D for binary problems.
    k : int, default=2
        Number of most likely outcomes considered.
    normalize : bool, default=True
        Fraction if True, else the number of hits (with ``sample_weight``:
        the weighted fraction, or the sum of the hits' weights).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights, used as float32 (the device's weights).
    labels : array-like of shape (n_classes,), default=None
        The classes, in the order of y_score's columns.

    Returns
    -------
    score : float

    Notes
    -----
    Ties rank the higher class index first, as scikit-learn does. float32
    score matrices (and float64 ones whose values are all float32 numbers)
    are ranked on the OpenCL device (columns reversed, so that its
    lower-index tie rule becomes scikit-learn's); other float64 matrices
    are ranked exactly on the host. Empty input raises ``ValueError``.
    Weights summing to 0 with ``normalize=True`` raise
    ``ZeroDivisionError``, as scikit-learn (NumPy's ``average``).
    """
    t = column_or_1d(y_true, "y_true")
    s = _float_scores(as_array(y_score), "y_score")
    check_nonempty(len(t), t.shape)
    check_lengths(t, s)
    w = sample_weights(sample_weight, len(t))
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if labels is None:
        classes = _classes_for(t, None)
        n_classes = s.shape[1] if s.ndim == 2 else 2
        if len(classes) != n_classes and not (s.ndim == 1 and len(classes) <= 2):
            raise ValueError(
                f"Number of classes in 'y_true' ({len(classes)}) not equal to the "
                f"number of classes in 'y_score' ({n_classes}).You can provide a "
                "list of all known classes by assigning it to the `labels` "
                "parameter."
            )
    else:
        lab = column_or_1d(labels, "labels")
        classes = _classes_for(t, lab)
        n_classes = s.shape[1] if s.ndim == 2 else 2
        if len(lab) != n_classes:
            raise ValueError(
                f"Number of given labels ({len(lab)}) not equal to the number of "
                f"classes in 'y_score' ({n_classes})."
            )
        if not np.array_equal(classes, lab):
            raise ValueError("Parameter 'labels' must be ordered.")
    idx = np.clip(np.searchsorted(classes, t), 0, len(classes) - 1)
    if not np.array_equal(classes[idx], t):
        raise ValueError("'y_true' contains labels not in parameter 'labels'.")
    n = len(t)
    if k >= n_classes:
        warnings.warn(
            f"'k' ({k}) greater than or equal to 'n_classes' ({n_classes}) will "
            "result in a perfect score and is therefore meaningless.",
            UserWarning,
        )
    hit = None  # per-sample hits where computed on the host
    if s.ndim == 1:
        if k == 1:
            threshold = 0.5 if s.min() >= 0 and s.max() <= 1 else 0
            hit = (s > threshold).astype(np.int64) == idx
        else:
            hit = np.ones(n, dtype=bool)
    elif k >= n_classes:
        hit = np.ones(n, dtype=bool)
    else:
        if np.isnan(s).any():
            raise ValueError("Input contains NaN, infinity or a value too large.")
        s32 = s if s.dtype == np.float32 else s.astype(np.float32)
        if s.dtype == np.float32 or np.array_equal(s32, s):
            # Reverse the columns: the device ranks ties to the lower index.
            rev = np.ascontiguousarray(s32[:, ::-1])
            y_rev = (n_classes - 1 - idx).astype(np.int32)
            ensure_context()
            st = _core.MulticlassState(n_classes, k, w is not None)
            st.update_scores(y_rev, rev, 0, None, w)
            state = st.getstate()
            if w is not None:
                hits_w, total = state["w_top_k_hits"], state["w_scored"]
                if not normalize:
                    return float(hits_w)
                if total == 0:
                    raise ZeroDivisionError(
                        "Weights sum to zero, can't be normalized"
                    )
                return float(hits_w / total)
            hits = int(state["top_k_hits"])
            return hits / n if normalize else float(hits)
        true_score = s[np.arange(n), idx][:, None]
        cols = np.arange(n_classes)[None, :]
        rank = (s > true_score).sum(axis=1) + (
            (s == true_score) & (cols > idx[:, None])
        ).sum(axis=1)
        hit = rank < k
    if w is not None:
        w64 = w.astype(np.float64)
        if not normalize:
            return float(np.dot(hit, w64))
        return float(np.average(hit, weights=w64))
    hits = int(hit.sum())
    return hits / n if normalize else float(hits)


class BCEResult(NamedTuple):
    """What :func:`bce_with_logits` returns."""

    loss: float
    grad: np.ndarray  # dL/dlogits, float32, shape (n_samples,)
    weight_grad: Optional[np.ndarray]  # dL/dW, float64, shape (n_features,)
    bias_grad: Optional[float]  # dL/db


def bce_with_logits(
    y_true: ArrayLike,
    logits: ArrayLike,
    features: Optional[ArrayLike] = None,
    reduction: str = "mean",
    pos_weight: Optional[float] = None,
    weight: Optional[ArrayLike] = None,
) -> BCEResult:
    """Binary cross-entropy from logits, with its gradients.

    Matches ``torch.nn.functional.binary_cross_entropy_with_logits`` (with
    ``pos_weight`` and a per-sample ``weight``) and its autograd for a
    linear model ``logits = features @ W + b``:
    l_i = -w_i [P y_i log sigma(z_i) + (1 - y_i) log(1 - sigma(z_i))],
    dl_i/dz_i = w_i (y_i ? P : 1) (sigma(z_i) - y_i).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Targets, each 0 or 1 (bool, integer or float). Soft targets raise
        ``NotImplementedError``.
    logits : array-like of shape (n_samples,)
        Raw scores z (float32, or float64 rounded to float32).
    features : array-like of shape (n_samples, n_features), default=None
        When given, dL/dW and dL/db are returned too.
    reduction : {"mean", "sum"}, default="mean"
        As PyTorch's: "mean" divides by N (also with ``weight``, as PyTorch;
        not by the sum of the weights); "none" raises
        ``NotImplementedError``.
    pos_weight : float, default=None
        P of PyTorch's ``pos_weight`` (one class: a positive scalar, used as
        float32); None: 1.
    weight : array-like of shape (n_samples,), default=None
        Per-sample weights w_i (finite, >= 0; used as float32). A zero
        weight drops its sample even where its loss is infinite (PyTorch
        gives NaN there).

    Returns
    -------
    result : BCEResult
        ``loss`` (float), ``grad`` (float32 dL/dz_i: w_i (y_i ? P : 1)
        (sigma(z_i) - y_i) / N for "mean", without the / N for "sum"),
        ``weight_grad`` (float64 array or None) and ``bias_grad`` (float or
        None).
    """
    if reduction not in ("mean", "sum"):
        raise _not_implemented("reduction", reduction, "use 'mean' or 'sum'")
    if pos_weight is not None:
        pw = np.asarray(as_array(pos_weight), dtype=np.float64).ravel()
        if pw.size != 1:
            raise _not_implemented(
                "pos_weight", "<array>", "one positive class: pass a scalar"
            )
        pos_weight = float(pw[0])
        if not (np.isfinite(pos_weight) and pos_weight > 0):
            raise ValueError(
                f"pos_weight must be positive and finite, got {pos_weight!r}"
            )
    y = column_or_1d(y_true, "y_true")
    z = _float_scores(column_or_1d(logits, "logits"), "logits")
    check_nonempty(len(y), y.shape)
    check_lengths(y, z)
    if y.dtype.kind == "f" and ((y != 0) & (y != 1)).any():
        raise _not_implemented("y_true", "<soft targets>", "targets must be 0 or 1")
    labels = binary_labels_u8(y)
    z = np.ascontiguousarray(z)
    x = None
    nf = 0
    if features is not None:
        x = np.ascontiguousarray(as_array(features), dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"features must be 2-D, got shape {x.shape}")
        check_lengths(y, x)
        nf = x.shape[1]
    n = len(y)
    w = sample_weights(weight, n, device=True)
    if w is not None and float(w.sum(dtype=np.float64)) == 0:
        # Every term weighs 0: PyTorch's loss and gradients are all 0.
        grad = np.zeros(n, dtype=np.float32)
        wg = np.zeros(nf, dtype=np.float64) if x is not None else None
        return BCEResult(0.0, grad, wg, 0.0 if x is not None else None)
    grad = np.empty(n, dtype=np.float32)
    ensure_context()
    st = _core.BinaryState(
        0, 0.5, nf, 1.0 if pos_weight is None else pos_weight, w is not None
    )
    st.update(labels, z, x, grad, w)
    r = st.finalize(0)
    # The library's means divide by the weight sum (n unweighted); PyTorch's
    # by n.
    wsum = float(r["weight_sum"])
    loss = r["bce_sum"]
    if reduction == "mean":
        loss = loss / n
        grad /= np.float32(n)
        scale = wsum / n
    else:
        scale = wsum
    wg = bg = None
    if x is not None:
        wg = np.asarray(r["weight_grad"], dtype=np.float64) * scale
        bg = r["grad_bias"] * scale
    return BCEResult(float(loss), grad, wg, bg)


def cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    weight: Optional[ArrayLike] = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> float:
    """Cross-entropy of logits against class indices, as
    ``torch.nn.functional.cross_entropy``, computed on the OpenCL device.

    Per row n with class weights w_c and smoothing e (K classes):
    l_n = (1 - e) w_{y_n} (-log p_{n,y_n}) + (e / K) sum_c w_c (-log p_{n,c}),
    p = softmax of the row. Rows whose target is ``ignore_index`` are left
    out. "mean": sum_n l_n / sum_n w_{y_n} (PyTorch's weighted mean; NaN
    when every row is ignored or weighs 0); "sum": sum_n l_n.

    Parameters
    ----------
    input : array-like of shape (n_samples, n_classes)
        Logits (float32 read in place; float64 rounded to float32 keeping
        each row's argmax).
    target : array-like of shape (n_samples,)
        Class indices in [0, n_classes), or ``ignore_index``.
        Class-probability targets raise ``NotImplementedError``.
    weight : array-like of shape (n_classes,), default=None
        Class weights (finite, >= 0).
    ignore_index : int, default=-100
        Target value whose rows are skipped.
    reduction : {"mean", "sum"}, default="mean"
        "none" raises ``NotImplementedError``.
    label_smoothing : float, default=0.0
        e in [0, 1].

    Returns
    -------
    loss : float

    Notes
    -----
    The device sums the loss in float32 per work-group (at most (R + 2K +
    16) 2^-24 relative to the sum of the terms' magnitudes, R the rows of a
    group) and adds the groups in float64. A class or row weighing 0 adds 0
    even where -log p is infinite (PyTorch gives NaN there).
    """
    if reduction not in ("mean", "sum"):
        raise _not_implemented("reduction", reduction, "use 'mean' or 'sum'")
    x = as_array(input)
    if x.ndim != 2:
        raise _not_implemented(
            "input", f"<array of shape {x.shape}>",
            "pass an (n_samples, n_classes) matrix",
        )
    x = np.ascontiguousarray(_float_scores(x, "input"))
    t = as_array(target)
    if t.ndim != 1:
        raise _not_implemented(
            "target", f"<array of shape {t.shape}>",
            "class-index targets of shape (n_samples,) only",
        )
    if t.dtype.kind not in "biu":
        raise _not_implemented(
            "target", f"<{t.dtype} array>",
            "class-index (integer) targets only; probabilities are not supported",
        )
    check_lengths(t, x)
    k = x.shape[1]
    if k < 2:
        raise ValueError("cross_entropy needs at least 2 classes")
    if not (0.0 <= float(label_smoothing) <= 1.0):
        raise ValueError(
            f"label_smoothing must lie in [0, 1], got {label_smoothing!r}"
        )
    cw = None
    if weight is not None:
        cw = np.asarray(as_array(weight), dtype=np.float64).ravel()
        if cw.shape != (k,):
            raise ValueError(
                f"weight must hold one value per class ({k}), got shape {cw.shape}"
            )
        bad = ~np.isfinite(cw) | (cw < 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"weight at index {i} is {cw[i]!r}: class weights must be "
                "finite and >= 0"
            )
        cw = cw.tolist()
    if t.size and (t.min() < np.iinfo(np.int32).min or t.max() > np.iinfo(np.int32).max):
        raise ValueError("target values must fit in int32")
    t32 = np.ascontiguousarray(t, dtype=np.int32)
    kept = int((t32 != ignore_index).sum()) if len(t32) else 0
    if kept == 0:
        return float("nan") if reduction == "mean" else 0.0
    ensure_context()
    st = _core.MulticlassState(k, 0, False, cw, int(ignore_index),
                               float(label_smoothing))
    st.update_scores(t32, x, 0)
    r = st.finalize(0)
    if reduction == "sum":
        return float(r["cross_entropy_sum"])
    return float(r["cross_entropy_mean"])
