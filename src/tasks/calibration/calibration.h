/* Calibration family internals shared by its files. */
#ifndef CLM_TASKS_CALIBRATION_H
#define CLM_TASKS_CALIBRATION_H

#include "internal.h"

/* Whether two states may be merged: same K, bins, edges and options. */
int clm_calibration_compatible(const clm_calibration_state *a,
                               const clm_calibration_state *b);

/* An empty state with the same settings as `like` (the update's
 * accumulator, merged into the caller's state on success). */
clm_status clm_calibration_state_like(clm_calibration_state *out,
                                      const clm_calibration_state *like);

/* The edges rounded toward -inf to float32: for a float32 p and a double
 * edge e, p <= e iff p <= (float)round_down(e), so the device's float
 * comparison is the float64 one. */
void clm_calibration_device_edges(const clm_calibration_state *state,
                                  float *out);

#endif
