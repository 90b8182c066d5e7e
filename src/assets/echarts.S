/* echarts.S — embed the pinned ECharts build (web/package-lock.json) in the
 * binary, so that every page evodash serves or writes works offline.
 * .incbin is the assembler's own bin2c; see src/assets/assets.h. */
	.section .rodata
	.global evd_asset_echarts_js
	.hidden evd_asset_echarts_js
	.type evd_asset_echarts_js, @object
	.balign 16
evd_asset_echarts_js:
	.incbin "web/node_modules/echarts/dist/echarts.min.js"
	.global evd_asset_echarts_js_end
	.hidden evd_asset_echarts_js_end
evd_asset_echarts_js_end:
	.byte 0
	.section .note.GNU-stack,"",@progbits
