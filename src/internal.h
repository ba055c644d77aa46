/* Internal helpers shared by the library's translation units. */
#ifndef CLM_INTERNAL_H
#define CLM_INTERNAL_H

#include "clmetrics.h"

#include <stdarg.h>

#if defined(__GNUC__)
#define CLM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLM_PRINTF(f, a)
#endif

/* Fills `err` (if non-NULL) and returns `status`, so callers can write
 * `return clm_fail(err, CLM_ERR_IO, -1, 0, "cannot open %s", path);`. */
clm_status clm_fail(clm_error *err, clm_status status, int64_t index,
                    double value, const char *fmt, ...) CLM_PRINTF(5, 6);

/* Clears `err` to the success state. */
void clm_error_clear(clm_error *err);

#endif

/* ---- OpenCL context internals ---------------------------------------- */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

/* Device buffers reused across chunks and calls; grown on demand. */
struct clm_workspace {
  cl_mem scores, labels, grad, partials, counters, features, wpartials;
  /* multi-class */
  cl_mem yt, yp, cm, mstatus, mhits;
  size_t yt_cap, yp_cap, cm_cap, mstatus_cap, mhits_cap;
  size_t scores_cap, labels_cap, grad_cap, partials_cap, features_cap,
      wpartials_cap, counters_cap; /* bytes */
};

struct clm_context {
  cl_platform_id platform;
  cl_device_id device;
  cl_context cl;
  cl_command_queue queue;
  cl_program program;
  cl_kernel k_binary;
  cl_kernel k_weight_grad;
  cl_kernel k_confusion;
  cl_kernel k_argmax_ce;
  size_t cm_local_size; /* 1 on CPUs: private histograms, no atomics */
  int cm_force_mode;    /* -1: by local memory; else a strategy (tests) */
  uint64_t flush_samples; /* flush uint32 device counts at least this often */
  clm_device_info info;
  char build_options[256];
  clm_log_fn log;
  void *log_user;
  /* Launch shape chosen from the device (or forced by options). */
  unsigned vec_width;
  unsigned items;
  int strided;
  size_t local_size;
  size_t wg_local_size;
  uint32_t wg_rows;
  uint64_t chunk_samples;
  /* Zero-copy on host-unified devices: 0 off (copy through device
   * buffers), 1 wrap caller memory (CL_MEM_USE_HOST_PTR) when it is
   * aligned to mem_align, 2 wrap it at any alignment (PoCL uses the pointer
   * as it is). $CLMETRICS_ZERO_COPY=0 forces the copy path. */
  int zero_copy;
  size_t mem_align; /* CL_DEVICE_MEM_BASE_ADDR_ALIGN, in bytes */
  double startup_s;
  struct clm_workspace ws;
};

void clm_log(const clm_context *ctx, clm_log_level level, const char *fmt, ...)
    CLM_PRINTF(3, 4);

/* Name of an OpenCL error code, e.g. "CL_OUT_OF_RESOURCES". */
const char *clm_cl_error_name(cl_int code);

/* Maps an OpenCL failure to a status, filling `err` with what failed. */
clm_status clm_fail_cl(clm_error *err, cl_int code, const char *what);

/* Builds the program from embedded or on-disk sources (program.c). */
clm_status clm_program_build(clm_context *ctx, const char *kernel_dir,
                             clm_error *err);

/* Ensures `*buf` holds at least `bytes`, reallocating when smaller. */
clm_status clm_ensure_buffer(clm_context *ctx, cl_mem *buf, size_t *cap,
                             size_t bytes, cl_mem_flags flags, clm_error *err);

/* Releases a buffer and clears the handle. */
void clm_release_mem(cl_mem *m);

/* Monotonic seconds. */
double clm_now(void);
