// Charts are ECharts (from npm, tree-shaken to what the console uses). A
// chart resizes with its box and is disposed when its page goes.
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, TitleComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, TitleComponent, CanvasRenderer]);

const live = new Set();
window.addEventListener('resize', () => live.forEach((c) => c.resize()));

export function chart(el) {
  const c = echarts.init(el);
  live.add(c);
  return c;
}
export function disposeCharts() {
  live.forEach((c) => c.dispose());
  live.clear();
}

// A bar or line chart of series over categories.
export function seriesOption(categories, series, kind = 'bar') {
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 60, right: 20, top: 40, bottom: 40 },
    xAxis: { type: 'category', data: categories },
    yAxis: { type: 'value' },
    series: series.map((s) => ({ type: kind, name: s.name, data: s.data, smooth: kind === 'line' })),
  };
}
