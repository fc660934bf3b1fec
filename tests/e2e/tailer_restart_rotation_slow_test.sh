#!/usr/bin/env bash
# tailer_restart_rotation_test.sh with a slow daemon, for many seeds: the daemon is throttled as
# a CPU-limited container is (it runs 20 ms, then is stopped for 60 ms: a quarter of one core),
# so that it starts, reads and catches up slowly while files are rotated and it is killed. On an
# unthrottled release build the restarts outrun the rotations; under this throttle (or ASan on a
# busy machine) a run killed before its first scrape, with rotations meanwhile, lost whole
# generations. Each seed writes fewer lines (RRCA_RESTART_LINES, in batches of 200) and kills
# fewer times, so that the 20 seeds take a few minutes.
# RRCA_SLOW_SEEDS: how many seeds (default 20); RRCA_SEED: the first (default random), the others
# follow it. A failing seed's logs are kept by the test it ran (their path is printed).
source "$(dirname "$0")/lib/common.sh"
SEEDS=${RRCA_SLOW_SEEDS:-20}
FIRST=${RRCA_SEED:-$RANDOM}
script=$(dirname "$0")/tailer_restart_rotation_test.sh

for ((i = 0; i < SEEDS; i++)); do
  seed=$((FIRST + i))
  if RRCA_SEED=$seed RRCA_RESTART_THROTTLE=${RRCA_RESTART_THROTTLE:-20:60} \
    RRCA_RESTART_LINES=${RRCA_RESTART_LINES:-20000} RRCA_RESTART_BATCH=200 \
    RRCA_RESTART_KILLS=${RRCA_RESTART_KILLS:-5} bash "$script" > "$WORK/seed-$seed.log" 2>&1; then
    PASSES=$((PASSES + 1))
    echo "ok   - seed $seed: $(grep -o 'seed=.*' "$WORK/seed-$seed.log")"
  else
    FAILURES=$((FAILURES + 1))
    echo "FAIL - seed $seed:"
    cat "$WORK/seed-$seed.log"
  fi
done
finish
