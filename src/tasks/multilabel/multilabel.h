/* Multilabel family internals shared by its files. */
#ifndef CLM_TASKS_MULTILABEL_H
#define CLM_TASKS_MULTILABEL_H

#include "internal.h"

/* Prepares an empty state with the same options as `like`. */
clm_status clm_multilabel_state_like(clm_multilabel_state *state,
                                     const clm_multilabel_state *like);

#endif
