// Fake run folders for the dashboard's browser and load tests, and a helper
// that starts `rlc serve` on a free port.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function metricLine(step) {
  const loss = 2.0 * Math.exp(-step / 15) + 0.05 * Math.sin(step * 1.7);
  const reward = 1 - Math.exp(-step / 12) + 0.04 * Math.cos(step * 2.3);
  return JSON.stringify({
    step, condition: 'grpo', loss, mean_reward: reward, correct_rate: reward * 0.9,
    kl: 0.001 * step, entropy: 2.0 - step / 40, grad_norm: 1 + 0.2 * Math.sin(step),
    lr: 1e-5, step_time_s: 0.5,
  }) + '\n';
}

export function generationLine(step, k) {
  const reward = (step + k) % 3 === 0 ? 1 : (step + k) % 3 === 1 ? 0.5 : 0;
  return JSON.stringify({
    step, prompt: `Problem ${step}.${k}: what is ${step} + ${k}? Answer in <answer></answer>.`,
    completion: `Let me add ${step} and ${k}. <answer>${step + k}</answer>`,
    reward, num_tokens: 12 + k,
  }) + '\n';
}

// runs/demo/grpo (running: `steps` metric rows, 4 completions per step,
// config, checkpoints), runs/demo/sft (finished), runs/old (crashed),
// runs/stopped (stopped by a signal: STOPPED newer than its metrics).
export function makeRuns(steps = 20, gensPerStep = 4) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rlc-serve-'));
  const runs = path.join(root, 'runs');
  const grpo = path.join(runs, 'demo', 'grpo');
  fs.mkdirSync(path.join(grpo, 'emergence'), { recursive: true });
  let m = '', g = '';
  for (let s = 1; s <= steps; s++) {
    m += metricLine(s);
    for (let k = 0; k < gensPerStep; k++) g += generationLine(s, k);
  }
  fs.writeFileSync(path.join(grpo, 'metrics.jsonl'), m);
  fs.writeFileSync(path.join(grpo, 'emergence', 'generations.jsonl'), g);
  fs.writeFileSync(path.join(grpo, 'config.yaml'),
    'model:\n  path: models/tiny\nalgorithm:\n  advantage: grpo\n  group_size: 4\n' +
    'training:\n  steps: 200\n  seed: 7\n');
  for (const s of [5, 10]) {
    const c = path.join(grpo, 'checkpoints', `checkpoint-${s}`);
    fs.mkdirSync(c, { recursive: true });
    fs.writeFileSync(path.join(c, 'trainer_state.json'), JSON.stringify({ step: s, seed: 7 }));
    fs.writeFileSync(path.join(c, 'manifest.json'), '{}');
    fs.writeFileSync(path.join(c, 'adapter_model.safetensors'), Buffer.alloc(4096));
  }
  const sft = path.join(runs, 'demo', 'sft');
  fs.mkdirSync(path.join(sft, 'final'), { recursive: true });
  let ms = '';
  for (let s = 1; s <= 30; s++) {
    ms += JSON.stringify({ step: s, loss: 3 * Math.exp(-s / 8) + 0.3, lr: 1e-4 }) + '\n';
  }
  fs.writeFileSync(path.join(sft, 'metrics.jsonl'), ms);
  fs.writeFileSync(path.join(sft, 'final', 'model.safetensors'), Buffer.alloc(1024));
  const old = path.join(runs, 'old');
  fs.mkdirSync(old, { recursive: true });
  fs.writeFileSync(path.join(old, 'metrics.jsonl'), metricLine(1) + metricLine(2));
  const past = new Date(Date.now() - 3600 * 1000);
  fs.utimesSync(path.join(old, 'metrics.jsonl'), past, past);
  // stopped by SIGINT after a checkpoint: STOPPED written after the last metrics
  const stopped = path.join(runs, 'stopped');
  fs.mkdirSync(stopped, { recursive: true });
  let mp = '';
  for (let s = 0; s < 7; s++) mp += metricLine(s);
  fs.writeFileSync(path.join(stopped, 'metrics.jsonl'), mp);
  fs.writeFileSync(path.join(stopped, 'STOPPED'), JSON.stringify({
    signal: 'SIGINT', step: 7, checkpoint: 'checkpoints/checkpoint-7', time: '2026-12-02T13:00:00Z',
  }) + '\n');
  const tenMin = new Date(Date.now() - 600 * 1000), nineMin = new Date(Date.now() - 540 * 1000);
  fs.utimesSync(path.join(stopped, 'metrics.jsonl'), tenMin, tenMin);
  fs.utimesSync(path.join(stopped, 'STOPPED'), nineMin, nineMin);
  return { root, runs, grpo };
}

// Starts `rlc serve RUNS --port 0`; resolves to {proc, port, base} once it
// printed its address.
export function startServer(bin, runs, extra = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['serve', runs, '--port', '0', ...extra],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('rlc serve printed no address: ' + out)), 10000);
    proc.on('exit', (code) => reject(new Error(`rlc serve exited (${code}): ${out}`)));
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1]), base: `http://127.0.0.1:${m[1]}` });
      }
    });
  });
}
