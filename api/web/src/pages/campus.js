// The campus registry (admins and operators): buildings, gateways, rooms,
// occupants moving in, out and between rooms, meters installed and replaced,
// tariffs and overdraft limits. Each form is one signed command
// (api/commands/campus_commands.h), signed here with the person's own key.
import { section, field, actionForm } from '../ui.js';
import { t } from '../i18n.js';
import { signAndSubmit } from '../signing.js';

// [command, title, fields: [name, label, attrs]]
const FORMS = [
  ['occupant-assign', 'occupantAssign', [['room', 'room', { required: true }], ['person', 'personId', { required: true }],
    ['name', 'displayName'], ['identity', 'identityClass', { placeholder: 'undergraduate' }], ['card', 'cardNo']]],
  ['occupant-moveout', 'occupantMoveOut', [['room', 'room', { required: true }], ['person', 'personId', { required: true }], ['reason', 'reason']]],
  ['exchange', 'exchange', [['person', 'personId', { required: true }], ['room', 'fromRoom', { required: true }],
    ['to', 'toRoom', { required: true }], ['swapPerson', 'swapPerson']]],
  ['room', 'roomAdd', [['id', 'room', { required: true, placeholder: 'B01-301' }], ['building', 'building', { required: true }],
    ['floor', 'floor', { type: 'number' }], ['number', 'number'], ['capacity', 'capacity', { type: 'number', min: 1, value: '4' }], ['tariffClass', 'tariffClass']]],
  ['building', 'buildingAdd', [['id', 'building', { required: true }], ['name', 'displayName'], ['campus', 'campus']]],
  ['meter-install', 'meterInstall', [['address', 'meter', { required: true, placeholder: '000000010001' }], ['gateway', 'gateway', { required: true }],
    ['room', 'room', { required: true }], ['circuit', 'circuit', { type: 'number', min: 1, max: 4, value: '1' }], ['initialWh', 'initialWh', { type: 'number', min: 0 }]]],
  ['meter-replace', 'meterReplace', [['oldMeter', 'oldMeter', { required: true }], ['newMeter', 'newMeter', { required: true }],
    ['circuit', 'circuit', { type: 'number', value: '1' }], ['oldFinalWh', 'oldFinalWh', { type: 'number', required: true }], ['newInitialWh', 'newInitialWh', { type: 'number', required: true }]]],
  ['gateway', 'gatewayAdd', [['id', 'gateway', { required: true }], ['address', 'address', { placeholder: '10.0.0.5:9601' }], ['location', 'location'], ['mode', 'mode', { placeholder: 'server | client' }]]],
  ['tariff', 'tariff', [['identity', 'identityClass', { required: true }], ['tiers', 'tiers', { required: true, placeholder: '200:0.5880,0:0.6380' }],
    ['allowanceKwhPerYear', 'allowanceKwhPerYear', { placeholder: '140' }], ['effectiveFrom', 'effectiveFrom', { placeholder: 'now | 2027-01-01T00:00:00+08:00' }]]],
  ['overdraft', 'overdraft', [['room', 'room', { required: true }], ['limitFen', 'limitFen', { type: 'number', min: 0, required: true }]]],
];

export async function campusPage({ session, main }) {
  for (const [command, title, fields] of FORMS) {
    const form = actionForm(`${command}-form`,
      fields.map(([name, label, attrs]) => field(label, { name, ...(attrs || {}) })),
      async (args) => {
        const done = await signAndSubmit(session.user, command, args);
        return `${t('ok')}: seq ${done.seq}${done.derived ? ` (+${done.derived})` : ''}`;
      });
    main.append(section(t(title), form));
  }
}
