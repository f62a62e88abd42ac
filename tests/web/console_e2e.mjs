// End-to-end test of the EdgeLink web console in a real browser (Debian's Chromium through
// playwright-core), against a running dispatcher with a real edge.
//
//   cd tests/web && npm ci
//   EDGELINK_WEB_URL=http://127.0.0.1:8080 EDGE_ID=elevator-0042 \
//   EDGELINK_OPERATOR_USER=op EDGELINK_OPERATOR_PASSWORD=... \
//   EDGELINK_VIEWER_USER=view EDGELINK_VIEWER_PASSWORD=... \
//   [EDGE_SSH_USER=root] [EDGE_SSH_PASSWORD=...] [SCREENSHOT_DIR=/tmp/shots] \
//   node console_e2e.mjs
//
// Steps: the operator logs in, finds the edge through the search box, opens its page, opens a
// session (1h, tcp), waits until it is live through the live updates (no reload), opens the
// terminal, logs in to ssh (password, or the dispatcher's key when none), runs `uname -a`, waits
// for "Linux", goes back, closes the session and waits until the page shows it closed. Then:
// a POST without X-CSRF-Token is refused (403) for the operator; the viewer sees no session
// controls, and a POST to open a session with the viewer's cookie is refused (403).
// Exit code 0 only when every step passes. Every step is printed with its time.

import fs from 'node:fs';
import path from 'node:path';
import {chromium} from 'playwright-core';

const env = (name, dflt) => {
  const v = process.env[name];
  if (v !== undefined && v !== '') return v;
  if (dflt !== undefined) return dflt;
  console.error(`console_e2e: set ${name}`);
  process.exit(2);
};

const BASE = env('EDGELINK_WEB_URL').replace(/\/+$/, '');
const OP_USER = env('EDGELINK_OPERATOR_USER');
const OP_PASS = env('EDGELINK_OPERATOR_PASSWORD');
const VIEW_USER = env('EDGELINK_VIEWER_USER');
const VIEW_PASS = env('EDGELINK_VIEWER_PASSWORD');
const EDGE_ID = env('EDGE_ID');
const SSH_USER = env('EDGE_SSH_USER', 'root');
const SSH_PASSWORD = process.env.EDGE_SSH_PASSWORD || '';
const SHOTS = process.env.SCREENSHOT_DIR || '';
const CHROMIUM = env('EDGELINK_CHROMIUM', '/usr/bin/chromium');
// How long a session may take to become live / the ssh login to connect (ms).
const LIVE_TIMEOUT = Number(env('E2E_LIVE_TIMEOUT_MS', '90000'));
const SSH_TIMEOUT = Number(env('E2E_SSH_TIMEOUT_MS', '45000'));
const UI_TIMEOUT = Number(env('E2E_UI_TIMEOUT_MS', '15000'));

const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let styleReports = 0;
let passed = 0;
let failed = 0;
const started = Date.now();
const secs = (ms) => `${(ms / 1000).toFixed(2)}s`;

class StepFailed extends Error {}

/** Runs one step, prints it with its time; a failure is counted and rethrown (StepFailed). */
async function step(name, fn, page) {
  const t0 = Date.now();
  try {
    const note = await fn();
    passed++;
    console.log(`ok    ${secs(Date.now() - t0).padStart(7)}  ${name}${note ? ` (${note})` : ''}`);
    return note;
  } catch (err) {
    failed++;
    console.log(`FAIL  ${secs(Date.now() - t0).padStart(7)}  ${name}: ${err?.message?.split('\n')[0] || err}`);
    if (page) await shot(page, `failure-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`);
    throw new StepFailed(name);
  }
}

async function shot(page, name) {
  if (!SHOTS) return;
  try {
    fs.mkdirSync(SHOTS, {recursive: true});
    await page.screenshot({path: path.join(SHOTS, `${name}.png`), fullPage: true});
  } catch (err) {
    console.log(`      (screenshot ${name} failed: ${err.message.split('\n')[0]})`);
  }
}

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

async function newPage(browser, label) {
  const context = await browser.newContext({viewport: {width: 1400, height: 900}});
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT);
  page.on('pageerror', (err) => console.log(`      [${label} page error] ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy directive 'style-src/.test(msg.text())) {
      // xterm.js's own <style> elements (the console mirrors them as constructed stylesheets):
      // counted, printed once at the end.
      styleReports++;
      return;
    }
    if (msg.type() === 'error' && !/status of 40[139]/.test(msg.text())) {
      console.log(`      [${label} console] ${msg.text()}`);
    }
  });
  return page;
}

async function login(page, user, password) {
  await page.goto(`${BASE}/#/login`);
  await page.locator('#login-user').fill(user);
  await page.locator('#login-password').fill(password);
  await page.getByRole('button', {name: 'Log in'}).click();
  const done = page.locator('table.edges-table');
  const refused = page.locator('.form-msg.bad');
  await done.or(refused).first().waitFor();
  if (await refused.count()) throw new Error(`login refused: ${await refused.innerText()}`);
  expect((await page.locator('#who-name').innerText()) === user, 'the header shows another user');
}

/** A POST from inside the page (the browser's cookie and Origin); returns the HTTP status. */
async function postFromPage(page, apiPath, body, withCsrf) {
  return page.evaluate(async ({apiPath, body, withCsrf}) => {
    const headers = {'Content-Type': 'application/json'};
    if (withCsrf) {
      const me = await fetch('/api/v1/me', {credentials: 'same-origin'}).then((r) => r.json());
      headers['X-CSRF-Token'] = me.csrf;
    }
    const res = await fetch(apiPath, {method: 'POST', headers, body: JSON.stringify(body),
      credentials: 'same-origin'});
    return res.status;
  }, {apiPath, body, withCsrf});
}

const sessionPath = `/api/v1/edges/${encodeURIComponent(EDGE_ID)}/session`;

async function waitForSessionCard(page) {
  await page.locator('#session-state, #session-none').first().waitFor({timeout: UI_TIMEOUT});
}

async function outcomeText(page) {
  const box = page.locator('#session-outcome .outcome');
  if (!(await box.count())) return '';
  return (await box.innerText()).replace(/\s+/g, ' ').trim();
}

async function operatorFlow(browser) {
  const page = await newPage(browser, 'operator');
  let sessionOpen = false;
  try {
    await step('operator logs in', () => login(page, OP_USER, OP_PASS), page);

    await step('find the edge through the search box', async () => {
      await page.locator('#edge-search').fill(EDGE_ID);
      await page.locator('table.edges-table').getByRole('link', {name: EDGE_ID, exact: true}).waitFor();
      await shot(page, 'edges');
    }, page);

    await step('open the edge page', async () => {
      await page.locator('table.edges-table').getByRole('link', {name: EDGE_ID, exact: true}).click();
      await page.waitForURL((u) => u.hash === `#/edges/${encodeURIComponent(EDGE_ID)}`);
      await page.locator('h1').filter({hasText: EDGE_ID}).waitFor();
      await waitForSessionCard(page);
    }, page);

    if (await page.locator('#close-session').count()) {
      await step('close a session left over from before', async () => {
        await page.locator('#close-session').click();
        await page.locator('#confirm-close').click();
        await page.locator('#session-none').waitFor({timeout: LIVE_TIMEOUT});
      }, page);
    }

    await step('open a session (auto-stop 1h, tcp)', async () => {
      // Marks this document: if the page reloaded, the mark would be gone.
      await page.evaluate(() => { window.__e2eNoReload = true; });
      await page.locator('#open-auto-stop').selectOption('1h');
      await page.locator('#mode-tcp').check();
      await page.locator('#open-session').click();
      sessionOpen = true;
      const box = page.locator('#session-outcome .outcome');
      await box.waitFor({timeout: LIVE_TIMEOUT});
      const outcome = await box.getAttribute('data-outcome');
      // 'timeout': the edge did not answer within the request's wait; the session may still
      // become live, which the next step waits for.
      expect(outcome === 'ok' || outcome === 'timeout', `the API answered: ${await outcomeText(page)}`);
      return `outcome ${outcome}`;
    }, page);

    await step('the session becomes live through the live updates (no reload)', async () => {
      await page.locator('#live-indicator[data-state="live"]').waitFor();
      await page.locator('#session-state[data-state="active"]').waitFor({timeout: LIVE_TIMEOUT});
      expect(await page.evaluate(() => window.__e2eNoReload === true), 'the page was reloaded');
      await page.locator('#open-terminal').waitFor();
      await shot(page, 'edge');
    }, page);

    await step('the sessions page lists the live session', async () => {
      await page.getByRole('link', {name: 'Sessions', exact: true}).first().click();
      await page.locator('table.data tr.row-live').filter({hasText: EDGE_ID}).first().waitFor();
      await shot(page, 'sessions');
      await page.goBack();
      await page.locator('#open-terminal').waitFor();
    }, page);

    await step('open the terminal and log in to ssh', async () => {
      await page.locator('#open-terminal').click();
      await page.locator('#ssh-user').fill(SSH_USER);
      if (SSH_PASSWORD) await page.locator('#ssh-password').fill(SSH_PASSWORD);
      await page.locator('#ssh-connect').click();
      const status = page.locator('#term-status');
      await page.waitForFunction(() => {
        const s = document.querySelector('#term-status')?.dataset.state;
        return s === 'connected' || s === 'closed' || s === 'error';
      }, null, {timeout: SSH_TIMEOUT});
      const state = await status.getAttribute('data-state');
      const message = await page.locator('#term-message').innerText();
      expect(state === 'connected', `terminal ${state}: ${message}`);
      return message;
    }, page);

    await step('type `uname -a` and see "Linux"', async () => {
      await page.locator('#terminal .xterm').click();
      await page.keyboard.type('uname -a');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => {
        const rows = document.querySelector('#terminal .xterm-rows');
        if (!rows) return false;
        const text = [...rows.children].map((r) => r.textContent).join('\n');
        return /uname -a[\s\S]*Linux/.test(text);
      }, null, {timeout: SSH_TIMEOUT});
      await shot(page, 'terminal');
    }, page);

    await step('go back and close the session', async () => {
      await page.goBack();
      await page.waitForURL((u) => u.hash === `#/edges/${encodeURIComponent(EDGE_ID)}`);
      await page.locator('#close-session').click();
      await page.locator('#confirm-close').click();
      const box = page.locator('#session-outcome .outcome');
      await box.waitFor({timeout: LIVE_TIMEOUT});
      const outcome = await box.getAttribute('data-outcome');
      expect(outcome === 'ok', `the API answered: ${await outcomeText(page)}`);
      await page.locator('#session-none').waitFor({timeout: LIVE_TIMEOUT});
      sessionOpen = false;
    }, page);
  } catch (err) {
    if (!(err instanceof StepFailed)) throw err;
  } finally {
    if (sessionOpen) await closeByApi(page, 'left open by a failed step');
  }

  try {
    await step('operator: a POST without X-CSRF-Token is refused (403)', async () => {
      const status = await postFromPage(page, `${sessionPath}/extend`, {auto_stop: '1h'}, false);
      expect(status === 403, `HTTP ${status}`);
      return `HTTP ${status}`;
    }, page);
  } catch (err) {
    if (!(err instanceof StepFailed)) throw err;
  }
  return page;
}

async function closeByApi(page, why) {
  try {
    const status = await postFromPage(page, `${sessionPath}/close`, {wait: '30s'}, true);
    console.log(`      (closed the session through the API, ${why}: HTTP ${status})`);
  } catch (err) {
    console.log(`      (could not close the session: ${err.message.split('\n')[0]})`);
  }
}

async function viewerFlow(browser, operatorPage) {
  const page = await newPage(browser, 'viewer');
  try {
    await step('viewer logs in', () => login(page, VIEW_USER, VIEW_PASS), page);
    await step('viewer: the edge page has no session controls', async () => {
      await page.goto(`${BASE}/#/edges/${encodeURIComponent(EDGE_ID)}`);
      await waitForSessionCard(page);
      for (const sel of ['#open-session', '#extend-session', '#close-session', '#open-terminal']) {
        expect((await page.locator(sel).count()) === 0, `${sel} is shown to a viewer`);
      }
      expect(!(await page.locator('#system-info').isVisible()), 'the System info button is shown to a viewer');
    }, page);
    await step('viewer: a POST to open a session is refused (403)', async () => {
      const status = await postFromPage(page, sessionPath, {auto_stop: '1h', mode: 'tcp', wait: '30s'}, true);
      if (status >= 200 && status < 300 && operatorPage) {
        await closeByApi(operatorPage, 'the viewer could open it');
      }
      expect(status === 403, `HTTP ${status}`);
      return `HTTP ${status}`;
    }, page);
  } catch (err) {
    if (!(err instanceof StepFailed)) throw err;
  }
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  // --headless=new is among the arguments: Playwright adds no headless flag of its own. It
  // starts Chromium with a new temporary --user-data-dir and removes it afterwards.
  headless: false,
  args: CHROMIUM_ARGS,
});
try {
  console.log(`console_e2e: ${BASE}, edge ${EDGE_ID}, Chromium ${browser.version()}`);
  const operatorPage = await operatorFlow(browser);
  await viewerFlow(browser, operatorPage);
} catch (err) {
  failed++;
  console.log(`FAIL  unexpected: ${err?.stack || err}`);
} finally {
  await browser.close();
}
if (styleReports) console.log(`console_e2e: ${styleReports} CSP reports for inline <style> (xterm.js)`);
console.log(`console_e2e: ${secs(Date.now() - started)} in all`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
