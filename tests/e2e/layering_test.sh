#!/usr/bin/env bash
# The libraries' layering (scripts/check_layering.py): no file includes a layer above its own, and
# each library's code is in its own namespace (exporter/pipeline is rrca::pipeline).
# Also proves the checker can fail: on a copy of the tree with planted violations (the pipeline
# including app/, a parser including the file follower, the pipeline's RecentErrors declared in
# rrca::app, the web front opening the enricher's namespace) it must name each.
source "$(dirname "$0")/lib/common.sh"

check "the tree has no layering violation" python3 "$RRCA_SOURCE_DIR/scripts/check_layering.py" \
  "$RRCA_SOURCE_DIR"

copy="$WORK/tree"
mkdir -p "$copy"
(cd "$RRCA_SOURCE_DIR" && tar cf - common tailers rules prober exporter) | tar xf - -C "$copy"
sed -i '0,/^#include "/s//#include "exporter\/app\/config.h"\n#include "/' "$copy/exporter/pipeline/joiner.h"
sed -i '0,/^#include "/s//#include "tailers\/follow\/tail_types.h"\n#include "/' "$copy/tailers/parse/envelope.cc"
sed -i 's/^namespace rrca::pipeline {/namespace rrca::app {/' "$copy/exporter/pipeline/recent_errors.h"
sed -i '0,/^namespace rrca::web {/s//namespace rrca::enricher {}\nnamespace rrca::web {/' \
  "$copy/exporter/web/web_auth.h"
rc=0
python3 "$RRCA_SOURCE_DIR/scripts/check_layering.py" "$copy" >"$WORK/planted.out" || rc=$?
cat "$WORK/planted.out"
check "the checker exits 1 on planted violations" test "$rc" -eq 1
check "it names the pipeline including app/" \
  grep -q '^exporter/pipeline/joiner.h:[0-9]*: exporter/pipeline includes exporter/app/config.h' "$WORK/planted.out"
check "it names the parser including the follower" \
  grep -q '^tailers/parse/envelope.cc:[0-9]*: tailers/parse includes tailers/follow/tail_types.h' "$WORK/planted.out"
check "it names the pipeline's code declared in rrca::app" \
  grep -q '^exporter/pipeline/recent_errors.h:[0-9]*: exporter/pipeline opens namespace rrca::app of exporter/app' \
  "$WORK/planted.out"
check "it names a file with nothing in its own namespace" \
  grep -q '^exporter/pipeline/recent_errors.h:1: exporter/pipeline declares nothing in its namespace rrca::pipeline' \
  "$WORK/planted.out"
check "it names the web front opening the enricher's namespace" \
  grep -q '^exporter/web/web_auth.h:[0-9]*: exporter/web opens namespace rrca::enricher of exporter/enricher' \
  "$WORK/planted.out"
finish
