// Renders every conversation of cases.json with every template of targets.json
// through @huggingface/jinja and prints the results as JSON, one record per
// (template, case, add_generation_prompt, enable_thinking). Usage:
//   NODE_PATH=build/npm/node_modules node tests/chat/render.mjs tests/chat
// enable_thinking is null where the template has no thinking switch (not passed).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const dir = process.argv[2] ?? "tests/chat";
const require = createRequire(resolve(process.env.NPM_ROOT ?? "build/npm/node_modules") + "/");
const { Template } = require("@huggingface/jinja");
const targets = JSON.parse(readFileSync(join(dir, "targets.json"), "utf8"));
const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8"));

const out = [];
for (const t of targets) {
  const tpl = new Template(readFileSync(join(dir, "templates", t.template), "utf8"));
  for (const c of cases) {
    for (const gen of [false, true]) {
      for (const think of t.thinking_switch ? [false, true] : [null]) {
        const vars = { ...t.vars, messages: c.messages, add_generation_prompt: gen };
        if (think !== null) vars.enable_thinking = think;
        out.push({ template: t.template, case: c.name, add_generation_prompt: gen,
                   enable_thinking: think, out: tpl.render(vars) });
      }
    }
  }
}
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
