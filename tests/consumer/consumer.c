/* Smallest useful program against the installed library: evaluates four
 * samples and checks the confusion counts. */
#include <clmetrics.h>
#include <stdio.h>

int main(void) {
  clm_context *ctx = NULL;
  clm_error err;
  clm_status st = clm_context_create(NULL, &ctx, &err);
  if (st != CLM_OK) {
    fprintf(stderr, "consumer: %s\n", err.message);
    return 1;
  }
  const uint8_t y[4] = {1, 0, 1, 0};
  const float z[4] = {2.0f, -1.0f, -0.5f, 0.25f};
  clm_binary_state s;
  clm_binary_result r;
  clm_binary_state_init(&s, CLM_SCORES_LOGITS, 0.5, 0);
  st = clm_binary_update(ctx, &s, y, z, 4, NULL, NULL, &err);
  if (st == CLM_OK)
    st = clm_binary_finalize(&s, CLM_ZERO_DIVISION_ZERO, &r, NULL);
  clm_binary_state_release(&s);
  clm_context_free(ctx);
  if (st != CLM_OK || r.tp != 1 || r.fp != 1 || r.tn != 1 || r.fn != 1) {
    fprintf(stderr, "consumer: unexpected result (%s)\n", clm_status_str(st));
    return 1;
  }
  printf("consumer: clmetrics %s ok\n", clm_version_string());
  return 0;
}
