// Browser test of the dashboard: headless Chromium (Debian's /usr/bin/chromium)
// driven by playwright-core. Opens the page, finds the runs with their
// statuses, sees the loss chart, watches a new point appear while the fake
// run appends to metrics.jsonl (no reload), overlays a second run, hovers,
// zooms, smooths, opens a completion and the other tabs, and shows a run
// stopped by a signal as "stopped (resumable)" with its step. Screenshots go to
// $ARTIFACTS (default build/test-artifacts/serve).
// Usage: node tests/serve/browser.mjs   (RLC_BIN, NPM_ROOT, CHROMIUM override)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { makeRuns, metricLine, generationLine, startServer } from './fixture.mjs';

const bin = process.env.RLC_BIN || 'build/rlc';
const npmRoot = path.resolve(process.env.NPM_ROOT || 'build/npm/node_modules');
const artifacts = path.resolve(process.env.ARTIFACTS || 'build/test-artifacts/serve');
const require = createRequire(path.join(npmRoot, 'noop.js'));
const { chromium } = require('playwright-core');

fs.mkdirSync(artifacts, { recursive: true });
const { root, runs, grpo } = makeRuns(20, 4);
const server = await startServer(bin, runs);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
});
const problems = [];
let step = 'start';
const t0 = Date.now();
function done(what) {
  console.log(`ok ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  const shot = (name) => page.screenshot({ path: path.join(artifacts, name), fullPage: true });

  step = 'open';
  await page.goto(`${server.base}/?poll=300#run=demo%2Fgrpo&tab=charts`);
  await page.waitForSelector('#runs li[data-run="demo/grpo"]');
  const statuses = await page.$$eval('#runs li', (lis) =>
    Object.fromEntries(lis.map((li) => [li.dataset.run, li.querySelector('.badge').textContent])));
  assert.deepEqual(statuses, {
    'demo/grpo': 'running', 'demo/sft': 'finished', old: 'crashed',
    stopped: 'stopped',
  });
  assert.equal(await page.textContent('#run-title'), 'demo/grpo');
  done('run list with statuses');

  step = 'chart';
  const loss = '.chart[data-metric="loss"]';
  await page.waitForSelector(`${loss}[data-points="20"] canvas`);
  const charts = await page.$$eval('.chart', (cs) => cs.map((c) => c.dataset.metric));
  assert.ok(charts.includes('mean_reward') && charts.includes('kl'), charts.join(','));
  await shot('01-charts.png');
  done(`charts drawn: ${charts.join(', ')}`);

  step = 'hover';
  const over = await page.$(`${loss} .u-over`);
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
  const legend = await page.$$eval(`${loss} .u-legend .u-series .u-value`, (vs) => vs.map((v) => v.textContent));
  assert.ok(legend.length >= 2 && legend.slice(1).every((v) => /^-?[0-9.e+-]+$/.test(v)), legend.join('|'));
  done(`hover values ${legend.join(' | ')}`);

  step = 'live update';
  await page.evaluate(() => { window.__noReload = 1; });
  fs.appendFileSync(path.join(grpo, 'metrics.jsonl'), metricLine(21));
  await page.waitForSelector(`${loss}[data-points="21"][data-last-step="21"]`, { timeout: 30000 });
  assert.equal(await page.evaluate(() => window.__noReload), 1, 'the page reloaded');
  const last = await page.evaluate(() => window.rlcDashboard.data.get('demo/grpo').series.loss.at(-1));
  assert.equal(last, JSON.parse(metricLine(21)).loss);
  await shot('02-new-point.png');
  done('new point appeared without reload');

  step = 'overlay';
  await page.click('#runs li[data-run="demo/sft"] input[type=checkbox]');
  await page.waitForSelector(`${loss}[data-series="4"][data-points="30"]`);
  done('overlay of demo/sft (raw + smoothed series per run)');

  step = 'smoothing';
  const smoothedLast = () => page.evaluate(() => {
    const u = window.rlcDashboard.charts.get('loss').plot;
    return u.data[2].filter((v) => v != null).at(-1);
  });
  const before = await smoothedLast();
  await page.$eval('#smooth', (s) => { s.value = '0.95'; s.dispatchEvent(new Event('input')); });
  const after = await smoothedLast();
  assert.notEqual(before, after, 'smoothing slider changed nothing');
  await page.$eval('#smooth', (s) => { s.value = '0'; s.dispatchEvent(new Event('input')); });
  await page.waitForSelector(`${loss}[data-series="2"]`);
  await page.$eval('#smooth', (s) => { s.value = '0.6'; s.dispatchEvent(new Event('input')); });
  await page.waitForSelector(`${loss}[data-series="4"]`);
  done(`smoothing slider (last smoothed loss ${before.toFixed(4)} -> ${after.toFixed(4)} at 0.95)`);

  step = 'zoom';
  const b2 = await (await page.$(`${loss} .u-over`)).boundingBox();
  await page.mouse.move(b2.x + b2.width * 0.2, b2.y + b2.height * 0.5);
  await page.mouse.down();
  await page.mouse.move(b2.x + b2.width * 0.5, b2.y + b2.height * 0.5, { steps: 5 });
  await page.mouse.up();
  const xr = (key = 'loss') => page.evaluate((k) => {
    const u = window.rlcDashboard.charts.get(k).plot;
    return [u.scales.x.min, u.scales.x.max];
  }, key);
  const z = await xr();
  assert.ok(z[0] > 3 && z[1] < 20, `zoom range ${z}`);
  fs.appendFileSync(path.join(grpo, 'metrics.jsonl'), metricLine(22));
  // the x axis spans both runs (sft has 30 steps): wait for grpo's value at step 22
  await page.waitForFunction(() => {
    const u = window.rlcDashboard.charts.get('loss').plot;
    const i = u.data[0].indexOf(22);
    return i >= 0 && u.data[1][i] != null;
  }, null, { timeout: 30000 });
  assert.deepEqual(await xr(), z, 'a live update reset the zoom');
  assert.deepEqual(await xr('mean_reward'), z, 'the zoom is not shared by the other charts');
  await shot('03-zoomed.png');
  await page.click('#reset-zoom');
  const full = await xr();
  assert.ok(full[0] <= 1 && full[1] >= 30, `reset range ${full}`);
  done(`zoom to steps ${z.map((v) => v.toFixed(1)).join('..')} kept across an update, reset`);

  step = 'completions';
  await page.click('#tabs button[data-tab="completions"]');
  await page.waitForSelector('#gen-table tbody tr');
  assert.match(await page.textContent('#gen-summary'), /of 80 matching/);
  fs.appendFileSync(path.join(grpo, 'emergence', 'generations.jsonl'), generationLine(21, 0));
  await page.fill('#gen-filter input[name=step_min]', '7');
  await page.fill('#gen-filter input[name=step_max]', '7');
  await page.fill('#gen-filter input[name=reward_min]', '0.5');
  await page.click('#gen-filter button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#gen-summary').textContent.includes('of 3 matching'));
  const rows = await page.$$eval('#gen-table tbody tr', (trs) => trs.map((tr) =>
    [...tr.children].map((td) => td.textContent)));
  assert.ok(rows.every((r) => r[1] === '7' && Number(r[2]) >= 0.5), JSON.stringify(rows));
  await page.click('#gen-table tbody tr:first-child');
  await page.waitForSelector('#gen-detail:not([hidden])');
  const index = Number(rows[0][0]);
  const lines = fs.readFileSync(path.join(grpo, 'emergence', 'generations.jsonl'), 'utf8').split('\n');
  const want = JSON.parse(lines[index]);
  assert.equal(await page.textContent('#gen-prompt'), want.prompt);
  assert.equal(await page.textContent('#gen-completion'), want.completion);
  await shot('04-completion.png');
  done(`completion #${index} opened (step 7, reward ${want.reward})`);

  step = 'checkpoints';
  await page.click('#tabs button[data-tab="checkpoints"]');
  await page.waitForFunction(() => document.querySelectorAll('#ckpt-table tbody tr').length === 2);
  const ck = await page.$$eval('#ckpt-table tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
  assert.deepEqual(ck, ['checkpoint-5', 'checkpoint-10']);
  await shot('05-checkpoints.png');

  step = 'config';
  await page.click('#tabs button[data-tab="config"]');
  await page.waitForFunction(() => document.querySelector('#config').textContent.includes('group_size'));
  assert.equal(await page.textContent('#config'), fs.readFileSync(path.join(grpo, 'config.yaml'), 'utf8'));
  await shot('06-config.png');
  done('checkpoints and config');

  step = 'stopped run';
  await page.goto(`${server.base}/?poll=301#run=stopped&tab=charts`);
  await page.waitForFunction(() => document.querySelector('#run-title').textContent === 'stopped');
  assert.equal(await page.textContent('#run-status'), 'stopped (resumable)');
  const meta = await page.textContent('#run-meta');
  assert.ok(meta.includes('resumes at step 7 from checkpoints/checkpoint-7'), meta);
  const tip = await page.getAttribute('#run-status', 'title');
  assert.ok(tip.includes('SIGINT') && tip.includes('checkpoints/checkpoint-7'), tip);
  const color = await page.$eval('#run-status', (b) => getComputedStyle(b).backgroundColor);
  assert.equal(color, 'rgb(178, 106, 0)');
  const rowTip = await page.getAttribute('#runs li[data-run="stopped"]', 'title');
  assert.ok(rowTip.startsWith('stopped by SIGINT'), rowTip);
  await shot('07-stopped.png');
  done('stopped run shown as stopped (resumable) with its step');

  step = 'problems';
  assert.deepEqual(problems, []);
  console.log(`browser test passed; screenshots in ${artifacts}`);
} catch (e) {
  console.error(`browser test failed at "${step}": ${e.message}`);
  if (problems.length) console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
  server.proc.removeAllListeners('exit');
  server.proc.kill('SIGTERM');
  fs.rmSync(root, { recursive: true, force: true });
}
