#!/bin/bash
# A crowd of watchers (past the few that are sent to at once) still sees the
# console: every line at a human's pace, and at full speed every byte is
# either received or counted in a skipped-bytes notice.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

W=8
fakevm_start vm1 --echo
domain_file vm1 7e0d4c1b-2a39-4f58-8b6e-9d0c1f2e3a4b "$PTY_vm1"
broker_config
broker_start

for i in $(seq $W); do
	"$CONBROKER" -c "unix:$T/sock" console vm1 --readonly --no-history \
		</dev/null >"$T/w$i.out" 2>"$T/w$i.err" &
	cleanup_pid $!
done
wait_for 20 "[ \$(cat '$T'/w*.err 2>/dev/null | grep -c 'Connected to domain') -eq $W ]"
ok $? "$W watchers attach"
wait_for 10 "cb list --json | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[0][\"watchers\"] == $W else 1)'"
ok $? "list counts $W watchers"

# At a human's pace: every line, in order, for every watcher.
for n in $(seq 40); do vm_ctl vm1 "say line-$n-of-40"; done
all=0
for i in $(seq $W); do
	wait_for 20 "grep -q 'line-40-of-40' '$T/w$i.out'" || all=1
done
ok $all "every watcher sees the last line"
want=$(seq 40 | sed 's/.*/line-&-of-40/')
bad=0
for i in $(seq $W); do
	got=$(tr -d '\r' < "$T/w$i.out" | grep '^line-')
	[ "$got" = "$want" ] || { bad=1; diag "watcher $i: $(echo "$got" | wc -l) lines"; }
done
ok $bad "every watcher has every line, in order, nothing skipped"

# At full speed: received plus skipped is everything, for every watcher.
N=$((4 * 1024 * 1024))
declare -A before
for i in $(seq $W); do before[$i]=$(stat -c %s "$T/w$i.out"); done
vm_ctl vm1 "emit $N 9"
wait_status vm1 "^emitted $N\$" 60
ok $? "the guest emits $N bytes with $W watchers attached"
acct=0
for i in $(seq $W); do
	wait_for 30 "python3 - '$T/w$i.out' '$T/w$i.err' $N ${before[$i]} <<'PY'
import re, sys
got = __import__('os').path.getsize(sys.argv[1]) - int(sys.argv[4])
skipped = sum(int(m) for m in re.findall(r'(\d+) bytes of output skipped', open(sys.argv[2]).read()))
sys.exit(0 if got + skipped == int(sys.argv[3]) else 1)
PY" || { acct=1; diag "watcher $i: received $(stat -c %s "$T/w$i.out")"; }
done
ok $acct "for every watcher, received plus skipped is all of it"

broker_finish "the daemon stops cleanly" "the daemon's log has no sanitizer report"
done_testing
