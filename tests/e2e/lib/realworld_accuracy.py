"""Accuracy on real users' logs: every case of tests/testdata/realworld/cases.jsonl (an error
record as an operator posted it in a public thread, with the cause the thread established) goes
through `registry-rca analyze --format=jsonl -` alone, as a new user would paste it. A case is
right when the first error the tool reports has one of the case's expected causes, and silent
when the tool reports no error at all. Prints a per-cause confusion table, every wrong and silent
case, and the accuracy; exits 1 below the required accuracy or on any silent case.

usage: realworld_accuracy.py BINARY CASES.jsonl [--min-accuracy 0.95] [--only ID]"""
import argparse
import collections
import json
import subprocess
import sys


def run_case(binary, text):
    """The causes of the errors the tool reports for one pasted record, in report order."""
    done = subprocess.run([binary, "analyze", "--format=jsonl", "-"], input=text.encode(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    if done.returncode != 0:
        return None, done.stderr.decode(errors="replace")
    causes = []
    for line in done.stdout.decode(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return None, f"not JSON: {line[:200]}"
        if "cause" in record:
            causes.append(record["cause"])
    return causes, ""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("cases")
    parser.add_argument("--min-accuracy", type=float, default=0.95)
    parser.add_argument("--only")
    args = parser.parse_args()

    cases = [json.loads(line) for line in open(args.cases, encoding="utf-8") if line.strip()]
    if args.only:
        cases = [c for c in cases if c["id"] == args.only]
    confusion = collections.Counter()  # (expected, got)
    right, wrong, silent, failed = 0, [], [], []
    for case in cases:
        causes, error = run_case(args.binary, case["text"] + "\n")
        expected = case["expected"]
        if causes is None:
            failed.append((case, error))
            continue
        if not causes:
            silent.append(case)
            confusion[(expected[0], "(silent)")] += 1
            continue
        got = causes[0]
        confusion[(expected[0] if got not in expected else got, got)] += 1
        if got in expected:
            right += 1
        else:
            wrong.append((case, got))

    print("confusion (expected -> got), wrong and silent only:")
    for (expected, got), count in sorted(confusion.items()):
        if expected != got:
            print(f"  {expected:32} -> {got:32} {count}")
    print("per cause (right / cases):")
    per_cause = collections.defaultdict(lambda: [0, 0])
    for case in cases:
        per_cause[case["expected"][0]][1] += 1
    for (expected, got), count in confusion.items():
        if expected == got:
            per_cause[expected][0] += count
    for cause, (ok, total) in sorted(per_cause.items()):
        print(f"  {cause:32} {ok:3} / {total:3}")
    for case, got in wrong:
        print(f"WRONG  {case['id']}: expected {case['expected']}, got {got}  ({case['source']})")
    for case in silent:
        print(f"SILENT {case['id']}: expected {case['expected']}  ({case['source']})")
    for case, error in failed:
        print(f"FAILED {case['id']}: {error.strip()[:300]}")
    total = len(cases)
    accuracy = right / total if total else 0.0
    print(f"realworld accuracy: {right} of {total} cases right ({accuracy:.1%}), "
          f"{len(wrong)} wrong, {len(silent)} silent, {len(failed)} failed to run")
    ok = total > 0 and accuracy >= args.min_accuracy and not silent and not failed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
