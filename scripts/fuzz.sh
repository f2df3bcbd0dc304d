#!/bin/sh
# Runs the fuzz targets built in build-fuzz/fuzz (make fuzz-build), one after
# another. Usage: fuzz.sh run SECONDS TARGET...   (each target SECONDS long,
#                                                  a table at the end)
#                 fuzz.sh smoke 0 TARGET...       (each input of the seed
#                                                  corpus and regress/ once)
# New inputs a run finds go to build-fuzz/corpus/<target> (the committed
# seeds in tests/fuzz/corpus/<target> are only read); a crash, leak, timeout
# or out-of-memory input goes to build-fuzz/crashes/<target>/ and ends that
# target's run. Exits non-zero when any target crashed.
set -u
mode=$1 secs=$2
shift 2
out=build-fuzz/fuzz-logs
mkdir -p "$out"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp"
# A small input that needs more than this is a bug: memory out of proportion.
limits="-timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=1024"
fail=0
table=""
for t in "$@"; do
  bin=build-fuzz/fuzz/$t
  seeds=tests/fuzz/corpus/$t
  regress=tests/fuzz/regress/$t
  crashes=build-fuzz/crashes/$t
  mkdir -p "$crashes" "$seeds"
  [ -d "$regress" ] || regress=""
  log=$out/$t.log
  if [ "$mode" = smoke ]; then
    $bin $limits -runs=0 -artifact_prefix="$crashes/" $seeds $regress >"$log" 2>&1
    rc=$?
    n=$(ls $seeds $regress 2>/dev/null | grep -vc ':$')
    if [ $rc -ne 0 ]; then
      echo "fuzz-smoke: $t FAILED (rc $rc), log $log" >&2
      tail -30 "$log" >&2
      fail=1
    else
      echo "fuzz-smoke: $t ok ($(grep -o 'INITED cov: [0-9]* ft: [0-9]*' "$log" | tail -1))"
    fi
    continue
  fi
  work=build-fuzz/corpus/$t
  mkdir -p "$work"
  dict=""
  [ -f tests/fuzz/$t.dict ] && dict="-dict=tests/fuzz/$t.dict"
  $bin $limits $dict -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$crashes/" \
    "$work" "$seeds" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
  found=$(ls "$crashes" | wc -l)
  [ $rc -ne 0 ] && fail=1
  line=$(printf '%-18s %10s %6s %7s %6s %8s %s' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "$found" "$([ $rc -eq 0 ] && echo ok || echo "rc $rc: $log")")
  echo "$line"
  table="$table$line
"
done
if [ "$mode" = run ]; then
  echo
  echo "fuzz: $secs s per target (libFuzzer final stats; crashes in build-fuzz/crashes/)"
  printf '%-18s %10s %6s %7s %6s %8s %s\n' target executions cov ft corpus crashes status
  printf '%s' "$table"
fi
exit $fail
