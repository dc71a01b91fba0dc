// A student's own room: balance, free allowance left, what the balance still
// buys and when it would run out at this month's pace, power and why, a
// usage chart, and their reminders.
import { get, post } from '../api.js';
import { h, section, table, field, message, yuan, kwh } from '../ui.js';
import { t } from '../i18n.js';
import { usageSection } from './rooms.js';

export async function studentPage({ main }) {
  const me = (await get('/api/me')).items[0];
  const room = me.room;
  const base = `/api/rooms/${encodeURIComponent(room)}`;
  const [balance, reminders] = await Promise.all([get(`${base}/balance`), get('/api/me/notifications')]);
  const usage = usageSection(t('usage'), base);
  const b = balance.items[0] || {};
  // At this month's average daily use, the days the balance and allowance last.
  const dayOfMonth = new Date(Date.now() + 8 * 3600e3).getUTCDate();
  const perDayWh = Number(me.monthEnergyWh || 0) / dayOfMonth;
  const lastsWh = Number(b.remainingWh || 0) + Number(b.allowanceLeftWh || 0);
  const predicted = perDayWh > 0 ? `${Math.floor(lastsWh / perDayWh)} ${t('days')}` : t('never');
  const out = h('div', { class: 'out' });
  const password = h('form', { id: 'password-form', class: 'grid' },
    field('currentPassword', { name: 'current', type: 'password', required: true }),
    field('newPassword', { name: 'password', type: 'password', minlength: 8, required: true }),
    h('button', { type: 'submit' }, t('save')), out);
  password.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await post('/api/password', { current: password.current.value, password: password.password.value });
      message(out, t('ok'));
    } catch (error) { message(out, error.message, true); }
  });
  main.append(
    h('h1', {}, `${t('room')} ${room}`),
    h('div', { class: 'tiles' },
      h('div', { class: 'tile' }, h('h3', {}, t('balance')), h('p', { id: 'my-balance' }, h('b', {}, yuan(b.balanceFen)))),
      h('div', { class: 'tile' }, h('h3', {}, t('allowanceLeft')), h('p', {}, h('b', {}, kwh(b.allowanceLeftWh)))),
      h('div', { class: 'tile' }, h('h3', {}, t('power')), h('p', {}, h('b', {}, me.power), ' ', me.why || '')),
      h('div', { class: 'tile' }, h('h3', {}, t('predictedCut')), h('p', { id: 'predicted-cut' }, h('b', {}, predicted)))),
    usage.element,
    section(t('reminders'), table(reminders.items, ['kind', 'state', 'text', 'queuedSeq'])),
    section(t('changePassword'), password));
  await usage.draw('day');
}
