#!/usr/bin/python3
"""External verifier for rlc (rewards.external): Python standard library only.

Reads one JSON request per line on stdin:
    {"id": 7, "prompt": "...", "completion": "...", "reference": "46", "metadata": {...}}
and writes one answer per line on stdout:
    {"id": 7, "reward": 1.0, "components": {"correct": 1, "has_answer": 1, "tagged": 1}}

reward = 1 when the number inside the last <answer>...</answer> equals the
reference's number, else 0.1 when there is an <answer> with a number, else 0.
Components (logged as metrics): correct, has_answer, tagged (both
<reasoning> and <answer> blocks present). Runs until stdin closes.
"""

import json
import re
import sys

ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)
NUMBER = re.compile(r"[-+]?\$?\d[\d,]*(?:\.\d+)?")


def number(text):
    m = NUMBER.search(text or "")
    if not m:
        return None
    try:
        return float(m.group(0).replace(",", "").replace("$", ""))
    except ValueError:
        return None


def score(req):
    completion = req.get("completion", "")
    answers = ANSWER.findall(completion)
    got = number(answers[-1]) if answers else None
    want = number(req.get("reference", ""))
    correct = int(got is not None and want is not None and got == want)
    has_answer = int(got is not None)
    tagged = int("<reasoning>" in completion and bool(answers))
    reward = 1.0 if correct else (0.1 if has_answer else 0.0)
    return reward, {"correct": correct, "has_answer": has_answer, "tagged": tagged}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        reward, components = score(req)
        sys.stdout.write(json.dumps({"id": req["id"], "reward": reward, "components": components}))
        sys.stdout.write("\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
