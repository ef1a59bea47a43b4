#!/bin/bash
# Nobody blocks a console by writing into the lock directory: a lock file
# that names the daemon's own PID but that the daemon does not hold is
# broken (and logged), entries at the temporary names of old are never in
# the way, and `list` says what an attach meets.  A daemon that is PID 1 of
# a PID namespace, SIGKILLed and started again at once, finds files naming
# its own PID and takes them over.  A symlink or a FIFO at a lock name is
# still refused and never followed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

[ -x "$HELPERS/lockctl" ] || skip_all "lockctl is not built in $HELPERS"

fakevm_start vm1 --echo
domain_file vm1 4b5a6978-8796-4a5b-bc3d-2e1f0a9b8c01 "$PTY_vm1"
broker_config
broker_start

# lock_names PTY: the lock file names of a pty, one a line.
lock_names() { "$HELPERS/lockctl" names "$1" | awk '{ print $2 }'; }
# plant PTY TEXT: TEXT in a file at every lock name of PTY, as a user would
# write it (no temporary file, no link).
plant() {
	local name
	for name in $(lock_names "$1"); do printf '%s' "$2" > "$T/lock/$name"; done
}
# locks_of PTY: the lock files of PTY that exist now, as "NAME:CONTENT".
locks_of() {
	local name
	for name in $(lock_names "$1"); do
		[ -e "$T/lock/$name" ] && printf '%s:%s ' "$name" "$(tr -d ' \n' < "$T/lock/$name")"
	done
}
# attach_once DOMAIN: attach, say "hi" through the guest, detach; the client's
# exit status in RC and its stderr in $T/once.err.
attach_once() {
	pipe_client once "$1"
	pipe_send once "echo planted-ok"
	pipe_send once "$(printf '\r')"
	wait_for 10 "grep -q planted-ok '$T/once.out'"
	pipe_eof once
	RC=$(pipe_exit once)
}
fhs=$T/lock/$(lock_names "$PTY_vm1" | head -n 1)

# --- A lock file naming the daemon's PID, written by someone else. -------
plant "$PTY_vm1" "$(printf '%10d\n' "$BROKER_PID")"
ino_before=$(stat -c %i "$fhs")
is "$(list_field vm1 state)" free "own PID planted: list says free"
attach_once vm1
is "$RC" 0 "own PID planted: the console attaches (exit 0)"
grep -q planted-ok "$T/once.out"
ok $? "and works"
[ "$RC" = 0 ] || diag "client said: $(cat "$T/once.err")"
is "$(logged "broke stale lock file $fhs left by process $BROKER_PID, this process's own PID, which does not hold it")" 1 \
	"the daemon logs breaking the planted file, naming it"
wait_for 10 "[ -z \"\$(locks_of '$PTY_vm1')\" ]"
is "$(locks_of "$PTY_vm1")" "" "after the detach no lock file is left"

# The same, planted while the daemon holds the console: the files are its
# own then, and a planted file elsewhere changes nothing.
client_start writer vm1
ok $? "a writer attaches"
is "$(tr -d ' \n' < "$fhs")" "$BROKER_PID" "the lock file is the daemon's"
ino_held=$(stat -c %i "$fhs")
check "it is a new file, not the planted one" [ "$ino_held" != "$ino_before" ]
out=$(cb console vm1 < /dev/null 2>&1); rc=$?
is "$rc" 3 "a second writer is refused as busy (3), not as locked (4)"
is "$(printf '%s' "$out" | grep -c 'held by this process')" 0 "and not blamed on the daemon itself: $out"
client_end writer
is "$RC" 0 "the writer ends normally"

# As another user, in a sticky lock directory like /var/lock.
if [ "$(id -u)" = 0 ] && command -v runuser > /dev/null; then
	chmod 0711 "$T"
	chmod 1777 "$T/lock"
	for name in $(lock_names "$PTY_vm1"); do
		runuser -u nobody -- sh -c "printf '%10d\n' $BROKER_PID > '$T/lock/$name'"
	done
	is "$(stat -c %U "$fhs")" nobody "planted by nobody"
	is "$(list_field vm1 state)" free "list says free"
	attach_once vm1
	is "$RC" 0 "own PID planted by nobody in a sticky directory: attaches"
	wait_for 10 "[ -z \"\$(locks_of '$PTY_vm1')\" ]"
	is "$(locks_of "$PTY_vm1")" "" "and nothing is left"
	chmod 0755 "$T/lock"
	chmod 0700 "$T"
else
	ok 0 "# SKIP planting as another user needs root and runuser"
fi

# --- Entries at the temporary names the daemon once used. ----------------
mkdir "$T/precious"
echo keep > "$T/precious/file"
for i in 0 1 2 3 4 5 6 7; do mkdir "$T/lock/LTMP.conbroker.$BROKER_PID.$i"; done
echo x > "$T/lock/LTMP.conbroker.$BROKER_PID.8"
ln -s "$T/precious/file" "$T/lock/LTMP.conbroker.$BROKER_PID.9"
mkfifo "$T/lock/LTMP.conbroker.$BROKER_PID.10"
planted=$(ls "$T/lock" | sort | tr '\n' ' ')
is "$(list_field vm1 state)" free "temp names planted: list says free"
attach_once vm1
is "$RC" 0 "temp names planted: the console attaches (exit 0)"
[ "$RC" = 0 ] || diag "client said: $(cat "$T/once.err")"
wait_for 10 "[ -z \"\$(locks_of '$PTY_vm1')\" ]"
is "$(ls "$T/lock" | sort | tr '\n' ' ')" "$planted" "the planted entries are left as they were, nothing added"
is "$(cat "$T/precious/file")" keep "the symlink's target is untouched"
rm -rf "$T/lock"/LTMP.*

# --- Hostile entries at a lock name: refused, never followed. ------------
ln -s "$T/precious/file" "$fhs"
like "$(cb list 2>&1)" "vm1 .*locked" "a symlink at the lock name: list says locked"
out=$(cb console vm1 < /dev/null 2>&1); rc=$?
is "$rc" 4 "and an attach is refused (4)"
like "$out" "symbolic link" "naming what it is: $out"
is "$(cat "$T/precious/file")" keep "its target is untouched"
check "the symlink stays" [ -L "$fhs" ]
rm -f "$fhs"

mkfifo "$fhs"
like "$(cb list 2>&1)" "vm1 .*locked" "a FIFO at the lock name: list says locked"
out=$(timeout 20 "$CONBROKER" -c "unix:$T/sock" console vm1 < /dev/null 2>&1); rc=$?
is "$rc" 4 "and an attach is refused (4), without hanging"
like "$out" "FIFO" "naming what it is: $out"
rm -f "$fhs"
attach_once vm1
is "$RC" 0 "once it is gone the console attaches"
broker_stop
is "$BROKER_STATUS" 0 "the daemon exits 0 on SIGTERM"

# --- PID 1 of a PID namespace, SIGKILLed and started again at once. -------
if [ "$(id -u)" != 0 ]; then
	ok 0 "# SKIP a daemon as PID 1 of a PID namespace needs root"
elif ! unshare --pid --fork --mount-proc true 2>/dev/null; then
	ok 0 "# SKIP unshare --pid --fork --mount-proc does not work here"
else
	# The daemon cannot see fakevm's PID from its namespace: trust the path,
	# and capture from the start, so that it holds the pty when killed.
	fakevm_start vm2 --echo
	DOMAIN_OWNER=none domain_file vm2 4b5a6978-8796-4a5b-bc3d-2e1f0a9b8c02 "$PTY_vm2" "
  <metadata>
    <cb:consoles xmlns:cb='http://conbroker.org/schemas/domain/1.0'>
      <cb:console alias='serial0' capture='always' trust='path'/>
    </cb:consoles>
  </metadata>"
	rm -f "$T/domains/vm1.xml"
	fhs2=$T/lock/$(lock_names "$PTY_vm2" | head -n 1)

	# pidns_start: the daemon as PID 1 of a new PID namespace; the unshare
	# process in NS_PID, the daemon (as this namespace sees it) in NS_DAEMON.
	pidns_start() {
		rm -f "$T/ready"
		unshare --pid --fork --mount-proc \
			"$CONBROKERD" -f "$T/conbroker.xml" --ready-fd 3 3>"$T/ready" 2>>"$T/broker.log" &
		NS_PID=$!
		cleanup_pid $NS_PID
		wait_for 20 "[ -s '$T/ready' ] || ! kill -0 $NS_PID 2>/dev/null"
		[ -s "$T/ready" ] || return 1
		NS_DAEMON=$(pgrep -P "$NS_PID" -x conbrokerd)
		cleanup_pid "$NS_DAEMON"
		[ -n "$NS_DAEMON" ]
	}
	: > "$T/broker.log"
	pidns_start
	ok $? "a daemon starts as PID 1 of a PID namespace"
	wait_for 10 "[ -s '$fhs2' ]"
	is "$(tr -d ' \n' < "$fhs2" 2>/dev/null)" 1 "it holds vm2's pty: its lock files name PID 1"
	kill -KILL "$NS_DAEMON"
	wait "$NS_PID" 2>/dev/null
	is "$(tr -d ' \n' < "$fhs2" 2>/dev/null)" 1 "SIGKILLed: its lock files are left, naming PID 1"
	pidns_start
	ok $? "a new daemon starts at once, PID 1 again"
	wait_for 10 "[ \$(logged 'left by process 1, this process.s own PID, which does not hold it') -ge 1 ]"
	ok $? "it breaks the files its predecessor left, and says so"
	wait_for 10 "[ \$(logged 'opened $PTY_vm2') -ge 2 ]"
	ok $? "and holds the pty again"
	attach_once vm2
	is "$RC" 0 "the console attaches"
	[ "$RC" = 0 ] || { diag "client said: $(cat "$T/once.err")"; sed 's/^/#   /' "$T/broker.log"; }
	grep -q planted-ok "$T/once.out"
	ok $? "and works"
	kill -TERM "$NS_DAEMON"
	wait "$NS_PID"
	is "$?" 0 "the namespaced daemon exits 0 on SIGTERM"
	is "$(locks_of "$PTY_vm2")" "" "and leaves no lock file"
fi

grep -E "AddressSanitizer|runtime error|LeakSanitizer" "$T/broker.log" >&2
ok $((! $?)) "no sanitizer report in the daemon's log"

done_testing
