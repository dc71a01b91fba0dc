// Small DOM helpers: elements, tables of query lines, money and energy, and
// a message line for what the user just did.
import { t } from './i18n.js';

// h('div', {class: 'x', onclick}, child, ...): children are nodes or text.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'value') el.value = value;
    else el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const yuan = (fen) => (fen === undefined || fen === null ? '' : `¥${(Number(fen) / 100).toFixed(2)}`);
export const kwh = (wh) => (wh === undefined || wh === null ? '' : `${(Number(wh) / 1000).toFixed(2)} kWh`);

function cell(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// A table of objects; `columns` picks and orders keys (default: the first row's).
export function table(items, columns) {
  if (!items || items.length === 0) return h('p', { class: 'empty' }, '—');
  const keys = columns || Object.keys(items[0]);
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, keys.map((k) => h('th', {}, t(k))))),
    h('tbody', {}, items.map((item) => h('tr', {}, keys.map((k) => h('td', { 'data-col': k }, cell(item[k]))))))));
}

// A form field: label and input; `attrs` go to the input.
export const field = (label, attrs = {}) => h('label', { class: 'field' }, h('span', {}, t(label)), h('input', attrs));

export function select(name, options, value) {
  return h('select', { name }, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

// The form's named inputs as an object of trimmed text, skipping empty ones.
export function formValues(form) {
  const out = {};
  for (const el of form.querySelectorAll('[name]')) {
    const v = (el.value || '').trim();
    if (v !== '') out[el.name] = v;
  }
  return out;
}

// Shows the outcome of an action under the form.
export function message(target, text, isError = false) {
  target.replaceChildren(h('p', { class: isError ? 'msg error' : 'msg ok', role: 'status' }, text));
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}

// A time in µs since the epoch as campus time (UTC+8), as the server's texts give it.
export function campusTime(us) {
  if (!us) return '';
  return new Date(Number(us) / 1000 + 8 * 3600e3).toISOString().replace('T', ' ').slice(0, 19);
}

// A form of `fields` that runs `onSubmit(values)` and shows what it returns
// (text, or a node such as a receipt) or the error it throws, below itself.
export function actionForm(id, fields, onSubmit, button = t('send')) {
  const out = h('div', { class: 'out' });
  const form = h('form', { id, class: 'grid' }, fields, h('button', { type: 'submit' }, button), out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const shown = await onSubmit(formValues(form));
      if (shown instanceof Node) out.replaceChildren(shown); else message(out, shown);
    } catch (error) {
      message(out, error.message, true);
    }
  });
  return form;
}
