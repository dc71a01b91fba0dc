// Rooms: search by building, floor, number, occupant or card; a room's
// detail with occupants, balance, allowance, power and why, its meters live,
// a consumption chart and its event history, each event's signature checked
// here in the browser against the signer's registered key.
import { get } from '../api.js';
import { h, section, table, yuan, kwh, campusTime } from '../ui.js';
import { t } from '../i18n.js';
import { chart, seriesOption } from '../charts.js';
import { fromBase64, verifyEvent } from '../signing.js';

function matches(room, needle) {
  if (!needle) return true;
  const text = [room.roomId, room.buildingId, room.floor, room.number,
    ...(room.occupants || []).flatMap((o) => [o.personId, o.name, o.cardNo])].join(' ').toLowerCase();
  return needle.toLowerCase().split(/\s+/).every((word) => text.includes(word));
}

export async function roomsPage({ main }) {
  const rooms = (await get('/api/rooms')).items;
  const input = h('input', { type: 'search', id: 'room-search', placeholder: t('searchHint') });
  const list = h('div');
  const show = () => {
    const found = rooms.filter((r) => matches(r, input.value.trim())).slice(0, 200);
    list.replaceChildren(h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['room', 'occupants', 'balance', 'allowanceLeft'].map((k) => h('th', {}, t(k))))),
      h('tbody', {}, found.map((r) => h('tr', {},
        h('td', {}, h('a', { href: `#/rooms/${encodeURIComponent(r.roomId)}` }, r.roomId)),
        h('td', {}, (r.occupants || []).map((o) => `${o.name} (${o.cardNo})`).join(', ')),
        h('td', {}, yuan(r.balanceFen)), h('td', {}, kwh(r.allowanceLeftWh))))))));
  };
  input.addEventListener('input', show);
  main.append(section(t('rooms'), h('div', { class: 'toolbar' }, input), list));
  show();
}

// Checks each event: its signature over the body, by the registered key.
async function verifyAll(events, keys) {
  const byId = new Map(keys.map((k) => [k.keyId, k.publicKey]));
  return Promise.all(events.map(async (e) => {
    const publicKey = byId.get(e.signerKeyId);
    if (!publicKey) return false;
    try { return await verifyEvent(publicKey, e.signature, fromBase64(e.bodyBytes)); } catch { return false; }
  }));
}

// A room's consumption chart (kWh and CNY per day or month, from the
// consumption report) with its day/month switch.
export function usageSection(title, base) {
  const box = h('div', { class: 'chart', id: 'usage-chart' });
  let drawn = null;
  const draw = async (period) => {
    const usage = await get(`${base}/consumption?period=${period}`);
    drawn ??= chart(box);
    drawn.setOption(seriesOption(usage.items.map((i) => i.period), [
      { name: 'kWh', data: usage.items.map((i) => (Number(i.energyWh || 0) / 1000).toFixed(3)) },
      { name: 'CNY', data: usage.items.map((i) => (Number(i.amountFen || 0) / 100).toFixed(2)) },
    ]), { notMerge: true });
    box.dataset.period = period;
  };
  const switcher = h('span', { class: 'toolbar' },
    ['day', 'month'].map((p) => h('button', { class: 'small', 'data-period': p, onclick: () => draw(p) }, t(p))));
  return { element: section(title, switcher, box), draw };
}

export function eventKind(e) {
  const kinds = Object.keys(e.body || {}).filter((k) => !['stream', 'idempotencyKey', 'issuedAtUs'].includes(k));
  return kinds[0] || '';
}

export function historyTable(events, verified) {
  return h('div', { class: 'table-wrap' }, h('table', { id: 'history' },
    h('thead', {}, h('tr', {}, ['seq', 'time', 'event', 'signer', 'verified'].map((k) => h('th', {}, t(k))))),
    h('tbody', {}, events.map((e, i) => h('tr', {},
      h('td', {}, e.seq), h('td', {}, campusTime(e.appendedAtUs)),
      h('td', { title: JSON.stringify(e.body[eventKind(e)]) }, eventKind(e)),
      h('td', {}, e.signer ? `${e.signer.holder} (${e.signer.role})` : e.signerKeyId.slice(0, 12)),
      h('td', { class: verified[i] ? 'verified' : 'unverified' }, verified[i] ? `✓ ${t('verified')}` : `✗ ${t('notVerified')}`))))));
}

export async function roomPage({ session, args, main }) {
  const id = args[0];
  const base = `/api/rooms/${encodeURIComponent(id)}`;
  const supervisor = ['admin', 'operator', 'auditor'].includes(session.role);
  const [room, balance, status, events, why, keys] = await Promise.all([
    get(base), get(`${base}/balance`), get(`${base}/status`), get(`${base}/events?limit=100`),
    supervisor ? get(`${base}/why`) : Promise.resolve({ items: [] }),
    supervisor ? get('/api/keys') : Promise.resolve({ items: [] }),
  ]);
  const r = room.items[0];
  const usage = usageSection(t('consumption'), base);
  const b = balance.items[0] || {};
  const verified = supervisor ? await verifyAll(events.items, keys.items) : events.items.map(() => true);
  main.append(
    h('h1', {}, `${t('room')} ${r.roomId}`),
    h('div', { class: 'tiles' },
      h('div', { class: 'tile' }, h('h3', {}, t('balance')), h('p', { id: 'room-balance' }, h('b', {}, yuan(r.balanceFen)))),
      h('div', { class: 'tile' }, h('h3', {}, t('allowanceLeft')), h('p', {}, h('b', {}, kwh(r.allowanceLeftWh)))),
      h('div', { class: 'tile' }, h('h3', {}, t('power')), h('p', { id: 'room-power' }, h('b', {}, b.power || ''), ' ', b.why || '')),
      h('div', { class: 'tile' }, h('h3', {}, t('remainingWh')), h('p', {}, h('b', {}, kwh(b.remainingWh))))),
    section(t('occupants'), table(r.occupants || [], ['personId', 'name', 'cardNo', 'identityClass'])),
    section(t('live'), table(status.items.flatMap((s) => s.meters || []),
      ['meter', 'circuit', 'link', 'readAt', 'voltageDv', 'currentMa', 'powerW', 'powerFactorMilli', 'relayOpen'])),
    why.items.length ? section(t('why'), table(why.items, undefined)) : null,
    usage.element,
    section(t('history'), historyTable(events.items, verified)));
  await usage.draw('day');
}
