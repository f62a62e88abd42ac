// The dispatcher's HTTP API (/api/v1, CONTRACT.md). The CSRF token lives only in memory and
// goes out as X-CSRF-Token on every POST; a 401 anywhere sends the viewer to the login page.

export const auth = {user: null, role: null, csrf: null};

const ROLE_RANK = {viewer: 0, operator: 1, admin: 2};

export function roleAtLeast(need) {
  return auth.role !== null && (ROLE_RANK[auth.role] ?? -1) >= ROLE_RANK[need];
}

export function setAuth(answer) {
  auth.user = answer?.user ?? null;
  auth.role = answer?.role ?? null;
  auth.csrf = answer?.csrf ?? null;
}

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body; // the API's JSON answer ({"error", "outcome", "exit_code", ...}) or null
    this.retryAfter = retryAfter; // seconds, for 429
  }
}

let unauthorizedHandler = () => {};
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

/**
 * Calls the API. Resolves to the parsed JSON (or null for 204); rejects with ApiError for any
 * other answer, or a TypeError for a network failure / an AbortError when aborted.
 */
export async function api(method, path, body, {signal, noAuthRedirect = false} = {}) {
  const headers = {Accept: 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && auth.csrf) headers['X-CSRF-Token'] = auth.csrf;
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
    signal,
  });
  let data = null;
  if (res.status !== 204) {
    const text = await res.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = {error: text.slice(0, 300)};
      }
    }
  }
  if (res.ok) return data;
  const retry = parseRetryAfter(res.headers.get('Retry-After'));
  const err = new ApiError(res.status, data, retry);
  if (res.status === 401 && !noAuthRedirect) unauthorizedHandler(err);
  throw err;
}

function parseRetryAfter(value) {
  if (!value) return null;
  const n = Number(value);
  if (Number.isFinite(n)) return n;
  const d = Date.parse(value);
  return Number.isNaN(d) ? null : Math.max(0, Math.round((d - Date.now()) / 1000));
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body ?? {}, opts);

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;

export async function login(user, password) {
  const answer = await api('POST', '/login', {user, password}, {noAuthRedirect: true});
  setAuth(answer);
  return answer;
}

export async function me() {
  const answer = await api('GET', '/me', undefined, {noAuthRedirect: true});
  setAuth(answer);
  return answer;
}

export async function logout() {
  try {
    await api('POST', '/logout', {}, {noAuthRedirect: true});
  } finally {
    setAuth(null);
  }
}

/** A write's answer: {"exit_code","outcome","result","error"} from a 2xx or an error status. */
export async function write(path, body) {
  try {
    const data = await post(path, body);
    return {ok: true, status: 200, ...(data || {})};
  } catch (err) {
    if (err instanceof ApiError) {
      return {ok: false, status: err.status, retryAfter: err.retryAfter, ...(err.body || {}),
              error: err.body?.error || err.message};
    }
    if (err?.name === 'AbortError') throw err;
    return {ok: false, status: 0, outcome: 'network', error: `network error: ${err.message}`};
  }
}

/** A short human text for a failed read. */
export function describeError(err) {
  if (!(err instanceof ApiError)) return `Network error: ${err?.message || err}`;
  if (err.status === 403) return `Not allowed: ${err.body?.error || 'your role cannot do this'}`;
  if (err.status === 404) return `Not found: ${err.body?.error || 'no such item'}`;
  if (err.status === 429) return `Too many requests${err.retryAfter ? `: retry in ${err.retryAfter} s` : ''}`;
  return err.body?.error ? `${err.body.error} (HTTP ${err.status})` : `HTTP ${err.status}`;
}
