#!/bin/bash
# The daemon's log lines: with stderr on the journal (JOURNAL_STREAM names
# stderr's device and inode), "<N>message" so the journal reads the
# priority; anywhere else, an ISO 8601 time in UTC and the level.
. "$(dirname "$0")/../lib.sh"

[ -x "$CONBROKERD" ] || skip_all "no $CONBROKERD"

# run_demo LOG [env...]: a demo daemon logging to LOG, started and stopped.
run_demo() {
	local log=$1 pid; shift
	rm -f "$T/ready"
	env "$@" "$CONBROKERD" --demo --socket "$T/sock" --ready-fd 3 3>"$T/ready" 2>"$log" &
	pid=$!
	cleanup_pid $pid
	wait_for 20 "[ -s '$T/ready' ]" || diag "the daemon did not start"
	kill -TERM $pid
	wait $pid
}

run_demo "$T/file.log" -u JOURNAL_STREAM
like "$(head -n 1 "$T/file.log")" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z conbrokerd: info: listening on unix:' \
	"in a file: an ISO 8601 UTC time, the program and the level"
is "$(grep -c '^<' "$T/file.log")" 0 "in a file: no priority prefix"
like "$(grep 'ready' "$T/file.log")" "ready: 1 domain\$" "one domain in the singular"

# The journal's stream is identified by stderr's device and inode.
: > "$T/journal.log"
stream=$(stat -c '%d:%i' "$T/journal.log")
run_demo "$T/journal.log" JOURNAL_STREAM="$stream"
like "$(head -n 1 "$T/journal.log")" '^<6>listening on unix:' \
	"on the journal: the priority prefix and the message only"
is "$(grep -vc '^<[0-9]>' "$T/journal.log")" 0 "on the journal: every line has its priority"

# A JOURNAL_STREAM inherited from a parent whose stderr was the journal,
# while ours is a file, is not the journal.
run_demo "$T/other.log" JOURNAL_STREAM="$stream"9
like "$(head -n 1 "$T/other.log")" '^[0-9]{4}-.*Z conbrokerd: info: ' \
	"JOURNAL_STREAM naming another file: timestamps, not the journal's prefix"
run_demo "$T/bad.log" JOURNAL_STREAM=garbage
like "$(head -n 1 "$T/bad.log")" '^[0-9]{4}-.*Z conbrokerd: info: ' \
	"a JOURNAL_STREAM that is not DEV:INO: timestamps"

done_testing
