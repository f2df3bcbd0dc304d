#!/bin/sh
# Reads a sanitized test log and fails (exit 1) on any AddressSanitizer or
# UBSan report, and on any leak that has a frame in rlc's own code (src/,
# tests/). A leak whose every frame lies in the Criterion runner itself
# (libcriterion, no rlc frame: its parent process keeps a record or two when
# many tests run in parallel) is not rlc's: it is listed, not counted.
# Usage: asan-check.sh LOG
log=$1
if grep -q -E 'ERROR: AddressSanitizer|runtime error:' "$log"; then
  echo "asan: sanitizer reports in $log" >&2
  exit 1
fi
awk '
  /leak of [0-9]+ byte\(s\) in [0-9]+ object\(s\) allocated from:/ { flush(); inblk = 1; head = $0; ours = 0; crit = 0; next }
  inblk && /^ *#[0-9]+ / {
    if ($0 ~ /(src|tests)\/[A-Za-z0-9_\/]+\.[ch]:[0-9]+/) ours = 1
    if ($0 ~ /libcriterion/) crit = 1
    next
  }
  inblk { flush() }
  function flush() {
    if (!inblk) return
    inblk = 0
    if (!ours && crit) { printf "asan: not rlc'"'"'s (Criterion runner): %s\n", head; return }
    printf "asan: leak: %s\n", head; bad = 1
  }
  END { flush(); exit bad }
' "$log" || { echo "asan: leaks in rlc code in $log" >&2; exit 1; }
exit 0
