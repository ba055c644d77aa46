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


def check_sample_weight(sample_weight: Any) -> None:
    if sample_weight is not None:
        raise _not_implemented(
            "sample_weight", "<array>", "sample weights are not implemented yet"
        )


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
    rows = true), `present` (bool, class occurs in y_true or y_pred),
    `in_true` (bool, class occurs in y_true)."""

    def __init__(self, classes: np.ndarray, C: np.ndarray, present: np.ndarray):
        self.classes = classes
        self.C = C
        self.present = present
        self.in_true = C.sum(axis=1) > 0
        self.n = int(C.sum())

    @property
    def present_labels(self) -> np.ndarray:
        return self.classes[self.present]

    def y_type(self) -> str:
        return "binary" if int(self.present.sum()) <= 2 else "multiclass"

    def index_of(self, labels: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.classes, labels)
        idx = np.clip(idx, 0, len(self.classes) - 1)
        return idx


def _device_confusion(t: np.ndarray, p: np.ndarray, k: int) -> np.ndarray:
    ensure_context()
    state = _core.MulticlassState(max(k, 2), 0)
    state.update_labels(t, p)
    kk = max(k, 2)
    C = np.frombuffer(state.confusion(), dtype=np.uint64).reshape(kk, kk)
    return C[:k, :k].astype(np.int64)


def encode(y_true: Any, y_pred: Any, labels: Optional[Any] = None) -> Encoded:
    """Validates a pair of label arrays and counts their confusion matrix on
    the device."""
    t = column_or_1d(y_true, "y_true")
    p = column_or_1d(y_pred, "y_pred")
    check_lengths(t, p)
    check_nonempty(len(t), t.shape)
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
        C = _device_confusion(ti, pi, k)
        present = (C.sum(axis=0) + C.sum(axis=1)) > 0
        rtype = np.result_type(t.dtype, p.dtype)
        idx = np.flatnonzero(present)
        classes = idx.astype(rtype)
        C = C[np.ix_(idx, idx)]
    else:
        both = np.concatenate([t, p]) if kt != "object" else np.concatenate(
            [t.astype(object), p.astype(object)]
        )
        classes, inv = np.unique(both, return_inverse=True)
        if len(classes) >= 2**31 - 1:
            raise ValueError("too many classes")
        inv = inv.astype(np.int32)
        C = _device_confusion(
            np.ascontiguousarray(inv[: len(t)]), np.ascontiguousarray(inv[len(t):]),
            len(classes),
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
                pr = np.zeros(len(allc), dtype=bool)
                pr[pos] = True
                classes, C, present = allc, C2, pr
    return Encoded(classes, C, present)


def labels_array(labels: Any) -> np.ndarray:
    return np.asarray(labels).ravel()
