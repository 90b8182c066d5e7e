/* read_int.h — helpers shared by the read side's files (src/store only). */
#ifndef EVD_STORE_READ_INT_H
#define EVD_STORE_READ_INT_H

#include "store/sq.h"

/* Step q (NULL: it failed to prepare) through its rows, calling row() on
 * each; free q.  Returns row()'s first nonzero return, or 0, or the
 * step's negative code. */
int read_walk(sq *q, int (*row)(sq *q, void *ctx), void *ctx);

#endif
