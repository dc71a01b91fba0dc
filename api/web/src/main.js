// The console's shell: who is logged in, the pages their role may open (the
// server's route table decides what they may do; this only hides what would
// be refused), the language switch, and the hash router (#/rooms/B01-101).
import { get, post, setCsrfToken, ApiError } from './api.js';
import { h } from './ui.js';
import { t, language, setLanguage } from './i18n.js';
import { disposeCharts } from './charts.js';
import { loginPage } from './pages/login.js';
import { dashboardPage } from './pages/dashboard.js';
import { roomsPage, roomPage } from './pages/rooms.js';
import { devicesPage } from './pages/devices.js';
import { controlPage } from './pages/control.js';
import { cashierPage } from './pages/cashier.js';
import { reportsPage } from './pages/reports.js';
import { auditPage } from './pages/audit.js';
import { usersPage } from './pages/users.js';
import { keyPage } from './pages/key.js';
import { campusPage } from './pages/campus.js';
import { studentPage } from './pages/student.js';

const STAFF = ['admin', 'operator', 'cashier', 'auditor'];
const PAGES = [
  { path: 'dashboard', label: 'dashboard', roles: ['admin', 'operator', 'auditor'], render: dashboardPage },
  { path: 'rooms', label: 'rooms', roles: STAFF, render: roomsPage },
  { path: 'devices', label: 'devices', roles: ['admin', 'operator', 'auditor'], render: devicesPage },
  { path: 'control', label: 'control', roles: ['admin', 'operator'], render: controlPage },
  { path: 'campus', label: 'campus', roles: ['admin', 'operator'], render: campusPage },
  { path: 'cashier', label: 'cashier', roles: ['operator', 'cashier'], render: cashierPage },
  { path: 'reports', label: 'reports', roles: STAFF, render: reportsPage },
  { path: 'audit', label: 'audit', roles: ['admin', 'operator', 'auditor'], render: auditPage },
  { path: 'users', label: 'users', roles: ['admin'], render: usersPage },
  { path: 'key', label: 'myKey', roles: STAFF, render: keyPage },
  { path: 'me', label: 'myRoom', roles: ['student'], render: studentPage },
];

let session = null;
const app = document.getElementById('app');

function navigation() {
  return h('nav', {},
    h('span', { class: 'brand' }, 'wattledger'),
    PAGES.filter((p) => p.roles.includes(session.role)).map((p) =>
      h('a', { href: `#/${p.path}`, 'data-page': p.path }, t(p.label))),
    h('span', { class: 'spacer' }),
    h('span', { class: 'who' }, `${session.displayName || session.user} · ${session.role}`),
    h('button', { class: 'link', onclick: () => { setLanguage(language() === 'zh' ? 'en' : 'zh'); route(); } },
      language() === 'zh' ? 'English' : '中文'),
    h('button', { class: 'link', id: 'logout', onclick: logout }, t('logout')));
}

async function logout() {
  try { await post('/api/logout'); } catch { /* the session may be gone already */ }
  session = null;
  setCsrfToken('');
  location.hash = '';
  route();
}

export async function route() {
  disposeCharts();
  clearInterval(window.wlTimer);
  if (!session) {
    try {
      session = await get('/api/session');
      setCsrfToken(session.csrfToken);
    } catch {
      session = null;
    }
  }
  if (!session) {
    app.replaceChildren(loginPage(async (s) => {
      session = s;
      setCsrfToken(s.csrfToken);
      location.hash = s.role === 'student' ? '#/me' : '#/dashboard';
      route();
    }));
    return;
  }
  const [, name, ...rest] = (location.hash || '#/').slice(1).split('/');
  const allowed = PAGES.filter((p) => p.roles.includes(session.role));
  let page = allowed.find((p) => p.path === name);
  if (!page) {
    page = allowed[0];
    history.replaceState(null, '', `#/${page.path}`);
  }
  const main = h('main', { id: 'page', 'data-page': page.path });
  app.replaceChildren(navigation(), main);
  app.querySelector(`nav a[data-page="${page.path}"]`)?.classList.add('active');
  const context = { session, args: rest.map(decodeURIComponent), main };
  try {
    if (page.path === 'rooms' && rest.length) await roomPage(context);
    else await page.render(context);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      session = null;
      route();
      return;
    }
    main.append(h('p', { class: 'msg error' }, `${t('error')}: ${error.message}`));
  }
}

setLanguage(language());
window.addEventListener('hashchange', route);
route();
