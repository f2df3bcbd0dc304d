// Load test of `rlc serve`, loopback only: N clients, each on its own
// keep-alive connection, poll the dashboard's API the way the page does
// (run list, new metric rows since the last step seen, a page of completions,
// now and then the page itself and a raw file) while a fake run appends a
// step every 200 ms. Passes when every request got a 200 and the server's
// resident memory after warm-up grew by at most --rss-bound-mib.
// Usage: node tests/serve/load.mjs [--clients 200] [--seconds 30] [--interval-ms 250]
//        [--rss-bound-mib 16] [--out FILE.json]    (RLC_BIN overrides build/rlc)
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { makeRuns, metricLine, generationLine, startServer } from './fixture.mjs';

const opt = { clients: 200, seconds: 30, 'interval-ms': 250, 'rss-bound-mib': 16, 'warmup-s': 5,
  out: 'build/test-artifacts/serve/load.json' };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  if (!(k in opt)) { console.error(`load.mjs: unknown option ${process.argv[i]}`); process.exit(2); }
  opt[k] = typeof opt[k] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}

const bin = process.env.RLC_BIN || 'build/rlc';
const { root, runs, grpo } = makeRuns(500, 8);
const server = await startServer(bin, runs);
const pid = server.proc.pid;

function procStatus(key) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) / 1024 : NaN;
}
const fdCount = () => fs.readdirSync(`/proc/${pid}/fd`).length;
// user + system CPU seconds of the server so far (clock ticks of 1/100 s)
function cpuSeconds() {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

const stats = { requests: 0, errors: 0, non200: {}, lat: [], cycles: 0 };
function get(agent, p) {
  return new Promise((resolve) => {
    const t = process.hrtime.bigint();
    const req = http.get({ host: '127.0.0.1', port: server.port, path: p, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        stats.requests++;
        stats.lat.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (res.statusCode !== 200) stats.non200[res.statusCode] = (stats.non200[res.statusCode] || 0) + 1;
        resolve(res.statusCode === 200 ? Buffer.concat(chunks).toString() : null);
      });
    });
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => {
      stats.errors++;
      if (stats.errors <= 5) console.error('request error:', p, e.message);
      resolve(null);
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let running = true;

async function client(n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let last = null;
  await sleep((n * opt['interval-ms']) / opt.clients); // spread the first requests
  for (let cycle = 0; running; cycle++) {
    await get(agent, '/api/runs');
    const q = last == null ? '' : `?since=${last}`;
    const body = await get(agent, `/api/runs/demo/grpo/metrics${q}`);
    if (body) {
      const j = JSON.parse(body);
      if (j.step.length) last = j.step[j.step.length - 1];
    }
    if (cycle % 4 === n % 4) {
      await get(agent, `/api/runs/demo/grpo/generations?limit=20&step_min=${(cycle * 7) % 500}&reward_min=0.5`);
    }
    if (cycle % 20 === n % 20) {
      await get(agent, '/');
      await get(agent, '/files/demo/grpo/config.yaml');
    }
    stats.cycles++;
    await sleep(opt['interval-ms']);
  }
  agent.destroy();
}

// the fake run: one step (1 metrics line, 8 completions) every 200 ms
let step = 500;
const writer = setInterval(() => {
  step++;
  fs.appendFileSync(path.join(grpo, 'metrics.jsonl'), metricLine(step));
  let g = '';
  for (let k = 0; k < 8; k++) g += generationLine(step, k);
  fs.appendFileSync(path.join(grpo, 'emergence', 'generations.jsonl'), g);
}, 200);

const samples = [];
const rss0 = procStatus('VmRSS');
const cpu0 = cpuSeconds();
const fd0 = fdCount();
const sampler = setInterval(() => {
  samples.push({ t: (Date.now() - t0) / 1000, rss_mib: procStatus('VmRSS'), fds: fdCount() });
}, 500);
const t0 = Date.now();
const clients = Array.from({ length: opt.clients }, (_, i) => client(i));
await sleep(opt.seconds * 1000);
running = false;
await Promise.all(clients);
clearInterval(writer);
clearInterval(sampler);
await sleep(500);
const fdEnd = fdCount();
const cpuEnd = cpuSeconds();
const rssEnd = procStatus('VmRSS');
const hwm = procStatus('VmHWM');
server.proc.kill('SIGTERM');
fs.rmSync(root, { recursive: true, force: true });

const warm = samples.filter((s) => s.t >= opt['warmup-s']);
const rssWarm = warm.length ? warm[0].rss_mib : rssEnd;
const rssMaxAfter = Math.max(...warm.map((s) => s.rss_mib), rssEnd);
const growth = rssMaxAfter - rssWarm;
const lat = stats.lat.sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
const seconds = (Date.now() - t0) / 1000;
const result = {
  clients: opt.clients, seconds: Number(seconds.toFixed(1)), interval_ms: opt['interval-ms'],
  requests: stats.requests, requests_per_s: Math.round(stats.requests / seconds),
  errors: stats.errors, non_200: stats.non200, steps_appended: step - 500,
  server_cpu_s: Number((cpuEnd - cpu0).toFixed(2)),
  client_cpu_s: Number(((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(2)),
  server_cpu_us_per_request: Math.round(((cpuEnd - cpu0) / stats.requests) * 1e6),
  latency_ms: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: lat[lat.length - 1] },
  rss_mib: { start: rss0, after_warmup: rssWarm, max_after_warmup: rssMaxAfter, end: rssEnd, peak: hwm },
  rss_growth_after_warmup_mib: Number(growth.toFixed(2)), rss_bound_mib: opt['rss-bound-mib'],
  fds: { start: fd0, max: Math.max(...samples.map((s) => s.fds)), end: fdEnd },
};
for (const k of Object.keys(result.latency_ms)) result.latency_ms[k] = Number(result.latency_ms[k].toFixed(2));
fs.mkdirSync(path.dirname(opt.out), { recursive: true });
fs.writeFileSync(opt.out, JSON.stringify({ ...result, samples }, null, 1));
console.log(JSON.stringify(result, null, 1));

const fail = [];
if (stats.errors) fail.push(`${stats.errors} request errors`);
if (Object.keys(stats.non200).length) fail.push(`non-200 replies ${JSON.stringify(stats.non200)}`);
if (stats.requests < opt.clients * 2) fail.push(`only ${stats.requests} requests`);
if (growth > opt['rss-bound-mib']) fail.push(`RSS grew ${growth.toFixed(1)} MiB after warm-up (bound ${opt['rss-bound-mib']})`);
if (fdEnd > fd0 + 2) fail.push(`server holds ${fdEnd} descriptors after the clients left (${fd0} before)`);
if (fail.length) {
  console.error('load test failed: ' + fail.join('; '));
  process.exit(1);
}
console.log(`load test passed: ${opt.clients} clients, ${result.requests} requests in ${result.seconds} s, ` +
  `no errors, RSS +${result.rss_growth_after_warmup_mib} MiB after warm-up (bound ${opt['rss-bound-mib']} MiB)`);
