#!/bin/bash
# Bad peers are dropped with a log line that names them and the reason, and
# touch nothing else: a writer's session runs on beside them, the daemon
# keeps answering.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

fakevm_start vm1 --echo
fakevm_start vm2
domain_file vm1 1e2d3c4b-5a69-4788-97a6-b5c4d3e2f1a0 "$PTY_vm1"
domain_file vm2 2f3e4d5c-6b7a-4899-a8b7-c6d5e4f3a2b1 "$PTY_vm2"
broker_config
broker_start

# peer NAME STEP...: run rawpeer; its output in $T/NAME.out, its PID in PEER,
# its exit status in RC.
peer() {
	local name=$1; shift
	"$HELPERS/rawpeer" "$T/sock" "$@" > "$T/$name.out" 2>&1
	RC=$?
	PEER=$(sed -n 's/^pid //p' "$T/$name.out")
}

# dropped_for REGEX: the daemon logged dropping this PEER for that reason.
dropped_for() {
	wait_for 10 "grep -Eq -- 'pid $PEER via unix: (closing|dropping) connection: .*$1' '$T/broker.log'"
}

# writer_alive N: the writer's input still reaches the guest and comes back.
writer_alive() {
	fifo_send "$T/writer.in" "still-here-$1"$'\n' || return
	wait_for 10 "grep -q 'still-here-$1' '$T/writer.out'"
}

# A peer that never says hello; the daemon's deadline is 10 seconds, so it
# waits in the background while the other cases run.
"$HELPERS/rawpeer" "$T/sock" eof 30 > "$T/nohello.out" 2>&1 &
nohello=$!; cleanup_pid $nohello

# The writer whose session must not notice any of this.
client_start writer vm1 --no-history
ok $? "a writer attaches to vm1"
writer=$PID_writer
writer_alive 0
ok $? "its input reaches the guest and the echo comes back"

# Text instead of frames.
peer garbage raw "$(printf 'GET / HTTP/1.1\r\nHost: conbroker\r\n\r\n' | od -An -tx1 | tr -d ' \n')" eof 10
is "$RC" 0 "garbage text: the daemon closes the connection"
dropped_for "frame has an unknown message type"
ok $? "garbage text: logged with the reason"
writer_alive 1
ok $? "garbage text: the writer's session goes on"

# Binary noise with a plausible length.
peer noise raw 00000003deadbeef010203 eof 10
is "$RC" 0 "binary noise: the daemon closes the connection"
dropped_for "frame has an unknown message type"
ok $? "binary noise: logged with the reason"
writer_alive 2
ok $? "binary noise: the writer's session goes on"

# A header announcing 16 MiB: dropped on the header, no payload ever sent.
peer oversize hello expect 100 10 header 16777216 202 eof 10
is "$RC" 0 "oversized frame: the connection is closed before any payload is sent"
dropped_for "frame is larger than the maximum payload"
ok $? "oversized frame: logged with the reason"
writer_alive 3
ok $? "oversized frame: the writer's session goes on"

# Before its hello a peer may not announce more than a HELLO needs, even
# within the protocol's maximum: strangers get no full-size buffers.
peer bighello header 65536 100 eof 10
is "$RC" 0 "a large frame before hello: the connection is closed at its header"
dropped_for "a frame too large for a HELLO before the hello"
ok $? "a large frame before hello: logged with the reason"

# An OPEN whose devname runs past the end of its frame, then close.
peer truncated hello expect 100 10 frame 200 0003766d31001000000000000000
dropped_for "OPEN devname is truncated"
ok $? "truncated frame: logged with the decoder's reason"
writer_alive 4
ok $? "truncated frame: the writer's session goes on"

# A HELLO of a protocol version that does not exist.
peer version hello 99 eof 10
is "$RC" 0 "wrong version: the daemon closes the connection"
like "$(cat "$T/version.out")" "< ERROR code=1 protocol version 99 is not supported \(this broker speaks 1\)" \
	"wrong version: after an ERROR naming both versions"
wait_for 10 "grep -Eq 'pid $PEER via unix: protocol version 99 is not supported' '$T/broker.log'"
ok $? "wrong version: logged with the reason"
writer_alive 5
ok $? "wrong version: the writer's session goes on"

# LIST before HELLO.
peer early frame 300 00000000 eof 10
is "$RC" 0 "frame before HELLO: the daemon closes the connection"
dropped_for "sent a frame before HELLO"
ok $? "frame before HELLO: logged with the reason"
writer_alive 6
ok $? "frame before HELLO: the writer's session goes on"

# A frame only the broker may send: CLOSED.
peer servertype hello expect 100 10 frame 207 000000000000 eof 10
is "$RC" 0 "server-only frame: the daemon closes the connection"
dropped_for "unexpected CLOSED frame"
ok $? "server-only frame: logged with the reason"
writer_alive 7
ok $? "server-only frame: the writer's session goes on"

# Gone in the middle of a DATA frame, before and after attaching.
peer vanish hello expect 100 10 header 1000 202 raw 0102030405060708
dropped_for "."
ok $? "vanishing mid-frame: logged"
writer_alive 8
ok $? "vanishing mid-frame: the writer's session goes on"
peer vanish2 hello expect 100 10 open vm2 expect 201 10 header 1000 202 raw 0102030405060708
is "$RC" 0 "a peer attaches to vm2"
dropped_for "."
ok $? "vanishing mid-frame while attached: logged"
wait_for 10 "grep -q 'vm2/serial0: released' '$T/broker.log'"
ok $? "and vm2's device is released"
writer_alive 9
ok $? "vanishing mid-frame while attached: the writer's session goes on"

# The peer that said nothing is dropped once the hello deadline passes.
wait_for 20 "! kill -0 $nohello 2>/dev/null"
ok $? "no hello: the daemon closes the connection after its deadline"
wait $nohello
is $? 0 "no hello: the peer saw the end of the connection"
PEER=$nohello
dropped_for "said no hello in time"
ok $? "no hello: logged with the reason"
writer_alive 10
ok $? "no hello: the writer's session goes on"

cb list > "$T/list.out" 2>&1
ok $? "the daemon still answers list"
like "$(cat "$T/list.out")" "vm1 .*attached.*pid $writer " "vm1 is attached to the same writer"
like "$(grep vm2 "$T/list.out")" "free" "vm2 is free again"
check "the writer got no notice" [ "$(grep -c '^conbroker:' "$T/writer.err")" -eq 0 ]

client_end writer
ok $? "the writer ends at the end of its input"
is "$RC" 0 "with exit code 0"
broker_finish "the daemon exits 0 on SIGTERM" "no sanitizer report in the daemon's log"

done_testing
