// The console's only way to the server: /console/login|session|logout and the operator API /admin/...
// Every state-changing call carries the session's CSRF token.
let csrf = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(method, url, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  const res = await fetch(url, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    if (res.status === 401 && url.startsWith('/admin/')) signedOut();
    throw new ApiError(res.status, (json && json.message) || `${res.status} ${res.statusText}`);
  }
  return json;
}

let onSignedOut = () => {};
function signedOut() {
  csrf = null;
  onSignedOut();
}
export function whenSignedOut(fn) {
  onSignedOut = fn;
}

export const get = (url) => call('GET', url);
export const post = (url, body) => call('POST', url, body ?? {});
export const patch = (url, body) => call('PATCH', url, body);
export const put = (url, body) => call('PUT', url, body ?? {});
export const del = (url) => call('DELETE', url);

export async function login(token) {
  const r = await call('POST', '/console/login', { token });
  csrf = r.csrf;
  return r;
}
export async function restore() {
  try {
    const r = await call('GET', '/console/session');
    csrf = r.csrf;
    return true;
  } catch {
    return false;
  }
}
export async function logout() {
  try {
    await call('POST', '/console/logout', {});
  } finally {
    csrf = null;
  }
}

/** query string from an object, skipping empty values */
export function qs(o) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}
