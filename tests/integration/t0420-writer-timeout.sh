#!/bin/bash
# A writer that stops reading holds the guest back only for the configured
# writer-timeout; then it is switched to the watchers' rule, with a notice,
# and the guest runs free.  Nothing is lost without a notice.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

CB_WRITER_TIMEOUT=2
CB_HISTORY=65536
# Far more than the ring, the daemon's output budget and the socket hold.
M=$((4 * 1024 * 1024))
M2=$((1024 * 1024))

fakevm_start vm1
domain_file vm1 7d6c5b4a-3e2f-4a1b-8c9d-0e1f2a3b4c5d "$PTY_vm1"
broker_config
broker_start

client_start writer vm1 --no-history
ok $? "the writer attaches"
writer=$PID_writer
cleanup_cmd "kill -CONT $writer"

kill -STOP $writer
t0=$(now_ms)
vm_ctl vm1 "emit $M 31"
wait_status vm1 "^emitted $M\$" 30
ok $? "the guest's emission completes while the writer is stopped"
t1=$(now_ms)
log=$(cat "$T/broker.log")
check "the guest was held back for the writer timeout first" \
	[ $((t1 - t0)) -ge $((CB_WRITER_TIMEOUT * 900)) ]
diag "the emission took $((t1 - t0)) ms with a writer timeout of ${CB_WRITER_TIMEOUT}s"
like "$log" "vm1/serial0: uid [0-9]+ \([^)]*\) pid $writer via unix stopped reading for ${CB_WRITER_TIMEOUT}s: output to it is now skipped when it falls behind" \
	"the daemon logs the switch, naming the writer, before the guest runs free"
like "$(ps -o stat= -p $writer)" "^T" "the writer was stopped all along"

kill -CONT $writer
wait_for 20 "grep -q 'bytes of output skipped' '$T/writer.err'"
ok $? "the resumed writer is told that output was skipped"
like "$(cat "$T/writer.err")" "conbroker: you stopped reading for ${CB_WRITER_TIMEOUT}s: output is now skipped while you are behind" \
	"and why: it stopped reading"
wait_for 20 "[ \$(( \$(size_of '$T/writer.out') + \$(skipped '$T/writer.err') )) -ge $M ]"
is "$(( $(size_of "$T/writer.out") + $(skipped "$T/writer.err") ))" "$M" \
	"bytes received plus bytes skipped are all the guest emitted"
diag "writer: received $(size_of "$T/writer.out") bytes, skipped $(skipped "$T/writer.err") in $(grep -c 'bytes of output skipped' "$T/writer.err") notices"

notices=$(grep -c 'bytes of output skipped' "$T/writer.err")
is "$notices" 1 "its output has one gap, and it is told once, with the total"

# Once it has caught up, the writer's stream is lossless again.
before=$(size_of "$T/writer.out")
vm_ctl vm1 "emit $M2 32"
wait_status vm1 "^emitted $M2\$" 30
wait_for 20 "[ \$(size_of '$T/writer.out') -ge $((before + M2)) ]"
is "$(size_of "$T/writer.out")" "$((before + M2))" "a later emission reaches the writer whole"
is "$(tail -c $M2 "$T/writer.out" | sha256sum)" "$("$HELPERS/fakevm" --gen $M2 32 | sha256sum)" \
	"byte-exact (sha256)"
is "$(grep -c 'bytes of output skipped' "$T/writer.err")" "$notices" "with no new skipped-output notice"

client_end writer
ok $? "the writer ends at the end of its input"
is "$RC" 0 "with exit code 0"
broker_finish "the daemon exits 0 on SIGTERM" "no sanitizer report in the daemon's log"

done_testing
