/* html.c — gantt.html and callgraph.html: data as JSON in a <script>, the
 * embedded ECharts, and a few lines of chart options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets/assets.h"
#include "evodash.h"
#include "profile/html.h"
#include "profile/jsonw.h"

static FILE *page_open(const char *path, const char *title, char *err, size_t errlen)
{
    size_t len;
    const char *js = assets_echarts(&len);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    fprintf(f,
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>\n"
            "<style>html,body{margin:0;height:100%%;font-family:sans-serif}"
            "#c{width:100%%;height:100%%}</style>\n<script>",
            title);
    fwrite(js, 1, len, f);
    fputs("</script></head><body><div id=\"c\"></div>\n<script>\n", f);
    return f;
}

static int page_close(FILE *f, const char *path, char *err, size_t errlen)
{
    fputs("</script></body></html>\n", f);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write error", path);
        return EVD_EIO;
    }
    return 0;
}

int html_gantt(const char *path, const intern *nm, const struct inter *in, size_t n, int64_t t0,
               size_t max_bars, char *err, size_t errlen)
{
    FILE *f = page_open(path, "evodash: interactions", err, errlen);
    if (!f)
        return EVD_EIO;
    /* bars: [lane, start ms, end ms, name index]; lanes are threads. */
    fputs("var names=[", f);
    for (size_t i = 0; i < nm->n; i++) {
        if (i)
            putc(',', f);
        jw_str(f, nm->v[i].s, nm->v[i].len);
    }
    fputs("];\nvar lanes=[],laneOf={},bars=[];\n", f);
    if (n > max_bars)
        n = max_bars;
    fputs("var raw=[", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s[%llu,%.3f,%.3f,%u]", i ? "," : "", (unsigned long long)in[i].tid,
                (double)(in[i].start - t0) / 1e6, (double)(in[i].end - t0) / 1e6, in[i].name);
    fputs("];\n", f);
    fputs("raw.forEach(function(r){var k=String(r[0]);if(!(k in laneOf)){laneOf[k]=lanes.length;"
          "lanes.push(r[0]===18446744073709551615?'log':'thread '+k);}"
          "bars.push({value:[laneOf[k],r[1],r[2],r[3]],itemStyle:{color:"
          "['#5470c6','#91cc75','#fac858','#ee6666','#73c0de','#3ba272','#fc8452','#9a60b4']"
          "[r[3]%8]}});});\n"
          "var chart=echarts.init(document.getElementById('c'));\n"
          "chart.setOption({title:{text:'Interactions over time'},"
          "tooltip:{formatter:function(p){var v=p.value;return names[v[3]]+'<br>start '+"
          "v[1].toFixed(3)+' ms, duration '+(v[2]-v[1]).toFixed(3)+' ms';}},"
          "dataZoom:[{type:'slider',xAxisIndex:0},{type:'inside',xAxisIndex:0}],"
          "grid:{left:100,right:30},xAxis:{type:'value',name:'ms',scale:true},"
          "yAxis:{type:'category',data:lanes},"
          "series:[{type:'custom',encode:{x:[1,2],y:0},data:bars,"
          "renderItem:function(params,api){var s=api.coord([api.value(1),api.value(0)]),"
          "e=api.coord([api.value(2),api.value(0)]),h=api.size([0,1])[1]*0.6;"
          "return {type:'rect',shape:echarts.graphic.clipRectByRect({x:s[0],y:s[1]-h/2,"
          "width:Math.max(e[0]-s[0],1),height:h},{x:params.coordSys.x,y:params.coordSys.y,"
          "width:params.coordSys.width,height:params.coordSys.height}),style:{fill:api.visual('"
          "color')}};}}]});\n"
          "window.addEventListener('resize',function(){chart.resize();});\n",
          f);
    return page_close(f, path, err, errlen);
}

static int edge_cmp(const void *a, const void *b)
{
    const struct cg_edge *x = a, *y = b;
    return x->total_ns > y->total_ns ? -1 : x->total_ns < y->total_ns;
}

int html_callgraph(const char *path, const intern *nm, struct cg_edge *e, size_t n,
                   size_t max_edges, char *err, size_t errlen)
{
    qsort(e, n, sizeof *e, edge_cmp);
    if (n > max_edges)
        n = max_edges;
    FILE *f = page_open(path, "evodash: call graph", err, errlen);
    if (!f)
        return EVD_EIO;
    /* edges: [caller, callee, count, total ms] over name indices. */
    fputs("var names=[", f);
    for (size_t i = 0; i < nm->n; i++) {
        if (i)
            putc(',', f);
        jw_str(f, nm->v[i].s, nm->v[i].len);
    }
    fputs("];\nvar edges=[", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s[%u,%u,%llu,%.3f]", i ? "," : "", e[i].caller, e[i].callee,
                (unsigned long long)e[i].count, (double)e[i].total_ns / 1e6);
    fputs("];\n", f);
    fputs(
        "var used={},nodes=[],links=[],max=0;edges.forEach(function(x){max=Math.max(max,x[3]);});\n"
        "function node(i,ms){if(!(i in used)){used[i]=nodes.length;nodes.push({name:names[i],"
        "value:0,symbolSize:10});}var nd=nodes[used[i]];nd.value+=ms;return used[i];}\n"
        "edges.forEach(function(x){var a=node(x[0],0),b=node(x[1],x[3]);links.push({source:a,"
        "target:b,value:x[3],count:x[2],lineStyle:{width:1+6*(max?x[3]/max:0)}});});\n"
        "nodes.forEach(function(nd){nd.symbolSize=8+30*Math.sqrt(max?nd.value/max:0);});\n"
        "var chart=echarts.init(document.getElementById('c'));\n"
        "chart.setOption({title:{text:'Call graph (time in callee, ms)'},"
        "tooltip:{formatter:function(p){return p.dataType==='edge'?names_of(p.data)+"
        "'<br>'+p.data.count+' calls, '+p.data.value.toFixed(3)+' ms':"
        "p.data.name+'<br>'+p.data.value.toFixed(3)+' ms';}},"
        "series:[{type:'graph',layout:'force',roam:true,draggable:true,data:nodes,links:links,"
        "edgeSymbol:['none','arrow'],force:{repulsion:200,edgeLength:[60,200]},"
        "label:{show:true,position:'right'}}]});\n"
        "function names_of(d){return nodes[d.source].name+' \\u2192 '+nodes[d.target].name;}\n"
        "window.addEventListener('resize',function(){chart.resize();});\n",
        f);
    return page_close(f, path, err, errlen);
}
