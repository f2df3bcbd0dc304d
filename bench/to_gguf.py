#!/usr/bin/python3
"""Writes a GGUF for llama.cpp from a Llama-architecture reference model
(bench/make_models.py: config.json, model.safetensors F32 or BF16,
tokenizer.json) with llama.cpp's own gguf-py, the same tensors, no transformers.

It does what llama.cpp's convert_hf_to_gguf.py does for LlamaForCausalLM
(which needs `transformers`, absent from Debian's python3): the same metadata
keys (llama.* hyperparameters, general.file_type), tensor names from gguf-py's
tensor map, q_proj/k_proj rows permuted from Hugging Face's rotate-half RoPE
layout to GGML's (LlamaModel.permute), 1-D tensors (norms) in F32, the other
tensors in the file's dtype (F32 or BF16, unchanged bits), no output.weight
with tied embeddings, and the tokenizer as "gpt2" BPE (tokens, types, merges and
special ids by gguf-py's SpecialVocab). The pre-tokenizer is named by --pre
(default gpt-2: the stand-in tokenizer of the 135M models is GPT-2's; a real
SmolLM2 tokenizer would be "smollm").

  PYTHONPATH=build/peers/llama.cpp/gguf-py /usr/bin/python3 bench/to_gguf.py \
      build/models/smollm2-135m-f32 build/models/smollm2-135m-f32.gguf
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

try:
    import gguf
except ImportError:
    sys.exit("to_gguf: no gguf module (PYTHONPATH=build/peers/llama.cpp/gguf-py; "
             "scripts/peers.sh fetch gets it)")


def st_tensors(path):
    """{name: (dtype, numpy array view)} of a safetensors file, memory-mapped."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    mm = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    npd = {"F32": np.float32, "BF16": np.uint16, "F16": np.float16}
    out = {}
    for name, e in header.items():
        if e["dtype"] not in npd:
            sys.exit(f"to_gguf: {path}: tensor {name}: dtype {e['dtype']} not supported")
        b, end = e["data_offsets"]
        out[name] = (e["dtype"], mm[b:end].view(npd[e["dtype"]]).reshape(e["shape"]))
    return out


def permute(w, n_head, n_head_kv):
    """convert_hf_to_gguf.py LlamaModel.permute: HF rotate-half rows -> GGML."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--pre", default="gpt-2", help="tokenizer.ggml.pre")
    a = ap.parse_args(argv)

    with open(os.path.join(a.model_dir, "config.json")) as f:
        c = json.load(f)
    if c["architectures"] != ["LlamaForCausalLM"]:
        sys.exit(f"to_gguf: {a.model_dir}: architecture {c['architectures']}, "
                 "only LlamaForCausalLM here")
    T = st_tensors(os.path.join(a.model_dir, "model.safetensors"))
    dtypes = {d for d, _ in T.values()}
    if len(dtypes) != 1:
        sys.exit(f"to_gguf: mixed dtypes {sorted(dtypes)}")
    dtype = dtypes.pop()
    L, Hq = c["num_hidden_layers"], c["num_attention_heads"]
    Hkv = c.get("num_key_value_heads") or Hq
    D = c.get("head_dim") or c["hidden_size"] // Hq

    w = gguf.GGUFWriter(a.out + ".tmp", gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    w.add_name(os.path.basename(os.path.normpath(a.model_dir)))
    w.add_block_count(L)
    w.add_context_length(c["max_position_embeddings"])
    w.add_embedding_length(c["hidden_size"])
    w.add_feed_forward_length(c["intermediate_size"])
    w.add_head_count(Hq)
    w.add_head_count_kv(Hkv)
    w.add_rope_freq_base(float(c["rope_theta"]))
    w.add_layer_norm_rms_eps(c["rms_norm_eps"])
    if "head_dim" in c:
        w.add_key_length(D)
        w.add_value_length(D)
    w.add_vocab_size(c["vocab_size"])
    w.add_rope_dimension_count(D)
    ftype = {"F32": gguf.LlamaFileType.ALL_F32, "BF16": gguf.LlamaFileType.MOSTLY_BF16,
             "F16": gguf.LlamaFileType.MOSTLY_F16}[dtype]
    w.add_file_type(ftype)

    # tokenizer: tokenizer.json's vocab and added tokens, padded to vocab_size
    with open(os.path.join(a.model_dir, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    rev = {i: t for t, i in tj["model"]["vocab"].items()}
    special = {}
    for t in tj.get("added_tokens", []):
        rev[t["id"]] = t["content"]
        special[t["id"]] = t.get("special", False)
    tokens, types = [], []
    for i in range(c["vocab_size"]):
        if i not in rev:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif i in special:
            tokens.append(rev[i])
            types.append(gguf.TokenType.CONTROL if special[i] else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(rev[i])
            types.append(gguf.TokenType.NORMAL)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(a.pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    gguf.SpecialVocab(a.model_dir, load_merges=True, n_vocab=c["vocab_size"]).add_to_gguf(w)

    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, L)
    raw = {"BF16": gguf.GGMLQuantizationType.BF16}
    for name in sorted(T, key=lambda n: (n.count("."), n)):
        dt, arr = T[name]
        if name.endswith("q_proj.weight"):
            arr = permute(arr, Hq, Hq)
        elif name.endswith("k_proj.weight"):
            arr = permute(arr, Hq, Hkv)
        new = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            sys.exit(f"to_gguf: no GGUF name for tensor {name}")
        arr = np.ascontiguousarray(arr)
        if arr.ndim == 1 and dt != "F32":  # norms stay F32, as convert_hf_to_gguf.py keeps them
            if dt == "BF16":
                arr = (arr.astype(np.uint32) << 16).view(np.float32)
            else:
                arr = arr.astype(np.float32)
            dt = "F32"
        w.add_tensor(new, arr, raw_dtype=raw.get(dt))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(a.out + ".tmp", a.out)
    print(f"to_gguf: {a.out}: {len(T)} tensors, {dtype}, "
          f"{os.path.getsize(a.out)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
