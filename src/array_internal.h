/* Forwarding header while the readers move to src/io/. */
#include "io/array_internal.h"
