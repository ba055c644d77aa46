/* Device discovery and selection, context/queue creation, launch shape. */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLM_MAX_PLATFORMS 16
#define CLM_MAX_DEVICES 64
/* CL_PLATFORM_NOT_FOUND_KHR from cl_icd.h, returned by ICD loaders. */
#define CLM_PLATFORM_NOT_FOUND (-1001)

double clm_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void clm_log(const clm_context *ctx, clm_log_level level, const char *fmt,
             ...) {
  if (!ctx || !ctx->log)
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ctx->log(ctx->log_user, level, msg);
}

const char *clm_cl_error_name(cl_int code) {
  switch (code) {
#define CASE(c)                                                                \
  case c:                                                                      \
    return #c;
    CASE(CL_SUCCESS)
    CASE(CL_DEVICE_NOT_FOUND)
    CASE(CL_DEVICE_NOT_AVAILABLE)
    CASE(CL_COMPILER_NOT_AVAILABLE)
    CASE(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    CASE(CL_OUT_OF_RESOURCES)
    CASE(CL_OUT_OF_HOST_MEMORY)
    CASE(CL_BUILD_PROGRAM_FAILURE)
    CASE(CL_INVALID_VALUE)
    CASE(CL_INVALID_PLATFORM)
    CASE(CL_INVALID_DEVICE)
    CASE(CL_INVALID_CONTEXT)
    CASE(CL_INVALID_COMMAND_QUEUE)
    CASE(CL_INVALID_MEM_OBJECT)
    CASE(CL_INVALID_BUILD_OPTIONS)
    CASE(CL_INVALID_PROGRAM)
    CASE(CL_INVALID_PROGRAM_EXECUTABLE)
    CASE(CL_INVALID_KERNEL_NAME)
    CASE(CL_INVALID_KERNEL)
    CASE(CL_INVALID_ARG_INDEX)
    CASE(CL_INVALID_ARG_VALUE)
    CASE(CL_INVALID_ARG_SIZE)
    CASE(CL_INVALID_KERNEL_ARGS)
    CASE(CL_INVALID_WORK_DIMENSION)
    CASE(CL_INVALID_WORK_GROUP_SIZE)
    CASE(CL_INVALID_WORK_ITEM_SIZE)
    CASE(CL_INVALID_GLOBAL_OFFSET)
    CASE(CL_INVALID_EVENT_WAIT_LIST)
    CASE(CL_INVALID_OPERATION)
    CASE(CL_INVALID_BUFFER_SIZE)
    CASE(CL_INVALID_GLOBAL_WORK_SIZE)
#undef CASE
  default:
    return "unknown OpenCL error";
  }
}

clm_status clm_kargs_status(const clm_kargs *a, const char *name,
                            clm_error *err) {
  if (a->rc == CL_SUCCESS)
    return CLM_OK;
  char what[128];
  snprintf(what, sizeof what, "clSetKernelArg(%s, argument %u)", name,
           (unsigned)a->failed);
  return clm_fail_cl(err, a->rc, what);
}

clm_status clm_fail_cl(clm_error *err, cl_int code, const char *what) {
  clm_status st =
      (code == CL_OUT_OF_HOST_MEMORY ||
       code == CL_MEM_OBJECT_ALLOCATION_FAILURE || code == CL_OUT_OF_RESOURCES)
          ? CLM_ERR_OUT_OF_MEMORY
          : CLM_ERR_OPENCL;
  return clm_fail(err, st, -1, 0, "%s failed: %s (%d)", what,
                  clm_cl_error_name(code), (int)code);
}

static void device_string(cl_device_id dev, cl_device_info what, char *out,
                          size_t cap) {
  out[0] = '\0';
  if (clGetDeviceInfo(dev, what, cap, out, NULL) != CL_SUCCESS)
    snprintf(out, cap, "?");
  out[cap - 1] = '\0';
  /* Some drivers pad names with spaces. */
  size_t len = strlen(out);
  while (len && isspace((unsigned char)out[len - 1]))
    out[--len] = '\0';
}

static void describe_device(cl_platform_id plat, cl_device_id dev,
                            unsigned index, unsigned pindex,
                            clm_device_info *info) {
  memset(info, 0, sizeof *info);
  info->index = index;
  info->platform_index = pindex;
  if (clGetPlatformInfo(plat, CL_PLATFORM_NAME, sizeof info->platform,
                        info->platform, NULL) != CL_SUCCESS)
    snprintf(info->platform, sizeof info->platform, "?");
  info->platform[sizeof info->platform - 1] = '\0';
  device_string(dev, CL_DEVICE_NAME, info->name, sizeof info->name);
  device_string(dev, CL_DEVICE_VERSION, info->version, sizeof info->version);
  device_string(dev, CL_DRIVER_VERSION, info->driver, sizeof info->driver);
  cl_device_type type = 0;
  clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
  snprintf(info->type, sizeof info->type, "%s",
           (type & CL_DEVICE_TYPE_GPU)           ? "GPU"
           : (type & CL_DEVICE_TYPE_CPU)         ? "CPU"
           : (type & CL_DEVICE_TYPE_ACCELERATOR) ? "accelerator"
                                                 : "other");
  cl_uint cu = 0;
  clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
  info->compute_units = cu;
  cl_ulong v = 0;
  clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof v, &v, NULL);
  info->global_mem_bytes = v;
  v = 0;
  clGetDeviceInfo(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof v, &v, NULL);
  info->max_alloc_bytes = v;
  v = 0;
  clGetDeviceInfo(dev, CL_DEVICE_LOCAL_MEM_SIZE, sizeof v, &v, NULL);
  info->local_mem_bytes = v;
  cl_bool unified = CL_FALSE;
  clGetDeviceInfo(dev, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified,
                  NULL);
  info->host_unified_memory = unified == CL_TRUE;
}

/* Enumerates all devices of all platforms into parallel arrays. */
static clm_status enumerate(cl_platform_id *plats, cl_device_id *devs,
                            unsigned *dev_plat, size_t *ndev, clm_error *err) {
  cl_uint np = 0;
  cl_int rc = clGetPlatformIDs(CLM_MAX_PLATFORMS, plats, &np);
  if (rc == CLM_PLATFORM_NOT_FOUND || (rc == CL_SUCCESS && np == 0))
    return clm_fail(err, CLM_ERR_NO_PLATFORM, -1, 0,
                    "no OpenCL platform found (install an OpenCL driver, "
                    "e.g. Debian's pocl-opencl-icd)");
  if (rc != CL_SUCCESS)
    return clm_fail_cl(err, rc, "clGetPlatformIDs");
  if (np > CLM_MAX_PLATFORMS)
    np = CLM_MAX_PLATFORMS;
  size_t total = 0;
  for (cl_uint p = 0; p < np && total < CLM_MAX_DEVICES; ++p) {
    cl_uint nd = 0;
    rc = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL,
                        (cl_uint)(CLM_MAX_DEVICES - total), devs + total, &nd);
    if (rc == CL_DEVICE_NOT_FOUND)
      continue;
    if (rc != CL_SUCCESS)
      return clm_fail_cl(err, rc, "clGetDeviceIDs");
    if (nd > CLM_MAX_DEVICES - total)
      nd = (cl_uint)(CLM_MAX_DEVICES - total);
    for (cl_uint d = 0; d < nd; ++d)
      dev_plat[total + d] = p;
    total += nd;
  }
  if (total == 0)
    return clm_fail(err, CLM_ERR_NO_DEVICE, -1, 0,
                    "OpenCL platforms found, but no device");
  *ndev = total;
  return CLM_OK;
}

clm_status clm_devices_list(clm_device_info *out, size_t capacity,
                            size_t *count, clm_error *err) {
  clm_error_clear(err);
  if (!count || (capacity && !out))
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_devices_list: NULL argument");
  *count = 0;
  cl_platform_id plats[CLM_MAX_PLATFORMS];
  cl_device_id devs[CLM_MAX_DEVICES];
  unsigned dev_plat[CLM_MAX_DEVICES];
  size_t n = 0;
  clm_status st = enumerate(plats, devs, dev_plat, &n, err);
  if (st != CLM_OK)
    return st;
  for (size_t i = 0; i < n && i < capacity; ++i)
    describe_device(plats[dev_plat[i]], devs[i], (unsigned)i, dev_plat[i],
                    &out[i]);
  *count = n;
  return CLM_OK;
}

static int contains_nocase(const char *hay, const char *needle) {
  size_t hn = strlen(hay), nn = strlen(needle);
  for (size_t i = 0; i + nn <= hn; ++i) {
    size_t j = 0;
    while (j < nn && tolower((unsigned char)hay[i + j]) ==
                         tolower((unsigned char)needle[j]))
      ++j;
    if (j == nn)
      return 1;
  }
  return 0;
}

/* Picks a device index for `spec`: an index, a name substring, or NULL. */
static clm_status select_device(const char *spec, cl_platform_id *plats,
                                cl_device_id *devs, unsigned *dev_plat,
                                size_t n, size_t *chosen, clm_error *err) {
  if (spec && *spec) {
    /* An index is digits only: strtoul would also take a sign ("-1" is
     * ULONG_MAX) and leading spaces, and saturate on overflow. */
    const char *p = spec;
    if (*p == '-' || *p == '+')
      ++p;
    size_t digits = strspn(p, "0123456789");
    if (digits && p[digits] == '\0') {
      /* More than 9 digits is out of range anyway (and could overflow). */
      const unsigned long idx = digits > 9 ? n : strtoul(p, NULL, 10);
      if (p != spec || idx >= n)
        return clm_fail(err, CLM_ERR_NO_DEVICE, -1, 0,
                        "device %s %s: %zu device(s), numbered 0 to %zu "
                        "(see `clmetrics devices`)",
                        spec,
                        p != spec ? "is not a device index" : "is out of range",
                        n, n - 1);
      *chosen = idx;
      return CLM_OK;
    }
    for (size_t i = 0; i < n; ++i) {
      clm_device_info info;
      describe_device(plats[dev_plat[i]], devs[i], (unsigned)i, dev_plat[i],
                      &info);
      char full[300];
      snprintf(full, sizeof full, "%s %s", info.platform, info.name);
      if (contains_nocase(full, spec)) {
        *chosen = i;
        return CLM_OK;
      }
    }
    return clm_fail(err, CLM_ERR_NO_DEVICE, -1, 0,
                    "no OpenCL device matches '%s' among %zu device(s) (see "
                    "`clmetrics devices`)",
                    spec, n);
  }
  for (size_t i = 0; i < n; ++i) {
    cl_device_type type = 0;
    clGetDeviceInfo(devs[i], CL_DEVICE_TYPE, sizeof type, &type, NULL);
    if (type & CL_DEVICE_TYPE_GPU) {
      *chosen = i;
      return CLM_OK;
    }
  }
  *chosen = 0;
  return CLM_OK;
}

void clm_context_options_init(clm_context_options *opts) {
  if (opts)
    memset(opts, 0, sizeof *opts);
}

static unsigned pow2_floor(size_t v) {
  unsigned p = 1;
  while ((size_t)p * 2 <= v)
    p *= 2;
  return p;
}

/* Chooses the launch shape: CPUs want contiguous per-work-item tiles of wide
 * vectors and tiny groups; GPUs want interleaved (coalesced) reads. */
/* Samples per launch: per-launch counts must stay below 2^32 and indices
 * in uint, so chunks are capped at 2^30 samples, and by the largest single
 * allocation. */
static void choose_chunk(clm_context *ctx, const clm_context_options *opts) {
  uint64_t chunk = (uint64_t)1 << 24;
  uint64_t by_alloc = ctx->info.max_alloc_bytes / sizeof(float);
  if (by_alloc && chunk > by_alloc)
    chunk = by_alloc;
  ctx->chunk_forced = opts->chunk_samples != 0;
  if (opts->chunk_samples)
    chunk = opts->chunk_samples;
  if (chunk > ((uint64_t)1 << 30))
    chunk = (uint64_t)1 << 30;
  ctx->chunk_samples = chunk;
}

static void choose_zero_copy(clm_context *ctx) {
  /* Host-unified memory (CPUs, integrated GPUs): evaluate the caller's
   * arrays in place instead of copying them. PoCL's CL_MEM_USE_HOST_PTR
   * uses any pointer directly (a misaligned one only gets a debug
   * warning); elsewhere only aligned pointers are wrapped, since drivers
   * may copy misaligned ones behind the scenes. */
  cl_uint align_bits = 0;
  clGetDeviceInfo(ctx->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits,
                  &align_bits, NULL);
  ctx->mem_align = align_bits >= 8 ? align_bits / 8 : 1;
  ctx->zero_copy = 0;
  if (ctx->info.host_unified_memory)
    ctx->zero_copy =
        strstr(ctx->info.platform, "Portable Computing Language") ? 2 : 1;
  const char *zc = getenv("CLMETRICS_ZERO_COPY");
  if (zc && zc[0] == '0' && zc[1] == '\0')
    ctx->zero_copy = 0;
}

static clm_status choose_shape(clm_context *ctx,
                               const clm_context_options *opts,
                               clm_error *err) {
  cl_uint vw = 0;
  clGetDeviceInfo(ctx->device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT,
                  sizeof vw, &vw, NULL);
  size_t max_wg = 1;
  clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg,
                  &max_wg, NULL);
  int is_gpu = strcmp(ctx->info.type, "GPU") == 0;
  /* Developer knob: run the other device type's kernel shape, so that the
   * GPU shape (interleaved float4 reads, 256-wide groups, local atomics) is
   * tested on CPU devices too. */
  const char *shape = getenv("CLMETRICS_SHAPE");
  if (shape && strcmp(shape, "gpu") == 0)
    is_gpu = 1;
  else if (shape && strcmp(shape, "cpu") == 0)
    is_gpu = 0;
  if (is_gpu) {
    ctx->vec_width = 4;
    ctx->items = 8;
    ctx->strided = 1;
    ctx->local_size = 256;
    ctx->wg_local_size = 64;
    ctx->cm_local_size = 256;
  } else {
    ctx->vec_width = vw >= 16  ? 16
                     : vw >= 8 ? 8
                     : vw >= 4 ? 4
                     : vw >= 2 ? 2
                               : 1;
    ctx->items = 32;
    ctx->strided = 0;
    ctx->local_size = 8;
    ctx->wg_local_size = 8;
    ctx->cm_local_size = 1;
  }
  if (opts->local_size) {
    if (opts->local_size & (opts->local_size - 1))
      return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                      "local size %zu is not a power of two", opts->local_size);
    ctx->local_size = opts->local_size;
  }
  if (ctx->local_size > max_wg)
    ctx->local_size = pow2_floor(max_wg);
  if (ctx->cm_local_size > max_wg)
    ctx->cm_local_size = pow2_floor(max_wg);
  if (ctx->wg_local_size > max_wg)
    ctx->wg_local_size = pow2_floor(max_wg);
  ctx->wg_rows = 256;
  if (opts->confusion_strategy < CLM_CONFUSION_AUTO ||
      opts->confusion_strategy > CLM_CONFUSION_PRIVATE)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "unknown confusion strategy %d", opts->confusion_strategy);
  ctx->cm_force_mode = opts->confusion_strategy - 1;
  ctx->flush_samples =
      opts->flush_samples && opts->flush_samples < 0xffffffffULL
          ? opts->flush_samples
          : 0xffffffffULL;

  choose_chunk(ctx, opts);
  choose_zero_copy(ctx);
  return CLM_OK;
}

clm_status clm_context_create(const clm_context_options *opts_in,
                              clm_context **out, clm_error *err) {
  clm_error_clear(err);
  if (!out)
    return clm_fail(err, CLM_ERR_INVALID_ARGUMENT, -1, 0,
                    "clm_context_create: NULL output");
  *out = NULL;
  double t0 = clm_now();
  clm_context_options defaults;
  clm_context_options_init(&defaults);
  const clm_context_options *opts = opts_in ? opts_in : &defaults;

  cl_platform_id plats[CLM_MAX_PLATFORMS];
  cl_device_id devs[CLM_MAX_DEVICES];
  unsigned dev_plat[CLM_MAX_DEVICES];
  size_t n = 0, chosen = 0;
  clm_status st = enumerate(plats, devs, dev_plat, &n, err);
  if (st != CLM_OK)
    return st;
  const char *spec = opts->device ? opts->device : getenv("CLMETRICS_DEVICE");
  st = select_device(spec, plats, devs, dev_plat, n, &chosen, err);
  if (st != CLM_OK)
    return st;

  clm_context *ctx = clm_calloc(1, sizeof *ctx);
  if (!ctx)
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot allocate the context");
  if (pthread_mutex_init(&ctx->lock, NULL) != 0) {
    free(ctx);
    return clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                    "cannot create the context's lock");
  }
  ctx->lock_ready = 1;
  ctx->log = opts->log;
  ctx->log_user = opts->log_user;
  ctx->progress = opts->progress;
  ctx->progress_user = opts->progress_user;
  ctx->platform = plats[dev_plat[chosen]];
  ctx->device = devs[chosen];
  describe_device(ctx->platform, ctx->device, (unsigned)chosen,
                  dev_plat[chosen], &ctx->info);

  cl_int rc;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                   (cl_context_properties)ctx->platform, 0};
  ctx->cl = clCreateContext(props, 1, &ctx->device, NULL, NULL, &rc);
  if (rc != CL_SUCCESS) {
    st = clm_fail_cl(err, rc, "clCreateContext");
    goto fail;
  }
  ctx->queue = clCreateCommandQueue(ctx->cl, ctx->device, 0, &rc);
  if (rc != CL_SUCCESS) {
    st = clm_fail_cl(err, rc, "clCreateCommandQueue");
    goto fail;
  }
  /* A second in-order queue carries uploads, so that they can overlap with
   * the kernels of the previous chunk on devices with copy engines. */
  ctx->upload_queue = clCreateCommandQueue(ctx->cl, ctx->device, 0, &rc);
  if (rc != CL_SUCCESS) {
    st = clm_fail_cl(err, rc, "clCreateCommandQueue(upload)");
    goto fail;
  }
  st = choose_shape(ctx, opts, err);
  if (st != CLM_OK)
    goto fail;
  const char *kdir =
      opts->kernel_dir ? opts->kernel_dir : getenv("CLMETRICS_KERNEL_DIR");
  st = clm_program_build(ctx, kdir, err);
  if (st != CLM_OK)
    goto fail;
  ctx->startup_s = clm_now() - t0;
  clm_log(ctx, CLM_LOG_DEBUG, "device %s / %s, options %s, startup %.3f s",
          ctx->info.platform, ctx->info.name, ctx->build_options,
          ctx->startup_s);
  *out = ctx;
  return CLM_OK;
fail:
  clm_context_free(ctx);
  return st;
}

void clm_release_mem(cl_mem *m) {
  if (*m)
    clReleaseMemObject(*m);
  *m = NULL;
}

void clm_context_free(clm_context *ctx) {
  if (!ctx)
    return;
  /* Reverse order of creation. */
  for (int f = CLM_FAMILY_COUNT - 1; f >= 0; --f)
    if (ctx->family_ws[f].ws) {
      ctx->family_ws[f].release(ctx->family_ws[f].ws);
      free(ctx->family_ws[f].ws);
    }
  if (ctx->program)
    clReleaseProgram(ctx->program);
  if (ctx->upload_queue)
    clReleaseCommandQueue(ctx->upload_queue);
  if (ctx->queue)
    clReleaseCommandQueue(ctx->queue);
  if (ctx->cl)
    clReleaseContext(ctx->cl);
  if (ctx->lock_ready)
    pthread_mutex_destroy(&ctx->lock);
  free(ctx);
}

const clm_device_info *clm_context_device(const clm_context *ctx) {
  return ctx ? &ctx->info : NULL;
}

const char *clm_context_build_options(const clm_context *ctx) {
  return ctx ? ctx->build_options : "";
}

double clm_context_startup_seconds(const clm_context *ctx) {
  return ctx ? ctx->startup_s : 0.0;
}

clm_status clm_ensure_buffer(clm_context *ctx, cl_mem *buf, size_t *cap,
                             size_t bytes, cl_mem_flags flags, clm_error *err) {
  if (bytes == 0)
    bytes = 64;
  if (*buf && *cap >= bytes)
    return CLM_OK;
  clm_release_mem(buf);
  *cap = 0;
  cl_int rc;
  *buf = clCreateBuffer(ctx->cl, flags, bytes, NULL, &rc);
  if (rc != CL_SUCCESS) {
    *buf = NULL;
    return clm_fail_cl(err, rc, "clCreateBuffer");
  }
  *cap = bytes;
  return CLM_OK;
}

int clm_can_wrap(const clm_context *ctx, const void *p) {
  if (ctx->zero_copy == 2)
    return 1;
  return ctx->zero_copy == 1 && (uintptr_t)p % ctx->mem_align == 0;
}

cl_mem clm_wrap_host(clm_context *ctx, cl_mem_flags flags, const void *p,
                     size_t bytes, cl_int *rc) {
  /* Inputs are wrapped CL_MEM_READ_ONLY: casting const away is safe. */
  return clCreateBuffer(ctx->cl, flags | CL_MEM_USE_HOST_PTR, bytes,
                        (void *)(uintptr_t)p, rc);
}

clm_status clm_kernel_create(clm_context *ctx, const char *name, cl_kernel *out,
                             clm_error *err) {
  cl_int rc;
  *out = clCreateKernel(ctx->program, name, &rc);
  if (rc == CL_SUCCESS)
    return CLM_OK;
  *out = NULL;
  char what[96];
  snprintf(what, sizeof what, "clCreateKernel(%s)", name);
  return clm_fail_cl(err, rc, what);
}

void clm_release_kernel(cl_kernel *k) {
  if (*k)
    clReleaseKernel(*k);
  *k = NULL;
}

void clm_context_launch_shape(const clm_context *ctx, clm_launch_shape *s) {
  if (!ctx || !s)
    return;
  size_t max_wg = 1;
  clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg,
                  &max_wg, NULL);
  s->local_size = ctx->local_size;
  s->max_local_size = max_wg;
  s->confusion_local_size = ctx->cm_local_size;
  s->vector_width = ctx->vec_width;
  s->items = ctx->items;
  s->strided = ctx->strided;
}
