#!/bin/bash
# cu (Taylor UUCP) and conbroker's locks on a real pty in the real
# /var/lock: each refuses the device while the other holds it, and the lock a
# killed cu leaves behind is broken by us.  cu gives up root for the uucp
# user, so the pty is opened up to it and its lock file belongs to uucp.  A
# refused cu runs under expect, which gives us all it printed and its exit
# status; one that holds the pty runs under a private tmux server.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-locks.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root: cu locks in the real /var/lock"
for p in cu tmux expect; do
	command -v $p >/dev/null || skip_all "$p is not installed"
done
need_lock_helpers

pty_start
CU=$(lock_file cu)
chmod 0666 "$PTY"

# We hold the pty: cu refuses it, through the lock file alone.
check "lockctl holds $PTY" hold
out=$(run_refused cu -l "$PTY" -s 9600)
is "$?" 1 "cu exits with status 1"
is "$out" "cu: $PTY: Line in use" "cu says: cu: $PTY: Line in use"
diag "cu printed: $out"
is "$(head -c 10 "$CU")" "$(hdb $holder)" "our cu lock is still ours"
check "lockctl releases" unhold
check "release removes our lock files" test ! -e "$CU"

# cu holds the pty: we refuse it and name cu.
start_peer holding "cu -l $PTY -s 9600"
check "cu takes $CU" \
	wait_for 10 "[ \"\$(head -c 10 '$CU' 2>/dev/null)\" = '$(hdb "$peer")' ]"
is "$(stat -c %U "$CU")" uucp "cu's lock file belongs to uucp"
out=$("$LOCKCTL" hold "$LOCKDIR" "$PTY" "$T/never" 2>&1)
is "$?" 4 "lockctl hold refuses while cu holds it"
like "$out" "lock file $CU is held by process $peer \\(cu\\)" \
	"the refusal names cu's pid and program"
diag "we said: $out"
is "$("$LOCKCTL" probe "$LOCKDIR" "$PTY")" "cu live $peer cu $CU" \
	"probe shows cu, and nothing of ours"
is "$(head -c 10 "$CU")" "$(hdb "$peer")" "cu's lock is untouched"

# cu killed (it runs as two processes: both go, and both are peers for
# stop_all): its lock stays behind, and we break it (root may, in the sticky
# directory, though the file is uucp's).
children=$(ps -o pid= --ppid "$peer" | tr -d ' ')
peers="$peers $children"
kill -KILL "$peer" $children
check "cu is gone" wait_for 10 "gone $peer"
check "its lock is left behind" test -e "$CU"
like "$("$LOCKCTL" probe "$LOCKDIR" "$PTY")" "^cu stale $peer (-|cu) $CU$" \
	"probe calls it stale"
check "lockctl takes the device" hold
like "$(cat "$T/hold.err")" \
	"broke stale lock file $CU left by (dead process $peer|process $peer \\(cu\\), which has exited)" \
	"breaking it is logged with the dead pid"
is "$(head -c 10 "$CU")" "$(hdb $holder)" "the cu lock is ours now"
check "lockctl releases" unhold
is "$("$LOCKCTL" probe "$LOCKDIR" "$PTY")" "" "nothing is left in $LOCKDIR"

done_testing
