#!/bin/bash
# picocom and conbroker's locks on a real pty: picocom takes no lock file,
# only flock(LOCK_EX|LOCK_NB) on the device, so each refuses the device while
# the other holds it through the flock, and a killed picocom leaves nothing
# behind.  A refused picocom runs under expect, which gives us all it printed
# and its exit status; one that holds the pty runs under a private tmux
# server.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-locks.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root: the lock files are checked in the real /var/lock"
for p in picocom tmux expect; do
	command -v $p >/dev/null || skip_all "$p is not installed"
done
need_lock_helpers

pty_start

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
