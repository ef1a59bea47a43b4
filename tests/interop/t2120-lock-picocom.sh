#!/bin/bash
# picocom and conbroker's locks on a real pty: picocom takes no lock file,
# only flock(LOCK_EX|LOCK_NB) on the device, so each refuses the device while
# the other holds it through the flock, and a killed picocom leaves nothing
# behind.  A refused picocom runs under expect, which gives us all it printed
# and its exit status; one that holds the pty runs under a private tmux
# server.
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root: the lock files are checked in the real /var/lock"
for p in picocom tmux expect; do
	command -v $p >/dev/null || skip_all "$p is not installed"
done
[ -x "$HELPERS/lockctl" ] && [ -x "$HELPERS/ptyhold" ] ||
	skip_all "lockctl and ptyhold are not built in $HELPERS"

LOCKDIR=/var/lock
LOCKCTL=$HELPERS/lockctl
SOCK=cb-lock-picocom-$$
peers=

# Stop the peers first, then remove what is left for our pty.
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

# We hold the pty: picocom refuses it, through the flock.
check "lockctl holds $PTY" hold
out=$(run_refused picocom "$PTY")
is "$?" 1 "picocom exits with status 1"
is "$(printf '%s\n' "$out" | grep FATAL)" \
	"FATAL: cannot lock $PTY: Resource temporarily unavailable" \
	"picocom says: FATAL: cannot lock $PTY: Resource temporarily unavailable"
diag "picocom printed, last: $(printf '%s\n' "$out" | tail -n 1)"
is "$("$LOCKCTL" probe "$LOCKDIR" "$PTY" | grep '^flock ')" \
	"flock live $holder lockctl $PTY" "lockctl still holds the flock"
check "lockctl releases" unhold

# picocom holds the pty: we refuse it and name it.
start_peer holding "picocom $PTY"
check "picocom flocks $PTY" wait_for 10 \
	"\"$LOCKCTL\" probe $LOCKDIR $PTY | grep -q '^flock live $peer picocom $PTY$'"
is "$("$LOCKCTL" probe "$LOCKDIR" "$PTY")" "flock live $peer picocom $PTY" \
	"probe shows the flock, and no lock file"
out=$("$LOCKCTL" hold "$LOCKDIR" "$PTY" "$T/never" 2>&1)
is "$?" 4 "lockctl hold refuses while picocom holds it"
like "$out" "flock on $PTY is held by process $peer \\(picocom\\)" \
	"the refusal names picocom's pid and program"
diag "we said: $out"
is "$("$LOCKCTL" probe "$LOCKDIR" "$PTY" | grep -v '^flock ')" "" \
	"the refusal left no lock file behind"

# picocom killed: the kernel drops its flock and no lock file stays behind.
kill -KILL "$peer"
check "picocom is gone" wait_for 10 "gone $peer"
check "nothing holds the pty any more" \
	wait_for 10 "[ -z \"\$(\"$LOCKCTL\" probe $LOCKDIR $PTY)\" ]"
check "lockctl takes the device" hold
is "$(cat "$T/hold.err")" "" "with nothing to break"
check "lockctl releases" unhold
is "$("$LOCKCTL" probe "$LOCKDIR" "$PTY")" "" "nothing is left in $LOCKDIR"

done_testing
