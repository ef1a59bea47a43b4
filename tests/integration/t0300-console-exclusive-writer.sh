#!/bin/bash
# One writer per console: a second plain open is refused, naming the writer.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

fakevm_start vm1 --echo --record "$T/vm1.rec"
domain_file vm1 3a1c2b9e-5d4f-4e21-9a0b-1c2d3e4f5a6b "$PTY_vm1"
domain_file gone 4b2d3c0f-6e5a-4f32-8b1c-2d3e4f5a6b7c /dev/pts/99999
broker_config
broker_start

tmux_start w1 "$CONBROKER -c unix:$T/sock console vm1"
tmux_wait w1 "Escape character is"
ok $? "the first client attaches and gets the banner"
screen=$(tmux_screen w1)
like "$screen" "Connected to domain 'vm1' \(3a1c2b9e-5d4f-4e21-9a0b-1c2d3e4f5a6b\), console serial0" "banner names domain, uuid and console"

tmux_keys w1 "hello-from-w1"
wait_for 10 "grep -q hello-from-w1 '$T/vm1.rec'"
ok $? "the writer's keystrokes reach the guest"
tmux_wait w1 "hello-from-w1"
ok $? "the guest's echo reaches the writer"

out=$(cb console vm1 </dev/null 2>&1); rc=$?
is "$rc" 3 "a second writer is refused with exit code 3"
like "$out" "console vm1/serial0 is busy: uid [0-9]+ \([a-z0-9_-]+\) pid [0-9]+ via unix has been writing to it since" "the refusal names the writer"
like "$out" "use --force to take it over, or --readonly to watch" "the refusal says how to force or watch"

out=$(cb console nosuchvm </dev/null 2>&1); rc=$?
is "$rc" 2 "an unknown domain is exit code 2"
like "$out" "no domain 'nosuchvm'" "and says which"
out=$(cb console vm1 --devname serial9 </dev/null 2>&1); rc=$?
is "$rc" 2 "an unknown console is exit code 2"

tmux_keys w1 C-]
rc=$(tmux_exit w1)
is "$rc" 0 "the escape character ends the session with exit code 0"
wait_for 10 "! ls '$T/lock' | grep -q LCK"
ok $? "no lock file is left once the last session is gone"

printf 'piped-input\n' | cb console vm1 > "$T/pipe.out" 2>"$T/pipe.err"; rc=$?
is "$rc" 0 "a client in a pipeline ends with exit code 0 at end of input"
grep -q piped-input "$T/pipe.out"
ok $? "and its output holds the guest's echo of its input"

out=$(cb console gone </dev/null 2>&1); rc=$?
is "$rc" 7 "a console whose pty no longer exists is exit code 7"
like "$out" "console gone/serial0: /dev/pts/99999 is gone .*the domain has probably stopped" "and says the domain has probably stopped"
state=$(cb list --json | python3 -c 'import json,sys; print([e["state"] for e in json.load(sys.stdin) if e["domain"] == "gone"][0])')
is "$state" hungup "list shows a console whose pty is gone as hung up"

done_testing
