/* colour.h — an endpoint's colour: a stable hash of its name, so that an
 * endpoint looks the same in every view and every process. */
#ifndef EVD_DASH_COLOUR_H
#define EVD_DASH_COLOUR_H

#include <stddef.h>

/* Write "#rrggbb" for name into out[8].  Deterministic across runs. */
void colour_of(const char *name, char out[8]);

#endif
