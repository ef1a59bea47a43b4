# Helpers for tests in which an unrelated program is handed a stopped
# domain's old /dev/pts number (tests/helpers/ptysquat), and which check that
# conbrokerd never touched it.
#
# Source after tests/lib.sh.

# squat NAME INDEX [ptysquat options]: ptysquat takes /dev/pts/INDEX and
# types a line into it; its PID is in SQUAT_NAME.
squat() {
	local name=$1 index=$2; shift 2
	rm -f "$T/$name.squat"
	"$HELPERS/ptysquat" --index "$index" --status "$T/$name.squat" "$@" &
	local starter=$!
	cleanup_pid $starter
	wait_for 10 "grep -q '^ready ' '$T/$name.squat' 2>/dev/null || ! kill -0 $starter 2>/dev/null"
	grep -q '^ready ' "$T/$name.squat" 2>/dev/null || { wait $starter; return $?; }
	eval "SQUAT_$name=\$(awk '/^ready /{print \$2}' '$T/$name.squat')"
	eval "cleanup_pid \$SQUAT_$name"
}

# squat_report NAME: what happened to the squatter's pty, one "key value"
# line each (master, slave, termios, winsize).
squat_report() {
	local pid n
	eval "pid=\$SQUAT_$1"
	n=$(grep -c '^winsize ' "$T/$1.squat")
	kill -USR1 "$pid"
	wait_for 10 "[ \$(grep -c '^winsize ' '$T/$1.squat') -gt $n ]" || return 1
	tail -n 4 "$T/$1.squat"
}

# untouched NAME PTY WHAT: the squatter's pty PTY was neither written to nor
# read from nor changed, and no lock file names it in the lock directory
# ($SQUAT_LOCKDIR, by default $T/lock).
untouched() {
	local report idx=${2##*/}
	report=$(squat_report "$1")
	is "$(printf '%s\n' "$report" | grep '^master ')" "master 0" "$3: not one byte written into $2"
	is "$(printf '%s\n' "$report" | grep '^slave ')" "slave typed by another user" \
		"$3: the other user's typed line was not read"
	is "$(printf '%s\n' "$report" | grep '^termios ')" "termios same" "$3: its termios unchanged"
	is "$(printf '%s\n' "$report" | grep '^winsize ')" "winsize same" "$3: its window size unchanged"
	is "$(ls "${SQUAT_LOCKDIR:-$T/lock}" | grep -E "^LCK\.\.(pts_|_pts_)?$idx\$")" "" \
		"$3: no lock file for $2"
}
