#!/usr/bin/env bash
# The libraries' layering (scripts/check_layering.py): no file includes a layer above its own.
# Also proves the checker can fail: on a copy of the tree with two planted violations (the
# pipeline including app/, a parser including the file follower) it must name both.
source "$(dirname "$0")/lib/common.sh"

check "the tree has no layering violation" python3 "$RRCA_SOURCE_DIR/scripts/check_layering.py" \
  "$RRCA_SOURCE_DIR"

copy="$WORK/tree"
mkdir -p "$copy"
(cd "$RRCA_SOURCE_DIR" && tar cf - common tailers rules prober exporter) | tar xf - -C "$copy"
sed -i '0,/^#include "/s//#include "exporter\/app\/config.h"\n#include "/' "$copy/exporter/pipeline/joiner.h"
sed -i '0,/^#include "/s//#include "tailers\/follow\/tail_types.h"\n#include "/' "$copy/tailers/parse/envelope.cc"
rc=0
python3 "$RRCA_SOURCE_DIR/scripts/check_layering.py" "$copy" >"$WORK/planted.out" || rc=$?
cat "$WORK/planted.out"
check "the checker exits 1 on planted violations" test "$rc" -eq 1
check "it names the pipeline including app/" \
  grep -q '^exporter/pipeline/joiner.h:[0-9]*: exporter/pipeline includes exporter/app/config.h' "$WORK/planted.out"
check "it names the parser including the follower" \
  grep -q '^tailers/parse/envelope.cc:[0-9]*: tailers/parse includes tailers/follow/tail_types.h' "$WORK/planted.out"
finish
