/* Binary evaluation, host side: chunking, launches, partial sums. */
#include "internal.h"

#include <float.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CLM_NO_BAD 0xffffffffu

clm_status clm_binary_state_init(clm_binary_state *state, clm_scores_kind kind,
                                 double threshold, uint64_t n_features) {
  if (!state)
    return CLM_ERR_INVALID_ARGUMENT;
  memset(state, 0, sizeof *state);
  if (kind != CLM_SCORES_LOGITS && kind != CLM_SCORES_PROBS)
    return CLM_ERR_INVALID_ARGUMENT;
  if (!(threshold >= 0.0 && threshold <= 1.0))
    return CLM_ERR_INVALID_ARGUMENT;
  state->kind = kind;
  state->threshold = threshold;
  if (n_features) {
    state->weight_grad_sum = clm_calloc(n_features, sizeof(double));
    if (!state->weight_grad_sum)
      return CLM_ERR_OUT_OF_MEMORY;
    state->n_features = n_features;
  }
  return CLM_OK;
}

void clm_binary_state_release(clm_binary_state *state) {
  if (!state)
    return;
  free(state->weight_grad_sum);
  memset(state, 0, sizeof *state);
}

clm_status clm_binary_merge(clm_binary_state *dst,
                            const clm_binary_state *src) {
  if (!dst || !src)
    return CLM_ERR_INVALID_ARGUMENT;
  if (dst->kind != src->kind || dst->threshold != src->threshold ||
      dst->n_features != src->n_features)
    return CLM_ERR_STATE_MISMATCH;
  dst->n += src->n;
  dst->tp += src->tp;
  dst->fp += src->fp;
  dst->tn += src->tn;
  dst->fn += src->fn;
  dst->bce_sum += src->bce_sum;
  dst->grad_sum += src->grad_sum;
  for (uint64_t j = 0; j < dst->n_features; ++j)
    dst->weight_grad_sum[j] += src->weight_grad_sum[j];
  return CLM_OK;
}

/* Largest float <= v, so that `x > result` equals `x > v` for every float x
 * (v in real arithmetic as far as the double carries it). */
static float float_floor(double v) {
  if (isinf(v))
    return (float)v;
  float f = (float)v;
  if ((double)f > v)
    f = nextafterf(f, -INFINITY);
  return f;
}

/* The decision threshold in the score's own domain, rounded for an exact
 * float comparison: p > t for probabilities, z > logit(t) for logits. */
static float device_threshold(clm_scores_kind kind, double t) {
  if (kind == CLM_SCORES_PROBS)
    return float_floor(t);
  if (t <= 0.0)
    return -INFINITY;
  if (t >= 1.0)
    return INFINITY;
  return float_floor(log(t) - log1p(-t));
}

static clm_status report_bad_input(const uint8_t *labels, const float *scores,
                                   clm_scores_kind kind, uint64_t i,
                                   uint64_t offset, clm_error *err) {
  const unsigned long long at = (unsigned long long)(offset + i);
  if (labels[i] > 1)
    return clm_fail(err, CLM_ERR_BAD_LABEL, (int64_t)at, labels[i],
                    "index %llu: label %u is not 0 or 1", at,
                    (unsigned)labels[i]);
  double v = scores[i];
  if (isnan(v))
    return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                    "index %llu: score is NaN", at);
  if (kind == CLM_SCORES_PROBS)
    return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                    "index %llu: probability %.9g is outside [0, 1]", at, v);
  return clm_fail(err, CLM_ERR_BAD_SCORE, (int64_t)at, v,
                  "index %llu: invalid score %.9g", at, v);
}

/* Host-side scratch for one update call. */
struct chunk_scratch {
  float *partials;  /* 2 per work-group */
  float *wpartials; /* n_features per weight-gradient group */
};

/* Runs one chunk (n <= ctx->chunk_samples) and adds it to `acc`. `offset`
 * is the chunk's position in the caller's arrays, for error messages.
 * On host-unified devices the kernels read the caller's scores, labels and
 * features and write the caller's grad_out in place; otherwise they go
 * through the workspace's device buffers. */
static clm_status run_chunk(clm_context *ctx, clm_binary_state *acc,
                            const uint8_t *labels, const float *scores,
                            uint32_t n, const float *features, float *grad_out,
                            uint64_t offset, float thr,
                            struct chunk_scratch *scratch, clm_error *err) {
  struct clm_workspace *ws = &ctx->ws;
  const size_t ls = ctx->local_size;
  const size_t tile = ls * ctx->items * ctx->vec_width;
  const size_t groups = (n + tile - 1) / tile;
  const uint64_t d = acc->n_features;
  const int need_grad = grad_out != NULL || d > 0;
  const size_t rows = ctx->wg_rows;
  const size_t wgroups = d > 0 ? (n + rows - 1) / rows : 0;
  const size_t feat_bytes = (size_t)n * d * sizeof(float);
  cl_int rc;
  clm_status st = CLM_OK;

  /* Zero-copy decisions, per array. */
  const int zc_in =
      n > 0 && clm_can_wrap(ctx, scores) && clm_can_wrap(ctx, labels);
  const int zc_grad = n > 0 && grad_out && clm_can_wrap(ctx, grad_out);
  const int zc_feat = wgroups > 0 && clm_can_wrap(ctx, features);
  cl_mem w_scores = NULL, w_labels = NULL, w_grad = NULL, w_feat = NULL;
  cl_mem m_scores, m_labels, m_grad, m_feat;
  cl_uint counters[4];

  if (zc_in) {
    w_scores = clm_wrap_host(ctx, CL_MEM_READ_ONLY, scores,
                             (size_t)n * sizeof(float), &rc);
    if (rc == CL_SUCCESS)
      w_labels = clm_wrap_host(ctx, CL_MEM_READ_ONLY, labels, n, &rc);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR inputs)");
      goto out;
    }
  } else {
    st = clm_ensure_buffer(ctx, &ws->scores, &ws->scores_cap,
                           (size_t)n * sizeof(float), CL_MEM_READ_ONLY, err);
    if (st == CLM_OK)
      st = clm_ensure_buffer(ctx, &ws->labels, &ws->labels_cap, n,
                             CL_MEM_READ_ONLY, err);
    if (st != CLM_OK)
      goto out;
  }
  if (zc_grad) {
    w_grad = clm_wrap_host(ctx, CL_MEM_READ_WRITE, grad_out,
                           (size_t)n * sizeof(float), &rc);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR gradient)");
      goto out;
    }
  } else if (need_grad) {
    st = clm_ensure_buffer(ctx, &ws->grad, &ws->grad_cap,
                           (size_t)n * sizeof(float), CL_MEM_READ_WRITE, err);
    if (st != CLM_OK)
      goto out;
  }
  if (zc_feat) {
    w_feat = clm_wrap_host(ctx, CL_MEM_READ_ONLY, features, feat_bytes, &rc);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clCreateBuffer(USE_HOST_PTR features)");
      goto out;
    }
  } else if (wgroups > 0) {
    st = clm_ensure_buffer(ctx, &ws->features, &ws->features_cap, feat_bytes,
                           CL_MEM_READ_ONLY, err);
    if (st != CLM_OK)
      goto out;
  }
  st = clm_ensure_buffer(ctx, &ws->partials, &ws->partials_cap,
                         groups * 2 * sizeof(float), CL_MEM_READ_WRITE, err);
  if (st == CLM_OK)
    st = clm_ensure_buffer(ctx, &ws->counters, &ws->counters_cap,
                           4 * sizeof(cl_uint), CL_MEM_READ_WRITE, err);
  if (st == CLM_OK && wgroups > 0)
    st = clm_ensure_buffer(ctx, &ws->wpartials, &ws->wpartials_cap,
                           wgroups * d * sizeof(float), CL_MEM_READ_WRITE, err);
  if (st != CLM_OK)
    goto out;
  m_scores = zc_in ? w_scores : ws->scores;
  m_labels = zc_in ? w_labels : ws->labels;
  m_grad = zc_grad ? w_grad : need_grad ? ws->grad : ws->partials;
  m_feat = zc_feat ? w_feat : ws->features;

  const cl_uint init[4] = {0, 0, 0, CLM_NO_BAD};
  rc = clEnqueueWriteBuffer(ctx->queue, ws->counters, CL_FALSE, 0, sizeof init,
                            init, 0, NULL, NULL);
  if (rc != CL_SUCCESS) {
    st = clm_fail_cl(err, rc, "clEnqueueWriteBuffer(counters)");
    goto out;
  }
  if (n > 0 && !zc_in) {
    rc = clEnqueueWriteBuffer(ctx->queue, ws->scores, CL_FALSE, 0,
                              (size_t)n * sizeof(float), scores, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
      rc = clEnqueueWriteBuffer(ctx->queue, ws->labels, CL_FALSE, 0, n, labels,
                                0, NULL, NULL);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clEnqueueWriteBuffer(inputs)");
      goto out;
    }
  }

  cl_kernel k = ctx->k_binary;
  const cl_uint n_arg = n;
  const cl_int probs = acc->kind == CLM_SCORES_PROBS;
  const cl_int write_grad = need_grad;
  rc = clSetKernelArg(k, 0, sizeof(cl_mem), &m_scores);
  rc |= clSetKernelArg(k, 1, sizeof(cl_mem), &m_labels);
  rc |= clSetKernelArg(k, 2, sizeof n_arg, &n_arg);
  rc |= clSetKernelArg(k, 3, sizeof thr, &thr);
  rc |= clSetKernelArg(k, 4, sizeof probs, &probs);
  rc |= clSetKernelArg(k, 5, sizeof write_grad, &write_grad);
  rc |= clSetKernelArg(k, 6, sizeof(cl_mem), &m_grad);
  rc |= clSetKernelArg(k, 7, sizeof(cl_mem), &ws->partials);
  rc |= clSetKernelArg(k, 8, sizeof(cl_mem), &ws->counters);
  rc |= clSetKernelArg(k, 9, 2 * ls * sizeof(cl_float), NULL);
  rc |= clSetKernelArg(k, 10, 4 * ls * sizeof(cl_uint), NULL);
  if (rc != CL_SUCCESS) {
    st = clm_fail_cl(err, rc, "clSetKernelArg(clm_binary)");
    goto out;
  }
  if (groups > 0) {
    const size_t global = groups * ls;
    rc = clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, &ls, 0, NULL,
                                NULL);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clEnqueueNDRangeKernel(clm_binary)");
      goto out;
    }
  }

  if (wgroups > 0) {
    if (!zc_feat) {
      rc = clEnqueueWriteBuffer(ctx->queue, ws->features, CL_FALSE, 0,
                                feat_bytes, features, 0, NULL, NULL);
      if (rc != CL_SUCCESS) {
        st = clm_fail_cl(err, rc, "clEnqueueWriteBuffer(features)");
        goto out;
      }
    }
    cl_kernel kw = ctx->k_weight_grad;
    const cl_uint d_arg = (cl_uint)d, rows_arg = (cl_uint)rows;
    rc = clSetKernelArg(kw, 0, sizeof(cl_mem), &m_grad);
    rc |= clSetKernelArg(kw, 1, sizeof(cl_mem), &m_feat);
    rc |= clSetKernelArg(kw, 2, sizeof n_arg, &n_arg);
    rc |= clSetKernelArg(kw, 3, sizeof d_arg, &d_arg);
    rc |= clSetKernelArg(kw, 4, sizeof rows_arg, &rows_arg);
    rc |= clSetKernelArg(kw, 5, sizeof(cl_mem), &ws->wpartials);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clSetKernelArg(clm_weight_grad)");
      goto out;
    }
    const size_t wls = ctx->wg_local_size;
    const size_t wglobal = wgroups * wls;
    rc = clEnqueueNDRangeKernel(ctx->queue, kw, 1, NULL, &wglobal, &wls, 0,
                                NULL, NULL);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clEnqueueNDRangeKernel(clm_weight_grad)");
      goto out;
    }
  }

  /* Results: small reads are enqueued without blocking; the counters' read
   * blocks and, the queue being in order, completes everything before it. */
  if (groups > 0) {
    rc = clEnqueueReadBuffer(ctx->queue, ws->partials, CL_FALSE, 0,
                             groups * 2 * sizeof(float), scratch->partials, 0,
                             NULL, NULL);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clEnqueueReadBuffer(partials)");
      goto out;
    }
  }
  if (wgroups > 0) {
    rc = clEnqueueReadBuffer(ctx->queue, ws->wpartials, CL_FALSE, 0,
                             wgroups * d * sizeof(float), scratch->wpartials, 0,
                             NULL, NULL);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clEnqueueReadBuffer(weight partials)");
      goto out;
    }
  }
  if (grad_out && n > 0 && !zc_grad) {
    rc =
        clEnqueueReadBuffer(ctx->queue, ws->grad, CL_FALSE, 0,
                            (size_t)n * sizeof(float), grad_out, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clEnqueueReadBuffer(gradient)");
      goto out;
    }
  }
  if (zc_grad) {
    /* Mapping a USE_HOST_PTR buffer makes the kernel's writes visible in
     * the caller's memory (no copy on PoCL: the pointers are equal). */
    void *p = clEnqueueMapBuffer(ctx->queue, w_grad, CL_FALSE, CL_MAP_READ, 0,
                                 (size_t)n * sizeof(float), 0, NULL, NULL, &rc);
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clEnqueueMapBuffer(gradient)");
      goto out;
    }
    if (p != (void *)grad_out) {
      /* The driver kept a copy after all: bring it over after the map. */
      rc = clFinish(ctx->queue);
      if (rc == CL_SUCCESS)
        memcpy(grad_out, p, (size_t)n * sizeof(float));
    }
    cl_int urc = clEnqueueUnmapMemObject(ctx->queue, w_grad, p, 0, NULL, NULL);
    if (urc != CL_SUCCESS) /* a mapped buffer is never freed: try once more */
      clEnqueueUnmapMemObject(ctx->queue, w_grad, p, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
      rc = urc;
    if (rc != CL_SUCCESS) {
      st = clm_fail_cl(err, rc, "clFinish/clEnqueueUnmapMemObject(gradient)");
      goto out;
    }
  }
  rc = clEnqueueReadBuffer(ctx->queue, ws->counters, CL_TRUE, 0,
                           sizeof counters, counters, 0, NULL, NULL);
  if (rc != CL_SUCCESS) {
    st = clm_fail_cl(err, rc, "clEnqueueReadBuffer(counters)");
    goto out;
  }
  if (counters[3] != CLM_NO_BAD) {
    st = report_bad_input(labels, scores, acc->kind, counters[3], offset, err);
    goto out;
  }

  /* Host sums in double, in group order: deterministic. */
  double loss = 0.0, gsum = 0.0;
  for (size_t g = 0; g < groups; ++g) {
    loss += scratch->partials[2 * g];
    gsum += scratch->partials[2 * g + 1];
  }
  for (size_t g = 0; g < wgroups; ++g)
    for (uint64_t j = 0; j < d; ++j)
      acc->weight_grad_sum[j] += scratch->wpartials[g * d + j];
  const uint64_t pos = counters[0], pred = counters[1], tp = counters[2];
  acc->n += n;
  acc->tp += tp;
  acc->fp += pred - tp;
  acc->fn += pos - tp;
  acc->tn += n - pos - (pred - tp);
  acc->bce_sum += loss;
  acc->grad_sum += gsum;
out:
  if (st != CLM_OK)
    clFinish(ctx->queue); /* nothing may still use the caller's memory */
  clm_release_mem(&w_feat);
  clm_release_mem(&w_grad);
  clm_release_mem(&w_labels);
  clm_release_mem(&w_scores);
  return st;
}

clm_status clm_binary_update(clm_context *ctx, clm_binary_state *state,
                             const uint8_t *labels, const float *scores,
                             uint64_t n, const float *features, float *grad_out,
                             clm_error *err) {
  clm_error_clear(err);
  if (!ctx || !state || (n > 0 && (!labels || !scores)))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_binary_update: NULL argument");
  if (state->n_features > 0 && n > 0 && !features)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_binary_update: the state expects %llu features per "
                    "sample, but no feature matrix was given",
                    (unsigned long long)state->n_features);
  const uint64_t d = state->n_features;
  uint64_t chunk = ctx->chunk_samples;
  if (d > 0) {
    /* The feature block of one chunk must fit one device allocation. */
    uint64_t by_alloc = ctx->info.max_alloc_bytes / (d * sizeof(float));
    if (by_alloc == 0)
      return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                      "one row of %llu features exceeds the device's largest "
                      "allocation (%llu bytes)",
                      (unsigned long long)d,
                      (unsigned long long)ctx->info.max_alloc_bytes);
    if (chunk > by_alloc)
      chunk = by_alloc;
  }
  const uint64_t this_chunk = n < chunk ? n : chunk;
  const size_t tile = ctx->local_size * ctx->items * ctx->vec_width;
  const size_t max_groups = (this_chunk + tile - 1) / tile + 1;
  const size_t max_wgroups =
      d > 0 ? (this_chunk + ctx->wg_rows - 1) / ctx->wg_rows + 1 : 0;

  clm_binary_state acc;
  clm_status st = clm_binary_state_init(&acc, state->kind, state->threshold, d);
  if (st != CLM_OK)
    return clm_fail(err, st, -1, 0, "cannot initialise a binary state");
  struct chunk_scratch scratch = {0};
  scratch.partials = clm_malloc(max_groups * 2 * sizeof(float));
  if (max_wgroups)
    scratch.wpartials = clm_malloc(max_wgroups * d * sizeof(float));
  if (!scratch.partials || (max_wgroups && !scratch.wpartials)) {
    st = clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                  "cannot allocate host scratch for %zu work-groups",
                  max_groups);
    goto done;
  }
  const float thr = device_threshold(state->kind, state->threshold);
  for (uint64_t off = 0; off < n; off += chunk) {
    const uint64_t m = n - off < chunk ? n - off : chunk;
    st = run_chunk(ctx, &acc, labels + off, scores + off, (uint32_t)m,
                   features ? features + off * d : NULL,
                   grad_out ? grad_out + off : NULL, off, thr, &scratch, err);
    if (st != CLM_OK)
      goto done;
    clm_progress(ctx, off + m, n);
  }
  st = clm_binary_merge(state, &acc);
done:
  free(scratch.wpartials);
  free(scratch.partials);
  clm_binary_state_release(&acc);
  return st;
}
