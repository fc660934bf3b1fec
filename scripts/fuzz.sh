#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang under ASan+UBSan and runs each one on its seed
# corpus for a fixed budget; replays every saved crash in fuzz/regressions/<target>/ first.
#
#   scripts/fuzz.sh                     CI: 20,000 runs per target (about 2-4 minutes on 2 cores)
#   scripts/fuzz.sh --runs 200000       more iterations per target
#   scripts/fuzz.sh --time 600          a longer campaign: 10 minutes per target
#   scripts/fuzz.sh --time 600 envelope s3_parse    only these targets
#   scripts/fuzz.sh --replay            only replay corpora and regressions (no fuzzing)
#
# Environment: BUILD_DIR (default build-fuzz), JOBS (default 2), CXX (default clang++).
# Exits non-zero when any input crashes, leaks, times out or trips a sanitizer; each crashing
# input is saved as $BUILD_DIR/crashes/<target>/crash-<sha1> (libFuzzer's name) and listed.
# To keep one as a regression: fix the bug, then
#   cp $BUILD_DIR/crashes/<target>/crash-<sha1> fuzz/regressions/<target>/
# New coverage found by a run goes to $BUILD_DIR/corpus/<target>/ (not into the repository);
# fuzz/make_corpus.py rebuilds the checked-in seeds from tests/testdata.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

runs=20000
seconds=0
replay_only=0
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --runs=*) runs=${1#*=}; shift ;;
    --time) seconds=$2; shift 2 ;;
    --time=*) seconds=${1#*=}; shift ;;
    --replay) replay_only=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

all_targets=(envelope registry_parse registry_reader registry_uri s3_parse json_scan positions
  carry_over config web_config web_auth repository_table http_request alert_payload rule_set
  example_check harbor)
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")

# The dictionary and the longest input each target gets.
declare -A dict=([envelope]=envelope [registry_parse]=registry [registry_reader]=registry
  [registry_uri]=json [s3_parse]=s3 [json_scan]=json [config]=yaml [rule_set]=yaml
  [example_check]=registry [positions]=json [web_config]=yaml [alert_payload]=json
  [carry_over]=carry_over [web_auth]=web_auth [repository_table]=registry [http_request]=http
  [harbor]=registry)
declare -A max_len=([envelope]=4096 [registry_parse]=4096 [registry_reader]=16384
  [registry_uri]=2048 [s3_parse]=4096 [json_scan]=4096 [config]=4096 [rule_set]=16384
  [example_check]=16384 [positions]=4096 [web_config]=4096 [alert_payload]=16384
  [carry_over]=8192 [web_auth]=1024 [repository_table]=4096 [http_request]=8192
  [harbor]=8192)

build=${BUILD_DIR:-build-fuzz}
[[ $build == /* ]] || build=$root/$build
jobs=${JOBS:-2}
cxx=${CXX:-clang++}
command -v "$cxx" >/dev/null || { echo "fuzz.sh: $cxx not found (apt-get install clang)" >&2; exit 2; }

# Configure: the top-level CMakeLists adds fuzz/ when RRCA_FUZZ is on.
source_dir=$root
if [[ -f $build/CMakeCache.txt ]] &&
   ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$source_dir" "$build/CMakeCache.txt"; then
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"  # configured from another source tree
fi
cmake --no-warn-unused-cli -S "$source_dir" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRRCA_FUZZ=ON -DRRCA_BUILD_TESTS=OFF -DRRCA_BUILD_BENCH=OFF >/dev/null
fuzz_bin=$build/fuzz
cmake --build "$build" --target rrca_fuzzers -j"$jobs" >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

touch "$build/.started"
failed=()
summary=()
for target in "${targets[@]}"; do
  binary=$fuzz_bin/${target}_fuzzer
  [[ -x $binary ]] || { echo "fuzz.sh: no target $target" >&2; exit 2; }
  crashes=$build/crashes/$target
  work=$build/corpus/$target
  log=$build/logs/$target.log
  mkdir -p "$crashes" "$work" "$build/logs"
  common=(-artifact_prefix="$crashes/" -timeout=10 -rss_limit_mb=2048 -max_len="${max_len[$target]}"
    -dict="fuzz/${dict[$target]}.dict" -print_final_stats=1)

  # 1. Every saved crash must pass now (each file runs once).
  mapfile -t regressions < <(find "fuzz/regressions/$target" -type f ! -name '.*' 2>/dev/null | sort)
  if [[ ${#regressions[@]} -gt 0 ]]; then
    if ! "$binary" "${common[@]}" "${regressions[@]}" >"$log.replay" 2>&1; then
      echo "FAIL $target: a regression input crashes again (log: $log.replay)"
      grep -E 'ERROR|runtime error|invariant|Running:' "$log.replay" | tail -n 5
      failed+=("$target")
      continue
    fi
  fi
  # 2. Fuzz from the seeds (and what earlier runs found), for the fixed budget.
  budget=(-runs="$runs")
  [[ $seconds -gt 0 ]] && budget=(-max_total_time="$seconds")
  [[ $replay_only -eq 1 ]] && budget=(-runs=0)
  status=0
  start_ns=$(date +%s%N)
  "$binary" "${common[@]}" "${budget[@]}" "$work" "fuzz/corpus/$target" >"$log" 2>&1 || status=$?
  elapsed_ms=$(( ($(date +%s%N) - start_ns) / 1000000 + 1 ))
  execs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$log")
  execs=${execs:-0}
  speed=$(( execs * 1000 / elapsed_ms ))
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | grep -o '[0-9]*' || echo 0)
  if [[ $status -ne 0 ]]; then
    echo "FAIL $target after $execs runs (log: $log)"
    grep -E 'ERROR:|runtime error|invariant failed|Test unit written' "$log" | head -n 5
    failed+=("$target")
    summary+=("$(printf '%-16s %10s runs %6ss %8s exec/s  cov %6s  CRASH' "$target" "$execs" "$((elapsed_ms / 1000))" "$speed" "$cov")")
  else
    summary+=("$(printf '%-16s %10s runs %6ss %8s exec/s  cov %6s  ok' "$target" "$execs" "$((elapsed_ms / 1000))" "$speed" "$cov")")
  fi
done

printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}; crashing inputs:"
  find "$build/crashes" -type f -newer "$build/.started" | sed 's/^/  /'
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s) ok"
