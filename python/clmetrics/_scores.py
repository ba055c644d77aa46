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
    check_sample_weight,
    column_or_1d,
    ensure_context,
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
        Mean per sample if True, else the sum.
    sample_weight : None
        Not supported.
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
    ``ValueError``.
    """
    check_sample_weight(sample_weight)
    p = _float_scores(as_array(y_pred), "y_pred")
    if p.ndim not in (1, 2):
        raise ValueError(f"Expected 1D or 2D array for y_pred, got shape {p.shape}")
    t = column_or_1d(y_true, "y_true")
    check_nonempty(p.shape[0], p.shape)
    check_lengths(p, t)
    if not np.isfinite(p).all():
        raise ValueError("Input contains NaN, infinity or a value too large.")
    eps_v = float(np.finfo(p.dtype).eps) if eps == "auto" else float(eps)
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
            ensure_context()
            st = _core.BinaryState(1, 0.5)
            st.update(y01.view(np.uint8), np.ascontiguousarray(p))
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
        Fraction if True, else the number of hits.
    sample_weight : None
        Not supported.
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
    """
    check_sample_weight(sample_weight)
    t = column_or_1d(y_true, "y_true")
    s = _float_scores(as_array(y_score), "y_score")
    check_nonempty(len(t), t.shape)
    check_lengths(t, s)
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
    if s.ndim == 1:
        if k == 1:
            threshold = 0.5 if s.min() >= 0 and s.max() <= 1 else 0
            hits = int(((s > threshold).astype(np.int64) == idx).sum())
        else:
            hits = n
    elif k >= n_classes:
        hits = n
    else:
        if np.isnan(s).any():
            raise ValueError("Input contains NaN, infinity or a value too large.")
        s32 = s if s.dtype == np.float32 else s.astype(np.float32)
        if s.dtype == np.float32 or np.array_equal(s32, s):
            # Reverse the columns: the device ranks ties to the lower index.
            rev = np.ascontiguousarray(s32[:, ::-1])
            y_rev = (n_classes - 1 - idx).astype(np.int32)
            ensure_context()
            st = _core.MulticlassState(n_classes, k)
            st.update_scores(y_rev, rev, 0)
            hits = int(st.getstate()["top_k_hits"])
        else:
            true_score = s[np.arange(n), idx][:, None]
            cols = np.arange(n_classes)[None, :]
            rank = (s > true_score).sum(axis=1) + (
                (s == true_score) & (cols > idx[:, None])
            ).sum(axis=1)
            hits = int((rank < k).sum())
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
) -> BCEResult:
    """Binary cross-entropy from logits, with its gradients.

    Matches ``torch.nn.functional.binary_cross_entropy_with_logits`` and its
    autograd for a linear model ``logits = features @ W + b``.

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
        As PyTorch's; "none" raises ``NotImplementedError``.

    Returns
    -------
    result : BCEResult
        ``loss`` (float), ``grad`` (float32 dL/dz_i: (sigma(z_i) - y_i) / N
        for "mean", sigma(z_i) - y_i for "sum"), ``weight_grad`` (float64
        array or None) and ``bias_grad`` (float or None).
    """
    if reduction not in ("mean", "sum"):
        raise _not_implemented("reduction", reduction, "use 'mean' or 'sum'")
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
    grad = np.empty(n, dtype=np.float32)
    ensure_context()
    st = _core.BinaryState(0, 0.5, nf)
    st.update(labels, z, x, grad)
    r = st.finalize(0)
    if reduction == "mean":
        loss = r["bce_mean"]
        grad /= np.float32(n)
        scale = 1.0
    else:
        loss = r["bce_sum"]
        scale = float(n)
    wg = bg = None
    if x is not None:
        wg = np.asarray(r["weight_grad"], dtype=np.float64) * scale
        bg = r["grad_bias"] * scale
    return BCEResult(float(loss), grad, wg, bg)
