// Meters and gateways: link state, last seen, communication error rate, and
// each meter's commands (parameters and relay) delivered, pending or failed.
import { get, query } from '../api.js';
import { h, section, table, campusTime } from '../ui.js';
import { t } from '../i18n.js';



export async function devicesPage({ main }) {
  const gatewayInput = h('input', { name: 'gateway', placeholder: 'G1' });
  const body = h('div');
  const show = async () => {
    const [devices, commands] = await Promise.all([
      get(`/api/devices${query({ gateway: gatewayInput.value.trim() })}`), get('/api/commands')]);
    const rows = devices.items.map((d) => ({ ...d, lastSeen: campusTime(d.lastSeenUs), errorRate: `${(Number(d.errorRate) * 100).toFixed(2)}%` }));
    body.replaceChildren(
      section(t('gateways'), table(rows.filter((d) => d.gatewayId), ['gatewayId', 'state', 'detail', 'peer', 'lastSeen', 'errorRate', 'requests', 'timeouts'])),
      section(t('commands'), table(commands.items, ['seq', 'meter', 'circuit', 'command', 'state', 'attempts', 'reason', 'origin', 'failure'])),
      section(t('meters'), table(rows.filter((d) => d.meterAddress), ['meterAddress', 'gateway', 'state', 'detail', 'lastSeen', 'errorRate', 'requests', 'timeouts', 'checksumErrors'])));
  };
  main.append(h('div', { class: 'toolbar' }, gatewayInput, h('button', { onclick: show }, t('show'))), body);
  await show();
}
