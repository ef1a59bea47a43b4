#!/bin/bash
# History: what the console printed before is replayed on attach (bounded by
# the ring), --no-history starts with new output only, and capture 'always'
# keeps the boot messages that came before anyone attached.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

fakevm_start vm1 --echo
domain_file vm1 2f4e6a8c-0b1d-4e3f-a5c7-9e1b3d5f7a9c "$PTY_vm1"
fakevm_start vm2
domain_file vm2 7a9c1e3b-5d7f-4b1a-8c3e-5f7a9b1d3e5f "$PTY_vm2" "$CAPTURE_ALWAYS"
broker_config
broker_start

# Output that a first session saw is replayed, byte for byte, to the next.
pipe_client s1 vm1
wait_for 10 "grep -q 'Connected to domain' '$T/s1.err'"
ok $? "a first session attaches"
"$HELPERS/fakevm" --gen 4000 5 > "$T/expect1"
vm_ctl vm1 "emit 4000 5"
wait_for 10 "[ \$(size_of '$T/s1.out') -ge 4000 ]"
ok $? "it receives what the guest prints"
pipe_eof s1
is "$(pipe_exit s1)" 0 "and ends"
wait_for 10 "! ls '$T/lock' | grep -Eq '^LCK\.\.(_?pts_)?${PTY_vm1##*/}\$'"
ok $? "the device is released while nobody is attached"

cb console vm1 </dev/null >"$T/s2.out" 2>"$T/s2.err"; rc=$?
is "$rc" 0 "a second session attaches and ends at the end of its input"
cmp -s "$T/expect1" "$T/s2.out"
ok $? "it is shown exactly what the first session saw"

pipe_client wh vm1 --readonly
wait_for 10 "[ \$(size_of '$T/wh.out') -ge 4000 ]"
ok $? "a watcher is shown the history too"
cmp -s "$T/expect1" "$T/wh.out"
ok $? "the same bytes"
kill -TERM "$PID_wh"
pipe_exit wh >/dev/null

# --no-history: only what the console prints after the attach.
pipe_client s3 vm1 --no-history
wait_for 10 "grep -q 'Connected to domain' '$T/s3.err'"
ok $? "a session with --no-history attaches"
vm_ctl vm1 "say fresh-line"
wait_for 10 "grep -q fresh-line '$T/s3.out'"
ok $? "it receives new output"
pipe_eof s3
is "$(pipe_exit s3)" 0 "and ends"
is "$(od -An -c "$T/s3.out" | tr -s ' ')" "$(printf 'fresh-line\r\n' | od -An -c | tr -s ' ')" "it was shown no history, only the new output"

cb console vm1 --no-history </dev/null >"$T/s4.out" 2>"$T/s4.err"; rc=$?
is "$rc" 0 "a session with --no-history and nothing new ends"
is "$(size_of "$T/s4.out")" 0 "and was shown nothing"

{ cat "$T/expect1"; printf 'fresh-line\r\n'; } > "$T/expect2"
cb console vm1 </dev/null >"$T/s5.out" 2>"$T/s5.err"; rc=$?
is "$rc" 0 "a later session attaches"
cmp -s "$T/expect2" "$T/s5.out"
ok $? "its history holds both earlier sessions' output, in order"

# The history is bounded by the ring (65536 bytes here): the latest bytes win.
pipe_client s6 vm1
wait_for 10 "grep -q 'Connected to domain' '$T/s6.err'"
vm_ctl vm1 "emit 100000 9"
wait_for 20 "[ \$(size_of '$T/s6.out') -ge \$((4012 + 100000)) ]"
ok $? "a session receives 100000 more bytes"
pipe_eof s6
pipe_exit s6 >/dev/null
{ cat "$T/expect2"; "$HELPERS/fakevm" --gen 100000 9; } | tail -c 65536 > "$T/expect3"
cb console vm1 </dev/null >"$T/s7.out" 2>"$T/s7.err"; rc=$?
is "$rc" 0 "the next session attaches"
is "$(size_of "$T/s7.out")" 65536 "it is shown one ring of history"
cmp -s "$T/expect3" "$T/s7.out"
ok $? "the latest 65536 bytes, exactly"

# capture='always': the daemon holds the device from start-up, so what the
# guest printed before anyone attached is in the history.
wait_status vm2 "^opened$" 10
ok $? "the daemon opens a capture='always' console at start-up"
"$HELPERS/lockctl" probe "$T/lock" "$PTY_vm2" > "$T/vm2.probe" 2>&1
grep -q " $BROKER_PID conbrokerd " "$T/vm2.probe"
ok $? "and holds its locks before anyone attached"
vm_ctl vm2 "say [    0.000000] Linux version 6.1.0 (boot message 1)"
vm_ctl vm2 "say [    0.004000] Command line: console=ttyS0 (boot message 2)"
vm_ctl vm2 "say login: "
cb console vm2 </dev/null >"$T/b1.out" 2>"$T/b1.err"; rc=$?
is "$rc" 0 "a session attaches to the capture='always' console"
printf '[    0.000000] Linux version 6.1.0 (boot message 1)\r\n[    0.004000] Command line: console=ttyS0 (boot message 2)\r\nlogin: \r\n' > "$T/boot.expect"
cmp -s "$T/boot.expect" "$T/b1.out"
ok $? "it is shown the boot messages printed before anyone attached"
ls "$T/lock" | grep -q "^LCK\.\.pts_${PTY_vm2##*/}$"
ok $? "the daemon keeps the device locked after the session"
vm_ctl vm2 "say printed-while-detached"
cb console vm2 </dev/null >"$T/b2.out" 2>"$T/b2.err"; rc=$?
is "$rc" 0 "a second session attaches"
grep -q printed-while-detached "$T/b2.out"
ok $? "it is shown what the guest printed between the sessions"

# The daemon stops cleanly, and no sanitizer found anything in it.
broker_finish "the daemon exits with status 0 on SIGTERM" "the daemon's log has no sanitizer report"

done_testing
