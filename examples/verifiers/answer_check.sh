#!/bin/sh
# External verifier for rlc (rewards.external) in shell: one long-lived jq
# (Debian's jq package) reads the JSON request stream on stdin and writes one
# compact answer per request, flushed at once (--unbuffered):
#   reward 1 when the text inside the last <answer>...</answer> (no "<" in it), trimmed,
#   equals the trimmed reference, else 0; component "answered" is 1 when there
#   is an <answer> block at all.
# rewards.external: sh examples/verifiers/answer_check.sh
exec jq --unbuffered -c '
  def trim: sub("^\\s+"; "") | sub("\\s+$"; "");
  ([.completion | match("<answer>([^<]*)</answer>"; "g") | .captures[0].string] | last) as $a
  | {id: .id,
     reward: (if $a != null and ($a | trim) == (.reference | trim) then 1 else 0 end),
     components: {answered: (if $a == null then 0 else 1 end)}}'
