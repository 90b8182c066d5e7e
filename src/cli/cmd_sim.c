/* cmd_sim.c — placeholder owned by the simulator (issue 7). */
#include <stdio.h>
#include "cli/commands.h"
int cmd_simulate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "evodash simulate: not built yet\n");
    return 1;
}
