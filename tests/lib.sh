# Shell helpers for the TAP integration and interop tests.
#
# A test sources this file, calls its checks, and ends with `done_testing`.
# Each test gets a private directory $T (removed by the EXIT trap together with
# every process registered with `cleanup_pid`), and finds the built programs
# under $CONBROKER_BUILD (default: build/ at the top of the tree).

set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${CONBROKER_BUILD:=$TOP/build}"
case $CONBROKER_BUILD in /*) ;; *) CONBROKER_BUILD=$TOP/$CONBROKER_BUILD ;; esac
BIN=$CONBROKER_BUILD
CONBROKERD=$BIN/daemon/conbrokerd
CONBROKER=$BIN/client/conbroker
HELPERS=$BIN/tests/helpers

T=$(mktemp -d "${TMPDIR:-/tmp}/conbroker-test.XXXXXX")
_tap_n=0
_tap_fail=0
_cleanup_pids=()
_cleanup_cmds=()

cleanup_pid() { _cleanup_pids+=("$1"); }
cleanup_cmd() { _cleanup_cmds+=("$1"); }

_cleanup() {
	local p c
	for c in "${_cleanup_cmds[@]+"${_cleanup_cmds[@]}"}"; do eval "$c" >/dev/null 2>&1 || true; done
	for p in "${_cleanup_pids[@]+"${_cleanup_pids[@]}"}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${_cleanup_pids[@]+"${_cleanup_pids[@]}"}"; do
		wait_for 5 "! kill -0 $p 2>/dev/null" || kill -KILL "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

ok() { # ok STATUS NAME
	_tap_n=$((_tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_tap_n - $2"
	else
		echo "not ok $_tap_n - $2"
		_tap_fail=$((_tap_fail + 1))
	fi
}

check() { # check NAME COMMAND...: passes when the command succeeds
	local name=$1; shift
	if "$@"; then ok 0 "$name"; else ok 1 "$name"; fi
}

is() { # is GOT WANT NAME
	if [ "$1" = "$2" ]; then ok 0 "$3"; else
		ok 1 "$3"; diag "     got: '$1'"; diag "expected: '$2'"; fi
}

like() { # like GOT REGEX NAME
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok 0 "$3"; else
		ok 1 "$3"; diag "     got: '$1'"; diag "expected to match: '$2'"; fi
}

diag() { printf '# %s\n' "$*"; }

skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# wait_for SECONDS 'shell condition': poll until true or the deadline passes.
wait_for() {
	local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 ))
	while ! eval "$2"; do
		if [ $(( $(date +%s%N) / 1000000 )) -ge $deadline ]; then return 1; fi
		sleep 0.02
	done
	return 0
}

done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_fail" -eq 0 ]
}
