/* Multi-class family registration (kernels still owned by the context until
 * the move to a family workspace). */
#include "internal.h"

static clm_status init(clm_context *ctx, void *ws, clm_error *err) {
  (void)ctx;
  (void)ws;
  (void)err;
  return CLM_OK;
}

static void release(void *ws) {
  (void)ws;
}

const clm_family clm_family_multiclass = {"multiclass", 1, init, release};
