#!/bin/bash
# SIGHUP: an added domain can be attached, a removed one's session ends with
# code 2, a changed pty's session ends with code 7, and a session on an
# untouched domain goes on as if nothing happened.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

# locked PTY: whether any lock file of the pty is in $T/lock.
locked() { ls "$T/lock" | grep -Eq "^LCK\.\.(_?pts_)?${1##*/}\$"; }

UUID1=3b5d7f9a-1c3e-4b5d-8f9a-1c3e5b7d9f1a
UUID2=9f1a3c5e-7b9d-4f1a-8c5e-7b9d1f3a5c7e
UUID3=5c7e9a1b-3d5f-4c7e-9a1b-3d5f7c9e1a3b
UUID4=e1a3b5c7-9d1f-4e3a-b5c7-9d1f3e5a7b9c
fakevm_start vm1 --echo --record "$T/vm1.rec"
fakevm_start vm2 --echo
fakevm_start vm3 --echo --record "$T/vm3.rec"
fakevm_start vm3b --echo --record "$T/vm3b.rec"
fakevm_start vm4 --echo --record "$T/vm4.rec"
domain_file vm1 $UUID1 "$PTY_vm1"
domain_file vm2 $UUID2 "$PTY_vm2"
domain_file vm3 $UUID3 "$PTY_vm3"
# The domains directory is read on SIGHUP only, so that one reload meets
# every change at once (t0375 covers following it live).
CB_FOLLOW=no broker_config
broker_start

pipe_client keep vm1
pipe_client gone vm2
pipe_client moved vm3
wait_for 10 "grep -q 'Connected to domain' '$T/keep.err' && grep -q 'Connected to domain' '$T/gone.err' &&
	grep -q 'Connected to domain' '$T/moved.err'"
ok $? "one writer attaches to each of three domains"
pipe_send keep "before-reload"$'\n'
wait_for 10 "grep -q before-reload '$T/vm1.rec' && grep -q before-reload '$T/keep.out'"
ok $? "the untouched domain's session carries bytes both ways"
locked "$PTY_vm2" && locked "$PTY_vm3"
ok $? "the devices of the sessions are locked"
out=$(cb console vm4 </dev/null 2>&1); rc=$?
is "$rc" 2 "a domain not yet in the configuration is exit code 2"

# The reload happens while the guest of the untouched domain is printing.
rm "$T/domains/vm2.xml"
domain_file vm3 $UUID3 "$PTY_vm3b"
domain_file vm4 $UUID4 "$PTY_vm4"
N=2000000
"$HELPERS/fakevm" --gen $N 3 > "$T/expect"
off=$(size_of "$T/keep.out")
vm_ctl vm1 "emit $N 3"
kill -HUP "$BROKER_PID"
wait_for 20 "grep -q 'reloaded:' '$T/broker.log'"
ok $? "the daemon reloads on SIGHUP"
like "$(grep 'reloaded:' "$T/broker.log")" "reloaded: 1 added, 1 removed, 1 changed, 1 unchanged" "it counts one added, removed, changed and unchanged console"

is "$(pipe_exit gone)" 2 "the removed domain's session ends with code 2"
like "$(cat "$T/gone.err")" "console vm2/serial0 was removed from the configuration" "and says why"
is "$(pipe_exit moved)" 7 "the session on the changed pty ends with code 7"
like "$(cat "$T/moved.err")" "console vm3/serial0 changed in the configuration" "and says why"
wait_for 10 "! locked '$PTY_vm2' && ! locked '$PTY_vm3'"
ok $? "their devices are released"

wait_status vm1 "^emitted $N$"
ok $? "the untouched domain's guest printed $N bytes across the reload"
wait_for 20 "[ \$(size_of '$T/keep.out') -ge \$(($off + $N)) ]"
ok $? "the untouched session received them"
tail -c +$((off + 1)) "$T/keep.out" | head -c $N | cmp -s - "$T/expect"
ok $? "every byte, in order"
pipe_send keep "after-reload"$'\n'
wait_for 10 "grep -q after-reload '$T/vm1.rec' && grep -q after-reload '$T/keep.out'"
ok $? "its input still reaches the guest, and the echo comes back"
vm_ctl vm1 "say guest-after-reload"
wait_for 10 "grep -q guest-after-reload '$T/keep.out'"
ok $? "the guest's output still reaches it"
[ ! -e "$T/keep.exit" ] && kill -0 "$PID_keep"
ok $? "it is the same client process, still running"
is "$(grep -v "^Connected to domain 'vm1'" "$T/keep.err")" "" "it was shown no notice"
is "$(cb list --json | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin) if e["domain"] == "vm1"][0]
print(e["state"], e["writer"])' | sed 's/.* pid \([0-9]*\) via unix$/\1/')" "$PID_keep" "list still shows it as the writer"

printf 'hello-vm4\n' | cb console vm4 >"$T/vm4.out" 2>"$T/vm4.err"; rc=$?
is "$rc" 0 "the added domain attaches"
grep -q hello-vm4 "$T/vm4.rec" && grep -q hello-vm4 "$T/vm4.out"
ok $? "and carries bytes both ways"
printf 'hello-vm3b\n' | cb console vm3 >"$T/vm3.out" 2>"$T/vm3.err"; rc=$?
is "$rc" 0 "the changed domain attaches again"
grep -q hello-vm3b "$T/vm3b.rec"
ok $? "on its new pty"
grep -q hello-vm3b "$T/vm3.rec"
ok $((! $?)) "not on the old one"
out=$(cb console vm2 </dev/null 2>&1); rc=$?
is "$rc" 2 "the removed domain is exit code 2"
like "$out" "no domain 'vm2'" "and is unknown"

# A reload that changes nothing leaves the session alone too.
kill -HUP "$BROKER_PID"
wait_for 20 "[ \$(grep -c 'reloaded:' '$T/broker.log') -ge 2 ]"
like "$(grep 'reloaded:' "$T/broker.log" | tail -n 1)" "reloaded: 0 added, 0 removed, 0 changed, 3 unchanged" "a second reload changes nothing"
pipe_send keep "after-second-reload"$'\n'
wait_for 10 "grep -q after-second-reload '$T/keep.out'"
ok $? "the untouched session still works"
pipe_eof keep
is "$(pipe_exit keep)" 0 "and ends normally at the end of its input"
kill -0 "$BROKER_PID"
ok $? "the daemon is still running"

# The daemon stops cleanly, and no sanitizer found anything in it.
broker_finish "the daemon exits with status 0 on SIGTERM" "the daemon's log has no sanitizer report"

done_testing
