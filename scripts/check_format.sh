#!/usr/bin/env bash
# Fails (exit 1) when a tracked *.cpp / *.h file is not formatted as .clang-format says, and lists
# those files; `clang-format -i FILE` fixes one. .ci/run runs this before building.
#
#   scripts/check_format.sh        (CLANG_FORMAT overrides the binary; default clang-format, 14 on Debian 12)
set -euo pipefail
cd "$(dirname "$0")/.."
clang_format="${CLANG_FORMAT:-clang-format}"
if ! command -v "$clang_format" >/dev/null; then
  echo "check_format.sh: $clang_format not found (Debian: apt-get install clang-format)" >&2
  exit 2
fi

unformatted=()
while IFS= read -r -d '' file; do
  "$clang_format" --dry-run -Werror "$file" >/dev/null 2>&1 || unformatted+=("$file")
done < <(git ls-files -z -- '*.cpp' '*.h')

if [ ${#unformatted[@]} -ne 0 ]; then
  echo "check_format.sh: ${#unformatted[@]} file(s) not formatted ($("$clang_format" --version)):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  echo "check_format.sh: fix with: $clang_format -i ${unformatted[*]}" >&2
  exit 1
fi
echo "check_format.sh: all files formatted"
