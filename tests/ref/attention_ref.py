"""Causal grouped-query attention forward and backward in float64 with
PyTorch autograd: the independent reference of tests/test_flash.c.

usage: attention_ref.py DIR B T Hq Hkv D
Reads DIR/{q,k,v,dout}.f32 (raw little-endian float32: q and dout [B,T,Hq,D],
k and v [B,T,Hkv,D]) and writes DIR/{out,lse,dq,dk,dv}.f32 (out and dq
[B,T,Hq,D], lse [B,Hq,T], dk and dv [B,T,Hkv,D]), scale 1/sqrt(D), query head
h reading kv head h // (Hq // Hkv), lse the logsumexp of each row's scaled
scores over the keys at or before it."""
import math
import os
import sys

import numpy as np
import torch


def main():
    d = sys.argv[1]
    B, T, Hq, Hkv, D = (int(x) for x in sys.argv[2:7])

    def load(name, H):
        a = np.fromfile(os.path.join(d, name + ".f32"), dtype="<f4")
        assert a.size == B * T * H * D, (name, a.size)
        return torch.from_numpy(a.astype(np.float64)).reshape(B, T, H, D)

    q = load("q", Hq).requires_grad_(True)
    k = load("k", Hkv).requires_grad_(True)
    v = load("v", Hkv).requires_grad_(True)
    dout = load("dout", Hq)
    g = Hq // Hkv
    qh = q.permute(0, 2, 1, 3)                                # [B,Hq,T,D]
    kh = k.permute(0, 2, 1, 3).repeat_interleave(g, dim=1)    # [B,Hq,T,D]
    vh = v.permute(0, 2, 1, 3).repeat_interleave(g, dim=1)
    s = qh @ kh.transpose(-1, -2) / math.sqrt(D)              # [B,Hq,T,T]
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    s = s.masked_fill(mask, float("-inf"))
    lse = torch.logsumexp(s, dim=-1)                          # [B,Hq,T]
    out = (torch.softmax(s, dim=-1) @ vh).permute(0, 2, 1, 3)  # [B,T,Hq,D]
    (out * dout).sum().backward()

    def save(name, t):
        t.detach().numpy().astype("<f4").tofile(os.path.join(d, name + ".f32"))

    save("out", out)
    save("lse", lse)
    save("dq", q.grad)
    save("dk", k.grad)
    save("dv", v.grad)


if __name__ == "__main__":
    main()
