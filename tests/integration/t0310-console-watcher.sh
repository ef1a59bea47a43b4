#!/bin/bash
# Read-only watchers: the writer's bytes, no input of their own, several at
# once, a console kept open by watchers alone, and their count in `list`.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

CB_HISTORY=1048576
fakevm_start vm1 --echo --record "$T/vm1.rec"
domain_file vm1 5b1e0c7a-3d2f-4a61-8c9e-7f6a5b4c3d21 "$PTY_vm1"
broker_config
broker_start

# One writer and three watchers, all without a terminal, so that their output
# can be compared byte for byte with what the guest sent.
pipe_client wr vm1
wait_for 10 "grep -q 'Connected to domain' '$T/wr.err'"
ok $? "the writer attaches"
for i in 1 2 3; do
	pipe_client wa$i vm1 --readonly
done
wait_for 10 "[ \"\$(list_field vm1 watchers)\" = 3 ]"
ok $? "list counts three watchers"
is "$(list_field vm1 state)" attached "list shows the console attached"
like "$(list_field vm1 writer)" "^uid [0-9]+ \([a-z0-9_-]+\) pid $PID_wr via unix$" "list names the writer beside the watchers"
like "$(cb list)" "vm1 +5b1e0c7a-3d2f-4a61-8c9e-7f6a5b4c3d21 +serial0 +attached +writer uid [0-9]+ .* 3 watchers" "the table shows the writer and 3 watchers"

N=300000
"$HELPERS/fakevm" --gen $N 31 > "$T/expect"
vm_ctl vm1 "emit $N 31"
wait_status vm1 "^emitted $N$"
ok $? "the guest emits $N bytes"
wait_for 20 "[ \$(size_of '$T/wr.out') -ge $N ] && [ \$(size_of '$T/wa1.out') -ge $N ] &&
	[ \$(size_of '$T/wa2.out') -ge $N ] && [ \$(size_of '$T/wa3.out') -ge $N ]"
ok $? "the writer and every watcher receive $N bytes"
cmp -s "$T/expect" "$T/wr.out"
ok $? "the writer's bytes are the guest's"
for i in 1 2 3; do
	cmp -s "$T/wr.out" "$T/wa$i.out"
	ok $? "watcher $i sees the same bytes as the writer"
done
grep -q "bytes of output skipped" "$T"/wa*.err
ok $((! $?)) "no watcher was told it missed output"

# A watcher on a terminal types: nothing reaches the guest, and it is told.
tmux_start tw "$CONBROKER -c unix:$T/sock console vm1 --readonly --no-history"
tmux_wait tw "Escape character is"
ok $? "a watcher on a terminal attaches"
like "$(tmux_screen tw)" "Connected to domain 'vm1' .*console serial0 \(read-only\)" "its banner says read-only"
tmux_keys tw "typed-by-watcher" Enter
tmux_wait tw "read-only session: input is ignored" 10
ok $? "the watcher is told its input is ignored"
pipe_send wr "typed-by-writer"
wait_for 10 "grep -q typed-by-writer '$T/vm1.rec'"
ok $? "the writer's input reaches the guest"
wait_for 10 "grep -q typed-by-writer '$T/wa1.out'"
ok $? "and the guest's echo reaches the watchers"
grep -q typed-by-watcher "$T/vm1.rec"
ok $((! $?)) "the watcher's input never reaches the guest"
tmux_wait tw "typed-by-writer" 10
ok $? "the watcher on a terminal sees the writer's echo"
# The broker enforces it too: a peer that opens read-only and sends DATA
# anyway (OPEN of vm1 with the READONLY flag, then "raw-watcher-input").
hex=$(printf raw-watcher-input | od -An -tx1 | tr -d ' \n')
"$HELPERS/rawpeer" "$T/sock" hello expect 100 10 \
	frame 200 "0003$(printf vm1 | od -An -tx1 | tr -d ' \n')00000000000100000000" \
	expect 201 10 frame 202 "$hex" expect 205 10 > "$T/raw.out" 2>&1
ok $? "a raw read-only peer that sends input gets a notice"
like "$(grep '^< NOTICE' "$T/raw.out")" "read-only session: input is ignored" "saying its input is ignored"
pipe_send wr "writer-marker-2"
wait_for 10 "grep -q writer-marker-2 '$T/vm1.rec'"
ok $? "the writer's next input reaches the guest"
grep -q raw-watcher-input "$T/vm1.rec"
ok $((! $?)) "the read-only peer's input never reaches the guest"
tmux_keys tw C-]
is "$(tmux_exit tw)" 0 "the escape character ends the watcher with exit code 0"

# The writer leaves: the watchers alone keep the console open.
pipe_eof wr
is "$(pipe_exit wr)" 0 "the writer ends at the end of its input"
wait_for 10 "[ \"\$(list_field vm1 writer)\" = null ]"
ok $? "list shows no writer once it has gone"
is "$(list_field vm1 watchers)" 3 "and still three watchers"
is "$(list_field vm1 state)" attached "the console stays attached"
ls "$T/lock" | grep -q "^LCK\.\.pts_${PTY_vm1##*/}$"
ok $? "the device stays locked while only watchers are attached"
like "$(cb list)" "vm1 .* attached +3 watchers" "the table shows 3 watchers and no writer"
vm_ctl vm1 "say output-for-watchers-only"
wait_for 10 "grep -q output-for-watchers-only '$T/wa1.out' && grep -q output-for-watchers-only '$T/wa2.out' &&
	grep -q output-for-watchers-only '$T/wa3.out'"
ok $? "the guest's output still reaches every watcher"

for i in 1 2 3; do kill -TERM "$(cat "$T/wa$i.pid")"; done
wait_for 10 "[ -s '$T/wa1.exit' ] && [ -s '$T/wa2.exit' ] && [ -s '$T/wa3.exit' ]"
ok $? "the watchers end when told to"
wait_for 10 "! ls '$T/lock' | grep -q LCK"
ok $? "the device is released once the last watcher is gone"
is "$(list_field vm1 state)" free "and the console is free"

# A lone watcher on a free console opens it by itself.
pipe_client wb vm1 --readonly --no-history
wait_for 10 "[ \"\$(list_field vm1 watchers)\" = 1 ]"
ok $? "a watcher attaches to a console nobody else uses"
ls "$T/lock" | grep -q "^LCK\.\.pts_${PTY_vm1##*/}$"
ok $? "the device is opened and locked for the lone watcher"
vm_ctl vm1 "say seen-by-lone-watcher"
wait_for 10 "grep -q seen-by-lone-watcher '$T/wb.out'"
ok $? "the lone watcher receives the guest's output"
is "$(list_field vm1 writer)" null "list shows no writer beside the lone watcher"

# The daemon stops cleanly, and no sanitizer found anything in it.
broker_finish "the daemon exits with status 0 on SIGTERM" "the daemon's log has no sanitizer report"

done_testing
