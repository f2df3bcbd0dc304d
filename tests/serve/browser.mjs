// Browser test of the dashboard: headless Chromium (Debian's /usr/bin/chromium)
// driven by playwright-core. Opens the page, finds the runs with their
// statuses, sees the loss chart, watches a new point appear while the fake
// run appends to metrics.jsonl (no reload), overlays a second run, hovers,
// zooms, smooths, opens a completion and the other tabs, and shows a run
// stopped by a signal as "stopped (resumable)" with its step, and the system
// panel of a real GRPO run trained here (values as its metrics.jsonl has them,
// a tile's chart). Screenshots go to
// $ARTIFACTS (default build/test-artifacts/serve).
// Usage: node tests/serve/browser.mjs   (RLC_BIN, NPM_ROOT, CHROMIUM override)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
// a real run: GRPO from a from-scratch byte model, 3 short steps
const realCfg = path.join(root, 'real.yaml');
fs.writeFileSync(realCfg,
  'model: {path: "", from_scratch: true, layers: 1, hidden: 32, heads: 2, kv_heads: 2, ' +
  'intermediate: 64, max_seq: 64, seed: 1}\n' +
  'tokenizer: {kind: byte, chat: none}\n' +
  'data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: "+", max_prompt_tokens: 16, ' +
  'eval_size: 4, seed: 7}\n' +
  'algorithm: {group_size: 4, max_new_tokens: 8}\n' +
  'training: {mode: grpo, steps: 3, batch_size: 4, eval_every: 0, seed: 1}\n' +
  `logging: {run_dir: ${runs}, run_name: real, tensorboard: false, console: false}\n` +
  'checkpoint: {save_every: 0, resume: never}\n');
const trained = spawnSync(bin, ['train', realCfg], { encoding: 'utf8' });
if (trained.status !== 0) throw new Error(`rlc train failed (${trained.status}): ${trained.stderr}`);
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
    stopped: 'stopped', real: 'finished',
  });
  assert.equal(await page.$eval('#system', (s) => s.hidden), true, 'system panel without system/ keys');
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

  step = 'system panel';
  await page.goto(`${server.base}/?poll=302#run=real&tab=charts`);
  await page.waitForFunction(() => document.querySelector('#run-title').textContent === 'real');
  await page.waitForSelector('#system:not([hidden]) #system-tiles .tile');
  const realRows = fs.readFileSync(path.join(runs, 'real', 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.equal(realRows.length, 3);
  const lastRow = JSON.parse(realRows[2]);
  const sysKeys = Object.keys(lastRow).filter((k) => k.startsWith('system/'));
  assert.deepEqual(sysKeys, ['system/rss_mib', 'system/peak_rss_mib', 'system/cpu_cores',
    'system/cpu_util', 'system/threads', 'system/gen_share', 'system/train_share',
    'system/ranks', 'system/comm_mib', 'system/comm_s']);
  assert.equal(lastRow['system/ranks'], 1); // one process: one rank, nothing sent
  assert.equal(lastRow['system/comm_mib'], 0);
  const tiles = await page.$$eval('#system-tiles .tile', (ts) => ts.map((t) => ({
    key: t.dataset.key, value: t.dataset.value, step: t.dataset.step,
    name: t.querySelector('.tile-name').textContent, text: t.querySelector('.tile-value').textContent,
  })));
  assert.deepEqual(tiles.map((t) => t.key), sysKeys);
  const shown = {};
  for (const t of tiles) {
    const v = lastRow[t.key];
    assert.equal(Number(t.value), v, `${t.key}: tile ${t.value}, metrics.jsonl ${v}`);
    assert.equal(t.step, '2');
    assert.equal(t.name, t.key.slice(7));
    const want = t.key.endsWith('_mib') ? v.toFixed(1) + ' MiB'
      : /_(share|util)$/.test(t.key) ? (100 * v).toFixed(1) + '%'
        : String(Number(v.toPrecision(4)));
    assert.equal(t.text, want, t.key);
    shown[t.name] = t.text;
  }
  assert.ok(lastRow['system/rss_mib'] > 0 && lastRow['system/peak_rss_mib'] >= lastRow['system/rss_mib']);
  assert.ok(lastRow['system/gen_share'] + lastRow['system/train_share'] <= 1);
  assert.equal(await page.textContent('#system-step'), 'at step 2');
  await page.click('#system-tiles .tile[data-key="system/rss_mib"]');
  const rssChart = '.chart[data-metric="system/rss_mib"]';
  await page.waitForSelector(`${rssChart}[data-points="3"][data-last-step="2"] canvas`);
  const drawn = await page.evaluate(() =>
    window.rlcDashboard.charts.get('system/rss_mib').plot.data[1]);
  assert.deepEqual(drawn, realRows.map((r) => JSON.parse(r)['system/rss_mib']));
  await shot('08-system.png');
  // a new row updates the panel live (a row of the next step, values of our own)
  fs.appendFileSync(path.join(runs, 'real', 'metrics.jsonl'), JSON.stringify(
    { ...lastRow, step: 3, 'system/rss_mib': 1536.25, 'system/train_share': 0.125 }) + '\n');
  await page.waitForSelector('#system-tiles .tile[data-key="system/rss_mib"][data-step="3"]',
    { timeout: 30000 });
  const tileText = (k) => page.textContent(`#system-tiles .tile[data-key="${k}"] .tile-value`);
  assert.equal(await tileText('system/rss_mib'), '1.50 GiB');
  assert.equal(await tileText('system/train_share'), '12.5%');
  assert.equal(await page.textContent('#system-step'), 'at step 3');
  done(`system panel of a real run: ${Object.entries(shown).map(([k, v]) => k + ' ' + v).join(', ')}`);

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
