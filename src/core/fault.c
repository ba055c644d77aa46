/* Fault injection for tests: with CLM_FAULT_INJECTION, the Nth call of a
 * kind fails as a real driver or allocator would. Armed by $CLM_FAULT
 * ("alloc:N", "buffer:N", "enqueue:N", "build:N" or "map:N") read at the
 * first wrapped call, or by clm_fault_arm. Ordinary builds compile nothing
 * here. */
#define CLM_FAULT_IMPLEMENTATION
#include "internal.h"

#ifdef CLM_FAULT_INJECTION
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[CLM_FAULT_KINDS] = {
    "alloc", "buffer", "enqueue", "build", "map"};
static long countdown[CLM_FAULT_KINDS];
static int env_read, fired;

/* Arms `kind` to fail at its nth call from now (n <= 0 disarms all).
 * Returns 0, or -1 for an unknown kind. Exported for the tests only. */
int clm_fault_arm(const char *kind, long n) {
  env_read = 1;
  fired = 0;
  memset(countdown, 0, sizeof countdown);
  if (n <= 0)
    return 0;
  for (int k = 0; k < CLM_FAULT_KINDS; ++k)
    if (strcmp(kind, kind_names[k]) == 0) {
      countdown[k] = n;
      return 0;
    }
  return -1;
}

/* 1 once the armed fault has been delivered. */
int clm_fault_fired(void) {
  return fired;
}

static int trip(int kind) {
  if (!env_read) {
    env_read = 1;
    const char *spec = getenv("CLM_FAULT");
    const char *colon = spec ? strchr(spec, ':') : NULL;
    if (colon) {
      char name[16];
      size_t len = (size_t)(colon - spec);
      if (len < sizeof name) {
        memcpy(name, spec, len);
        name[len] = '\0';
        clm_fault_arm(name, atol(colon + 1));
      }
    }
  }
  if (countdown[kind] > 0 && --countdown[kind] == 0) {
    fired = 1;
    return 1;
  }
  return 0;
}

void *clm_fault_malloc(size_t n) {
  return trip(CLM_FAULT_ALLOC) ? NULL : malloc(n);
}
void *clm_fault_calloc(size_t n, size_t size) {
  return trip(CLM_FAULT_ALLOC) ? NULL : calloc(n, size);
}
void *clm_fault_realloc(void *p, size_t n) {
  return trip(CLM_FAULT_ALLOC) ? NULL : realloc(p, n);
}
char *clm_fault_strdup(const char *s) {
  return trip(CLM_FAULT_ALLOC) ? NULL : strdup(s);
}

cl_mem clm_fault_clCreateBuffer(cl_context c, cl_mem_flags f, size_t n, void *p,
                                cl_int *e) {
  if (trip(CLM_FAULT_BUFFER)) {
    if (e)
      *e = CL_MEM_OBJECT_ALLOCATION_FAILURE;
    return NULL;
  }
  return clCreateBuffer(c, f, n, p, e);
}

cl_int clm_fault_clBuildProgram(cl_program p, cl_uint nd, const cl_device_id *d,
                                const char *o,
                                void(CL_CALLBACK *cb)(cl_program, void *),
                                void *u) {
  return trip(CLM_FAULT_BUILD) ? CL_BUILD_PROGRAM_FAILURE
                               : clBuildProgram(p, nd, d, o, cb, u);
}

cl_int clm_fault_clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k,
                                        cl_uint dim, const size_t *off,
                                        const size_t *g, const size_t *l,
                                        cl_uint ne, const cl_event *w,
                                        cl_event *ev) {
  return trip(CLM_FAULT_ENQUEUE)
             ? CL_OUT_OF_RESOURCES
             : clEnqueueNDRangeKernel(q, k, dim, off, g, l, ne, w, ev);
}

cl_int clm_fault_clEnqueueWriteBuffer(cl_command_queue q, cl_mem b, cl_bool blk,
                                      size_t off, size_t n, const void *p,
                                      cl_uint ne, const cl_event *w,
                                      cl_event *ev) {
  return trip(CLM_FAULT_ENQUEUE)
             ? CL_OUT_OF_RESOURCES
             : clEnqueueWriteBuffer(q, b, blk, off, n, p, ne, w, ev);
}

cl_int clm_fault_clEnqueueReadBuffer(cl_command_queue q, cl_mem b, cl_bool blk,
                                     size_t off, size_t n, void *p, cl_uint ne,
                                     const cl_event *w, cl_event *ev) {
  return trip(CLM_FAULT_ENQUEUE)
             ? CL_OUT_OF_RESOURCES
             : clEnqueueReadBuffer(q, b, blk, off, n, p, ne, w, ev);
}

cl_int clm_fault_clEnqueueFillBuffer(cl_command_queue q, cl_mem b,
                                     const void *pat, size_t ps, size_t off,
                                     size_t n, cl_uint ne, const cl_event *w,
                                     cl_event *ev) {
  return trip(CLM_FAULT_ENQUEUE)
             ? CL_OUT_OF_RESOURCES
             : clEnqueueFillBuffer(q, b, pat, ps, off, n, ne, w, ev);
}

void *clm_fault_clEnqueueMapBuffer(cl_command_queue q, cl_mem b, cl_bool blk,
                                   cl_map_flags f, size_t off, size_t n,
                                   cl_uint ne, const cl_event *w, cl_event *ev,
                                   cl_int *e) {
  if (trip(CLM_FAULT_MAP)) {
    if (e)
      *e = CL_MAP_FAILURE;
    return NULL;
  }
  return clEnqueueMapBuffer(q, b, blk, f, off, n, ne, w, ev, e);
}

cl_int clm_fault_clEnqueueUnmapMemObject(cl_command_queue q, cl_mem b, void *p,
                                         cl_uint ne, const cl_event *w,
                                         cl_event *ev) {
  return trip(CLM_FAULT_ENQUEUE) ? CL_OUT_OF_RESOURCES
                                 : clEnqueueUnmapMemObject(q, b, p, ne, w, ev);
}
#else
/* ISO C forbids an empty translation unit. */
typedef int clm_fault_injection_disabled;
#endif
