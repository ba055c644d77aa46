/* Status strings, version and error-record helpers. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

unsigned clm_version_number(void) {
  return CLM_VERSION_NUMBER;
}

const char *clm_version_string(void) {
  return CLM_VERSION_STRING;
}

const char *clm_status_str(clm_status status) {
  switch (status) {
  case CLM_OK:
    return "ok";
  case CLM_ERR_INVALID_ARGUMENT:
    return "invalid argument";
  case CLM_ERR_NO_PLATFORM:
    return "no OpenCL platform found";
  case CLM_ERR_NO_DEVICE:
    return "no matching OpenCL device";
  case CLM_ERR_OPENCL:
    return "OpenCL call failed";
  case CLM_ERR_BUILD:
    return "kernel build failed";
  case CLM_ERR_KERNEL_SOURCE:
    return "kernel source not found";
  case CLM_ERR_OUT_OF_MEMORY:
    return "out of memory";
  case CLM_ERR_IO:
    return "file input/output error";
  case CLM_ERR_FORMAT:
    return "malformed file";
  case CLM_ERR_UNSUPPORTED:
    return "unsupported data";
  case CLM_ERR_BAD_LABEL:
    return "invalid label";
  case CLM_ERR_BAD_SCORE:
    return "invalid score";
  case CLM_ERR_LENGTH_MISMATCH:
    return "length mismatch";
  case CLM_ERR_EMPTY:
    return "empty input";
  case CLM_ERR_STATE_MISMATCH:
    return "incompatible states";
  case CLM_ERR_SELFTEST:
    return "device self-test failed";
  case CLM_ERR_BAD_WEIGHT:
    return "invalid weight";
  case CLM_ERR_PEER:
    return "another participant failed";
  }
  return "unknown status";
}

void clm_error_clear(clm_error *err) {
  if (!err)
    return;
  err->status = CLM_OK;
  err->index = -1;
  err->value = 0.0;
  err->message[0] = '\0';
  err->input = CLM_INPUT_NONE;
}

clm_status clm_fail(clm_error *err, clm_status status, int64_t index,
                    double value, const char *fmt, ...) {
  if (!err)
    return status;
  err->status = status;
  err->index = index;
  err->value = value;
  /* The usual owner of each kind of bad value; a caller whose value came
   * from another input (predicted labels, features) says so after. */
  err->input = status == CLM_ERR_BAD_LABEL    ? CLM_INPUT_LABELS
               : status == CLM_ERR_BAD_SCORE  ? CLM_INPUT_SCORES
               : status == CLM_ERR_BAD_WEIGHT ? CLM_INPUT_WEIGHTS
                                              : CLM_INPUT_NONE;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return status;
}
