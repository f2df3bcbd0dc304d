"""A misbehaving external verifier for tests/test_external.c (standard library only).

usage: verifier.py MODE [STATE_DIR]

Every well-formed answer is reward = 0.5 * len(completion) + float(reference or 0),
components {"len": len(completion), "ref": float(reference or 0)}. The modes change how
(and whether) it answers:
  echo      answer each line at once
  len       reward = len(completion) in code points, components {"chars": that}
  reverse   gather requests until 50 ms pass without one, answer them in reverse order
  slow      sleep 20 ms before each answer
  crash1    exit(3) after the 10th answer of its first life (STATE_DIR/crashed marks it)
  poison    exit(3) when the completion is "CRASH", hang when it is "HANG"
  garbage   a garbage line before every answer, every 5th answer twice, one answer to id 10**9
  nan       NaN, Infinity or null rewards for completions "nan", "inf", "null"; no reward for "none"
Every request id is appended to STATE_DIR/seen.<pid> when STATE_DIR is given.
"""

import json
import os
import select
import sys
import time

mode = sys.argv[1]
state = sys.argv[2] if len(sys.argv) > 2 else None
answered = 0


def score(req):
    c = req.get("completion", "")
    ref = req.get("reference", "") or "0"
    try:
        r = float(ref)
    except ValueError:
        r = 0.0
    return 0.5 * len(c) + r, {"len": len(c), "ref": r}


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")


def answer(req):
    global answered
    c = req.get("completion", "")
    if mode == "poison" and c == "CRASH":
        sys.exit(3)
    if mode == "poison" and c == "HANG":
        sys.stdout.flush()
        time.sleep(3600)
    if mode == "crash1" and answered == 10 and not os.path.exists(state + "/crashed"):
        open(state + "/crashed", "w").close()
        sys.stdout.flush()
        sys.exit(3)
    if mode == "slow":
        time.sleep(0.02)
    reward, comps = score(req)
    if mode == "len":
        reward, comps = float(len(c)), {"chars": len(c)}
    msg = {"id": req["id"], "reward": reward, "components": comps, "info": {"mode": mode}}
    if mode == "nan" and c in ("nan", "inf", "null"):
        msg["reward"] = {"nan": float("nan"), "inf": float("inf"), "null": None}[c]
    if mode == "nan" and c == "none":
        del msg["reward"]
    if mode == "garbage":
        sys.stdout.write("this is not json {\n")
    out(msg)
    if mode == "garbage" and answered % 5 == 4:
        out(msg)
    answered += 1


def main():
    seen = open("%s/seen.%d" % (state, os.getpid()), "a") if state else None
    buf = b""
    pending = []
    if mode == "garbage":
        out({"id": 10**9, "reward": 1})
    while True:
        wait = 0.05 if (mode == "reverse" and pending) else None
        ready, _, _ = select.select([0], [], [], wait)
        if not ready:
            for req in reversed(pending):
                answer(req)
            pending = []
            sys.stdout.flush()
            continue
        chunk = os.read(0, 1 << 16)
        if not chunk:
            return
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            req = json.loads(line)
            if seen:
                seen.write("%d\n" % req["id"])
                seen.flush()
            if mode == "reverse":
                pending.append(req)
            else:
                answer(req)
        sys.stdout.flush()


main()
