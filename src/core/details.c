/* details.c — see details.h. */
#include <stdlib.h>
#include <string.h>

#include "core/details.h"

int details_dump(json_t *o, const char *const drop[], char *buf, size_t cap)
{
    char *s = json_dumps(o, JSON_COMPACT);
    for (size_t i = 0; s && strlen(s) >= cap && drop && drop[i]; i++) {
        free(s);
        json_object_del(o, drop[i]);
        s = json_dumps(o, JSON_COMPACT);
    }
    int n = -1;
    if (s && strlen(s) < cap) {
        n = (int)strlen(s);
        memcpy(buf, s, (size_t)n + 1);
    }
    free(s);
    return n;
}
