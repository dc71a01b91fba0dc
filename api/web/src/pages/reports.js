// Reports: consumption and violations per day, month, quarter or year; deposits
// by cashier or channel; refunds; the card center's settlement; balances.
// Each with a chart and a CSV download of exactly the rows shown.
import { get, query } from '../api.js';
import { h, section, table, select } from '../ui.js';
import { t } from '../i18n.js';
import { chart, seriesOption } from '../charts.js';

const REPORTS = {
  consumption: { by: ['building', 'room'], period: true },
  violations: { by: ['building', 'room'], period: true },
  deposits: { by: ['cashier', 'channel', 'total'] },
  refunds: {},
  settlement: {},
  balances: {},
};

// The first text column names the categories; numeric columns become series.
function draw(el, items) {
  if (!items.length) return;
  const keys = Object.keys(items[0]);
  const label = (row) => keys.filter((k) => typeof row[k] === 'string').slice(0, 2).map((k) => row[k]).join(' ');
  const numeric = keys.filter((k) => typeof items[0][k] === 'number' && !/Us$|Seq$|^seq$|count/i.test(k)).slice(0, 3);
  chart(el).setOption(seriesOption(items.slice(0, 200).map(label),
    numeric.map((k) => ({ name: k, data: items.slice(0, 200).map((row) => row[k]) }))));
}

export async function reportsPage({ main }) {
  const which = select('report', Object.keys(REPORTS).map((k) => [k, k]), 'consumption');
  const since = h('input', { name: 'since', type: 'date' });
  const until = h('input', { name: 'until', type: 'date' });
  const by = h('select', { name: 'by' });
  const period = select('period', [['day', 'day'], ['month', 'month'], ['quarter', 'quarter'], ['year', 'year']], 'month');
  const result = h('div');
  const progress = h('progress', { id: 'report-progress', hidden: true });
  const csv = h('a', { id: 'csv', class: 'button', download: true }, t('downloadCsv'));
  const params = () => {
    const spec = REPORTS[which.value];
    return { since: since.value, until: until.value, by: spec.by ? by.value : '', period: spec.period ? period.value : '' };
  };
  const refreshControls = () => {
    const spec = REPORTS[which.value];
    by.replaceChildren(...(spec.by || []).map((b) => h('option', { value: b }, b)));
    by.hidden = !spec.by;
    period.hidden = !spec.period;
  };
  const show = async () => {
    const path = `/api/reports/${which.value}`;
    csv.href = `${path}${query({ ...params(), format: 'csv' })}`;
    progress.hidden = false;
    result.replaceChildren();
    try {
      const data = await get(`${path}${query(params())}`);
      const box = h('div', { class: 'chart', id: 'report-chart' });
      result.replaceChildren(box, table(data.items), ...(data.notes || []).map((n) => h('p', { class: 'note' }, n)));
      draw(box, data.items);
    } finally {
      progress.hidden = true;
    }
  };
  which.addEventListener('change', refreshControls);
  refreshControls();
  main.append(section(t('reports'),
    h('div', { class: 'toolbar' }, which, since, until, by, period,
      h('button', { id: 'show-report', onclick: () => show().catch((e) => result.replaceChildren(h('p', { class: 'msg error' }, e.message))) }, t('show')),
      csv, progress),
    result));
  await show();
}
