#!/bin/bash
# The real minicom and conbroker exclude each other through the host's lock
# directory: minicom holding the pty makes `conbroker console` exit 4 naming
# it, and minicom is refused while conbroker holds the pty.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root: minicom locks in /var/lock"
command -v minicom > /dev/null || skip_all "minicom is not installed"
{ [ -d /var/lock ] && [ -w /var/lock ]; } || skip_all "/var/lock is not a writable directory"

fakevm_start vm1
domain_file vm1 4b5a6978-8796-4a5b-bc3d-2e1f0a9b8c7d "$PTY_vm1"
n=${PTY_vm1#/dev/pts/}
svr4=$(printf 'LCK.%03d.%03d' $((16#$(stat -c %t "$PTY_vm1"))) $((16#$(stat -c %T "$PTY_vm1"))))
LOCKS="/var/lock/LCK..pts_$n /var/lock/LCK..$n /var/lock/LCK.._pts_$n /var/lock/$svr4"

# The daemon must look where minicom writes, so this config names /var/lock.
CB_LOCKDIR=/var/lock broker_config

# Before fakevm lets go of the pty (its number could then be reused): stop
# the daemon, then remove what a failed run left in /var/lock for this pty,
# but only a lock whose process is gone.
locks_cleanup() {
	local f pid
	[ -n "${BROKER_PID:-}" ] && kill -TERM "$BROKER_PID" 2>/dev/null &&
		wait_for 10 "! kill -0 $BROKER_PID 2>/dev/null"
	for f in $LOCKS; do
		[ -f "$f" ] || continue
		pid=$(tr -dc 0-9 < "$f")
		if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then rm -f "$f"; fi
	done
}
cleanup_cmd locks_cleanup
# locks_left: the lock files in /var/lock that name this pty.
locks_left() { local f; for f in $LOCKS; do [ -e "$f" ] && echo "$f"; done; }

# minicom runs with a private HOME and no options file: the user's
# configuration is neither read nor written.
minicom_cmd="cd '$T' && HOME='$T' TERM=xterm minicom -D $PTY_vm1"

broker_start
is "$(locks_left)" "" "no lock names the pty at first"

# minicom holds the pty.
tmux_start mc1 "$minicom_cmd"
tmux_wait mc1 "Port $PTY_vm1"
ok $? "minicom opens the pty"
wait_for 10 "[ -s /var/lock/LCK..pts_$n ]"
ok $? "and writes its lock file"
mcpid=$(tr -dc 0-9 < "/var/lock/LCK..pts_$n")
is "$(ps -o comm= -p "$mcpid")" "minicom" "the lock file holds minicom's pid"

out=$(cb console vm1 < /dev/null 2>&1); rc=$?
is "$rc" 4 "conbroker console exits 4 while minicom holds the pty"
like "$out" "minicom" "the message names minicom"
like "$out" "[^0-9]$mcpid([^0-9]|$)" "and its pid"
diag "conbroker said: $out"
like "$(cb list 2>&1)" "vm1 .*locked.*minicom.*$mcpid" "conbroker list shows the console locked by minicom"

tmux_keys mc1 C-a q
tmux_wait mc1 "Leave without reset"
tmux_keys mc1 Enter
is "$(tmux_exit mc1)" 0 "minicom quits"
wait_for 10 "[ ! -e /var/lock/LCK..pts_$n ]"
ok $? "and removes its lock file"

# conbroker holds the pty.
client_start writer vm1
ok $? "now conbroker attaches"
is "$(tr -dc 0-9 < "/var/lock/LCK..pts_$n")" "$BROKER_PID" "and the daemon holds the pty's lock file"

tmux_start mc2 "$minicom_cmd"
tmux_wait mc2 "Device $PTY_vm1 is locked\."
ok $? "minicom is refused: \"Device /dev/pts/N is locked.\""
rc=$(tmux_exit mc2)
check "minicom exits with a failure status ($rc)" [ "${rc:-0}" != 0 ]
is "$(tr -dc 0-9 < "/var/lock/LCK..pts_$n")" "$BROKER_PID" "the daemon's lock file is untouched"
kill -0 $PID_writer 2>/dev/null
ok $? "the conbroker session goes on"

client_end writer
ok $? "the session ends at the end of its input"
is "$RC" 0 "with exit code 0"
wait_for 10 "[ -z \"\$(locks_left)\" ]"
is "$(locks_left)" "" "the daemon removes every lock it took in /var/lock"
broker_stop
is "$BROKER_STATUS" 0 "the daemon exits 0 on SIGTERM"
is "$(locks_left)" "" "no lock is left for the pty"
grep -E "AddressSanitizer|runtime error|LeakSanitizer" "$T/broker.log" >&2
ok $((! $?)) "no sanitizer report in the daemon's log"

done_testing
