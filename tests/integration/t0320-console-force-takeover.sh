#!/bin/bash
# --force: the writer is evicted at once with exit code 6 and told by whom; the
# new writer is told whom it replaced and writes; the old one no longer can.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

fakevm_start vm1 --echo --record "$T/vm1.rec"
domain_file vm1 8d2c4b6a-1e3f-4a5b-9c7d-0e1f2a3b4c5d "$PTY_vm1"
broker_config
broker_start

tmux_start A "$CONBROKER -c unix:$T/sock console vm1"
tmux_wait A "Escape character is"
ok $? "writer A attaches"
A_PID=$(client_pid A)
like "$A_PID" '^[0-9]+$' "writer A's process is found"
tmux_keys A "typed-by-A-before"
wait_for 10 "grep -q typed-by-A-before '$T/vm1.rec'"
ok $? "A's keystrokes reach the guest"

tmux_start B "$CONBROKER -c unix:$T/sock console vm1 --force"
tmux_wait B "Escape character is"
ok $? "writer B attaches with --force while A writes"
B_PID=$(client_pid B)
like "$B_PID" '^[0-9]+$' "writer B's process is found"
like "$(tmux_screen B)" "Connected to domain 'vm1' \(8d2c4b6a-1e3f-4a5b-9c7d-0e1f2a3b4c5d\), console serial0" "B gets the banner"
like "$(tmux_screen B)" "took over console vm1/serial0 from uid [0-9]+ \([a-z0-9_-]+\) pid $A_PID via unix \(forced\)" "B is told it took over from A, by uid and pid"

is "$(tmux_exit A)" 6 "A exits with code 6"
screen=$(tmux_screen A)
like "$screen" "console vm1/serial0 was taken over by uid [0-9]+ \([a-z0-9_-]+\) pid $B_PID via unix \(forced\)" "A's message names B by uid and pid"

tmux_keys B "typed-by-B"
wait_for 10 "grep -q typed-by-B '$T/vm1.rec'"
ok $? "B's keystrokes reach the guest"
tmux_wait B "typed-by-B" 10
ok $? "the guest's echo reaches B"

# A's window keeps its terminal after the client is gone: what is typed there
# must not reach the guest.  B's later input is the marker that anything A's
# keystrokes could have caused has happened.
tmux_keys A "typed-by-A-after"
tmux_keys B "B-marker"
wait_for 10 "grep -q B-marker '$T/vm1.rec'"
ok $? "B keeps writing"
grep -q typed-by-A-after "$T/vm1.rec"
ok $((! $?)) "A's keystrokes after the eviction never reach the guest"

out=$(cb list --json | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin) if e["domain"] == "vm1"][0]
print(e["state"], e["writer"])')
like "$out" "^attached uid [0-9]+ \([a-z0-9_-]+\) pid $B_PID via unix$" "list shows B as the writer"
grep -Eq "vm1/serial0: took over console vm1/serial0 from .*pid $A_PID via unix \(forced\)" "$T/broker.log"
ok $? "the daemon logs the takeover"

# A forced takeover of a console nobody writes to is a plain attach.
tmux_keys B C-]
is "$(tmux_exit B)" 0 "B leaves with the escape character"
tmux_start C "$CONBROKER -c unix:$T/sock console vm1 --force"
tmux_wait C "Escape character is"
ok $? "--force on a free console attaches"
screen=$(tmux_screen C)
if printf '%s\n' "$screen" | grep -q "took over"; then ok 1 "and claims no takeover"; else ok 0 "and claims no takeover"; fi
tmux_keys C C-]
is "$(tmux_exit C)" 0 "C leaves with the escape character"

# The daemon stops cleanly, and no sanitizer found anything in it.
broker_finish "the daemon exits with status 0 on SIGTERM" "the daemon's log has no sanitizer report"

done_testing
