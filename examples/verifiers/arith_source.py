#!/usr/bin/python3
"""External data source for rlc (data.source: external): Python standard library only.

Answers {"id": ID, "op": "sample", "split": "train"|"eval", "n": N, "seed": S, "block": B}
with {"id": ID, "prompts": [{"prompt": ..., "reference": ..., "metadata": {...}} x N]}:
N addition problems drawn from random.Random(f"{split}:{S}"), so the same seed
always gives the same prompts (rlc resumes a run exactly only then). The eval
split uses other seeds, so its problems are drawn apart from training's.

usage: arith_source.py [DIGITS]   (operand digits, default 2)
"""

import json
import random
import sys

DIGITS = int(sys.argv[1]) if len(sys.argv) > 1 else 2


def sample(split, n, seed):
    rng = random.Random("%s:%d" % (split, seed))
    hi = 10**DIGITS - 1
    out = []
    for _ in range(n):
        a, b = rng.randint(0, hi), rng.randint(0, hi)
        out.append({
            "prompt": "What is %d+%d?" % (a, b),
            "reference": str(a + b),
            "metadata": {"a": a, "b": b, "split": split},
        })
    return out


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if req.get("op") != "sample":
            reply = {"id": req["id"], "error": "unknown op"}
        else:
            reply = {"id": req["id"], "prompts": sample(req["split"], req["n"], req["seed"])}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
