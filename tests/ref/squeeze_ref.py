#!/usr/bin/python3
"""numpy reference for `rlc squeeze` (tests/test_squeeze.c): makes PEFT
adapters with a known spectrum, and computes what squeezing them must give
from the full dW = scale * B @ A with numpy's SVD (no QR trick, float64).
numpy only (Debian's, beside python3-torch at /usr/bin/python3), so a case
takes a fraction of a second.

  squeeze_ref.py make-adapter --out DIR --seed S --rank R [--true-rank T]
      [--layers 2 --hidden 64 --kv-dim 32 --inter 96 --targets q_proj,v_proj
       --alpha 16 --rslora 0|1]
  squeeze_ref.py reference ADAPTER_DIR OUT.json [--squeezed DIR]
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np

MODULES = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn",
           "o_proj": "self_attn", "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}
PREFIX = "base_model.model."


def st_save(path, tensors):
    """{name: float32 array} as safetensors (F32 only), header padded to 8."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        b = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def st_load(path):
    """safetensors F32/BF16/F16 tensors as float64 arrays."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data, out = raw[8 + n:], {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        buf = data[b:end]
        if e["dtype"] == "F32":
            a = np.frombuffer(buf, "<f4")
        elif e["dtype"] == "F16":
            a = np.frombuffer(buf, "<f2")
        elif e["dtype"] == "BF16":
            a = (np.frombuffer(buf, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"{path}: {name}: dtype {e['dtype']} not handled")
        out[name] = a.astype(np.float64).reshape(e["shape"])
    return out


def module_dims(mod, hidden, kv_dim, inter):
    """(in, out) of a module."""
    return {"q_proj": (hidden, hidden), "k_proj": (hidden, kv_dim), "v_proj": (hidden, kv_dim),
            "o_proj": (hidden, hidden), "gate_proj": (hidden, inter), "up_proj": (hidden, inter),
            "down_proj": (inter, hidden)}[mod]


def orthonormal(rng, m, n):
    """m x n with orthonormal columns (m >= n)."""
    q, _ = np.linalg.qr(rng.standard_normal((m, n)))
    return q


def cmd_make_adapter(a):
    rng = np.random.default_rng(a.seed)
    r, t = a.rank, a.true_rank
    targets = [x for x in a.targets.split(",") if x]
    tensors = {}
    for layer in range(a.layers):
        for mod in targets:
            fin, fout = module_dims(mod, a.hidden, a.kv_dim, a.inter)
            path = f"model.layers.{layer}.{MODULES[mod]}.{mod}"
            if t == 0:
                A = rng.standard_normal((r, fin)) / math.sqrt(fin)
                B = 0.1 * rng.standard_normal((fout, r))
            else:
                # B A = Qo diag(sigma) (W_t A): A's rows orthonormal, W an r x r
                # rotation, so B A has exactly the singular values sigma (t of them)
                A = orthonormal(rng, fin, r).T
                W = orthonormal(rng, r, r)
                sigma = np.linspace(1.0, 0.5, t) * rng.uniform(0.5, 2.0)
                B = orthonormal(rng, fout, t) @ np.diag(sigma) @ W[:, :t].T
            tensors[f"{PREFIX}{path}.lora_A.weight"] = A.astype(np.float32)
            tensors[f"{PREFIX}{path}.lora_B.weight"] = B.astype(np.float32)
    os.makedirs(a.out, exist_ok=True)
    st_save(os.path.join(a.out, "adapter_model.safetensors"), tensors)
    cfg = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": a.alpha,
           "target_modules": targets, "use_rslora": bool(a.rslora), "lora_dropout": 0.0,
           "bias": "none", "base_model_name_or_path": "/models/base-of-the-test",
           "rlc": {"format": 1, "base_config_sha256": "ab" * 32}}
    json.dump(cfg, open(os.path.join(a.out, "adapter_config.json"), "w"), indent=2)


def load_adapter(d):
    """[(base path, dW = scale * B @ A)] in name order, and the config."""
    cfg = json.load(open(os.path.join(d, "adapter_config.json")))
    r = cfg["r"]
    scale = cfg["lora_alpha"] / (math.sqrt(r) if cfg.get("use_rslora") else r)
    L = st_load(os.path.join(d, "adapter_model.safetensors"))
    out = []
    for name in sorted(L):
        if name.endswith(".lora_A.weight"):
            base = name[len(PREFIX):-len(".lora_A.weight")]
            B = L[name.replace(".lora_A.", ".lora_B.")]
            A = L[name]
            assert A.shape[0] == r and B.shape[1] == r, name
            out.append((base, scale * (B @ A)))
    return out, cfg


def cmd_reference(a):
    layers, cfg = load_adapter(a.adapter)
    r = cfg["r"]
    res = {"source_rank": r, "layers": [], "variance_table": []}
    V = []
    for base, dw in layers:
        s = np.linalg.svd(dw, compute_uv=False)
        s = np.pad(s, (0, max(0, r - len(s))))[:r]
        tot = float(np.sum(s ** 2))
        v = np.cumsum(s[:r] ** 2) / tot if tot > 0 else np.ones(r)
        V.append(v)
        res["layers"].append({"name": base, "singular_values": [float(x) for x in s[:r]],
                              "variance": [float(x) for x in v]})
    V = np.array(V)
    for k in range(1, r + 1):
        col = V[:, k - 1]
        res["variance_table"].append({"rank": k, "mean_variance": float(col.mean()),
                                      "min_variance": float(col.min()),
                                      "max_variance": float(col.max())})
    if a.squeezed:
        sq, scfg = load_adapter(a.squeezed)
        k = scfg["r"]
        assert [b for b, _ in sq] == [b for b, _ in layers], "adapted weights differ"
        vs_dw = vs_trunc = 0.0
        for (base, dw), (_, dw2) in zip(layers, sq):
            U, s, Vt = np.linalg.svd(dw, full_matrices=False)
            trunc = (U[:, :k] * s[:k]) @ Vt[:k]
            vs_dw = max(vs_dw, float(np.abs(dw2 - dw).max()))
            vs_trunc = max(vs_trunc, float(np.abs(dw2 - trunc).max()))
        res["squeezed"] = {"rank": k, "lora_alpha": scfg["lora_alpha"],
                           "max_abs_vs_dw": vs_dw, "max_abs_vs_truncated": vs_trunc,
                           "max_abs_dw": max(float(np.abs(dw).max()) for _, dw in layers)}
    json.dump(res, open(a.out, "w"), indent=1)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-adapter")
    m.add_argument("--out", required=True)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--rank", type=int, default=8)
    m.add_argument("--true-rank", type=int, default=0)
    m.add_argument("--layers", type=int, default=2)
    m.add_argument("--hidden", type=int, default=64)
    m.add_argument("--kv-dim", type=int, default=32)
    m.add_argument("--inter", type=int, default=96)
    m.add_argument("--targets", default="q_proj,v_proj")
    m.add_argument("--alpha", type=float, default=16.0)
    m.add_argument("--rslora", type=int, default=0)
    r = sub.add_parser("reference")
    r.add_argument("adapter")
    r.add_argument("out")
    r.add_argument("--squeezed")
    a = p.parse_args()
    {"make-adapter": cmd_make_adapter, "reference": cmd_reference}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
