// The console's calls to wattd's JSON API (api/http/README.md): the session
// cookie rides along by itself; state-changing calls carry the session's
// CSRF token. A refusal throws ApiError with the server's message and code.
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let csrfToken = '';
export function setCsrfToken(token) { csrfToken = token || ''; }

async function call(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  const response = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = response.headers.get('Content-Type') || '';
  if (!response.ok) {
    let message = response.statusText;
    let code = '';
    if (type.startsWith('application/json')) {
      const json = await response.json();
      message = json.error || message;
      code = json.code || '';
    }
    throw new ApiError(response.status, message, code);
  }
  if (response.status === 204) return null;
  return type.startsWith('application/json') ? response.json() : response.text();
}

export const get = (path) => call('GET', path);
export const post = (path, body = {}) => call('POST', path, body);

// A query string from an object, skipping empty values.
export function query(params) {
  const entries = Object.entries(params).filter(([, v]) => v !== '' && v !== undefined && v !== null);
  return entries.length ? `?${new URLSearchParams(entries)}` : '';
}
