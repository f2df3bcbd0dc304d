// rlc dashboard: run list, live metric charts (uPlot), completions browser,
// checkpoints, config and files of the runs served by `rlc serve`. Polls the
// JSON API; a chart only fetches the rows after the last step it holds.
'use strict';

const params = new URLSearchParams(location.search);
const POLL_MS = Math.max(200, Number(params.get('poll')) || 2000);
const GEN_PAGE = 50;
const DEFAULT_METRICS = ['loss', 'mean_reward', 'correct_rate', 'kl', 'entropy', 'grad_norm',
  'completion_len_mean', 'val_loss', 'lr'];
const PALETTE = ['#0a58ca', '#d9480f', '#2b8a3e', '#862e9c', '#c92a2a', '#1098ad', '#e67700',
  '#5c940d', '#a61e4d', '#364fc7'];

const state = {
  runs: [],              // last /api/runs reply's runs
  current: null,         // id of the opened run
  overlay: new Set(),    // ids ticked for the charts (the current run is always drawn)
  data: new Map(),       // id -> {step: [], series: {key: []}, rows, notes}
  metrics: null,         // metric keys charted, in order (null until the first run loads)
  smooth: 0.6,
  charts: new Map(),     // key -> {plot, el}
  zoomed: false,         // a drag zoomed the charts (synced): live updates keep the range
  chartIds: '',          // the run ids the charts were built for
  tab: 'charts',
  gen: {offset: 0, total: 0, matched: 0, items: [], selected: null},
  polls: 0,
};

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k instanceof Node ? k : String(k));
  return e;
}

function fmt(v) {
  if (v == null || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(3);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

// Axis ticks: short, and distinct for close values such as a constant lr.
function tick(v) {
  if (v == null) return '';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2).replace(/\.?0+e/, 'e');
  return String(Number(v.toPrecision(4)));
}

function fmtBytes(n) {
  if (n < 1024) return n + ' B';
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
  return n.toFixed(1) + ' ' + u[i];
}

function ago(sec) {
  if (!(sec >= 0)) return 'never';
  if (sec < 60) return Math.round(sec) + ' s ago';
  if (sec < 3600) return Math.round(sec / 60) + ' min ago';
  if (sec < 86400) return (sec / 3600).toFixed(1) + ' h ago';
  return (sec / 86400).toFixed(1) + ' d ago';
}

// A run id may hold '/', kept as the path separator; every segment is encoded.
function runUrl(id, what, query) {
  const path = id.split('/').map(encodeURIComponent).join('/');
  const q = query ? '?' + new URLSearchParams(query).toString() : '';
  return `api/runs/${path}/${what}${q}`;
}

async function getJSON(url) {
  const r = await fetch(url, {cache: 'no-store'});
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}

function colorOf(id) {
  const ids = chartRunIds();
  const i = Math.max(0, ids.indexOf(id));
  return PALETTE[i % PALETTE.length];
}

function chartRunIds() {
  const ids = [];
  if (state.current) ids.push(state.current);
  for (const r of state.runs) if (state.overlay.has(r.id) && r.id !== state.current) ids.push(r.id);
  return ids;
}

// ---- run list --------------------------------------------------------------

// The list is built once per set of runs and then updated in place, so a
// click is never lost to a poll replacing the element under the pointer.
const runRows = new Map();  // id -> {li, box, sw, step, badge}
let runRowsKey = null;

function buildRunRows() {
  const ul = $('#runs');
  ul.replaceChildren();
  runRows.clear();
  for (const r of state.runs) {
    const box = el('input', {type: 'checkbox', title: 'overlay on the charts'});
    box.addEventListener('click', (ev) => {
      ev.stopPropagation();
      if (box.checked) state.overlay.add(r.id); else state.overlay.delete(r.id);
      renderRuns(state.now);
      refreshCharts();
    });
    const row = {box, sw: el('span', {class: 'swatch'}), step: el('span', {class: 'step'}),
      badge: el('span', {class: 'badge'})};
    row.li = el('li', {'data-run': r.id}, box, row.sw, el('span', {class: 'name'}, r.id), row.step, row.badge);
    row.li.addEventListener('click', () => openRun(r.id));
    runRows.set(r.id, row);
    ul.append(row.li);
  }
  if (!state.runs.length) ul.append(el('li', {class: 'muted'}, 'no runs yet (no metrics.jsonl found)'));
}

// What the run's header badge says: a run stopped by a signal can be resumed
// (the run list keeps the one-word status, with the details as its tooltip).
function statusText(r) {
  return r.status === 'stopped' ? 'stopped (resumable)' : r.status;
}

// "resumes at step 7 from checkpoints/checkpoint-7" for a stopped run, else ''.
function stoppedMeta(r) {
  const st = r.status === 'stopped' && r.stopped;
  if (!st) return '';
  return (st.step == null ? 'resumable' : 'resumes at step ' + fmt(st.step)) +
    (st.checkpoint ? ' from ' + st.checkpoint : '');
}

function statusTitle(r) {
  if (r.status !== 'stopped' || !r.stopped) return r.status;
  const st = r.stopped;
  return `stopped by ${st.signal || 'a signal'}${st.time ? ' at ' + st.time : ''}` +
    `${st.checkpoint ? ', ' + st.checkpoint + ' written' : ''}; run the same command again to resume`;
}

function renderRuns(now) {
  const key = state.runs.map((r) => r.id).join('\n');
  if (key !== runRowsKey) {
    buildRunRows();
    runRowsKey = key;
  }
  const drawn = chartRunIds();
  for (const r of state.runs) {
    const row = runRows.get(r.id);
    row.box.checked = r.id === state.current || state.overlay.has(r.id);
    row.box.disabled = r.id === state.current;
    row.sw.style.background = drawn.includes(r.id) ? colorOf(r.id) : 'transparent';
    row.step.textContent = r.last_step == null ? '' : 'step ' + fmt(r.last_step);
    row.badge.className = 'badge ' + r.status;
    row.badge.textContent = r.status;
    row.li.dataset.status = r.status;
    row.li.title = `${statusTitle(r)}; files updated ${ago(now - r.updated)}${r.error ? '; ' + r.error : ''}`;
    row.li.classList.toggle('selected', r.id === state.current);
  }
}

function renderRunHead(now) {
  const r = state.runs.find((x) => x.id === state.current);
  $('#run-title').textContent = r ? r.id : 'no run selected';
  const b = $('#run-status');
  b.className = 'badge ' + (r ? r.status : '');
  b.textContent = r ? statusText(r) : '';
  b.title = r ? statusTitle(r) : '';
  $('#run-meta').textContent = r ? [r.condition, `${r.rows} steps logged`, stoppedMeta(r),
    `updated ${ago(now - r.updated)}`].filter(Boolean).join(' · ') : '';
}

function openRun(id) {
  if (state.current === id) return;
  state.current = id;
  state.metrics = null;  // chosen again from the keys of the runs now drawn
  state.gen = {offset: 0, total: 0, matched: 0, items: [], selected: null};
  location.hash = '#run=' + encodeURIComponent(id) + '&tab=' + state.tab;
  renderRuns(state.now || Date.now() / 1000);
  renderRunHead(state.now || Date.now() / 1000);
  refreshCharts();
  loadTab();
}

// ---- metrics data ----------------------------------------------------------

// Fetches the rows after the last step held for id; a file that got shorter
// (rewritten run) is fetched whole again. Resolves to true when rows were
// added. Calls for an id already being fetched share that fetch, so no row
// is appended twice.
const inflight = new Map();
function pullMetrics(id) {
  if (!inflight.has(id)) {
    inflight.set(id, pullMetricsOnce(id).finally(() => inflight.delete(id)));
  }
  return inflight.get(id);
}

async function pullMetricsOnce(id) {
  let d = state.data.get(id);
  const last = d && d.step.length ? d.step[d.step.length - 1] : null;
  const j = await getJSON(runUrl(id, 'metrics', last == null ? null : {since: last}));
  if (d && j.rows < d.rows) d = null;
  if (!d || last == null) {
    d = {step: [], series: {}, rows: 0, notes: []};
    state.data.set(id, d);
  }
  const add = j.step.length;
  const before = d.step.length;
  for (const [k, v] of Object.entries(j.series)) {
    if (!d.series[k]) d.series[k] = new Array(before).fill(null);
    d.series[k].push(...v);
  }
  d.step.push(...j.step);
  for (const k of Object.keys(d.series)) {
    while (d.series[k].length < d.step.length) d.series[k].push(null);
  }
  d.rows = j.rows;
  d.notes = j.notes;
  return add > 0;
}

function smoothed(ys, s) {
  if (!(s > 0)) return ys;
  const out = new Array(ys.length);
  let acc = 0, w = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y == null || !Number.isFinite(y)) { out[i] = null; continue; }
    acc = acc * s + (1 - s) * y;
    w = w * s + (1 - s);
    out[i] = acc / w;  // debiased: the first points are not pulled towards 0
  }
  return out;
}

function allKeys() {
  const keys = new Set();
  for (const id of chartRunIds()) {
    const r = state.runs.find((x) => x.id === id);
    for (const k of (r && r.keys) || []) keys.add(k);
  }
  return [...keys].sort();
}

// ---- charts ----------------------------------------------------------------

// uPlot data for one metric: x = union of steps; per run a raw series and,
// with smoothing on, a smoothed one.
function chartData(key, ids) {
  const tables = [];
  for (const id of ids) {
    const d = state.data.get(id);
    const ys = d && d.series[key] ? d.series[key] : [];
    const xs = d ? d.step : [];
    tables.push([xs, ys.map((v) => (v == null ? null : v))]);
  }
  const steps = new Set();
  for (const [xs] of tables) for (const x of xs) steps.add(x);
  const x = [...steps].sort((a, b) => a - b);
  const pos = new Map(x.map((v, i) => [v, i]));
  const out = [x];
  for (const [xs, ys] of tables) {
    const col = new Array(x.length).fill(null);
    for (let i = 0; i < xs.length; i++) col[pos.get(xs[i])] = ys[i];
    out.push(col);
    if (state.smooth > 0) out.push(smoothed(col, state.smooth));
  }
  return out;
}

function seriesOpts(ids) {
  const s = [{label: 'step'}];
  for (const id of ids) {
    const c = colorOf(id);
    if (state.smooth > 0) {
      s.push({label: id + ' (raw)', stroke: c + '40', width: 1, spanGaps: true, value: (u, v) => fmt(v)});
      s.push({label: id, stroke: c, width: 2, spanGaps: true, value: (u, v) => fmt(v)});
    } else {
      s.push({label: id, stroke: c, width: 1.5, spanGaps: true, value: (u, v) => fmt(v),
        points: {show: (u) => u.data[0].length < 60}});
    }
  }
  return s;
}

function chartWidth() {
  const box = $('#charts');
  const w = box.clientWidth || 900;
  const cols = Math.max(1, Math.floor((w + 12) / (460 + 12)));
  return Math.floor((w - 12 * (cols - 1)) / cols) - 14;
}

function buildChart(key, ids) {
  const box = el('div', {class: 'chart', 'data-metric': key});
  const close = el('button', {title: 'remove chart', type: 'button'}, '×');
  close.addEventListener('click', () => {
    state.metrics = state.metrics.filter((k) => k !== key);
    refreshCharts(true);
  });
  box.append(el('div', {class: 'chart-head'}, el('span', {}, key), close));
  $('#charts').append(box);
  const entry = {el: box, plot: null};
  const opts = {
    width: chartWidth(), height: 220,
    scales: {x: {time: false}},
    series: seriesOpts(ids),
    axes: [{label: 'step'}, {size: 70, values: (u, vals) => vals.map(tick)}],
    cursor: {sync: {key: 'rlc'}, drag: {x: true, y: false}},
    legend: {live: true},
    hooks: {
      setSelect: [(u) => { if (u.select.width > 0) state.zoomed = true; }],
    },
  };
  entry.plot = new uPlot(opts, chartData(key, ids), box);
  entry.plot.over.addEventListener('dblclick', () => { state.zoomed = false; });
  state.charts.set(key, entry);
  markChart(key);
}

// Data attributes the browser test (and a curious user) can read.
function markChart(key) {
  const c = state.charts.get(key);
  const x = c.plot.data[0];
  c.el.dataset.points = String(x.length);
  c.el.dataset.lastStep = x.length ? String(x[x.length - 1]) : '';
  c.el.dataset.series = String(c.plot.series.length - 1);
}

function chooseMetrics() {
  if (state.metrics) return;
  const keys = allKeys();
  if (!keys.length) return;
  state.metrics = DEFAULT_METRICS.filter((k) => keys.includes(k));
  if (!state.metrics.length) state.metrics = keys.slice(0, 4);
}

function renderMetricPicker() {
  const sel = $('#metric-add');
  const keys = allKeys().filter((k) => !(state.metrics || []).includes(k));
  sel.replaceChildren(el('option', {value: ''}, keys.length ? 'metric…' : 'all charted'),
    ...keys.map((k) => el('option', {value: k}, k)));
}

function renderNotes() {
  const notes = [];
  for (const id of chartRunIds()) {
    const d = state.data.get(id);
    for (const n of (d && d.notes) || []) notes.push(n);
  }
  const box = $('#notes');
  box.hidden = !notes.length;
  box.textContent = notes.join('\n');
}

// ---- system panel ----------------------------------------------------------

// The opened run's latest system/... values (memory, CPU, threads, where the
// step's time went), one tile per key the run logged, in the file's order; a
// click on a tile adds its chart.
const SYSTEM_PREFIX = 'system/';

function systemText(key, v) {
  if (v == null || !Number.isFinite(v)) return '–';
  if (key.endsWith('_mib')) return v >= 1024 ? (v / 1024).toFixed(2) + ' GiB' : v.toFixed(1) + ' MiB';
  if (key.endsWith('_share') || key.endsWith('_util')) return (100 * v).toFixed(1) + '%';
  return fmt(v);
}

function renderSystem() {
  const d = state.current && state.data.get(state.current);
  const keys = d ? Object.keys(d.series).filter((k) => k.startsWith(SYSTEM_PREFIX)) : [];
  $('#system').hidden = !keys.length;
  let step = null;
  $('#system-tiles').replaceChildren(...keys.map((k) => {
    const ys = d.series[k];
    let i = ys.length - 1;
    while (i >= 0 && ys[i] == null) i--;
    const v = i >= 0 ? ys[i] : null;
    if (i >= 0) step = Math.max(step ?? -Infinity, d.step[i]);
    const tile = el('button', {class: 'tile', type: 'button', title: 'chart ' + k, 'data-key': k,
      'data-value': v == null ? '' : String(v), 'data-step': i >= 0 ? String(d.step[i]) : ''},
    el('span', {class: 'tile-name'}, k.slice(SYSTEM_PREFIX.length)),
    el('span', {class: 'tile-value'}, systemText(k, v)));
    tile.addEventListener('click', () => {
      if ((state.metrics || []).includes(k)) return;
      state.metrics = [...(state.metrics || []), k];
      drawCharts(true);
    });
    return tile;
  }));
  $('#system-step').textContent = step == null ? '' : 'at step ' + fmt(step);
}

// Rebuilds the charts when the runs or metrics drawn changed (or rebuild is
// set), otherwise swaps in the new data and keeps a zoomed range.
function drawCharts(rebuild) {
  chooseMetrics();
  renderMetricPicker();
  renderNotes();
  renderSystem();
  const ids = chartRunIds();
  const sig = ids.join('\n') + '|' + (state.metrics || []).join(',') + '|' + (state.smooth > 0);
  if (rebuild || sig !== state.chartIds) {
    for (const c of state.charts.values()) c.plot.destroy();
    state.charts.clear();
    $('#charts').replaceChildren();
    state.chartIds = sig;
    state.zoomed = false;  // new charts start with the whole range
    for (const key of state.metrics || []) buildChart(key, ids);
    return;
  }
  for (const [key, c] of state.charts) {
    c.plot.setData(chartData(key, ids), !state.zoomed);
    markChart(key);
  }
}

async function refreshCharts(rebuild) {
  const ids = chartRunIds();
  try {
    await Promise.all(ids.filter((id) => !state.data.has(id)).map(pullMetrics));
  } catch (e) {
    setLive(false, e.message);
  }
  drawCharts(rebuild);
}

// ---- completions -----------------------------------------------------------

function genQuery() {
  const f = $('#gen-filter');
  const q = {offset: state.gen.offset, limit: GEN_PAGE};
  for (const k of ['step_min', 'step_max', 'reward_min', 'reward_max']) {
    const v = f.elements[k].value;
    if (v !== '') q[k] = v;
  }
  q.order = f.elements.order.value;
  return q;
}

async function loadGenerations() {
  const id = state.current;
  if (!id) return;
  let j;
  try {
    j = await getJSON(runUrl(id, 'generations', genQuery()));
  } catch (e) {
    $('#gen-summary').textContent = 'cannot load completions: ' + e.message;
    return;
  }
  if (id !== state.current) return;
  state.gen.items = j.items;
  state.gen.total = j.total;
  state.gen.matched = j.matched;
  const tb = $('#gen-table tbody');
  tb.replaceChildren();
  for (const g of j.items) {
    const tr = el('tr', {'data-index': g.index}, el('td', {}, g.index), el('td', {}, fmt(g.step)),
      el('td', {}, fmt(g.reward)), el('td', {}, fmt(g.num_tokens)),
      el('td', {class: 'text'}, String(g.completion ?? '')));
    tr.addEventListener('click', () => showGeneration(g, tr));
    tb.append(tr);
  }
  const from = j.matched ? state.gen.offset + 1 : 0;
  const to = state.gen.offset + j.items.length;
  $('#gen-summary').textContent = j.total === 0
    ? 'no emergence/generations.jsonl in this run (yet)'
    : `${from}–${to} of ${j.matched} matching (${j.total} completions; steps ${fmt(j.step_min)}–` +
      `${fmt(j.step_max)}, rewards ${fmt(j.reward_min)}–${fmt(j.reward_max)})`;
  $('#gen-prev').disabled = state.gen.offset === 0;
  $('#gen-next').disabled = to >= j.matched;
}

function showGeneration(g, tr) {
  for (const r of document.querySelectorAll('#gen-table tr.selected')) r.classList.remove('selected');
  tr.classList.add('selected');
  state.gen.selected = g.index;
  $('#gen-detail').hidden = false;
  $('#gen-detail-title').textContent = `#${g.index} · step ${fmt(g.step)} · reward ${fmt(g.reward)}` +
    (g.num_tokens != null ? ` · ${g.num_tokens} tokens` : '');
  $('#gen-prompt').textContent = String(g.prompt ?? '');
  $('#gen-completion').textContent = String(g.completion ?? '');
  const rest = {};
  for (const [k, v] of Object.entries(g)) if (!['prompt', 'completion'].includes(k)) rest[k] = v;
  $('#gen-fields').textContent = JSON.stringify(rest, null, 1);
}

// ---- checkpoints, config, files --------------------------------------------

async function loadCheckpoints() {
  const id = state.current;
  const tb = $('#ckpt-table tbody');
  let j;
  try {
    j = await getJSON(runUrl(id, 'checkpoints'));
  } catch (e) {
    tb.replaceChildren(el('tr', {}, el('td', {colspan: 7}, e.message)));
    return;
  }
  tb.replaceChildren();
  for (const c of j.checkpoints) {
    tb.append(el('tr', {}, el('td', {}, c.name), el('td', {}, c.step),
      el('td', {}, c.complete ? 'yes' : 'no (no manifest.json)'), el('td', {}, c.files),
      el('td', {}, fmtBytes(c.bytes)), el('td', {}, new Date(c.mtime * 1000).toLocaleString()),
      el('td', {class: 'text'}, c.trainer_state ? JSON.stringify(c.trainer_state) : '–')));
  }
  if (!j.checkpoints.length) tb.append(el('tr', {}, el('td', {colspan: 7, class: 'muted'}, 'no checkpoints')));
  $('#ckpt-pending').textContent = j.in_progress.length ? 'being written: ' + j.in_progress.join(', ') : '';
  const f = j.final;
  $('#final').replaceChildren(f.exists
    ? el('div', {}, `${f.files.length} files, ${fmtBytes(f.bytes)}: `,
      f.files.map((x) => `${x.name} (${fmtBytes(x.bytes)})`).join(', '))
    : el('div', {class: 'muted'}, 'not written (the run has not finished)'));
}

async function loadConfig() {
  try {
    const j = await getJSON(runUrl(state.current, 'config'));
    $('#config').textContent = j.text;
  } catch (e) {
    $('#config').textContent = 'no config: ' + e.message;
  }
}

function fileUrl(path) {
  return 'files/' + path.split('/').map(encodeURIComponent).join('/');
}

async function loadFiles() {
  const ul = $('#files');
  const imgs = $('#images');
  let j;
  try {
    j = await getJSON(runUrl(state.current, 'files'));
  } catch (e) {
    ul.replaceChildren(el('li', {}, e.message));
    return;
  }
  ul.replaceChildren(...j.files.map((f) => el('li', {},
    el('a', {href: fileUrl(f.path), target: '_blank', rel: 'noopener'}, f.path),
    el('span', {class: 'muted'}, ` ${fmtBytes(f.bytes)}`))));
  imgs.replaceChildren(...j.files.filter((f) => /\.png$/i.test(f.path))
    .map((f) => el('img', {src: fileUrl(f.path), alt: f.path, title: f.path})));
}

function loadTab() {
  if (!state.current) return;
  if (state.tab === 'completions') loadGenerations();
  else if (state.tab === 'checkpoints') loadCheckpoints();
  else if (state.tab === 'config') loadConfig();
  else if (state.tab === 'files') loadFiles();
}

function showTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('active', b.dataset.tab === tab);
  for (const s of document.querySelectorAll('main section')) s.hidden = s.id !== 'tab-' + tab;
  if (state.current) location.hash = '#run=' + encodeURIComponent(state.current) + '&tab=' + tab;
  if (tab === 'charts') drawCharts(true);
  loadTab();
}

// ---- polling ---------------------------------------------------------------

function setLive(ok, msg) {
  const l = $('#live');
  l.className = 'live ' + (ok ? 'ok' : 'down');
  l.textContent = msg;
}

async function poll() {
  try {
    const j = await getJSON('api/runs');
    state.now = j.now;
    state.runs = j.runs;
    $('#root').textContent = j.root;
    for (const id of [...state.overlay]) if (!j.runs.some((r) => r.id === id)) state.overlay.delete(id);
    if (state.current && !j.runs.some((r) => r.id === state.current)) state.current = null;
    if (!state.current && j.runs.length) {
      const wanted = new URLSearchParams(location.hash.slice(1)).get('run');
      const pick = j.runs.find((r) => r.id === wanted) ||
        j.runs.find((r) => r.status === 'running') || j.runs[0];
      openRun(pick.id);
    }
    renderRuns(j.now);
    renderRunHead(j.now);
    const ids = chartRunIds();
    const grew = await Promise.all(ids.map(pullMetrics));
    if (state.tab === 'charts' && (grew.some(Boolean) || !state.charts.size)) drawCharts(false);
    state.polls++;
    setLive(true, 'live · ' + new Date().toLocaleTimeString());
  } catch (e) {
    setLive(false, 'server unreachable: ' + e.message);
  }
  setTimeout(poll, POLL_MS);
}

function init() {
  for (const b of document.querySelectorAll('#tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));
  const h = new URLSearchParams(location.hash.slice(1));
  if (h.get('tab')) state.tab = h.get('tab');
  const s = $('#smooth');
  s.addEventListener('input', () => {
    state.smooth = Number(s.value);
    $('#smooth-val').textContent = state.smooth.toFixed(2);
    drawCharts(false);
  });
  state.smooth = Number(s.value);
  $('#metric-add').addEventListener('change', (ev) => {
    const k = ev.target.value;
    if (!k) return;
    state.metrics = [...(state.metrics || []), k];
    drawCharts(true);
  });
  $('#reset-zoom').addEventListener('click', () => {
    state.zoomed = false;
    for (const c of state.charts.values()) c.plot.setData(c.plot.data, true);
  });
  $('#gen-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.gen.offset = 0;
    loadGenerations();
  });
  $('#gen-filter').addEventListener('reset', () => setTimeout(() => {
    state.gen.offset = 0;
    loadGenerations();
  }));
  $('#gen-prev').addEventListener('click', () => {
    state.gen.offset = Math.max(0, state.gen.offset - GEN_PAGE);
    loadGenerations();
  });
  $('#gen-next').addEventListener('click', () => {
    state.gen.offset += GEN_PAGE;
    loadGenerations();
  });
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const c of state.charts.values()) c.plot.setSize({width: chartWidth(), height: 220});
    }, 150);
  });
  showTab(state.tab);
  poll();
}

window.rlcDashboard = state;  // for the browser test and the console
init();
