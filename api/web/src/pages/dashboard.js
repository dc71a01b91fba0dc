// The dashboard: meters and gateways by link state, open alarms by severity,
// each building's live power (a chart that updates itself every 5 s without
// a reload) and today's deposits.
import { get, query } from '../api.js';
import { h, section, table, yuan } from '../ui.js';
import { t } from '../i18n.js';
import { chart } from '../charts.js';

const campusToday = () => new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);

function counts(items, key) {
  const out = {};
  for (const item of items) out[item[key]] = (out[item[key]] || 0) + 1;
  return out;
}

const tiles = (title, byState, id) => h('div', { class: 'tile', id },
  h('h3', {}, title),
  Object.keys(byState).length === 0 ? h('p', {}, '—')
    : Object.entries(byState).map(([state, n]) => h('p', { class: `state-${state}` }, h('b', {}, n), ' ', t(state))));

export async function dashboardPage({ main }) {
  const [devices, alarms, deposits] = await Promise.all([
    get('/api/devices'), get('/api/alarms'),
    get(`/api/reports/deposits${query({ since: campusToday(), by: 'channel' })}`).catch(() => ({ items: [] })),
  ]);
  const meters = devices.items.filter((d) => d.meterAddress !== undefined);
  const gateways = devices.items.filter((d) => d.gatewayId !== undefined);
  const depositTotal = deposits.items.reduce((sum, row) => sum + Number(row.netFen || 0), 0);
  const powerBox = h('div', { class: 'chart', id: 'power-chart' });
  main.append(
    h('div', { class: 'tiles' },
      tiles(t('meters'), counts(meters, 'state'), 'meter-tiles'),
      tiles(t('gateways'), counts(gateways, 'state'), 'gateway-tiles'),
      tiles(t('openAlarms'), counts(alarms.items, 'severity'), 'alarm-tiles'),
      h('div', { class: 'tile', id: 'deposit-tile' }, h('h3', {}, t('todayDeposits')), h('p', {}, h('b', {}, yuan(depositTotal))))),
    section(t('livePower'), powerBox),
    section(t('openAlarms'), table(alarms.items.slice(0, 20), ['severity', 'kind', 'subject', 'text', 'raisedAt'])));
  const power = chart(powerBox);
  const history = new Map();  // building -> [[time, W]]
  const refresh = async () => {
    const now = await get('/api/power');
    for (const row of now.items) {
      const points = history.get(row.building) || [];
      const at = row.readAtUs / 1000;
      if (!points.length || points[points.length - 1][0] !== at) points.push([at, row.powerW]);
      history.set(row.building, points.slice(-120));
    }
    power.setOption({
      tooltip: { trigger: 'axis' }, legend: { top: 0 },
      grid: { left: 60, right: 20, top: 40, bottom: 40 },
      xAxis: { type: 'time' }, yAxis: { type: 'value', name: 'W' },
      series: [...history].map(([name, data]) => ({ type: 'line', name, data, showSymbol: true })),
    });
    powerBox.dataset.updated = String(Date.now());
  };
  await refresh();
  window.wlTimer = setInterval(() => refresh().catch(() => {}), 5000);
}
