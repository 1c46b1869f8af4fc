#!/bin/sh
# The native core under AddressSanitizer and UndefinedBehaviorSanitizer (issue 15's audit).
#
#   benchmarks/asan.sh [test files or pytest options ...]     (from anywhere; PYTHON= picks the interpreter)
#
# Copies the working tree (tracked and new files, not the built core) into a temporary folder, builds
# spamscore._core there with -fsanitize=address,undefined, checks that the instrumented core is the one
# imported and that every helper is loaded, then runs the native equivalence test, the hostile cases and
# each helper's own tests (or the tests given) with the sanitizer runtimes preloaded, Python's allocator
# replaced by malloc (so AddressSanitizer sees the frees of Python objects too) and every report written to
# a log file (also those of the child processes the tests start, whose stderr the tests capture).
# Exits 0 only when the tests pass and no sanitizer wrote a report; the folder is removed at the end.
# Nothing here touches the working tree.  Takes about ten minutes on two busy cores.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/spamscore-asan.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

(cd "$ROOT" && git ls-files -co --exclude-standard -z | grep -zv '\.so$' | tar --null -T - -cf -) \
    | (cd "$TMP" && tar -xf -) || { echo "asan.sh: copying the tree failed" >&2; exit 2; }

cd "$TMP" || exit 2
CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -O1" LDFLAGS="-fsanitize=address,undefined" \
    "$PY" setup.py -q build_ext --inplace >build.log 2>&1 || { cat build.log; echo "asan.sh: build failed" >&2; exit 2; }
SO=$(ls spamscore/_core*.so 2>/dev/null | head -1)
if [ -z "$SO" ] || ! nm -D "$SO" | grep -q __asan_; then
    cat build.log
    echo "asan.sh: no instrumented spamscore/_core*.so was built" >&2
    exit 2
fi

mkdir -p reports
export PYTHONPATH="$TMP" PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:log_path=$TMP/reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$TMP/reports/ubsan"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"

# the instrumented core, every helper in use (a helper turned off would leave its tests skipped)
"$PY" - "$TMP" <<'EOF' || exit 2
import sys
import spamscore._core as core
import spamscore.features, spamscore.message, spamscore.scoring  # (their import-time self-checks)
from spamscore import _native
assert core.__file__.startswith(sys.argv[1]), core.__file__
for name in _native.NAMES:
    _native.load(name)
off = {k: v for k, v in _native.STATUS.items() if v != "loaded"}
assert not off, off
print("asan.sh: instrumented core", core.__file__, "with", ", ".join(sorted(_native.STATUS)))
EOF

if [ $# -eq 0 ]; then
    set -- tests/test_native_equivalence.py tests/test_hostile.py tests/test_hash_index.py tests/test_clue_sums.py \
        tests/test_word_tokens.py tests/test_word_hashes.py tests/test_speedups_equivalence.py tests/test_bodyscan.py \
        tests/test_mimescan.py tests/test_mime_split.py tests/test_hdrscan.py tests/test_urlscan.py tests/test_htmlscan.py \
        tests/test_vocabulary.py tests/test_top_clues.py tests/test_fold_sums.py
fi
"$PY" -m pytest -q -p no:cacheprovider "$@"
rc=$?
unset LD_PRELOAD

if ls reports/* >/dev/null 2>&1; then
    for f in reports/*; do echo "== $f"; head -60 "$f"; done
    echo "asan.sh: sanitizer reports above" >&2
    exit 1
fi
[ $rc -eq 0 ] || { echo "asan.sh: the tests failed (exit $rc)" >&2; exit $rc; }
echo "asan.sh: no sanitizer report"
