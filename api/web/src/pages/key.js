// My key: import the Ed25519 private key (PKCS#8 PEM) this browser signs
// with, once; it is kept non-extractable in IndexedDB. Shows whether it is
// the key the account names. And the password change.
import { post } from '../api.js';
import { h, section, field, message } from '../ui.js';
import { t } from '../i18n.js';
import { importKey, storedKey, forgetKey, generateKey } from '../signing.js';

export async function keyPage({ session, main }) {
  const out = h('div', { class: 'out' });
  const stored = await storedKey(session.user);
  const state = h('p', { id: 'key-state' },
    stored ? `${t('keyStored')}: ${stored.keyId}` : t('noKey'),
    h('br'), `${t('accountKey')}: ${session.keyId || t('never')}`,
    stored && session.keyId && stored.keyId !== session.keyId ? h('b', { class: 'error' }, ' ≠') : '');
  const file = h('input', { type: 'file', id: 'key-file', accept: '.pem' });
  file.addEventListener('change', async () => {
    try {
      const keyId = await importKey(session.user, await file.files[0].text());
      message(out, `${t('keyStored')}: ${keyId}`);
      main.replaceChildren();
      await keyPage({ session, main });
    } catch (error) {
      message(out, error.message, true);
    }
  });
  // A key made here: its PEM is offered once as a download, its public key
  // is shown for an admin to register (Users & keys) and name on the account.
  const generate = h('button', { id: 'generate-key', onclick: async () => {
    try {
      const made = await generateKey(session.user);
      const url = URL.createObjectURL(new Blob([made.pem], { type: 'application/x-pem-file' }));
      main.replaceChildren();
      await keyPage({ session, main });
      main.querySelector('#key-state').after(h('div', { class: 'msg ok', id: 'new-key' },
        h('p', {}, `${t('publicKey')}: `, h('code', { id: 'new-public-key' }, made.publicKey)),
        h('p', {}, t('newKeyHint')),
        h('a', { href: url, download: `${session.user}.pem`, class: 'button', id: 'save-key' }, t('saveKey'))));
    } catch (error) {
      message(out, error.message, true);
    }
  } }, t('generateKey'));
  const password = h('form', { id: 'password-form', class: 'grid' },
    field('currentPassword', { name: 'current', type: 'password', required: true, autocomplete: 'current-password' }),
    field('newPassword', { name: 'password', type: 'password', minlength: 8, required: true, autocomplete: 'new-password' }),
    h('button', { type: 'submit' }, t('save')));
  password.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await post('/api/password', { current: password.current.value, password: password.password.value });
      message(out, t('ok'));
      password.reset();
    } catch (error) {
      message(out, error.message, true);
    }
  });
  main.append(
    section(t('myKey'), state, h('label', { class: 'field' }, h('span', {}, t('importKey')), file),
      h('p', {}, generate),
      stored ? h('button', { onclick: async () => { await forgetKey(session.user); main.replaceChildren(); await keyPage({ session, main }); } }, t('forget')) : '',
      out),
    section(t('changePassword'), password));
}
