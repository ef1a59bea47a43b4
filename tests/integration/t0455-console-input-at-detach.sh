#!/bin/bash
# Input written just before the last session leaves still reaches the guest,
# whole and in order: closing our side of the pty at once would throw away
# what the hypervisor has not read yet, so after late input the daemon holds
# the device a moment longer, then lets it go.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

fakevm_start vm1 --record "$T/vm1.rec"
domain_file vm1 5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a "$PTY_vm1"
broker_config
broker_start

N=$((512 * 1024))
"$HELPERS/fakevm" --gen $N 31 > "$T/input"
"$CONBROKER" -c "unix:$T/sock" console vm1 --linger 1 < "$T/input" > /dev/null 2> "$T/client.err"
is "$?" 0 "a piped writer sends $N bytes and ends at once (linger 1 ms)"
wait_for 10 "[ \$(size_of '$T/vm1.rec') -ge $N ]"
ok $? "every byte reaches the guest without another attach"
cmp -s "$T/input" "$T/vm1.rec"
ok $? "byte-exact, in order"
wait_for 10 "! ls '$T/lock' | grep -q LCK"
ok $? "then the device is let go: no lock file left"
out=$(cb list --json)
like "$out" '"state": "free"' "and the console is free"

broker_finish "the daemon stops cleanly" "the daemon's log has no sanitizer report"
done_testing
