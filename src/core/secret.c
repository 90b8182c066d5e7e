/* secret.c — see secret.h. */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "core/secret.h"

int secret_name(const char *name)
{
    static const char *const marks[] = {"auth",  "cookie",     "passw",     "pwd",     "secret",
                                        "token", "api_key",    "apikey",    "api-key", "session",
                                        "csrf",  "credential", "signature", "private", NULL};
    char low[128];
    size_t n = 0;
    for (; name[n] && n < sizeof low - 1; n++)
        low[n] = (char)tolower((unsigned char)name[n]);
    low[n] = 0;
    for (int i = 0; marks[i]; i++)
        if (strstr(low, marks[i]))
            return 1;
    return 0;
}
