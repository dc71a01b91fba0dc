// Control: cut off, restore or keep power on a meter with a reason; the
// parameters a meter enforces itself (load limit, malicious-load step,
// recovery delay, schedules); a policy for the campus, a building or a room
// (no-cut windows, whitelists, escalation); and what is pending or failed.
// Every change is signed here with the operator's own key.
import { get } from '../api.js';
import { h, section, table, field, select, actionForm } from '../ui.js';
import { t } from '../i18n.js';
import { signAndSubmit } from '../signing.js';

export async function controlPage({ session, main }) {
  const user = session.user;
  const relay = actionForm('relay-form', [
    field('meter', { name: 'meter', required: true, placeholder: '000000010001' }),
    field('circuit', { name: 'circuit', value: '1' }),
    field('room', { name: 'room' }),
    field('reason', { name: 'reason', required: true }),
    h('label', { class: 'field' }, h('span', {}, t('control')), select('action', [
      ['trip', t('cut')], ['close-direct', t('restore')], ['close-permit', `${t('restore')} (permit)`],
      ['keep-power', t('keepPower')], ['keep-power-clear', t('keepPowerClear')]], 'trip')),
  ], async (args) => {
    const done = await signAndSubmit(user, 'control', args);
    return `${t('ok')}: seq ${done.seq}`;
  });
  const params = actionForm('params-form', [
    field('meter', { name: 'meter', required: true }), field('reason', { name: 'reason', required: true }),
    field('loadLimitW', { name: 'loadLimitW', type: 'number', min: 0 }),
    field('maliciousStepW', { name: 'maliciousStepW', type: 'number', min: 0 }),
    field('maliciousPfMilli', { name: 'maliciousPfMilli', type: 'number', min: 0, max: 1000, value: '950' }),
    field('recoveryMinutes', { name: 'recoveryMinutes', type: 'number', min: 0, max: 255 }),
    field('workday', { name: 'workday', placeholder: '00:00,night,300;07:00,on' }),
    field('holiday', { name: 'holiday' }),
  ], async (args) => `${t('ok')}: seq ${(await signAndSubmit(user, 'params', args)).seq}`);
  const policy = actionForm('policy-form', [
    field('scope', { name: 'scope', required: true, placeholder: 'campus | building:B01 | room:B01-101' }),
    field('reason', { name: 'reason', required: true }),
    field('loadLimitW', { name: 'loadLimitW', type: 'number', min: 0 }),
    field('maliciousStepW', { name: 'maliciousStepW', type: 'number', min: 0 }),
    field('recoveryMinutes', { name: 'recoveryMinutes', type: 'number', min: 0, max: 255 }),
    field('noCut', { name: 'noCut', placeholder: 'night,23:00-07:00' }),
    field('whitelist', { name: 'whitelist', placeholder: 'fridge:150;laptop:90' }),
    field('workday', { name: 'workday' }), field('holiday', { name: 'holiday' }),
    field('escalateAfter', { name: 'escalateAfter', type: 'number', min: 0, max: 255 }),
    field('escalateWindowMinutes', { name: 'escalateWindowMinutes', type: 'number', min: 0 }),
  ], async (args) => `${t('ok')}: seq ${(await signAndSubmit(user, 'policy', args)).seq}`);
  const commands = await get('/api/commands');
  main.append(
    section(t('control'), relay),
    section(t('params'), params),
    section(t('policy'), policy),
    section(`${t('commands')}: ${t('pending')} / ${t('failed')}`,
      table(commands.items.filter((c) => c.state !== 'delivered'), ['seq', 'meter', 'circuit', 'command', 'state', 'attempts', 'reason', 'failure'])));
}
