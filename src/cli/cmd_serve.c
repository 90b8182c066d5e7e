/* cmd_serve.c — placeholder owned by the dashboard server (issue 3). */
#include <stdio.h>
#include "cli/commands.h"
int cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "evodash serve: not built yet\n");
    return 1;
}
