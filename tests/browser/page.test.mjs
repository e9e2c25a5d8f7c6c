// Browser test of the host's status page: Debian's chromium driven by playwright-core.
//
//   scripts/browser.sh install                        # chromium + playwright-core, once
//   SLUICE_PAGE_URL=http://127.0.0.1:8089/ scripts/browser.sh test
//   scripts/browser.sh test-fake                      # the same against tests/browser/fake_api.py
//
// It reads everything about the page under test from the environment:
//   SLUICE_PAGE_URL            the page (required), e.g. http://127.0.0.1:8089/
//   SLUICE_EXPECT_PIPELINES    names that must appear (default: at least one pipeline)
//   SLUICE_EXPECT_RISING       names whose counters must rise between polls
//                              (default: the first pipeline shown as running)
//   SLUICE_EXPECT_QUARANTINED  names that must show "quarantined" and a reason
//   SLUICE_EXPECT_FAILED       names that must show "failed" and a reason
//   SLUICE_EXPECT_SWAP         names whose history must show a swap
//   SLUICE_EXPECT_ANSWERS      answer names that must show rows (default: at least one)
//   SLUICE_SCREENSHOT          where to save a screenshot (default docs/page.png)
//   SLUICE_CHROMIUM            the browser (default /usr/bin/chromium)
//   SLUICE_NODE_PREFIX         where scripts/browser.sh installed playwright-core
// Names are comma-separated. The test never asserts on timing beyond "within N polls".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = process.env;
const list = (v) => (v || '').split(',').map((s) => s.trim()).filter(Boolean);

const BASE = env.SLUICE_PAGE_URL;
if (!BASE) {
  throw new Error('SLUICE_PAGE_URL is not set: point it at the host\'s HTTP listener (host --http ADDR), '
    + 'e.g. SLUICE_PAGE_URL=http://127.0.0.1:8089/, or run scripts/browser.sh test-fake');
}
const PREFIX = env.SLUICE_NODE_PREFIX || path.join(os.homedir(), '.cache', 'sluice', 'node');
let chromium;
try {
  ({ chromium } = createRequire(path.join(PREFIX, 'package.json'))('playwright-core'));
} catch (e) {
  throw new Error(`playwright-core is not installed under ${PREFIX}; run scripts/browser.sh install (${e.message})`);
}
const EXECUTABLE = env.SLUICE_CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(EXECUTABLE)) throw new Error(`${EXECUTABLE} not found; run scripts/browser.sh install`);

const EXPECT = {
  pipelines: list(env.SLUICE_EXPECT_PIPELINES),
  rising: list(env.SLUICE_EXPECT_RISING),
  quarantined: list(env.SLUICE_EXPECT_QUARANTINED),
  failed: list(env.SLUICE_EXPECT_FAILED),
  swap: list(env.SLUICE_EXPECT_SWAP),
  answers: list(env.SLUICE_EXPECT_ANSWERS),
};
const SCREENSHOT = path.resolve(ROOT, env.SLUICE_SCREENSHOT || 'docs/page.png');
const POLL_MS = 2000;
const origin = new URL(BASE).origin;
const pageUrl = (hash) => new URL(hash, BASE).href;
const card = (name) => `[data-testid="pipeline"][data-pipeline=${JSON.stringify(name)}]`;

let context;
let page;
let profile;
const problems = { console: [], errors: [], outside: [], failed: [] };
let breakingApi = false; // while a test cuts the API off on purpose

before(async () => {
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: EXECUTABLE,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
  });
  page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error' && !breakingApi) problems.console.push(m.text()); });
  page.on('pageerror', (e) => problems.errors.push(String(e)));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.origin !== origin) problems.outside.push(r.url());
  });
  page.on('response', (r) => { if (r.status() >= 400) problems.failed.push(`${r.status()} ${r.url()}`); });
  await page.goto(pageUrl('#pipelines'));
  await page.waitForSelector('body[data-pipelines-loaded="true"]', { timeout: 15000 });
});

after(async () => {
  if (context) await context.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

/** Waits for the page's next poll of /api/pipelines (the "updated" stamp moves). */
async function nextPoll() {
  const before = await page.getAttribute('#updated', 'data-value');
  await page.waitForFunction((b) => document.getElementById('updated').dataset.value !== b, before,
    { timeout: POLL_MS * 5, polling: 100 });
}

async function consumed(name) {
  const v = await page.getAttribute(`${card(name)} [data-testid="total-consumed"]`, 'data-value');
  return v === null || v === '' ? NaN : Number(v);
}

async function runningPipelines() {
  return page.$$eval('[data-testid="pipeline"][data-state="running"]', (els) => els.map((e) => e.dataset.pipeline));
}

async function risingNames() {
  if (EXPECT.rising.length) return EXPECT.rising;
  const running = await runningPipelines();
  assert.ok(running.length, 'no pipeline shows "running"; set SLUICE_EXPECT_RISING or start one with traffic');
  return [running[0]];
}

/** Pixels of the canvas under `selector` close to the colour `hex`. */
async function colouredPixels(selector, hex) {
  return page.$eval(selector, (cv, hex) => {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const { data } = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 128 && Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40 && Math.abs(data[i + 2] - b) < 40) n++;
    }
    return n;
  }, hex);
}

/** Elements sticking out past the viewport, outside boxes that scroll on purpose. */
async function overflow() {
  return page.evaluate(() => {
    const doc = document.documentElement;
    const width = doc.clientWidth;
    const culprits = [];
    for (const e of document.querySelectorAll('body *')) {
      if (e.closest('.scroll') || e.closest('[hidden]')) continue;
      const r = e.getBoundingClientRect();
      if (r.width && r.right > width + 1) {
        culprits.push(`${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')} right=${Math.round(r.right)}`);
      }
    }
    return { scrollWidth: doc.scrollWidth, width, culprits: culprits.slice(0, 8) };
  });
}

test('the pipelines view lists the expected pipelines', async () => {
  const names = await page.$$eval('[data-testid="pipeline"]', (els) => els.map((e) => e.dataset.pipeline));
  assert.ok(names.length > 0, 'no pipeline on the page; is the host running any?');
  for (const name of EXPECT.pipelines) assert.ok(names.includes(name), `pipeline ${name} missing; page shows ${names.join(', ')}`);
  for (const id of ['host-version', 'kafka-reachable', 'clickhouse-reachable']) {
    const text = (await page.textContent(`#${id}`)).trim();
    assert.ok(text && text !== '…', `#${id} never filled in`);
  }
});

test('counters rise between two polls', async () => {
  for (const name of await risingNames()) {
    const first = await consumed(name);
    assert.ok(Number.isFinite(first), `pipeline ${name} shows no consumed total`);
    let now = first;
    for (let i = 0; i < 5 && now <= first; i++) {
      await nextPoll();
      now = await consumed(name);
    }
    assert.ok(now > first, `pipeline ${name}: consumed stayed at ${first} over 5 polls; is traffic flowing?`);
  }
});

test('the throughput chart draws its series', async () => {
  for (const name of await risingNames()) {
    const box = `${card(name)} [data-testid="chart"]`;
    await page.waitForFunction((sel) => Number(document.querySelector(sel)?.dataset.points) >= 2, box,
      { timeout: POLL_MS * 5 });
    await page.waitForSelector(`${box} canvas`);
    // uPlot draws on the next frame; wait for the consumed line's colour to appear.
    let pixels = 0;
    for (let i = 0; i < 20 && pixels < 20; i++) {
      pixels = await colouredPixels(`${box} canvas`, '#1f6feb');
      if (pixels < 20) await page.waitForTimeout(100);
    }
    assert.ok(pixels >= 20, `pipeline ${name}: the chart canvas has no consumed/s line (${pixels} pixels)`);
  }
});

for (const [state, names] of [['quarantined', EXPECT.quarantined], ['failed', EXPECT.failed]]) {
  test(`${state} pipelines show their state and reason`, { skip: names.length ? false : `SLUICE_EXPECT_${state.toUpperCase()} not set` }, async () => {
    for (const name of names) {
      await page.waitForSelector(card(name), { timeout: POLL_MS * 3 });
      assert.equal((await page.textContent(`${card(name)} [data-testid="state"]`)).trim(), state, `pipeline ${name}`);
      const reason = page.locator(`${card(name)} [data-testid="reason"]`);
      assert.ok(await reason.isVisible(), `pipeline ${name}: no reason shown`);
      assert.ok((await reason.textContent()).trim().length > state.length + 3, `pipeline ${name}: empty reason`);
    }
  });
}

test('a swap appears in the history', { skip: EXPECT.swap.length ? false : 'SLUICE_EXPECT_SWAP not set' }, async () => {
  for (const name of EXPECT.swap) {
    const events = await page.$$eval(`${card(name)} [data-testid="event"]`, (els) => els.map((e) => [e.dataset.kind, e.textContent]));
    assert.ok(events.some(([kind]) => kind === 'swap'), `pipeline ${name}: no swap among ${JSON.stringify(events)}`);
    const version = await page.textContent(`${card(name)} [data-testid="plugin-version"]`);
    assert.match(version.trim(), /^[0-9a-f]{6,}$/, `pipeline ${name}: plugin version hash`);
  }
});

test('text from the API is shown as text, never as markup', async () => {
  for (const list of ['#pipeline-list', '#answer-list']) {
    const tags = await page.$$eval(`${list} img, ${list} script, ${list} iframe, ${list} b, ${list} br`, (els) => els.map((e) => e.tagName));
    assert.deepEqual(tags, [], `markup from the API was rendered in ${list}`);
  }
  assert.equal(await page.evaluate(() => window.__sluiceXss), undefined);
});

test('a host that stops answering shows as an error, and recovery clears it', async () => {
  breakingApi = true;
  try {
    await page.route('**/api/pipelines', (route) => route.abort());
    await page.waitForSelector('#api-error:not([hidden])', { timeout: POLL_MS * 5 });
    assert.match(await page.textContent('#api-error'), /api\/pipelines/);
    await page.unroute('**/api/pipelines');
    await page.waitForSelector('#api-error', { state: 'hidden', timeout: POLL_MS * 5 });
  } finally {
    await page.unroute('**/api/pipelines').catch(() => {});
    breakingApi = false;
  }
});

test('the answers view shows query results', async () => {
  await page.click('#tab-answers');
  await page.waitForSelector('body[data-answers-loaded="true"]', { timeout: 15000 });
  const shown = await page.$$eval('[data-testid="answer"]', (els) => els.map((e) => ({
    name: e.dataset.answer,
    kind: e.dataset.kind,
    rows: e.querySelectorAll('[data-testid="answer-row"]').length,
  })));
  assert.ok(shown.length > 0, 'no answers shown');
  const withRows = shown.filter((a) => a.rows > 0);
  assert.ok(withRows.length > 0, `no answer has rows: ${JSON.stringify(shown)}`);
  for (const name of EXPECT.answers) {
    assert.ok(withRows.some((a) => a.name === name), `answer ${name} has no rows: ${JSON.stringify(shown)}`);
  }
  // every line chart that has points has drawn its canvas
  const charts = await page.$$('[data-testid="answer-chart"] canvas');
  for (const c of charts) {
    const drawn = await c.evaluate((cv) => {
      const { data } = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height);
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
      return n;
    });
    assert.ok(drawn > 0, 'an answer chart is blank');
  }
  // and the text of answers, like the rest, stays text
  assert.equal(await page.$$eval('#answer-list script, #answer-list img', (els) => els.length), 0);
});

test('no horizontal page scroll at 1280 px and at 200% zoom', async () => {
  const cdp = await context.newCDPSession(page);
  try {
    // 1280 px at 200% zoom lays out like a 640 CSS px viewport at device scale 2.
    for (const [width, height, scale] of [[1280, 900, 1], [640, 450, 2]]) {
      await cdp.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: scale, mobile: false });
      for (const view of ['#pipelines', '#answers']) {
        await page.goto(pageUrl(view));
        await page.waitForSelector(view === '#answers' ? 'body[data-answers-loaded="true"]' : 'body[data-pipelines-loaded="true"]');
        await page.waitForTimeout(300); // let charts take their width
        const o = await overflow();
        assert.ok(o.scrollWidth <= o.width, `${view} at ${width}px x${scale}: page is ${o.scrollWidth}px wide for ${o.width}px; sticking out: ${o.culprits.join('; ')}`);
      }
    }
  } finally {
    await cdp.send('Emulation.clearDeviceMetricsOverride');
    await cdp.detach();
  }
});

test('screenshot', async () => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(pageUrl('#pipelines'));
  await page.waitForSelector('body[data-pipelines-loaded="true"]');
  await page.waitForTimeout(500);
  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`screenshot: ${SCREENSHOT}`);
});

test('no page errors, failed requests or outside requests', () => {
  assert.deepEqual(problems.errors, [], 'uncaught errors in the page');
  assert.deepEqual(problems.console, [], 'console errors in the page');
  assert.deepEqual(problems.failed, [], 'requests that failed');
  assert.deepEqual(problems.outside, [], 'requests to another origin');
});
