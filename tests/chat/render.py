"""Renders every conversation of cases.json with every template of targets.json
through Python jinja2, set up as transformers' apply_chat_template sets it up,
and prints the same JSON records as render.mjs. Usage: render.py tests/chat"""
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "tests/chat"
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    targets = json.load(open(os.path.join(d, "targets.json"), encoding="utf-8"))
    cases = json.load(open(os.path.join(d, "cases.json"), encoding="utf-8"))
    out = []
    for t in targets:
        tpl = env.from_string(open(os.path.join(d, "templates", t["template"]), encoding="utf-8").read())
        for c in cases:
            for gen in (False, True):
                for think in ((False, True) if t["thinking_switch"] else (None,)):
                    kw = dict(t["vars"], messages=c["messages"], add_generation_prompt=gen)
                    if think is not None:
                        kw["enable_thinking"] = think
                    out.append({"template": t["template"], "case": c["name"], "add_generation_prompt": gen,
                                "enable_thinking": think, "out": tpl.render(**kw)})
    sys.stdout.write(json.dumps(out, indent=1, ensure_ascii=False) + "\n")


main()
