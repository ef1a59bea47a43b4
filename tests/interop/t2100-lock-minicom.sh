#!/bin/bash
# minicom and conbroker's locks on a real pty in the real /var/lock: each
# refuses the device while the other holds it, and the lock a killed minicom
# leaves behind is broken by us.  A refused minicom runs under expect, which
# gives us all it printed and its exit status; one that holds the pty runs
# under a private tmux server.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-locks.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root: minicom locks in the real /var/lock"
for p in minicom tmux expect; do
	command -v $p >/dev/null || skip_all "$p is not installed"
done
need_lock_helpers

pty_start
FHS=$(lock_file FHS)

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
