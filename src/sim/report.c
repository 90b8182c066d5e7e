/* report.c — a self-contained HTML report of one run (evodash simulate
 * --html FILE): the simulation page with ECharts and the run's
 * SimResults.json inlined, so that it opens from disk with no server and no
 * network. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assets/assets.h"
#include "evodash.h"
#include "sim/sim.h"

extern const char evd_sim_page_html[];
extern const char evd_sim_page_html_end[];

static const char ECHARTS_TAG[] = "<script src=\"echarts.js\"></script>";

/* Write s[0..n) so that it cannot end the <script> element it sits in:
 * "</script" (any case) becomes "<\/script", which means the same inside a
 * JavaScript or JSON string, the only place it can occur in valid code. */
static void put_script_safe(FILE *f, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i + 8 <= n; i++)
        if (s[i] == '<' && s[i + 1] == '/' && !strncasecmp(s + i + 2, "script", 6)) {
            fwrite(s + start, 1, i + 1 - start, f);
            fputc('\\', f);
            start = i + 1;
        }
    fwrite(s + start, 1, n - start, f);
}

int sim_run_write_html(sim_run *r, FILE *f)
{
    const char *page = evd_sim_page_html;
    size_t plen = (size_t)(evd_sim_page_html_end - evd_sim_page_html);
    const char *tag = memmem(page, plen, ECHARTS_TAG, sizeof ECHARTS_TAG - 1);
    if (!tag)
        return EVD_EINVAL;
    char *json = NULL;
    size_t jlen = 0;
    FILE *mem = open_memstream(&json, &jlen);
    if (!mem)
        return EVD_ENOMEM;
    int rc = sim_run_write_json(r, mem);
    if (fclose(mem) || rc) {
        free(json);
        return rc ? rc : EVD_ENOMEM;
    }
    size_t elen;
    const char *echarts = assets_echarts(&elen);
    fwrite(page, 1, (size_t)(tag - page), f);
    fputs("<script>", f);
    put_script_safe(f, echarts, elen);
    fputs("</script>\n<script>window.EVD_RESULTS = ", f);
    put_script_safe(f, json, jlen);
    fputs(";</script>", f);
    const char *rest = tag + sizeof ECHARTS_TAG - 1;
    fwrite(rest, 1, plen - (size_t)(rest - page), f);
    free(json);
    return fflush(f) || ferror(f) ? EVD_EIO : 0;
}
