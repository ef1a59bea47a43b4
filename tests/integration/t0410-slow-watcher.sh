#!/bin/bash
# Watchers never slow anyone: a stopped watcher and a slow one fall behind,
# skip ahead with a notice that counts the bytes they missed, while the guest
# emits at full speed and the writer gets every byte.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

M=$((16 * 1024 * 1024))
RATE=$((2 * 1024 * 1024))

# accounted NAME: bytes a watcher received plus bytes it was told it missed.
accounted() { echo $(( $(size_of "$T/$1.out") + $(skipped "$T/$1.err") )); }

fakevm_start vm1
domain_file vm1 0c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f "$PTY_vm1"
broker_config
broker_start

# The writer: input from a FIFO held open until the end, output to a file.
client_start writer vm1 --no-history
ok $? "the writer attaches"

# Two watchers: one will be stopped, one reads through slowcat.
"$CONBROKER" -c "unix:$T/sock" console vm1 --readonly --no-history < /dev/null \
	> "$T/stopped.out" 2> "$T/stopped.err" &
stopped=$!; cleanup_pid $stopped
cleanup_cmd "kill -CONT $stopped"
mkfifo "$T/slow.pipe"
"$HELPERS/slowcat" --rate $RATE < "$T/slow.pipe" > "$T/slow.out" &
cleanup_pid $!
"$CONBROKER" -c "unix:$T/sock" console vm1 --readonly --no-history < /dev/null \
	> "$T/slow.pipe" 2> "$T/slow.err" &
slow=$!; cleanup_pid $slow
wait_for 10 "grep -q 'pid $stopped via unix attached as watcher' '$T/broker.log' &&
	grep -q 'pid $slow via unix attached as watcher' '$T/broker.log'"
ok $? "two watchers attach"

kill -STOP $stopped
vm_ctl vm1 "emit $M 21"
wait_status vm1 "^emitted $M\$" 30
ok $? "the guest's emission of 16 MiB completes while a watcher is stopped"
like "$(ps -o stat= -p $stopped)" "^T" "and that watcher is still stopped then"
wait_for 30 "[ \$(size_of '$T/writer.out') -ge $M ]"
is "$(size_of "$T/writer.out")" "$M" "the writer receives every byte"
is "$(sum_of "$T/writer.out")" "$(gen_sum $M 21)" "byte-exact (sha256)"
grep -q "skipped" "$T/writer.err"
ok $((! $?)) "the writer is never told of skipped output"

kill -CONT $stopped
wait_for 20 "grep -q 'bytes of output skipped: this session fell behind' '$T/stopped.err'"
ok $? "the stopped watcher, resumed, is told that it fell behind"
like "$(skipped "$T/stopped.err")" "^[1-9][0-9]*$" "the notice counts the skipped bytes"
wait_for 20 "[ \$(accounted stopped) -ge $M ]"
is "$(accounted stopped)" "$M" "bytes received plus bytes skipped are all the guest emitted"
n=$(grep -c "bytes of output skipped" "$T/stopped.err")
is "$n" 1 "its output has one gap, and it is told once, with the total"
diag "stopped watcher: received $(size_of "$T/stopped.out") bytes, skipped $(skipped "$T/stopped.err") in $n notices"

wait_for 30 "[ \$(accounted slow) -ge $M ]"
is "$(accounted slow)" "$M" "the slow watcher too: received plus skipped is all of it"
check "the slow watcher was told it skipped output" grep -q "bytes of output skipped" "$T/slow.err"
n=$(grep -c "bytes of output skipped" "$T/slow.err")
diag "slow watcher: received $(size_of "$T/slow.out") bytes, skipped $(skipped "$T/slow.err") in $n notices"

# The writer still works, and ends normally.
client_end writer
ok $? "the writer ends at the end of its input"
is "$RC" 0 "with exit code 0"
cb list > "$T/list.out" 2>&1
ok $? "the daemon still answers list"
like "$(cat "$T/list.out")" "vm1" "naming the console"
broker_finish "the daemon exits 0 on SIGTERM" "no sanitizer report in the daemon's log"

done_testing
