#!/bin/bash
# minicom and conbroker's locks on a real pty in the real /var/lock: each
# refuses the device while the other holds it, and the lock a killed minicom
# leaves behind is broken by us.  A refused minicom runs under expect, which
# gives us all it printed and its exit status; one that holds the pty runs
# under a private tmux server.
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root: minicom locks in the real /var/lock"
for p in minicom tmux expect; do
	command -v $p >/dev/null || skip_all "$p is not installed"
done
[ -x "$HELPERS/lockctl" ] && [ -x "$HELPERS/ptyhold" ] ||
	skip_all "lockctl and ptyhold are not built in $HELPERS"

LOCKDIR=/var/lock
LOCKCTL=$HELPERS/lockctl
SOCK=cb-lock-minicom-$$
peers=

# Stop the peers first, with SIGKILL: minicom removes LCK..pts_N on its way
# out without looking whose it is.  Then remove what is left for our pty.
stop_all() {
	local p
	for p in $peers; do kill -KILL "$p" 2>/dev/null; done
	tmux -L "$SOCK" kill-server 2>/dev/null
	[ -n "${PTY:-}" ] && "$LOCKCTL" names "$PTY" | while read -r _ name; do
		rm -f "$LOCKDIR/$name"
	done
}
cleanup_cmd stop_all

"$HELPERS/ptyhold" "$T/pty" & cleanup_pid $!
wait_for 10 "[ -s '$T/pty' ]" || { echo "Bail out! no pty"; exit 1; }
PTY=$(cat "$T/pty")
FHS=$LOCKDIR/$("$LOCKCTL" names "$PTY" | awk '$1 == "FHS" { print $2 }')

# run_refused COMMAND...: run it on a terminal of its own until it ends;
# print what it wrote (no CRs, no colours) and return its exit status.
cat >"$T/run.exp" <<'EOF'
set timeout 20
spawn -noecho {*}$argv
expect {
	eof {}
	timeout { puts "still running after $timeout s"; exit 124 }
}
exit [lindex [wait] 3]
EOF
run_refused() {
	TERM=xterm expect -f "$T/run.exp" -- "$@" >"$T/out" 2>&1
	local status=$?
	tr -d '\r' <"$T/out" | sed 's/\x1b\[[0-9;]*m//g'
	return $status
}

# start_peer NAME COMMAND: a peer that keeps the pty, in a tmux session.
start_peer() {
	local name=$1
	shift
	tmux -L "$SOCK" -f /dev/null new-session -d -s "$name" -x 132 -y 40 "$*"
	peer=$(tmux -L "$SOCK" display -p -t "$name" '#{pane_pid}')
	peers="$peers $peer"
}
# A killed process is gone once it is reaped, or has at least exited.
gone() {
	local state
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -z "$state" ] || [ "$state" = Z ]
}

# lockctl hold in the background; holder is its pid once it holds the pty.
hold() {
	rm -f "$T/held"
	"$LOCKCTL" hold "$LOCKDIR" "$PTY" "$T/held" 2>"$T/hold.err" &
	holder=$!
	cleanup_pid $holder
	wait_for 10 "[ -e '$T/held' ] || ! kill -0 $holder 2>/dev/null"
	[ -e "$T/held" ] || { diag "lockctl: $(cat "$T/hold.err")"; return 1; }
}
unhold() { kill -TERM "$holder" && wait "$holder"; }
hdb() { printf '%10d' "$1"; }

# We hold the pty: minicom refuses it.
check "lockctl holds $PTY" hold
out=$(run_refused minicom -D "$PTY")
is "$?" 1 "minicom exits with status 1"
is "$out" "Device $PTY is locked." "minicom says: Device $PTY is locked."
diag "minicom printed: $out"
is "$(head -c 10 "$FHS")" "$(hdb $holder)" "our FHS lock is still ours"
check "lockctl releases" unhold
check "release removes our lock files" test ! -e "$FHS"

# minicom holds the pty: we refuse it and name minicom.
start_peer holding "env TERM=xterm minicom -D $PTY"
check "minicom takes $FHS" \
	wait_for 10 "[ \"\$(head -c 10 '$FHS' 2>/dev/null)\" = '$(hdb "$peer")' ]"
out=$("$LOCKCTL" hold "$LOCKDIR" "$PTY" "$T/never" 2>&1)
is "$?" 4 "lockctl hold refuses while minicom holds it"
like "$out" "lock file $FHS is held by process $peer \\(minicom\\)" \
	"the refusal names minicom's pid and program"
diag "we said: $out"
is "$("$LOCKCTL" probe "$LOCKDIR" "$PTY")" "FHS live $peer minicom $FHS" \
	"probe shows minicom, and nothing of ours"
is "$(head -c 10 "$FHS")" "$(hdb "$peer")" "minicom's lock is untouched"

# minicom killed: its lock stays behind, and we break it.
kill -KILL "$peer"
check "minicom is gone" wait_for 10 "gone $peer"
check "its lock is left behind" test -e "$FHS"
like "$("$LOCKCTL" probe "$LOCKDIR" "$PTY")" "^FHS stale $peer (-|minicom) $FHS$" \
	"probe calls it stale"
check "lockctl takes the device" hold
like "$(cat "$T/hold.err")" \
	"broke stale lock file $FHS left by (dead process $peer|process $peer \\(minicom\\), which has exited)" \
	"breaking it is logged with the dead pid"
is "$(head -c 10 "$FHS")" "$(hdb $holder)" "the FHS lock is ours now"
check "lockctl releases" unhold
is "$("$LOCKCTL" probe "$LOCKDIR" "$PTY")" "" "nothing is left in $LOCKDIR"

done_testing
