#!/bin/bash
# Hangup: the guest's side of the pty goes away while a writer and a watcher
# are attached.  The last output is delivered, both end with code 7, the
# locks go, the daemon stays; the console is refused until a reload gives it
# a new pty, and then it attaches again.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

CB_HISTORY=4194304
UUID1=6e8a0c2d-4f6b-4c8d-9e0f-4a6b8c0d2e4f
fakevm_start vm1 --echo --record "$T/vm1.rec"
domain_file vm1 $UUID1 "$PTY_vm1"
fakevm_start vm2 --echo
domain_file vm2 1a3c5e7b-9d1f-4a3c-8e5a-7b9d1f3a5c7e "$PTY_vm2"
broker_config
broker_start

tmux_start W "$CONBROKER -c unix:$T/sock console vm1"
tmux_wait W "Escape character is"
ok $? "a writer attaches"
pipe_client R vm1 --readonly
wait_for 10 "[ \"\$(list_field vm1 watchers)\" = 1 ]"
ok $? "a watcher attaches"
pipe_client other vm2
wait_for 10 "grep -q 'Connected to domain' '$T/other.err'"
ok $? "a session on another domain attaches"
tmux_keys W "typed-before-hangup"
wait_for 10 "grep -q typed-before-hangup '$T/vm1.rec'"
ok $? "the writer's input reaches the guest"

# Last words, then the hypervisor closes its side at once: 16 KiB that are
# still in the pty when it goes, and two short lines to end with.
pad=$(printf '%0990d' 0)
for i in $(seq 10 25); do echo "say bulk-$i-$pad"; done > "$T/lastwords"
printf 'say last-words-one\nsay last-words-two\nhangup\n' >> "$T/lastwords"
cat "$T/lastwords" > "$T/vm1.ctl"
is "$(tmux_exit W)" 7 "the writer exits with code 7"
is "$(pipe_exit R)" 7 "the watcher exits with code 7"
screen=$(tmux_screen W)
like "$screen" "last-words-one" "the writer got the output sent just before the hangup"
like "$screen" "last-words-two" "all of it"
grep -q last-words-two "$T/R.out"
ok $? "so did the watcher"
is "$(grep -c "bulk-[0-9]*-$pad"$'\r'"\$" "$T/R.out")" 16 "the watcher got every line of the last 16 KiB, whole"
like "$screen" "console vm1/serial0 hung up: the domain stopped or closed $PTY_vm1" "the writer is told the console hung up"
like "$(cat "$T/R.err")" "console vm1/serial0 hung up" "the watcher is told the console hung up"
last=$(grep -n . "$T/R.out" | tail -n 1)
like "$last" "last-words-two" "the watcher's last output is the guest's last output"

wait_for 10 "! ls '$T/lock' | grep -qx 'LCK\.\.pts_${PTY_vm1##*/}'"
ok $? "no lock file of the hung-up pty remains"
ls "$T/lock" | grep -E "^LCK\.\.(_?pts_)?${PTY_vm1##*/}$" > "$T/left"
is "$(cat "$T/left")" "" "under any convention"
kill -0 "$BROKER_PID"
ok $? "the daemon keeps running"
is "$(list_field vm1 state)" hungup "list shows the console hung up"
pipe_send other "still-there"
wait_for 10 "grep -q still-there '$T/other.out'"
ok $? "a session on another domain goes on"

out=$(cb console vm1 </dev/null 2>&1); rc=$?
is "$rc" 7 "a new open is refused with code 7"
like "$out" "console vm1/serial0 hung up at .*reload conbrokerd" "and says why and what to do"
out=$(cb console vm1 --readonly </dev/null 2>&1); rc=$?
is "$rc" 7 "a watcher is refused with code 7 too"

# A reload that gives the console no new pty leaves it hung up: its old
# /dev/pts number is free for the next pty, which may be another guest's.
# Another program takes that number (new ptys get the lowest free one) and
# records what it is sent.
python3 - "$PTY_vm1" "$T/intruder.rec" "$T/intruder.ready" <<'PY' &
import os, select, sys, time
target, rec, ready = sys.argv[1:4]
held, found = [], None
# The kernel frees a pty's number a moment after its last close: hold what
# comes until the number is free again, or give up after 5 s.
deadline = time.monotonic() + 5
while found is None and len(held) < 512 and time.monotonic() < deadline:
    m, s = os.openpty()
    if os.ttyname(s) == target:
        found = m
        break
    held.append((m, s))
    if int(os.ttyname(s).rsplit("/", 1)[1]) > int(target.rsplit("/", 1)[1]):
        time.sleep(0.02)
for m, s in held:
    os.close(m)
    os.close(s)
with open(ready + ".tmp", "w") as f:
    f.write("took " + target if found is not None else "missed")
os.rename(ready + ".tmp", ready)
while found is not None:
    select.select([found], [], [])
    data = os.read(found, 4096)
    with open(rec, "ab") as f:
        f.write(data)
PY
cleanup_pid $!
wait_for 10 "[ -s '$T/intruder.ready' ]"
ok $? "another program allocates ptys"
: >> "$T/intruder.rec"
kill -HUP "$BROKER_PID"
wait_for 20 "grep -q 'reloaded:' '$T/broker.log'"
ok $? "a reload with the domain file unchanged"
if [ "$(cat "$T/intruder.ready")" = "took $PTY_vm1" ]; then
	printf 'meant-for-vm1\n' | cb console vm1 >"$T/stale.out" 2>"$T/stale.err"; rc=$?
	is "$rc" 7 "leaves the console refused with code 7"
	grep -q meant-for-vm1 "$T/intruder.rec"
	ok $((! $?)) "nothing meant for it reaches the pty that took its old path"
else
	# Another test has the old number: do not write into its pty.
	ok 0 "leaves the console refused with code 7 # SKIP $PTY_vm1 was taken elsewhere"
	ok 0 "nothing meant for it reaches the pty that took its old path # SKIP likewise"
fi

# The domain comes back on a new pty: a reload makes it attachable.
fakevm_start vm1b --echo --record "$T/vm1b.rec"
domain_file vm1 $UUID1 "$PTY_vm1b"
kill -HUP "$BROKER_PID"
wait_for 20 "[ \"\$(list_field vm1 pty)\" = '$PTY_vm1b' ]"
ok $? "after the reload list shows the new pty"
is "$(list_field vm1 state)" free "and the console free"
printf 'typed-after-reload\n' | cb console vm1 >"$T/after.out" 2>"$T/after.err"; rc=$?
is "$rc" 0 "the console attaches again"
grep -q typed-after-reload "$T/vm1b.rec"
ok $? "input reaches the guest's new pty"
grep -q typed-after-reload "$T/after.out"
ok $? "and its echo comes back"
like "$(cat "$T/after.err")" "Connected to domain 'vm1' \($UUID1\), console serial0" "with the usual banner"
pipe_send other "after-reload-too"
wait_for 10 "grep -q after-reload-too '$T/other.out'"
ok $? "the other domain's session survived the reload"
kill -0 "$BROKER_PID"
ok $? "the daemon is still running"

# A watcher that reads slowly: what the daemon read before the hangup is still
# delivered to it, whole and in order, before the reason.  Its standard output
# is a FIFO that nobody reads until the console has hung up.
N=3000000
"$HELPERS/fakevm" --gen $N 77 > "$T/expect"
pipe_client W2 vm1 --no-history
wait_for 10 "grep -q 'Connected to domain' '$T/W2.err'"
ok $? "a writer attaches to the new pty"
mkfifo "$T/S.fifo"
sleep 100000 < "$T/S.fifo" &
cleanup_pid $!
( "$CONBROKER" -c "unix:$T/sock" console vm1 --readonly --no-history >"$T/S.fifo" 2>"$T/S.err" &
  echo $! > "$T/S.pid"; wait $!; echo $? > "$T/S.exit.tmp"; mv "$T/S.exit.tmp" "$T/S.exit" ) &
wait_for 10 "[ -s '$T/S.pid' ]" && cleanup_pid "$(cat "$T/S.pid")"
wait_for 10 "[ \"\$(list_field vm1 watchers)\" = 1 ]"
ok $? "a watcher that does not read attaches"
vm_ctl vm1b "emit $N 77"
wait_status vm1b "^emitted $N$"
ok $? "the guest prints $N bytes"
wait_for 20 "[ \$(size_of '$T/W2.out') -ge $N ]"
ok $? "the writer receives them all: the daemon has read them"
vm_ctl vm1b hangup
is "$(pipe_exit W2)" 7 "the writer exits with code 7"
cmp -s "$T/expect" "$T/W2.out"
ok $? "after every byte the guest sent"
wait_for 10 "! ls '$T/lock' | grep -Eq '^LCK\.\.(_?pts_)?${PTY_vm1b##*/}\$'"
ok $? "the locks are released at once"
[ ! -e "$T/S.exit" ]
ok $? "the watcher that does not read is still being served"
cat "$T/S.fifo" > "$T/S.out" &
cleanup_pid $!
wait_for 20 "[ -s '$T/S.exit' ]"
is "$(cat "$T/S.exit" 2>/dev/null)" 7 "once it reads, it exits with code 7"
cmp -s "$T/expect" "$T/S.out"
ok $? "after every byte the console had read, in order"
grep -q "bytes of output skipped" "$T/S.err"
ok $((! $?)) "without a bytes-missed notice"
like "$(cat "$T/S.err")" "console vm1/serial0 hung up" "and is told the console hung up"

# The daemon stops cleanly, and no sanitizer found anything in it.
broker_finish "the daemon exits with status 0 on SIGTERM" "the daemon's log has no sanitizer report"

done_testing
