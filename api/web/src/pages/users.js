// Users and keys (admins): web accounts with their roles, disabling and
// password resets, which registered key a staff account signs with; the
// ledger's signing keys, registered and revoked by a signed command.
import { get, post } from '../api.js';
import { h, section, field, select, formValues, message } from '../ui.js';
import { t } from '../i18n.js';
import { signAndSubmit, fromBase64, hex } from '../signing.js';

const ROLES = ['admin', 'operator', 'cashier', 'auditor', 'student'];
const KEY_ROLES = ['admin', 'operator', 'cashier', 'auditor', 'ingest', 'card-center'];

// A public key as 64 hex digits, from hex or an SPKI PEM (the .pub file).
function publicKeyHex(text) {
  const pem = /-----BEGIN PUBLIC KEY-----([\s\S]+?)-----END PUBLIC KEY-----/.exec(text);
  if (pem) return hex(fromBase64(pem[1].replace(/\s+/g, '')).slice(-32));
  return text.trim().toLowerCase();
}

export async function usersPage({ session, main }) {
  const [users, keys] = await Promise.all([get('/api/users'), get('/api/keys')]);
  const out = h('div', { class: 'out' });
  const reload = () => { main.replaceChildren(); return usersPage({ session, main }); };
  const act = (action) => async () => {
    try { await action(); await reload(); } catch (error) { message(out, error.message, true); }
  };
  // Which registered key a staff account signs with, changed in place.
  const keyChoice = (u) => {
    const choice = select('keyId', [['', '—'], ...keys.items.filter((k) => !k.revoked && k.role !== 'ledger')
      .map((k) => [k.keyId, `${k.holder} (${k.role}) ${k.keyId.slice(0, 8)}`])], u.keyId);
    choice.addEventListener('change', act(() => post(`/api/users/${encodeURIComponent(u.name)}`, { keyId: choice.value })));
    return choice;
  };
  const accountRows = users.items.map((u) => h('tr', { 'data-user': u.name },
    h('td', {}, u.name), h('td', {}, u.role), h('td', {}, u.displayName),
    h('td', {}, u.role === 'student' ? u.personId : keyChoice(u)),
    h('td', {}, u.disabled ? t('disable') : ''),
    h('td', {},
      u.name === session.user ? '' : h('button', { class: 'small', onclick: act(() => post(`/api/users/${encodeURIComponent(u.name)}`, { disabled: !u.disabled })) },
        u.disabled ? t('enable') : t('disable')),
      h('button', { class: 'small', onclick: act(async () => {
        const password = prompt(`${t('newPassword')} (${u.name})`);
        if (password) await post(`/api/users/${encodeURIComponent(u.name)}`, { password });
      }) }, t('changePassword')))));
  const create = h('form', { id: 'user-form', class: 'grid' },
    field('username', { name: 'name', required: true }),
    h('label', { class: 'field' }, h('span', {}, t('role')), select('role', ROLES.map((r) => [r, r]), 'operator')),
    field('displayName', { name: 'displayName' }),
    field('password', { name: 'password', type: 'password', minlength: 8, required: true }),
    h('label', { class: 'field' }, h('span', {}, t('keyId')), select('keyId', [['', '—'], ...keys.items.filter((k) => !k.revoked && k.role !== 'ledger').map((k) => [k.keyId, `${k.holder} (${k.role}) ${k.keyId.slice(0, 8)}`])], '')),
    field('personId', { name: 'personId', placeholder: 'S2026…' }),
    h('button', { type: 'submit' }, t('create')));
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    try { await post('/api/users', formValues(create)); await reload(); } catch (error) { message(out, error.message, true); }
  });
  const register = h('form', { id: 'key-form', class: 'grid' },
    h('label', { class: 'field' }, h('span', {}, t('publicKey')), h('textarea', { name: 'publicKey', rows: 3, required: true, placeholder: '-----BEGIN PUBLIC KEY----- … / hex' })),
    h('label', { class: 'field' }, h('span', {}, t('role')), select('role', KEY_ROLES.map((r) => [r, r]), 'operator')),
    field('holder', { name: 'holder', required: true }),
    h('button', { type: 'submit' }, `${t('register')} (${t('send')})`));
  register.addEventListener('submit', async (e) => {
    e.preventDefault();
    const args = formValues(register);
    args.publicKey = publicKeyHex(args.publicKey || '');
    try { await signAndSubmit(session.user, 'key-register', args); await reload(); } catch (error) { message(out, error.message, true); }
  });
  const keyRows = keys.items.map((k) => h('tr', {},
    h('td', {}, h('code', {}, k.keyId.slice(0, 16))), h('td', {}, k.role), h('td', {}, k.holder),
    h('td', {}, k.revoked ? t('revoked') : ''), h('td', {}, k.registeredSeq),
    h('td', {}, k.revoked || k.role === 'ledger' ? '' : h('button', { class: 'small', onclick: act(async () => {
      const reason = prompt(`${t('revoke')} ${k.holder}: ${t('reason')}`);
      if (reason) await signAndSubmit(session.user, 'key-revoke', { keyId: k.keyId, reason });
    }) }, t('revoke')))));
  main.append(out,
    section(t('accounts'), h('div', { class: 'table-wrap' }, h('table', { id: 'accounts' },
      h('thead', {}, h('tr', {}, ['username', 'role', 'displayName', 'keyId', 'state', ''].map((k) => h('th', {}, k ? t(k) : '')))),
      h('tbody', {}, accountRows))), create),
    section(t('keys'), h('div', { class: 'table-wrap' }, h('table', { id: 'keys' },
      h('thead', {}, h('tr', {}, ['keyId', 'role', 'holder', 'state', 'seq', ''].map((k) => h('th', {}, k ? t(k) : '')))),
      h('tbody', {}, keyRows))), register));
}
