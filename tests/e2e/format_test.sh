#!/usr/bin/env bash
# The whole tree is clang-formatted (.clang-format, Google based).
set -euo pipefail
root=${RRCA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
mapfile -t files < <(find common tailers rules exporter tests bench -name '*.cc' -o -name '*.h' | sort)
bad=()
for file in "${files[@]}"; do
  clang-format --dry-run -Werror "$file" >/dev/null 2>&1 || bad+=("$file")
done
if [[ ${#bad[@]} -gt 0 ]]; then
  printf 'not clang-formatted (run: make format):\n'; printf '  %s\n' "${bad[@]}"
fi
echo "format_test: $(( ${#files[@]} - ${#bad[@]} )) passed, ${#bad[@]} failed"
[[ ${#bad[@]} -eq 0 ]]
