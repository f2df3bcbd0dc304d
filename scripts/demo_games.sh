#!/bin/sh
# `make demo-games`: the RL case on a board game. For each seed, a tiny
# byte-level model is trained from scratch by SFT on random legal moves
# (configs/demo_games_sft.yaml: the only labels there are without an expert),
# then by GRPO on the game's outcome against a fixed opponent
# (configs/demo_games_grpo.yaml). A third arm spends the GRPO stage's wall
# time on more SFT from the same stage-1 model (configs/demo_games_sft.yaml
# again, from stage 1's final/). All three are scored on the same held-out
# positions: greedy one-move legality, and full games against random, greedy
# and minimax(2) opponents. Every run starts fresh: the output folder is
# deleted first.
#   RLC=build/rlc      binary to use
#   SEEDS="1 2"        model.seed and training.seed of each repetition
#   DEMO_ARGS="..."    extra overrides given to every stage (after the script's own)
#   DEMO_OUT=DIR       where the runs and tables go (runs/demo_games)
set -eu
RLC=${RLC:-build/rlc}
OUT=${DEMO_OUT:-runs/demo_games}
SEEDS=${SEEDS:-1 2}
OPPONENTS="random,greedy,minimax(2)"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"
rm -rf "$OUT"
mkdir -p "$OUT"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# legal FILE -> the one-move legality of an `rlc eval` JSON (rlc's compact JSON)
legal() { sed -n 's/.*"games":{"legal":\([0-9.]*\).*/\1/p' "$1"; }
# full OPP FIELD FILE -> that count of the full games against OPP
full() { sed -n "s/.*\"full_games\":{.*\"$1\":{\"games\":[0-9]*,\([^}]*\)}.*/\1/p" "$3" |
         tr ',' '\n' | sed -n "s/^\"$2\":\([0-9.]*\)$/\1/p"; }

for s in $SEEDS; do
    D="$OUT/s$s"
    echo "== seed $s: 1/3 SFT from scratch on random legal moves (configs/demo_games_sft.yaml)"
    t0=$(now)
    # shellcheck disable=SC2086
    "$RLC" sft configs/demo_games_sft.yaml model.seed="$s" training.seed="$s" \
        logging.run_dir="$D" ${DEMO_ARGS:-} > "$D.sft.log"
    t1=$(now)
    echo "   $(secs "$t0" "$t1") s"
    echo "== seed $s: 2/3 GRPO on the outcome (configs/demo_games_grpo.yaml)"
    # shellcheck disable=SC2086
    "$RLC" train configs/demo_games_grpo.yaml model.path="$D/sft/final" training.seed="$s" \
        logging.run_dir="$D" ${DEMO_ARGS:-} > "$D.grpo.log"
    t2=$(now)
    grpo_s=$(secs "$t1" "$t2")
    # The third arm: as many more SFT steps as fit in the GRPO stage's time, at
    # stage 1's measured seconds a step.
    sft_steps=$(wc -l < "$D/sft/metrics.jsonl")
    more=$(awk -v g="$grpo_s" -v a="$t0" -v b="$t1" -v n="$sft_steps" \
        'BEGIN { k = int(g / ((b - a) / n) + 0.5); print (k < 1 ? 1 : k) }')
    echo "   $grpo_s s; 3/3 more SFT for the same time: $more steps"
    # shellcheck disable=SC2086
    # (from stage 1's weights: peak lr 5e-4 after 10 warmup steps, new data order)
    "$RLC" sft configs/demo_games_sft.yaml model.path="$D/sft/final" model.from_scratch=false \
        training.steps="$more" training.seed="$((s + 100))" optimizer.lr=5e-4 \
        optimizer.warmup_steps=10 logging.run_dir="$D" logging.run_name=sft_more \
        ${DEMO_ARGS:-} > "$D.sft_more.log"
    t3=$(now)
    echo "   $(secs "$t2" "$t3") s"
    for arm in sft grpo sft_more; do
        "$RLC" eval --run "$D/$arm" --opponents "$OPPONENTS" > "$D/eval_$arm.json" 2> "$D/eval_$arm.log"
        # the same policy sampled at temperature 1, as GRPO samples it
        "$RLC" eval --run "$D/$arm" --opponents "$OPPONENTS" --temperature 1 --seed 7 \
            > "$D/eval_${arm}_t1.json" 2> "$D/eval_${arm}_t1.log"
    done
done

# The table: per seed and arm, greedy (the default) and sampled (T=1) play.
row() { # row SEED ARM EVAL_JSON
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$(legal "$3")" \
        "$(full random legal "$3")" "$(full random wins "$3")" "$(full greedy wins "$3")" \
        "$(full 'minimax(2)' wins "$3")"
}
table() { # table SUFFIX
    echo "| seed | arm | one-move legal | full-game moves legal | wins vs random | wins vs greedy | wins vs minimax(2) |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    for s in $SEEDS; do
        for arm in sft grpo sft_more; do row "$s" "$arm" "$OUT/s$s/eval_$arm$1.json"; done
    done
}
table "" > "$OUT/table.md"
table _t1 > "$OUT/table_t1.md"
echo
echo "== held-out positions (data.seed 1234), 100 full games per opponent; greedy moves:"
cat "$OUT/table.md"
echo "== the same, moves sampled at temperature 1:"
cat "$OUT/table_t1.md"
for s in $SEEDS; do "$RLC" monitor "$OUT/s$s/grpo" > "$OUT/s$s/monitor_grpo.log"; done
echo "plots: $OUT/s*/grpo/plots/   tables: $OUT/table.md $OUT/table_t1.md"
