/* Kernel sources (embedded or from a directory) and the program build. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clm_embedded_kernel {
  const char *name;
  const char *source;
};
extern const struct clm_embedded_kernel clm_embedded_kernels[];

/* The kernel files come from one list (cmake/sources.cmake), embedded in
 * its order: common.cl first, since it defines what the others use. */
#define N_KERNEL_FILES_MAX 32

static clm_status read_source(const char *dir, const char *name, char **out,
                              clm_error *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f)
    return clm_fail(err, CLM_ERR_KERNEL_SOURCE, -1, 0,
                    "cannot open kernel source %s: %s", path, strerror(errno));
  clm_status st = CLM_OK;
  char *buf = NULL;
  if (fseek(f, 0, SEEK_END) != 0) {
    st = clm_fail(err, CLM_ERR_KERNEL_SOURCE, -1, 0, "cannot read %s", path);
    goto done;
  }
  long len = ftell(f);
  if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
    st = clm_fail(err, CLM_ERR_KERNEL_SOURCE, -1, 0, "cannot read %s", path);
    goto done;
  }
  buf = clm_malloc((size_t)len + 1);
  if (!buf) {
    st = clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
                  "cannot allocate %ld bytes for %s", len, path);
    goto done;
  }
  if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
    st = clm_fail(err, CLM_ERR_KERNEL_SOURCE, -1, 0, "short read on %s", path);
    free(buf);
    buf = NULL;
    goto done;
  }
  buf[len] = '\0';
done:
  fclose(f);
  *out = buf;
  return st;
}

static clm_status report_build_failure(clm_context *ctx, cl_int rc,
                                       clm_error *err) {
  size_t len = 0;
  char *log = NULL;
  if (clGetProgramBuildInfo(ctx->program, ctx->device, CL_PROGRAM_BUILD_LOG, 0,
                            NULL, &len) == CL_SUCCESS &&
      len > 0 && (log = clm_malloc(len + 1)) != NULL) {
    if (clGetProgramBuildInfo(ctx->program, ctx->device, CL_PROGRAM_BUILD_LOG,
                              len, log, NULL) != CL_SUCCESS)
      log[0] = '\0';
    log[len] = '\0';
  }
  const char *text = log ? log : "(no build log)";
  /* The whole log goes to the log callback; the error keeps its end on one
   * line so that callers can print a single message. */
  clm_log(ctx, CLM_LOG_INFO, "kernel build failed with options '%s':\n%s",
          ctx->build_options, text);
  size_t tl = strlen(text);
  while (tl > 0 && (text[tl - 1] == '\n' || text[tl - 1] == ' '))
    --tl;
  const size_t start = tl > 300 ? tl - 300 : 0;
  char tail[301];
  size_t k = 0;
  for (size_t i = start; i < tl && k < sizeof tail - 1; ++i)
    tail[k++] = text[i] == '\n' || text[i] == '\r' ? ' ' : text[i];
  tail[k] = '\0';
  clm_fail(err, CLM_ERR_BUILD, -1, 0,
           "kernel build failed (%s) on %s with options '%s'; build log: %s%s",
           clm_cl_error_name(rc), ctx->info.name, ctx->build_options,
           start > 0 ? "..." : "", tail);
  free(log);
  return CLM_ERR_BUILD;
}

clm_status clm_program_build(clm_context *ctx, const char *kernel_dir,
                             clm_error *err) {
  const char *sources[N_KERNEL_FILES_MAX];
  char *owned[N_KERNEL_FILES_MAX] = {0};
  clm_status st = CLM_OK;
  size_t n_files = 0;
  for (const struct clm_embedded_kernel *k = clm_embedded_kernels;
       k->name && n_files < N_KERNEL_FILES_MAX; ++k, ++n_files) {
    if (kernel_dir && *kernel_dir) {
      st = read_source(kernel_dir, k->name, &owned[n_files], err);
      if (st != CLM_OK)
        goto done;
      sources[n_files] = owned[n_files];
    } else {
      sources[n_files] = k->source;
    }
  }
  /* PoCL on CPUs compiles __builtin_prefetch to a prefetch instruction;
   * other compilers need not know it (the OpenCL prefetch() is a no-op
   * there). */
  const int prefetch = strcmp(ctx->info.type, "CPU") == 0 &&
                       strstr(ctx->info.platform, "Portable Computing") != NULL;
  snprintf(ctx->build_options, sizeof ctx->build_options,
           "-cl-std=CL1.2 -DCLM_VW=%u -DCLM_ITEMS=%u -DCLM_STRIDED=%d "
           "-DCLM_ROWS=%d -DCLM_CM_PREFETCH=%d -DCLM_CM_PRIVATE_PREFETCH=%d",
           ctx->vec_width, ctx->items, ctx->strided, CLM_ROWS_PER_ITEM,
           prefetch ? 16 : 0, prefetch ? 32 : 0);
  cl_int rc;
  ctx->program =
      clCreateProgramWithSource(ctx->cl, (cl_uint)n_files, sources, NULL, &rc);
  if (rc != CL_SUCCESS) {
    st = clm_fail_cl(err, rc, "clCreateProgramWithSource");
    goto done;
  }
  rc = clBuildProgram(ctx->program, 1, &ctx->device, ctx->build_options, NULL,
                      NULL);
  if (rc != CL_SUCCESS) {
    st = report_build_failure(ctx, rc, err);
    goto done;
  }
done:
  for (size_t i = 0; i < n_files; ++i)
    free(owned[i]);
  return st;
}
