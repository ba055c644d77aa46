"""Input handling: arrays from lists, NumPy, PyTorch; class encoding; the
device confusion matrix over the classes present."""

from __future__ import annotations

import threading
from typing import Any, Optional, Tuple

import numpy as np

from . import _core

# Largest label value counted directly as a class index (K x K uint64
# matrix on the host); larger or negative labels are encoded first.
_DIRECT_MAX_CLASSES = 4096

_init_lock = threading.Lock()


def _not_implemented(name: str, value: Any, why: str = "") -> NotImplementedError:
    msg = f"clmetrics does not support {name}={value!r}"
    if why:
        msg += f": {why}"
    return NotImplementedError(msg)


def check_sample_weight(sample_weight: Any, what: str = "") -> None:
    """Refuses sample weights where they are not supported."""
    if sample_weight is not None:
        raise _not_implemented(
            "sample_weight", "<array>", what or "sample weights are not supported here"
        )


_F32_MAX = float(np.finfo(np.float32).max)


def sample_weights(
    sample_weight: Any, n: int, device: bool = False
) -> Optional[np.ndarray]:
    """The weights as the float32 array the device reads (None: unweighted).

    A C-contiguous float32 array is returned as it is (no copy); other
    dtypes are converted once. With ``device=True`` (the weights go to the
    extension only) a C-contiguous float64 array is also returned as it is:
    the extension converts it to float32 batch by batch and checks it,
    naming the index of a bad value. A scalar is broadcast to n samples, as
    scikit-learn's ``_check_sample_weight``. A NaN, infinite or negative
    weight, or one beyond the float32 range, raises ``ValueError`` naming
    its index and value.
    """
    if sample_weight is None:
        return None
    w = as_array(sample_weight)
    if w.ndim == 0:
        w = np.full(n, w.item(), dtype=np.float64 if w.dtype.kind != "f" else w.dtype)
    if w.ndim != 1:
        raise ValueError("Sample weights must be 1D array or scalar")
    if w.shape[0] != n:
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
    if device and w.dtype == np.float64 and w.flags.c_contiguous:
        return w
    if w.dtype.kind not in "biuf":
        try:
            w = w.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"sample_weight must be numeric, got dtype {w.dtype}"
            ) from exc
    if w.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(w) <= _F32_MAX) | (w < 0)
    elif w.dtype.kind == "b":
        bad = None
    else:
        bad = (w < 0) | (w > _F32_MAX)
    if bad is not None and bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"sample_weight at index {i} is {w[i]!r}: sample weights must be "
            "finite, >= 0 and within the float32 range"
        )
    if w.dtype == np.float32 and w.flags.c_contiguous:
        return w
    return np.ascontiguousarray(w, dtype=np.float32)


def integer_weights(sample_weight: Any) -> bool:
    """True when the caller's weights have an integer or bool dtype
    (scikit-learn's confusion_matrix is then int64)."""
    if sample_weight is None:
        return False
    return as_array(sample_weight).dtype.kind in "biu"


def as_array(y: Any) -> np.ndarray:
    """A NumPy view of y (lists, arrays, PyTorch CPU tensors, buffers)."""
    if isinstance(y, np.ndarray):
        return y
    if hasattr(y, "detach") and hasattr(y, "numpy"):  # torch.Tensor
        if getattr(y, "device", None) is not None and str(y.device) != "cpu":
            raise _not_implemented(
                "a tensor on device", str(y.device), "move it to the CPU first"
            )
        return y.detach().numpy()
    return np.asarray(y)


def column_or_1d(y: Any, name: str = "y") -> np.ndarray:
    a = as_array(y)
    if a.ndim == 1:
        return a
    if a.ndim == 2 and a.shape[1] == 1:
        return a.reshape(-1)
    if a.ndim == 2:
        raise _not_implemented(
            name,
            f"<array of shape {a.shape}>",
            "multilabel-indicator targets are not supported",
        )
    if a.ndim == 0:
        raise TypeError(f"Singleton array {a!r} cannot be considered a valid collection.")
    raise ValueError(f"y should be a 1d array, got an array of shape {a.shape} instead.")


def check_nonempty(n: int, shape: Tuple[int, ...]) -> None:
    if n == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 "
            "is required."
        )


def check_lengths(*arrays: np.ndarray) -> None:
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"{lengths}"
        )


def _label_kind(a: np.ndarray) -> str:
    """'int' (bool, integers, integral floats), 'str' or 'object'."""
    k = a.dtype.kind
    if k in "biu":
        return "int"
    if k == "f":
        if np.isnan(a).any() or np.isinf(a).any():
            raise ValueError("Input contains NaN or infinity.")
        if not np.array_equal(a, np.floor(a)):
            raise ValueError(
                "Classification metrics can't handle a mix of continuous and "
                "discrete targets"
            )
        return "int"
    if k in "US":
        return "str"
    if k == "O":
        kinds = {isinstance(v, str) for v in a.tolist()}
        if len(kinds) > 1:
            raise ValueError("Mix of label input types (string and number)")
        return "str" if kinds == {True} else "object"
    raise TypeError(f"unsupported label dtype {a.dtype}")


def ensure_context() -> None:
    """Creates the process-wide context once (the extension locks too)."""
    with _init_lock:
        _core.init()


class Encoded:
    """A confusion matrix over the sorted union of the classes present and
    any extra labels: `classes` (labels in sorted order), `C` (int64 K x K,
    rows = true), `W` (float64 K x K sums of sample weights, or None when
    unweighted), `present` (bool, class occurs in y_true or y_pred),
    `in_true` (bool, class occurs in y_true). `M` is the matrix the metrics
    use: W when weighted, else C."""

    def __init__(self, classes: np.ndarray, C: np.ndarray, present: np.ndarray,
                 W: Optional[np.ndarray] = None):
        self.classes = classes
        self.C = C
        self.W = W
        self.present = present
        self.in_true = C.sum(axis=1) > 0
        self.n = int(C.sum())

    @property
    def M(self) -> np.ndarray:
        return self.C if self.W is None else self.W

    @property
    def weighted(self) -> bool:
        return self.W is not None

    @property
    def present_labels(self) -> np.ndarray:
        return self.classes[self.present]

    def y_type(self) -> str:
        return "binary" if int(self.present.sum()) <= 2 else "multiclass"

    def index_of(self, labels: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.classes, labels)
        idx = np.clip(idx, 0, len(self.classes) - 1)
        return idx


def _device_confusion(
    t: np.ndarray, p: np.ndarray, k: int, w: Optional[np.ndarray] = None
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """(int64 counts, float64 weight sums or None), K x K, from the device
    (the weighted matrix is the state's w_confusion)."""
    ensure_context()
    kk = max(k, 2)
    state = _core.MulticlassState(kk, 0, w is not None)
    state.update_labels(t, p, w)
    C = np.frombuffer(state.confusion(), dtype=np.uint64).reshape(kk, kk)
    W = None
    if w is not None:
        W = np.frombuffer(state.w_confusion(), dtype=np.float64).reshape(kk, kk)
        W = W[:k, :k].copy()
    return C[:k, :k].astype(np.int64), W


def encode(
    y_true: Any,
    y_pred: Any,
    labels: Optional[Any] = None,
    sample_weight: Optional[Any] = None,
) -> Encoded:
    """Validates a pair of label arrays (and optional sample weights) and
    counts their confusion matrix on the device."""
    t = column_or_1d(y_true, "y_true")
    p = column_or_1d(y_pred, "y_pred")
    check_lengths(t, p)
    check_nonempty(len(t), t.shape)
    w = sample_weights(sample_weight, len(t), device=True)
    kt, kp = _label_kind(t), _label_kind(p)
    if {kt, kp} == {"int", "str"}:
        raise ValueError("Mix of label input types (string and number)")
    direct = False
    if kt == "int" and kp == "int":
        lo = min(int(t.min()), int(p.min()))
        hi = max(int(t.max()), int(p.max()))
        direct = lo >= 0 and hi < _DIRECT_MAX_CLASSES
    if direct:
        k = hi + 1
        ti = np.ascontiguousarray(t, dtype=np.int32)
        pi = np.ascontiguousarray(p, dtype=np.int32)
        C, W = _device_confusion(ti, pi, k, w)
        present = (C.sum(axis=0) + C.sum(axis=1)) > 0
        rtype = np.result_type(t.dtype, p.dtype)
        idx = np.flatnonzero(present)
        classes = idx.astype(rtype)
        C = C[np.ix_(idx, idx)]
        if W is not None:
            W = W[np.ix_(idx, idx)]
    else:
        both = np.concatenate([t, p]) if kt != "object" else np.concatenate(
            [t.astype(object), p.astype(object)]
        )
        classes, inv = np.unique(both, return_inverse=True)
        if len(classes) >= 2**31 - 1:
            raise ValueError("too many classes")
        inv = inv.astype(np.int32)
        C, W = _device_confusion(
            np.ascontiguousarray(inv[: len(t)]), np.ascontiguousarray(inv[len(t):]),
            len(classes), w,
        )
    present = np.ones(len(classes), dtype=bool)
    if labels is not None:
        lab = np.asarray(labels)
        if lab.size:
            if (lab.dtype.kind in "US") != (classes.dtype.kind in "US") and not (
                classes.dtype.kind == "O" or lab.dtype.kind == "O"
            ):
                raise ValueError("Mix of label input types (string and number)")
            extra = np.setdiff1d(lab.ravel(), classes)
            if extra.size:
                allc = np.union1d(classes, extra)
                pos = np.searchsorted(allc, classes)
                C2 = np.zeros((len(allc), len(allc)), dtype=np.int64)
                C2[np.ix_(pos, pos)] = C
                if W is not None:
                    W2 = np.zeros((len(allc), len(allc)), dtype=np.float64)
                    W2[np.ix_(pos, pos)] = W
                    W = W2
                pr = np.zeros(len(allc), dtype=bool)
                pr[pos] = True
                classes, C, present = allc, C2, pr
    return Encoded(classes, C, present, W)


def labels_array(labels: Any) -> np.ndarray:
    return np.asarray(labels).ravel()
