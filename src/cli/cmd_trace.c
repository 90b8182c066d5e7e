/* cmd_trace.c — placeholder owned by the profiling tool chain (issue 6). */
#include <stdio.h>
#include "cli/commands.h"
static int later(const char *n)
{
    fprintf(stderr, "evodash %s: not built yet\n", n);
    return 1;
}
int cmd_utillog(int argc, char **argv) { (void)argc; (void)argv; return later("utillog"); }
int cmd_profile(int argc, char **argv) { (void)argc; (void)argv; return later("profile"); }
int cmd_validate(int argc, char **argv) { (void)argc; (void)argv; return later("validate"); }
