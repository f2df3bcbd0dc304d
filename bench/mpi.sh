#!/bin/sh
# Data-parallel overhead on this machine, on the demo GRPO config
# (configs/demo_grpo.yaml, full fine-tuning of the demo's 4-layer model, 64
# prompts x 4 samples a step): 2 MPI ranks x 1 thread against 1 process x 2
# threads, and 1 process x 1 thread running the same 2 shards one after the
# other (the same arithmetic as the 2 ranks, so its final weights must match
# theirs bit for bit). Prints steps/s of each, their ratio, and per step the
# MiB rank 0 moved over MPI and the seconds it spent in MPI calls
# (system/comm_mib, system/comm_s of metrics.jsonl), from which README
# "Several machines" projects the step time of N ranks.
#
# The GRPO stage starts from a short SFT stage (configs/demo_sft.yaml, SFT_STEPS
# steps) so completions have the lengths of a trained model. Dynamic sampling
# is off in every run (it changes the batch mid-step; shards refuse it).
#   RLC=build/rlc  STEPS=20 (GRPO steps per run; the first is left out of the
#   means)  SFT_STEPS=150  OUT=runs/bench_mpi
set -eu
RLC=${RLC:-build/rlc}
STEPS=${STEPS:-20}
SFT_STEPS=${SFT_STEPS:-150}
OUT=${OUT:-runs/bench_mpi}
command -v mpirun >/dev/null || { echo "bench/mpi.sh: no mpirun (sh scripts/deps.sh test installs Open MPI)" >&2; exit 1; }
MPIRUN="mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2"
rm -rf "$OUT"
mkdir -p "$OUT"
export RLC_ADAPT_THREADS=0 # fixed thread counts: the comparison is 2 x 1 against 1 x 2

echo "== SFT stage: $SFT_STEPS steps of configs/demo_sft.yaml"
OMP_NUM_THREADS=2 "$RLC" sft configs/demo_sft.yaml logging.run_dir="$OUT" logging.run_name=sft \
  training.steps="$SFT_STEPS" logging.tensorboard=false > "$OUT/sft.log"

set -- configs/demo_grpo.yaml model.path="$OUT/sft/final" logging.run_dir="$OUT" \
  training.steps="$STEPS" training.eval_every=0 algorithm.dynamic_sampling=false \
  logging.tensorboard=false checkpoint.save_every=0

echo "== GRPO, 1 process x 2 threads ($STEPS steps)"
OMP_NUM_THREADS=2 "$RLC" train "$@" logging.run_name=threads2 training.shards=1 > "$OUT/threads2.log"
echo "== GRPO, 2 MPI ranks x 1 thread, a shard each"
OMP_NUM_THREADS=1 $MPIRUN "$RLC" train "$@" logging.run_name=ranks2 > "$OUT/ranks2.log"
echo "== GRPO, 1 process x 1 thread, the same 2 shards in turn"
OMP_NUM_THREADS=1 "$RLC" train "$@" logging.run_name=shards2 training.shards=2 > "$OUT/shards2.log"

# mean NAME FILE: the mean of field NAME over the records after the first
mean() {
  sed -n "s|.*\"$1\":\([-0-9.eE+]*\).*|\1|p" "$2" | awk 'NR > 1 { s += $1; n++ } END { if (n) printf "%.4f", s / n; else printf "nan" }'
}
row() {
  m="$OUT/$1/metrics.jsonl"
  st=$(mean step_time_s "$m")
  printf "%-34s %8s %8.3f %8s %8s %9s %8s\n" "$2" "$st" "$(echo "$st" | awk '{ print 1 / $1 }')" \
    "$(mean gen_time_s "$m")" "$(mean train_time_s "$m")" "$(mean system/comm_mib "$m")" \
    "$(mean system/comm_s "$m")"
}
echo
echo "load average before the summary: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
printf "%-34s %8s %8s %8s %8s %9s %8s\n" run s/step steps/s gen_s train_s comm_MiB comm_s
row threads2 "1 process x 2 threads"
row ranks2 "2 ranks x 1 thread (MPI)"
row shards2 "1 process x 1 thread, 2 shards"
a=$(mean step_time_s "$OUT/threads2/metrics.jsonl")
b=$(mean step_time_s "$OUT/ranks2/metrics.jsonl")
echo "steps/s ratio, 2 ranks x 1 thread / 1 process x 2 threads: $(echo "$a $b" | awk '{ printf "%.3f", $1 / $2 }')"
if cmp -s "$OUT/ranks2/final/model.safetensors" "$OUT/shards2/final/model.safetensors"; then
  echo "final weights: 2 ranks = 1 process with 2 shards, bit for bit"
else
  echo "final weights: 2 ranks and 1 process with 2 shards DIFFER" >&2
  exit 1
fi
