/* The task families the context knows: one line each. */
#include "internal.h"

extern const clm_family clm_family_binary;
extern const clm_family clm_family_multiclass;

const clm_family *const clm_families[CLM_FAMILY_COUNT] = {
    [CLM_FAMILY_BINARY] = &clm_family_binary,
    [CLM_FAMILY_MULTICLASS] = &clm_family_multiclass,
};
