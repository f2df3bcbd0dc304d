#!/usr/bin/env python3
"""Writes grade-school word problems in GSM8K's JSONL form, for trying the
GSM8K recipe (configs/grpo_gsm8k_qwen.yaml) where the real data set cannot be
downloaded: {"question": "...", "answer": "<steps>\\n#### <number>"}. Problems
are generated from templates with a seeded RNG (two or three steps of +, -, *,
/ on small whole numbers); they test the pipeline, not a model's maths.

Usage: scripts/gsm8k_form.py OUT.jsonl N [SEED]   (plain python3, no packages)
"""
import json
import random
import sys

NAMES = ["Natalia", "Weng", "Betty", "Julie", "James", "Albert", "Mark", "Ken", "Alexis", "Tina"]
THINGS = ["clips", "apples", "stickers", "marbles", "books", "cookies", "pencils", "shells"]


def problem(rng):
    n, t = rng.choice(NAMES), rng.choice(THINGS)
    kind = rng.randrange(4)
    a, b, c = rng.randint(2, 60), rng.randint(2, 30), rng.randint(2, 9)
    if kind == 0:
        q = f"{n} has {a} {t}. {n} gets {b} more and then gives away {c}. How many {t} does {n} have now?"
        s = [f"{a} + {b} = {a + b}", f"{a + b} - {c} = {a + b - c}"]
        r = a + b - c
    elif kind == 1:
        q = f"{n} buys {c} boxes of {t} with {b} {t} in each box. How many {t} does {n} buy?"
        s = [f"{c} * {b} = {c * b}"]
        r = c * b
    elif kind == 2:
        tot = b * c
        q = f"{n} shares {tot} {t} equally among {c} friends and keeps {a} for later. How many {t} is that per friend plus the ones kept?"
        s = [f"{tot} / {c} = {b}", f"{b} + {a} = {b + a}"]
        r = b + a
    else:
        q = f"{n} sold {a} {t} in April and half as many in May, rounded down. How many {t} did {n} sell in April and May together?"
        s = [f"{a} // 2 = {a // 2}", f"{a} + {a // 2} = {a + a // 2}"]
        r = a + a // 2
    return {"question": q, "answer": "\n".join(s) + f"\n#### {r}"}


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    out, n = sys.argv[1], int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) == 4 else 1)
    with open(out, "w") as f:
        for _ in range(n):
            f.write(json.dumps(problem(rng)) + "\n")


if __name__ == "__main__":
    main()
