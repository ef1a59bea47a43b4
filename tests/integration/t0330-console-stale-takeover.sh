#!/bin/bash
# A writer that sends nothing, not even a heartbeat, for stale-after seconds is
# stale: until then a plain open is refused; after, it takes over and says so,
# and the stale writer, once it runs again, learns it was taken over (code 6).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

CB_STALE=2
fakevm_start vm1 --echo --record "$T/vm1.rec"
domain_file vm1 0c9b8a7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d "$PTY_vm1"
broker_config
broker_start

tmux_start A "$CONBROKER -c unix:$T/sock console vm1"
tmux_wait A "Escape character is"
ok $? "writer A attaches"
tmux_keys A "typed-by-A"
wait_for 10 "grep -q typed-by-A '$T/vm1.rec'"
ok $? "A's keystrokes reach the guest"

# The daemon names its writer's PID (from the socket's credentials); it must
# be the conbroker process of A's window.
writer=$(list_field vm1 writer)
A_PID=$(printf '%s\n' "$writer" | sed -n 's/.* pid \([0-9]*\) via unix$/\1/p')
like "$A_PID" '^[0-9]+$' "list names A's PID"
is "$(cat /proc/"$A_PID"/comm 2>/dev/null)" conbroker "that PID is a conbroker client"
pane=$(tmux_cmd list-panes -t main:A -F '#{pane_pid}')
is "$(ps -o ppid= -p "$A_PID" | tr -d ' ')" "$pane" "and it is the one in A's window"

# An idle but live writer sends heartbeats: it never becomes stale.
wait_for 10 "[ \"\$(list_field vm1 idle)\" -ge 3 ]"
ok $? "A stays idle for longer than stale-after"
is "$(list_field vm1 state)" attached "an idle writer that sends heartbeats is not stale"

kill -STOP "$A_PID"
cleanup_cmd "kill -CONT $A_PID"
t0=$(now_ms)
out=$(cb console vm1 </dev/null 2>&1); rc=$?
elapsed=$(( $(now_ms) - t0 ))
# A heartbeat may have been due just before the stop: stale can come as early
# as stale-after minus one heartbeat interval (2000 - 667 ms) after it.
if [ $elapsed -lt 1000 ]; then
	is "$rc" 3 "a plain open while the stopped writer is not yet stale is refused with 3"
	like "$out" "console vm1/serial0 is busy: uid [0-9]+ \([a-z0-9_-]+\) pid $A_PID via unix" "the refusal names A"
else
	ok 0 "a plain open while the stopped writer is not yet stale is refused with 3 # SKIP the open took ${elapsed} ms"
	ok 0 "the refusal names A # SKIP the open took ${elapsed} ms"
fi

wait_for 15 "[ \"\$(list_field vm1 state)\" = stale ]"
ok $? "list reports the stopped writer as stale"
like "$(list_field vm1 writer)" "pid $A_PID via unix$" "the stale entry names A"
like "$(cb list)" "vm1 .* stale +writer uid [0-9]+ .*pid $A_PID via unix" "the table shows it stale"

tmux_start B "$CONBROKER -c unix:$T/sock console vm1"
tmux_wait B "Escape character is"
ok $? "a plain open takes over the stale writer"
screen=$(tmux_screen B)
like "$screen" "took over console vm1/serial0 from uid [0-9]+ \([a-z0-9_-]+\) pid $A_PID via unix, silent for [0-9]+s \(stale\)" "B is told it took over from A because A was stale"
B_PID=$(printf '%s\n' "$(list_field vm1 writer)" | sed -n 's/.* pid \([0-9]*\) via unix$/\1/p')
like "$B_PID" '^[0-9]+$' "list names B as the writer"
[ "$B_PID" != "$A_PID" ]
ok $? "and B is not A"
is "$(list_field vm1 state)" attached "the console is attached, no longer stale"

tmux_keys B "typed-by-B"
wait_for 10 "grep -q typed-by-B '$T/vm1.rec'"
ok $? "B's keystrokes reach the guest"
tmux_wait B "typed-by-B" 10
ok $? "the guest's echo reaches B"

# A stopped in the middle of its session: when it runs again it finds the
# takeover notice and the end of its session waiting for it.
kill -CONT "$A_PID"
is "$(tmux_exit A)" 6 "A exits with code 6 once it runs again"
like "$(tmux_screen A)" "console vm1/serial0 was taken over by uid [0-9]+ \([a-z0-9_-]+\) pid $B_PID via unix: this session was silent too long \(stale\)" "A is told who took over and why"
tmux_keys A "typed-in-A-after"
tmux_keys B "B-marker"
wait_for 10 "grep -q B-marker '$T/vm1.rec'"
ok $? "B keeps writing"
grep -q typed-in-A-after "$T/vm1.rec"
ok $((! $?)) "nothing from A's window reaches the guest after the takeover"
grep -q "took over console vm1/serial0 from .*pid $A_PID via unix, silent for [0-9]*s (stale)" "$T/broker.log"
ok $? "the daemon logs the stale takeover"

tmux_keys B C-]
is "$(tmux_exit B)" 0 "B leaves with the escape character"

# The daemon stops cleanly, and no sanitizer found anything in it.
broker_finish "the daemon exits with status 0 on SIGTERM" "the daemon's log has no sanitizer report"

done_testing
