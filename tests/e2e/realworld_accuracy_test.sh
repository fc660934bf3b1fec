#!/usr/bin/env bash
# Accuracy on real users' logs (tests/testdata/realworld/README.md): every real error record
# operators posted, pasted alone into `registry-rca analyze --format=jsonl -`. Fails below the
# required share of right causes and on any record that yields no error at all.
source "$(dirname "$0")/lib/common.sh"
MIN=${RRCA_REALWORLD_MIN_ACCURACY:-0.95}
status=0
python3 "$RRCA_SOURCE_DIR/tests/e2e/lib/realworld_accuracy.py" "$RRCA_BIN" \
  "$TESTDATA/realworld/cases.jsonl" --min-accuracy "$MIN" > "$WORK/accuracy.out" 2>&1 || status=$?
cat "$WORK/accuracy.out"
check "at least $MIN of the real-world cases get their thread's cause, none is silent" \
  test "$status" -eq 0
finish
