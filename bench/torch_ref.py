#!/usr/bin/python3
"""PyTorch baseline for bench/train.c: the same Llama-style model written the
ordinary way (nn.Linear / nn.Embedding, manual causal attention because torch
1.13 has no SDPA, torch.optim.AdamW, loss.backward()), timed the same way.

bench/train.c runs this script and prints the ratios; it can also be run on
its own. It prints one JSON object on stdout (logs go to stderr):

  train: {"tok_s", "step_s": [...], "loss0", "loss", "params", "peak_rss_delta"}
  gen:   {"tok_s", "run_s": [...], "new_tokens"}

Usage:
  /usr/bin/python3 bench/torch_ref.py train --layers 4 --hidden 256 --heads 4 \
      --kv-heads 4 --inter 688 --vocab 512 --seq 128 --batch 16 --warmup 2 --steps 5
  /usr/bin/python3 bench/torch_ref.py gen --layers 4 ... --batch 16 --prompt 16 --new 64
Threads: --threads (default 2); run with OMP_WAIT_POLICY=passive.
"""

import argparse
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def vm_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss():
    """Resets VmHWM to the current RSS (Linux >= 4.0); False if not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_tables(head_dim, max_pos, theta):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    ang = torch.outer(torch.arange(max_pos, dtype=torch.float32), inv)
    emb = torch.cat((ang, ang), dim=-1)
    return emb.cos(), emb.sin()  # [max_pos, D]


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.hq, self.hkv, self.d = c.heads, c.kv_heads, c.hidden // c.heads
        self.q_proj = nn.Linear(c.hidden, self.hq * self.d, bias=False)
        self.k_proj = nn.Linear(c.hidden, self.hkv * self.d, bias=False)
        self.v_proj = nn.Linear(c.hidden, self.hkv * self.d, bias=False)
        self.o_proj = nn.Linear(self.hq * self.d, c.hidden, bias=False)

    def forward(self, x, cos, sin, mask, cache=None, pos=0):
        """x [B,T,C]; cos/sin [T,D] for positions pos..pos+T-1; mask [T,S] additive
        or None. cache: (k [B,Hkv,maxT,D], v) filled in place at pos.."""
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.hq, self.d).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.hkv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.hkv, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            cache[0][:, :, pos:pos + T] = k
            cache[1][:, :, pos:pos + T] = v
            k, v = cache[0][:, :, :pos + T], cache[1][:, :, :pos + T]
        if self.hkv != self.hq:
            k = k.repeat_interleave(self.hq // self.hkv, dim=1)
            v = v.repeat_interleave(self.hq // self.hkv, dim=1)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.d))
        if mask is not None:
            att = att + mask
        y = F.softmax(att, dim=-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.hq * self.d))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden, c.inter, bias=False)
        self.up_proj = nn.Linear(c.hidden, c.inter, bias=False)
        self.down_proj = nn.Linear(c.inter, c.hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden, 1e-5)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden, 1e-5)
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, mask, cache=None, pos=0):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, cache, pos)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    """LlamaForCausalLM, no biases; embeddings untied unless --tied."""

    def __init__(self, c, max_pos):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab, c.hidden)
        self.layers = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.norm = RMSNorm(c.hidden, 1e-5)
        self.lm_head = nn.Linear(c.hidden, c.vocab, bias=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)
        if c.tied:  # LM head = the embedding (SmolLM2, Qwen3): one parameter, counted once
            self.lm_head.weight = self.embed_tokens.weight
        cos, sin = rope_tables(c.hidden // c.heads, max_pos, 10000.0)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, ids, caches=None, pos=0):
        T = ids.shape[1]
        x = self.embed_tokens(ids)
        cos, sin = self.cos[pos:pos + T], self.sin[pos:pos + T]
        mask = None
        if T > 1:  # causal over the new tokens; everything cached before is visible
            mask = torch.full((T, pos + T), float("-inf")).triu_(pos + 1)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, mask, caches[i] if caches else None, pos)
        return self.lm_head(self.norm(x))


def bench_train(c):
    torch.manual_seed(0)
    reset_peak_rss()
    base = vm_kib("VmRSS")
    model = Llama(c, c.seq)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.0, foreach=c.foreach)
    ids = torch.randint(0, c.vocab, (c.batch, c.seq + 1))
    x, y = ids[:, :-1].contiguous(), ids[:, 1:].contiguous()
    times, losses = [], []
    for step in range(c.warmup + c.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, c.vocab), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        losses.append(loss.item())
        if step >= c.warmup:
            times.append(dt)
        print(f"torch train step {step} {dt:.3f} s loss {losses[-1]:.4f}", file=sys.stderr)
    med = sorted(times)[len(times) // 2]
    return {
        "tok_s": c.batch * c.seq / med,
        "step_s": times,
        "loss0": losses[0],
        "loss": losses[-1],
        "params": sum(p.numel() for p in model.parameters()),
        "peak_rss_delta": (vm_kib("VmHWM") - base) * 1024,
    }


@torch.no_grad()
def generate(model, c, prompts):
    """Greedy decoding with a preallocated KV cache: one batched prefill, then one
    token per step for the whole batch; returns ids and their log-probabilities."""
    B, P = prompts.shape
    d = c.hidden // c.heads
    maxT = P + c.new
    caches = [(torch.empty(B, c.kv_heads, maxT, d), torch.empty(B, c.kv_heads, maxT, d))
              for _ in range(c.layers)]
    logits = model(prompts, caches, 0)[:, -1]
    out = torch.empty(B, c.new, dtype=torch.long)
    logp = torch.empty(B, c.new)
    for t in range(c.new):
        lp = F.log_softmax(logits, dim=-1)
        tok = lp.argmax(dim=-1)
        out[:, t] = tok
        logp[:, t] = lp.gather(1, tok[:, None])[:, 0]
        if t + 1 < c.new:
            logits = model(tok[:, None], caches, P + t)[:, -1]
    return out, logp


def bench_gen(c):
    torch.manual_seed(0)
    model = Llama(c, c.prompt + c.new).eval()
    prompts = torch.randint(0, c.vocab, (c.batch, c.prompt))
    times = []
    for r in range(c.warmup + c.steps):
        t0 = time.perf_counter()
        generate(model, c, prompts)
        dt = time.perf_counter() - t0
        if r >= c.warmup:
            times.append(dt)
        print(f"torch gen run {r} {dt:.3f} s", file=sys.stderr)
    med = sorted(times)[len(times) // 2]
    return {"tok_s": c.batch * c.new / med, "run_s": times, "new_tokens": c.batch * c.new}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["train", "gen"])
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--inter", type=int, default=688)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--foreach", type=int, default=1, help="AdamW foreach implementation")
    ap.add_argument("--tied", action="store_true", help="LM head shares the embedding matrix")
    c = ap.parse_args()
    c.foreach = bool(c.foreach)
    torch.set_num_threads(c.threads)
    r = bench_train(c) if c.what == "train" else bench_gen(c)
    r["threads"] = torch.get_num_threads()
    r["torch"] = torch.__version__
    print(json.dumps(r))


if __name__ == "__main__":
    main()
