/* schema_data.c — the shipped JSON Schemas, embedded with the assembler's
 * .incbin (as src/assets/echarts.S embeds ECharts), each NUL-terminated.
 * Paths are relative to the repository root, where make runs. */
#include <stddef.h>
#include <string.h>

#include "trace/schema.h"

#define EMBED(sym, file)                                                                           \
    __asm__(".section .rodata\n"                                                                   \
            ".balign 16\n"                                                                         \
            ".type " #sym ", @object\n" #sym ":\n"                                                 \
            ".incbin \"" file "\"\n"                                                               \
            ".byte 0\n" #sym "_end:\n"                                                             \
            ".previous\n");                                                                        \
    extern const char sym[], sym##_end[]

EMBED(evd_schema_profile, "src/trace/schemas/profile.schema.json");
EMBED(evd_schema_services, "src/trace/schemas/services.schema.json");
EMBED(evd_schema_mapping, "src/trace/schemas/mapping.schema.json");
EMBED(evd_schema_distribution, "src/trace/schemas/distribution.schema.json");

const char *evd_schema_text(const char *name, size_t *len)
{
    static const struct {
        const char *name, *start, *end;
    } tab[] = {
        {"profile", evd_schema_profile, evd_schema_profile_end},
        {"services", evd_schema_services, evd_schema_services_end},
        {"mapping", evd_schema_mapping, evd_schema_mapping_end},
        {"distribution", evd_schema_distribution, evd_schema_distribution_end},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (name && !strcmp(name, tab[i].name)) {
            if (len)
                *len = (size_t)(tab[i].end - tab[i].start) - 1;
            return tab[i].start;
        }
    return NULL;
}
