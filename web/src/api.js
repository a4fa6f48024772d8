// The two APIs, seen from the browser: the blog (RealWorld, /api) and the
// payments (/pay/v1). Same origin as the site, so no CORS and no cookie: the
// token lives in localStorage and travels only in the Authorization header,
// never in a URL.
import { signal } from './state.js';

const TOKEN_KEY = 'conduit.token';

export const session = signal(loadUser());
// The path on which a token was refused (expired, or signed out on every
// device): the page says so there, even though the signed-in view is gone.
export const expired = signal(null);

function loadUser() {
  try {
    return JSON.parse(localStorage.getItem('conduit.user') || 'null');
  } catch {
    return null;
  }
}

export function setUser(user) {
  if (user) {
    localStorage.setItem(TOKEN_KEY, user.token);
    const { token, ...rest } = user;
    localStorage.setItem('conduit.user', JSON.stringify(rest));
    expired.set(null);
    session.set(rest);
  } else {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem('conduit.user');
    session.set(null);
  }
}

function token() {
  return localStorage.getItem(TOKEN_KEY);
}

// An API failure, with what the site needs to say it in words: the HTTP
// status, the pay error code (or the blog's first field and message) and
// every blog field message.
export class ApiError extends Error {
  constructor(status, body, api) {
    super(`HTTP ${status}`);
    this.status = status;
    this.api = api;
    this.code = null;
    this.fields = [];
    if (api === 'pay' && body && body.error) {
      this.code = body.error.code || null;
      this.param = body.error.param || null;
      this.serverMessage = body.error.message || '';
    } else if (body && body.errors && typeof body.errors === 'object') {
      for (const [field, msgs] of Object.entries(body.errors)) {
        for (const m of [].concat(msgs)) this.fields.push([field, String(m)]);
      }
    }
  }
}

// Random, unguessable, printable ASCII: what Idempotency-Key accepts.
export function newKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return 'web-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

async function call(api, method, path, { body, key, auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  const t = auth ? token() : null;
  if (t) headers.Authorization = (api === 'pay' ? 'Bearer ' : 'Token ') + t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  // Every write but sign-up and sign-in (which have no user to scope a key
  // to) carries an Idempotency-Key: the caller's, kept for its intent, or a
  // new one for a single action (a favourite, a follow).
  if (!key && method !== 'GET' && !(api === 'blog' && /^\/users(\/login)?$/.test(path))) key = newKey();
  if (key) headers['Idempotency-Key'] = key;
  let res;
  try {
    res = await fetch((api === 'pay' ? '/pay/v1' : '/api') + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, null, api);
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data, api);
    // A token the services refuse (expired, revoked) is of no more use.
    if (res.status === 401 && t) {
      expired.set(location.pathname);
      setUser(null);
    }
    throw err;
  }
  return data;
}

export const blog = {
  get: (p, o) => call('blog', 'GET', p, o),
  post: (p, body, key) => call('blog', 'POST', p, { body, key }),
  put: (p, body, key) => call('blog', 'PUT', p, { body, key }),
  del: (p, key) => call('blog', 'DELETE', p, { key }),
  // A follow or a favourite: POST sets it, DELETE on the same path undoes it.
  toggle: (p, on) => (on ? call('blog', 'DELETE', p, {}) : call('blog', 'POST', p, {})),
};

export const pay = {
  get: (p) => call('pay', 'GET', p),
  post: (p, body, key) => call('pay', 'POST', p, { body, key }),
};

// A failed pay write whose outcome is not known (a network failure, the
// same key still in flight, throttled, a server error): sending the same
// intent with the same key again is safe. Any other 4xx is the key's final
// outcome, so a new attempt needs a new intent.
export function retryable(err) {
  return err.status === 0 || err.status === 409 || err.status === 429 || err.status >= 500;
}

// Path segments built from user data (slugs and usernames in any script)
// are always percent-encoded.
export const enc = encodeURIComponent;

export function qs(params) {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  }
  const out = s.toString();
  return out ? '?' + out : '';
}
