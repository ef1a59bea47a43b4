#!/bin/bash
# A daemon killed while it holds consoles leaves their ptys in raw mode; the
# next daemon puts back the settings they had before the first one opened
# them (kept in its state directory), instead of taking raw for theirs.  A
# device that is no longer the domain's by then is left alone.
#
# As root the test runs in a devpts instance of its own (see t0365), so that
# no other program takes a freed pty number before the test hands it on.
. "$(dirname "$0")/../lib-ns.sh"
ns_enter CB_PRIVATE_PTS --mount --propagation private
ns_devpts CB_PRIVATE_PTS
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/lib-broker.sh"

[ -x "$CONBROKERD" ] || skip_all "no $CONBROKERD"

N=${CB_CRASH_CONSOLES:-100}

# settings: "stty -g" and the size of every farm pty, one line each.
settings() {
	local p
	while read -r p; do
		printf '%s %s\n' "$(stty -F "$p" -g)" "$(stty -F "$p" size)"
	done < "$T/farm.paths"
}
# how_many_differ A B: how many lines of two settings files differ.
how_many_differ() { diff "$1" "$2" | grep -c '^<'; }

broker_config
"$HELPERS/ptyfarm" --count "$N" --paths "$T/farm.paths" &
FARM=$!
cleanup_pid $FARM
wait_for 20 "[ -s '$T/farm.paths' ]" || { diag "ptyfarm did not start"; done_testing; exit 1; }
i=0
while read -r p; do
	i=$((i + 1))
	DOMAIN_OWNER=$FARM domain_file "vm$i" "$(printf '20000000-0000-4000-8000-%012d' $i)" "$p" "$CAPTURE_ALWAYS"
done < "$T/farm.paths"
settings > "$T/before"
is "$(wc -l < "$T/before")" "$N" "$N ptys with a terminal's usual settings and sizes of their own"

# One more console, whose hypervisor will be gone when the next daemon starts
# and whose number will be another program's.
fakevm_start gone
domain_file gone 20000000-0000-4000-8000-999999999999 "$PTY_gone" "$CAPTURE_ALWAYS"

broker_start || { done_testing; exit 1; }
check "the daemon keeps the settings of every device it holds" \
	wait_for 20 "[ \$(ls '$T/state' | grep -c '^tty-') -eq $((N + 1)) ]"
settings > "$T/held"
is "$(how_many_differ "$T/before" "$T/held")" "$N" "while the daemon holds them, every pty is raw"

kill -KILL "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
settings > "$T/crashed"
is "$(how_many_differ "$T/before" "$T/crashed")" "$N" "after SIGKILL, every pty is still raw"

# The gone console's hypervisor exits, and an unrelated program takes its
# number, with its own settings.
vm_ctl gone exit
wait "$FAKEVM_PID_gone" 2>/dev/null
wait_for 10 "[ ! -e /proc/$FAKEVM_PID_gone ]"
"$HELPERS/ptysquat" --index "${PTY_gone##*/}" --status "$T/squat.status" &
cleanup_pid $!
wait_for 10 "grep -q '^ready ' '$T/squat.status' 2>/dev/null"
SQUAT=$(awk '/^ready /{print $2}' "$T/squat.status")
cleanup_pid "$SQUAT"

# A file in the state directory that the daemon did not write.
printf 'conbroker tty state 1\ndaemon x\n' > "$T/state/tty-1-3"

start=$(now_ms)
broker_start || { done_testing; exit 1; }
diag "restart with $N consoles to restore: ready in $(( $(now_ms) - start )) ms"
is "$(logged "restored the settings of /dev/pts/[0-9]+, which conbrokerd pid [0-9]+ left")" "$N" \
	"the restarted daemon restored each of them"
check "the restarted daemon holds the devices again" \
	wait_for 20 "[ \$(ls '$T/state' | grep -c '^tty-') -eq $N ]"
broker_stop
is "$BROKER_STATUS" 0 "the restarted daemon stops cleanly"
settings > "$T/after"
is "$(how_many_differ "$T/before" "$T/after")" 0 \
	"after a restart and a stop, every pty has the settings and size it had before the first daemon"
is "$(ls "$T/state" | grep -c '^tty-')" 0 "and nothing is left in the state directory"
is "$(logged "$T/state/tty-1-3 is not a state file conbrokerd wrote: removed")" 1 \
	"a file the daemon did not write is reported and removed, never followed"

kill -USR1 "$SQUAT"
wait_for 10 "grep -q '^termios ' '$T/squat.status'"
is "$(grep '^termios ' "$T/squat.status")" "termios same" \
	"the gone console's old number, now another program's, was not touched"
is "$(grep '^master ' "$T/squat.status")" "master 0" "not one byte was written to it"
like "$(cat "$T/broker.log")" "tty-136-${PTY_gone##*/}: not restored, left as it is: $PTY_gone is no longer the domain's" \
	"the daemon says why it left that one alone"

done_testing
