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

/* The value an undefined ratio (0/0) takes under a zero-division policy. */
double clm_zero_division_value(clm_zero_division zd);

/* num/den, or the policy's value (with `bit` set in *undefined) when den is
 * 0. Shared by the binary and multi-class metrics. */
double clm_ratio(uint64_t num, uint64_t den, clm_zero_division zd, unsigned bit,
                 unsigned *undefined);

/* Clears `err` to the success state. */
void clm_error_clear(clm_error *err);

/* ---- OpenCL context internals ---------------------------------------- */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <pthread.h>

/* ---- Task families -------------------------------------------------------
 * Each family owns its kernels and device buffers in a workspace created on
 * first use (under the context's lock) and freed with the context. A new
 * family is its folder under src/tasks/, its .cl file in
 * cmake/sources.cmake and one line in src/tasks/registry.c. */
typedef enum clm_family_id {
  CLM_FAMILY_BINARY,
  CLM_FAMILY_MULTICLASS,
  CLM_FAMILY_RANKING,
  CLM_FAMILY_CALIBRATION,
  CLM_FAMILY_MULTILABEL,
  CLM_FAMILY_COUNT
} clm_family_id;

typedef struct clm_family {
  const char *name;
  size_t workspace_size;
  /* Creates the family's kernels into a zeroed workspace. */
  clm_status (*init)(clm_context *ctx, void *ws, clm_error *err);
  /* Releases buffers and kernels (also after a failed init). */
  void (*release)(void *ws);
} clm_family;

extern const clm_family *const clm_families[CLM_FAMILY_COUNT];

/* The family's workspace, created on first use; NULL with `err` set. */
void *clm_workspace(clm_context *ctx, clm_family_id id, clm_error *err);

/* Creates kernel `name` from the context's program. */
clm_status clm_kernel_create(clm_context *ctx, const char *name, cl_kernel *out,
                             clm_error *err);

/* Releases a kernel and clears the handle. */
void clm_release_kernel(cl_kernel *k);

struct clm_context {
  cl_platform_id platform;
  cl_device_id device;
  cl_context cl;
  cl_command_queue queue;
  cl_command_queue upload_queue; /* host-to-device copies, beside `queue` */
  cl_program program;
  /* Each family's workspace and how to release it (stored with it, so the
   * device layer never calls into the task families). */
  struct {
    void *ws;
    void (*release)(void *ws);
  } family_ws[CLM_FAMILY_COUNT];
  size_t cm_local_size;   /* 1 on CPUs: private histograms, no atomics */
  int cm_force_mode;      /* -1: by local memory; else a strategy (tests) */
  uint64_t flush_samples; /* flush uint32 device counts at least this often */
  clm_device_info info;
  char build_options[256];
  clm_log_fn log;
  void *log_user;
  clm_progress_fn progress;
  void *progress_user;
  /* Launch shape chosen from the device (or forced by options). */
  unsigned vec_width;
  unsigned items;
  int strided;
  size_t local_size;
  size_t wg_local_size;
  uint32_t wg_rows;
  uint64_t chunk_samples;
  int chunk_forced; /* chunk_samples came from the caller */
  /* Zero-copy on host-unified devices: 0 off (copy through device
   * buffers), 1 wrap caller memory (CL_MEM_USE_HOST_PTR) when it is
   * aligned to mem_align, 2 wrap it at any alignment (PoCL uses the pointer
   * as it is). $CLMETRICS_ZERO_COPY=0 forces the copy path. */
  int zero_copy;
  size_t mem_align; /* CL_DEVICE_MEM_BASE_ADDR_ALIGN, in bytes */
  double startup_s;
  /* Held by every call that uses the workspace or the kernels: one context
   * may be shared by threads; their device work runs one call at a time. */
  pthread_mutex_t lock;
  int lock_ready;
};

void clm_log(const clm_context *ctx, clm_log_level level, const char *fmt, ...)
    CLM_PRINTF(3, 4);

/* Rows per work-item of clm_argmax_ce_rows (CLM_ROWS in the kernel). */
#define CLM_ROWS_PER_ITEM 4

/* Reports progress of an update to the caller's callback, if any. */
static inline void clm_progress(const clm_context *ctx, uint64_t done,
                                uint64_t total) {
  if (ctx->progress)
    ctx->progress(ctx->progress_user, done, total);
}

/* Name of an OpenCL error code, e.g. "CL_OUT_OF_RESOURCES". */
const char *clm_cl_error_name(cl_int code);

/* Maps an OpenCL failure to a status, filling `err` with what failed. */
clm_status clm_fail_cl(clm_error *err, cl_int code, const char *what);

/* Kernel arguments set one by one, keeping the first failure (its code and
 * argument index): OR-ing OpenCL codes together would report another
 * error. */
typedef struct clm_kargs {
  cl_kernel kernel;
  cl_int rc;
  cl_uint failed; /* index of the argument that failed */
} clm_kargs;

static inline void clm_karg(clm_kargs *a, cl_uint index, size_t size,
                            const void *value) {
  if (a->rc != CL_SUCCESS)
    return;
  a->rc = clSetKernelArg(a->kernel, index, size, value);
  if (a->rc != CL_SUCCESS)
    a->failed = index;
}

/* CLM_OK, or the first failure as "clSetKernelArg(name, argument i)". */
clm_status clm_kargs_status(const clm_kargs *a, const char *name,
                            clm_error *err);

/* Builds the program from embedded or on-disk sources (program.c). */
clm_status clm_program_build(clm_context *ctx, const char *kernel_dir,
                             clm_error *err);

/* Ensures `*buf` holds at least `bytes`, reallocating when smaller. */
clm_status clm_ensure_buffer(clm_context *ctx, cl_mem *buf, size_t *cap,
                             size_t bytes, cl_mem_flags flags, clm_error *err);

/* Whether `p` may be wrapped zero-copy with CL_MEM_USE_HOST_PTR. */
int clm_can_wrap(const clm_context *ctx, const void *p);

/* A buffer over the caller's memory (zero-copy on host-unified devices). */
cl_mem clm_wrap_host(clm_context *ctx, cl_mem_flags flags, const void *p,
                     size_t bytes, cl_int *rc);

/* Releases a buffer and clears the handle. */
void clm_release_mem(cl_mem *m);

/* Monotonic seconds. */
double clm_now(void);

/* ---- Fault injection (CLM_FAULT_INJECTION builds only) ----------------
 * Every host allocation and the OpenCL calls that can fail at run time go
 * through these names, so a test build can make the Nth call of a kind fail
 * (fault.c; armed by $CLM_FAULT="kind:N" or clm_fault_arm). */
#ifdef CLM_FAULT_INJECTION
/* Makes the nth call of `kind` ("alloc", "buffer", "enqueue", "build",
 * "map") fail; whether an armed fault fired (tests). */
int clm_fault_arm(const char *kind, long n);
int clm_fault_fired(void);
enum clm_fault_kind {
  CLM_FAULT_ALLOC,
  CLM_FAULT_BUFFER,
  CLM_FAULT_ENQUEUE,
  CLM_FAULT_BUILD,
  CLM_FAULT_MAP,
  CLM_FAULT_KINDS
};
void *clm_fault_malloc(size_t n);
void *clm_fault_calloc(size_t n, size_t size);
void *clm_fault_realloc(void *p, size_t n);
char *clm_fault_strdup(const char *s);
cl_mem clm_fault_clCreateBuffer(cl_context c, cl_mem_flags f, size_t n, void *p,
                                cl_int *e);
cl_int clm_fault_clBuildProgram(cl_program p, cl_uint nd, const cl_device_id *d,
                                const char *o,
                                void(CL_CALLBACK *cb)(cl_program, void *),
                                void *u);
cl_int clm_fault_clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k,
                                        cl_uint dim, const size_t *off,
                                        const size_t *g, const size_t *l,
                                        cl_uint ne, const cl_event *w,
                                        cl_event *ev);
cl_int clm_fault_clEnqueueWriteBuffer(cl_command_queue q, cl_mem b, cl_bool blk,
                                      size_t off, size_t n, const void *p,
                                      cl_uint ne, const cl_event *w,
                                      cl_event *ev);
cl_int clm_fault_clEnqueueReadBuffer(cl_command_queue q, cl_mem b, cl_bool blk,
                                     size_t off, size_t n, void *p, cl_uint ne,
                                     const cl_event *w, cl_event *ev);
cl_int clm_fault_clEnqueueFillBuffer(cl_command_queue q, cl_mem b,
                                     const void *pat, size_t ps, size_t off,
                                     size_t n, cl_uint ne, const cl_event *w,
                                     cl_event *ev);
void *clm_fault_clEnqueueMapBuffer(cl_command_queue q, cl_mem b, cl_bool blk,
                                   cl_map_flags f, size_t off, size_t n,
                                   cl_uint ne, const cl_event *w, cl_event *ev,
                                   cl_int *e);
cl_int clm_fault_clEnqueueUnmapMemObject(cl_command_queue q, cl_mem b, void *p,
                                         cl_uint ne, const cl_event *w,
                                         cl_event *ev);
#ifndef CLM_FAULT_IMPLEMENTATION
#define clm_malloc clm_fault_malloc
#define clm_calloc clm_fault_calloc
#define clm_realloc clm_fault_realloc
#define clm_strdup clm_fault_strdup
#define clCreateBuffer clm_fault_clCreateBuffer
#define clBuildProgram clm_fault_clBuildProgram
#define clEnqueueNDRangeKernel clm_fault_clEnqueueNDRangeKernel
#define clEnqueueWriteBuffer clm_fault_clEnqueueWriteBuffer
#define clEnqueueReadBuffer clm_fault_clEnqueueReadBuffer
#define clEnqueueFillBuffer clm_fault_clEnqueueFillBuffer
#define clEnqueueMapBuffer clm_fault_clEnqueueMapBuffer
#define clEnqueueUnmapMemObject clm_fault_clEnqueueUnmapMemObject
#endif
#else
#define clm_malloc malloc
#define clm_calloc calloc
#define clm_realloc realloc
#define clm_strdup strdup
#endif

#endif /* CLM_INTERNAL_H */
