#!/usr/bin/python3
"""PyTorch reference for rlc's Llama-family model, written from scratch.

The C test suite calls this script to make test cases (a model directory in
Hugging Face layout, an optional PEFT LoRA adapter, and the logits, loss,
gradients and a greedy decode that the C side must reproduce), then compares
the C results with them. Nothing here comes from `transformers`, `peft` or
`safetensors`: the safetensors format, the model (Hugging Face semantics of
LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM) and LoRA (PEFT
semantics) are implemented with torch + numpy only.

Precision: weights are drawn and stored as fp32 (and rounded copies as
bf16/f16), but every reference computation (logits, loss, gradients, greedy
decode) runs in float64 on those exact stored values and is stored as F32.
So the stored targets are the true values to fp32 rounding, and the C side
(fp32 arithmetic) should match them to about 1e-5 relative.

Run with Debian's torch:  /usr/bin/python3 tests/ref/llama_ref.py --help
  make-case --out DIR --arch llama|qwen2|qwen3 --seed S [options]
  verify DIR          reload DIR, recompute everything, check it round-trips
  selftest            finite differences, naive loop forward, RoPE checks
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

# --------------------------------------------------------------------------
# safetensors

_ST_DTYPES = {
    # name: (numpy dtype, torch dtype, element size)
    "F64": ("<f8", torch.float64, 8),
    "F32": ("<f4", torch.float32, 4),
    "F16": ("<f2", torch.float16, 2),
    "BF16": ("<i2", torch.bfloat16, 2),  # raw bits via int16
    "I64": ("<i8", torch.int64, 8),
    "I32": ("<i4", torch.int32, 4),
    "U8": ("u1", torch.uint8, 1),
}
_TORCH_TO_ST = {v[1]: k for k, v in _ST_DTYPES.items()}


def _tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(_ST_DTYPES[_TORCH_TO_ST[t.dtype]][0]).tobytes()


def st_save(path, tensors, metadata=None):
    """Writes {name: torch.Tensor} as safetensors. Like the official writer,
    tensors are ordered by element size (largest first) then name, with no gaps,
    so each is aligned to its element size; the header is space-padded so the
    data starts at a multiple of 8. Written to path.tmp, then renamed."""
    meta = {"format": "pt"}
    meta.update(metadata or {})
    names = sorted(tensors, key=lambda n: (-_ST_DTYPES[_TORCH_TO_ST[tensors[n].dtype]][2], n))
    header = {"__metadata__": meta}
    blobs = []
    off = 0
    for n in names:
        t = tensors[n]
        b = _tensor_bytes(t)
        header[n] = {"dtype": _TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                     "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def st_load(path, with_meta=False):
    """Reads a safetensors file into {name: torch.Tensor}, validating the layout
    (header length, dtypes, shape*size == bytes, offsets covering the buffer)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} past end of file")
    header = json.loads(raw[8:8 + n].decode())
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    spans = []
    for name, e in header.items():
        npd, td, size = _ST_DTYPES[e["dtype"]]
        shape = [int(s) for s in e["shape"]]
        b, end = e["data_offsets"]
        numel = int(np.prod(shape)) if shape else 1
        if end - b != numel * size or end > len(data) or b < 0:
            raise ValueError(f"{path}: tensor {name}: bad data_offsets {b},{end}")
        spans.append((b, end))
        arr = np.frombuffer(data, dtype=npd, count=numel, offset=b).copy().reshape(shape)
        t = torch.from_numpy(arr)
        if e["dtype"] == "BF16":
            t = t.view(torch.bfloat16)
        out[name] = t
    pos = 0
    for b, end in sorted(spans):
        if b != pos:
            raise ValueError(f"{path}: data not contiguous at byte {pos}")
        pos = end
    if pos != len(data):
        raise ValueError(f"{path}: {len(data) - pos} trailing bytes")
    return (out, meta) if with_meta else out


# --------------------------------------------------------------------------
# configuration

ARCHS = {
    "llama": ("LlamaForCausalLM", "llama"),
    "qwen2": ("Qwen2ForCausalLM", "qwen2"),
    "qwen3": ("Qwen3ForCausalLM", "qwen3"),
}
LORA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def make_config(arch, vocab=97, hidden=64, layers=2, heads=4, kv_heads=2, head_dim=None,
                inter=96, tied=False, rope_theta=10000.0, rope_llama3=False, rope_factor=8.0,
                rope_low=1.0, rope_high=4.0, rope_orig=8192, eps=None, attn_bias=False,
                mlp_bias=False, max_pos=2048):
    """An HF config.json dict for arch (llama, qwen2, qwen3)."""
    cls, mtype = ARCHS[arch]
    hd = head_dim if head_dim else hidden // heads
    if arch == "qwen2" and hd * heads != hidden:
        raise ValueError("qwen2 has no head_dim field: need head_dim == hidden/heads")
    if eps is None:
        eps = 1e-5 if arch == "llama" else 1e-6
    c = {
        "architectures": [cls],
        "model_type": mtype,
        "vocab_size": vocab,
        "hidden_size": hidden,
        "intermediate_size": inter,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "hidden_act": "silu",
        "max_position_embeddings": max_pos,
        "initializer_range": 0.02,
        "rms_norm_eps": eps,
        "rope_theta": float(rope_theta),
        "rope_scaling": None,
        "tie_word_embeddings": bool(tied),
        "attention_dropout": 0.0,
        "use_cache": True,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float32",
        "transformers_version": "4.51.0",
    }
    if rope_llama3:
        c["rope_scaling"] = {"rope_type": "llama3", "factor": float(rope_factor),
                             "low_freq_factor": float(rope_low),
                             "high_freq_factor": float(rope_high),
                             "original_max_position_embeddings": int(rope_orig)}
    if arch == "llama":
        c.update({"head_dim": hd, "attention_bias": bool(attn_bias), "mlp_bias": bool(mlp_bias),
                  "pretraining_tp": 1})
    elif arch == "qwen2":
        if attn_bias or mlp_bias:
            raise ValueError("qwen2: q/k/v bias is fixed, no other bias")
        c.update({"use_sliding_window": False, "sliding_window": None, "max_window_layers": layers})
    else:
        if mlp_bias:
            raise ValueError("qwen3 has no mlp_bias")
        c.update({"head_dim": hd, "attention_bias": bool(attn_bias), "use_sliding_window": False,
                  "sliding_window": None, "max_window_layers": layers, "eos_token_id": [2, 3]})
    return c


class Cfg:
    """The fields the model needs, read from an HF config dict the way HF does."""

    def __init__(self, c):
        arch = c["architectures"][0]
        self.arch = {v[0]: k for k, v in ARCHS.items()}[arch]
        self.V = c["vocab_size"]
        self.C = c["hidden_size"]
        self.F = c["intermediate_size"]
        self.L = c["num_hidden_layers"]
        self.Hq = c["num_attention_heads"]
        self.Hkv = c.get("num_key_value_heads") or self.Hq
        self.D = c.get("head_dim") or self.C // self.Hq
        self.eps = c["rms_norm_eps"]
        self.theta = c.get("rope_theta", 10000.0)
        self.rope_scaling = c.get("rope_scaling")
        self.tied = c.get("tie_word_embeddings", False)
        ab = c.get("attention_bias", False)
        self.qkv_bias = True if self.arch == "qwen2" else ab
        self.o_bias = False if self.arch == "qwen2" else ab
        self.mlp_bias = c.get("mlp_bias", False) if self.arch == "llama" else False
        self.qk_norm = self.arch == "qwen3"


def param_shapes(cfg):
    """[(hf name, shape)] in canonical order."""
    c = cfg
    out = [("model.embed_tokens.weight", (c.V, c.C))]
    for i in range(c.L):
        p = f"model.layers.{i}."
        out.append((p + "input_layernorm.weight", (c.C,)))
        for m, o, n, b in (("q_proj", c.Hq * c.D, c.C, c.qkv_bias),
                           ("k_proj", c.Hkv * c.D, c.C, c.qkv_bias),
                           ("v_proj", c.Hkv * c.D, c.C, c.qkv_bias),
                           ("o_proj", c.C, c.Hq * c.D, c.o_bias)):
            out.append((p + f"self_attn.{m}.weight", (o, n)))
            if b:
                out.append((p + f"self_attn.{m}.bias", (o,)))
        if c.qk_norm:
            out.append((p + "self_attn.q_norm.weight", (c.D,)))
            out.append((p + "self_attn.k_norm.weight", (c.D,)))
        out.append((p + "post_attention_layernorm.weight", (c.C,)))
        for m, o, n in (("gate_proj", c.F, c.C), ("up_proj", c.F, c.C), ("down_proj", c.C, c.F)):
            out.append((p + f"mlp.{m}.weight", (o, n)))
            if c.mlp_bias:
                out.append((p + f"mlp.{m}.bias", (o,)))
    out.append(("model.norm.weight", (c.C,)))
    if not c.tied:
        out.append(("lm_head.weight", (c.V, c.C)))
    return out


def init_params(cfg, gen):
    """fp32 weights: linears/embeddings N(0, 0.02), norms 1 + 0.1 N(0,1), biases 0.02 N(0,1)."""
    P = {}
    for name, shape in param_shapes(cfg):
        r = torch.randn(shape, generator=gen, dtype=torch.float32)
        if "norm" in name:
            P[name] = 1.0 + 0.1 * r
        else:
            P[name] = 0.02 * r
    return P


# --------------------------------------------------------------------------
# model (functional; dtype follows the parameters)

def rope_inv_freq(cfg, dtype=torch.float64):
    """HF default inv_freq, with the llama3 rope_scaling transform when configured."""
    D = cfg.D
    inv = 1.0 / (cfg.theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    rs = cfg.rope_scaling
    if rs:
        rt = rs.get("rope_type", rs.get("type"))
        if rt == "llama3":
            factor = rs["factor"]
            lo, hi = rs["low_freq_factor"], rs["high_freq_factor"]
            old = rs["original_max_position_embeddings"]
            low_wl, high_wl = old / lo, old / hi
            wl = 2 * math.pi / inv
            inv_l = torch.where(wl > low_wl, inv / factor, inv)
            smooth = (old / wl - lo) / (hi - lo)
            smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
            medium = ~(wl < high_wl) & ~(wl > low_wl)
            inv = torch.where(medium, smoothed, inv_l)
        elif rt not in (None, "default"):
            raise ValueError(f"rope_type {rt} not supported")
    return inv.to(dtype)


def rope_cos_sin(cfg, T, dtype):
    inv = rope_inv_freq(cfg, torch.float64)
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)  # [T, D]


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


# rlc on a CPU with AVX512_BF16 multiplies a BF16 weight with its input
# rounded to BF16 (nearest even, from the fp32 value rlc holds), summing the
# exact products in fp32: with ACT_ROUND set, every product with a base
# weight (not LoRA's A and B) sees its input rounded that way. The rounding
# is straight-through for gradients (rlc's backward multiplies the unrounded
# gradient with the weight).
ACT_ROUND = False


def act_round(x):
    if not ACT_ROUND:
        return x
    return x + (x.detach().float().bfloat16().to(x.dtype) - x.detach())


def linear(P, name, x, lora=None):
    """y = x W^T + b, plus scaling * B(A(x)) if name (module path) has a LoRA."""
    y = act_round(x) @ P[name + ".weight"].t()
    b = P.get(name + ".bias")
    if b is not None:
        y = y + b
    if lora is not None and name in lora["modules"]:
        A = lora["params"][lora_name(name, "A")]
        B = lora["params"][lora_name(name, "B")]
        y = y + lora["scaling"] * ((x @ A.t()) @ B.t())
    return y


def forward(cfg, P, ids, lora=None):
    """Logits [B, T, V] for ids [B, T] (LongTensor); causal, no padding mask
    (the causal mask already keeps right padding from reaching real tokens)."""
    c = cfg
    B, T = ids.shape
    x = P["model.embed_tokens.weight"][ids]
    dt = x.dtype
    cos, sin = rope_cos_sin(c, T, dt)
    mask = torch.full((T, T), float("-inf"), dtype=dt).triu(1)
    rep = c.Hq // c.Hkv
    for i in range(c.L):
        p = f"model.layers.{i}."
        h = rms_norm(x, P[p + "input_layernorm.weight"], c.eps)
        q = linear(P, p + "self_attn.q_proj", h, lora).view(B, T, c.Hq, c.D)
        k = linear(P, p + "self_attn.k_proj", h, lora).view(B, T, c.Hkv, c.D)
        v = linear(P, p + "self_attn.v_proj", h, lora).view(B, T, c.Hkv, c.D)
        if c.qk_norm:
            q = rms_norm(q, P[p + "self_attn.q_norm.weight"], c.eps)
            k = rms_norm(k, P[p + "self_attn.k_norm.weight"], c.eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, H, T, D]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(rep, dim=1)  # HF repeat_kv: q head j uses kv head j // rep
        v = v.repeat_interleave(rep, dim=1)
        s = (q @ k.transpose(-1, -2)) * (c.D ** -0.5) + mask
        a = torch.softmax(s, dim=-1) @ v  # [B, Hq, T, D]
        a = a.transpose(1, 2).reshape(B, T, c.Hq * c.D)
        x = x + linear(P, p + "self_attn.o_proj", a, lora)
        h = rms_norm(x, P[p + "post_attention_layernorm.weight"], c.eps)
        g = linear(P, p + "mlp.gate_proj", h, lora)
        u = linear(P, p + "mlp.up_proj", h, lora)
        x = x + linear(P, p + "mlp.down_proj", F.silu(g) * u, lora)
    x = rms_norm(x, P["model.norm.weight"], c.eps)
    W = P["model.embed_tokens.weight"] if c.tied else P["lm_head.weight"]
    return act_round(x) @ W.t()


def loss_fn(logits, targets):
    """Mean cross-entropy over positions whose target is not -1."""
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1).long(), ignore_index=-1,
                           reduction="mean")


# --------------------------------------------------------------------------
# LoRA (PEFT names and semantics)

def module_path(i, m):
    grp = "mlp" if m in ("gate_proj", "up_proj", "down_proj") else "self_attn"
    return f"model.layers.{i}.{grp}.{m}"


def lora_name(path, which):
    return f"base_model.model.{path}.lora_{which}.weight"


def lora_scaling(r, alpha, rslora):
    return alpha / math.sqrt(r) if rslora else alpha / r


def init_lora(cfg, P, r, targets, gen):
    """A [r, in] ~ N(0, 1/in), B [out, r] ~ N(0, 0.02^2): nonzero B so that LoRA
    changes the logits and A gets a gradient (PEFT itself starts B at zero)."""
    L = {}
    for i in range(cfg.L):
        for m in LORA_MODULES:
            if m not in targets:
                continue
            path = module_path(i, m)
            out_f, in_f = P[path + ".weight"].shape
            L[lora_name(path, "A")] = torch.randn((r, in_f), generator=gen) / math.sqrt(in_f)
            L[lora_name(path, "B")] = 0.02 * torch.randn((out_f, r), generator=gen)
    return L


def lora_from(adapter_cfg, params, cfg, dtype):
    r = adapter_cfg["r"]
    mods = [module_path(i, m) for i in range(cfg.L) for m in LORA_MODULES
            if m in adapter_cfg["target_modules"]]
    return {"modules": set(mods),
            "params": {k: v.to(dtype) for k, v in params.items()},
            "scaling": lora_scaling(r, adapter_cfg["lora_alpha"], adapter_cfg.get("use_rslora", False))}


def adapter_config(r, alpha, targets, rslora, base):
    alpha = int(alpha) if float(alpha).is_integer() else float(alpha)
    return {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha,
            "target_modules": list(targets), "use_rslora": bool(rslora), "lora_dropout": 0.0,
            "bias": "none", "base_model_name_or_path": base, "fan_in_fan_out": False,
            "inference_mode": True, "init_lora_weights": True, "modules_to_save": None,
            "layers_to_transform": None, "use_dora": False, "revision": None}


# --------------------------------------------------------------------------
# greedy decode

def argmax_lowest(v):
    m = v.max()
    return int(torch.nonzero(v == m)[0, 0])


@torch.no_grad()
def greedy(cfg, P, prompt, G, lora=None):
    """G tokens by argmax (lowest id on ties), recomputing the whole sequence each
    step. Returns (ids, logprob of each chosen id, top1 - top2 logit margin)."""
    seq = list(prompt)
    ids, lps, margins = [], [], []
    for _ in range(G):
        lg = forward(cfg, P, torch.tensor([seq]), lora)[0, -1]
        t = argmax_lowest(lg)
        ids.append(t)
        lps.append(float(torch.log_softmax(lg, -1)[t]))
        top = torch.topk(lg, 2).values
        margins.append(float(top[0] - top[1]))
        seq.append(t)
    return ids, lps, margins


# --------------------------------------------------------------------------
# make-case

def make_batch(cfg, B, T, gen):
    ids = torch.randint(0, cfg.V, (B, T), generator=gen)
    tg = torch.full((B, T), -1, dtype=torch.int64)
    tg[:, :-1] = ids[:, 1:]
    drop = torch.rand((B, T), generator=gen) < 0.3
    tg[drop] = -1
    # the last sequence is right-padded: pad ids 0, targets -1 from `keep` on
    keep = max(1, T // 2)
    ids[B - 1, keep:] = 0
    tg[B - 1, keep - 1:] = -1
    if (tg >= 0).sum() == 0:
        tg[0, 0] = ids[0, 1] if T > 1 else 0
    return ids, tg


def compute_case(config, P32, ids, targets, prompt, G, adapter_cfg=None, L32=None,
                 Pbf16=None, Pf16=None, bf16_weights=False):
    """Every stored reference result, computed in float64. With bf16_weights
    (P32 exact in BF16), each result again with ACT_ROUND, named "dp." + its
    name; "logits_bf16_dp" always."""
    global ACT_ROUND
    out = compute_one(config, P32, ids, targets, prompt, G, adapter_cfg, L32, Pbf16, Pf16)
    ACT_ROUND = True
    try:
        if Pbf16 is not None:
            with torch.no_grad():
                lora = lora_from(adapter_cfg, L32, Cfg(config), torch.float64) if L32 is not None else None
                out["logits_bf16_dp"] = forward(Cfg(config), {k: v.to(torch.float64)
                                                              for k, v in Pbf16.items()},
                                                ids, lora).float()
        if bf16_weights:
            dp = compute_one(config, P32, ids, targets, prompt, G, adapter_cfg, L32)
            for n, v in dp.items():
                if n not in ("input_ids", "targets"):
                    out["dp." + n] = v
    finally:
        ACT_ROUND = False
    return out


def compute_one(config, P32, ids, targets, prompt, G, adapter_cfg=None, L32=None,
                Pbf16=None, Pf16=None):
    cfg = Cfg(config)
    dt = torch.float64
    out = {}
    P = {k: v.to(dt).requires_grad_(L32 is None) for k, v in P32.items()}
    lora = None
    if L32 is not None:
        lora = lora_from(adapter_cfg, L32, cfg, dt)
        for v in lora["params"].values():
            v.requires_grad_(True)
    logits = forward(cfg, P, ids, lora)
    loss = loss_fn(logits, targets)
    trained = lora["params"] if lora else P
    names = list(trained)
    grads = torch.autograd.grad(loss, [trained[n] for n in names])
    out["logits"] = logits.detach().float()
    out["loss"] = loss.detach().float().reshape(1)
    for n, g in zip(names, grads):
        out["grad." + n] = g.float()
    with torch.no_grad():
        if lora:
            out["logits_nolora"] = forward(cfg, P, ids, None).float()
        for tag, Pq in (("bf16", Pbf16), ("f16", Pf16)):
            if Pq is not None:
                out["logits_" + tag] = forward(cfg, {k: v.to(dt) for k, v in Pq.items()},
                                               ids, lora).float()
        if G > 0:
            gi, gl, gm = greedy(cfg, P, prompt, G, lora)
            out["greedy_prompt"] = torch.tensor(prompt, dtype=torch.int32)
            out["greedy_ids"] = torch.tensor(gi, dtype=torch.int32)
            out["greedy_logprobs"] = torch.tensor(gl, dtype=torch.float32)
            out["greedy_margin"] = torch.tensor(gm, dtype=torch.float32)
            eos = config.get("eos_token_id")
            eos = eos if isinstance(eos, list) else ([] if eos is None else [eos])
            first = next((j for j, t in enumerate(gi) if t in eos), -1)
            out["greedy_first_eos"] = torch.tensor([first], dtype=torch.int32)
    out["input_ids"] = ids.to(torch.int32)
    out["targets"] = targets.to(torch.int32)
    return out


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def cmd_make_case(a):
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(a.seed)
    config = make_config(a.arch, a.vocab, a.hidden, a.layers, a.heads, a.kv_heads, a.head_dim,
                         a.inter, a.tied, a.rope_theta, a.rope_llama3, a.rope_factor,
                         a.rope_low_freq, a.rope_high_freq, a.rope_orig_max, a.eps,
                         a.attn_bias, a.mlp_bias)
    cfg = Cfg(config)
    if cfg.Hq % cfg.Hkv:
        raise SystemExit("heads must be a multiple of kv-heads")
    P32 = init_params(cfg, gen)
    if a.bf16_weights:
        # weights exactly representable in BF16: every result below is the
        # true value for the BF16 file, which rlc then holds BF16
        P32 = {k: v.to(torch.bfloat16).to(torch.float32) for k, v in P32.items()}
    out = a.out
    md = {}
    for sub, dt in (("model", torch.float32), ("model_bf16", torch.bfloat16),
                    ("model_f16", torch.float16)):
        d = os.path.join(out, sub)
        os.makedirs(d, exist_ok=True)
        q = {k: v.to(dt) for k, v in P32.items()}
        c = dict(config)
        c["torch_dtype"] = {"model": "float32", "model_bf16": "bfloat16",
                            "model_f16": "float16"}[sub]
        write_json(os.path.join(d, "config.json"), c)
        st_save(os.path.join(d, "model.safetensors"), q)
        md[sub] = q
    L32 = acfg = None
    if a.lora_rank > 0:
        targets = [t for t in a.lora_targets.split(",") if t]
        bad = [t for t in targets if t not in LORA_MODULES]
        if bad:
            raise SystemExit(f"unknown lora target {bad[0]}")
        L32 = init_lora(cfg, P32, a.lora_rank, targets, gen)
        acfg = adapter_config(a.lora_rank, a.lora_alpha, targets, a.rslora,
                              os.path.abspath(os.path.join(out, "model")))
        d = os.path.join(out, "adapter")
        os.makedirs(d, exist_ok=True)
        write_json(os.path.join(d, "adapter_config.json"), acfg)
        st_save(os.path.join(d, "adapter_model.safetensors"), L32)
    ids, targets = make_batch(cfg, a.batch, a.seq, gen)
    prompt = torch.randint(0, cfg.V, (a.prompt_len,), generator=gen).tolist()
    case = compute_case(config, P32, ids, targets, prompt, a.greedy_tokens, acfg, L32,
                        md["model_bf16"], md["model_f16"], bool(a.bf16_weights))
    st_save(os.path.join(out, "case.safetensors"), case,
            {"arch": a.arch, "seed": str(a.seed), "compute": "float64",
             "bf16_weights": str(int(bool(a.bf16_weights)))})
    if a.print_summary:
        print(json.dumps({"out": out, "loss": float(case["loss"][0]),
                          "tensors": sorted(case)}, indent=1))


# --------------------------------------------------------------------------
# verify

def load_dir(d):
    with open(os.path.join(d, "model", "config.json")) as f:
        config = json.load(f)
    P32 = st_load(os.path.join(d, "model", "model.safetensors"))
    acfg = L32 = None
    ad = os.path.join(d, "adapter")
    if os.path.isdir(ad):
        with open(os.path.join(ad, "adapter_config.json")) as f:
            acfg = json.load(f)
        L32 = st_load(os.path.join(ad, "adapter_model.safetensors"))
    return config, P32, acfg, L32


def cmd_verify(a):
    torch.set_num_threads(1)
    d = a.dir
    config, P32, acfg, L32 = load_dir(d)
    cfg = Cfg(config)
    case, meta = st_load(os.path.join(d, "case.safetensors"), with_meta=True)
    problems = []
    want = dict(param_shapes(cfg))
    if set(want) != set(P32):
        problems.append(f"parameter names differ: {sorted(set(want) ^ set(P32))}")
    for n, s in want.items():
        if n in P32 and (tuple(P32[n].shape) != s or P32[n].dtype != torch.float32):
            problems.append(f"{n}: shape {tuple(P32[n].shape)} dtype {P32[n].dtype}")
    Pq = {}
    for sub, dt in (("model_bf16", torch.bfloat16), ("model_f16", torch.float16)):
        q = st_load(os.path.join(d, sub, "model.safetensors"))
        with open(os.path.join(d, sub, "config.json")) as f:
            c2 = json.load(f)
        c2.pop("torch_dtype")
        c1 = dict(config)
        c1.pop("torch_dtype")
        if c1 != c2:
            problems.append(f"{sub}/config.json differs from model/config.json")
        for n, v in P32.items():
            if q[n].dtype != dt or not torch.equal(q[n], v.to(dt)):
                problems.append(f"{sub}: {n} is not the rounded fp32 weight")
        Pq[sub] = q
    # a save/load round trip of what was read reproduces the same bytes
    tmp = os.path.join(d, ".verify.safetensors")
    st_save(tmp, P32)
    with open(tmp, "rb") as f1, open(os.path.join(d, "model", "model.safetensors"), "rb") as f2:
        if f1.read() != f2.read():
            problems.append("model.safetensors does not round-trip byte for byte")
    os.remove(tmp)
    G = case["greedy_ids"].numel() if "greedy_ids" in case else 0
    prompt = case["greedy_prompt"].tolist() if G else []
    again = compute_case(config, P32, case["input_ids"].long(), case["targets"].long(), prompt,
                         G, acfg, L32, Pq["model_bf16"], Pq["model_f16"],
                         meta.get("bf16_weights") == "1")
    if set(again) != set(case):
        problems.append(f"case tensors differ: {sorted(set(again) ^ set(case))}")
    for n in sorted(set(again) & set(case)):
        if again[n].dtype != case[n].dtype or not torch.equal(again[n], case[n]):
            diff = (again[n].double() - case[n].double()).abs().max()
            problems.append(f"{n}: recomputed differs (max abs {float(diff):.3g})")
    if L32 is not None:
        gnames = {n[5:] for n in case if n.startswith("grad.")}
        if gnames != set(L32):
            problems.append("LoRA grads do not name exactly the adapter tensors")
    else:
        gnames = {n[5:] for n in case if n.startswith("grad.")}
        if gnames != set(P32):
            problems.append("full fine-tuning grads do not name exactly the model tensors")
    tg = case["targets"]
    if not (tg[-1, -1] == -1):
        problems.append("last sequence has no padded tail")
    for p in problems:
        print("verify:", p)
    if problems:
        sys.exit(1)
    print(f"verify {d}: ok ({len(case)} case tensors, loss {float(case['loss'][0]):.6f})")


# --------------------------------------------------------------------------
# selftest: checks of this reference that do not rely on itself

def naive_forward(cfg, P, ids, lora=None):
    """Second implementation, written independently in numpy with loops over
    tokens and heads: per-token RMSNorm, per-pair rotation with angles from a
    scalar (Meta-style) llama3 frequency formula, explicit GQA head map, online
    causal softmax, and LoRA merged into the weights (W + s B A)."""
    c = cfg
    W = {k: v.detach().double().numpy() for k, v in P.items()}
    if lora:
        for path in lora["modules"]:
            A = lora["params"][lora_name(path, "A")].detach().double().numpy()
            Bm = lora["params"][lora_name(path, "B")].detach().double().numpy()
            W[path + ".weight"] = W[path + ".weight"] + lora["scaling"] * (Bm @ A)
    half = c.D // 2
    freqs = []
    for j in range(half):
        f = c.theta ** (-(2.0 * j) / c.D)
        rs = c.rope_scaling
        if rs:
            old = rs["original_max_position_embeddings"]
            wl = 2 * math.pi / f
            if wl < old / rs["high_freq_factor"]:
                pass
            elif wl > old / rs["low_freq_factor"]:
                f = f / rs["factor"]
            else:
                sm = (old / wl - rs["low_freq_factor"]) / (rs["high_freq_factor"] - rs["low_freq_factor"])
                f = (1 - sm) * f / rs["factor"] + sm * f
        freqs.append(f)

    def rms(v, w):
        return v / math.sqrt(float(np.dot(v, v)) / len(v) + c.eps) * w

    def lin(name, v):
        y = W[name + ".weight"] @ v
        if name + ".bias" in W:
            y = y + W[name + ".bias"]
        return y

    def rot(v, pos):
        o = v.copy()
        for j in range(half):
            a, b = v[j], v[j + half]
            cs, sn = math.cos(pos * freqs[j]), math.sin(pos * freqs[j])
            o[j], o[j + half] = a * cs - b * sn, b * cs + a * sn
        return o

    out = []
    for seq in ids.tolist():
        T = len(seq)
        xs = [W["model.embed_tokens.weight"][t].copy() for t in seq]
        for i in range(c.L):
            p = f"model.layers.{i}."
            Q, K, Vv = [], [], []
            for t in range(T):
                h = rms(xs[t], W[p + "input_layernorm.weight"])
                q = lin(p + "self_attn.q_proj", h).reshape(c.Hq, c.D)
                k = lin(p + "self_attn.k_proj", h).reshape(c.Hkv, c.D)
                v = lin(p + "self_attn.v_proj", h).reshape(c.Hkv, c.D)
                if c.qk_norm:
                    q = np.stack([rms(q[j], W[p + "self_attn.q_norm.weight"]) for j in range(c.Hq)])
                    k = np.stack([rms(k[j], W[p + "self_attn.k_norm.weight"]) for j in range(c.Hkv)])
                Q.append([rot(q[j], t) for j in range(c.Hq)])
                K.append([rot(k[j], t) for j in range(c.Hkv)])
                Vv.append(v)
            new = []
            for t in range(T):
                heads = []
                for j in range(c.Hq):
                    kv = j // (c.Hq // c.Hkv)
                    m, den, acc = -math.inf, 0.0, np.zeros(c.D)
                    for s in range(t + 1):
                        sc = float(np.dot(Q[t][j], K[s][kv])) / math.sqrt(c.D)
                        mn = max(m, sc)
                        den = den * math.exp(m - mn) + math.exp(sc - mn)
                        acc = acc * math.exp(m - mn) + math.exp(sc - mn) * Vv[s][kv]
                        m = mn
                    heads.append(acc / den)
                x = xs[t] + lin(p + "self_attn.o_proj", np.concatenate(heads))
                h = rms(x, W[p + "post_attention_layernorm.weight"])
                g = lin(p + "mlp.gate_proj", h)
                u = lin(p + "mlp.up_proj", h)
                x = x + lin(p + "mlp.down_proj", g / (1 + np.exp(-g)) * u)
                new.append(x)
            xs = new
        Wo = W["model.embed_tokens.weight"] if c.tied else W["lm_head.weight"]
        out.append([Wo @ rms(x, W["model.norm.weight"]) for x in xs])
    return np.array(out)


def _tiny(arch, seed, **kw):
    base = dict(vocab=13, hidden=16, layers=2, heads=4, kv_heads=2, inter=24)
    base.update(kw)
    config = make_config(arch, **base)
    cfg = Cfg(config)
    gen = torch.Generator().manual_seed(seed)
    P = init_params(cfg, gen)
    # bigger weights than the init so that every path has a visible effect
    P = {k: (v if "norm" in k else v * 10) for k, v in P.items()}
    return config, cfg, P, gen


def selftest(_a):
    torch.set_num_threads(1)
    results = []

    def report(name, ok, detail):
        results.append(ok)
        print(f"[{'ok' if ok else 'FAIL'}] {name}: {detail}")

    variants = [
        ("llama", dict()),
        # D=8: wavelengths 6.3, 63, 628, 6283 against 64/8 and 64/1: high, mid, low, low
        ("llama", dict(heads=2, kv_heads=1, tied=True, rope_llama3=True, rope_orig=64,
                       rope_low=1.0, rope_high=8.0, attn_bias=True, mlp_bias=True)),
        ("qwen2", dict(heads=4, kv_heads=1)),
        ("qwen3", dict(head_dim=6, kv_heads=4)),
        ("qwen3", dict(head_dim=24, hidden=64, heads=4, kv_heads=2, attn_bias=True, tied=True)),
    ]
    lora_variants = [("llama", list(LORA_MODULES), False), ("qwen3", ["q_proj", "v_proj",
                                                                      "down_proj"], True)]

    # 1. torch forward == independent numpy loop forward
    for n, (arch, kw) in enumerate(variants):
        config, cfg, P, gen = _tiny(arch, 100 + n, **kw)
        ids = torch.randint(0, cfg.V, (2, 7), generator=gen)
        a = forward(cfg, {k: v.double() for k, v in P.items()}, ids).numpy()
        b = naive_forward(cfg, P, ids)
        err = float(np.abs(a - b).max() / np.abs(b).max())
        report(f"forward vs naive loops [{arch} {kw}]", err < 1e-12, f"rel err {err:.2e}")
    for n, (arch, tg, rs) in enumerate(lora_variants):
        config, cfg, P, gen = _tiny(arch, 200 + n)
        Lw = init_lora(cfg, P, 3, tg, gen)
        lora = lora_from(adapter_config(3, 5.0, tg, rs, ""), Lw, cfg, torch.float64)
        ids = torch.randint(0, cfg.V, (2, 6), generator=gen)
        a = forward(cfg, {k: v.double() for k, v in P.items()}, ids, lora).numpy()
        by_hand = {"modules": [f"model.layers.{i}.{'mlp' if m in ('gate_proj', 'up_proj', 'down_proj') else 'self_attn'}.{m}"
                               for i in range(cfg.L) for m in tg],
                   "params": Lw, "scaling": 5.0 / math.sqrt(3) if rs else 5.0 / 3}
        b = naive_forward(cfg, P, ids, by_hand)
        a0 = forward(cfg, {k: v.double() for k, v in P.items()}, ids).numpy()
        err = float(np.abs(a - b).max() / np.abs(b).max())
        eff = float(np.abs(a - a0).max() / np.abs(a0).max())
        report(f"LoRA forward vs merged-weight naive [{arch} {tg} rslora={rs}]",
               err < 1e-12 and eff > 1e-3, f"rel err {err:.2e}, LoRA changes logits by {eff:.2e}")

    # 2. autograd vs central finite differences (float64), full FT and LoRA
    def fd_check(name, cfg, params, f, gen, per_tensor=4, h=1e-6):
        loss = f()
        grads = torch.autograd.grad(loss, list(params.values()))
        worst = 0.0
        for (pn, p), g in zip(params.items(), grads):
            idx = torch.randint(0, p.numel(), (per_tensor,), generator=gen).tolist()
            for j in idx:
                with torch.no_grad():
                    flat = p.view(-1)
                    old = float(flat[j])
                    flat[j] = old + h
                    lp = float(f())
                    flat[j] = old - h
                    lm = float(f())
                    flat[j] = old
                fd = (lp - lm) / (2 * h)
                an = float(g.view(-1)[j])
                worst = max(worst, abs(fd - an) / max(1e-4, abs(an), abs(fd)))
            if float(g.abs().max()) == 0.0:
                worst = max(worst, 1.0)
        report(name, worst < 1e-5, f"worst rel err {worst:.2e} over {len(params)} tensors")

    for n, (arch, kw) in enumerate(variants):
        config, cfg, P, gen = _tiny(arch, 300 + n, **kw)
        ids, tg = make_batch(cfg, 3, 6, gen)
        Pd = {k: v.double().requires_grad_(True) for k, v in P.items()}
        fd_check(f"grad vs finite diff, full FT [{arch} {kw}]", cfg, Pd,
                 lambda: loss_fn(forward(cfg, Pd, ids), tg), gen)
    for n, (arch, tg_mods, rs) in enumerate(lora_variants):
        config, cfg, P, gen = _tiny(arch, 400 + n)
        Lw = init_lora(cfg, P, 3, tg_mods, gen)
        lora = lora_from(adapter_config(3, 5.0, tg_mods, rs, ""), Lw, cfg, torch.float64)
        for v in lora["params"].values():
            v.requires_grad_(True)
        Pd = {k: v.double() for k, v in P.items()}
        ids, tg = make_batch(cfg, 2, 6, gen)
        fd_check(f"grad vs finite diff, LoRA [{arch} {tg_mods}]", cfg, lora["params"],
                 lambda: loss_fn(forward(cfg, Pd, ids, lora), tg), gen)

    # 3. tied embeddings: grad == embedding-lookup grad + lm-head grad of an untied copy
    config, cfg, P, gen = _tiny("llama", 500, tied=True)
    ids, tg = make_batch(cfg, 2, 6, gen)
    Pd = {k: v.double().requires_grad_(True) for k, v in P.items()}
    (gt,) = torch.autograd.grad(loss_fn(forward(cfg, Pd, ids), tg), [Pd["model.embed_tokens.weight"]])
    cu = Cfg(make_config("llama", vocab=13, hidden=16, layers=2, heads=4, kv_heads=2, inter=24))
    Pu = {k: v.double().requires_grad_(True) for k, v in P.items()}
    Pu["lm_head.weight"] = P["model.embed_tokens.weight"].double().requires_grad_(True)
    ge, gh = torch.autograd.grad(loss_fn(forward(cu, Pu, ids), tg),
                                 [Pu["model.embed_tokens.weight"], Pu["lm_head.weight"]])
    err = float((gt - ge - gh).abs().max() / gt.abs().max())
    report("tied grad == embedding grad + lm_head grad", err < 1e-12 and float(gh.abs().max()) > 0,
           f"rel err {err:.2e}")

    # 4. llama3 RoPE frequencies: Meta's scalar formula, all three bands present
    c = Cfg(make_config("llama", rope_llama3=True))  # D=16, theta 1e4, factor 8, 1/4, 8192
    inv = rope_inv_freq(c).tolist()
    ref, bands = [], []
    for j in range(8):
        f = 10000.0 ** (-(2 * j) / 16)
        wl = 2 * math.pi / f
        if wl < 8192 / 4:
            ref.append(f), bands.append("high")
        elif wl > 8192 / 1:
            ref.append(f / 8), bands.append("low")
        else:
            s = (8192 / wl - 1) / (4 - 1)
            ref.append((1 - s) * f / 8 + s * f), bands.append("mid")
    err = max(abs(x - y) / y for x, y in zip(inv, ref))
    report("llama3 inv_freq vs Meta apply_scaling", err < 1e-15 and set(bands) == {"high", "mid", "low"},
           f"rel err {err:.1e}, bands {bands}")
    # spot values, worked by hand: j=6 is the smoothed band
    f6 = 10000.0 ** (-12 / 16)
    s6 = (8192 * f6 / (2 * math.pi) - 1) / 3
    hand = (1 - s6) * f6 / 8 + s6 * f6
    report("llama3 inv_freq[6] by hand", abs(inv[6] - hand) < 1e-18 and abs(inv[7] - 10000.0 ** (-14 / 16) / 8) < 1e-18,
           f"inv[6]={inv[6]:.12e}, inv[7]={inv[7]:.12e}")

    # 5. RoPE: scores depend only on relative position, norms preserved
    c = Cfg(make_config("llama"))
    cos, sin = rope_cos_sin(c, 40, torch.float64)
    gq = torch.Generator().manual_seed(7)
    q = torch.randn(16, generator=gq, dtype=torch.float64)
    k = torch.randn(16, generator=gq, dtype=torch.float64)
    r = lambda v, m: v * cos[m] + rotate_half(v) * sin[m]
    d1 = float(r(q, 9) @ r(k, 4))
    d2 = float(r(q, 35) @ r(k, 30))
    nrm = abs(float(r(q, 17).norm() - q.norm()))
    report("RoPE relative-position invariance", abs(d1 - d2) < 1e-12 and nrm < 1e-12,
           f"|<q9,k4>-<q35,k30>| = {abs(d1 - d2):.1e}, norm change {nrm:.1e}")

    # 6. safetensors round trip of every dtype, header layout
    import tempfile
    with tempfile.TemporaryDirectory() as td:
        g = torch.Generator().manual_seed(3)
        ts = {"a": torch.randn(3, 5, generator=g), "b": torch.randn(7, generator=g).bfloat16(),
              "c": torch.randn(2, 3, generator=g).half(), "d": torch.arange(5, dtype=torch.int32),
              "e": torch.arange(-3, 4, dtype=torch.int64), "f": torch.tensor(2.5).reshape(())}
        pth = os.path.join(td, "x.safetensors")
        st_save(pth, ts, {"k": "v"})
        back, meta = st_load(pth, with_meta=True)
        ok = all(back[n].dtype == t.dtype and torch.equal(back[n], t) for n, t in ts.items())
        raw = open(pth, "rb").read()
        hl = struct.unpack("<Q", raw[:8])[0]
        hdr = json.loads(raw[8:8 + hl])
        ok = ok and (8 + hl) % 8 == 0 and meta == {"format": "pt", "k": "v"}
        ok = ok and all(hdr[n]["data_offsets"][0] % _ST_DTYPES[hdr[n]["dtype"]][2] == 0 for n in ts)
        # bf16 bits as stored are the top 16 bits of the fp32 rounded to nearest even
        x = torch.tensor([1.0 + 2 ** -8, 1.0 + 3 * 2 ** -8, -2.0 ** -130], dtype=torch.float32)
        bits = x.bfloat16().view(torch.int16).numpy().astype(np.uint16).tolist()
        ok2 = bits == [0x3F80, 0x3F82, 0x8000 | (struct.unpack("<I", struct.pack("<f", 2.0 ** -130))[0] >> 16)]
        report("safetensors round trip (F32 BF16 F16 I32 I64, scalar), alignment, bf16 RNE",
               ok and ok2, f"header {hl} bytes, bf16 bits {[hex(b) for b in bits]}")

        # 7. make-case + verify end to end, and timing
        import time
        for arch, extra in (("llama", ["--tied", "1", "--rope-llama3", "1"]),
                            ("qwen3", ["--head-dim", "24", "--lora-rank", "4", "--rslora", "1",
                                       "--lora-targets", ",".join(LORA_MODULES)]),
                            ("qwen2", ["--lora-rank", "2"])):
            d = os.path.join(td, arch)
            t0 = time.time()
            main(["make-case", "--out", d, "--arch", arch, "--seed", "5"] + extra)
            dt = time.time() - t0
            try:
                main(["verify", d])
                okv = True
            except SystemExit as e:
                okv = e.code in (0, None)
            case = st_load(os.path.join(d, "case.safetensors"))
            # the stored loss is the CE of the stored logits (recomputed in fp32)
            l32 = float(loss_fn(case["logits"].double(), case["targets"].long()))
            okl = abs(l32 - float(case["loss"][0])) < 1e-5 * abs(l32)
            report(f"make-case {arch} {' '.join(extra)} + verify", okv and okl,
                   f"{dt:.2f}s without torch import, loss {float(case['loss'][0]):.5f}")

    n_ok = sum(results)
    print(f"selftest: {n_ok}/{len(results)} passed")
    if n_ok != len(results):
        sys.exit(1)


# --------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-case", help="write a model, adapter and reference results")
    m.add_argument("--out", required=True)
    m.add_argument("--arch", required=True, choices=sorted(ARCHS))
    m.add_argument("--seed", type=int, required=True)
    for flag, typ, dflt in (("--vocab", int, 97), ("--hidden", int, 64), ("--layers", int, 2),
                            ("--heads", int, 4), ("--kv-heads", int, 2), ("--head-dim", int, 0),
                            ("--inter", int, 96), ("--tied", int, 0), ("--rope-llama3", int, 0),
                            ("--rope-theta", float, 10000.0), ("--rope-factor", float, 8.0),
                            ("--rope-low-freq", float, 1.0), ("--rope-high-freq", float, 4.0),
                            ("--rope-orig-max", int, 8192), ("--eps", float, None),
                            ("--attn-bias", int, 0), ("--mlp-bias", int, 0),
                            ("--batch", int, 3), ("--seq", int, 11), ("--lora-rank", int, 0),
                            ("--lora-alpha", float, 16.0), ("--lora-targets", str, "q_proj,v_proj"),
                            ("--rslora", int, 0), ("--greedy-tokens", int, 64),
                            ("--prompt-len", int, 5), ("--print-summary", int, 0),
                            ("--bf16-weights", int, 0)):
        m.add_argument(flag, type=typ, default=dflt)
    v = sub.add_parser("verify", help="reload a case directory and check it")
    v.add_argument("dir")
    sub.add_parser("selftest", help="check this reference against independent computations")
    a = ap.parse_args(argv)
    if a.cmd == "make-case":
        cmd_make_case(a)
    elif a.cmd == "verify":
        cmd_verify(a)
    else:
        selftest(a)


if __name__ == "__main__":
    main()
