#!/bin/bash
# Every libFuzzer harness (tests/fuzz/fuzz-*.c) runs for a short, bounded
# time from its seed corpus (tests/fuzz/corpus-NAME, read only: what the run
# finds goes to a private directory) and its dictionary (NAME.dict) if it has
# one.  A crash, a leak, an out-of-bounds access, undefined behaviour, a
# timeout or a broken promise of the harness fails the test; the input that
# did it is kept in $CONBROKER_FUZZ_BUILD/tests/fuzz/artifacts/.
#
# The harnesses are built with clang in $CONBROKER_FUZZ_BUILD (default
# build-fuzz/), which scripts/test does; CONBROKER_FUZZ_SECONDS (default 20)
# is the time each one gets.
. "$(dirname "$0")/../lib.sh"

: "${CONBROKER_FUZZ_BUILD:=$TOP/build-fuzz}"
: "${CONBROKER_FUZZ_SECONDS:=20}"
case $CONBROKER_FUZZ_BUILD in /*) ;; *) CONBROKER_FUZZ_BUILD=$TOP/$CONBROKER_FUZZ_BUILD ;; esac
FUZZ_BIN=$CONBROKER_FUZZ_BUILD/tests/fuzz
ARTIFACTS=$FUZZ_BIN/artifacts

command -v clang >/dev/null 2>&1 ||
	skip_all "clang is not installed (scripts/deps --test installs it)"

# fuzz_one NAME: run one harness and report it.
fuzz_one() {
	local name=$1 bin=$FUZZ_BIN/fuzz-$1 seeds=$TOP/tests/fuzz/corpus-$1
	local dict=$TOP/tests/fuzz/$1.dict log=$T/$1.log rc runs nseeds
	local -a opts

	if [ ! -x "$bin" ]; then
		ok 1 "fuzz-$name is built"
		diag "no $bin: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang" \
			"-DCONBROKER_FUZZ=ON && cmake --build build-fuzz --target fuzzers"
		return
	fi
	mkdir -p "$T/$name" "$ARTIFACTS"
	opts=(-max_total_time="$CONBROKER_FUZZ_SECONDS" -timeout=10
		-rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$ARTIFACTS/fuzz-$name-")
	[ -f "$dict" ] && opts+=(-dict="$dict")
	# Its private directories go under $T, removed even after a crash.
	TMPDIR=$T "$bin" "${opts[@]}" "$T/$name" "$seeds" >"$log" 2>&1
	rc=$?
	nseeds=$(find "$seeds" -type f | wc -l)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ "$rc" -eq 0 ] && [ "${runs:-0}" -gt 0 ]; then
		ok 0 "fuzz-$name: $runs runs in ${CONBROKER_FUZZ_SECONDS}s from $nseeds seeds, nothing found"
	else
		ok 1 "fuzz-$name: exit $rc after ${runs:-no} runs"
		diag "the input is kept in $ARTIFACTS; the end of the log:"
		tail -n 40 "$log" | sed 's/^/#   /'
	fi
}

for src in "$TOP"/tests/fuzz/fuzz-*.c; do
	name=${src##*/fuzz-}
	fuzz_one "${name%.c}"
done
done_testing
