/*
 * clmetrics._core: the CPython extension over the public C API.
 *
 * One process-wide context, created on first use under a lock. Inputs are
 * read in place through the buffer protocol (C-contiguous, typed by their
 * format); the GIL is released while the device works. States are the
 * library's mergeable structs, wrapped in two types that pickle as plain
 * counts and sums.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>

#include <clmetrics.h>

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Context and errors                                                  */
/* ------------------------------------------------------------------ */

static clm_context *g_ctx;
static char *g_spec; /* the device spec the context was created with */
static PyThread_type_lock g_lock;

/* The addresses of the last buffers handed to the library on this thread
 * (labels, scores), so tests can check that nothing was copied. */
static _Thread_local uintptr_t g_last_labels, g_last_scores, g_last_weights;

/* Raises the Python exception that matches a library status. */
static PyObject *raise_status(clm_status st, const clm_error *err) {
  PyObject *type = PyExc_RuntimeError;
  switch (st) {
  case CLM_ERR_INVALID_ARGUMENT:
  case CLM_ERR_UNSUPPORTED:
  case CLM_ERR_BAD_LABEL:
  case CLM_ERR_BAD_SCORE:
  case CLM_ERR_LENGTH_MISMATCH:
  case CLM_ERR_EMPTY:
  case CLM_ERR_STATE_MISMATCH:
  case CLM_ERR_FORMAT:
  case CLM_ERR_BAD_WEIGHT:
    type = PyExc_ValueError;
    break;
  case CLM_ERR_OUT_OF_MEMORY:
    type = PyExc_MemoryError;
    break;
  case CLM_ERR_IO:
    type = PyExc_OSError;
    break;
  default:
    type = PyExc_RuntimeError;
  }
  if (err && err->message[0])
    PyErr_SetString(type, err->message);
  else
    PyErr_SetString(type, clm_status_str(st));
  return NULL;
}

/* One save call's outputs (the GIL serializes their use). */
static uint8_t *g_save_buf;
static size_t g_save_len;
static clm_error g_save_err;

/* bytes of the buffer a clm_*_state_save just filled (freed here). */
static PyObject *state_bytes(clm_status st) {
  if (st != CLM_OK)
    return raise_status(st, &g_save_err);
  PyObject *b = PyBytes_FromStringAndSize((const char *)g_save_buf,
                                          (Py_ssize_t)g_save_len);
  clm_state_buffer_free(g_save_buf);
  g_save_buf = NULL;
  return b;
}

/* (clmetrics._core.state_from_bytes, (b,)): steals b. */
static PyObject *reduce_from_bytes(PyObject *b) {
  PyObject *mod = PyImport_ImportModule("clmetrics._core");
  PyObject *fn = mod ? PyObject_GetAttrString(mod, "state_from_bytes") : NULL;
  Py_XDECREF(mod);
  if (!fn) {
    Py_DECREF(b);
    return NULL;
  }
  return Py_BuildValue("N(N)", fn, b);
}

static int same_spec(const char *a, const char *b) {
  if (!a || !b)
    return a == b;
  return strcmp(a, b) == 0;
}

/* The process-wide context; `spec` NULL accepts whatever exists (or
 * creates the default). Returns NULL with an exception set on failure. */
static clm_context *get_context(const char *spec) {
  clm_context *ctx = g_ctx;
  if (ctx && (!spec || same_spec(spec, g_spec)))
    return ctx;
  Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(g_lock, WAIT_LOCK);
  Py_END_ALLOW_THREADS if (g_ctx) {
    ctx = g_ctx;
    int clash = spec && !same_spec(spec, g_spec);
    PyThread_release_lock(g_lock);
    if (clash) {
      PyErr_Format(PyExc_RuntimeError,
                   "the clmetrics context already runs on '%s' (device spec "
                   "%s); device=%s must be chosen before the first "
                   "evaluation (or set CLMETRICS_DEVICE)",
                   clm_context_device(ctx)->name, g_spec ? g_spec : "default",
                   spec);
      return NULL;
    }
    return ctx;
  }
  char *copy = NULL;
  if (spec) {
    copy = strdup(spec);
    if (!copy) {
      PyThread_release_lock(g_lock);
      PyErr_NoMemory();
      return NULL;
    }
  }
  clm_context_options opts;
  clm_context_options_init(&opts);
  opts.device = spec;
  clm_error err;
  memset(&err, 0, sizeof err);
  clm_status st;
  Py_BEGIN_ALLOW_THREADS st = clm_context_create(&opts, &ctx, &err);
  Py_END_ALLOW_THREADS if (st != CLM_OK) {
    PyThread_release_lock(g_lock);
    free(copy);
    raise_status(st, &err);
    return NULL;
  }
  g_ctx = ctx;
  g_spec = copy;
  PyThread_release_lock(g_lock);
  return ctx;
}

static PyObject *device_dict(const clm_device_info *d) {
  return Py_BuildValue(
      "{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:K,s:K,s:K,s:O}", "index", d->index,
      "platform_index", d->platform_index, "platform", d->platform, "name",
      d->name, "version", d->version, "driver", d->driver, "type", d->type,
      "compute_units", d->compute_units, "global_mem_bytes",
      (unsigned long long)d->global_mem_bytes, "max_alloc_bytes",
      (unsigned long long)d->max_alloc_bytes, "local_mem_bytes",
      (unsigned long long)d->local_mem_bytes, "host_unified_memory",
      d->host_unified_memory ? Py_True : Py_False);
}

/* ------------------------------------------------------------------ */
/* Buffers                                                             */
/* ------------------------------------------------------------------ */

/* The buffer's element type as one struct-module character, with a native
 * or little-endian byte order prefix dropped; 0 when not understood. */
static char buffer_type(const Py_buffer *v) {
  const char *f = v->format ? v->format : "B";
  if (*f == '@' || *f == '=' || *f == '<')
    ++f;
  if (!f[0] || f[1])
    return 0;
  char c = f[0];
  /* Normalise integer codes by size (int32 may be 'i' or 'l'). */
  if ((c == 'i' || c == 'l' || c == 'q' || c == 'h' || c == 'b') &&
      v->itemsize == 4)
    return 'i';
  if ((c == 'I' || c == 'L' || c == 'B' || c == 'c') && v->itemsize == 1)
    return 'B';
  if (c == '?' && v->itemsize == 1)
    return 'B';
  return c;
}

/* Gets a C-contiguous buffer and checks its element type against the
 * allowed characters. */
static int get_buffer(PyObject *obj, Py_buffer *v, int writable,
                      const char *name, const char *allowed,
                      const char *expected) {
  int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;
  if (writable)
    flags |= PyBUF_WRITABLE;
  if (PyObject_GetBuffer(obj, v, flags) != 0) {
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError,
                 "%s must be a C-contiguous%s buffer of %s (a NumPy array), "
                 "got %s",
                 name, writable ? " writable" : "", expected,
                 Py_TYPE(obj)->tp_name);
    return -1;
  }
  char t = buffer_type(v);
  if (!t || !strchr(allowed, t)) {
    PyErr_Format(PyExc_TypeError, "%s must hold %s, got buffer format '%s'",
                 name, expected, v->format ? v->format : "B");
    PyBuffer_Release(v);
    return -1;
  }
  return 0;
}

static Py_ssize_t rows_of(const Py_buffer *v) {
  return v->ndim == 0 ? 1 : v->shape[0];
}

static Py_ssize_t cols_of(const Py_buffer *v) {
  Py_ssize_t c = 1;
  for (int i = 1; i < v->ndim; ++i)
    c *= v->shape[i];
  return c;
}

static int length_error(const char *a, Py_ssize_t na, const char *b,
                        Py_ssize_t nb) {
  PyErr_Format(PyExc_ValueError,
               "Found input variables with inconsistent numbers of samples: "
               "%s has %zd, %s has %zd",
               a, na, b, nb);
  return -1;
}

static PyObject *undefined_list(unsigned bits) {
  static const struct {
    unsigned bit;
    const char *name;
  } names[] = {{CLM_UNDEF_PRECISION, "precision"},
               {CLM_UNDEF_RECALL, "recall"},
               {CLM_UNDEF_F1, "f1"},
               {CLM_UNDEF_SPECIFICITY, "specificity"},
               {CLM_UNDEF_MCC, "mcc"},
               {CLM_UNDEF_BALANCED_ACCURACY, "balanced_accuracy"},
               {CLM_UNDEF_KAPPA, "cohen_kappa"},
               {CLM_UNDEF_JACCARD, "jaccard"}};
  PyObject *list = PyList_New(0);
  if (!list)
    return NULL;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
    if (!(bits & names[i].bit))
      continue;
    PyObject *s = PyUnicode_FromString(names[i].name);
    if (!s || PyList_Append(list, s) != 0) {
      Py_XDECREF(s);
      Py_DECREF(list);
      return NULL;
    }
    Py_DECREF(s);
  }
  return list;
}

/* Batches for float64 conversions (values per batch). */
#define CONVERT_BATCH ((uint64_t)1 << 22)

/* ------------------------------------------------------------------ */
/* BinaryState                                                         */
/* ------------------------------------------------------------------ */

typedef struct {
  PyObject_HEAD clm_binary_state st;
  int busy;
} BinaryStateObject;

static int busy_error(void) {
  PyErr_SetString(PyExc_RuntimeError,
                  "this state is being updated by another thread; give each "
                  "thread its own evaluator and merge them");
  return -1;
}

static int parse_kind(int kind) {
  if (kind != CLM_SCORES_LOGITS && kind != CLM_SCORES_PROBS) {
    PyErr_SetString(PyExc_ValueError, "kind must be 0 (logits) or 1 (probs)");
    return -1;
  }
  return 0;
}

static int BinaryState_init(BinaryStateObject *self, PyObject *args,
                            PyObject *kw) {
  static char *kwlist[] = {"kind",       "threshold", "n_features",
                           "pos_weight", "weighted",  NULL};
  int kind = CLM_SCORES_LOGITS, weighted = 0;
  double threshold = 0.5, pos_weight = 1.0;
  unsigned long long nf = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|idKdp", kwlist, &kind,
                                   &threshold, &nf, &pos_weight, &weighted))
    return -1;
  if (parse_kind(kind) != 0)
    return -1;
  if (!(threshold >= 0.0 && threshold <= 1.0)) {
    PyErr_Format(PyExc_ValueError, "threshold must lie in [0, 1], got %R",
                 PyTuple_GET_SIZE(args) > 1 ? PyTuple_GET_ITEM(args, 1)
                                            : Py_None);
    return -1;
  }
  if (self->busy)
    return busy_error();
  clm_binary_options o;
  clm_binary_options_init(&o);
  o.kind = (clm_scores_kind)kind;
  o.threshold = threshold;
  o.n_features = nf;
  o.pos_weight = pos_weight;
  o.weighted = weighted;
  clm_binary_state s;
  clm_status st = clm_binary_state_init_ex(&s, &o);
  if (st != CLM_OK) {
    clm_error err;
    memset(&err, 0, sizeof err);
    snprintf(err.message, sizeof err.message,
             "pos_weight must be positive and finite (also as float32), got "
             "%g",
             pos_weight);
    raise_status(st, &err);
    return -1;
  }
  clm_binary_state_release(&self->st);
  self->st = s;
  return 0;
}

/* The options a binary state was created with. */
static void binary_options_of(const clm_binary_state *s,
                              clm_binary_options *o) {
  clm_binary_options_init(o);
  o->kind = s->kind;
  o->threshold = s->threshold;
  o->n_features = s->n_features;
  o->pos_weight = s->pos_weight;
  o->weighted = s->weighted;
}

/* Reads optional sample weights (float32, read in place, or float64,
 * converted batch by batch by weights_at): 1 when present (v filled), 0
 * when None, -1 on error. The length must be n; a weighted state needs
 * them and an unweighted one refuses them. */
static int get_weights(PyObject *wo, Py_buffer *v, Py_ssize_t n, int weighted) {
  if (wo == Py_None) {
    if (weighted && n > 0) {
      PyErr_SetString(PyExc_ValueError,
                      "this state is weighted: pass sample weights");
      return -1;
    }
    return 0;
  }
  if (!weighted) {
    PyErr_SetString(PyExc_ValueError,
                    "this state is unweighted: create it with weighted=True "
                    "to pass sample weights");
    return -1;
  }
  if (get_buffer(wo, v, 0, "weights", "fd", "float32 or float64") != 0)
    return -1;
  if (v->len / v->itemsize != n) {
    length_error("weights", v->len / v->itemsize, "labels", n);
    PyBuffer_Release(v);
    return -1;
  }
  return 1;
}

/* Where a batch's float32 weights come from: the caller's float32 array in
 * place, or its float64 array converted into `scratch` (room for a batch). */
typedef struct {
  const void *buf; /* NULL: unweighted */
  int f64;
  float *scratch;
} weights_src;

static weights_src weights_of(const Py_buffer *v, int have) {
  weights_src w = {NULL, 0, NULL};
  if (have) {
    w.buf = v->buf;
    w.f64 = buffer_type(v) == 'd';
  }
  return w;
}

/* The float32 weights of rows [base, base + m). A float64 value that is
 * NaN, negative or beyond the float32 range (infinite once converted) is
 * CLM_ERR_BAD_WEIGHT naming its index and the value as stored. */
static clm_status weights_at(const weights_src *w, uint64_t base, uint64_t m,
                             const float **out, clm_error *err) {
  if (!w->buf) {
    *out = NULL;
    return CLM_OK;
  }
  if (!w->f64) {
    *out = (const float *)w->buf + base;
    return CLM_OK;
  }
  const double *in = (const double *)w->buf + base;
  for (uint64_t i = 0; i < m; ++i) {
    const double x = in[i];
    if (!(x >= 0.0 && x <= FLT_MAX)) {
      err->status = CLM_ERR_BAD_WEIGHT;
      err->index = (int64_t)(base + i);
      err->value = x;
      err->input = CLM_INPUT_WEIGHTS;
      snprintf(err->message, sizeof err->message,
               "sample_weight at index %llu is %g: sample weights must be "
               "finite, >= 0 and within the float32 range",
               (unsigned long long)(base + i), x);
      return CLM_ERR_BAD_WEIGHT;
    }
    w->scratch[i] = (float)x;
  }
  *out = w->scratch;
  return CLM_OK;
}

static void BinaryState_dealloc(BinaryStateObject *self) {
  clm_binary_state_release(&self->st);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* update(labels, scores, features=None, grad_out=None) */
static PyObject *BinaryState_update(BinaryStateObject *self, PyObject *args,
                                    PyObject *kw) {
  static char *kwlist[] = {"labels",   "scores",  "features",
                           "grad_out", "weights", NULL};
  PyObject *lo, *so, *fo = Py_None, *go = Py_None, *wo = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OOO", kwlist, &lo, &so, &fo,
                                   &go, &wo))
    return NULL;
  if (self->busy) {
    busy_error();
    return NULL;
  }
  clm_context *ctx = get_context(NULL);
  if (!ctx)
    return NULL;
  Py_buffer lv, sv, fv, gv, wv;
  int have_f = 0, have_g = 0, have_w = 0;
  if (get_buffer(lo, &lv, 0, "labels", "B", "bool or uint8") != 0)
    return NULL;
  if (get_buffer(so, &sv, 0, "scores", "fd", "float32 or float64") != 0) {
    PyBuffer_Release(&lv);
    return NULL;
  }
  PyObject *result = NULL;
  const Py_ssize_t n = rows_of(&lv);
  const uint64_t nf = self->st.n_features;
  if (lv.len != n || sv.len / sv.itemsize != n) {
    length_error("labels", lv.len, "scores", sv.len / sv.itemsize);
    goto done;
  }
  if (fo != Py_None) {
    if (get_buffer(fo, &fv, 0, "features", "f", "float32") != 0)
      goto done;
    have_f = 1;
    if (rows_of(&fv) != n || (uint64_t)cols_of(&fv) != nf || fv.ndim != 2) {
      PyErr_Format(PyExc_ValueError,
                   "features must have shape (%zd, %llu), one row per sample "
                   "and the state's n_features columns",
                   n, (unsigned long long)nf);
      goto done;
    }
  } else if (nf) {
    PyErr_SetString(PyExc_ValueError,
                    "this state was created with n_features > 0: pass "
                    "features");
    goto done;
  }
  if (go != Py_None) {
    if (get_buffer(go, &gv, 1, "grad_out", "f", "float32") != 0)
      goto done;
    have_g = 1;
    if (gv.len / 4 != n) {
      length_error("grad_out", gv.len / 4, "labels", n);
      goto done;
    }
  }
  have_w = get_weights(wo, &wv, n, self->st.weighted);
  if (have_w < 0) {
    have_w = 0;
    goto done;
  }
  g_last_labels = (uintptr_t)lv.buf;
  g_last_scores = (uintptr_t)sv.buf;
  g_last_weights = have_w ? (uintptr_t)wv.buf : 0;
  if (n == 0) {
    result = Py_NewRef(Py_None);
    goto done;
  }
  clm_binary_state tmp;
  clm_binary_options opts;
  binary_options_of(&self->st, &opts);
  clm_status st = clm_binary_state_init_ex(&tmp, &opts);
  if (st != CLM_OK) {
    raise_status(st, NULL);
    goto done;
  }
  clm_error err;
  memset(&err, 0, sizeof err);
  const uint8_t *labels = lv.buf;
  const float *features = have_f ? fv.buf : NULL;
  float *grad = have_g ? gv.buf : NULL;
  weights_src ws = weights_of(&wv, have_w);
  const int f64 = buffer_type(&sv) == 'd';
  self->busy = 1;
  Py_BEGIN_ALLOW_THREADS
      /* float32 inputs go in one call; float64 scores or weights are
         converted batch by batch. */
      const uint64_t batch =
          (f64 || ws.f64) && (uint64_t)n > CONVERT_BATCH ? CONVERT_BATCH
                                                         : (uint64_t)n;
  float *conv = f64 ? malloc(sizeof(float) * (size_t)batch) : NULL;
  ws.scratch = ws.f64 ? malloc(sizeof(float) * (size_t)batch) : NULL;
  if ((f64 && !conv) || (ws.f64 && !ws.scratch))
    st = CLM_ERR_OUT_OF_MEMORY;
  for (uint64_t base = 0; st == CLM_OK && base < (uint64_t)n; base += batch) {
    uint64_t m = (uint64_t)n - base;
    if (m > batch)
      m = batch;
    const float *scores = (const float *)sv.buf + base;
    if (f64) {
      st = clm_binary_scores_from_f64_at((const double *)sv.buf + base, m, base,
                                         tmp.kind, tmp.threshold, conv, &err);
      scores = conv;
    }
    const float *weights = NULL;
    if (st == CLM_OK)
      st = weights_at(&ws, base, m, &weights, &err);
    if (st == CLM_OK)
      st = clm_binary_update_weighted(ctx, &tmp, base, labels + base, scores,
                                      weights, m,
                                      features ? features + base * nf : NULL,
                                      grad ? grad + base : NULL, &err);
  }
  free(conv);
  free(ws.scratch);
  Py_END_ALLOW_THREADS self->busy = 0;
  if (st == CLM_OK)
    st = clm_binary_merge(&self->st, &tmp);
  clm_binary_state_release(&tmp);
  if (st != CLM_OK) {
    raise_status(st, &err);
    goto done;
  }
  result = Py_NewRef(Py_None);
done:
  PyBuffer_Release(&lv);
  PyBuffer_Release(&sv);
  if (have_f)
    PyBuffer_Release(&fv);
  if (have_g)
    PyBuffer_Release(&gv);
  if (have_w)
    PyBuffer_Release(&wv);
  return result;
}

static PyObject *BinaryState_merge(BinaryStateObject *self, PyObject *other);

static PyObject *BinaryState_finalize(BinaryStateObject *self, PyObject *args) {
  int zd = CLM_ZERO_DIVISION_ZERO;
  if (!PyArg_ParseTuple(args, "|i", &zd))
    return NULL;
  if (zd < 0 || zd > 2) {
    PyErr_SetString(PyExc_ValueError, "zero_division must be 0, 1 or 2 (nan)");
    return NULL;
  }
  const uint64_t nf = self->st.n_features;
  double *wg = NULL;
  if (nf) {
    wg = calloc(nf, sizeof(double));
    if (!wg)
      return PyErr_NoMemory();
  }
  clm_binary_result r;
  clm_status st = clm_binary_finalize(&self->st, (clm_zero_division)zd, &r, wg);
  if (st != CLM_OK) {
    free(wg);
    clm_error err;
    memset(&err, 0, sizeof err);
    if (st == CLM_ERR_EMPTY)
      snprintf(err.message, sizeof err.message,
               "no samples: update the state before computing metrics");
    return raise_status(st, &err);
  }
  PyObject *undef = undefined_list(r.undefined);
  PyObject *wgl = NULL;
  if (nf) {
    wgl = PyList_New((Py_ssize_t)nf);
    for (uint64_t j = 0; wgl && j < nf; ++j) {
      PyObject *v = PyFloat_FromDouble(wg[j]);
      if (!v) {
        Py_CLEAR(wgl);
        break;
      }
      PyList_SET_ITEM(wgl, (Py_ssize_t)j, v);
    }
  } else {
    wgl = Py_NewRef(Py_None);
  }
  free(wg);
  if (!undef || !wgl) {
    Py_XDECREF(undef);
    Py_XDECREF(wgl);
    return NULL;
  }
  return Py_BuildValue(
      "{s:K,s:K,s:K,s:K,s:K,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:N,"
      "s:N,s:O,s:d,s:d,s:d,s:d,s:d,s:d}",
      "n", (unsigned long long)r.n, "tp", (unsigned long long)r.tp, "fp",
      (unsigned long long)r.fp, "tn", (unsigned long long)r.tn, "fn",
      (unsigned long long)r.fn, "threshold", r.threshold, "accuracy",
      r.accuracy, "precision", r.precision, "recall", r.recall, "f1", r.f1,
      "specificity", r.specificity, "balanced_accuracy", r.balanced_accuracy,
      "mcc", r.mcc, "bce_mean", r.bce_mean, "bce_sum", r.bce_sum, "grad_bias",
      r.grad_bias, "undefined", undef, "weight_grad", wgl, "weighted",
      r.weighted ? Py_True : Py_False, "pos_weight", r.pos_weight, "weight_sum",
      r.weight_sum, "w_tp", r.w_tp, "w_fp", r.w_fp, "w_tn", r.w_tn, "w_fn",
      r.w_fn);
}

/* The state as plain values (for pickling and inspection). */
static PyObject *BinaryState_getstate(BinaryStateObject *self,
                                      PyObject *Py_UNUSED(ignored)) {
  const clm_binary_state *s = &self->st;
  PyObject *wg = PyList_New((Py_ssize_t)s->n_features);
  for (uint64_t j = 0; wg && j < s->n_features; ++j) {
    PyObject *v = PyFloat_FromDouble(s->weight_grad_sum[j]);
    if (!v) {
      Py_CLEAR(wg);
      break;
    }
    PyList_SET_ITEM(wg, (Py_ssize_t)j, v);
  }
  if (!wg)
    return NULL;
  return Py_BuildValue(
      "{s:i,s:d,s:K,s:K,s:K,s:K,s:K,s:d,s:d,s:K,s:N,s:d,s:O,s:d,s:d,s:d,s:d,"
      "s:d}",
      "kind", (int)s->kind, "threshold", s->threshold, "n",
      (unsigned long long)s->n, "tp", (unsigned long long)s->tp, "fp",
      (unsigned long long)s->fp, "tn", (unsigned long long)s->tn, "fn",
      (unsigned long long)s->fn, "bce_sum", s->bce_sum, "grad_sum", s->grad_sum,
      "n_features", (unsigned long long)s->n_features, "weight_grad_sum", wg,
      "pos_weight", s->pos_weight, "weighted", s->weighted ? Py_True : Py_False,
      "w_sum", s->w_sum, "w_tp", s->w_tp, "w_fp", s->w_fp, "w_tn", s->w_tn,
      "w_fn", s->w_fn);
}

static int dict_u64(PyObject *d, const char *key, uint64_t *out) {
  PyObject *v = PyDict_GetItemString(d, key);
  if (!v) {
    PyErr_Format(PyExc_ValueError, "state has no '%s'", key);
    return -1;
  }
  unsigned long long x = PyLong_AsUnsignedLongLong(v);
  if (PyErr_Occurred())
    return -1;
  *out = x;
  return 0;
}

static int dict_f64(PyObject *d, const char *key, double *out) {
  PyObject *v = PyDict_GetItemString(d, key);
  if (!v) {
    PyErr_Format(PyExc_ValueError, "state has no '%s'", key);
    return -1;
  }
  double x = PyFloat_AsDouble(v);
  if (PyErr_Occurred())
    return -1;
  *out = x;
  return 0;
}

static PyObject *BinaryState_setstate(BinaryStateObject *self, PyObject *d) {
  if (!PyDict_Check(d)) {
    PyErr_SetString(PyExc_TypeError, "state must be a dict");
    return NULL;
  }
  if (self->busy) {
    busy_error();
    return NULL;
  }
  uint64_t kind, n, tp, fp, tn, fn, nf;
  double thr, bce, grad;
  if (dict_u64(d, "kind", &kind) || dict_f64(d, "threshold", &thr) ||
      dict_u64(d, "n", &n) || dict_u64(d, "tp", &tp) ||
      dict_u64(d, "fp", &fp) || dict_u64(d, "tn", &tn) ||
      dict_u64(d, "fn", &fn) || dict_f64(d, "bce_sum", &bce) ||
      dict_f64(d, "grad_sum", &grad) || dict_u64(d, "n_features", &nf))
    return NULL;
  if (parse_kind((int)kind) != 0)
    return NULL;
  if (tp + fp + tn + fn != n) {
    PyErr_SetString(PyExc_ValueError, "state counts do not add up to n");
    return NULL;
  }
  PyObject *wg = PyDict_GetItemString(d, "weight_grad_sum");
  if (!wg || !PyList_Check(wg) || (uint64_t)PyList_GET_SIZE(wg) != nf) {
    PyErr_SetString(PyExc_ValueError,
                    "state's weight_grad_sum must be a list of n_features "
                    "floats");
    return NULL;
  }
  /* Options and weighted sums (absent in states pickled before them). */
  double pos_weight = 1.0, w_sum = 0, w_tp = 0, w_fp = 0, w_tn = 0, w_fn = 0;
  int weighted = 0;
  if (PyDict_GetItemString(d, "pos_weight")) {
    PyObject *wd = PyDict_GetItemString(d, "weighted");
    if (!wd || dict_f64(d, "pos_weight", &pos_weight) ||
        dict_f64(d, "w_sum", &w_sum) || dict_f64(d, "w_tp", &w_tp) ||
        dict_f64(d, "w_fp", &w_fp) || dict_f64(d, "w_tn", &w_tn) ||
        dict_f64(d, "w_fn", &w_fn)) {
      if (!PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "state has no 'weighted'");
      return NULL;
    }
    weighted = PyObject_IsTrue(wd) == 1;
  }
  clm_binary_options o;
  clm_binary_options_init(&o);
  o.kind = (clm_scores_kind)kind;
  o.threshold = thr;
  o.n_features = nf;
  o.pos_weight = pos_weight;
  o.weighted = weighted;
  clm_binary_state s;
  clm_status st = clm_binary_state_init_ex(&s, &o);
  if (st != CLM_OK)
    return raise_status(st, NULL);
  s.w_sum = w_sum;
  s.w_tp = w_tp;
  s.w_fp = w_fp;
  s.w_tn = w_tn;
  s.w_fn = w_fn;
  for (uint64_t j = 0; j < nf; ++j) {
    s.weight_grad_sum[j] = PyFloat_AsDouble(PyList_GET_ITEM(wg, j));
    if (PyErr_Occurred()) {
      clm_binary_state_release(&s);
      return NULL;
    }
  }
  s.n = n;
  s.tp = tp;
  s.fp = fp;
  s.tn = tn;
  s.fn = fn;
  s.bce_sum = bce;
  s.grad_sum = grad;
  clm_binary_state_release(&self->st);
  self->st = s;
  Py_RETURN_NONE;
}

/* Pickles through the library's saved-state bytes (versioned,
 * checksummed, little-endian): state_from_bytes(bytes) rebuilds it. */
static PyObject *BinaryState_to_bytes(BinaryStateObject *self,
                                      PyObject *Py_UNUSED(ignored)) {
  if (self->busy) {
    busy_error();
    return NULL;
  }
  return state_bytes(
      clm_binary_state_save(&self->st, &g_save_buf, &g_save_len, &g_save_err));
}

static PyObject *BinaryState_reduce(BinaryStateObject *self,
                                    PyObject *Py_UNUSED(ignored)) {
  PyObject *b = BinaryState_to_bytes(self, NULL);
  return b ? reduce_from_bytes(b) : NULL;
}

static PyMethodDef BinaryState_methods[] = {
    {"update", (PyCFunction)(void (*)(void))BinaryState_update,
     METH_VARARGS | METH_KEYWORDS,
     "update(labels, scores, features=None, grad_out=None, weights=None): "
     "evaluate a batch on the device and add it (labels: bool/uint8; scores: "
     "float32/float64; features: float32 N x D; grad_out: writable float32 "
     "of length N; weights: float32 of length N, required by weighted "
     "states and read in place)."},
    {"merge", (PyCFunction)BinaryState_merge, METH_O,
     "merge(other): add another state (same kind, threshold, n_features)."},
    {"finalize", (PyCFunction)BinaryState_finalize, METH_VARARGS,
     "finalize(zero_division=0): metrics as a dict (zero_division: 0, 1, "
     "2 = nan)."},
    {"getstate", (PyCFunction)BinaryState_getstate, METH_NOARGS,
     "The state as a dict of plain counts and sums."},
    {"__getstate__", (PyCFunction)BinaryState_getstate, METH_NOARGS, NULL},
    {"__setstate__", (PyCFunction)BinaryState_setstate, METH_O, NULL},
    {"__reduce__", (PyCFunction)BinaryState_reduce, METH_NOARGS, NULL},
    {"to_bytes", (PyCFunction)BinaryState_to_bytes, METH_NOARGS,
     "The state as the library's saved-state bytes (clm_binary_state_save); "
     "state_from_bytes() loads them."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject BinaryStateType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "clmetrics._core.BinaryState",
    .tp_basicsize = sizeof(BinaryStateObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "BinaryState(kind=0, threshold=0.5, n_features=0, "
              "pos_weight=1.0, weighted=False): the library's mergeable "
              "binary accumulator.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)BinaryState_init,
    .tp_dealloc = (destructor)BinaryState_dealloc,
    .tp_methods = BinaryState_methods,
};

static PyObject *BinaryState_merge(BinaryStateObject *self, PyObject *other) {
  if (!PyObject_TypeCheck(other, &BinaryStateType)) {
    PyErr_SetString(PyExc_TypeError, "merge expects a BinaryState");
    return NULL;
  }
  BinaryStateObject *o = (BinaryStateObject *)other;
  if (self->busy || o->busy) {
    busy_error();
    return NULL;
  }
  clm_status st = clm_binary_merge(&self->st, &o->st);
  if (st != CLM_OK) {
    clm_error err;
    memset(&err, 0, sizeof err);
    snprintf(err.message, sizeof err.message,
             "cannot merge binary states with different scores kind, "
             "threshold, n_features, pos_weight or weighting");
    return raise_status(st, &err);
  }
  Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* MulticlassState                                                     */
/* ------------------------------------------------------------------ */

typedef struct {
  PyObject_HEAD clm_multiclass_state st;
  int busy;
} MulticlassStateObject;

static int MulticlassState_init(MulticlassStateObject *self, PyObject *args,
                                PyObject *kw) {
  static char *kwlist[] = {
      "n_classes",    "top_k",           "weighted", "class_weight",
      "ignore_index", "label_smoothing", NULL};
  unsigned long long k = 0, top_k = 0;
  int weighted = 0;
  PyObject *cwo = Py_None, *igo = Py_None;
  double smoothing = 0.0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "K|KpOOd", kwlist, &k, &top_k,
                                   &weighted, &cwo, &igo, &smoothing))
    return -1;
  if (k < 2 || k > 0x7fffffffULL) {
    PyErr_Format(PyExc_ValueError,
                 "n_classes must be in [2, 2^31 - 1], got %llu", k);
    return -1;
  }
  if (top_k > k) {
    PyErr_Format(PyExc_ValueError,
                 "top_k must be at most n_classes (%llu), got %llu", k, top_k);
    return -1;
  }
  if (self->busy)
    return busy_error();
  clm_multiclass_options o;
  clm_multiclass_options_init(&o);
  o.n_classes = (uint32_t)k;
  o.top_k = (uint32_t)top_k;
  o.weighted = weighted;
  o.label_smoothing = smoothing;
  if (!(smoothing >= 0.0 && smoothing <= 1.0)) {
    PyErr_Format(PyExc_ValueError, "label_smoothing must lie in [0, 1], got %g",
                 smoothing);
    return -1;
  }
  if (igo != Py_None) {
    long v = PyLong_AsLong(igo);
    if (PyErr_Occurred())
      return -1;
    if (v < INT32_MIN || v > INT32_MAX) {
      PyErr_SetString(PyExc_ValueError, "ignore_index must fit in int32");
      return -1;
    }
    o.has_ignore_index = 1;
    o.ignore_index = (int32_t)v;
  }
  double *cw = NULL;
  if (cwo != Py_None) {
    PyObject *seq = PySequence_Fast(cwo, "class_weight must be a sequence");
    if (!seq)
      return -1;
    if ((unsigned long long)PySequence_Fast_GET_SIZE(seq) != k) {
      Py_DECREF(seq);
      PyErr_Format(PyExc_ValueError,
                   "class_weight must hold n_classes = %llu values", k);
      return -1;
    }
    cw = malloc(sizeof(double) * (size_t)k);
    if (!cw) {
      Py_DECREF(seq);
      PyErr_NoMemory();
      return -1;
    }
    for (unsigned long long c = 0; c < k; ++c) {
      cw[c] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, (Py_ssize_t)c));
      if (PyErr_Occurred()) {
        Py_DECREF(seq);
        free(cw);
        return -1;
      }
    }
    Py_DECREF(seq);
    o.class_weight = cw;
  }
  clm_multiclass_state s;
  clm_status st = clm_multiclass_state_init_ex(&s, &o);
  free(cw);
  if (st != CLM_OK) {
    clm_error err;
    memset(&err, 0, sizeof err);
    if (st == CLM_ERR_BAD_WEIGHT)
      snprintf(err.message, sizeof err.message,
               "class_weight must hold finite values >= 0");
    else
      snprintf(err.message, sizeof err.message,
               "cannot hold a %llu x %llu confusion matrix", k, k);
    raise_status(st, &err);
    return -1;
  }
  clm_multiclass_state_release(&self->st);
  self->st = s;
  return 0;
}

/* The options a multi-class state was created with (class_weight points
 * into the state). */
static void multiclass_options_of(const clm_multiclass_state *s,
                                  clm_multiclass_options *o) {
  clm_multiclass_options_init(o);
  o->n_classes = s->n_classes;
  o->top_k = s->top_k;
  o->weighted = s->weighted;
  o->class_weight = s->class_weight;
  o->has_ignore_index = s->has_ignore_index;
  o->ignore_index = s->ignore_index;
  o->label_smoothing = s->label_smoothing;
}

static void MulticlassState_dealloc(MulticlassStateObject *self) {
  clm_multiclass_state_release(&self->st);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* update_labels(y_true, y_pred, weights=None): int32 arrays of one
 * length, float32 weights. */
static PyObject *MulticlassState_update_labels(MulticlassStateObject *self,
                                               PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"y_true", "y_pred", "weights", NULL};
  PyObject *to, *po, *wo = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O", kwlist, &to, &po, &wo))
    return NULL;
  if (self->busy) {
    busy_error();
    return NULL;
  }
  clm_context *ctx = get_context(NULL);
  if (!ctx)
    return NULL;
  Py_buffer tv, pv;
  if (get_buffer(to, &tv, 0, "y_true", "i", "int32") != 0)
    return NULL;
  if (get_buffer(po, &pv, 0, "y_pred", "i", "int32") != 0) {
    PyBuffer_Release(&tv);
    return NULL;
  }
  PyObject *result = NULL;
  Py_buffer wv;
  int have_w = 0;
  const Py_ssize_t n = tv.len / 4;
  if (pv.len / 4 != n) {
    length_error("y_true", n, "y_pred", pv.len / 4);
    goto done;
  }
  have_w = get_weights(wo, &wv, n, self->st.weighted);
  if (have_w < 0) {
    have_w = 0;
    goto done;
  }
  g_last_labels = (uintptr_t)tv.buf;
  g_last_scores = (uintptr_t)pv.buf;
  g_last_weights = have_w ? (uintptr_t)wv.buf : 0;
  if (n > 0) {
    clm_error err;
    memset(&err, 0, sizeof err);
    clm_status st;
    weights_src ws = weights_of(&wv, have_w);
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS if (!ws.f64) {
      const float *weights = NULL;
      st = weights_at(&ws, 0, (uint64_t)n, &weights, &err);
      if (st == CLM_OK)
        st = clm_multiclass_update_labels_weighted(
            ctx, &self->st, 0, tv.buf, pv.buf, weights, (uint64_t)n, &err);
    }
    else {
      /* float64 weights, converted batch by batch into a scratch state, so
         that an error leaves this state unchanged. */
      const uint64_t batch =
          (uint64_t)n > CONVERT_BATCH ? CONVERT_BATCH : (uint64_t)n;
      clm_multiclass_options opts;
      multiclass_options_of(&self->st, &opts);
      clm_multiclass_state tmp;
      st = clm_multiclass_state_init_ex(&tmp, &opts);
      ws.scratch = malloc(sizeof(float) * (size_t)batch);
      if (st == CLM_OK && !ws.scratch)
        st = CLM_ERR_OUT_OF_MEMORY;
      const int32_t *t = tv.buf, *pr = pv.buf;
      for (uint64_t base = 0; st == CLM_OK && base < (uint64_t)n;
           base += batch) {
        uint64_t m = (uint64_t)n - base;
        if (m > batch)
          m = batch;
        const float *weights = NULL;
        st = weights_at(&ws, base, m, &weights, &err);
        if (st == CLM_OK)
          st = clm_multiclass_update_labels_weighted(
              ctx, &tmp, base, t + base, pr + base, weights, m, &err);
      }
      if (st == CLM_OK)
        st = clm_multiclass_merge(&self->st, &tmp);
      clm_multiclass_state_release(&tmp);
      free(ws.scratch);
    }
    Py_END_ALLOW_THREADS self->busy = 0;
    if (st != CLM_OK) {
      raise_status(st, &err);
      goto done;
    }
  }
  result = Py_NewRef(Py_None);
done:
  PyBuffer_Release(&tv);
  PyBuffer_Release(&pv);
  if (have_w)
    PyBuffer_Release(&wv);
  return result;
}

/* update_scores(y_true, scores, kind=0, pred_out=None): scores N x K
 * float32 or float64. */
static PyObject *MulticlassState_update_scores(MulticlassStateObject *self,
                                               PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"y_true",   "scores",  "kind",
                           "pred_out", "weights", NULL};
  PyObject *to, *so, *po = Py_None, *wo = Py_None;
  int kind = CLM_SCORES_LOGITS;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|iOO", kwlist, &to, &so, &kind,
                                   &po, &wo))
    return NULL;
  if (parse_kind(kind) != 0)
    return NULL;
  if (self->busy) {
    busy_error();
    return NULL;
  }
  clm_context *ctx = get_context(NULL);
  if (!ctx)
    return NULL;
  Py_buffer tv, sv, pv, wv;
  int have_p = 0, have_w = 0;
  if (get_buffer(to, &tv, 0, "y_true", "i", "int32") != 0)
    return NULL;
  if (get_buffer(so, &sv, 0, "scores", "fd", "float32 or float64") != 0) {
    PyBuffer_Release(&tv);
    return NULL;
  }
  PyObject *result = NULL;
  const Py_ssize_t n = tv.len / 4;
  const uint32_t k = self->st.n_classes;
  if (sv.ndim != 2 || sv.shape[1] != (Py_ssize_t)k) {
    PyErr_Format(PyExc_ValueError,
                 "scores must be an N x %u matrix (one column per class)", k);
    goto done;
  }
  if (sv.shape[0] != n) {
    length_error("y_true", n, "scores", sv.shape[0]);
    goto done;
  }
  if (po != Py_None) {
    if (get_buffer(po, &pv, 1, "pred_out", "i", "int32") != 0)
      goto done;
    have_p = 1;
    if (pv.len / 4 != n) {
      length_error("pred_out", pv.len / 4, "y_true", n);
      goto done;
    }
  }
  have_w = get_weights(wo, &wv, n, self->st.weighted);
  if (have_w < 0) {
    have_w = 0;
    goto done;
  }
  g_last_labels = (uintptr_t)tv.buf;
  g_last_scores = (uintptr_t)sv.buf;
  g_last_weights = have_w ? (uintptr_t)wv.buf : 0;
  if (n == 0) {
    result = Py_NewRef(Py_None);
    goto done;
  }
  clm_multiclass_state tmp;
  clm_multiclass_options opts;
  multiclass_options_of(&self->st, &opts);
  clm_status st = clm_multiclass_state_init_ex(&tmp, &opts);
  if (st != CLM_OK) {
    raise_status(st, NULL);
    goto done;
  }
  clm_error err;
  memset(&err, 0, sizeof err);
  const int32_t *labels = tv.buf;
  int32_t *pred = have_p ? pv.buf : NULL;
  weights_src ws = weights_of(&wv, have_w);
  const int f64 = buffer_type(&sv) == 'd';
  self->busy = 1;
  Py_BEGIN_ALLOW_THREADS if (!f64 && !ws.f64) {
    const float *weights = NULL;
    st = weights_at(&ws, 0, (uint64_t)n, &weights, &err);
    if (st == CLM_OK)
      st = clm_multiclass_update_scores_weighted(
          ctx, &tmp, 0, labels, sv.buf, weights, (uint64_t)n,
          (clm_scores_kind)kind, pred, &err);
  }
  else {
    /* float64 scores or weights: converted batch by batch. */
    uint64_t rows = CONVERT_BATCH / k;
    if (rows == 0)
      rows = 1;
    if (rows > (uint64_t)n)
      rows = (uint64_t)n;
    float *conv = f64 ? malloc(sizeof(float) * (size_t)(rows * k)) : NULL;
    ws.scratch = ws.f64 ? malloc(sizeof(float) * (size_t)rows) : NULL;
    if ((f64 && !conv) || (ws.f64 && !ws.scratch))
      st = CLM_ERR_OUT_OF_MEMORY;
    for (uint64_t base = 0; st == CLM_OK && base < (uint64_t)n; base += rows) {
      uint64_t m = (uint64_t)n - base;
      if (m > rows)
        m = rows;
      const float *scores = (const float *)sv.buf + base * k;
      if (f64) {
        st = clm_multiclass_scores_from_f64_at(
            (const double *)sv.buf + base * k, m, base, k,
            (clm_scores_kind)kind, conv, &err);
        scores = conv;
      }
      const float *weights = NULL;
      if (st == CLM_OK)
        st = weights_at(&ws, base, m, &weights, &err);
      if (st == CLM_OK)
        st = clm_multiclass_update_scores_weighted(
            ctx, &tmp, base, labels + base, scores, weights, m,
            (clm_scores_kind)kind, pred ? pred + base : NULL, &err);
    }
    free(conv);
    free(ws.scratch);
  }
  Py_END_ALLOW_THREADS self->busy = 0;
  if (st == CLM_OK) {
    st = clm_multiclass_merge(&self->st, &tmp);
    if (st != CLM_OK)
      snprintf(err.message, sizeof err.message,
               "cannot add %s scores to a state that holds %s scores",
               kind == CLM_SCORES_LOGITS ? "logit" : "probability",
               kind == CLM_SCORES_LOGITS ? "probability" : "logit");
  }
  clm_multiclass_state_release(&tmp);
  if (st != CLM_OK) {
    raise_status(st, &err);
    goto done;
  }
  result = Py_NewRef(Py_None);
done:
  PyBuffer_Release(&tv);
  PyBuffer_Release(&sv);
  if (have_p)
    PyBuffer_Release(&pv);
  if (have_w)
    PyBuffer_Release(&wv);
  return result;
}

/* The K x K float64 matrix of weight sums as bytes (weighted states). */
static PyObject *MulticlassState_w_confusion(MulticlassStateObject *self,
                                             PyObject *Py_UNUSED(ignored)) {
  if (!self->st.weighted || !self->st.w_confusion) {
    PyErr_SetString(PyExc_ValueError, "this state is unweighted");
    return NULL;
  }
  const uint64_t k = self->st.n_classes;
  return PyBytes_FromStringAndSize((const char *)self->st.w_confusion,
                                   (Py_ssize_t)(k * k * sizeof(double)));
}

/* The K x K uint64 matrix as bytes (row-major, native order). */
static PyObject *MulticlassState_confusion(MulticlassStateObject *self,
                                           PyObject *Py_UNUSED(ignored)) {
  const uint64_t k = self->st.n_classes;
  return PyBytes_FromStringAndSize((const char *)self->st.confusion,
                                   (Py_ssize_t)(k * k * sizeof(uint64_t)));
}

static PyObject *avg_dict(const clm_average_metrics *a) {
  return Py_BuildValue("{s:d,s:d,s:d}", "precision", a->precision, "recall",
                       a->recall, "f1", a->f1);
}

static PyObject *MulticlassState_finalize(MulticlassStateObject *self,
                                          PyObject *args) {
  int zd = CLM_ZERO_DIVISION_ZERO;
  if (!PyArg_ParseTuple(args, "|i", &zd))
    return NULL;
  if (zd < 0 || zd > 2) {
    PyErr_SetString(PyExc_ValueError, "zero_division must be 0, 1 or 2 (nan)");
    return NULL;
  }
  clm_multiclass_result r;
  clm_status st = clm_multiclass_finalize(&self->st, (clm_zero_division)zd, &r);
  if (st != CLM_OK) {
    clm_error err;
    memset(&err, 0, sizeof err);
    if (st == CLM_ERR_EMPTY)
      snprintf(err.message, sizeof err.message,
               "no samples: update the state before computing metrics");
    return raise_status(st, &err);
  }
  PyObject *per = PyList_New(r.n_classes);
  for (uint32_t c = 0; per && c < r.n_classes; ++c) {
    const clm_class_metrics *m = &r.per_class[c];
    PyObject *d = Py_BuildValue(
        "{s:I,s:d,s:d,s:d,s:K,s:K,s:N,s:d,s:d}", "label", c, "precision",
        m->precision, "recall", m->recall, "f1", m->f1, "support",
        (unsigned long long)m->support, "predicted",
        (unsigned long long)m->predicted, "undefined",
        undefined_list(m->undefined), "support_weight", m->support_weight,
        "predicted_weight", m->predicted_weight);
    if (!d) {
      Py_CLEAR(per);
      break;
    }
    PyList_SET_ITEM(per, c, d);
  }
  PyObject *out = NULL;
  if (per)
    out = Py_BuildValue(
        "{s:I,s:K,s:N,s:d,s:d,s:d,s:d,s:N,s:N,s:N,s:O,s:d,s:I,s:d,s:N,s:O,s:d,"
        "s:K,s:d,s:d}",
        "n_classes", r.n_classes, "n", (unsigned long long)r.n, "per_class",
        per, "accuracy", r.accuracy, "balanced_accuracy", r.balanced_accuracy,
        "mcc", r.mcc, "cohen_kappa", r.cohen_kappa, "macro", avg_dict(&r.macro),
        "micro", avg_dict(&r.micro), "weighted", avg_dict(&r.weighted),
        "has_loss", r.has_loss ? Py_True : Py_False, "cross_entropy_mean",
        r.cross_entropy_mean, "top_k", r.top_k, "top_k_accuracy",
        r.top_k_accuracy, "undefined", undefined_list(r.undefined),
        "sample_weighted", r.sample_weighted ? Py_True : Py_False, "weight_sum",
        r.weight_sum, "n_ignored", (unsigned long long)r.n_ignored,
        "cross_entropy_sum", r.cross_entropy_sum, "cross_entropy_norm",
        r.cross_entropy_norm);
  clm_multiclass_result_release(&r);
  return out;
}

static PyObject *MulticlassState_getstate(MulticlassStateObject *self,
                                          PyObject *Py_UNUSED(ignored)) {
  const clm_multiclass_state *s = &self->st;
  PyObject *conf = MulticlassState_confusion(self, NULL);
  if (!conf)
    return NULL;
  PyObject *wconf, *cw;
  if (s->weighted && s->w_confusion)
    wconf = MulticlassState_w_confusion(self, NULL);
  else
    wconf = Py_NewRef(Py_None);
  if (s->class_weight) {
    cw = PyList_New(s->n_classes);
    for (uint32_t c = 0; cw && c < s->n_classes; ++c) {
      PyObject *v = PyFloat_FromDouble(s->class_weight[c]);
      if (!v) {
        Py_CLEAR(cw);
        break;
      }
      PyList_SET_ITEM(cw, c, v);
    }
  } else {
    cw = Py_NewRef(Py_None);
  }
  if (!wconf || !cw) {
    Py_DECREF(conf);
    Py_XDECREF(wconf);
    Py_XDECREF(cw);
    return NULL;
  }
  return Py_BuildValue(
      "{s:I,s:K,s:N,s:O,s:i,s:K,s:d,s:I,s:K,s:O,s:N,s:d,s:d,s:N,s:O,s:i,s:d,"
      "s:K,s:d,s:d,s:d}",
      "n_classes", s->n_classes, "n", (unsigned long long)s->n, "confusion",
      conf, "has_scores", s->has_scores ? Py_True : Py_False, "kind",
      (int)s->kind, "n_scored", (unsigned long long)s->n_scored, "ce_sum",
      s->ce_sum, "top_k", s->top_k, "top_k_hits",
      (unsigned long long)s->top_k_hits, "weighted",
      s->weighted ? Py_True : Py_False, "w_confusion", wconf, "w_sum", s->w_sum,
      "w_top_k_hits", s->w_top_k_hits, "class_weight", cw, "has_ignore_index",
      s->has_ignore_index ? Py_True : Py_False, "ignore_index",
      (int)s->ignore_index, "label_smoothing", s->label_smoothing, "n_ignored",
      (unsigned long long)s->n_ignored, "w_ignored", s->w_ignored, "ce_norm",
      s->ce_norm, "w_scored", s->w_scored);
}

static PyObject *MulticlassState_setstate(MulticlassStateObject *self,
                                          PyObject *d) {
  if (!PyDict_Check(d)) {
    PyErr_SetString(PyExc_TypeError, "state must be a dict");
    return NULL;
  }
  if (self->busy) {
    busy_error();
    return NULL;
  }
  uint64_t k, n, kind, n_scored, top_k, hits;
  double ce;
  if (dict_u64(d, "n_classes", &k) || dict_u64(d, "n", &n) ||
      dict_u64(d, "kind", &kind) || dict_u64(d, "n_scored", &n_scored) ||
      dict_f64(d, "ce_sum", &ce) || dict_u64(d, "top_k", &top_k) ||
      dict_u64(d, "top_k_hits", &hits))
    return NULL;
  PyObject *conf = PyDict_GetItemString(d, "confusion");
  PyObject *hs = PyDict_GetItemString(d, "has_scores");
  if (!conf || !PyBytes_Check(conf) || k < 2 || k > 0x7fffffffULL ||
      (uint64_t)PyBytes_GET_SIZE(conf) != k * k * sizeof(uint64_t) || !hs) {
    PyErr_SetString(PyExc_ValueError,
                    "state's confusion must be K*K uint64 values as bytes");
    return NULL;
  }
  if (parse_kind((int)kind) != 0)
    return NULL;
  /* Options and weighted sums (absent in states pickled before them: an
   * unweighted state without options). */
  clm_multiclass_options o;
  clm_multiclass_options_init(&o);
  o.n_classes = (uint32_t)k;
  o.top_k = (uint32_t)top_k;
  double w_sum = 0, w_hits = 0, w_ignored = 0, ce_norm = (double)n_scored,
         w_scored = 0;
  uint64_t n_ignored = 0;
  double *cw = NULL;
  PyObject *wconf = NULL;
  PyObject *wd = PyDict_GetItemString(d, "weighted");
  if (wd) {
    PyObject *hi = PyDict_GetItemString(d, "has_ignore_index");
    PyObject *iv = PyDict_GetItemString(d, "ignore_index");
    PyObject *cwo = PyDict_GetItemString(d, "class_weight");
    wconf = PyDict_GetItemString(d, "w_confusion");
    if (!hi || !iv || !cwo || !wconf || dict_f64(d, "w_sum", &w_sum) ||
        dict_f64(d, "w_top_k_hits", &w_hits) ||
        dict_f64(d, "label_smoothing", &o.label_smoothing) ||
        dict_u64(d, "n_ignored", &n_ignored) ||
        dict_f64(d, "w_ignored", &w_ignored) ||
        dict_f64(d, "ce_norm", &ce_norm) ||
        dict_f64(d, "w_scored", &w_scored)) {
      if (!PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "state's options are incomplete");
      return NULL;
    }
    o.weighted = PyObject_IsTrue(wd) == 1;
    o.has_ignore_index = PyObject_IsTrue(hi) == 1;
    long v = PyLong_AsLong(iv);
    if (PyErr_Occurred())
      return NULL;
    o.ignore_index = (int32_t)v;
    if (o.weighted &&
        (!PyBytes_Check(wconf) ||
         (uint64_t)PyBytes_GET_SIZE(wconf) != k * k * sizeof(double))) {
      PyErr_SetString(PyExc_ValueError,
                      "state's w_confusion must be K*K float64 values as "
                      "bytes");
      return NULL;
    }
    if (cwo != Py_None) {
      PyObject *seq = PySequence_Fast(cwo, "class_weight must be a list");
      if (!seq)
        return NULL;
      if ((uint64_t)PySequence_Fast_GET_SIZE(seq) != k) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError,
                        "state's class_weight must hold K values");
        return NULL;
      }
      cw = malloc(sizeof(double) * (size_t)k);
      if (!cw) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
      }
      for (uint64_t c = 0; c < k; ++c)
        cw[c] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, (Py_ssize_t)c));
      Py_DECREF(seq);
      if (PyErr_Occurred()) {
        free(cw);
        return NULL;
      }
      o.class_weight = cw;
    }
  }
  clm_multiclass_state s;
  clm_status st = clm_multiclass_state_init_ex(&s, &o);
  free(cw);
  if (st != CLM_OK)
    return raise_status(st, NULL);
  memcpy(s.confusion, PyBytes_AS_STRING(conf), (size_t)(k * k * 8));
  if (o.weighted)
    memcpy(s.w_confusion, PyBytes_AS_STRING(wconf),
           (size_t)(k * k * sizeof(double)));
  s.w_sum = w_sum;
  s.w_top_k_hits = w_hits;
  s.n_ignored = n_ignored;
  s.w_ignored = w_ignored;
  s.ce_norm = ce_norm;
  s.w_scored = w_scored;
  uint64_t total = 0;
  for (uint64_t c = 0; c < k * k; ++c)
    total += s.confusion[c];
  if (total != n) {
    clm_multiclass_state_release(&s);
    PyErr_SetString(PyExc_ValueError, "state's matrix does not add up to n");
    return NULL;
  }
  s.n = n;
  s.has_scores = PyObject_IsTrue(hs) == 1;
  s.kind = (clm_scores_kind)kind;
  s.n_scored = n_scored;
  s.ce_sum = ce;
  s.top_k_hits = hits;
  clm_multiclass_state_release(&self->st);
  self->st = s;
  Py_RETURN_NONE;
}

/* Pickles through the library's saved-state bytes (versioned,
 * checksummed, little-endian): state_from_bytes(bytes) rebuilds it. */
static PyObject *MulticlassState_to_bytes(MulticlassStateObject *self,
                                          PyObject *Py_UNUSED(ignored)) {
  if (self->busy) {
    busy_error();
    return NULL;
  }
  return state_bytes(clm_multiclass_state_save(&self->st, &g_save_buf,
                                               &g_save_len, &g_save_err));
}

static PyObject *MulticlassState_reduce(MulticlassStateObject *self,
                                        PyObject *Py_UNUSED(ignored)) {
  PyObject *b = MulticlassState_to_bytes(self, NULL);
  return b ? reduce_from_bytes(b) : NULL;
}

static PyObject *MulticlassState_merge(MulticlassStateObject *self,
                                       PyObject *other);

static PyMethodDef MulticlassState_methods[] = {
    {"update_labels",
     (PyCFunction)(void (*)(void))MulticlassState_update_labels,
     METH_VARARGS | METH_KEYWORDS,
     "update_labels(y_true, y_pred, weights=None): int32 class indices in "
     "[0, K) (or the ignore_index) and float32 weights (weighted states)."},
    {"update_scores",
     (PyCFunction)(void (*)(void))MulticlassState_update_scores,
     METH_VARARGS | METH_KEYWORDS,
     "update_scores(y_true, scores, kind=0, pred_out=None, weights=None): "
     "int32 labels and an N x K float32/float64 score matrix."},
    {"w_confusion", (PyCFunction)MulticlassState_w_confusion, METH_NOARGS,
     "The K x K float64 matrix of weight sums as bytes (weighted states)."},
    {"merge", (PyCFunction)MulticlassState_merge, METH_O,
     "merge(other): add another state (same K and top_k)."},
    {"confusion", (PyCFunction)MulticlassState_confusion, METH_NOARGS,
     "The K x K uint64 matrix as bytes (rows: true class)."},
    {"finalize", (PyCFunction)MulticlassState_finalize, METH_VARARGS,
     "finalize(zero_division=0): metrics as a dict."},
    {"getstate", (PyCFunction)MulticlassState_getstate, METH_NOARGS,
     "The state as a dict of plain counts and sums."},
    {"__getstate__", (PyCFunction)MulticlassState_getstate, METH_NOARGS, NULL},
    {"__setstate__", (PyCFunction)MulticlassState_setstate, METH_O, NULL},
    {"__reduce__", (PyCFunction)MulticlassState_reduce, METH_NOARGS, NULL},
    {"to_bytes", (PyCFunction)MulticlassState_to_bytes, METH_NOARGS,
     "The state as the library's saved-state bytes "
     "(clm_multiclass_state_save); "
     "state_from_bytes() loads them."},
    {NULL, NULL, 0, NULL}};

static PyObject *MulticlassState_get_n_classes(MulticlassStateObject *self,
                                               void *Py_UNUSED(closure)) {
  return PyLong_FromUnsignedLong(self->st.n_classes);
}

static PyObject *MulticlassState_get_n(MulticlassStateObject *self,
                                       void *Py_UNUSED(closure)) {
  return PyLong_FromUnsignedLongLong(self->st.n);
}

static PyGetSetDef MulticlassState_getset[] = {
    {"n_classes", (getter)MulticlassState_get_n_classes, NULL, "K", NULL},
    {"n", (getter)MulticlassState_get_n, NULL, "samples counted", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject MulticlassStateType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "clmetrics._core.MulticlassState",
    .tp_basicsize = sizeof(MulticlassStateObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "MulticlassState(n_classes, top_k=0, weighted=False, "
              "class_weight=None, ignore_index=None, label_smoothing=0.0): "
              "the library's mergeable multi-class accumulator.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)MulticlassState_init,
    .tp_dealloc = (destructor)MulticlassState_dealloc,
    .tp_methods = MulticlassState_methods,
    .tp_getset = MulticlassState_getset,
};

static PyObject *MulticlassState_merge(MulticlassStateObject *self,
                                       PyObject *other) {
  if (!PyObject_TypeCheck(other, &MulticlassStateType)) {
    PyErr_SetString(PyExc_TypeError, "merge expects a MulticlassState");
    return NULL;
  }
  MulticlassStateObject *o = (MulticlassStateObject *)other;
  if (self->busy || o->busy) {
    busy_error();
    return NULL;
  }
  clm_status st = clm_multiclass_merge(&self->st, &o->st);
  if (st != CLM_OK) {
    clm_error err;
    memset(&err, 0, sizeof err);
    snprintf(err.message, sizeof err.message,
             "cannot merge multi-class states with different n_classes, "
             "top_k, scores kind, weighting or loss options");
    return raise_status(st, &err);
  }
  Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* CalibrationState                                                    */
/* ------------------------------------------------------------------ */

typedef struct {
  PyObject_HEAD clm_calibration_state st;
  int busy;
} CalibrationStateObject;

/* The options a calibration state was created with (edges point into the
 * state). */
static void calibration_options_of(const clm_calibration_state *s,
                                   clm_calibration_options *o) {
  clm_calibration_options_init(o);
  o->n_classes = s->n_classes;
  o->n_bins = s->n_bins;
  o->edges = s->edges;
  o->classwise = s->classwise;
  o->weighted = s->weighted;
  o->has_ignore_index = s->has_ignore_index;
  o->ignore_index = s->ignore_index;
}

/* A list of n floats as a malloc'ed array (NULL with an exception set). */
static double *float_list(PyObject *obj, Py_ssize_t *len, const char *name) {
  PyObject *seq = PySequence_Fast(obj, name);
  if (!seq)
    return NULL;
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  double *out = malloc(sizeof(double) * (size_t)(n ? n : 1));
  if (!out) {
    Py_DECREF(seq);
    PyErr_NoMemory();
    return NULL;
  }
  for (Py_ssize_t i = 0; i < n; ++i) {
    out[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, i));
    if (PyErr_Occurred()) {
      Py_DECREF(seq);
      free(out);
      return NULL;
    }
  }
  Py_DECREF(seq);
  *len = n;
  return out;
}

static PyObject *f64_list(const double *v, Py_ssize_t n) {
  PyObject *list = PyList_New(n);
  for (Py_ssize_t i = 0; list && i < n; ++i) {
    PyObject *x = PyFloat_FromDouble(v[i]);
    if (!x) {
      Py_CLEAR(list);
      break;
    }
    PyList_SET_ITEM(list, i, x);
  }
  return list;
}

static int CalibrationState_init(CalibrationStateObject *self, PyObject *args,
                                 PyObject *kw) {
  static char *kwlist[] = {"n_classes", "n_bins",       "edges", "classwise",
                           "weighted",  "ignore_index", NULL};
  unsigned int k = 1, bins = CLM_CALIBRATION_DEFAULT_BINS;
  int classwise = 1, weighted = 0;
  PyObject *eo = Py_None, *igo = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|IIOppO", kwlist, &k, &bins, &eo,
                                   &classwise, &weighted, &igo))
    return -1;
  if (self->busy)
    return busy_error();
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  o.n_classes = k;
  o.n_bins = bins;
  o.classwise = classwise;
  o.weighted = weighted;
  if (igo != Py_None) {
    long v = PyLong_AsLong(igo);
    if (PyErr_Occurred())
      return -1;
    if (v < INT32_MIN || v > INT32_MAX) {
      PyErr_SetString(PyExc_ValueError, "ignore_index must fit in int32");
      return -1;
    }
    o.has_ignore_index = 1;
    o.ignore_index = (int32_t)v;
  }
  double *edges = NULL;
  if (eo != Py_None) {
    Py_ssize_t ne = 0;
    edges = float_list(eo, &ne, "edges must be a sequence of floats");
    if (!edges)
      return -1;
    if (ne < 2) {
      free(edges);
      PyErr_SetString(PyExc_ValueError, "edges must hold at least 2 values");
      return -1;
    }
    o.n_bins = (uint32_t)(ne - 1);
    o.edges = edges;
  }
  clm_calibration_state s;
  clm_status st = clm_calibration_state_init(&s, &o);
  free(edges);
  if (st != CLM_OK) {
    clm_error err;
    memset(&err, 0, sizeof err);
    snprintf(err.message, sizeof err.message,
             "calibration needs n_classes >= 1, n_bins >= 1 and edges "
             "strictly ascending from 0 to 1");
    raise_status(st, &err);
    return -1;
  }
  clm_calibration_state_release(&self->st);
  self->st = s;
  return 0;
}

static void CalibrationState_dealloc(CalibrationStateObject *self) {
  clm_calibration_state_release(&self->st);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* update(labels, scores, weights=None, kind=1): binary states take
 * bool/uint8 labels and n scores, multi-class ones int32 labels and an
 * n x K matrix; scores float32 (in place) or float64 (rounded to nearest
 * float32 in batches). */
static PyObject *CalibrationState_update(CalibrationStateObject *self,
                                         PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"labels", "scores", "weights", "kind", NULL};
  PyObject *lo, *so, *wo = Py_None;
  int kind = CLM_SCORES_PROBS;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|Oi", kwlist, &lo, &so, &wo,
                                   &kind))
    return NULL;
  if (parse_kind(kind) != 0)
    return NULL;
  if (self->busy) {
    busy_error();
    return NULL;
  }
  clm_context *ctx = get_context(NULL);
  if (!ctx)
    return NULL;
  const uint32_t k = self->st.n_classes;
  const int binary = k == 1;
  Py_buffer lv, sv, wv;
  int have_w = 0;
  if (binary ? get_buffer(lo, &lv, 0, "labels", "B", "bool or uint8")
             : get_buffer(lo, &lv, 0, "labels", "i", "int32"))
    return NULL;
  if (get_buffer(so, &sv, 0, "scores", "fd", "float32 or float64") != 0) {
    PyBuffer_Release(&lv);
    return NULL;
  }
  PyObject *result = NULL;
  const Py_ssize_t n = lv.len / lv.itemsize;
  if (sv.len / sv.itemsize != n * (Py_ssize_t)k) {
    PyErr_Format(PyExc_ValueError,
                 "scores must hold n x %u = %zd values, got %zd", k,
                 n * (Py_ssize_t)k, sv.len / sv.itemsize);
    goto done;
  }
  have_w = get_weights(wo, &wv, n, self->st.weighted);
  if (have_w < 0) {
    have_w = 0;
    goto done;
  }
  g_last_labels = (uintptr_t)lv.buf;
  g_last_scores = (uintptr_t)sv.buf;
  g_last_weights = have_w ? (uintptr_t)wv.buf : 0;
  if (n == 0) {
    result = Py_NewRef(Py_None);
    goto done;
  }
  clm_calibration_options opts;
  calibration_options_of(&self->st, &opts);
  clm_calibration_state tmp;
  clm_status st = clm_calibration_state_init(&tmp, &opts);
  if (st != CLM_OK) {
    raise_status(st, NULL);
    goto done;
  }
  clm_error err;
  memset(&err, 0, sizeof err);
  weights_src ws = weights_of(&wv, have_w);
  const int f64 = buffer_type(&sv) == 'd';
  self->busy = 1;
  Py_BEGIN_ALLOW_THREADS uint64_t rows =
      f64 || ws.f64 ? CONVERT_BATCH / k : (uint64_t)n;
  if (rows == 0)
    rows = 1;
  if (rows > (uint64_t)n)
    rows = (uint64_t)n;
  float *conv = f64 ? malloc(sizeof(float) * (size_t)(rows * k)) : NULL;
  ws.scratch = ws.f64 ? malloc(sizeof(float) * (size_t)rows) : NULL;
  if ((f64 && !conv) || (ws.f64 && !ws.scratch))
    st = CLM_ERR_OUT_OF_MEMORY;
  for (uint64_t base = 0; st == CLM_OK && base < (uint64_t)n; base += rows) {
    uint64_t m = (uint64_t)n - base;
    if (m > rows)
      m = rows;
    const float *sc = (const float *)sv.buf + base * k;
    if (f64) {
      /* Nearest float32; bins compare edges in float64 with it. */
      const double *in = (const double *)sv.buf + base * k;
      for (uint64_t i = 0; i < m * k; ++i) /* saturating */
        conv[i] = in[i] > FLT_MAX    ? INFINITY
                  : in[i] < -FLT_MAX ? -INFINITY
                                     : (float)in[i];
      sc = conv;
    }
    const float *w = NULL;
    st = weights_at(&ws, base, m, &w, &err);
    if (st != CLM_OK)
      break;
    if (binary)
      st = clm_calibration_update_binary(ctx, &tmp, base,
                                         (const uint8_t *)lv.buf + base, sc, w,
                                         m, (clm_scores_kind)kind, &err);
    else
      st = clm_calibration_update_multiclass(ctx, &tmp, base,
                                             (const int32_t *)lv.buf + base, sc,
                                             w, m, (clm_scores_kind)kind, &err);
  }
  free(conv);
  free(ws.scratch);
  Py_END_ALLOW_THREADS self->busy = 0;
  if (st == CLM_OK)
    st = clm_calibration_merge(&self->st, &tmp);
  clm_calibration_state_release(&tmp);
  if (st != CLM_OK) {
    raise_status(st, &err);
    goto done;
  }
  result = Py_NewRef(Py_None);
done:
  PyBuffer_Release(&lv);
  PyBuffer_Release(&sv);
  if (have_w)
    PyBuffer_Release(&wv);
  return result;
}

static PyObject *CalibrationState_finalize(CalibrationStateObject *self,
                                           PyObject *Py_UNUSED(ignored)) {
  clm_calibration_result r;
  memset(&r, 0, sizeof r);
  clm_status st = clm_calibration_finalize(&self->st, &r);
  if (st != CLM_OK) {
    clm_error err;
    memset(&err, 0, sizeof err);
    if (st == CLM_ERR_EMPTY)
      snprintf(err.message, sizeof err.message,
               "no samples (or the sample weights sum to 0): calibration is "
               "undefined");
    return raise_status(st, &err);
  }
  const Py_ssize_t nb = r.n_bins;
  PyObject *lo = PyList_New(nb), *hi = PyList_New(nb), *cnt = PyList_New(nb),
           *wt = PyList_New(nb), *conf = PyList_New(nb), *freq = PyList_New(nb);
  int ok = lo && hi && cnt && wt && conf && freq;
  for (Py_ssize_t b = 0; ok && b < nb; ++b) {
    const clm_calibration_bin *bin = &r.bins[b];
    PyObject *v[6] = {PyFloat_FromDouble(bin->lo),
                      PyFloat_FromDouble(bin->hi),
                      PyLong_FromUnsignedLongLong(bin->count),
                      PyFloat_FromDouble(bin->weight),
                      PyFloat_FromDouble(bin->confidence),
                      PyFloat_FromDouble(bin->frequency)};
    PyObject *lists[6] = {lo, hi, cnt, wt, conf, freq};
    for (int j = 0; j < 6; ++j) {
      if (!v[j])
        ok = 0;
      else
        PyList_SET_ITEM(lists[j], b, v[j]);
    }
  }
  PyObject *cw = NULL;
  if (ok) {
    if (r.classwise_ece_per_class)
      cw = f64_list(r.classwise_ece_per_class, (Py_ssize_t)r.n_classes);
    else
      cw = Py_NewRef(Py_None);
    ok = cw != NULL;
  }
  PyObject *out = NULL;
  if (ok)
    out = Py_BuildValue(
        "{s:I,s:I,s:K,s:K,s:O,s:d,s:d,s:d,s:d,s:d,s:N,s:N,s:N,s:N,s:N,s:N,s:d,"
        "s:N}",
        "n_classes", r.n_classes, "n_bins", r.n_bins, "n",
        (unsigned long long)r.n, "n_ignored", (unsigned long long)r.n_ignored,
        "weighted", r.weighted ? Py_True : Py_False, "weight_sum", r.weight_sum,
        "brier", r.brier, "ece", r.ece, "rmsce", r.rmsce, "mce", r.mce, "lo",
        lo, "hi", hi, "count", cnt, "weight", wt, "confidence", conf,
        "frequency", freq, "classwise_ece", r.classwise_ece,
        "classwise_ece_per_class", cw);
  else {
    Py_XDECREF(lo);
    Py_XDECREF(hi);
    Py_XDECREF(cnt);
    Py_XDECREF(wt);
    Py_XDECREF(conf);
    Py_XDECREF(freq);
    Py_XDECREF(cw);
  }
  clm_calibration_result_release(&r);
  return out;
}

/* quantile_edges(n_bins): equal-mass edges from this (fine) state's bins. */
static PyObject *CalibrationState_quantile_edges(CalibrationStateObject *self,
                                                 PyObject *args) {
  unsigned int bins = 0;
  if (!PyArg_ParseTuple(args, "I", &bins))
    return NULL;
  if (bins < 1) {
    PyErr_SetString(PyExc_ValueError, "n_bins must be at least 1");
    return NULL;
  }
  double *edges = malloc(sizeof(double) * ((size_t)bins + 1));
  if (!edges)
    return PyErr_NoMemory();
  uint32_t out_bins = 0;
  clm_status st =
      clm_calibration_quantile_edges(&self->st, bins, edges, &out_bins);
  if (st != CLM_OK) {
    free(edges);
    return raise_status(st, NULL);
  }
  PyObject *list = f64_list(edges, (Py_ssize_t)out_bins + 1);
  free(edges);
  return list;
}

/* Bytes of a state array (count * size bytes), or None for NULL. */
static PyObject *raw_bytes(const void *p, size_t size) {
  if (!p)
    return Py_NewRef(Py_None);
  return PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)size);
}

static PyObject *CalibrationState_getstate(CalibrationStateObject *self,
                                           PyObject *Py_UNUSED(ignored)) {
  const clm_calibration_state *s = &self->st;
  const size_t b = s->n_bins;
  const size_t kb = s->classwise ? (size_t)s->n_classes * b : 0;
  return Py_BuildValue(
      "{s:I,s:I,s:O,s:O,s:O,s:i,s:N,s:K,s:K,s:d,s:d,s:N,s:N,s:N,s:N,s:N,s:N,"
      "s:N,s:N}",
      "n_classes", s->n_classes, "n_bins", s->n_bins, "classwise",
      s->classwise ? Py_True : Py_False, "weighted",
      s->weighted ? Py_True : Py_False, "has_ignore_index",
      s->has_ignore_index ? Py_True : Py_False, "ignore_index",
      (int)s->ignore_index, "edges", f64_list(s->edges, (Py_ssize_t)b + 1), "n",
      (unsigned long long)s->n, "n_ignored", (unsigned long long)s->n_ignored,
      "weight_sum", s->weight_sum, "brier_sum", s->brier_sum, "count",
      raw_bytes(s->count, b * 8), "weight", raw_bytes(s->weight, b * 8),
      "confidence", raw_bytes(s->confidence, b * 8), "hits",
      raw_bytes(s->hits, b * 8), "cw_count",
      raw_bytes(kb ? s->cw_count : NULL, kb * 8), "cw_weight",
      raw_bytes(kb ? s->cw_weight : NULL, kb * 8), "cw_confidence",
      raw_bytes(kb ? s->cw_confidence : NULL, kb * 8), "cw_hits",
      raw_bytes(kb ? s->cw_hits : NULL, kb * 8));
}

/* Copies bytes of exactly `size` into dst (dst NULL: must be None). */
static int copy_field(PyObject *d, const char *key, void *dst, size_t size) {
  PyObject *v = PyDict_GetItemString(d, key);
  if (!dst)
    return 0;
  if (!v || !PyBytes_Check(v) || (size_t)PyBytes_GET_SIZE(v) != size) {
    PyErr_Format(PyExc_ValueError, "state's '%s' must be %zu bytes", key, size);
    return -1;
  }
  memcpy(dst, PyBytes_AS_STRING(v), size);
  return 0;
}

static PyObject *CalibrationState_setstate(CalibrationStateObject *self,
                                           PyObject *d) {
  if (!PyDict_Check(d)) {
    PyErr_SetString(PyExc_TypeError, "state must be a dict");
    return NULL;
  }
  if (self->busy) {
    busy_error();
    return NULL;
  }
  uint64_t k, bins, n, n_ignored;
  double wsum, brier;
  PyObject *cwo = PyDict_GetItemString(d, "classwise");
  PyObject *wo = PyDict_GetItemString(d, "weighted");
  PyObject *hio = PyDict_GetItemString(d, "has_ignore_index");
  PyObject *eo = PyDict_GetItemString(d, "edges");
  if (dict_u64(d, "n_classes", &k) || dict_u64(d, "n_bins", &bins) ||
      dict_u64(d, "n", &n) || dict_u64(d, "n_ignored", &n_ignored) ||
      dict_f64(d, "weight_sum", &wsum) || dict_f64(d, "brier_sum", &brier))
    return NULL;
  if (!cwo || !wo || !hio || !eo || k < 1 || k > 0x7fffffffULL || bins < 1 ||
      bins > 0x7fffffffULL) {
    PyErr_SetString(PyExc_ValueError, "state's options are incomplete");
    return NULL;
  }
  uint64_t ign = 0;
  if (dict_u64(d, "ignore_index", &ign)) {
    /* ignore_index may be negative */
    PyErr_Clear();
    PyObject *iv = PyDict_GetItemString(d, "ignore_index");
    ign = (uint64_t)(int64_t)PyLong_AsLong(iv);
    if (PyErr_Occurred())
      return NULL;
  }
  Py_ssize_t ne = 0;
  double *edges = float_list(eo, &ne, "state's edges must be a list");
  if (!edges)
    return NULL;
  if ((uint64_t)ne != bins + 1) {
    free(edges);
    PyErr_SetString(PyExc_ValueError, "state's edges must hold n_bins + 1");
    return NULL;
  }
  clm_calibration_options o;
  clm_calibration_options_init(&o);
  o.n_classes = (uint32_t)k;
  o.n_bins = (uint32_t)bins;
  o.edges = edges;
  o.classwise = PyObject_IsTrue(cwo) == 1;
  o.weighted = PyObject_IsTrue(wo) == 1;
  o.has_ignore_index = PyObject_IsTrue(hio) == 1;
  o.ignore_index = (int32_t)(int64_t)ign;
  clm_calibration_state s;
  clm_status st = clm_calibration_state_init(&s, &o);
  free(edges);
  if (st != CLM_OK)
    return raise_status(st, NULL);
  const size_t b = s.n_bins;
  const size_t kb = s.classwise && s.cw_count ? (size_t)s.n_classes * b : 0;
  if (copy_field(d, "count", s.count, b * 8) ||
      copy_field(d, "weight", s.weight, b * 8) ||
      copy_field(d, "confidence", s.confidence, b * 8) ||
      copy_field(d, "hits", s.hits, b * 8) ||
      copy_field(d, "cw_count", kb ? s.cw_count : NULL, kb * 8) ||
      copy_field(d, "cw_weight", kb ? s.cw_weight : NULL, kb * 8) ||
      copy_field(d, "cw_confidence", kb ? s.cw_confidence : NULL, kb * 8) ||
      copy_field(d, "cw_hits", kb ? s.cw_hits : NULL, kb * 8)) {
    clm_calibration_state_release(&s);
    return NULL;
  }
  uint64_t total = 0;
  for (size_t i = 0; i < b; ++i)
    total += s.count[i];
  if (total != n) {
    clm_calibration_state_release(&s);
    PyErr_SetString(PyExc_ValueError, "state's bins do not add up to n");
    return NULL;
  }
  s.n = n;
  s.n_ignored = n_ignored;
  s.weight_sum = wsum;
  s.brier_sum = brier;
  clm_calibration_state_release(&self->st);
  self->st = s;
  Py_RETURN_NONE;
}

/* Pickles through the library's saved-state bytes (versioned,
 * checksummed, little-endian): state_from_bytes(bytes) rebuilds it. */
static PyObject *CalibrationState_to_bytes(CalibrationStateObject *self,
                                           PyObject *Py_UNUSED(ignored)) {
  if (self->busy) {
    busy_error();
    return NULL;
  }
  return state_bytes(clm_calibration_state_save(&self->st, &g_save_buf,
                                                &g_save_len, &g_save_err));
}

static PyObject *CalibrationState_reduce(CalibrationStateObject *self,
                                         PyObject *Py_UNUSED(ignored)) {
  PyObject *b = CalibrationState_to_bytes(self, NULL);
  return b ? reduce_from_bytes(b) : NULL;
}

static PyObject *CalibrationState_merge(CalibrationStateObject *self,
                                        PyObject *other);

static PyObject *CalibrationState_get_n(CalibrationStateObject *self,
                                        void *Py_UNUSED(closure)) {
  return PyLong_FromUnsignedLongLong(self->st.n);
}

static PyGetSetDef CalibrationState_getset[] = {
    {"n", (getter)CalibrationState_get_n, NULL, "samples counted", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef CalibrationState_methods[] = {
    {"update", (PyCFunction)(void (*)(void))CalibrationState_update,
     METH_VARARGS | METH_KEYWORDS,
     "update(labels, scores, weights=None, kind=1): binary (n_classes 1: "
     "bool/uint8 labels, n scores) or multi-class (int32 labels, n x K "
     "scores); float32 read in place, float64 rounded to nearest float32; "
     "kind 0: logits, 1: probabilities."},
    {"merge", (PyCFunction)CalibrationState_merge, METH_O,
     "merge(other): add another state (same K, bins, edges and options)."},
    {"finalize", (PyCFunction)CalibrationState_finalize, METH_NOARGS,
     "Brier, ECE, RMSCE, MCE and the reliability table as a dict."},
    {"quantile_edges", (PyCFunction)CalibrationState_quantile_edges,
     METH_VARARGS,
     "quantile_edges(n_bins): equal-mass edges from this fine state."},
    {"getstate", (PyCFunction)CalibrationState_getstate, METH_NOARGS,
     "The state as a dict of plain counts and sums."},
    {"__getstate__", (PyCFunction)CalibrationState_getstate, METH_NOARGS, NULL},
    {"__setstate__", (PyCFunction)CalibrationState_setstate, METH_O, NULL},
    {"__reduce__", (PyCFunction)CalibrationState_reduce, METH_NOARGS, NULL},
    {"to_bytes", (PyCFunction)CalibrationState_to_bytes, METH_NOARGS,
     "The state as the library's saved-state bytes "
     "(clm_calibration_state_save); "
     "state_from_bytes() loads them."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject CalibrationStateType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "clmetrics._core.CalibrationState",
    .tp_basicsize = sizeof(CalibrationStateObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "CalibrationState(n_classes=1, n_bins=15, edges=None, "
              "classwise=True, weighted=False, ignore_index=None): the "
              "library's mergeable calibration accumulator.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)CalibrationState_init,
    .tp_dealloc = (destructor)CalibrationState_dealloc,
    .tp_methods = CalibrationState_methods,
    .tp_getset = CalibrationState_getset,
};

static PyObject *CalibrationState_merge(CalibrationStateObject *self,
                                        PyObject *other) {
  if (!PyObject_TypeCheck(other, &CalibrationStateType)) {
    PyErr_SetString(PyExc_TypeError, "merge expects a CalibrationState");
    return NULL;
  }
  CalibrationStateObject *o = (CalibrationStateObject *)other;
  if (self->busy || o->busy) {
    busy_error();
    return NULL;
  }
  clm_status st = clm_calibration_merge(&self->st, &o->st);
  if (st != CLM_OK) {
    clm_error err;
    memset(&err, 0, sizeof err);
    snprintf(err.message, sizeof err.message,
             "cannot merge calibration states with different n_classes, "
             "bins, edges or options");
    return raise_status(st, &err);
  }
  Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* MultilabelState                                                     */
/* ------------------------------------------------------------------ */

typedef struct {
  PyObject_HEAD clm_multilabel_state st;
  int busy;
} MultilabelStateObject;

/* The options a multilabel state was created with (thresholds point into
 * the state). */
static void multilabel_options_of(const clm_multilabel_state *s,
                                  clm_multilabel_options *o) {
  clm_multilabel_options_init(o);
  o->n_labels = s->n_labels;
  o->kind = s->kind;
  o->from_predictions = s->from_predictions;
  o->thresholds = s->thresholds;
  o->weighted = s->weighted;
  o->label_ranking = s->label_ranking;
}

static int MultilabelState_init(MultilabelStateObject *self, PyObject *args,
                                PyObject *kw) {
  static char *kwlist[] = {"n_labels",      "kind",       "from_predictions",
                           "threshold",     "thresholds", "weighted",
                           "label_ranking", NULL};
  unsigned long long L = 0;
  int kind = CLM_SCORES_LOGITS, from_pred = 0, weighted = 0, ranking = 1;
  double threshold = 0.5;
  PyObject *to = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "K|ipdOpp", kwlist, &L, &kind,
                                   &from_pred, &threshold, &to, &weighted,
                                   &ranking))
    return -1;
  if (L < 1 || L > 0x7fffffffULL) {
    PyErr_Format(PyExc_ValueError,
                 "n_labels must be in [1, 2^31 - 1], got %llu", L);
    return -1;
  }
  if (parse_kind(kind) != 0)
    return -1;
  if (!(threshold >= 0.0 && threshold <= 1.0)) {
    PyErr_Format(PyExc_ValueError, "threshold must lie in [0, 1], got %g",
                 threshold);
    return -1;
  }
  if (self->busy)
    return busy_error();
  double *thr = NULL;
  if (to != Py_None) {
    Py_ssize_t nt = 0;
    thr = float_list(to, &nt, "thresholds must be a sequence of floats");
    if (!thr)
      return -1;
    if ((unsigned long long)nt != L) {
      free(thr);
      PyErr_Format(PyExc_ValueError,
                   "thresholds must hold n_labels = %llu values, got %zd", L,
                   nt);
      return -1;
    }
    for (Py_ssize_t c = 0; c < nt; ++c)
      if (!(thr[c] >= 0.0 && thr[c] <= 1.0)) {
        PyErr_Format(PyExc_ValueError,
                     "thresholds[%zd] is %g: thresholds must lie in [0, 1]", c,
                     thr[c]);
        free(thr);
        return -1;
      }
  }
  clm_multilabel_options o;
  clm_multilabel_options_init(&o);
  o.n_labels = (uint32_t)L;
  o.kind = (clm_scores_kind)kind;
  o.from_predictions = from_pred;
  o.threshold = threshold;
  o.thresholds = thr;
  o.weighted = weighted;
  o.label_ranking = ranking;
  clm_multilabel_state s;
  clm_status st = clm_multilabel_state_init(&s, &o);
  free(thr);
  if (st != CLM_OK) {
    clm_error err;
    memset(&err, 0, sizeof err);
    snprintf(err.message, sizeof err.message,
             "cannot create a multilabel state of %llu labels", L);
    raise_status(st, &err);
    return -1;
  }
  clm_multilabel_state_release(&self->st);
  self->st = s;
  return 0;
}

static void MultilabelState_dealloc(MultilabelStateObject *self) {
  clm_multilabel_state_release(&self->st);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The rows of an n x L matrix buffer (a 1-D buffer is one column, L = 1);
 * -1 with ValueError when its shape is not (n, L). */
static Py_ssize_t matrix_rows(const Py_buffer *v, uint32_t L,
                              const char *name) {
  if ((v->ndim == 2 && v->shape[1] == (Py_ssize_t)L) ||
      (v->ndim == 1 && L == 1))
    return v->shape[0];
  PyErr_Format(PyExc_ValueError,
               "%s must be an n x %u matrix (one column per label)", name,
               (unsigned)L);
  return -1;
}

/* update(labels, scores, weights=None, grad_out=None) and
 * update_predictions(labels, pred, weights=None): one body; `from_pred`
 * chooses the second input's type and the library call. */
static PyObject *multilabel_update(MultilabelStateObject *self, PyObject *lo,
                                   PyObject *so, PyObject *wo, PyObject *go,
                                   int from_pred) {
  if (self->busy) {
    busy_error();
    return NULL;
  }
  if (self->st.from_predictions != from_pred) {
    PyErr_SetString(PyExc_ValueError,
                    from_pred ? "this state takes scores: use update()"
                              : "this state takes 0/1 predictions: use "
                                "update_predictions()");
    return NULL;
  }
  clm_context *ctx = get_context(NULL);
  if (!ctx)
    return NULL;
  const uint32_t L = self->st.n_labels;
  Py_buffer lv, sv, gv, wv;
  int have_g = 0, have_w = 0;
  if (get_buffer(lo, &lv, 0, "labels", "B", "bool or uint8") != 0)
    return NULL;
  const int sok =
      from_pred ? get_buffer(so, &sv, 0, "pred", "B", "bool or uint8")
                : get_buffer(so, &sv, 0, "scores", "fd", "float32 or float64");
  if (sok != 0) {
    PyBuffer_Release(&lv);
    return NULL;
  }
  PyObject *result = NULL;
  const Py_ssize_t n = matrix_rows(&lv, L, "labels");
  if (n < 0)
    goto done;
  const Py_ssize_t ns = matrix_rows(&sv, L, from_pred ? "pred" : "scores");
  if (ns < 0)
    goto done;
  if (ns != n) {
    length_error("labels", n, from_pred ? "pred" : "scores", ns);
    goto done;
  }
  if (go != Py_None) {
    if (get_buffer(go, &gv, 1, "grad_out", "f", "float32") != 0)
      goto done;
    have_g = 1;
    if (gv.len / 4 != n * (Py_ssize_t)L) {
      PyErr_Format(PyExc_ValueError,
                   "grad_out must hold n x L = %zd x %u float32 values", n,
                   (unsigned)L);
      goto done;
    }
  }
  have_w = get_weights(wo, &wv, n, self->st.weighted);
  if (have_w < 0) {
    have_w = 0;
    goto done;
  }
  g_last_labels = (uintptr_t)lv.buf;
  g_last_scores = (uintptr_t)sv.buf;
  g_last_weights = have_w ? (uintptr_t)wv.buf : 0;
  if (n == 0) {
    result = Py_NewRef(Py_None);
    goto done;
  }
  /* A scratch state takes the batches, so that an error leaves this state
   * unchanged. */
  clm_multilabel_options opts;
  multilabel_options_of(&self->st, &opts);
  clm_multilabel_state tmp;
  clm_status st = clm_multilabel_state_init(&tmp, &opts);
  if (st != CLM_OK) {
    raise_status(st, NULL);
    goto done;
  }
  clm_error err;
  memset(&err, 0, sizeof err);
  const uint8_t *labels = lv.buf;
  float *grad = have_g ? gv.buf : NULL;
  weights_src ws = weights_of(&wv, have_w);
  const int f64 = !from_pred && buffer_type(&sv) == 'd';
  self->busy = 1;
  Py_BEGIN_ALLOW_THREADS
      /* float32 inputs go in one call; float64 scores or weights are
         converted batch by batch (CONVERT_BATCH values). */
      uint64_t rows = (uint64_t)n;
  if (f64 || ws.f64) {
    rows = CONVERT_BATCH / L;
    if (rows == 0)
      rows = 1;
    if (rows > (uint64_t)n)
      rows = (uint64_t)n;
  }
  float *conv = f64 ? malloc(sizeof(float) * (size_t)(rows * L)) : NULL;
  ws.scratch = ws.f64 ? malloc(sizeof(float) * (size_t)rows) : NULL;
  if ((f64 && !conv) || (ws.f64 && !ws.scratch))
    st = CLM_ERR_OUT_OF_MEMORY;
  for (uint64_t base = 0; st == CLM_OK && base < (uint64_t)n; base += rows) {
    uint64_t m = (uint64_t)n - base;
    if (m > rows)
      m = rows;
    const float *weights = NULL;
    st = weights_at(&ws, base, m, &weights, &err);
    if (st != CLM_OK)
      break;
    if (from_pred) {
      st = clm_multilabel_update_predictions(ctx, &tmp, base, labels + base * L,
                                             (const uint8_t *)sv.buf + base * L,
                                             weights, m, &err);
      continue;
    }
    const float *scores = (const float *)sv.buf + base * L;
    if (f64) {
      st = clm_multilabel_scores_from_f64(
          &tmp, (const double *)sv.buf + base * L, m, base, conv, &err);
      scores = conv;
    }
    if (st == CLM_OK)
      st = clm_multilabel_update(ctx, &tmp, base, labels + base * L, scores,
                                 weights, m, grad ? grad + base * L : NULL,
                                 &err);
  }
  free(conv);
  free(ws.scratch);
  Py_END_ALLOW_THREADS self->busy = 0;
  if (st == CLM_OK)
    st = clm_multilabel_merge(&self->st, &tmp);
  clm_multilabel_state_release(&tmp);
  if (st != CLM_OK) {
    raise_status(st, &err);
    goto done;
  }
  result = Py_NewRef(Py_None);
done:
  PyBuffer_Release(&lv);
  PyBuffer_Release(&sv);
  if (have_g)
    PyBuffer_Release(&gv);
  if (have_w)
    PyBuffer_Release(&wv);
  return result;
}

static PyObject *MultilabelState_update(MultilabelStateObject *self,
                                        PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"labels", "scores", "weights", "grad_out", NULL};
  PyObject *lo, *so, *wo = Py_None, *go = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OO", kwlist, &lo, &so, &wo,
                                   &go))
    return NULL;
  return multilabel_update(self, lo, so, wo, go, 0);
}

static PyObject *MultilabelState_update_predictions(MultilabelStateObject *self,
                                                    PyObject *args,
                                                    PyObject *kw) {
  static char *kwlist[] = {"labels", "pred", "weights", NULL};
  PyObject *lo, *po, *wo = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O", kwlist, &lo, &po, &wo))
    return NULL;
  return multilabel_update(self, lo, po, wo, Py_None, 1);
}

/* Sets d[key] = v, stealing v; -1 when v is NULL or the insert fails. */
static int put(PyObject *d, const char *key, PyObject *v) {
  if (!v)
    return -1;
  const int rc = PyDict_SetItemString(d, key, v);
  Py_DECREF(v);
  return rc;
}

/* One field of every label's result as bytes (native order): a uint64,
 * double or unsigned field at `offset` of clm_multilabel_label. */
static PyObject *label_field(const clm_multilabel_label *m, uint32_t L,
                             size_t offset, size_t size) {
  PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)L * size);
  if (!b)
    return NULL;
  char *dst = PyBytes_AS_STRING(b);
  for (uint32_t c = 0; c < L; ++c)
    memcpy(dst + (size_t)c * size, (const char *)&m[c] + offset, size);
  return b;
}

#define ML_FIELD(r, name)                                                      \
  label_field((r)->labels, (r)->n_labels,                                      \
              offsetof(clm_multilabel_label, name),                            \
              sizeof(((clm_multilabel_label *)0)->name))

static PyObject *MultilabelState_finalize(MultilabelStateObject *self,
                                          PyObject *args) {
  int zd = CLM_ZERO_DIVISION_ZERO;
  if (!PyArg_ParseTuple(args, "|i", &zd))
    return NULL;
  if (zd < 0 || zd > 2) {
    PyErr_SetString(PyExc_ValueError, "zero_division must be 0, 1 or 2 (nan)");
    return NULL;
  }
  clm_multilabel_result r;
  clm_status st = clm_multilabel_finalize(&self->st, (clm_zero_division)zd, &r);
  if (st != CLM_OK) {
    clm_error err;
    memset(&err, 0, sizeof err);
    if (st == CLM_ERR_EMPTY)
      snprintf(err.message, sizeof err.message,
               "no samples: update the state before computing metrics");
    return raise_status(st, &err);
  }
  const clm_multilabel_state *s = &self->st;
  PyObject *per = PyDict_New();
  PyObject *out = PyDict_New();
  int bad = !per || !out;
  /* Per label: bytes of L values (uint64 counts, float64 values, uint32
   * undefined bits). */
  bad = bad || put(per, "tp", ML_FIELD(&r, tp)) ||
        put(per, "fp", ML_FIELD(&r, fp)) || put(per, "tn", ML_FIELD(&r, tn)) ||
        put(per, "fn", ML_FIELD(&r, fn)) ||
        put(per, "support", ML_FIELD(&r, support)) ||
        put(per, "w_tp", ML_FIELD(&r, w_tp)) ||
        put(per, "w_fp", ML_FIELD(&r, w_fp)) ||
        put(per, "w_tn", ML_FIELD(&r, w_tn)) ||
        put(per, "w_fn", ML_FIELD(&r, w_fn)) ||
        put(per, "support_weight", ML_FIELD(&r, support_weight)) ||
        put(per, "precision", ML_FIELD(&r, precision)) ||
        put(per, "recall", ML_FIELD(&r, recall)) ||
        put(per, "f1", ML_FIELD(&r, f1)) ||
        put(per, "jaccard", ML_FIELD(&r, jaccard)) ||
        put(per, "bce_mean", ML_FIELD(&r, bce_mean)) ||
        put(per, "undefined", ML_FIELD(&r, undefined));
  bad = bad || put(out, "n", PyLong_FromUnsignedLongLong(r.n)) ||
        put(out, "n_labels", PyLong_FromUnsignedLong(r.n_labels)) ||
        put(out, "has_scores", PyBool_FromLong(r.has_scores)) ||
        put(out, "weighted", PyBool_FromLong(r.weighted)) ||
        put(out, "label_ranking", PyBool_FromLong(r.label_ranking)) ||
        put(out, "weight_sum", PyFloat_FromDouble(r.weight_sum)) ||
        put(out, "micro", avg_dict(&r.micro)) ||
        put(out, "macro", avg_dict(&r.macro)) ||
        put(out, "weighted_avg", avg_dict(&r.weighted_avg)) ||
        put(out, "samples", avg_dict(&r.samples)) ||
        put(out, "jaccard_micro", PyFloat_FromDouble(r.jaccard_micro)) ||
        put(out, "jaccard_macro", PyFloat_FromDouble(r.jaccard_macro)) ||
        put(out, "jaccard_samples", PyFloat_FromDouble(r.jaccard_samples)) ||
        put(out, "subset_accuracy", PyFloat_FromDouble(r.subset_accuracy)) ||
        put(out, "hamming_loss", PyFloat_FromDouble(r.hamming_loss)) ||
        put(out, "bce_mean", PyFloat_FromDouble(r.bce_mean)) ||
        put(out, "coverage_error", PyFloat_FromDouble(r.coverage_error)) ||
        put(out, "label_ranking_average_precision",
            PyFloat_FromDouble(r.label_ranking_average_precision)) ||
        put(out, "label_ranking_loss",
            PyFloat_FromDouble(r.label_ranking_loss)) ||
        put(out, "roc_auc_samples", PyFloat_FromDouble(r.roc_auc_samples)) ||
        put(out, "samples_undefined", undefined_list(r.samples_undefined)) ||
        /* The weights behind subset accuracy and the Hamming loss (for
         * scikit-learn's normalize=False and its sums). */
        put(out, "exact_weight", PyFloat_FromDouble(s->exact_w)) ||
        put(out, "wrong_weight", PyFloat_FromDouble(s->diff_w));
  if (!bad)
    bad = PyDict_SetItemString(out, "per_label", per) != 0;
  clm_multilabel_result_release(&r);
  Py_XDECREF(per);
  if (bad) {
    Py_XDECREF(out);
    return NULL;
  }
  return out;
}

/* The scalar sums of a state, in one table for getstate and setstate. */
#define ML_SUMS(X)                                                             \
  X(w_sum)                                                                     \
  X(exact_w)                                                                   \
  X(diff_w)                                                                    \
  X(prec_sum)                                                                  \
  X(rec_sum)                                                                   \
  X(f1_sum)                                                                    \
  X(jac_sum)                                                                   \
  X(prec_undef_w)                                                              \
  X(rec_undef_w)                                                               \
  X(f1_undef_w)                                                                \
  X(jac_undef_w)                                                               \
  X(coverage_sum)                                                              \
  X(lrap_sum)                                                                  \
  X(rank_loss_sum)                                                             \
  X(auc_sum)                                                                   \
  X(auc_undef_w)

static PyObject *MultilabelState_getstate(MultilabelStateObject *self,
                                          PyObject *Py_UNUSED(ignored)) {
  const clm_multilabel_state *s = &self->st;
  const size_t L = s->n_labels;
  PyObject *d = PyDict_New();
  if (!d)
    return NULL;
  int bad = put(d, "n_labels", PyLong_FromUnsignedLong(s->n_labels)) ||
            put(d, "kind", PyLong_FromLong((long)s->kind)) ||
            put(d, "from_predictions", PyBool_FromLong(s->from_predictions)) ||
            put(d, "weighted", PyBool_FromLong(s->weighted)) ||
            put(d, "label_ranking", PyBool_FromLong(s->label_ranking)) ||
            put(d, "thresholds", f64_list(s->thresholds, (Py_ssize_t)L)) ||
            put(d, "n", PyLong_FromUnsignedLongLong(s->n)) ||
            put(d, "tp", raw_bytes(s->tp, L * 8)) ||
            put(d, "fp", raw_bytes(s->fp, L * 8)) ||
            put(d, "fn", raw_bytes(s->fn, L * 8)) ||
            put(d, "loss_sum", raw_bytes(s->loss_sum, L * 8)) ||
            put(d, "w_tp", raw_bytes(s->w_tp, L * 8)) ||
            put(d, "w_fp", raw_bytes(s->w_fp, L * 8)) ||
            put(d, "w_fn", raw_bytes(s->w_fn, L * 8)) ||
            put(d, "w_tn", raw_bytes(s->w_tn, L * 8));
#define ML_PUT(f) bad = bad || put(d, #f, PyFloat_FromDouble(s->f));
  ML_SUMS(ML_PUT)
#undef ML_PUT
  if (bad) {
    Py_DECREF(d);
    return NULL;
  }
  return d;
}

static PyObject *MultilabelState_setstate(MultilabelStateObject *self,
                                          PyObject *d) {
  if (!PyDict_Check(d)) {
    PyErr_SetString(PyExc_TypeError, "state must be a dict");
    return NULL;
  }
  if (self->busy) {
    busy_error();
    return NULL;
  }
  uint64_t L, kind, n;
  if (dict_u64(d, "n_labels", &L) || dict_u64(d, "kind", &kind) ||
      dict_u64(d, "n", &n))
    return NULL;
  PyObject *fp = PyDict_GetItemString(d, "from_predictions");
  PyObject *wd = PyDict_GetItemString(d, "weighted");
  PyObject *lr = PyDict_GetItemString(d, "label_ranking");
  PyObject *to = PyDict_GetItemString(d, "thresholds");
  if (!fp || !wd || !lr || !to || L < 1 || L > 0x7fffffffULL) {
    PyErr_SetString(PyExc_ValueError, "state's options are incomplete");
    return NULL;
  }
  if (parse_kind((int)kind) != 0)
    return NULL;
  Py_ssize_t nt = 0;
  double *thr = float_list(to, &nt, "state's thresholds must be a list");
  if (!thr)
    return NULL;
  if ((uint64_t)nt != L) {
    free(thr);
    PyErr_SetString(PyExc_ValueError, "state's thresholds must hold L values");
    return NULL;
  }
  clm_multilabel_options o;
  clm_multilabel_options_init(&o);
  o.n_labels = (uint32_t)L;
  o.kind = (clm_scores_kind)kind;
  o.from_predictions = PyObject_IsTrue(fp) == 1;
  o.weighted = PyObject_IsTrue(wd) == 1;
  o.label_ranking = PyObject_IsTrue(lr) == 1;
  o.thresholds = thr;
  clm_multilabel_state s;
  clm_status st = clm_multilabel_state_init(&s, &o);
  free(thr);
  if (st != CLM_OK)
    return raise_status(st, NULL);
  const size_t b = (size_t)L * 8;
  int bad =
      copy_field(d, "tp", s.tp, b) || copy_field(d, "fp", s.fp, b) ||
      copy_field(d, "fn", s.fn, b) ||
      copy_field(d, "loss_sum", s.loss_sum, b) ||
      copy_field(d, "w_tp", s.w_tp, b) || copy_field(d, "w_fp", s.w_fp, b) ||
      copy_field(d, "w_fn", s.w_fn, b) || copy_field(d, "w_tn", s.w_tn, b);
#define ML_GET(f) bad = bad || dict_f64(d, #f, &s.f);
  ML_SUMS(ML_GET)
#undef ML_GET
  for (uint64_t c = 0; !bad && c < L; ++c)
    if (s.tp[c] > n || s.fp[c] > n - s.tp[c] ||
        s.fn[c] > n - s.tp[c] - s.fp[c]) {
      PyErr_SetString(PyExc_ValueError,
                      "state's counts of a label exceed its rows");
      bad = 1;
    }
  if (bad) {
    clm_multilabel_state_release(&s);
    return NULL;
  }
  s.n = n;
  clm_multilabel_state_release(&self->st);
  self->st = s;
  Py_RETURN_NONE;
}

/* Pickles through the library's saved-state bytes (versioned,
 * checksummed, little-endian): state_from_bytes(bytes) rebuilds it. */
static PyObject *MultilabelState_to_bytes(MultilabelStateObject *self,
                                          PyObject *Py_UNUSED(ignored)) {
  if (self->busy) {
    busy_error();
    return NULL;
  }
  return state_bytes(clm_multilabel_state_save(&self->st, &g_save_buf,
                                               &g_save_len, &g_save_err));
}

static PyObject *MultilabelState_reduce(MultilabelStateObject *self,
                                        PyObject *Py_UNUSED(ignored)) {
  PyObject *b = MultilabelState_to_bytes(self, NULL);
  return b ? reduce_from_bytes(b) : NULL;
}

static PyObject *MultilabelState_merge(MultilabelStateObject *self,
                                       PyObject *other);

static PyObject *MultilabelState_get_n(MultilabelStateObject *self,
                                       void *Py_UNUSED(closure)) {
  return PyLong_FromUnsignedLongLong(self->st.n);
}

static PyObject *MultilabelState_get_n_labels(MultilabelStateObject *self,
                                              void *Py_UNUSED(closure)) {
  return PyLong_FromUnsignedLong(self->st.n_labels);
}

static PyGetSetDef MultilabelState_getset[] = {
    {"n", (getter)MultilabelState_get_n, NULL, "rows counted", NULL},
    {"n_labels", (getter)MultilabelState_get_n_labels, NULL, "L", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef MultilabelState_methods[] = {
    {"update", (PyCFunction)(void (*)(void))MultilabelState_update,
     METH_VARARGS | METH_KEYWORDS,
     "update(labels, scores, weights=None, grad_out=None): n x L bool/uint8 "
     "0/1 labels and n x L float32/float64 scores (read in place; float64 "
     "rounded to float32 without crossing a threshold), n float32/float64 "
     "row weights (weighted states), writable n x L float32 gradients."},
    {"update_predictions",
     (PyCFunction)(void (*)(void))MultilabelState_update_predictions,
     METH_VARARGS | METH_KEYWORDS,
     "update_predictions(labels, pred, weights=None): n x L bool/uint8 0/1 "
     "labels and predictions (states made with from_predictions=True)."},
    {"merge", (PyCFunction)MultilabelState_merge, METH_O,
     "merge(other): add another state (same L, kind, thresholds, inputs, "
     "weighting and label ranking)."},
    {"finalize", (PyCFunction)MultilabelState_finalize, METH_VARARGS,
     "finalize(zero_division=0): metrics as a dict; per_label holds bytes of "
     "L values (uint64 counts, float64 values, uint32 undefined bits)."},
    {"getstate", (PyCFunction)MultilabelState_getstate, METH_NOARGS,
     "The state as a dict of plain counts and sums."},
    {"__getstate__", (PyCFunction)MultilabelState_getstate, METH_NOARGS, NULL},
    {"__setstate__", (PyCFunction)MultilabelState_setstate, METH_O, NULL},
    {"__reduce__", (PyCFunction)MultilabelState_reduce, METH_NOARGS, NULL},
    {"to_bytes", (PyCFunction)MultilabelState_to_bytes, METH_NOARGS,
     "The state as the library's saved-state bytes "
     "(clm_multilabel_state_save); "
     "state_from_bytes() loads them."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject MultilabelStateType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "clmetrics._core.MultilabelState",
    .tp_basicsize = sizeof(MultilabelStateObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "MultilabelState(n_labels, kind=0, from_predictions=False, "
              "threshold=0.5, thresholds=None, weighted=False, "
              "label_ranking=True): the library's mergeable multilabel "
              "accumulator.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)MultilabelState_init,
    .tp_dealloc = (destructor)MultilabelState_dealloc,
    .tp_methods = MultilabelState_methods,
    .tp_getset = MultilabelState_getset,
};

static PyObject *MultilabelState_merge(MultilabelStateObject *self,
                                       PyObject *other) {
  if (!PyObject_TypeCheck(other, &MultilabelStateType)) {
    PyErr_SetString(PyExc_TypeError, "merge expects a MultilabelState");
    return NULL;
  }
  MultilabelStateObject *o = (MultilabelStateObject *)other;
  if (self->busy || o->busy) {
    busy_error();
    return NULL;
  }
  clm_status st = clm_multilabel_merge(&self->st, &o->st);
  if (st != CLM_OK) {
    clm_error err;
    memset(&err, 0, sizeof err);
    snprintf(err.message, sizeof err.message,
             "cannot merge multilabel states with different n_labels, scores "
             "kind, thresholds, inputs, weighting or label ranking");
    return raise_status(st, &err);
  }
  Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* Module functions                                                    */
/* ------------------------------------------------------------------ */

static PyObject *mod_devices(PyObject *Py_UNUSED(m),
                             PyObject *Py_UNUSED(ignored)) {
  size_t count = 0;
  clm_error err;
  memset(&err, 0, sizeof err);
  clm_status st = clm_devices_list(NULL, 0, &count, &err);
  if (st != CLM_OK)
    return raise_status(st, &err);
  clm_device_info *info = calloc(count ? count : 1, sizeof *info);
  if (!info)
    return PyErr_NoMemory();
  st = clm_devices_list(info, count, &count, &err);
  if (st != CLM_OK) {
    free(info);
    return raise_status(st, &err);
  }
  PyObject *list = PyList_New((Py_ssize_t)count);
  for (size_t i = 0; list && i < count; ++i) {
    PyObject *d = device_dict(&info[i]);
    if (!d) {
      Py_CLEAR(list);
      break;
    }
    PyList_SET_ITEM(list, (Py_ssize_t)i, d);
  }
  free(info);
  return list;
}

/* init(device=None): creates the context (or checks it matches). */
static PyObject *mod_init(PyObject *Py_UNUSED(m), PyObject *args,
                          PyObject *kw) {
  static char *kwlist[] = {"device", NULL};
  const char *spec = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|z", kwlist, &spec))
    return NULL;
  clm_context *ctx = get_context(spec);
  if (!ctx)
    return NULL;
  return device_dict(clm_context_device(ctx));
}

static PyObject *mod_context_info(PyObject *Py_UNUSED(m),
                                  PyObject *Py_UNUSED(ignored)) {
  clm_context *ctx = g_ctx;
  if (!ctx)
    Py_RETURN_NONE;
  PyObject *d = device_dict(clm_context_device(ctx));
  if (!d)
    return NULL;
  PyObject *v = PyFloat_FromDouble(clm_context_startup_seconds(ctx));
  PyObject *b = PyUnicode_FromString(clm_context_build_options(ctx));
  if (!v || !b || PyDict_SetItemString(d, "startup_s", v) ||
      PyDict_SetItemString(d, "build_options", b)) {
    Py_XDECREF(v);
    Py_XDECREF(b);
    Py_DECREF(d);
    return NULL;
  }
  Py_DECREF(v);
  Py_DECREF(b);
  return d;
}

/* ------------------------------------------------------------------ */
/* Ranking                                                             */
/* ------------------------------------------------------------------ */

_Static_assert(sizeof(clm_curve_point) == 40,
               "clm_curve_point is read in Python as (f8, u8, u8, f8, f8)");

/* One class of a ranking result as a dict; the curve as bytes of
 * (threshold f8, tp u8, fp u8, tp_weight f8, fp_weight f8) records, or
 * None. */
static PyObject *ranking_class_dict(const clm_ranking_class *c) {
  PyObject *curve;
  if (c->curve) {
    curve = PyBytes_FromStringAndSize(
        (const char *)c->curve,
        (Py_ssize_t)(c->curve_len * sizeof(clm_curve_point)));
    if (!curve)
      return NULL;
  } else {
    curve = Py_NewRef(Py_None);
  }
  return Py_BuildValue("{s:K,s:K,s:N,s:N,s:K,s:N,s:d,s:d}", "positives",
                       (unsigned long long)c->positives, "negatives",
                       (unsigned long long)c->negatives, "roc_auc",
                       PyFloat_FromDouble(c->roc_auc), "average_precision",
                       PyFloat_FromDouble(c->average_precision), "distinct",
                       (unsigned long long)c->distinct, "curve", curve,
                       "positive_weight", c->positive_weight, "negative_weight",
                       c->negative_weight);
}

/* In-memory arrays as a ranking source (for float64 weights). */
typedef struct {
  const char *labels, *scores;
  size_t label_size, row_bytes;
  weights_src ws;
} ranking_arrays;

static clm_status ranking_read(void *user, uint64_t first, uint64_t count,
                               const void **labels, const void **scores,
                               clm_error *err) {
  (void)count;
  (void)err;
  const ranking_arrays *a = user;
  *labels = a->labels + first * a->label_size;
  *scores = a->scores + first * a->row_bytes;
  return CLM_OK;
}

static clm_status ranking_read_weights(void *user, uint64_t first,
                                       uint64_t count, const float **weights,
                                       clm_error *err) {
  return weights_at(&((ranking_arrays *)user)->ws, first, count, weights, err);
}

/* ranking(labels, scores, k=1, softmax=False, curve_points=0,
 *         memory_budget=0, scores_are_probs=False, weights=None,
 *         multilabel=False): exact
 * ROC-AUC and average precision through clm_ranking_compute_arrays (or,
 * with n float32 sample weights, clm_ranking_compute_arrays_weighted).
 * k == 1: labels bool/uint8 0/1 and n float32/float64 scores; k >= 2:
 * int32 class indices in [0, k) and an n x k score matrix; multilabel:
 * an n x k bool/uint8 0/1 indicator matrix, each column ranked against its
 * own labels (the ranking family's multilabel mode). Buffers are read in
 * place. */
static PyObject *mod_ranking(PyObject *Py_UNUSED(m), PyObject *args,
                             PyObject *kw) {
  static char *kwlist[] = {"labels",
                           "scores",
                           "k",
                           "softmax",
                           "curve_points",
                           "memory_budget",
                           "scores_are_probs",
                           "weights",
                           "multilabel",
                           NULL};
  PyObject *lo, *so, *wo = Py_None;
  unsigned int k = 1;
  int softmax = 0, probs = 0, multilabel = 0;
  unsigned long long curve_points = 0, budget = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|IpKKpOp", kwlist, &lo, &so, &k,
                                   &softmax, &curve_points, &budget, &probs,
                                   &wo, &multilabel))
    return NULL;
  if (multilabel && softmax) {
    PyErr_SetString(PyExc_ValueError, "multilabel ranking takes no softmax");
    return NULL;
  }
  if (k < 1 || k > 0x7fffffffu) {
    PyErr_SetString(PyExc_ValueError, "k must be 1 (binary) or the number "
                                      "of classes (>= 2)");
    return NULL;
  }
  if (softmax && k < 2) {
    PyErr_SetString(PyExc_ValueError, "softmax needs k >= 2");
    return NULL;
  }
  if (curve_points == 1) {
    PyErr_SetString(PyExc_ValueError,
                    "curve_points must be 0 (no curves) or at least 2");
    return NULL;
  }
  if (budget && budget < CLM_RANKING_MIN_BUDGET) {
    PyErr_Format(PyExc_ValueError,
                 "memory_budget must be 0 (the default) or at least %llu "
                 "bytes",
                 (unsigned long long)CLM_RANKING_MIN_BUDGET);
    return NULL;
  }
  clm_context *ctx = get_context(NULL);
  if (!ctx)
    return NULL;
  Py_buffer lv, sv;
  if (k == 1 || multilabel) {
    if (get_buffer(lo, &lv, 0, "labels", "B", "bool or uint8") != 0)
      return NULL;
  } else if (get_buffer(lo, &lv, 0, "labels", "i", "int32") != 0) {
    return NULL;
  }
  if (get_buffer(so, &sv, 0, "scores", "fd", "float32 or float64") != 0) {
    PyBuffer_Release(&lv);
    return NULL;
  }
  PyObject *result = NULL;
  Py_buffer wv;
  int have_w = 0;
  const Py_ssize_t n = lv.len / lv.itemsize / (multilabel ? (Py_ssize_t)k : 1);
  const Py_ssize_t ns = sv.len / sv.itemsize;
  if (ns != n * (Py_ssize_t)k) {
    if (k == 1)
      length_error("labels", n, "scores", ns);
    else
      PyErr_Format(PyExc_ValueError,
                   "scores must hold n x k = %zd x %u values, got %zd", n, k,
                   ns);
    goto done;
  }
  if (n == 0) {
    PyErr_SetString(PyExc_ValueError, "no samples: ranking needs at least "
                                      "one row");
    goto done;
  }
  have_w = get_weights(wo, &wv, n, wo != Py_None);
  if (have_w < 0) {
    have_w = 0;
    goto done;
  }
  g_last_labels = (uintptr_t)lv.buf;
  g_last_scores = (uintptr_t)sv.buf;
  g_last_weights = have_w ? (uintptr_t)wv.buf : 0;
  clm_ranking_options o;
  clm_ranking_options_init(&o);
  if (budget)
    o.memory_budget = budget;
  o.curve_points = curve_points;
  o.scores_are_probs = probs;
  const clm_dtype dt = buffer_type(&sv) == 'd' ? CLM_DTYPE_F64 : CLM_DTYPE_F32;
  clm_ranking_result r;
  memset(&r, 0, sizeof r);
  clm_error err;
  memset(&err, 0, sizeof err);
  clm_status st = CLM_OK;
  ranking_arrays src = {lv.buf, sv.buf,
                        (size_t)lv.itemsize * (multilabel ? k : 1),
                        (size_t)sv.itemsize * k, weights_of(&wv, have_w)};
  Py_BEGIN_ALLOW_THREADS if (multilabel) {
    /* One source over the arrays; float64 weights converted per batch. */
    o.batch_rows = !src.ws.f64                   ? (uint64_t)n
                   : (uint64_t)n < CONVERT_BATCH ? (uint64_t)n
                                                 : CONVERT_BATCH;
    if (src.ws.f64 &&
        !(src.ws.scratch = malloc(sizeof(float) * (size_t)o.batch_rows)))
      st = CLM_ERR_OUT_OF_MEMORY;
    clm_ranking_source source = {&src,
                                 (uint64_t)n,
                                 k,
                                 dt,
                                 0,
                                 ranking_read,
                                 have_w ? ranking_read_weights : NULL,
                                 1};
    if (st == CLM_OK)
      st = clm_ranking_compute(ctx, &source, &o, &r, &err);
    free(src.ws.scratch);
  }
  else if (!have_w) st = clm_ranking_compute_arrays(
      ctx, lv.buf, sv.buf, dt, (uint64_t)n, k, softmax, &o, &r, &err);
  else if (!src.ws.f64) st = clm_ranking_compute_arrays_weighted(
      ctx, lv.buf, sv.buf, wv.buf, dt, (uint64_t)n, k, softmax, &o, &r, &err);
  else {
    /* float64 weights: a source over the arrays whose read_weights
       converts each batch (the same definition, bit-identical for any
       batch size). */
    o.batch_rows = (uint64_t)n < CONVERT_BATCH ? (uint64_t)n : CONVERT_BATCH;
    src.ws.scratch = malloc(sizeof(float) * (size_t)o.batch_rows);
    if (!src.ws.scratch)
      st = CLM_ERR_OUT_OF_MEMORY;
    clm_ranking_source source = {
        &src,         (uint64_t)n,          k, dt, softmax,
        ranking_read, ranking_read_weights, 0};
    if (st == CLM_OK)
      st = clm_ranking_compute(ctx, &source, &o, &r, &err);
    free(src.ws.scratch);
  }
  Py_END_ALLOW_THREADS if (st != CLM_OK) {
    raise_status(st, &err);
    goto done;
  }
  PyObject *classes = PyList_New((Py_ssize_t)r.k);
  for (uint32_t c = 0; classes && c < r.k; ++c) {
    PyObject *d = ranking_class_dict(&r.classes[c]);
    if (!d) {
      Py_CLEAR(classes);
      break;
    }
    PyList_SET_ITEM(classes, (Py_ssize_t)c, d);
  }
  if (classes)
    result = Py_BuildValue(
        "{s:K,s:I,s:O,s:N,s:N,s:N,s:N,s:N,s:I,s:K}", "n",
        (unsigned long long)r.n, "k", r.k, "exact",
        r.exact ? Py_True : Py_False, "classes", classes, "roc_auc_macro",
        PyFloat_FromDouble(r.roc_auc_macro), "roc_auc_weighted",
        PyFloat_FromDouble(r.roc_auc_weighted), "average_precision_macro",
        PyFloat_FromDouble(r.average_precision_macro),
        "average_precision_weighted",
        PyFloat_FromDouble(r.average_precision_weighted), "passes", r.passes,
        "memory_bytes", (unsigned long long)r.memory_bytes);
  clm_ranking_result_release(&r);
done:
  PyBuffer_Release(&lv);
  PyBuffer_Release(&sv);
  if (have_w)
    PyBuffer_Release(&wv);
  return result;
}

static PyObject *mod_last_buffers(PyObject *Py_UNUSED(m),
                                  PyObject *Py_UNUSED(ignored)) {
  return Py_BuildValue("(KK)", (unsigned long long)g_last_labels,
                       (unsigned long long)g_last_scores);
}

static PyObject *mod_last_weights(PyObject *Py_UNUSED(m),
                                  PyObject *Py_UNUSED(ignored)) {
  return PyLong_FromUnsignedLongLong((unsigned long long)g_last_weights);
}

/* Rebuilds a state from clm_*_state_save bytes (any family this module
 * wraps); corrupted, truncated or newer data raise ValueError. */
static PyObject *mod_state_from_bytes(PyObject *Py_UNUSED(m), PyObject *arg) {
  Py_buffer view;
  if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) != 0)
    return NULL;
  clm_error err;
  clm_state_family fam;
  clm_status st = clm_state_info(view.buf, (size_t)view.len, &fam, NULL, &err);
  PyTypeObject *type = NULL;
  if (st == CLM_OK)
    type = fam == CLM_STATE_BINARY        ? &BinaryStateType
           : fam == CLM_STATE_MULTICLASS  ? &MulticlassStateType
           : fam == CLM_STATE_CALIBRATION ? &CalibrationStateType
           : fam == CLM_STATE_MULTILABEL  ? &MultilabelStateType
                                          : NULL;
  if (st == CLM_OK && !type) {
    PyBuffer_Release(&view);
    PyErr_Format(PyExc_ValueError, "a saved %s state has no Python type",
                 clm_state_family_name(fam));
    return NULL;
  }
  PyObject *obj = st == CLM_OK ? PyType_GenericNew(type, NULL, NULL) : NULL;
  if (obj) {
    const uint8_t *b = view.buf;
    const size_t n = (size_t)view.len;
    st =
        fam == CLM_STATE_BINARY
            ? clm_binary_state_load(b, n, &((BinaryStateObject *)obj)->st, &err)
        : fam == CLM_STATE_MULTICLASS
            ? clm_multiclass_state_load(
                  b, n, &((MulticlassStateObject *)obj)->st, &err)
        : fam == CLM_STATE_CALIBRATION
            ? clm_calibration_state_load(
                  b, n, &((CalibrationStateObject *)obj)->st, &err)
            : clm_multilabel_state_load(
                  b, n, &((MultilabelStateObject *)obj)->st, &err);
  }
  PyBuffer_Release(&view);
  if (st != CLM_OK) {
    Py_XDECREF(obj);
    PyErr_Format(PyExc_ValueError, "cannot load the saved state: %s",
                 err.message[0] ? err.message : clm_status_str(st));
    return NULL;
  }
  return obj;
}

static PyMethodDef module_methods[] = {
    {"devices", mod_devices, METH_NOARGS,
     "Every OpenCL device of every platform, as dicts."},
    {"init", (PyCFunction)(void (*)(void))mod_init,
     METH_VARARGS | METH_KEYWORDS,
     "init(device=None): create the process-wide context (device: an index "
     "or a name substring; None: $CLMETRICS_DEVICE, else the first GPU, "
     "else the first device) and return its device."},
    {"context_info", mod_context_info, METH_NOARGS,
     "The context's device, start-up time and build options; None before "
     "the first evaluation."},
    {"ranking", (PyCFunction)(void (*)(void))mod_ranking,
     METH_VARARGS | METH_KEYWORDS,
     "ranking(labels, scores, k=1, softmax=False, curve_points=0, "
     "memory_budget=0, scores_are_probs=False, weights=None, "
     "multilabel=False): exact ROC-AUC "
     "and average precision (clm_ranking_compute_arrays, or its _weighted "
     "form with n float32 sample weights) as a dict; k == 1: bool/uint8 "
     "0/1 labels and n scores, k >= 2: int32 classes and an n x k matrix "
     "(multilabel: an n x k 0/1 indicator matrix, per-column labels) "
     "(float32/float64, read in place). Curves as bytes of (threshold f8, "
     "tp u8, fp u8, tp_weight f8, fp_weight f8) records, descending "
     "thresholds."},
    {"state_from_bytes", mod_state_from_bytes, METH_O,
     "state_from_bytes(b): the state saved in b by a state's to_bytes() "
     "(clm_*_state_load: versioned, checksummed; ValueError when b is "
     "corrupted, truncated, of another version or family)."},
    {"_last_buffers", mod_last_buffers, METH_NOARGS,
     "Debug: addresses of the (labels, scores) buffers the last update on "
     "this thread handed to the library."},
    {"_last_weights", mod_last_weights, METH_NOARGS,
     "Debug: address of the weights buffer the last update on this thread "
     "handed to the library (0: none)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "_core",
    "clmetrics' C extension: the OpenCL engine over the buffer protocol.",
    -1,
    module_methods,
    NULL,
    NULL,
    NULL,
    NULL};

PyMODINIT_FUNC PyInit__core(void) {
  if (!g_lock) {
    g_lock = PyThread_allocate_lock();
    if (!g_lock)
      return PyErr_NoMemory();
  }
  if (PyType_Ready(&BinaryStateType) < 0 ||
      PyType_Ready(&MulticlassStateType) < 0 ||
      PyType_Ready(&CalibrationStateType) < 0 ||
      PyType_Ready(&MultilabelStateType) < 0)
    return NULL;
  PyObject *m = PyModule_Create(&module_def);
  if (!m)
    return NULL;
  if (PyModule_AddObjectRef(m, "BinaryState", (PyObject *)&BinaryStateType) <
          0 ||
      PyModule_AddObjectRef(m, "MulticlassState",
                            (PyObject *)&MulticlassStateType) < 0 ||
      PyModule_AddObjectRef(m, "CalibrationState",
                            (PyObject *)&CalibrationStateType) < 0 ||
      PyModule_AddObjectRef(m, "MultilabelState",
                            (PyObject *)&MultilabelStateType) < 0 ||
      PyModule_AddStringConstant(m, "version", clm_version_string()) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
