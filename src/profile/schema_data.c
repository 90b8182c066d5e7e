/* schema_data.c — the shipped JSON Schemas, embedded with the assembler's
 * .incbin (as src/assets/echarts.S embeds ECharts), each NUL-terminated.
 * Paths are relative to the repository root, where make runs. */
#include <stddef.h>
#include <string.h>

#include "profile/schema.h"

#define EMBED(sym, file)                                                                           \
    __asm__(".section .rodata\n"                                                                   \
            ".balign 16\n"                                                                         \
            ".type " #sym ", @object\n" #sym ":\n"                                                 \
            ".incbin \"" file "\"\n"                                                               \
            ".byte 0\n" #sym "_end:\n"                                                             \
            ".previous\n");                                                                        \
    extern const char sym[], sym##_end[]

EMBED(schema_json_profile, "src/profile/schemas/profile.schema.json");
EMBED(schema_json_services, "src/profile/schemas/services.schema.json");
EMBED(schema_json_mapping, "src/profile/schemas/mapping.schema.json");
EMBED(schema_json_distribution, "src/profile/schemas/distribution.schema.json");

const char *schema_text(const char *name, size_t *len)
{
    static const struct {
        const char *name, *start, *end;
    } tab[] = {
        {"profile", schema_json_profile, schema_json_profile_end},
        {"services", schema_json_services, schema_json_services_end},
        {"mapping", schema_json_mapping, schema_json_mapping_end},
        {"distribution", schema_json_distribution, schema_json_distribution_end},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (name && !strcmp(name, tab[i].name)) {
            if (len)
                *len = (size_t)(tab[i].end - tab[i].start) - 1;
            return tab[i].start;
        }
    return NULL;
}
