// Sessions: live first, then ended (the API orders them); filter live only / by edge; paging.

import {get, query, enc, roleAtLeast, describeError} from './api.js';
import {h, replace, replaceKeepingFocus, timeEl, untilEl, badge, stateBadge, portsText, formatNumber} from './dom.js';
import {dataTable, pager, sortLocal, setBusy, errorBox} from './table.js';
import {subscribe} from './live.js';

export const name = 'sessions';

export function mount(root, {params, setHashQuery}) {
  const state = {
    active: params.get('active') === 'true',
    edge: params.get('edge') || '',
    limit: Number.parseInt(params.get('limit'), 10) || 50,
    offset: Math.max(0, Number.parseInt(params.get('offset'), 10) || 0),
    sort: null, // client-side, within the page; null keeps the API's order (live first)
  };
  let controller = null;
  let data = null;
  const canOperate = roleAtLeast('operator');

  const liveOnly = h('input', {type: 'checkbox', id: 'sessions-live', checked: state.active});
  const edgeInput = h('input', {type: 'search', id: 'sessions-edge', value: state.edge,
    placeholder: 'Exact edge id', autocomplete: 'off', spellcheck: 'false'});
  const count = h('span', {class: 'count', 'aria-live': 'polite'});
  const results = h('section', {class: 'results', 'aria-label': 'Sessions'});

  root.append(
    h('div', {class: 'page-head'}, h('h1', null, 'Sessions'), count),
    h('form', {class: 'toolbar', onsubmit: (ev) => { ev.preventDefault(); apply(); }},
      h('div', {class: 'field'}, h('label', {for: 'sessions-edge'}, 'Edge'), edgeInput),
      h('div', {class: 'field-check field-end'}, liveOnly, h('label', {for: 'sessions-live'}, 'Live only')),
      h('div', {class: 'field field-end'}, h('button', {type: 'submit', class: 'btn'}, 'Apply'))),
    results);

  liveOnly.addEventListener('change', apply);
  edgeInput.addEventListener('search', apply);

  function apply() {
    state.active = liveOnly.checked;
    state.edge = edgeInput.value.trim();
    state.offset = 0;
    load();
  }

  async function load({quiet = false} = {}) {
    const p = new URLSearchParams();
    if (state.active) p.set('active', 'true');
    if (state.edge) p.set('edge', state.edge);
    if (state.limit !== 50) p.set('limit', String(state.limit));
    if (state.offset) p.set('offset', String(state.offset));
    setHashQuery('/sessions', p);
    controller?.abort();
    controller = new AbortController();
    if (!quiet) setBusy(results, true);
    try {
      data = await get(`/sessions${query({active: state.active ? 'true' : '', edge: state.edge,
        limit: state.limit, offset: state.offset})}`, {signal: controller.signal});
      render();
    } catch (err) {
      if (err.name !== 'AbortError') {
        replace(results, errorBox(`Could not load sessions. ${describeError(err)}`, load));
      }
    } finally {
      setBusy(results, false);
    }
  }

  const isLive = (s) => !s.ended_at && (s.state === 'active' || s.state === 'opening');
  const columns = [
    {key: 'session_id', label: 'Session', sort: true, className: 'mono',
      value: (s) => Number(s.session_id), render: (s) => `#${s.session_id}`},
    {key: 'edge_id', label: 'Edge', sort: true,
      render: (s) => h('a', {href: `#/edges/${enc(s.edge_id)}`, class: 'mono'}, s.edge_id)},
    {key: 'state', label: 'State', sort: true, render: (s) => stateBadge(s.state)},
    {key: 'mode', label: 'Mode', sort: true, render: (s) => badge(s.mode || 'tcp')},
    {key: 'ports', label: 'Services', className: 'mono small', render: (s) => portsText(s.ports)},
    {key: 'opened_by', label: 'Opened by', sort: true},
    {key: 'requested_at', label: 'Requested', sort: true, render: (s) => timeEl(s.requested_at)},
    {key: 'expires_at', label: 'Ends', sort: true, value: (s) => s.ended_at || s.expires_at,
      render: (s) => (isLive(s) ? untilEl(s.expires_at, 'expires')
        : h('span', null, timeEl(s.ended_at), s.end_reason ? h('span', {class: 'muted small'}, ` · ${s.end_reason}`) : null))},
    {key: 'actions', label: 'Actions', srLabel: 'Actions', className: 'col-actions',
      render: (s) => (canOperate && isLive(s) && s.state === 'active' && s.ports && 'ssh' in s.ports
        ? h('a', {class: 'btn btn-small', href: `#/terminal/${enc(s.session_id)}`,
          'aria-label': `Open terminal for session ${s.session_id}`}, 'Terminal') : '')},
  ];

  function render() {
    count.textContent = `${formatNumber(data.total)} ${data.total === 1 ? 'session' : 'sessions'}`;
    replaceKeepingFocus(results,
      dataTable(columns, sortLocal(data.items, columns, state.sort), {
        caption: 'Sessions, live first', sort: state.sort || {},
        onSort: (key, order) => { state.sort = {key, order}; render(); },
        rowClass: (s) => (isLive(s) ? 'row-live' : 'row-ended'),
        empty: state.active ? 'No live sessions.' : 'No sessions.',
      }),
      pager({total: data.total, offset: state.offset, limit: state.limit, label: 'sessions',
        onChange: ({offset, limit}) => { state.offset = offset; state.limit = limit; load(); }}));
  }

  const unsubscribe = subscribe((kind) => kind === 'session', () => load({quiet: true}));
  load();
  return {unmount() { unsubscribe(); controller?.abort(); }};
}
