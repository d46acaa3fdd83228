#!/bin/bash
# make check: install what is needed, then build and test three ways:
#   build/       gcc, -Werror: C unit tests and integration tests
#   build-asan/  gcc, AddressSanitizer + UndefinedBehaviorSanitizer: the same tests again
#   build-fuzz/  clang, -Werror, libFuzzer targets: each fuzzer runs briefly
# and end with one line "N passed, N failed[, N skipped]".
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=/usr/bin/python3
FUZZ_SECONDS=${FUZZ_SECONDS:-15}

./scripts/deps.sh || { echo "check: installing packages failed"; exit 1; }

passed=0 failed=0 skipped=0
add() { passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + $3)); }

setup() { # dir, meson options...
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; return 1; }
	fi
	ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { tail -50 "$dir.ninja.log"; return 1; }
}

# meson test: count results from its JSON log
unit_tests() { # dir, label
	local dir=$1 label=$2
	meson test -C "$dir" --suite unit --print-errorlogs --no-rebuild >"$dir/unit.log" 2>&1
	local counts
	counts=$($PY - "$dir/meson-logs/testlog.json" <<'PYEOF'
import json, sys
p = f = s = 0
try:
    lines = open(sys.argv[1]).readlines()
except OSError:
    print(0, 1, 0); sys.exit()   # meson test did not run: count it as one failure
if not lines:
    f = 1                        # no test ran at all: that is a failure too
for line in lines:
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PYEOF
)
	read -r p f s <<<"$counts"
	p=${p:-0} f=${f:-1} s=${s:-0}
	echo "check: $label unit tests: $p passed, $f failed, $s skipped"
	if [ "$f" -gt 0 ]; then
		grep -E '^(not ok|FAIL)|ERROR|runtime error' "$dir/unit.log" | head -40
		tail -60 "$dir/unit.log"
	fi
	add "$p" "$f" "$s"
}

integration_tests() { # dir, label, pytest options...
	local dir=$1 label=$2
	shift 2
	MVIRT_BUILD_DIR=$ROOT/$dir $PY -m pytest -q -rs -p no:cacheprovider \
		--junitxml="$dir/pytest.xml" "$@" tests/integration >"$dir/pytest.log" 2>&1
	local counts
	counts=$($PY - "$dir/pytest.xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1, 0); sys.exit()
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
s_ = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - s_, f, s_)
PYEOF
)
	read -r p f s <<<"$counts"
	p=${p:-0} f=${f:-1} s=${s:-0}
	echo "check: $label integration tests: $p passed, $f failed, $s skipped"
	grep -E '^SKIPPED' "$dir/pytest.log" | sed 's/^/check:   /'
	if [ "$f" -gt 0 ]; then tail -80 "$dir/pytest.log"; fi
	add "$p" "$f" "$s"
}

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1

if setup build; then
	unit_tests build "gcc"
	integration_tests build "gcc"
else
	echo "check: gcc build failed"; add 0 1 0
fi

if setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
	-Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all; then
	unit_tests build-asan "asan+ubsan"
	# the guest OS boots run once, in the gcc pass: the guest is built with
	# musl either way and nothing of it would be sanitized here
	integration_tests build-asan "asan+ubsan" -m "not guest"
else
	echo "check: sanitizer build failed"; add 0 1 0
fi

# run_fuzzer build-fuzz/fuzz/fuzz-NAME: briefly, on a copy of its seeds
run_fuzzer() {
	local f=$1 name corpus seeds verdict=FAILED
	name=$(basename "$f")
	corpus=$(mktemp -d)
	seeds=fuzz/corpus/${name#fuzz-}
	[ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/
	"$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
		-print_final_stats=0 "$corpus" >"build-fuzz/$name.log" 2>&1 && verdict=ok
	echo "$verdict" >"build-fuzz/$name.result"
	rm -rf "$corpus"
}

if CC=clang setup build-fuzz -Dfuzzing=true -Db_lundef=false \
	-Dc_args=-fsanitize=fuzzer-no-link,address,undefined \
	-Dc_link_args=-fsanitize=address,undefined; then
	echo "check: clang build (-Werror) ok"
	add 1 0 0
	# one fuzzer per CPU at a time; each writes its verdict to NAME.result
	fuzzers=()
	for f in build-fuzz/fuzz/fuzz-*; do
		# only the executables, not meson's fuzz-*.p object directories
		[ -f "$f" ] && [ -x "$f" ] || continue
		fuzzers+=("$f")
		rm -f "build-fuzz/$(basename "$f").result"
		run_fuzzer "$f" &
		while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n; done
	done
	wait
	for f in "${fuzzers[@]}"; do
		name=$(basename "$f")
		if [ "$(cat "build-fuzz/$name.result" 2>/dev/null)" = ok ]; then
			echo "check: $name: ok (${FUZZ_SECONDS}s)"
			add 1 0 0
		else
			echo "check: $name: FAILED"; tail -40 "build-fuzz/$name.log"
			add 0 1 0
		fi
	done
else
	echo "check: clang build failed"; add 0 1 0
fi

line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
[ "$failed" -eq 0 ]
