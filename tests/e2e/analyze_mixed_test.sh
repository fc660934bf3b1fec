#!/usr/bin/env bash
# A file as users paste them: real records (tests/testdata/realworld) in several wrappers one
# after the other (stern, docker service logs, docker logs -t with a two-line record, a viewer's
# row around containerd JSON, Harbor's Go log), fragments (a v3 error chain, a two-line
# "caused by"), two lines that are no record, and the seed's request shipped newest-first
# (its summary before its error line). Each error is reported once with its cause, and the
# report says which lines it could not read.
source "$(dirname "$0")/lib/common.sh"
input=$TESTDATA/analyze/mixed-wrappers.log
"$RRCA_BIN" analyze --format=jsonl "$input" > "$WORK/out.jsonl"
"$RRCA_BIN" analyze "$input" > "$WORK/out.txt"
python3 - "$WORK/out.jsonl" > "$WORK/verdict.txt" <<'PY'
import collections, json, sys
errors, summary = collections.Counter(), None
for line in open(sys.argv[1]):
    record = json.loads(line)
    if "cause" in record:
        errors[record["cause"]] += 1
    else:
        summary = record["summary"]
want = collections.Counter(["upload_not_yet_visible", "blob_unknown", "storage_unreachable",
                            "multipart_upload_vanished", "storage_misconfigured",
                            "manifest_blob_unknown", "upload_offset_mismatch",
                            "client_disconnected"])
print("causes", "ok" if errors == want else f"got {dict(errors)}")
print("counts", "ok" if summary and summary["errors"] == 8 and summary["responses"] == 5
      and summary["lines"] == 18 else f"got {summary}")
reasons = summary["lines_not_understood"]["by_reason"] if summary else {}
print("not_understood", "ok" if summary and summary["lines_not_understood"]["total"] == 2
      and reasons.get("unknown_format", {}).get("first") == "some words a log viewer added"
      and "main.main()" in reasons.get("orphan_continuation", {}).get("first", "")
      else f"got {summary and summary['lines_not_understood']}")
PY
cat "$WORK/verdict.txt"
check "every error once, with its cause (newest-first request counted once)" grep -q "^causes ok" "$WORK/verdict.txt"
check "5 responses and 8 errors of 18 lines" grep -q "^counts ok" "$WORK/verdict.txt"
check "the 2 lines not understood are reported with the first of each reason" \
  grep -q "^not_understood ok" "$WORK/verdict.txt"
check "the text report says how many lines it could not read" \
  grep -q "2 of 18 lines not understood" "$WORK/out.txt"
finish
