// Tables with sortable headers (buttons in <th>, aria-sort) and a pager.

import {h, replace, formatNumber} from './dom.js';

/**
 * columns: [{key, label, sort?: 'server key' | true, render(item) -> Node|string,
 *            className?, value?(item) for client-side sorting}]
 * opts.sort: {key, order} (current), opts.onSort(key, order)
 * opts.empty: text when there are no rows; opts.rowClass(item)
 */
export function dataTable(columns, items, opts = {}) {
  const sort = opts.sort || {};
  const head = h('tr', null, columns.map((col) => {
    const sortable = Boolean(col.sort);
    const active = sortable && sort.key === (col.sort === true ? col.key : col.sort);
    const th = h('th', {scope: 'col', class: headClass(col.className)});
    if (sortable) {
      th.setAttribute('aria-sort', active ? (sort.order === 'desc' ? 'descending' : 'ascending') : 'none');
      const key = col.sort === true ? col.key : col.sort;
      const next = active && sort.order === 'asc' ? 'desc' : 'asc';
      th.append(h('button', {
        type: 'button',
        class: ['sort', active && 'sort-active'],
        title: `Sort by ${col.label}`,
        onclick: () => opts.onSort && opts.onSort(key, active ? next : (col.defaultOrder || 'asc')),
      }, col.label, h('span', {class: 'sort-arrow', 'aria-hidden': 'true'},
        active ? (sort.order === 'desc' ? '▼' : '▲') : '↕')));
    } else {
      th.append(col.srLabel ? h('span', {class: 'sr-only'}, col.srLabel) : col.label);
    }
    return th;
  }));
  const body = h('tbody');
  if (!items.length) {
    body.append(h('tr', {class: 'empty'}, h('td', {colspan: String(columns.length)},
      opts.empty || 'Nothing to show.')));
  }
  for (const item of items) {
    body.append(h('tr', {class: opts.rowClass ? opts.rowClass(item) : null},
      columns.map((col) => {
        const content = col.render ? col.render(item) : item[col.key];
        return h('td', {class: col.className, 'data-label': col.label},
          content === null || content === undefined || content === '' ? '—' : content);
      })));
  }
  return h('div', {class: 'table-wrap'},
    h('table', {class: ['data', opts.className]},
      opts.caption ? h('caption', {class: 'sr-only'}, opts.caption) : null,
      h('thead', null, head), body));
}

function headClass(cls) {
  return cls ? cls.split(/\s+/).filter((c) => c !== 'mono' && c !== 'small').join(' ') || null : null;
}

/** Sorts a page of items client-side (tables whose API has no sort parameter). */
export function sortLocal(items, columns, sort) {
  if (!sort || !sort.key) return items;
  const col = columns.find((c) => (c.sort === true ? c.key : c.sort) === sort.key);
  if (!col) return items;
  const value = col.value || ((it) => it[col.key]);
  const dir = sort.order === 'desc' ? -1 : 1;
  return [...items].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (typeof x === 'number' && typeof y === 'number' ? x - y
      : String(x).localeCompare(String(y), undefined, {numeric: true})) * dir;
  });
}

/**
 * Pager: "1–50 of 3,012", first/prev/next/last, page size.
 * onChange({offset, limit})
 */
export function pager({total, offset, limit, sizes = [25, 50, 100, 200], onChange, label = 'items'}) {
  const from = total ? offset + 1 : 0;
  const to = Math.min(offset + limit, total);
  const lastOffset = total ? Math.floor((total - 1) / limit) * limit : 0;
  const page = Math.floor(offset / limit) + 1;
  const pages = Math.max(1, Math.ceil(total / limit));
  const btn = (text, aria, target, disabled) => h('button', {
    type: 'button', class: 'btn btn-small', 'aria-label': aria, disabled,
    onclick: () => onChange({offset: target, limit}),
  }, text);
  const sizeId = `ps-${Math.random().toString(36).slice(2, 8)}`;
  const select = h('select', {id: sizeId, class: 'input-small',
    onchange: (ev) => onChange({offset: 0, limit: Number(ev.target.value)})},
  sizes.map((s) => h('option', {value: String(s), selected: s === limit}, String(s))));
  return h('nav', {class: 'pager', 'aria-label': `${label} pages`},
    h('span', {class: 'pager-count', 'aria-live': 'polite'},
      total ? `${formatNumber(from)}–${formatNumber(to)} of ${formatNumber(total)} ${label}`
            : `0 ${label}`),
    h('span', {class: 'pager-buttons'},
      btn('«', 'First page', 0, offset <= 0),
      btn('‹ Prev', 'Previous page', Math.max(0, offset - limit), offset <= 0),
      h('span', {class: 'pager-page'}, `Page ${formatNumber(page)} / ${formatNumber(pages)}`),
      btn('Next ›', 'Next page', offset + limit, offset + limit >= total),
      btn('»', 'Last page', lastOffset, offset + limit >= total)),
    h('span', {class: 'pager-size'}, h('label', {for: sizeId}, 'Per page'), select));
}

/** A region that shows loading / error / content without layout jumps. */
export function setBusy(node, busy) {
  node.classList.toggle('busy', busy);
  node.setAttribute('aria-busy', busy ? 'true' : 'false');
}

export function errorBox(text, retry) {
  return h('div', {class: 'notice notice-bad', role: 'alert'}, h('span', null, text),
    retry ? h('button', {type: 'button', class: 'btn btn-small', onclick: retry}, 'Retry') : null);
}

export {replace};
