/* colour.c — stable endpoint colours.
 *
 * FNV-1a of the name picks a hue; saturation and lightness stay fixed so
 * that every colour reads well on a white background. */
#include <stdint.h>
#include <stdio.h>

#include "dash/colour.h"
#include "core/hash.h"

/* HSL to one RGB channel, integer arithmetic in thousandths. */
static int channel(int n, int hue, int sat, int light)
{
    int k = (n * 1000 + hue * 1000 / 30) % 12000;
    int a = sat * (light < 1000 - light ? light : 1000 - light) / 1000;
    int t = k - 3000 < 9000 - k ? k - 3000 : 9000 - k;
    if (t > 1000)
        t = 1000;
    if (t < -1000)
        t = -1000;
    int v = light - a * t / 1000;
    return v * 255 / 1000;
}

void colour_of(const char *name, char out[8])
{
    uint32_t h = fnv1a32(name ? name : "");
    int hue = (int)(h % 360);
    int sat = 550 + (int)((h >> 9) % 200);    /* 0.55 .. 0.75 */
    int light = 420 + (int)((h >> 17) % 120); /* 0.42 .. 0.54 */
    snprintf(out, 8, "#%02x%02x%02x", channel(0, hue, sat, light), channel(8, hue, sat, light),
             channel(4, hue, sat, light));
}
