#!/bin/bash
# The daemon follows its domains directories live, as libvirt writes them:
# a status file renamed into place when a domain starts, removed when it
# stops, written again when it starts once more, with no SIGHUP.  Several
# directories, one that appears after the daemon started, bursts of changes,
# and capture='always' opening a new domain's pty as soon as it is followed.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/lib-broker.sh"

[ -x "$CONBROKERD" ] || skip_all "no $CONBROKERD"

# listed DOMAIN: the domain's first console's pty in `list --json`.
listed() { list_field "$1" pty 2>/dev/null; }
# until_listed DOMAIN PTY: wait for list to show the domain with that pty.
until_listed() { wait_for 10 "[ \"\$(listed $1)\" = '$2' ]"; }
# reloaded_after MS: how long after MS (epoch ms) the daemon logged the
# first reload that came after it, from the log's own timestamps.
reloaded_after() {
	local line t
	while read -r line; do
		t=$(date -d "${line%% *}" +%s%3N 2>/dev/null) || continue
		[ "$t" -ge "$1" ] && { echo $((t - $1)); return; }
	done < <(grep 'reloaded:' "$T/broker.log")
	echo "?"
}

mkdir -p "$T/run2"
broker_config "<domains dir='$T/run2'/>
  <domains dir='$T/run3'/>"
fakevm_start a --echo
domain_file a 30000000-0000-4000-8000-000000000001 "$PTY_a"
broker_start || { done_testing; exit 1; }
is "$(listed a)" "$PTY_a" "a domain of the first directory is loaded at start"

# A domain starts: libvirt renames its status file into the second directory.
fakevm_start b1 --echo --record "$T/b1.rec"
t0=$(now_ms)
DOMAIN_DIR=$T/run2 domain_file b 30000000-0000-4000-8000-000000000002 "$PTY_b1"
until_listed b "$PTY_b1"
ok $? "a status file renamed into a followed directory is loaded without a reload signal"
diag "the daemon had reloaded $(reloaded_after "$t0") ms after the status file was renamed into place"
pipe_client c1 b
pipe_send c1 $'hello-b1\r'
wait_for 10 "grep -q hello-b1 '$T/b1.rec'"
ok $? "and its console attaches"

# The domain stops: its pty hangs up, libvirt removes the status file.
vm_ctl b1 hangup
is "$(pipe_exit c1)" 7 "the attached client ends with 7 when the domain stops"
rm "$T/run2/b.xml"
wait_for 10 "! cb list --json | grep -q '\"domain\": \"b\"'"
ok $? "a removed status file removes the domain"

# It starts again, on a new pty, with a new hypervisor.
fakevm_start b2 --echo --record "$T/b2.rec"
t0=$(now_ms)
DOMAIN_DIR=$T/run2 domain_file b 30000000-0000-4000-8000-000000000002 "$PTY_b2"
until_listed b "$PTY_b2"
ok $? "the new run is followed: the console has the new pty"
diag "the daemon had reloaded $(reloaded_after "$t0") ms after the status file was renamed into place"
pipe_client c2 b
pipe_send c2 $'hello-b2\r'
wait_for 10 "grep -q hello-b2 '$T/b2.rec'"
rc=$?
ok $rc "and attaches to the new run"
[ $rc = 0 ] || { sed 's/^/#   /' "$T/c2.err"; grep -E 'b/serial0|reload' "$T/broker.log" | tail -12 | sed 's/^/#   /'; }
pipe_eof c2 2>/dev/null
is "$(pipe_exit c2)" 0 "and ends normally"

# capture='always': the pty is opened as soon as the domain is followed, so
# what the guest prints from then on is in the history of a console nobody
# attached to.
fakevm_start boot
DOMAIN_DIR=$T/run2 domain_file boot 30000000-0000-4000-8000-000000000003 "$PTY_boot" "$CAPTURE_ALWAYS"
wait_status boot '^opened$' 10
rc=$?
ok $rc "a capture='always' domain's pty is opened when it is followed"
[ $rc = 0 ] || { cat "$T/boot.status" | sed 's/^/#   /'; grep -E 'boot|reload' "$T/broker.log" | tail -12 | sed 's/^/#   /'; }
vm_ctl boot "say Linux version 6.1.0-boot-line"
wait_for 10 "timeout 5 '$CONBROKER' -c 'unix:$T/sock' console boot --readonly </dev/null 2>/dev/null | grep -q 'Linux version 6.1.0-boot-line'"
ok $? "its first line is in the history, with nobody attached during boot"

# A directory that did not exist when the daemon started is followed once
# it appears.
fakevm_start late
mkdir "$T/run3"
DOMAIN_DIR=$T/run3 domain_file late 30000000-0000-4000-8000-000000000004 "$PTY_late"
until_listed late "$PTY_late"
ok $? "a domains directory made after the start is followed"

# A burst: many status files at once are a few reloads, not one each.
before=$(logged "a domains directory changed: reloading")
fakevm_start many
for i in $(seq 1 30); do
	DOMAIN_OWNER=$FAKEVM_PID_many DOMAIN_DIR=$T/run2 \
		domain_file "m$i" "$(printf '30000000-0000-4000-8000-1000000000%02d' $i)" "$PTY_many"
done
wait_for 10 "[ \"\$(listed m30)\" = '$PTY_many' ]"
ok $? "a burst of 30 status files is loaded"
reloads=$(( $(logged "a domains directory changed: reloading") - before ))
check "in fewer reloads than files ($reloads)" [ "$reloads" -lt 30 ]

# Other files of libvirt's run directory (pid files, sockets, the .new file
# being written) change nothing.
before=$(logged "a domains directory changed: reloading")
echo 4242 > "$T/run2/b.pid"
printf '<domstatus' > "$T/run2/x.xml.new"
DOMAIN_DIR=$T/run2 domain_file b 30000000-0000-4000-8000-000000000002 "$PTY_b2"
wait_for 10 "[ \$(logged 'a domains directory changed: reloading') -gt $before ]"
is "$(( $(logged "a domains directory changed: reloading") - before ))" 1 \
	"only the status file's rename is a change: one reload"

# SIGHUP still reloads the broker's own file.
kill -HUP "$BROKER_PID"
wait_for 10 "[ \$(logged 'received SIGHUP') -ge 1 ]"
ok $? "SIGHUP still reloads"

broker_stop
is "$BROKER_STATUS" 0 "the daemon stops cleanly"
done_testing
