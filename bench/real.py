#!/usr/bin/python3
"""Real-shape benchmark rows of `make bench`: rlc against its peers at the
SmolLM2-135M and Qwen3-0.6B shapes (issue 12), every ratio measured in this run.

Rows (each: warm-up, then rlc and the peer interleaved A, B, A, B for --reps
repetitions; median with the spread (min-max), the ratio of medians, the goal
and PASS/FAIL; a FAIL does not change the exit status):
  stream      STREAM triad GB/s (build/bench_stream), before and after the rows
  decode1     135M F32 and BF16: 64 tokens after a 128-token prompt, batch 1,
              rlc generate --warmup 1 --json vs llama-bench (tg64 at depth 128;
              both time a warm process: llama-bench runs a warm-up first), and
              as a share of the DRAM bound (STREAM GB/s / weight bytes per token),
              STREAM measured right before each repetition and each repetition
              divided by its own bound (this machine's bandwidth drifts between
              ~40 and ~86 GB/s within minutes, with other tenants of the host)
  decode16    135M F32 and BF16: 16 sequences x 64 tokens, rlc generate
              --samples 16 vs llama-batched-bench (-npp 128 -ntg 64 -npl 16 -pps)
  prefill     135M F32 and BF16: a 128-token prompt, rlc's prefill tok/s (same
              runs as decode1) vs llama-bench pp128
  greedy      135M F32 and BF16: rlc generate --temperature 0 vs llama-simple on
              the same prompt text, 64 tokens: identical text or FAIL
  train       135M shape, seq 256 x batch 4, full fine-tuning step (AdamW):
              build/bench_train --real vs bench/torch_ref.py train --tied with
              torch.set_num_threads(N); PyTorch timed with OMP_WAIT_POLICY=PASSIVE
              and with the default wait, and both programs with the
              environment's OPENBLAS_CORETYPE and without it (OpenBLAS's own
              kernel for the CPU; both use OpenBLAS for large products), each
              keeping its fastest; peak RSS of each process and a paper count
              of the memory from the shapes
  shared      demo SFT and demo GRPO step time idle and beside one busy process
              (sh -c 'while :; do :; done'): ratio <= 2.5
  qwen        (only with --qwen; minutes) Qwen3-0.6B shape, BF16, LoRA GRPO
              step, 8 prompts x 4 samples, 128-token prompts, 256 new tokens:
              step time, generation tok/s, peak RSS (<= 6 GiB)

A row whose model or peer is missing says "skipped (run make bench-models
bench-peers)". Results also go to build/bench_real.json.

  /usr/bin/python3 bench/real.py [--reps 3] [--threads 2] [--models build/models]
      [--peers build/peers/llama.cpp/build/bin] [--rows decode1,train,...] [--qwen]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL_ROWS = ("decode1", "decode16", "prefill", "greedy", "train", "shared")
SKIP_MODELS = "skipped (run make bench-models bench-peers)"

# Goals of issue 12.
GOAL_DECODE1 = 1.0
GOAL_DECODE1_BOUND = 0.70
GOAL_DECODE16 = 1.5
GOAL_PREFILL = 1.0
GOAL_TRAIN = 2.0
GOAL_SHARED = 2.5
GOAL_QWEN_RSS = 6 * 1024**3

# A prompt for the greedy identity; its ids are what each tokenizer makes of it.
GREEDY_TEXT = ("The history of the printing press begins in the fifteenth century, when "
               "movable type made books cheap enough for")


def rlc_spincount():
    """The GOMP_SPINCOUNT that the rlc binary sets for itself (src/cli/main.c):
    bench_train links the library, not the CLI, so it gets the same setting here."""
    with open(os.path.join(ROOT, "src/cli/main.c")) as f:
        for line in f:
            if line.startswith("#define RLC_GOMP_SPINCOUNT"):
                return line.split('"')[1]
    raise ValueError("src/cli/main.c: no RLC_GOMP_SPINCOUNT")


class Proc:
    def __init__(self, rc, out, err, wall, maxrss):
        self.rc, self.out, self.err, self.wall, self.maxrss = rc, out, err, wall, maxrss


def run(cmd, env=None, cwd=ROOT, timeout=None):
    """Runs cmd; returns its exit status, output, wall seconds and peak RSS in
    bytes (ru_maxrss of this child alone, from wait4)."""
    e = dict(os.environ)
    for k, v in (env or {}).items():  # None removes a variable
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=e, cwd=cwd)
        try:
            _, status, ru = os.wait4(p.pid, 0)
        except KeyboardInterrupt:
            p.kill()
            raise
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0), fe.seek(0)
        return Proc(p.returncode, fo.read().decode("utf-8", "replace"),
                    fe.read().decode("utf-8", "replace"), wall, ru.ru_maxrss * 1024)


def must(p, what):
    if p.rc != 0:
        raise RuntimeError(f"{what} failed (exit {p.rc}): {p.err.strip()[-400:]}")
    return p


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{") or line.startswith("["):
            return json.loads(line)
    raise ValueError("no JSON line in the output")


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs, fmt="{:.1f}"):
    if not xs:
        return "-"
    return f"{fmt.format(med(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"


def load():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


class Bench:
    def __init__(self, a):
        self.a = a
        self.rows = []  # printed table
        self.results = {}
        self.rlc = os.path.join(ROOT, a.rlc)
        self.env = {"OMP_NUM_THREADS": str(a.threads)}
        self.stream = []
        self.maxload = 0.0

    # ---- helpers ----
    def model(self, name):
        d = os.path.join(self.a.models, name)
        return d if os.path.exists(d) else None

    def peer(self, name):
        p = os.path.join(self.a.peers, name)
        return p if os.access(p, os.X_OK) else None

    def row(self, name, rlc, peer, unit, ratio, goal, verdict, note="", timed=True):
        # other work on the cores: llama.cpp's and PyTorch's threads spin at
        # their barriers, so a loaded machine skews the ratio (either way)
        peak = max(self.maxload, float(load()))
        self.maxload = 0.0
        if timed and peak > self.a.threads + 0.5:
            note = (note + f" NOISY: load average up to {peak:.1f} on "
                    f"{os.cpu_count()} CPUs, rerun on an idle machine").strip()
        self.rows.append((name, rlc, peer, unit, ratio, goal, verdict, note))
        print(f"  {name}: rlc {rlc} | peer {peer} {unit} | ratio {ratio} | goal {goal} "
              f"| {verdict} {note}", flush=True)

    def skip(self, name, why=SKIP_MODELS):
        self.rows.append((name, "-", "-", "", "-", "-", why, ""))
        print(f"  {name}: {why}", flush=True)

    def log(self, msg):
        self.maxload = max(self.maxload, float(load()))
        print(f"[{time.strftime('%H:%M:%S')} load {load()}] {msg}", flush=True)

    # ---- STREAM ----
    def measure_stream(self):
        """STREAM triad GB/s now (NaN without build/bench_stream)."""
        b = os.path.join(ROOT, self.a.build, "bench_stream")
        if not os.access(b, os.X_OK):
            return float("nan")
        p = run([b, "--json", "--threads", str(self.a.threads)])
        if p.rc != 0:
            return float("nan")
        self.stream.append(last_json(p.out)["triad_gb_s"])
        self.log(f"STREAM triad {self.stream[-1]:.1f} GB/s")
        return self.stream[-1]

    # ---- rlc generate / llama.cpp ----
    def rlc_generate(self, model, samples, temperature):
        ids = ",".join(str(100 + 37 * i % 40000) for i in range(128))
        cmd = [self.rlc, "generate", "--model", model, "--prompt-ids", ids, "--max-new-tokens",
               "64", "--temperature", str(temperature), "--no-eos", "--seed", "1", "--warmup", "1",
               "--json"]
        if samples > 1:
            cmd += ["--samples", str(samples)]
        return last_json(must(run(cmd, self.env), "rlc generate").out)

    def llama_bench(self, gguf, args):
        cmd = [self.peer("llama-bench"), "-m", gguf, "-t", str(self.a.threads), "-r", "1",
               "-o", "json"] + args
        j = last_json(must(run(cmd), "llama-bench").out.replace("\n", " ") + "\n")
        return j[0]["avg_ts"]

    def llama_batched(self, gguf):
        cmd = [self.peer("llama-batched-bench"), "-m", gguf, "-t", str(self.a.threads),
               "-c", "4096", "-b", "2048", "-ub", "512", "-npp", "128", "-ntg", "64",
               "-npl", "16", "-pps", "--output-format", "jsonl"]
        p = must(run(cmd), "llama-batched-bench")
        for line in p.out.splitlines():
            if line.startswith("{") and "speed_tg" in line:
                return json.loads(line)["speed_tg"]
        raise RuntimeError("llama-batched-bench: no speed_tg in its output")

    @staticmethod
    def weight_bytes_per_token(model_dir):
        """Bytes of every matrix a decode step reads once: the linear maps of
        each layer and the LM head (the embedding when tied), in the file's
        dtype; norms and the embedding gather are negligible."""
        with open(os.path.join(model_dir, "config.json")) as f:
            c = json.load(f)
        C, L, F, V = c["hidden_size"], c["num_hidden_layers"], c["intermediate_size"], \
            c["vocab_size"]
        H, Hkv = c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
        D = c.get("head_dim") or C // H
        per_layer = C * H * D * 2 + C * Hkv * D * 2 + 3 * C * F
        dt = 2 if str(c.get("torch_dtype", "float32")) in ("bfloat16", "float16") else 4
        return (L * per_layer + V * C) * dt

    def decode_rows(self, want):
        for dt in ("f32", "bf16"):
            mdir, gguf = self.model(f"smollm2-135m-{dt}"), self.model(f"smollm2-135m-{dt}.gguf")
            lb, lbb = self.peer("llama-bench"), self.peer("llama-batched-bench")
            if not (mdir and gguf and lb and lbb):
                for r in ("decode1", "prefill", "decode16"):
                    if r in want:
                        self.skip(f"{r} {dt}")
                continue
            res = {"rlc_decode1": [], "llama_decode1": [], "rlc_prefill": [], "stream_gb_s": [],
                   "llama_prefill": [], "rlc_decode16": [], "llama_decode16": []}
            if "decode1" in want or "prefill" in want:
                self.log(f"decode batch 1 / prefill 128, {dt}: warm-up")
                self.rlc_generate(mdir, 1, 0)
                self.llama_bench(gguf, ["-p", "0", "-n", "64", "-d", "128"])
                wb = self.weight_bytes_per_token(mdir)
                for r in range(self.a.reps):
                    bw = self.measure_stream() if "decode1" in want else float("nan")
                    j = self.rlc_generate(mdir, 1, 0)
                    res["rlc_decode1"].append(j["decode_tokens_per_s"])
                    res["stream_gb_s"].append(bw)
                    res["rlc_prefill"].append(j["prefill_tokens_per_s"])
                    res["llama_decode1"].append(
                        self.llama_bench(gguf, ["-p", "0", "-n", "64", "-d", "128"]))
                    res["llama_prefill"].append(self.llama_bench(gguf, ["-p", "128", "-n", "0"]))
                    self.log(f"  rep {r + 1}: decode rlc {res['rlc_decode1'][-1]:.1f} llama "
                             f"{res['llama_decode1'][-1]:.1f}; prefill rlc "
                             f"{res['rlc_prefill'][-1]:.0f} llama {res['llama_prefill'][-1]:.0f}")
            if "decode16" in want:
                self.log(f"decode 16 x 64, {dt}: warm-up")
                self.rlc_generate(mdir, 16, 1)
                self.llama_batched(gguf)
                for r in range(self.a.reps):
                    res["rlc_decode16"].append(self.rlc_generate(mdir, 16, 1)["decode_tokens_per_s"])
                    res["llama_decode16"].append(self.llama_batched(gguf))
                    self.log(f"  rep {r + 1}: rlc {res['rlc_decode16'][-1]:.1f} llama "
                             f"{res['llama_decode16'][-1]:.1f}")
            self.results[f"decode_{dt}"] = res
            wb = self.weight_bytes_per_token(mdir)
            if "decode1" in want:
                q = med(res["rlc_decode1"]) / med(res["llama_decode1"])
                bounds = [bw * 1e9 / wb for bw in res["stream_gb_s"]]
                shares = [t / b for t, b in zip(res["rlc_decode1"], bounds)]
                peer_shares = [t / b for t, b in zip(res["llama_decode1"], bounds)]
                share = med(shares)
                ok = q >= GOAL_DECODE1 and share >= GOAL_DECODE1_BOUND
                self.row(f"decode b1 {dt}", spread(res["rlc_decode1"]),
                         "llama.cpp " + spread(res["llama_decode1"]), "tok/s", f"{q:.2f}x",
                         f">={GOAL_DECODE1}x, >={GOAL_DECODE1_BOUND:.0%} bound",
                         "PASS" if ok else "FAIL",
                         f"DRAM bound {spread(bounds, '{:.0f}')} tok/s ({wb / 1e6:.0f} MB/token at "
                         f"STREAM {spread(res['stream_gb_s'])} GB/s, each repetition's own): "
                         f"rlc {share:.0%} ({spread(shares, '{:.2f}')}), llama.cpp "
                         f"{med(peer_shares):.0%}")
                res["dram_bound_tok_s"], res["weight_bytes_per_token"] = bounds, wb
                res["bound_share"], res["peer_bound_share"] = shares, peer_shares
            if "prefill" in want:
                q = med(res["rlc_prefill"]) / med(res["llama_prefill"])
                self.row(f"prefill 128 {dt}", spread(res["rlc_prefill"], "{:.0f}"),
                         "llama.cpp " + spread(res["llama_prefill"], "{:.0f}"), "tok/s",
                         f"{q:.2f}x", f">={GOAL_PREFILL}x", "PASS" if q >= GOAL_PREFILL else "FAIL")
            if "decode16" in want:
                q = med(res["rlc_decode16"]) / med(res["llama_decode16"])
                self.row(f"decode b16 {dt}", spread(res["rlc_decode16"]),
                         "llama.cpp batched " + spread(res["llama_decode16"]), "tok/s",
                         f"{q:.2f}x", f">={GOAL_DECODE16}x",
                         "PASS" if q >= GOAL_DECODE16 else "FAIL")

    def greedy_rows(self):
        for dt in ("f32", "bf16"):
            mdir, gguf = self.model(f"smollm2-135m-{dt}"), self.model(f"smollm2-135m-{dt}.gguf")
            ls = self.peer("llama-simple")
            if not (mdir and gguf and ls):
                self.skip(f"greedy 64 {dt}")
                continue
            j = last_json(must(run([self.rlc, "generate", "--model", mdir, "--prompt",
                                    GREEDY_TEXT, "--chat", "none", "--temperature", "0",
                                    "--max-new-tokens", "64", "--json"], self.env),
                               "rlc generate").out)
            p = must(run([ls, "-m", gguf, "-n", "64", GREEDY_TEXT]), "llama-simple")
            # llama-simple prints the prompt's pieces, then each generated piece, then "\n"
            peer_text = p.out[:-1] if p.out.endswith("\n") else p.out
            same = peer_text == GREEDY_TEXT + j["text"]
            n_peer = p.err.split("decoded ")[1].split()[0] if "decoded " in p.err else "?"
            first = ""
            if not same:
                want = GREEDY_TEXT + j["text"]
                k = next((i for i, (x, y) in enumerate(zip(want, peer_text)) if x != y),
                         min(len(want), len(peer_text)))
                first = f"first difference at character {k - len(GREEDY_TEXT)} of the completion"
            self.results[f"greedy_{dt}"] = {"rlc_tokens": j["generated_tokens"],
                                            "llama_tokens": n_peer, "identical": same}
            self.row(f"greedy 64 {dt}", f"{j['generated_tokens']} tokens",
                     f"llama-simple {n_peer} tokens", "", "-", "identical text",
                     "PASS" if same and j["generated_tokens"] == 64 else "FAIL", first, timed=False)

    # ---- training step at the 135M shape ----
    @staticmethod
    def paper_train_bytes(L=30, C=576, H=9, Hkv=3, F=1536, V=49152, T=256, B=4):
        """Memory of a full fine-tuning step counted from the shapes alone (not
        from rlc's arena): F32 weights, gradients and AdamW m, v (16 B per
        parameter, tied embedding once), plus the activations a backward needs:
        per layer the block input, two normed inputs and their rstd, q, k, v,
        the attention output, gate, up and their SwiGLU product; the final norm,
        the logits and their gradient. Returned with and without the
        [L, B, H, T, T] attention probabilities (flash-style attention keeps none)."""
        D = C // H
        N = B * T
        params = V * C + L * (C * H * D * 2 + C * Hkv * D * 2 + 3 * C * F + 2 * C) + C
        per_layer = N * (C + 2 * C + 2 + H * D * 2 + Hkv * D * 2 + 3 * F)
        acts = L * per_layer + N * (C + 1) + 2 * N * V
        probs = L * B * H * T * T
        return params, 16 * params + 4 * acts, 16 * params + 4 * (acts + probs)

    def train_row(self):
        bt = os.path.join(ROOT, self.a.build, "bench_train")
        if not os.access(bt, os.X_OK) or not os.access("/usr/bin/python3", os.X_OK):
            self.skip("train 135m", "skipped (build/bench_train or /usr/bin/python3 missing)")
            return
        chk = run(["/usr/bin/python3", "-c", "import torch"])
        if chk.rc != 0:
            self.skip("train 135m", "skipped (PyTorch missing from /usr/bin/python3)")
            return
        steps, warm = str(self.a.train_steps), "1"
        tcmd = ["/usr/bin/python3", os.path.join(ROOT, "bench/torch_ref.py"), "train",
                "--layers", "30", "--hidden", "576", "--heads", "9", "--kv-heads", "3",
                "--inter", "1536", "--vocab", "49152", "--seq", "256", "--batch", "4", "--tied",
                "--threads", str(self.a.threads), "--warmup", warm, "--steps", steps]
        rcmd = [bt, "--real", "--no-torch", "--threads", str(self.a.threads), "--steps", steps]
        renv = dict(self.env)
        if not (os.environ.get("GOMP_SPINCOUNT") or os.environ.get("OMP_WAIT_POLICY")):
            renv["GOMP_SPINCOUNT"] = rlc_spincount()  # what `rlc` runs with
        # OpenBLAS's kernel: the environment's OPENBLAS_CORETYPE (if any) and
        # OpenBLAS's own choice from cpuid (variable removed). Both programs
        # multiply large training products with OpenBLAS (rlc: the backward's
        # dx and dW), so each is timed both ways and keeps its faster.
        pin = os.environ.get("OPENBLAS_CORETYPE")
        blas = [("env", {})] + ([("own", {"OPENBLAS_CORETYPE": None})] if pin else [])
        tvars = [(w, b) for b, _ in blas for w in ("passive", "default")]
        res = {"rlc_rss": [], "torch_rss": [], "openblas_coretype": pin}
        for b, _ in blas:
            res[f"rlc_{b}_tok_s"] = []
        for w, b in tvars:
            res[f"torch_{w}_{b}_tok_s"] = []
        self.log("train 135m shape, seq 256 x batch 4 (each process: 2 warm-up + "
                 f"{steps} timed steps rlc, 1 + {steps} PyTorch); OpenBLAS core "
                 + (f"OPENBLAS_CORETYPE={pin} and its own choice" if pin else "its own choice"))
        for r in range(self.a.reps):
            for b, benv in blas:
                p = must(run(rcmd, {**renv, **benv}), "bench_train --real")
                with open(os.path.join(ROOT, self.a.build, "bench_results.json")) as f:
                    tj = json.load(f)["train"]["smollm2-135m"]
                res[f"rlc_{b}_tok_s"].append(tj["rlc_tok_s"])
                res["rlc_rss"].append(p.maxrss)
                res["rlc_params"] = tj["params"]
            for w, b in tvars:
                env = {"OMP_NUM_THREADS": str(self.a.threads), **dict(blas)[b]}
                if w == "passive":
                    env["OMP_WAIT_POLICY"] = "PASSIVE"
                tp = must(run(tcmd, env), "torch_ref.py train")
                res[f"torch_{w}_{b}_tok_s"].append(last_json(tp.out)["tok_s"])
                res["torch_rss"].append(tp.maxrss)
                res["torch_params"] = last_json(tp.out)["params"]
            self.log(f"  rep {r + 1}: rlc "
                     + ", ".join(f"{b} {res[f'rlc_{b}_tok_s'][-1]:.0f}" for b, _ in blas)
                     + " tok/s; torch "
                     + ", ".join(f"{w}/{b} {res[f'torch_{w}_{b}_tok_s'][-1]:.0f}"
                                 for w, b in tvars))
        rb = max((b for b, _ in blas), key=lambda b: med(res[f"rlc_{b}_tok_s"]))
        tw, tb = max(tvars, key=lambda v: med(res[f"torch_{v[0]}_{v[1]}_tok_s"]))
        rt, tt = res[f"rlc_{rb}_tok_s"], res[f"torch_{tw}_{tb}_tok_s"]
        res["rlc_tok_s"], res["torch_tok_s"] = rt, tt
        q = med(rt) / med(tt)
        params, paper, paper_probs = self.paper_train_bytes()
        res.update({"rlc_openblas": rb, "torch_policy": tw, "torch_openblas": tb,
                    "paper_params": params, "paper_bytes": paper,
                    "paper_bytes_with_probs": paper_probs})
        self.results["train_135m"] = res
        G = 1024**3
        core = {"env": f"OpenBLAS {pin}" if pin else "OpenBLAS", "own": "OpenBLAS own core"}
        alts = "; medians: rlc " + ", ".join(
            f"{core[b]} {med(res[f'rlc_{b}_tok_s']):.0f}" for b, _ in blas) + "; PyTorch " + \
            ", ".join(f"{w}/{core[b]} {med(res[f'torch_{w}_{b}_tok_s']):.0f}" for w, b in tvars)
        self.row("train 135m", spread(rt, "{:.0f}"),
                 f"PyTorch ({tw} wait, {core[tb]}) " + spread(tt, "{:.0f}"), "tok/s",
                 f"{q:.2f}x", f">={GOAL_TRAIN}x", "PASS" if q >= GOAL_TRAIN else "FAIL",
                 f"rlc with {core[rb]}{alts}\n"
                 f"peak RSS rlc {max(res['rlc_rss']) / G:.2f} GiB, PyTorch "
                 f"{max(res['torch_rss']) / G:.2f} GiB; paper {paper / G:.2f} GiB "
                 f"({paper_probs / G:.2f} with attention probabilities), "
                 f"{params / 1e6:.1f}M params (rlc {res['rlc_params'] / 1e6:.1f}M, "
                 f"PyTorch {res['torch_params'] / 1e6:.1f}M)")

    # ---- shared cores ----
    @staticmethod
    def step_times(run_dir):
        out = []
        for root, _, files in os.walk(run_dir):
            if "metrics.jsonl" in files and "emergence" not in root:
                with open(os.path.join(root, "metrics.jsonl")) as f:
                    for line in f:
                        j = json.loads(line)
                        if "step_time_s" in j:
                            out.append(j["step_time_s"])
        return out

    def demo_run(self, kind, tmp, busy, sft_final=None):
        d = tempfile.mkdtemp(dir=tmp)
        if kind == "sft":
            cmd = [self.rlc, "sft", os.path.join(ROOT, "configs/demo_sft.yaml"),
                   "training.steps=30", "optimizer.warmup_steps=10", "logging.log_every=1",
                   "training.eval_every=0", "training.stop_at_accuracy=0",
                   f"logging.run_dir={d}"]
        else:
            cmd = [self.rlc, "train", os.path.join(ROOT, "configs/demo_grpo.yaml"),
                   f"model.path={sft_final}", "training.steps=6", "training.batch_size=64",
                   "training.eval_every=0", "optimizer.warmup_steps=1", "logging.log_every=1",
                   "algorithm.dynamic_sampling=false",  # fixed work per step
                   f"logging.run_dir={d}"]
        hog = subprocess.Popen(["sh", "-c", "while :; do :; done"]) if busy else None
        try:
            must(run(cmd, self.env), f"rlc {kind}")
        finally:
            if hog:
                hog.kill()
                hog.wait()
        t = self.step_times(d)
        skip = 5 if kind == "sft" else 1
        return d, med(t[skip:] if len(t) > skip else t)

    def shared_rows(self):
        tmp = tempfile.mkdtemp(prefix="rlc-bench-shared-")
        wait = os.environ.get("GOMP_SPINCOUNT") or os.environ.get("OMP_WAIT_POLICY")
        how = f"user's setting {wait}" if wait else "rlc's default wait"
        try:
            self.log(f"shared cores ({how}): demo SFT, 30 steps, idle / beside one busy process")
            d, _ = self.demo_run("sft", tmp, False)
            final = os.path.join(d, "sft", "final")
            for kind in ("sft", "grpo"):
                idle, busy = [], []
                for r in range(self.a.reps):
                    idle.append(self.demo_run(kind, tmp, False, final)[1])
                    busy.append(self.demo_run(kind, tmp, True, final)[1])
                    self.log(f"  {kind} rep {r + 1}: idle {idle[-1]:.3f} s/step, busy "
                             f"{busy[-1]:.3f} s/step")
                q = med(busy) / med(idle)
                self.results[f"shared_{kind}"] = {"idle_s": idle, "busy_s": busy}
                self.row(f"shared cores demo {kind}", "idle " + spread(idle, "{:.3f}"),
                         "beside a busy process " + spread(busy, "{:.3f}"), "s/step",
                         f"{q:.2f}x", f"<={GOAL_SHARED}x", "PASS" if q <= GOAL_SHARED else "FAIL",
                         how)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # ---- Qwen3-0.6B LoRA GRPO step ----
    def qwen_row(self):
        mdir = self.model("qwen3-0.6b-bf16")
        if not mdir:
            self.skip("qwen3-0.6b grpo step")
            return
        tmp = tempfile.mkdtemp(prefix="rlc-bench-qwen-")
        try:
            data = os.path.join(tmp, "train.jsonl")
            filler = ("A farmer keeps a record of the animals, the fields, the seasons "
                      "and the prices at the market in a notebook. ")
            with open(data, "w") as f:
                for i in range(64):
                    a, b = 12 + 7 * i, 30 + 11 * i
                    q = (filler * 3 + f"On one day he sold {a} eggs in the morning and {b} eggs "
                         f"in the afternoon. How many eggs did he sell that day?")
                    f.write(json.dumps({"question": q, "answer": f"{a} + {b} = {a + b} #### "
                                        f"{a + b}"}) + "\n")
            cmd = [self.rlc, "train", os.path.join(ROOT, "bench/grpo_qwen_bench.yaml"),
                   f"model.path={mdir}", f"data.path={data}", f"logging.run_dir={tmp}",
                   f"training.steps={self.a.qwen_steps}"]
            self.log(f"Qwen3-0.6B shape, LoRA GRPO, 8 prompts x 4 samples, 256 new tokens, "
                     f"{self.a.qwen_steps} step(s) (minutes)")
            p = must(run(cmd, self.env), "rlc train (qwen)")
            steps = []
            for root, _, files in os.walk(tmp):
                if "metrics.jsonl" in files and "emergence" not in root:
                    with open(os.path.join(root, "metrics.jsonl")) as f:
                        steps = [json.loads(x) for x in f if x.strip()]
            st = [s["step_time_s"] for s in steps if "step_time_s" in s]
            gen = [s["gen_tokens"] / s["gen_time_s"] for s in steps
                   if s.get("gen_time_s") and s.get("gen_tokens")]
            prompt_len = ""
            for line in p.err.splitlines() + p.out.splitlines():
                if "prompt" in line and "tokens" in line and "mean" in line:
                    prompt_len = line.strip()
            self.results["qwen_grpo"] = {"step_time_s": st, "gen_tok_s": gen,
                                         "peak_rss": p.maxrss, "wall_s": p.wall}
            G = 1024**3
            self.row("qwen3-0.6b lora grpo step", f"{spread(st, '{:.1f}')} s/step",
                     "-", "", "-", "peak RSS <= 6 GiB",
                     "PASS" if p.maxrss <= GOAL_QWEN_RSS else "FAIL",
                     f"generation {spread(gen, '{:.1f}')} tok/s, peak RSS {p.maxrss / G:.2f} GiB, "
                     f"process {p.wall:.0f} s (step 1 includes no warm-up) {prompt_len}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def print_table(self):
        print(f"\nreal-shape rows ({self.a.threads} threads, {self.a.reps} interleaved "
              f"repetitions; median (min-max); load average now {load()})")
        hdr = ("row", "rlc", "peer", "unit", "ratio", "goal", "result")
        w = [max(len(str(r[i])) for r in self.rows + [hdr]) for i in range(7)]
        print("  ".join(h.ljust(w[i]) for i, h in enumerate(hdr)))
        for r in self.rows:
            print("  ".join(str(r[i]).ljust(w[i]) for i in range(7)))
            for line in r[7].split("\n") if r[7] else []:
                print(" " * (w[0] + 2) + line)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--build", default="build")
    ap.add_argument("--rlc", default="build/rlc")
    ap.add_argument("--models", default=os.path.join(ROOT, "build/models"))
    ap.add_argument("--peers", default=os.path.join(ROOT, "build/peers/llama.cpp/build/bin"))
    ap.add_argument("--rows", default=",".join(ALL_ROWS),
                    help="comma-separated subset of " + ",".join(ALL_ROWS))
    ap.add_argument("--train-steps", type=int, default=2, help="timed steps per training process")
    ap.add_argument("--qwen", action="store_true",
                    help="also the Qwen3-0.6B LoRA GRPO step (minutes)")
    ap.add_argument("--qwen-steps", type=int, default=1)
    a = ap.parse_args(argv)
    a.models, a.peers = os.path.abspath(a.models), os.path.abspath(a.peers)
    want = set(x for x in a.rows.split(",") if x)
    bad = want - set(ALL_ROWS)
    if bad or a.reps < 1:
        ap.error(f"unknown rows {sorted(bad)}" if bad else "--reps must be >= 1")
    b = Bench(a)
    b.log(f"real-shape benchmark, {a.threads} threads, {a.reps} repetitions, models {a.models}, "
          f"peers {a.peers}")
    b.measure_stream()
    steps = [("decode", lambda: b.decode_rows(want),
              bool(want & {"decode1", "decode16", "prefill"})),
             ("greedy", b.greedy_rows, "greedy" in want),
             ("train", b.train_row, "train" in want),
             ("shared", b.shared_rows, "shared" in want),
             ("qwen", b.qwen_row, a.qwen)]
    for name, fn, on in steps:
        if not on:
            continue
        try:
            fn()
        except (RuntimeError, ValueError, OSError, KeyError) as e:
            b.skip(name, f"ERROR: {e}")
    b.measure_stream()
    b.results["stream_gb_s"] = b.stream
    b.print_table()
    out = os.path.join(ROOT, a.build, "bench_real.json")
    with open(out, "w") as f:
        json.dump({"rows": b.rows, "results": b.results, "threads": a.threads, "reps": a.reps},
                  f, indent=1)
    print(f"results: {out}")


if __name__ == "__main__":
    main()
