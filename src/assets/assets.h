/* assets.h — front-end files compiled into the binary (see echarts.S). */
#ifndef EVD_ASSETS_H
#define EVD_ASSETS_H

#include <stddef.h>

extern const char evd_asset_echarts_js[];
extern const char evd_asset_echarts_js_end[];

/* The minified ECharts library; static storage, NUL-terminated. */
static inline const char *assets_echarts(size_t *len)
{
    *len = (size_t)(evd_asset_echarts_js_end - evd_asset_echarts_js);
    return evd_asset_echarts_js;
}

#endif
