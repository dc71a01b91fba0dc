// Log in: staff with their account name, students with their campus card
// number; both with a password.
import { post } from '../api.js';
import { h, field, message } from '../ui.js';
import { t } from '../i18n.js';

export function loginPage(onLoggedIn) {
  const out = h('div');
  const form = h('form', { class: 'login card', id: 'login' },
    h('h1', {}, 'wattledger'), h('p', { class: 'sub' }, t('appName')),
    field('username', { name: 'username', autocomplete: 'username', required: true, autofocus: true }),
    field('password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('button', { type: 'submit' }, t('login')), out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const session = await post('/api/login', {
        username: form.username.value.trim(), password: form.password.value,
      });
      onLoggedIn(session);
    } catch (error) {
      message(out, error.message, true);
    }
  });
  return h('div', { class: 'login-wrap' }, form);
}
