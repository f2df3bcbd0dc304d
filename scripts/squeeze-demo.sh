#!/bin/sh
# The demo's SFT model (runs/demo/sft/final, from `make demo`) gets a LoRA
# GRPO stage (configs/demo_grpo.yaml with LoRA r 16 on every linear map,
# lr 1e-3, 120 steps), whose adapter `rlc squeeze` then cuts to lower ranks;
# each is scored greedily on the demo's 200 held-out problems. Prints a
# markdown table of rank, variance kept and accuracy (docs/demo/squeeze.md).
#   RLC=build/rlc  binary;  SFT=runs/demo/sft/final  the base;  OUT=runs/squeeze-demo
set -eu
RLC=${RLC:-build/rlc}
SFT=${SFT:-runs/demo/sft/final}
OUT=${OUT:-runs/squeeze-demo}
RANKS=${RANKS:-"1 2 4 6 8 12 16"}
DATA_SEED=1234 # the demo's eval split
[ -f "$SFT/model.safetensors" ] || { echo "squeeze-demo: no $SFT (run make demo first)" >&2; exit 2; }
rm -rf "$OUT"
mkdir -p "$OUT"
field() { sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" | head -n 1; }
accuracy() { "$RLC" eval --model "$SFT" ${1:+--adapter "$1"} --n 200 --data-seed "$DATA_SEED" 2>/dev/null | field accuracy; }

"$RLC" train configs/demo_grpo.yaml model.path="$SFT" lora.enabled=true lora.rank=16 lora.alpha=32 \
    lora.targets=all-linear optimizer.lr=1e-3 algorithm.dynamic_sampling=false \
    training.steps=120 training.eval_every=0 \
    logging.run_dir="$OUT" logging.run_name=lora16 logging.tensorboard=false \
    checkpoint.save_every=0 > "$OUT/train.log"
AD="$OUT/lora16/final"
"$RLC" squeeze "$AD" --json "$OUT/squeeze.json" > "$OUT/squeeze.txt"
rec=$(sed -n 's/^squeeze\/recommended_rank  *\([0-9]*\).*/\1/p' "$OUT/squeeze.txt")

echo "| rank | mean variance kept | min over weights | held-out accuracy |"
echo "|---:|---:|---:|---:|"
echo "| SFT model, no adapter | | | $(accuracy "") |"
# shellcheck disable=SC2086 # RANKS is a list of words
for k in $(printf '%s\n' $RANKS "$rec" | sort -n | uniq); do
    "$RLC" squeeze "$AD" --rank "$k" --out "$OUT/rank$k" > "$OUT/rank$k.txt"
    mean=$(sed -n 's/^squeeze\/mean_variance  *\([0-9.e-]*\).*/\1/p' "$OUT/rank$k.txt")
    min=$(sed -n 's/^squeeze\/min_variance  *\([0-9.e-]*\).*/\1/p' "$OUT/rank$k.txt")
    note=""
    [ "$k" = "$rec" ] && note=" (recommended at 0.95)"
    [ "$k" = 16 ] && note=" (the trained adapter, squeezed to its own rank)"
    echo "| $k$note | $mean | $min | $(accuracy "$OUT/rank$k") |"
done
echo "| 16, the trained adapter itself | 1 | 1 | $(accuracy "$AD") |"
echo
echo "recommended rank at retention 0.95: $rec (source rank 16)"
