#!/bin/sh
# `make demo`: a tiny byte-level model trained from scratch on 2-digit addition,
# first by SFT (configs/demo_sft.yaml), then by GRPO (configs/demo_grpo.yaml),
# evaluated greedily on the same 200 held-out problems before and after GRPO.
# Every run starts fresh: runs/demo/ is deleted first.
#   RLC=build/rlc  binary to use;  DEMO_ARGS="model.seed=2 ..." extra overrides
#   (given to both stages, e.g. a second seed: "model.seed=2 training.seed=2").
set -eu
RLC=${RLC:-build/rlc}
OUT=runs/demo
DATA_SEED=1234 # data.seed of the GRPO config: the held-out problems reported
# (the SFT config draws its validation problems, which decide its cut, with 4321)
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"
rm -rf "$OUT"
mkdir -p "$OUT"

now() { date +%s.%N; }
# field NAME < one-line JSON -> its number (the files are rlc's own compact JSON)
field() { sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" | head -n 1; }
# column NAME FILE -> that field of every metrics.jsonl line that has it
column() { sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" "$2"; }
mean() { awk '{ s += $1; n++ } END { if (n) printf "%.3f", s / n; else printf "n/a" }'; }

t0=$(now)
echo "== 1/4 SFT from scratch: configs/demo_sft.yaml"
# shellcheck disable=SC2086
"$RLC" sft configs/demo_sft.yaml ${DEMO_ARGS:-} | tee "$OUT/sft.log"
t1=$(now)
echo "== 2/4 held-out evaluation of the SFT model"
"$RLC" eval --model "$OUT/sft/final" --n 200 --data-seed "$DATA_SEED" --show 5 | tee "$OUT/eval_sft.json"
t2=$(now)
echo "== 3/4 GRPO from the SFT model: configs/demo_grpo.yaml"
# shellcheck disable=SC2086
"$RLC" train configs/demo_grpo.yaml ${DEMO_ARGS:-} | tee "$OUT/grpo.log"
t3=$(now)
echo "== 4/4 held-out evaluation of the GRPO model"
"$RLC" eval --model "$OUT/grpo/final" --n 200 --data-seed "$DATA_SEED" --show 5 | tee "$OUT/eval_grpo.json"
t4=$(now)

M="$OUT/grpo/metrics.jsonl"
SM="$OUT/sft/metrics.jsonl"
acc0=$(field accuracy < "$OUT/eval_sft.json")
acc1=$(field accuracy < "$OUT/eval_grpo.json")
rew0=$(field mean_reward < "$OUT/eval_sft.json")
rew1=$(field mean_reward < "$OUT/eval_grpo.json")
steps=$(wc -l < "$M")
first=$(column mean_reward "$M" | head -n 20 | mean)
last=$(column mean_reward "$M" | tail -n 20 | mean)
gen_tok=$(column gen_tokens "$M" | awk '{ s += $1 } END { print s }')
gen_s=$(column gen_time_s "$M" | awk '{ s += $1 } END { print s }')
step_s=$(column step_time_s "$M" | awk '{ s += $1 } END { print s }')
train_tps=$(column train_tokens_per_s "$M" | mean)
sft_tps=$(column tokens_per_s "$SM" | mean)
mins() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 60 }'; }

echo
echo "== rlc demo: 2-digit addition, byte-level 4x128 model trained from scratch"
printf '%-34s %12s %12s\n' "" "after SFT" "after GRPO"
printf '%-34s %12s %12s\n' "held-out accuracy (greedy, n=200)" "$acc0" "$acc1"
printf '%-34s %12s %12s\n' "held-out mean reward" "$rew0" "$rew1"
printf '%-34s %12s %12s\n' "minutes (training stage)" "$(mins "$t0" "$t1")" "$(mins "$t2" "$t3")"
printf '%-34s %12s %12s\n' "training tok/s" "${sft_tps%.*}" "${train_tps%.*}"
echo
awk -v a="$acc0" -v b="$acc1" 'BEGIN { printf "GRPO gain: %+.1f points of held-out accuracy\n", 100 * (b - a) }'
echo "GRPO sampled reward: $first (first 20 of $steps steps) -> $last (last 20)"
awk -v t="$gen_tok" -v g="$gen_s" -v s="$step_s" 'BEGIN {
  printf "GRPO generation: %.0f tok/s; share of step time spent generating: %.0f%%\n",
         (g > 0 ? t / g : 0), (s > 0 ? 100 * g / s : 0) }'
echo "SFT + eval + GRPO + eval: $(mins "$t0" "$t4") minutes"
echo "run directories: $OUT/sft  $OUT/grpo  (metrics.jsonl, config.yaml, final/)"
echo
echo "== plots and convergence verdicts (rlc monitor)"
"$RLC" monitor "$OUT/sft" > "$OUT/monitor_sft.log"
"$RLC" monitor "$OUT/grpo" > "$OUT/monitor_grpo.log"
sed -n '/verdict/,$p' "$OUT/grpo/summary.txt" | head -n 12
echo "plots: $OUT/sft/plots/  $OUT/grpo/plots/   summaries: $OUT/sft/summary.txt  $OUT/grpo/summary.txt"
