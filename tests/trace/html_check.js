// html_check.js — run the chart code of gantt.html / callgraph.html in node
// with ECharts' server-side SVG renderer, and check that it draws.
// usage: node html_check.js ECHARTS_DIR FILE.html MIN_SHAPES
'use strict';
const fs = require('fs');
const [echartsDir, file, minShapes] = process.argv.slice(2);
const echarts = require(echartsDir);
const html = fs.readFileSync(file, 'utf8');
if (!html.includes('echarts.init')) throw new Error(file + ': no chart code');
// The library is inlined; the page needs nothing from the network.
if (/<script[^>]+src=|<link[^>]+href=/i.test(html)) throw new Error(file + ': loads a resource');
const code = html.slice(html.lastIndexOf('<script>') + 8, html.lastIndexOf('</script>'));
let chart;
const fakeEcharts = Object.assign(Object.create(echarts), {
    init: () => (chart = echarts.init(null, null,
        {renderer: 'svg', ssr: true, width: 1000, height: 700})),
});
const fakeWindow = {addEventListener: () => {}};
const fakeDocument = {getElementById: () => null};
new Function('echarts', 'window', 'document', code)(fakeEcharts, fakeWindow, fakeDocument);
chart.setOption({animation: false, series: chart.getOption().series.map(() => ({
    force: {layoutAnimation: false}}))});
const svg = chart.renderToSVGString();
const shapes = (svg.match(/<(path|rect|circle)/g) || []).length;
if (shapes < Number(minShapes))
    throw new Error(`${file}: ${shapes} shapes drawn, expected at least ${minShapes}`);
console.log(`${file}: ${shapes} shapes`);
chart.dispose();
process.exit(0);
