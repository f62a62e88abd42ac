// Web ssh: xterm.js in the page, a WebSocket to /api/v1/sessions/<id>/terminal?csrf=...
// (CONTRACT.md "Web ssh"): text frames are JSON control/status, binary frames are bytes.

import {auth, get, enc, roleAtLeast, describeError} from './api.js';
import {h, append, replace, badge, untilEl, portsText} from './dom.js';

export const name = 'terminal';

/** Where xterm.js comes from and how it is reached: adjust here if the vendored build changes. */
export const XTERM = {
  css: '/static/vendor/xterm/xterm.css',
  scripts: ['/static/vendor/xterm/xterm.js', '/static/vendor/xterm/addon-fit.js'],
  Terminal: () => window.Terminal,
  FitAddon: () => window.FitAddon && window.FitAddon.FitAddon,
  options: {
    cursorBlink: true,
    convertEol: false,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", "Cascadia Mono", Menlo, Consolas, monospace',
    fontSize: 14,
    scrollback: 5000,
    allowProposedApi: false,
  },
  themes: {
    dark: {background: '#0f1419', foreground: '#d8dee9', cursor: '#7aa2f7', selectionBackground: '#3b4252'},
    light: {background: '#fbfbfc', foreground: '#1f2328', cursor: '#0969da', selectionBackground: '#c8d7f0'},
  },
};

let xtermLoading = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(s);
  });
}

export function loadXterm() {
  if (!xtermLoading) {
    if (!document.querySelector(`link[href="${XTERM.css}"]`)) {
      document.head.append(h('link', {rel: 'stylesheet', href: XTERM.css}));
    }
    xtermLoading = XTERM.scripts.reduce((p, src) => p.then(() => loadScript(src)), Promise.resolve())
      .then(() => {
        if (!XTERM.Terminal() || !XTERM.FitAddon()) throw new Error('xterm.js did not define its globals');
      })
      .catch((err) => {
        xtermLoading = null;
        throw err;
      });
  }
  return xtermLoading;
}

/**
 * xterm.js writes the CSS it computes (cell sizes, colours) into <style> elements, which the
 * console's Content-Security-Policy (style-src 'self') does not apply (Chromium logs a
 * violation each time). Their text is mirrored into constructed stylesheets (CSSOM, which the
 * CSP allows), so the terminal renders right without weakening the policy.
 */
function mirrorStyleElements(container) {
  if (typeof CSSStyleSheet !== 'function' || !('adoptedStyleSheets' in document)) return () => {};
  const sheets = new Map(); // <style> -> {sheet, text}
  const adopt = (list) => { document.adoptedStyleSheets = list; };
  const sync = () => {
    for (const el of [...container.querySelectorAll('style'), ...document.head.querySelectorAll('style')]) {
      let entry = sheets.get(el);
      if (!entry) {
        entry = {sheet: new CSSStyleSheet(), text: null};
        sheets.set(el, entry);
        adopt([...document.adoptedStyleSheets, entry.sheet]);
      }
      if (entry.text !== el.textContent) {
        entry.text = el.textContent;
        try {
          entry.sheet.replaceSync(entry.text);
        } catch {
          // not CSS we can use
        }
      }
    }
    for (const [el, entry] of sheets) {
      if (!el.isConnected) {
        sheets.delete(el);
        adopt(document.adoptedStyleSheets.filter((x) => x !== entry.sheet));
      }
    }
  };
  const relevant = (records) => records.some((r) => {
    const t = r.target.nodeType === Node.TEXT_NODE ? r.target.parentNode : r.target;
    if (t && t.nodeName === 'STYLE') return true;
    return [...r.addedNodes, ...r.removedNodes].some((n) => n.nodeName === 'STYLE');
  });
  const observer = new MutationObserver((records) => {
    if (relevant(records)) sync();
  });
  for (const node of [container, document.head]) {
    observer.observe(node, {subtree: true, childList: true, characterData: true});
  }
  return () => {
    observer.disconnect();
    const mine = new Set([...sheets.values()].map((e) => e.sheet));
    adopt(document.adoptedStyleSheets.filter((x) => !mine.has(x)));
    sheets.clear();
  };
}

const STATE_TEXT = {
  idle: 'Not connected', loading: 'Loading terminal…', connecting: 'Connecting…',
  connected: 'Connected', closed: 'Closed', error: 'Error',
};

export function mount(root, {args}) {
  const sessionId = args[0];
  let term = null;
  let fit = null;
  let ws = null;
  let gotClosedStatus = false;
  let stopMirror = null;
  const encoder = new TextEncoder();
  const darkQuery = window.matchMedia('(prefers-color-scheme: dark)');

  const info = h('div', {class: 'term-info'}, h('span', {class: 'muted'}, 'Loading session…'));
  const statusPill = h('span', {class: 'term-pill', id: 'term-status', 'data-state': 'idle'}, STATE_TEXT.idle);
  const statusMsg = h('span', {class: 'term-msg', id: 'term-message'});
  const statusBar = h('div', {class: 'term-status', role: 'status', 'aria-live': 'polite'}, statusPill, statusMsg);
  const user = h('input', {id: 'ssh-user', type: 'text', value: 'root', autocomplete: 'username',
    autocapitalize: 'none', spellcheck: 'false', required: true});
  const password = h('input', {id: 'ssh-password', type: 'password', autocomplete: 'current-password',
    'aria-describedby': 'ssh-password-hint'});
  const connectBtn = h('button', {type: 'submit', class: 'btn btn-primary', id: 'ssh-connect'}, 'Connect');
  const form = h('form', {class: 'term-form', 'aria-label': 'ssh login'},
    h('div', {class: 'field'}, h('label', {for: 'ssh-user'}, 'ssh user'), user),
    h('div', {class: 'field'}, h('label', {for: 'ssh-password'}, 'Password (optional)'), password,
      h('span', {class: 'hint', id: 'ssh-password-hint'}, 'Empty: the dispatcher\u2019s deployment key')),
    h('div', {class: 'field field-end'}, connectBtn));
  const disconnectBtn = h('button', {type: 'button', class: 'btn btn-ghost', id: 'ssh-disconnect', hidden: true,
    onclick: () => disconnect('Disconnected by you.')}, 'Disconnect');
  const screen = h('div', {class: 'term-screen', id: 'terminal', 'aria-label': 'Terminal'});
  const back = h('a', {href: '#/sessions', id: 'term-back'}, 'Sessions');

  append(root, [
    h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'}, back, h('span', {'aria-hidden': 'true'}, ' / '),
      h('span', {'aria-current': 'page'}, `Terminal · session #${sessionId}`)),
    h('div', {class: 'page-head'}, h('h1', null, 'Terminal'), info),
    roleAtLeast('operator') ? null : h('p', {class: 'notice notice-bad', role: 'alert'},
      'Web ssh needs the operator role.'),
    h('div', {class: 'term-bar'}, form, h('div', {class: 'term-bar-right'}, statusBar, disconnectBtn)),
    h('p', {class: 'hint term-keys'}, 'Copy: select text (or Ctrl+Shift+C). Paste: Ctrl+Shift+V or the browser\u2019s paste.'),
    screen]);

  function setStatus(state, message = '') {
    statusPill.dataset.state = state;
    statusPill.textContent = STATE_TEXT[state] || state;
    statusMsg.textContent = message;
    const active = state === 'connecting' || state === 'connected' || state === 'loading';
    connectBtn.disabled = active;
    user.disabled = active;
    password.disabled = active;
    disconnectBtn.hidden = !active;
    form.hidden = active && state !== 'loading'; // the screen gets the room while connected
    connectBtn.textContent = state === 'closed' || state === 'error' ? 'Reconnect' : 'Connect';
  }

  get(`/sessions/${enc(sessionId)}`).then((s) => {
    back.href = `#/edges/${enc(s.edge_id)}`;
    back.textContent = s.edge_id;
    replace(info, h('a', {href: `#/edges/${enc(s.edge_id)}`, class: 'mono'}, s.edge_id), ' ',
      badge(s.mode || 'tcp'), ' ', badge(s.state, s.state === 'active' ? 'ok' : 'muted'), ' ',
      h('span', {class: 'muted mono small'}, portsText(s.ports)), ' ',
      s.expires_at && !s.ended_at ? untilEl(s.expires_at, 'expires') : null);
    if (s.ended_at || (s.state !== 'active' && s.state !== 'opening')) {
      setStatus('closed', 'This session has ended.');
    } else if (!(s.ports && 'ssh' in s.ports)) {
      setStatus('error', 'This session has no ssh service.');
    }
  }).catch((err) => {
    replace(info, h('span', {class: 'bad'}, describeError(err)));
  });

  async function ensureTerminal() {
    if (term) return;
    setStatus('loading');
    await loadXterm();
    const Terminal = XTERM.Terminal();
    const FitAddon = XTERM.FitAddon();
    term = new Terminal({...XTERM.options, theme: darkQuery.matches ? XTERM.themes.dark : XTERM.themes.light});
    fit = new FitAddon();
    term.loadAddon(fit);
    stopMirror = mirrorStyleElements(screen);
    term.open(screen);
    fit.fit();
    term.onData((d) => sendBytes(encoder.encode(d)));
    term.onBinary((d) => sendBytes(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff)));
    term.onResize(({cols, rows}) => sendJson({type: 'resize', cols, rows}));
    term.attachCustomKeyEventHandler((e) => {
      if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
      if (e.code === 'KeyC') {
        const text = term.getSelection();
        if (text && navigator.clipboard) navigator.clipboard.writeText(text).catch(() => {});
        return false;
      }
      if (e.code === 'KeyV') return false; // the browser pastes into xterm's textarea
      return true;
    });
  }

  function sendBytes(bytes) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(bytes);
  }

  function sendJson(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!user.value.trim()) {
      user.focus();
      return;
    }
    try {
      await ensureTerminal();
    } catch (err) {
      setStatus('error', `The terminal could not load: ${err.message}`);
      return;
    }
    connect(user.value.trim(), password.value);
    password.value = '';
  });

  function connect(sshUser, sshPassword) {
    if (ws) ws.close();
    gotClosedStatus = false;
    term.reset();
    fit.fit();
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${proto}//${location.host}/api/v1/sessions/${enc(sessionId)}/terminal?csrf=${enc(auth.csrf || '')}`;
    setStatus('connecting', `ssh ${sshUser}@session #${sessionId}`);
    const socket = new WebSocket(url);
    ws = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      const start = {type: 'start', user: sshUser, cols: term.cols, rows: term.rows};
      if (sshPassword) start.password = sshPassword;
      socket.send(JSON.stringify(start));
      term.focus();
    };
    socket.onmessage = (ev) => {
      if (socket !== ws) return;
      if (typeof ev.data !== 'string') {
        term.write(new Uint8Array(ev.data));
        return;
      }
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.type === 'status') {
        if (msg.state === 'closed') gotClosedStatus = true;
        setStatus(msg.state in STATE_TEXT ? msg.state : 'connecting', msg.message || '');
        if (msg.state === 'connected') term.focus();
      }
    };
    socket.onerror = () => {
      // onclose follows with the details
    };
    socket.onclose = (ev) => {
      if (socket !== ws) return;
      ws = null;
      if (!gotClosedStatus) {
        setStatus(ev.code === 1000 ? 'closed' : 'error', ev.reason
          ? `Connection closed: ${ev.reason}`
          : `Connection closed (code ${ev.code}). The session may have ended, or the dispatcher refused it.`);
      }
      term?.blur();
    };
  }

  function disconnect(message) {
    if (ws) {
      gotClosedStatus = true;
      ws.close(1000, 'closed by the user');
      ws = null;
      setStatus('closed', message);
    }
  }

  const onResize = () => {
    if (fit) fit.fit();
  };
  window.addEventListener('resize', onResize);
  // The screen also changes size when the login form hides or shows.
  const screenObserver = typeof ResizeObserver === 'function' ? new ResizeObserver(onResize) : null;
  screenObserver?.observe(screen);
  const onTheme = () => {
    if (term) term.options.theme = darkQuery.matches ? XTERM.themes.dark : XTERM.themes.light;
  };
  darkQuery.addEventListener('change', onTheme);
  user.focus();
  user.select();

  return {
    unmount() {
      window.removeEventListener('resize', onResize);
      screenObserver?.disconnect();
      darkQuery.removeEventListener('change', onTheme);
      if (ws) {
        const s = ws;
        ws = null;
        s.close(1000, 'left the page');
      }
      if (term) term.dispose();
      term = null;
      if (stopMirror) stopMirror();
    },
  };
}
