/* page.S — embed the simulation page (page.html) for `evodash simulate
 * --serve`, the same way src/assets/echarts.S embeds ECharts. */
	.section .rodata
	.global evd_sim_page_html
	.hidden evd_sim_page_html
	.type evd_sim_page_html, @object
	.balign 16
evd_sim_page_html:
	.incbin "src/sim/page.html"
	.global evd_sim_page_html_end
	.hidden evd_sim_page_html_end
evd_sim_page_html_end:
	.byte 0
	.section .note.GNU-stack,"",@progbits
