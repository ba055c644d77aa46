/* The task families the context knows (one line each), and their
 * workspaces, created on first use. */
#include "internal.h"

#include <stdlib.h>

extern const clm_family clm_family_binary;
extern const clm_family clm_family_multiclass;
extern const clm_family clm_family_ranking;
extern const clm_family clm_family_calibration;
extern const clm_family clm_family_multilabel;

const clm_family *const clm_families[CLM_FAMILY_COUNT] = {
    [CLM_FAMILY_BINARY] = &clm_family_binary,
    [CLM_FAMILY_MULTICLASS] = &clm_family_multiclass,
    [CLM_FAMILY_RANKING] = &clm_family_ranking,
    [CLM_FAMILY_CALIBRATION] = &clm_family_calibration,
    [CLM_FAMILY_MULTILABEL] = &clm_family_multilabel,
};

void *clm_workspace(clm_context *ctx, clm_family_id id, clm_error *err) {
  if (ctx->family_ws[id].ws)
    return ctx->family_ws[id].ws;
  const clm_family *f = clm_families[id];
  void *ws = clm_calloc(1, f->workspace_size);
  if (!ws) {
    clm_fail(err, CLM_ERR_OUT_OF_MEMORY, -1, 0,
             "cannot allocate the %s workspace", f->name);
    return NULL;
  }
  if (f->init(ctx, ws, err) != CLM_OK) {
    f->release(ws);
    free(ws);
    return NULL;
  }
  ctx->family_ws[id].ws = ws;
  ctx->family_ws[id].release = f->release;
  return ws;
}
