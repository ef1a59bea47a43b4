#!/bin/bash
# conbroker console without a terminal: in pipelines, with stdin from
# /dev/null, with stdout to a regular file, and with a stdout pipe whose
# reader goes away.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

# cbt ARGS...: the client, with a deadline so a hang fails instead of stalling.
cbt() { timeout 30 "$CONBROKER" -c "unix:$T/sock" "$@"; }

fakevm_start vm1 --echo --record "$T/vm1.rec"
domain_file vm1 5c6b7a89-9f8e-4d7c-a6b5-c4d3e2f1a0b9 "$PTY_vm1"
broker_config
broker_start

# Input from a pipe, output into a pipe.
printf 'cmd-one\n' | cbt console vm1 2> "$T/p1.err" | cat > "$T/p1.out"
rc=${PIPESTATUS[1]}
is "$rc" 0 "printf | conbroker console | cat: exit code 0 at end of input"
grep -q '^cmd-one' "$T/p1.out"
ok $? "the guest's echo comes out of the pipe"
grep -q 'cmd-one' "$T/vm1.rec"
ok $? "the input reached the guest"
like "$(cat "$T/p1.err")" "^Connected to domain 'vm1' \(5c6b7a89-9f8e-4d7c-a6b5-c4d3e2f1a0b9\), console serial0$" \
	"stderr has the banner, without the escape line of a terminal"

# A watcher with stdin from /dev/null stays: it has nothing to say.
"$CONBROKER" -c "unix:$T/sock" console vm1 --readonly --no-history < /dev/null \
	> "$T/watch.out" 2> "$T/watch.err" &
watcher=$!; cleanup_pid $watcher
wait_for 10 "grep -q 'pid $watcher via unix attached as watcher' '$T/broker.log'"
ok $? "a watcher with stdin from /dev/null attaches"
vm_ctl vm1 "say hello-watchers"
wait_for 10 "grep -q hello-watchers '$T/watch.out'"
ok $? "and receives the guest's output"

# A writer with stdin from /dev/null: attaches, ends at once, exit 0.
cbt console vm1 < /dev/null > "$T/null.out" 2> "$T/null.err"
is "$?" 0 "a writer with stdin from /dev/null ends with exit code 0"
like "$(cat "$T/null.err")" "^Connected to domain 'vm1'" "after it attached"
kill -0 $watcher 2>/dev/null
ok $? "the watcher is still attached"

# Stdout to a regular file: the history, then the echo of the input.
printf 'cmd-two\n' | cbt console vm1 > "$T/file.out" 2> "$T/file.err"
is "$?" 0 "stdout to a regular file: exit code 0"
out=$(cat "$T/file.out")
like "$out" "cmd-one" "the file holds the history"
like "$out" "hello-watchers" "all of it"
like "$out" "cmd-two" "and the echo of the input"
wait_for 10 "grep -q cmd-two '$T/watch.out'"
ok $? "the watcher sees the writer's echo too"

# A reader that goes away: conbroker console | head -c 10.  Its input stays
# open, so only the broken pipe can end it.
mkfifo "$T/bp.in"
sleep 100000 > "$T/bp.in" &
hold=$!; cleanup_pid $hold
( "$CONBROKER" -c "unix:$T/sock" console vm1 --no-history < "$T/bp.in" 2> "$T/bp.err"
  echo $? > "$T/bp.rc" ) | head -c 10 > "$T/bp.out" &
wait_for 10 "grep -q 'Connected to domain' '$T/bp.err'"
ok $? "a writer piped into head -c 10 attaches"
vm_ctl vm1 "emit 1048576 41"
wait_for 20 "[ -s '$T/bp.rc' ]"
ok $? "it ends once head has gone, though its input is still open"
rc=$(cat "$T/bp.rc" 2>/dev/null)
check "it ends quietly: SIGPIPE, or exit code 1 with a message" \
	eval "[ '$rc' = 141 ] || { [ '$rc' = 1 ] && grep -q 'standard output' '$T/bp.err'; }"
diag "the client piped into head ended with status $rc"
is "$(od -An -tx1 < "$T/bp.out")" "$("$HELPERS/fakevm" --gen 10 41 | od -An -tx1)" \
	"head got the first 10 bytes of the guest's output"
wait_status vm1 "^emitted 1048576\$" 20
ok $? "the guest is not held back by the writer that went away"
wait_for 10 "grep -Eq 'pid [0-9]+ via unix detached' '$T/broker.log' &&
	[ \$(grep -c 'via unix attached as writer' '$T/broker.log') -eq \$(grep -c 'via unix detached' '$T/broker.log') ]"
ok $? "the daemon detaches it"
printf 'cmd-three\n' | cbt console vm1 --no-history > "$T/after.out" 2>&1
is "$?" 0 "a new writer attaches at once afterwards"
grep -q cmd-three "$T/after.out"
ok $? "and gets its echo"
kill $hold

# The same with a terminal on stdin: the terminal must come back as it was.
cat > "$T/ttybp.sh" <<SH
stty -g > "$T/stty.before"
"$CONBROKER" -c "unix:$T/sock" console vm1 --no-history 2> "$T/ttybp.err" | head -c 10 > /dev/null
echo "\${PIPESTATUS[0]}" > "$T/ttybp.rc"
stty -g > "$T/stty.after"
SH
tmux_start ttybp "bash '$T/ttybp.sh'"
wait_for 10 "grep -q 'Escape character is' '$T/ttybp.err' 2>/dev/null"
ok $? "a writer on a terminal, piped into head -c 10, attaches"
vm_ctl vm1 "emit 1048576 42"
tmux_exit ttybp > /dev/null
ok $? "it ends once head has gone"
like "$(cat "$T/ttybp.err")" "cannot write to standard output" "saying why"
is "$(cat "$T/stty.after" 2>/dev/null)" "$(cat "$T/stty.before")" "and the terminal's settings are restored"
wait_status vm1 "^emitted 1048576\$" 20

# The watcher ends with the console: the domain stops.
vm_ctl vm1 hangup
wait_for 20 "! kill -0 $watcher 2>/dev/null"
ok $? "the watcher ends when the console hangs up"
wait $watcher
is "$?" 7 "with exit code 7"
like "$(cat "$T/watch.err")" "hung up" "saying that the console hung up"

kill -0 "$BROKER_PID" 2>/dev/null
ok $? "the daemon is still running"
broker_finish "and exits 0 on SIGTERM" "no sanitizer report in the daemon's log"

done_testing
