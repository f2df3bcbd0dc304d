#!/usr/bin/python3
"""Greedy tokens of a reference model (bench/make_models.py): rlc against the
PyTorch reference tests/ref/llama_ref.py.

Runs `rlc generate --prompt-ids P --temperature 0 --json` on the model folder,
then decodes the same prompt greedily with llama_ref (full recomputation each
step, lowest id on ties, computed in float64 from the stored weights by
default), and compares the ids and the log-probs of the chosen ids. Prints
both, the reference's top1 - top2 logit margin at each step, and exits 1 where
the ids differ or a log-prob differs by more than --lp-tol.

  /usr/bin/python3 bench/check_models.py --model build/models/smollm2-135m-f32 \
      [--rlc build/rlc] [--prompt-ids 1,2,3] [--tokens 8] [--compute float64|float32]
"""

import argparse
import json
import os
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import llama_ref  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--rlc", default="build/rlc")
    ap.add_argument("--prompt-ids", default="1,2,3")
    ap.add_argument("--tokens", type=int, default=8)
    ap.add_argument("--compute", default="float64", choices=("float64", "float32"))
    ap.add_argument("--lp-tol", type=float, default=1e-3,
                    help="largest |log-prob difference| allowed at a chosen id")
    a = ap.parse_args(argv)
    prompt = [int(x) for x in a.prompt_ids.split(",")]

    t0 = time.time()
    r = subprocess.run([a.rlc, "generate", "--model", a.model, "--prompt-ids", a.prompt_ids,
                        "--max-new-tokens", str(a.tokens), "--temperature", "0", "--json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"check_models: rlc generate failed ({r.returncode}): {r.stderr.strip()}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    got, got_lp = res["ids"], res["logprobs"]
    t_rlc = time.time() - t0

    t0 = time.time()
    with open(os.path.join(a.model, "config.json")) as f:
        cfg = llama_ref.Cfg(json.load(f))
    dt = getattr(torch, a.compute)
    P = {k: v.to(dt) for k, v in
         llama_ref.st_load(os.path.join(a.model, "model.safetensors")).items()}
    want, want_lp, margins = llama_ref.greedy(cfg, P, prompt, a.tokens)
    t_ref = time.time() - t0

    print(f"rlc      ({t_rlc:.1f} s): {got}")
    print(f"llama_ref ({a.compute}, {t_ref:.1f} s): {want}")
    print("margins  : " + " ".join(f"{m:.4g}" for m in margins))
    if got != want:
        i = next(i for i, (x, y) in enumerate(zip(got, want)) if x != y) \
            if any(x != y for x, y in zip(got, want)) else min(len(got), len(want))
        print(f"check_models: DIFFER from step {i} (reference margin there "
              f"{margins[i] if i < len(margins) else float('nan'):.4g})")
        sys.exit(1)
    dlp = max(abs(x - y) for x, y in zip(got_lp, want_lp))
    print(f"check_models: {len(want)} greedy tokens identical; log-probs of the chosen ids "
          f"differ by at most {dlp:.3g} (limit {a.lp_tol:g})")
    if dlp > a.lp_tol:
        sys.exit(1)


if __name__ == "__main__":
    main()
