// One edge: facts, system info (send system_info), session controls (operators), request
// history and session history (audit). Live updates re-fetch what this edge's messages touch.

import {get, write, query, enc, roleAtLeast, describeError} from './api.js';
import {h, replace, replaceKeepingFocus, onlineDot, labelChips, timeEl, untilEl, badge, stateBadge, portsText,
  jsonBlock, factsList, formatAbsolute, formatNumber} from './dom.js';
import {dataTable, pager, sortLocal, setBusy, errorBox} from './table.js';
import {subscribe, edgeOf} from './live.js';

export const name = 'edge';

/** Auto-stop choices offered for open and extend (value is the API's duration text). */
export const AUTO_STOPS = [['15m', '15 minutes'], ['1h', '1 hour'], ['4h', '4 hours'], ['1d', '1 day']];
const LIVE_STATES = new Set(['opening', 'active']);

export function mount(root, {args}) {
  const edgeId = args[0];
  const base = `/edges/${enc(edgeId)}`;
  const canOperate = roleAtLeast('operator');
  let edge = null;
  let busy = false; // a write is in flight: controls stay disabled
  let lastOutcome = null;
  let sessionSig = null; // what the session card shows: re-rendered only when it changes
  // The operator's choices survive re-renders (live updates).
  const choice = {autoStop: '1h', mode: 'tcp', services: '', offline: false, extendAutoStop: '1h'};
  const ctl = {edge: null, req: null, audit: null};

  const title = h('h1', {class: 'mono'}, edgeId);
  const headBadges = h('span', {class: 'head-badges'});
  const factsBody = h('div', {class: 'card-body'}, h('p', {class: 'loading'}, 'Loading…'));
  const sessionBody = h('div', {class: 'card-body', id: 'session-card-body'});
  const outcomeBox = h('div', {class: 'outcome-slot', id: 'session-outcome', 'aria-live': 'polite'});
  const systemBody = h('div', {class: 'card-body'});
  const systemOutcome = h('div', {class: 'outcome-top', 'aria-live': 'polite'});
  const requestsBody = h('div', {class: 'card-body'});
  const auditBody = h('div', {class: 'card-body'});
  const reqState = {limit: 10, offset: 0, sort: {key: 'requested_at', order: 'desc'}};
  const auditState = {limit: 10, offset: 0, sort: {key: 'at', order: 'desc'}};

  const systemButton = h('button', {type: 'button', class: 'btn', id: 'system-info',
    onclick: fetchSystemInfo, hidden: !canOperate}, 'System info');

  root.append(
    h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'},
      h('a', {href: '#/edges'}, 'Edges'), h('span', {'aria-hidden': 'true'}, ' / '),
      h('span', {'aria-current': 'page', class: 'mono'}, edgeId)),
    h('div', {class: 'page-head'}, title, headBadges),
    h('div', {class: 'grid-2'},
      h('section', {class: 'card', 'aria-labelledby': 'facts-h'},
        h('header', {class: 'card-head'}, h('h2', {id: 'facts-h'}, 'Edge')), factsBody),
      h('section', {class: 'card', id: 'session-card', 'aria-labelledby': 'session-h'},
        h('header', {class: 'card-head'}, h('h2', {id: 'session-h'}, 'Session')),
        sessionBody, outcomeBox)),
    h('section', {class: 'card', 'aria-labelledby': 'system-h'},
      h('header', {class: 'card-head'}, h('h2', {id: 'system-h'}, 'System info'), systemButton),
      systemOutcome, systemBody),
    h('section', {class: 'card', 'aria-labelledby': 'requests-h'},
      h('header', {class: 'card-head'}, h('h2', {id: 'requests-h'}, 'Requests')), requestsBody),
    h('section', {class: 'card', 'aria-labelledby': 'audit-h'},
      h('header', {class: 'card-head'}, h('h2', {id: 'audit-h'}, 'Session history')), auditBody));

  // ---- loading -------------------------------------------------------------------------------

  async function loadEdge() {
    ctl.edge?.abort();
    const c = (ctl.edge = new AbortController());
    try {
      edge = await get(base, {signal: c.signal});
      renderEdge();
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 404) {
        replace(factsBody, h('p', {class: 'notice notice-bad', role: 'alert'},
          `There is no edge "${edgeId}".`));
        replace(sessionBody);
        return;
      }
      replace(factsBody, errorBox(`Could not load the edge. ${describeError(err)}`, loadEdge));
    }
  }

  async function loadRequests({quiet = false} = {}) {
    ctl.req?.abort();
    const c = (ctl.req = new AbortController());
    if (!quiet) setBusy(requestsBody, true);
    try {
      const data = await get(`${base}/requests${query({limit: reqState.limit, offset: reqState.offset})}`,
        {signal: c.signal});
      renderRequests(data);
    } catch (err) {
      if (err.name !== 'AbortError') {
        replace(requestsBody, errorBox(`Could not load requests. ${describeError(err)}`, loadRequests));
      }
    } finally {
      setBusy(requestsBody, false);
    }
  }

  async function loadAudit({quiet = false} = {}) {
    ctl.audit?.abort();
    const c = (ctl.audit = new AbortController());
    if (!quiet) setBusy(auditBody, true);
    try {
      const data = await get(`${base}/audit${query({limit: auditState.limit, offset: auditState.offset})}`,
        {signal: c.signal});
      renderAudit(data);
    } catch (err) {
      if (err.name !== 'AbortError') {
        replace(auditBody, errorBox(`Could not load the session history. ${describeError(err)}`, loadAudit));
      }
    } finally {
      setBusy(auditBody, false);
    }
  }

  // ---- rendering -----------------------------------------------------------------------------

  function renderEdge() {
    replace(headBadges, h('span', {class: ['status-pill', edge.online ? 'on' : 'off']},
      onlineDot(edge.online), edge.online ? 'Online' : 'Offline'));
    const dl = h('dl', {class: 'facts'},
      fact('Status', h('span', null, onlineDot(edge.online), edge.online ? ' online' : ' offline')),
      fact('Last seen', timeEl(edge.last_seen, {mode: 'both'})),
      fact('First seen', timeEl(edge.first_seen, {mode: 'both'})),
      fact('Agent version', h('span', {class: 'mono'}, edge.agent_version || '—')),
      fact('Cluster', edge.cluster || '—'),
      fact('Labels', labelChips(edge.labels)));
    replace(factsBody, dl);
    renderSession();
    renderSystem();
  }

  function renderSession() {
    const s = edge?.session;
    const live = s && LIVE_STATES.has(s.state);
    const sig = JSON.stringify([s, edge?.online, busy]);
    if (sig === sessionSig) return;
    sessionSig = sig;
    const hadFocus = sessionBody.contains(document.activeElement) ? document.activeElement.id : null;
    const parts = [];
    if (live) {
      parts.push(h('dl', {class: 'facts'},
        fact('State', h('span', {id: 'session-state', 'data-state': s.state}, stateBadge(s.state))),
        fact('Session', h('a', {href: `#/sessions?edge=${enc(edgeId)}`, class: 'mono'}, `#${s.session_id}`)),
        fact('Mode', badge(s.mode || 'tcp')),
        fact('Services', h('span', {class: 'mono'}, portsText(s.ports))),
        fact('Expires', s.expires_at ? h('span', null, untilEl(s.expires_at, 'expires'),
          h('span', {class: 'muted'}, ` (${formatAbsolute(s.expires_at)})`)) : '—')));
      if (canOperate && s.state === 'active' && s.ports && 'ssh' in s.ports) {
        parts.push(h('p', null, h('a', {class: 'btn btn-primary', id: 'open-terminal',
          href: `#/terminal/${enc(s.session_id)}`}, 'Open terminal')));
      }
      if (canOperate) parts.push(liveControls(s));
    } else {
      parts.push(h('p', {class: 'muted', id: 'session-none', 'data-state': 'none'}, 'No live session.'));
      if (canOperate) parts.push(openForm());
    }
    replace(sessionBody, parts);
    if (hadFocus) {
      const again = sessionBody.querySelector(`#${CSS.escape(hadFocus)}`) ||
        sessionBody.querySelector('#open-terminal, #open-session, #extend-session');
      if (again && !again.disabled) again.focus({preventScroll: true});
    }
  }

  function autoStopSelect(id, key) {
    return h('select', {id, name: 'auto_stop', disabled: busy, onchange: (ev) => { choice[key] = ev.target.value; }},
      AUTO_STOPS.map(([v, text]) => h('option', {value: v, selected: v === choice[key]}, text)));
  }

  function openForm() {
    const autoStop = autoStopSelect('open-auto-stop', 'autoStop');
    const setMode = (ev) => { choice.mode = ev.target.value; };
    const modeTcp = h('input', {type: 'radio', name: 'mode', value: 'tcp', id: 'mode-tcp',
      checked: choice.mode === 'tcp', disabled: busy, onchange: setMode});
    const modeStcp = h('input', {type: 'radio', name: 'mode', value: 'stcp', id: 'mode-stcp',
      checked: choice.mode === 'stcp', disabled: busy, onchange: setMode});
    const services = h('input', {type: 'text', id: 'open-services', placeholder: 'default', disabled: busy,
      value: choice.services, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'open-services-hint',
      oninput: (ev) => { choice.services = ev.target.value; }});
    const offline = h('input', {type: 'checkbox', id: 'open-offline', disabled: busy, checked: choice.offline,
      onchange: (ev) => { choice.offline = ev.target.checked; }});
    const submit = h('button', {type: 'submit', class: 'btn btn-primary', id: 'open-session', disabled: busy},
      busy ? 'Opening…' : 'Open session');
    const form = h('form', {class: 'session-form', 'aria-label': 'Open a session'},
      h('div', {class: 'form-row'},
        h('div', {class: 'field'}, h('label', {for: 'open-auto-stop'}, 'Auto-stop after'), autoStop),
        h('fieldset', {class: 'field radios'}, h('legend', null, 'Mode'),
          h('label', {for: 'mode-tcp'}, modeTcp, ' tcp'),
          h('label', {for: 'mode-stcp'}, modeStcp, ' stcp')),
        h('div', {class: 'field field-grow'}, h('label', {for: 'open-services'}, 'Services'), services,
          h('span', {class: 'hint', id: 'open-services-hint'}, 'Comma-separated; empty for the default'))),
      edge && !edge.online ? h('div', {class: 'field-check'}, offline,
        h('label', {for: 'open-offline'}, 'Open even though the edge is offline')) : null,
      h('div', {class: 'form-actions'}, submit));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const body = {auto_stop: autoStop.value, mode: modeStcp.checked ? 'stcp' : 'tcp', wait: '30s'};
      const list = services.value.split(/[\s,]+/).filter(Boolean);
      if (list.length) body.services = list;
      if (offline.checked) body.even_if_offline = true;
      act('open', `${base}/session`, body);
    });
    return form;
  }

  function liveControls() {
    const autoStop = autoStopSelect('extend-auto-stop', 'extendAutoStop');
    const extend = h('button', {type: 'submit', class: 'btn', id: 'extend-session', disabled: busy}, 'Extend');
    const closeBtn = h('button', {type: 'button', class: 'btn btn-danger', id: 'close-session', disabled: busy},
      'Close session');
    const confirmRow = h('div', {class: 'confirm', hidden: true, role: 'group', 'aria-label': 'Confirm close'},
      h('span', null, 'Close this session now?'),
      h('button', {type: 'button', class: 'btn btn-danger', id: 'confirm-close',
        onclick: () => act('close', `${base}/session/close`, {wait: '30s'})}, 'Yes, close'),
      h('button', {type: 'button', class: 'btn btn-ghost', onclick: () => {
        confirmRow.hidden = true;
        closeBtn.hidden = false;
        closeBtn.focus();
      }}, 'Cancel'));
    closeBtn.addEventListener('click', () => {
      closeBtn.hidden = true;
      confirmRow.hidden = false;
      confirmRow.querySelector('#confirm-close').focus();
    });
    const form = h('form', {class: 'session-form', 'aria-label': 'Extend or close the session'},
      h('div', {class: 'form-row'},
        h('div', {class: 'field'}, h('label', {for: 'extend-auto-stop'}, 'Extend: auto-stop after'), autoStop),
        h('div', {class: 'field field-end'}, extend),
        h('div', {class: 'field field-end field-push'}, closeBtn, confirmRow)));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act('extend', `${base}/session/extend`, {auto_stop: autoStop.value, wait: '30s'});
    });
    return form;
  }

  const ACTION_TEXT = {
    open: ['Session opened', 'Opening the session failed'],
    extend: ['Session extended', 'Extending the session failed'],
    close: ['Session closed', 'Closing the session failed'],
  };

  async function act(action, path, body) {
    if (busy) return;
    busy = true;
    renderSession();
    replace(outcomeBox, h('div', {class: 'notice'}, h('span', {class: 'spinner', 'aria-hidden': 'true'}),
      `${action === 'open' ? 'Opening' : action === 'extend' ? 'Extending' : 'Closing'} the session… (waiting for the edge, up to 30 s)`));
    let answer;
    try {
      answer = await write(path, body);
    } catch {
      return;
    } finally {
      busy = false;
      renderSession();
    }
    lastOutcome = {action, answer};
    replace(outcomeBox, outcomeView(ACTION_TEXT[action][answer.ok ? 0 : 1], answer));
    await loadEdge();
    loadAudit();
    // Keyboard users stay in the session card (the control they used may be gone).
    const active = document.activeElement;
    if (!active || active === document.body || sessionBody.contains(active)) {
      const target = sessionBody.querySelector('#open-terminal, #open-session, #extend-session');
      if (target && !target.disabled) target.focus({preventScroll: true});
    }
  }

  async function fetchSystemInfo() {
    systemButton.disabled = true;
    replace(systemOutcome, h('div', {class: 'notice'}, h('span', {class: 'spinner', 'aria-hidden': 'true'}),
      'Asking the edge for its system info… (up to 10 s)'));
    const answer = await write(`${base}/requests`, {type: 'system_info', wait: '10s'});
    systemButton.disabled = false;
    if (answer.ok) {
      replace(systemOutcome);
      const bodyValue = answer.result?.response_body ?? answer.result?.body ?? null;
      if (bodyValue !== null && bodyValue !== undefined) {
        edge = {...edge, system: {...(edge.system || {}), response_body: bodyValue,
          answered_at: answer.result?.answered_at ?? new Date().toISOString()}};
      }
      renderSystem(true);
      loadEdge();
    } else {
      replace(systemOutcome, outcomeView('System info failed', answer));
    }
    loadRequests();
  }

  function renderSystem(fresh = false) {
    const sys = edge?.system;
    if (!sys) {
      replace(systemBody, h('p', {class: 'muted'}, canOperate
        ? 'No system info yet. Press "System info" to ask the edge.'
        : 'No system info yet.'));
      return;
    }
    // The latest system_info answer: its body (an object) is what matters.
    let body = sys.response_body ?? sys.body ?? sys;
    if (typeof body === 'string') {
      try { body = JSON.parse(body); } catch { /* shown as text */ }
    }
    const when = sys.answered_at ?? sys.received_at ?? null;
    replace(systemBody,
      when ? h('p', {class: 'muted small'}, fresh ? 'Just answered · ' : 'Answered ', timeEl(when, {mode: 'both'})) : null,
      body && typeof body === 'object' ? systemSummary(body) : jsonBlock(body),
      h('details', {class: 'raw'}, h('summary', null, 'Raw answer'), jsonBlock(body)));
  }

  function renderRequests(data) {
    const columns = [
      {key: 'requested_at', label: 'Requested', sort: true, value: (r) => r.requested_at,
        render: (r) => timeEl(r.requested_at)},
      {key: 'type', label: 'Type', sort: true, render: (r) => h('span', {class: 'mono'}, r.type)},
      {key: 'status_code', label: 'Status', sort: true, render: (r) => statusBadge(r)},
      {key: 'answered_at', label: 'Answered', sort: true, render: (r) => timeEl(r.answered_at)},
      {key: 'request_id', label: 'Request', className: 'mono small col-wrap', render: (r) => r.request_id},
      {key: 'response_body', label: 'Answer', className: 'col-body',
        render: (r) => (r.response_body === null || r.response_body === undefined ? '—'
          : h('details', null, h('summary', null, 'Show'), jsonBlock(r.response_body)))},
    ];
    replaceKeepingFocus(requestsBody,
      dataTable(columns, sortLocal(data.items, columns, reqState.sort), {
        caption: 'Requests sent to this edge', sort: reqState.sort,
        onSort: (key, order) => { reqState.sort = {key, order}; renderRequests(data); },
        empty: 'No requests sent to this edge yet.',
      }),
      pager({total: data.total, offset: reqState.offset, limit: reqState.limit, sizes: [10, 25, 50, 100],
        label: 'requests', onChange: ({offset, limit}) => { Object.assign(reqState, {offset, limit}); loadRequests(); }}));
  }

  function renderAudit(data) {
    const columns = [
      {key: 'at', label: 'When', sort: true, render: (a) => timeEl(a.at ?? a.when)},
      {key: 'actor', label: 'Who', sort: true, render: (a) => h('span', null,
        a.actor ?? a.who ?? '—', a.actor_kind ? h('span', {class: 'muted small'}, ` (${a.actor_kind})`) : null)},
      {key: 'action', label: 'What', sort: true, render: (a) => badge(a.action ?? a.what ?? '—', actionKind(a.action))},
      {key: 'session_id', label: 'Session', sort: true, className: 'mono',
        render: (a) => (a.session_id ? `#${a.session_id}` : '—')},
      {key: 'why', label: 'Why / details', className: 'col-wrap', render: (a) => auditWhy(a)},
    ];
    replaceKeepingFocus(auditBody,
      dataTable(columns, sortLocal(data.items, columns, auditState.sort), {
        caption: 'Session history', sort: auditState.sort,
        onSort: (key, order) => { auditState.sort = {key, order}; renderAudit(data); },
        empty: 'No session history for this edge.',
      }),
      pager({total: data.total, offset: auditState.offset, limit: auditState.limit, sizes: [10, 25, 50, 100],
        label: 'entries', onChange: ({offset, limit}) => { Object.assign(auditState, {offset, limit}); loadAudit(); }}));
  }

  // ---- live ----------------------------------------------------------------------------------

  const mine = (data) => {
    const e = edgeOf(data);
    return e === null || e === edgeId;
  };
  const unsubs = [
    subscribe((kind, data) => (kind === 'session' || kind === 'event') && mine(data), () => {
      if (!busy) loadEdge();
      loadAudit({quiet: true});
    }),
    subscribe((kind, data) => kind === 'response' && mine(data), () => {
      loadRequests({quiet: true});
      if (!busy) loadEdge();
    }),
  ];

  loadEdge();
  loadRequests();
  loadAudit();

  return {
    unmount() {
      for (const u of unsubs) u();
      for (const c of Object.values(ctl)) c?.abort();
    },
    get lastOutcome() { return lastOutcome; },
  };
}

function fact(term, value) {
  return [h('dt', null, term), h('dd', null, value)];
}

function statusBadge(r) {
  const code = r.status_code;
  if (code === null || code === undefined) {
    return r.answered_at ? badge('answered') : badge('no answer', 'muted');
  }
  if (code >= 200 && code < 300) return badge(String(code), 'ok');
  if (code === 408) return badge(`${code} stale`, 'warn');
  return badge(String(code), 'bad');
}

function actionKind(action) {
  return {open: 'ok', extend: 'info', close: 'muted', expire: 'warn', end: 'muted'}[action] || '';
}

function auditWhy(a) {
  const d = a.detail && typeof a.detail === 'object' ? a.detail : {};
  const why = a.why ?? d.reason ?? d.end_reason ?? d.description ?? null;
  const rest = Object.entries(d).filter(([k]) => !['reason', 'end_reason', 'description'].includes(k));
  return h('span', null,
    why ? h('span', null, String(why)) : null,
    rest.length ? h('span', {class: 'muted small detail-kv'},
      `${why ? ' · ' : ''}${rest.map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')}`)
      : null,
    !why && !rest.length ? '—' : null);
}

/** A clear view of a write's answer: outcome, HTTP status, exit code, error, the result. */
export function outcomeView(title, answer) {
  const ok = answer.ok;
  const kind = ok ? 'ok' : answer.status === 504 || answer.outcome === 'timeout' ? 'warn' : 'bad';
  const lines = [];
  if (answer.error) lines.push(h('p', {class: 'outcome-error'}, answer.error));
  if (answer.status === 403) lines.push(h('p', null, 'Your role does not allow this.'));
  if (answer.status === 429 && answer.retryAfter) lines.push(h('p', null, `Retry in ${answer.retryAfter} s.`));
  return h('div', {class: ['notice', `notice-${kind}`, 'outcome'], role: ok ? 'status' : 'alert',
    'data-outcome': answer.outcome || (ok ? 'ok' : 'error')},
  h('div', {class: 'outcome-head'},
    h('strong', null, title),
    h('span', {class: 'outcome-tags'},
      answer.outcome ? badge(answer.outcome, kind) : null,
      answer.status ? badge(`HTTP ${answer.status}`, 'muted') : null,
      answer.exit_code !== undefined && answer.exit_code !== null ? badge(`exit ${answer.exit_code}`, 'muted') : null)),
  lines,
  answer.result ? h('details', {class: 'raw'}, h('summary', null, 'Details'), jsonBlock(answer.result)) : null);
}

/** system_info answers: known headline facts first, then everything as a list. */
function systemSummary(body) {
  const pick = (...keys) => {
    for (const k of keys) {
      const v = k.split('.').reduce((o, p) => (o && typeof o === 'object' ? o[p] : undefined), body);
      if (v !== undefined && v !== null && v !== '') return v;
    }
    return null;
  };
  const tiles = [
    ['Host', pick('hostname', 'host', 'system.hostname')],
    ['OS', pick('os', 'os_release', 'os.pretty_name', 'os.name', 'kernel')],
    ['Uptime', fmtUptime(pick('uptime_s', 'uptime_seconds', 'uptime'))],
    ['Load', pick('load', 'loadavg', 'load_avg')],
    ['Memory', fmtMem(pick('memory', 'mem'))],
    ['Disk', fmtMem(pick('disk', 'disk_root'))],
  ].filter(([, v]) => v !== null && v !== undefined && v !== '');
  return h('div', {class: 'sysinfo'},
    tiles.length ? h('div', {class: 'tiles'}, tiles.map(([k, v]) => h('div', {class: 'tile'},
      h('div', {class: 'tile-k'}, k),
      h('div', {class: 'tile-v'}, Array.isArray(v) ? v.join(' ') : typeof v === 'object' ? JSON.stringify(v) : String(v))))) : null,
    factsList(body));
}

function fmtUptime(v) {
  if (typeof v !== 'number') return v;
  const d = Math.floor(v / 86400);
  const hh = Math.floor((v % 86400) / 3600);
  const m = Math.floor((v % 3600) / 60);
  return d ? `${d} d ${hh} h` : hh ? `${hh} h ${m} min` : `${m} min`;
}

function fmtMem(v) {
  if (!v || typeof v !== 'object') return v;
  const total = v.total_bytes ?? v.total ?? v.total_kb;
  const used = v.used_bytes ?? v.used ?? (total !== undefined && v.available !== undefined ? total - v.available : undefined);
  if (typeof total !== 'number' || typeof used !== 'number') return null;
  const unit = v.total_kb !== undefined ? 1024 : 1;
  return `${bytes(used * unit)} / ${bytes(total * unit)} (${Math.round((used / total) * 100)} %)`;
}

function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${formatNumber(Math.round(n * 10) / 10)} ${units[i]}`;
}
