// DOM and formatting helpers. Data only ever reaches the page through textContent and
// attributes set one by one: never innerHTML (the CSP forbids inline script and style too).

/**
 * h('a', {class: 'x', href: '#/', onclick: fn, dataset: {id: 1}}, 'text', child, [more])
 * Attribute values are set with setAttribute (strings) or as properties for on* handlers.
 */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') {
        node.addEventListener(key.slice(2), value);
      } else if (key === 'class') {
        node.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
      } else if (key === 'dataset') {
        for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
      } else if (key === 'text') {
        node.textContent = String(value);
      } else if (key === 'value' || key === 'checked' || key === 'selected' || key === 'disabled') {
        node[key] = value;
      } else {
        node.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

export function replace(node, ...children) {
  clear(node);
  return append(node, children);
}

// ---- time ----------------------------------------------------------------------------------

const absoluteFmt = new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'medium'});
const shortFmt = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});
const relFmt = new Intl.RelativeTimeFormat(undefined, {numeric: 'auto', style: 'short'});
const numberFmt = new Intl.NumberFormat();

export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

export function parseTime(value) {
  if (value === null || value === undefined || value === '') return null;
  const d = typeof value === 'number' ? new Date(value) : new Date(String(value));
  return Number.isNaN(d.getTime()) ? null : d;
}

export function formatAbsolute(value) {
  const d = parseTime(value);
  return d ? absoluteFmt.format(d) : '—';
}

export function formatShort(value) {
  const d = parseTime(value);
  return d ? shortFmt.format(d) : '—';
}

export function formatRelative(value, now = Date.now()) {
  const d = parseTime(value);
  if (!d) return '—';
  const seconds = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return seconds <= 0 ? 'just now' : 'in a few s';
  if (abs < 3600) return relFmt.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return relFmt.format(Math.round(seconds / 3600), 'hour');
  if (abs < 86400 * 45) return relFmt.format(Math.round(seconds / 86400), 'day');
  if (abs < 86400 * 365) return relFmt.format(Math.round(seconds / (86400 * 30.44)), 'month');
  return relFmt.format(Math.round(seconds / (86400 * 365.25)), 'year');
}

/** "54 min", "3 h 5 min", "2 d 4 h" for a span in seconds. */
export function formatSpan(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 24) return m % 60 ? `${hours} h ${m % 60} min` : `${hours} h`;
  const d = Math.floor(hours / 24);
  return hours % 24 ? `${d} d ${hours % 24} h` : `${d} d`;
}

/**
 * <time> showing a relative time ("3 min ago"), the absolute one in the viewer's time zone as
 * its title; refreshed by the page clock (tickRelativeTimes), no network involved.
 */
export function timeEl(value, {mode = 'relative'} = {}) {
  const d = parseTime(value);
  if (!d) return h('span', {class: 'muted'}, '—');
  const el = h('time', {datetime: d.toISOString(), title: `${absoluteFmt.format(d)} (${timeZone})`});
  if (mode === 'relative') {
    el.dataset.rel = '1';
    el.textContent = formatRelative(d);
  } else if (mode === 'both') {
    el.dataset.relBoth = '1';
    el.textContent = `${absoluteFmt.format(d)} · ${formatRelative(d)}`;
  } else {
    el.textContent = absoluteFmt.format(d);
  }
  return el;
}

/** "expires in 54 min" style, refreshed like timeEl. */
export function untilEl(value, prefix) {
  const d = parseTime(value);
  if (!d) return h('span', {class: 'muted'}, '—');
  const el = h('time', {datetime: d.toISOString(), title: `${absoluteFmt.format(d)} (${timeZone})`});
  el.dataset.until = prefix;
  el.textContent = untilText(d, prefix);
  return el;
}

function untilText(d, prefix) {
  const s = (d.getTime() - Date.now()) / 1000;
  return s > 0 ? `${prefix} in ${formatSpan(s)}` : `${prefix} ${formatRelative(d)}`;
}

export function tickRelativeTimes(root = document) {
  for (const el of root.querySelectorAll('time[data-rel]')) {
    el.textContent = formatRelative(el.getAttribute('datetime'));
  }
  for (const el of root.querySelectorAll('time[data-rel-both]')) {
    const d = el.getAttribute('datetime');
    el.textContent = `${formatAbsolute(d)} · ${formatRelative(d)}`;
  }
  for (const el of root.querySelectorAll('time[data-until]')) {
    el.textContent = untilText(new Date(el.getAttribute('datetime')), el.dataset.until);
  }
}

export function formatNumber(n) {
  return numberFmt.format(n);
}

// ---- small widgets --------------------------------------------------------------------------

export function badge(text, kind = '') {
  return h('span', {class: ['badge', kind && `badge-${kind}`]}, text);
}

export function onlineDot(online) {
  return h('span', {class: ['dot', online ? 'dot-on' : 'dot-off'], title: online ? 'online' : 'offline'},
    h('span', {class: 'sr-only'}, online ? 'online' : 'offline'));
}

export function stateBadge(state) {
  const kind = {active: 'ok', opening: 'warn', closed: 'muted', failed: 'bad'}[state] || '';
  return badge(state || '—', kind);
}

export function labelChips(labels) {
  // The API gives labels as a list of strings ("site:sh"); an object of key -> value works too.
  if (Array.isArray(labels)) {
    if (!labels.length) return h('span', {class: 'muted'}, '—');
    return h('span', {class: 'chips'},
      [...labels].sort().map((l) => h('span', {class: 'chip', title: String(l)}, h('span', {class: 'chip-k'}, String(l)))));
  }
  const entries = Object.entries(labels || {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return h('span', {class: 'muted'}, '—');
  return h('span', {class: 'chips'},
    entries.map(([k, v]) => h('span', {class: 'chip', title: `${k}=${v}`},
      h('span', {class: 'chip-k'}, k), h('span', {class: 'chip-v'}, String(v)))));
}

export function portsText(ports) {
  const entries = Object.entries(ports || {});
  if (!entries.length) return '—';
  return entries.map(([svc, port]) => (port ? `${svc}:${port}` : svc)).join(', ');
}

/** Pretty JSON in a <pre>, for bodies and results. */
export function jsonBlock(value) {
  let text;
  try {
    text = typeof value === 'string' ? JSON.stringify(JSON.parse(value), null, 2)
                                     : JSON.stringify(value, null, 2);
  } catch {
    text = String(value);
  }
  return h('pre', {class: 'json', tabindex: '0'}, text);
}

/** A nested object as a definition list (dotted keys for nesting). */
export function factsList(obj, {maxDepth = 3} = {}) {
  const dl = h('dl', {class: 'facts'});
  const walk = (value, prefix, depth) => {
    if (value && typeof value === 'object' && !Array.isArray(value) && depth < maxDepth &&
        Object.keys(value).length) {
      for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k, depth + 1);
      return;
    }
    let text;
    if (Array.isArray(value)) {
      text = value.every((x) => x === null || typeof x !== 'object')
        ? value.join(', ') : JSON.stringify(value);
    } else if (value && typeof value === 'object') {
      text = JSON.stringify(value);
    } else {
      text = value === null || value === undefined || value === '' ? '—' : String(value);
    }
    dl.append(h('dt', null, prefix || 'value'), h('dd', null, text));
  };
  walk(obj, '', 0);
  return dl;
}

/**
 * Calls fn once calls have paused for `ms`; with maxWait, also at least every maxWait ms while
 * calls keep coming (so a steady stream of notifications cannot starve the refresh).
 */
export function debounce(fn, ms, maxWait = 0) {
  let timer = null;
  let first = 0;
  const fire = (args) => {
    clearTimeout(timer);
    timer = null;
    first = 0;
    fn(...args);
  };
  const wrapped = (...args) => {
    const now = Date.now();
    if (!first) first = now;
    clearTimeout(timer);
    const wait = maxWait ? Math.min(ms, Math.max(0, first + maxWait - now)) : ms;
    timer = setTimeout(() => fire(args), wait);
  };
  wrapped.cancel = () => {
    clearTimeout(timer);
    timer = null;
    first = 0;
  };
  return wrapped;
}

/**
 * Replaces a region's content (a re-fetched page) keeping keyboard focus on the equivalent
 * element (same link target, same button text, same control id) when focus was inside.
 */
export function replaceKeepingFocus(node, ...children) {
  const active = document.activeElement;
  let key = null;
  if (active && node.contains(active) && active !== node) {
    key = {tag: active.tagName, id: active.id, href: active.getAttribute('href'),
      label: active.getAttribute('aria-label') || active.getAttribute('title'), text: active.textContent};
  }
  replace(node, ...children);
  if (!key) return node;
  const candidates = [...node.querySelectorAll(key.tag)];
  const match = (key.id && candidates.find((el) => el.id === key.id)) ||
    (key.href && candidates.find((el) => el.getAttribute('href') === key.href)) ||
    (key.label && candidates.find((el) => (el.getAttribute('aria-label') || el.getAttribute('title')) === key.label)) ||
    candidates.find((el) => el.textContent === key.text);
  if (match) match.focus({preventScroll: true});
  return node;
}

/** Toast messages (a polite live region in index.html). */
export function toast(message, kind = 'info', ms = 5000) {
  const region = document.getElementById('toasts');
  if (!region) return;
  const el = h('div', {class: ['toast', `toast-${kind}`], role: kind === 'error' ? 'alert' : 'status'},
    message);
  region.append(el);
  setTimeout(() => el.remove(), ms);
}
