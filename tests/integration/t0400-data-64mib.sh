#!/bin/bash
# 64 MiB byte-exact through the broker in both directions, and with a writer
# that reads slowly: the guest is held back, nothing is lost.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

N=$((64 * 1024 * 1024))
# The slow writer: SLOW bytes read at RATE bytes a second.  Between the guest
# and the slow reader sit the pty, the ring, the daemon's output budget, the
# socket, the client's output buffer and a pipe: together well under SLACK.
# The same bound holds for input, between a producer and the guest.
SLOW=$((8 * 1024 * 1024))
RATE=$((4 * 1024 * 1024))
SLACK=$((3 * 1024 * 1024))

rate_of() { # rate_of BYTES MS: MiB/s with one decimal
	local r=$(( $1 * 10000 / ($2 > 0 ? $2 : 1) / 1048576 ))
	echo "$((r / 10)).$((r % 10))"
}

fakevm_start vm1 --record "$T/vm1.rec"
domain_file vm1 6f0e5c1a-2b3d-4c5e-8f90-a1b2c3d4e5f6 "$PTY_vm1"
broker_config
broker_start

# Guest to client: the guest emits 64 MiB, a writer whose stdout is a file.
want=$(gen_sum $N 11)
client_start g2c vm1 --no-history
ok $? "a non-tty writer attaches"
t0=$(now_ms)
vm_ctl vm1 "emit $N 11"
wait_status vm1 "^emitted $N\$" 60
ok $? "the guest emits 64 MiB"
wait_for 60 "[ \$(size_of '$T/g2c.out') -ge $N ]"
t1=$(now_ms)
is "$(size_of "$T/g2c.out")" "$N" "the client writes exactly 64 MiB to its stdout"
is "$(sum_of "$T/g2c.out")" "$want" "the client's output is byte-exact (sha256)"
client_end g2c
is "$RC" 0 "the writer ends with exit code 0 at end of input"
is "$(grep -c '^conbroker:' "$T/g2c.err")" 0 "with no notice: its stream is lossless"
diag "guest to client: $N bytes in $((t1 - t0)) ms ($(rate_of $N $((t1 - t0))) MiB/s)"

# Client to guest: 64 MiB piped into a writer, recorded by the guest.  A
# watcher keeps the console open meanwhile: like QEMU, the guest reads
# nothing while nobody has the pty open, so input still in the pty when the
# writer leaves would reach it only at the next attach.
want=$(gen_sum $N 12)
"$CONBROKER" -c "unix:$T/sock" console vm1 --readonly --no-history < /dev/null \
	> "$T/c2g-watch.out" 2> "$T/c2g-watch.err" &
watcher=$!; cleanup_pid $watcher
wait_for 10 "grep -q 'pid $watcher via unix attached as watcher' '$T/broker.log'"
ok $? "a watcher attaches and holds the console open"
mkfifo "$T/c2g.pipe"
t0=$(now_ms)
"$HELPERS/fakevm" --gen $N 12 > "$T/c2g.pipe" &
gen=$!; cleanup_pid $gen
"$CONBROKER" -c "unix:$T/sock" console vm1 --no-history < "$T/c2g.pipe" \
	> "$T/c2g.out" 2> "$T/c2g.err" &
c2g=$!; cleanup_pid $c2g
wait_for 60 "! kill -0 $gen 2>/dev/null"
got=$(size_of "$T/vm1.rec")
check "backpressure reaches the producer: it finished only when the guest was near the end" \
	[ "$got" -ge $((N - SLACK)) ]
diag "the guest had $got of $N bytes when the producer finished"
wait_for 60 "[ \$(size_of '$T/vm1.rec') -ge $N ]"
t1=$(now_ms)
wait_for 20 "! kill -0 $c2g 2>/dev/null"
ok $? "the piped writer ends after its input"
wait $c2g
is $? 0 "with exit code 0"
is "$(size_of "$T/vm1.rec")" "$N" "the guest receives exactly 64 MiB"
is "$(sum_of "$T/vm1.rec")" "$want" "the guest's input is byte-exact (sha256)"
is "$(size_of "$T/c2g.out")" 0 "and the writer got no output it did not cause"
kill "$watcher"
wait_for 10 "! kill -0 $watcher 2>/dev/null"
ok $? "the watcher leaves"
diag "client to guest: $N bytes in $((t1 - t0)) ms ($(rate_of $N $((t1 - t0))) MiB/s)"

# A writer that reads slowly: its stdout goes through slowcat.
want=$(gen_sum $SLOW 13)
mkfifo "$T/slow.pipe"
"$HELPERS/slowcat" --rate $RATE < "$T/slow.pipe" > "$T/slow.out" &
slowcat=$!; cleanup_pid $slowcat
CLIENT_OUT=$T/slow.pipe client_start slow vm1 --no-history
ok $? "a writer that reads slowly attaches"
t0=$(now_ms)
vm_ctl vm1 "emit $SLOW 13"
wait_status vm1 "^emitted $SLOW\$" $((SLOW / RATE + 30))
ok $? "the guest's emission completes"
t1=$(now_ms)
got=$(size_of "$T/slow.out")
check "the guest was held back: it finished only when the slow reader was near the end" \
	[ "$got" -ge $((SLOW - SLACK)) ]
diag "the slow reader had $got of $SLOW bytes when the guest finished"
wait_for $((SLOW / RATE + 30)) "[ \$(size_of '$T/slow.out') -ge $SLOW ]"
is "$(size_of "$T/slow.out")" "$SLOW" "the slow reader gets every byte"
is "$(sum_of "$T/slow.out")" "$want" "byte-exact (sha256)"
client_end slow
is "$RC" 0 "the slow writer ends with exit code 0"
wait_for 10 "! kill -0 $slowcat 2>/dev/null"
ok $? "the slow reader sees the end of its input"
grep -q "bytes of output skipped" "$T/slow.err"
ok $((! $?)) "the slow writer was never told of skipped output"
diag "slow writer: the guest took $((t1 - t0)) ms for $SLOW bytes at $RATE bytes/s"

kill -0 "$BROKER_PID" 2>/dev/null
ok $? "the daemon is still running"
broker_finish "and exits 0 on SIGTERM" "no sanitizer report in the daemon's log"

done_testing
