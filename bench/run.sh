#!/usr/bin/env bash
# bench/run.sh - registry-rca against mtail on the same generated registry log.
#
# Generates a realistic registry log (bench/gen_logs.py, cached in the scratch directory),
# then runs, each under /usr/bin/time -v, with the file in the page cache:
#   * the floor: memchr newline count (bench/newline_floor.cc, built here; `wc -l` if no
#     C++ compiler),
#   * registry-rca analyze --format=metrics FILE   (final Prometheus exposition on stdout),
#   * mtail --one_shot with bench/registry.mtail   (Debian's mtail 3.0.0-rc50),
# prints wall s, MB/s, lines/s, CPU s and peak RSS for each and the registry-rca/mtail
# ratio, and checks with bench/compare.py that registry-rca, mtail and the generator's
# ground truth give the same counts.  A benchmark, not a test: CI runs it with --small.
#
# Usage: bench/run.sh [options]
#   --size SIZE      corpus size (default 1G; e.g. 100M)
#   --small          20M corpus, one run (CI)
#   --seed N         generator seed (default 1)
#   --envelope E     none|syslog|cri|docker (default none)
#   --quoting Q      raw|escaped (default raw: registry 2.7/2.8 as Harbor ships it)
#   --format F       text|json (default text; mtail is skipped for json)
#   --repeat N       run each tool N times, report the fastest (default 1)
#   --dir DIR        scratch directory (default $RRCA_BENCH_DIR or /tmp/rrca-bench)
#   --regen          regenerate the corpus even if a cached one exists
#   --skip-rca       run without registry-rca (mtail vs the ground truth only)
#   --no-install     do not apt-get install missing mtail/time
# Environment: RRCA_BIN (default <repo>/build/exporter/registry-rca), RRCA_BENCH_DIR.
# Exit status: 0 all counts agree; 1 a mismatch or a tool failed; 2 usage or setup error;
#              3 the registry-rca binary is missing (and --skip-rca not given).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rrca_bin="${RRCA_BIN:-$root/build/exporter/registry-rca}"
dir="${RRCA_BENCH_DIR:-/tmp/rrca-bench}"
size=1G seed=1 envelope=none quoting=raw format=text repeat=1
regen=0 skip_rca=0 install=1

die() { echo "run.sh: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size) size="${2:?}"; shift 2 ;;
    --small) size=20M; shift ;;
    --seed) seed="${2:?}"; shift 2 ;;
    --envelope) envelope="${2:?}"; shift 2 ;;
    --quoting) quoting="${2:?}"; shift 2 ;;
    --format) format="${2:?}"; shift 2 ;;
    --repeat) repeat="${2:?}"; shift 2 ;;
    --dir) dir="${2:?}"; shift 2 ;;
    --regen) regen=1; shift ;;
    --skip-rca) skip_rca=1; shift ;;
    --no-install) install=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || die "--repeat wants a positive integer"
case "$dir" in "$root"|"$root"/*) die "--dir must be outside the repository ($dir)" ;; esac

need_pkg() {  # need_pkg COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  if [[ $install == 1 && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing $2 ..." >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1; then
      apt-get update -qq >/dev/null 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 || true
    fi
  fi
  command -v "$1" >/dev/null 2>&1
}
command -v python3 >/dev/null || die "python3 is required"
[[ -x /usr/bin/time ]] || need_pkg /usr/bin/time time || die "GNU time is required (apt-get install time)"
run_mtail=1
if [[ $format == json ]]; then
  echo "note: bench/registry.mtail reads the text format; mtail is skipped for --format json" >&2
  run_mtail=0
elif ! need_pkg mtail mtail; then
  die "mtail is required (apt-get install mtail)"
fi

mkdir -p "$dir"
corpus="$dir/registry-$size-s$seed-$format-$quoting-$envelope.log"
expected="$corpus.expected.json"
res="${corpus%.log}"     # prefix of this corpus's results: <res>.rca.prom, <res>.mtail.1.time, ...

# 1. Corpus (cached: same options, same bytes).
if [[ $regen == 1 || ! -s $corpus || ! -s $expected || $expected -ot $here/gen_logs.py ]]; then
  echo "== generating $corpus"
  python3 "$here/gen_logs.py" --size "$size" --seed "$seed" --format "$format" \
    --quoting "$quoting" --envelope "$envelope" --out "$corpus"
else
  echo "== reusing $corpus (--regen to rebuild)"
fi
read -r bytes lines < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["total_bytes"], d["total_lines"])' "$expected")
cat "$corpus" >/dev/null   # every tool reads from the page cache

timed() {  # timed NAME OUT ERR CMD...: run CMD under /usr/bin/time -v, --repeat times
  local name=$1 out=$2 err=$3 i rc=0
  shift 3
  local files=()
  local slug=${name//[^A-Za-z0-9_-]/_}
  for ((i = 1; i <= repeat; i++)); do
    /usr/bin/time -v -o "$res.$slug.$i.time" "$@" >"$out" 2>"$err" || rc=$?
    files+=("$res.$slug.$i.time")
    [[ $rc == 0 ]] || break
  done
  local IFS=,
  spec+=("$name=${files[*]}")
  return $rc
}
spec=()
status=0

# 2. The floor.
if command -v g++ >/dev/null; then
  if [[ ! -x $dir/newline_floor || $dir/newline_floor -ot $here/newline_floor.cc ]]; then
    g++ -O2 -o "$dir/newline_floor" "$here/newline_floor.cc"
  fi
  timed "floor (memchr C++)" "$res.floor.out" "$res.floor.err" "$dir/newline_floor" "$corpus"
else
  timed "floor (wc -l)" "$res.floor.out" "$res.floor.err" wc -l "$corpus"
fi

# 3. registry-rca.
have_rca=0
if [[ $skip_rca == 1 ]]; then
  echo "note: --skip-rca: registry-rca not run"
elif [[ ! -x $rrca_bin ]]; then
  cat >&2 <<EOF
run.sh: registry-rca binary not found or not executable: $rrca_bin
        build it first (cmake -S $root -B $root/build && cmake --build $root/build -j)
        or point RRCA_BIN at it; --skip-rca runs the mtail half alone.
EOF
  status=3
elif timed registry-rca "$res.rca.prom" "$res.rca.stderr" "$rrca_bin" analyze --format=metrics "$corpus"; then
  have_rca=1
else
  echo "run.sh: registry-rca failed; last lines of $res.rca.stderr:" >&2
  tail -n 20 "$res.rca.stderr" >&2
  status=1
fi

# 4. mtail.
have_mtail=0
if [[ $run_mtail == 1 ]]; then
  if timed mtail "$res.mtail.prom" "$res.mtail.stderr" mtail --one_shot --one_shot_format=prometheus \
      --port 0 --logtostderr --progs "$here/registry.mtail" --logs "$corpus"; then
    have_mtail=1
  else
    echo "run.sh: mtail failed; last lines of $res.mtail.stderr:" >&2
    tail -n 20 "$res.mtail.stderr" >&2
    status=1
  fi
fi

# 5. Table and counts.
echo
echo "== $(basename "$corpus"): $(python3 -c "print('{:,} bytes, {:,} lines'.format($bytes, $lines))"), $(nproc) CPUs, page cache warm"
python3 "$here/timing_table.py" --bytes "$bytes" --lines "$lines" --ratio registry-rca/mtail \
  --ratio "registry-rca/${spec[0]%%=*}" "${spec[@]}"
echo
cmp_args=(--expected "$expected")
[[ $have_mtail == 1 ]] && cmp_args+=(--mtail "$res.mtail.prom")
[[ $have_rca == 1 ]] && cmp_args+=(--rca "$res.rca.prom")
if [[ ${#cmp_args[@]} -gt 2 ]]; then
  python3 "$here/compare.py" "${cmp_args[@]}" || status=1
else
  echo "nothing to compare with the ground truth"
fi
exit $status
