// EdgeLink operators' console: hash routing, the login state, the live stream.
// Routes: #/login, #/edges, #/edges/<id>, #/sessions, #/terminal/<session id>

import {auth, me, logout, onUnauthorized} from './api.js';
import {startLive, stopLive, onLiveStatus} from './live.js';
import {h, replace, tickRelativeTimes, toast} from './dom.js';
import * as loginView from './view-login.js';
import * as edgesView from './view-edges.js';
import * as edgeView from './view-edge.js';
import * as sessionsView from './view-sessions.js';
import * as terminalView from './view-terminal.js';

const main = document.getElementById('main');
let current = null; // {unmount()}
let returnTo = null;

const routes = [
  {re: /^\/login$/, view: loginView, nav: null, public: true},
  {re: /^\/edges$/, view: edgesView, nav: 'edges'},
  {re: /^\/edges\/(.+)$/, view: edgeView, nav: 'edges'},
  {re: /^\/sessions$/, view: sessionsView, nav: 'sessions'},
  {re: /^\/terminal\/(.+)$/, view: terminalView, nav: 'sessions'},
];

export function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/edges';
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  return {path, params};
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** Rewrites the current hash's query (view state) without a new history entry or re-route. */
export function setHashQuery(path, params) {
  const q = params.toString();
  history.replaceState(null, '', `#${path}${q ? `?${q}` : ''}`);
}

function route() {
  const {path, params} = parseHash();
  let match = null;
  let found = null;
  for (const r of routes) {
    match = path.match(r.re);
    if (match) {
      found = r;
      break;
    }
  }
  if (!found) {
    navigate('#/edges');
    return;
  }
  if (!found.public && !auth.user) {
    returnTo = location.hash;
    navigate('#/login');
    return;
  }
  if (current) current.unmount?.();
  current = null;
  replace(main);
  main.className = `view-${found.view.name || 'page'}`;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === found.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const args = match.slice(1).map((s) => decodeURIComponent(s));
  const titles = {login: 'Log in', edges: 'Edges', edge: `Edge ${args[0]}`, sessions: 'Sessions',
    terminal: `Terminal · session ${args[0]}`};
  document.title = `${titles[found.view.name] || 'Console'} · EdgeLink`;
  current = found.view.mount(main, {args, params, path, navigate, setHashQuery, app}) || null;
  // Focus the page for keyboard and screen reader users (not while typing in the header).
  if (!main.contains(document.activeElement)) main.focus({preventScroll: true});
}

function showShell() {
  const logged = Boolean(auth.user);
  document.body.classList.toggle('logged-in', logged);
  document.getElementById('mainnav').hidden = !logged;
  document.getElementById('userbox').hidden = !logged;
  document.getElementById('who-name').textContent = auth.user || '';
  const roleEl = document.getElementById('who-role');
  roleEl.textContent = auth.role || '';
  roleEl.className = `badge badge-role-${auth.role || 'none'}`;
}

export const app = {
  /** After a successful login. */
  loggedIn() {
    showShell();
    startLive(checkSession);
    const target = returnTo && !returnTo.startsWith('#/login') ? returnTo : '#/edges';
    returnTo = null;
    navigate(target);
  },
  loggedOut(message) {
    stopLive();
    auth.user = auth.role = auth.csrf = null;
    showShell();
    if (message) toast(message, 'info');
    if (!location.hash.startsWith('#/login')) returnTo = location.hash;
    navigate('#/login');
  },
};

async function checkSession() {
  try {
    await me();
    showShell();
    startLive(checkSession);
  } catch (err) {
    if (err.status === 401) app.loggedOut('Your session has ended. Please log in again.');
    else setTimeout(checkSession, 10000);
  }
}

onUnauthorized(() => {
  if (auth.user) app.loggedOut('Your session has ended. Please log in again.');
  else if (!location.hash.startsWith('#/login')) {
    returnTo = location.hash;
    navigate('#/login');
  }
});

onLiveStatus((s) => {
  const el = document.getElementById('live-indicator');
  if (!el) return;
  el.dataset.state = s;
  const text = {live: 'Live', connecting: 'Connecting…', down: 'Reconnecting…', off: 'Offline'}[s];
  el.querySelector('.live-text').textContent = text;
  el.title = s === 'live' ? 'Live updates are on' : 'Live updates are not connected';
});

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await logout();
  } catch {
    // logged out locally anyway
  }
  app.loggedOut('Logged out.');
});

window.addEventListener('hashchange', route);
// Relative times ("3 min ago") are re-rendered locally; nothing is fetched.
setInterval(() => tickRelativeTimes(main), 30000);

async function start() {
  replace(main, h('p', {class: 'loading'}, 'Loading…'));
  try {
    await me();
    showShell();
    startLive(checkSession);
  } catch {
    // not logged in: the router sends to the login page
  }
  if (auth.user && location.hash.startsWith('#/login')) navigate('#/edges');
  else route();
}

start();
