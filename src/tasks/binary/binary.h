/* Binary family internals shared by its files. */
#ifndef CLM_TASKS_BINARY_H
#define CLM_TASKS_BINARY_H

#include "internal.h"

/* The decision threshold in the score's own domain, rounded for an exact
 * float comparison: p > t for probabilities, z > logit(t) for logits. */
float clm_binary_device_threshold(clm_scores_kind kind, double t);

/* The threshold in the score's domain in double: t, or logit(t). */
double clm_binary_domain_threshold(clm_scores_kind kind, double t);

/* A float64 score v (not NaN) as float32, to nearest but never across the
 * threshold: v > t (double) iff the result > tf (the device threshold). */
float clm_binary_round_score(double v, double t, float tf);

#endif
