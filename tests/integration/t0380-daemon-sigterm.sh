#!/bin/bash
# SIGTERM: every session is told and ends with code 5, every pty gets back its
# settings and window size, no lock and no socket is left, exit status 0.
# A killed daemon's socket is replaced by the next daemon; a live daemon's
# socket is not: a second daemon refuses to start.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

# lock_files: the lock files left in the daemon's lock directory.
lock_files() { ls "$T/lock" | grep '^LCK' | tr '\n' ' '; }

fakevm_start vm1 --echo --record "$T/vm1.rec"
domain_file vm1 7d9f1b3c-5e7a-4d9f-8b3c-5e7a9d1f3b5c "$PTY_vm1"
fakevm_start vm2 --echo
domain_file vm2 2c4e6a8d-0f2b-4c4e-8a8d-0f2b4c6e8a0d "$PTY_vm2" "$CAPTURE_ALWAYS"
broker_config

# Settings no daemon would choose, so that a restore can be told from a reset.
for vm in vm1 vm2; do
	eval "pty=\$PTY_$vm"
	stty -F "$pty" 1200 -echo icanon isig icrnl opost onlcr rows 11 cols 33
	stty -g -F "$pty" > "$T/$vm.stty.before"
done
is "$(stty -F "$PTY_vm1" size)" "11 33" "the pty has a window size of its own"

broker_start
tmux_start W "$CONBROKER -c unix:$T/sock console vm1"
tmux_wait W "Escape character is"
ok $? "a writer attaches to the first console"
pipe_client R vm1 --readonly
pipe_client V vm2
wait_for 10 "grep -q 'Connected to domain' '$T/V.err'"
ok $? "a writer attaches to the capture='always' console"
wait_for 10 "grep -q \"uid [0-9]* ([a-z0-9_-]*) pid $PID_R via unix attached as watcher\" '$T/broker.log'"
ok $? "a watcher attaches to the first console"
tmux_keys W "typed-before-shutdown"
wait_for 10 "grep -q typed-before-shutdown '$T/vm1.rec'"
ok $? "the writer's input reaches the guest"
[ "$(stty -g -F "$PTY_vm1")" != "$(cat "$T/vm1.stty.before")" ] &&
	[ "$(stty -F "$PTY_vm1" size)" = "24 80" ]
ok $? "while attached the pty is raw and has the writer's size"

broker_stop
is "$BROKER_STATUS" 0 "on SIGTERM the daemon exits with status 0"
is "$(tmux_exit W)" 5 "the writer exits with code 5"
like "$(tmux_screen W)" "conbroker: conbrokerd is shutting down" "and is told the broker is shutting down"
is "$(pipe_exit R)" 5 "the watcher exits with code 5"
like "$(cat "$T/R.err")" "shutting down" "and is told"
is "$(pipe_exit V)" 5 "the other console's writer exits with code 5"
like "$(cat "$T/V.err")" "shutting down" "and is told"
is "$(lock_files)" "" "no lock file is left"
[ ! -e "$T/sock" ]
ok $? "the socket is removed"
for vm in vm1 vm2; do
	eval "pty=\$PTY_$vm"
	is "$(stty -g -F "$pty")" "$(cat "$T/$vm.stty.before")" "$vm's pty has its termios back, exactly"
	is "$(stty -F "$pty" size)" "11 33" "and its window size"
done
"$HELPERS/lockctl" probe "$T/lock" "$PTY_vm1" > "$T/probe" 2>&1
is "$(cat "$T/probe")" "" "nobody holds the pty any more, under any convention"

# A daemon killed outright leaves its socket (and its locks) behind; the next
# daemon replaces the socket and breaks the dead daemon's locks.
broker_start
pipe_client K vm1
wait_for 10 "grep -q 'Connected to domain' '$T/K.err'"
ok $? "a new daemon starts, a writer attaches"
kill -KILL "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
is "$(pipe_exit K)" 5 "when the daemon is killed its client exits with code 5"
[ -S "$T/sock" ]
ok $? "the killed daemon's socket file is left behind"
like "$(lock_files)" "LCK" "and its lock files"
broker_start
ok $? "a new daemon starts on the stale socket"
grep -q "removing the stale socket $T/sock" "$T/broker.log"
ok $? "and says it replaced it"
printf 'after-restart\n' | cb console vm1 >"$T/after.out" 2>"$T/after.err"; rc=$?
is "$rc" 0 "the console attaches through the new daemon"
grep -q after-restart "$T/vm1.rec"
ok $? "input reaches the guest past the dead daemon's locks"
grep -q "broke stale lock file $T/lock/LCK\.\.pts_${PTY_vm1##*/} " "$T/broker.log"
ok $? "the new daemon logs the dead daemon's lock it broke"

# A second daemon on a live daemon's socket refuses, and leaves it alone.
before=$(stat -c %i "$T/sock")
timeout 20 "$CONBROKERD" -f "$T/conbroker.xml" >"$T/second.out" 2>"$T/second.err"; rc=$?
is "$rc" 1 "a second daemon on a live daemon's socket exits with status 1"
like "$(cat "$T/second.err")" "another conbrokerd is listening on $T/sock" "its message names the socket"
is "$(stat -c %i "$T/sock" 2>/dev/null)" "$before" "the live daemon's socket is untouched"
kill -0 "$BROKER_PID"
ok $? "the live daemon keeps running"
"$HELPERS/lockctl" probe "$T/lock" "$PTY_vm2" > "$T/probe2" 2>&1
grep -q " $BROKER_PID conbrokerd " "$T/probe2"
ok $? "the live daemon still holds its capture='always' console"
out=$(cb list --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
is "$out" 2 "and still answers"
broker_stop
is "$BROKER_STATUS" 0 "and stops with status 0"
is "$(lock_files)" "" "leaving no lock file"
grep -Eq 'Sanitizer|runtime error:' "$T/broker.log" "$T/second.err"
ok $((! $?)) "the daemons' logs have no sanitizer report"

done_testing
