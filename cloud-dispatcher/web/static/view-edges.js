// Edges: server-side search, online filter, label filter, sort and paging (thousands of edges).
// The view state lives in the hash query (#/edges?q=..&online=..&label=..&sort=..&order=..).

import {get, query, describeError} from './api.js';
import {h, replace, replaceKeepingFocus, debounce, onlineDot, labelChips, timeEl, untilEl, badge, portsText,
  formatNumber} from './dom.js';
import {dataTable, pager, setBusy, errorBox} from './table.js';
import {subscribe} from './live.js';

export const name = 'edges';

const SORTS = ['edge_id', 'last_seen', 'version', 'cluster'];
// A label as `edges label add` takes it: 1-100 of A-Z a-z 0-9 . _ - : /
const LABEL_RE = /^[A-Za-z0-9._:\/-]{1,100}$/;

export function mount(root, {params, setHashQuery}) {
  const state = {
    q: params.get('q') || '',
    online: ['true', 'false'].includes(params.get('online')) ? params.get('online') : '',
    label: params.get('label') || '',
    sort: SORTS.includes(params.get('sort')) ? params.get('sort') : 'edge_id',
    order: params.get('order') === 'desc' ? 'desc' : 'asc',
    limit: clampInt(params.get('limit'), 50, 1, 500),
    offset: clampInt(params.get('offset'), 0, 0, 1e9),
  };
  let controller = null;
  let seq = 0;

  const search = h('input', {id: 'edge-search', type: 'search', value: state.q, placeholder: 'Edge id, version, cluster…',
    autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'edge-count'});
  const online = h('select', {id: 'edge-online'},
    h('option', {value: '', selected: state.online === ''}, 'All'),
    h('option', {value: 'true', selected: state.online === 'true'}, 'Online'),
    h('option', {value: 'false', selected: state.online === 'false'}, 'Offline'));
  const label = h('input', {id: 'edge-label', type: 'text', value: state.label, placeholder: 'site:shanghai',
    autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'edge-label-hint'});
  const SORT_CHOICES = [['edge_id:asc', 'Edge id (A–Z)'], ['edge_id:desc', 'Edge id (Z–A)'],
    ['last_seen:desc', 'Last seen (newest)'], ['last_seen:asc', 'Last seen (oldest)'],
    ['version:desc', 'Version (newest)'], ['version:asc', 'Version (oldest)'],
    ['cluster:asc', 'Cluster (A–Z)'], ['cluster:desc', 'Cluster (Z–A)']];
  // On narrow screens the table is a list of cards without headers: sorting is a select.
  const sortSelect = h('select', {id: 'edge-sort', onchange: (ev) => {
    const [key, order] = ev.target.value.split(':');
    state.sort = key;
    state.order = order;
    state.offset = 0;
    load();
  }}, SORT_CHOICES.map(([v, text]) => h('option', {value: v, selected: v === `${state.sort}:${state.order}`}, text)));
  const labelHint = h('span', {id: 'edge-label-hint', class: 'hint'}, '');
  const count = h('span', {id: 'edge-count', class: 'count', 'aria-live': 'polite'});
  const results = h('section', {class: 'results', 'aria-label': 'Edges'});

  root.append(
    h('div', {class: 'page-head'}, h('h1', null, 'Edges'), count),
    h('form', {class: 'toolbar', role: 'search', onsubmit: (ev) => { ev.preventDefault(); apply(); }},
      h('div', {class: 'field field-grow'}, h('label', {for: 'edge-search'}, 'Search'), search),
      h('div', {class: 'field'}, h('label', {for: 'edge-online'}, 'Status'), online),
      h('div', {class: 'field'}, h('label', {for: 'edge-label'}, 'Label'), label, labelHint),
      h('div', {class: 'field narrow-only'}, h('label', {for: 'edge-sort'}, 'Sort'), sortSelect),
      h('div', {class: 'field field-end'},
        h('button', {type: 'button', class: 'btn btn-ghost', onclick: reset}, 'Clear filters'))),
    results);

  const applySoon = debounce(apply, 300);
  search.addEventListener('input', applySoon);
  label.addEventListener('input', applySoon);
  online.addEventListener('change', apply);

  function reset() {
    search.value = '';
    label.value = '';
    online.value = '';
    apply();
    search.focus();
  }

  function apply() {
    const lbl = label.value.trim();
    const labelOk = !lbl || LABEL_RE.test(lbl);
    label.setAttribute('aria-invalid', labelOk ? 'false' : 'true');
    labelHint.textContent = labelOk ? '' : 'Labels are 1-100 of A-Z a-z 0-9 . _ - : /';
    const next = {q: search.value.trim(), online: online.value, label: labelOk ? lbl : state.label};
    if (next.q !== state.q || next.online !== state.online || next.label !== state.label) {
      Object.assign(state, next, {offset: 0});
    }
    load();
  }

  function saveHash() {
    const p = new URLSearchParams();
    if (state.q) p.set('q', state.q);
    if (state.online) p.set('online', state.online);
    if (state.label) p.set('label', state.label);
    if (state.sort !== 'edge_id' || state.order !== 'asc') {
      p.set('sort', state.sort);
      p.set('order', state.order);
    }
    if (state.limit !== 50) p.set('limit', String(state.limit));
    if (state.offset) p.set('offset', String(state.offset));
    setHashQuery('/edges', p);
  }

  async function load({quiet = false} = {}) {
    saveHash();
    if (controller) controller.abort();
    controller = new AbortController();
    const my = ++seq;
    if (!quiet) setBusy(results, true);
    try {
      const data = await get(`/edges${query({
        q: state.q, online: state.online, label: state.label, sort: state.sort,
        order: state.order, limit: state.limit, offset: state.offset,
      })}`, {signal: controller.signal});
      if (my !== seq) return;
      if (state.offset > 0 && state.offset >= data.total) {
        // The page emptied (filters or live changes): go to the last page.
        state.offset = Math.max(0, Math.floor((data.total - 1) / state.limit) * state.limit);
        load();
        return;
      }
      render(data);
    } catch (err) {
      if (err.name === 'AbortError' || my !== seq) return;
      replace(results, errorBox(`Could not load edges. ${describeError(err)}`, load));
    } finally {
      if (my === seq) setBusy(results, false);
    }
  }

  const columns = [
    {key: 'online', label: 'Status', srLabel: 'Status', className: 'col-dot',
      render: (e) => onlineDot(e.online)},
    {key: 'edge_id', label: 'Edge', sort: 'edge_id', className: 'col-id',
      render: (e) => h('a', {href: `#/edges/${encodeURIComponent(e.edge_id)}`, class: 'mono'}, e.edge_id)},
    {key: 'agent_version', label: 'Version', sort: 'version', className: 'mono col-version'},
    {key: 'labels', label: 'Labels', className: 'col-labels', render: (e) => labelChips(e.labels)},
    {key: 'cluster', label: 'Cluster', sort: 'cluster', render: (e) => e.cluster || '—'},
    {key: 'last_seen', label: 'Last seen', sort: 'last_seen', defaultOrder: 'desc',
      render: (e) => timeEl(e.last_seen)},
    {key: 'session', label: 'Session', className: 'col-session', render: (e) => sessionCell(e.session)},
  ];

  function render(data) {
    count.textContent = `${formatNumber(data.total)} ${data.total === 1 ? 'edge' : 'edges'}`;
    replaceKeepingFocus(results,
      dataTable(columns, data.items, {
        caption: 'Edges',
        className: 'edges-table',
        sort: {key: state.sort, order: state.order},
        onSort: (key, order) => {
          state.sort = key;
          state.order = order;
          sortSelect.value = `${key}:${order}`;
          state.offset = 0;
          load();
        },
        rowClass: (e) => (e.online ? null : 'row-offline'),
        empty: state.q || state.label || state.online ? 'No edge matches these filters.' : 'No edges yet.',
      }),
      pager({total: data.total, offset: state.offset, limit: state.limit, label: 'edges',
        onChange: ({offset, limit}) => {
          state.offset = offset;
          state.limit = limit;
          load();
          results.scrollIntoView({block: 'start', behavior: 'smooth'});
        }}));
  }

  // Sessions opening/closing and edge events (online/offline, new edges) change the shown page.
  const unsubscribe = subscribe((kind) => kind === 'session' || kind === 'event',
    () => load({quiet: true}));
  load();
  if (!state.q) search.focus();

  return {
    unmount() {
      unsubscribe();
      applySoon.cancel();
      if (controller) controller.abort();
    },
  };
}

export function sessionCell(s) {
  if (!s) return h('span', {class: 'muted'}, '—');
  return h('span', {class: 'session-cell'},
    badge(s.mode || 'tcp', s.state === 'active' ? 'ok' : 'warn'),
    s.state !== 'active' ? h('span', {class: 'muted'}, ` ${s.state} `) : ' ',
    s.expires_at ? untilEl(s.expires_at, 'expires') : null,
    s.ports && Object.keys(s.ports).length
      ? h('span', {class: 'muted session-ports'}, ` · ${portsText(s.ports)}`) : null);
}

function clampInt(value, dflt, min, max) {
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : dflt;
}
