// Login page: POST /api/v1/login; 401 wrong credentials, 429 retry time.

import {login, auth} from './api.js';
import {h, formatAbsolute} from './dom.js';

export const name = 'login';

export function mount(root, {app, navigate}) {
  if (auth.user) {
    navigate('#/edges');
    return null;
  }
  const msg = h('div', {class: 'form-msg', role: 'alert', 'aria-live': 'assertive'});
  const user = h('input', {id: 'login-user', name: 'user', type: 'text', autocomplete: 'username',
    required: true, autocapitalize: 'none', spellcheck: 'false'});
  const pass = h('input', {id: 'login-password', name: 'password', type: 'password',
    autocomplete: 'current-password', required: true});
  const submit = h('button', {type: 'submit', class: 'btn btn-primary btn-block'}, 'Log in');
  let retryTimer = null;

  const form = h('form', {class: 'card login-card', 'aria-labelledby': 'login-title', novalidate: true},
    h('div', {class: 'login-head'}, h('span', {class: 'brand-mark brand-mark-lg', 'aria-hidden': 'true'}),
      h('h1', {id: 'login-title'}, 'Sign in to EdgeLink')),
    h('p', {class: 'muted'}, 'Operators\u2019 console for the edge fleet.'),
    h('div', {class: 'field'}, h('label', {for: 'login-user'}, 'User'), user),
    h('div', {class: 'field'}, h('label', {for: 'login-password'}, 'Password'), pass),
    msg, submit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    msg.className = 'form-msg';
    if (!user.value || !pass.value) {
      msg.textContent = 'Enter your user name and password.';
      msg.classList.add('bad');
      (user.value ? pass : user).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    try {
      await login(user.value.trim(), pass.value);
      pass.value = '';
      app.loggedIn();
    } catch (err) {
      msg.classList.add('bad');
      if (err.status === 401) {
        msg.textContent = 'Wrong user name or password.';
        pass.select();
      } else if (err.status === 429) {
        const secs = err.retryAfter ?? 60;
        const at = formatAbsolute(Date.now() + secs * 1000);
        msg.textContent = `Too many attempts. Try again in ${secs} s (at ${at}).`;
        submit.disabled = true;
        clearTimeout(retryTimer);
        retryTimer = setTimeout(() => {
          submit.disabled = false;
          submit.textContent = 'Log in';
        }, secs * 1000);
        submit.textContent = 'Please wait';
        return;
      } else if (err.status) {
        msg.textContent = err.body?.error || `Login failed (HTTP ${err.status}).`;
      } else {
        msg.textContent = `Cannot reach the dispatcher: ${err.message}`;
      }
    }
    submit.disabled = false;
    submit.textContent = 'Log in';
  });

  root.append(h('div', {class: 'login-wrap'}, form));
  user.focus();
  return {unmount() { clearTimeout(retryTimer); }};
}
