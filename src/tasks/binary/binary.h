/* Binary family internals shared by its files. */
#ifndef CLM_TASKS_BINARY_H
#define CLM_TASKS_BINARY_H

#include "internal.h"

/* The decision threshold in the score's own domain, rounded for an exact
 * float comparison: p > t for probabilities, z > logit(t) for logits. */
float clm_binary_device_threshold(clm_scores_kind kind, double t);

#endif
