// Live updates: one EventSource on /api/v1/stream while logged in. Views subscribe; each
// subscription is debounced (~300 ms) so a burst of notifications is one re-fetch. No polling.

import {debounce} from './dom.js';

const KINDS = ['session', 'response', 'event'];
let source = null;
let retryTimer = null;
const listeners = new Set();
const statusListeners = new Set();
let status = 'off';

function setStatus(s) {
  status = s;
  for (const fn of statusListeners) fn(s);
}

export function liveStatus() {
  return status;
}

export function onLiveStatus(fn) {
  statusListeners.add(fn);
  fn(status);
  return () => statusListeners.delete(fn);
}

/** Starts the stream (idempotent). onDead: called when the browser gives up (e.g. a 401). */
export function startLive(onDead) {
  if (source) return;
  clearTimeout(retryTimer);
  setStatus('connecting');
  source = new EventSource('/api/v1/stream');
  let opened = false;
  source.onopen = () => {
    setStatus('live');
    // After a reconnect, messages may have been missed: every subscriber refreshes.
    if (opened) for (const fn of [...listeners]) fn('reconnect', null);
    opened = true;
  };
  source.onerror = () => {
    if (source && source.readyState === EventSource.CLOSED) {
      // The browser does not retry after an HTTP error answer: ask the caller (it checks the
      // login) and try again later.
      source = null;
      setStatus('down');
      retryTimer = setTimeout(() => onDead && onDead(), 5000);
    } else {
      setStatus('connecting');
    }
  };
  for (const kind of KINDS) {
    source.addEventListener(kind, (ev) => {
      let data = null;
      try {
        data = JSON.parse(ev.data);
      } catch {
        data = null;
      }
      for (const fn of [...listeners]) fn(kind, data);
    });
  }
}

export function stopLive() {
  clearTimeout(retryTimer);
  if (source) source.close();
  source = null;
  setStatus('off');
}

/**
 * Calls refresh (debounced 300 ms, at least every 2 s during a steady stream) for every message
 * that `matches(kind, data)` accepts, and after the stream reconnects. Returns the unsubscribe
 * function.
 */
export function subscribe(matches, refresh, ms = 300) {
  const run = debounce(refresh, ms, 2000);
  const fn = (kind, data) => {
    if (kind === 'reconnect' || matches(kind, data)) run();
  };
  listeners.add(fn);
  return () => {
    run.cancel();
    listeners.delete(fn);
  };
}

/** The edge a notification is about, when its payload says. */
export function edgeOf(data) {
  return data && typeof data === 'object' ? (data.edge_id ?? data.edge ?? null) : null;
}
