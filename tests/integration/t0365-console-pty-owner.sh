#!/bin/bash
# A stopped domain's /dev/pts number goes to the next program that asks for a
# pty.  conbrokerd opens a pty only while the hypervisor its definition names
# holds the pty's master: an unrelated program on the old number (here
# ptysquat, standing for an ssh login) is never written to, read from,
# locked or changed, whether the hypervisor is gone, its PID was reused, or
# it holds another pty; a path that nothing proves is refused too.
#
# The test runs in a devpts instance of its own (a private mount namespace,
# as root), so that no other program on the host takes a freed pty number
# before the test hands it to its unrelated program, and in a PID namespace
# of its own, since choosing a PID (ns_last_pid) moves the PID counter back:
# on the host, the next processes would get PIDs that other tests still
# mean to stop, and be stopped in their place.
. "$(dirname "$0")/../lib-ns.sh"
ns_enter CB_PRIVATE_PTS --mount --propagation private --pid --fork --mount-proc
ns_devpts CB_PRIVATE_PTS
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/lib-broker.sh"
. "$TOP/tests/lib-squat.sh"

[ -x "$CONBROKERD" ] || skip_all "no $CONBROKERD"

# stop_vm NAME: the fakevm exits, and its PID is free again.
stop_vm() {
	local pid
	eval "pid=\$FAKEVM_PID_$1"
	vm_ctl "$1" exit
	wait "$pid" 2>/dev/null
	wait_for 10 "[ ! -e /proc/$pid ]"
}

# refused CLIENT DOMAIN REGEX WHAT: `console DOMAIN`, with a line of input
# that must never reach anyone, exits 7 and says REGEX.
refused() {
	local rc
	printf 'rm -rf /\r' > "$T/$1.in"
	timeout 20 "$CONBROKER" -c "unix:$T/sock" console "$2" \
		< "$T/$1.in" > "$T/$1.out" 2> "$T/$1.err"
	rc=$?
	is "$rc" 7 "$4: refused with exit 7"
	like "$(cat "$T/$1.err")" "$3" "$4: the message says why"
}

broker_config
fakevm_start right --echo --record "$T/right.rec"
domain_file right 10000000-0000-4000-8000-000000000001 "$PTY_right"
fakevm_start gone
domain_file gone 10000000-0000-4000-8000-000000000002 "$PTY_gone"
fakevm_start reused
domain_file reused 10000000-0000-4000-8000-000000000003 "$PTY_reused"
fakevm_start other
fakevm_start elsewhere --record "$T/elsewhere.rec"
DOMAIN_OWNER=$FAKEVM_PID_other domain_file wrongpty 10000000-0000-4000-8000-000000000004 "$PTY_elsewhere"
fakevm_start nobody
DOMAIN_OWNER=none domain_file unowned 10000000-0000-4000-8000-000000000005 "$PTY_nobody"
fakevm_start boot
fakevm_start pf --echo --record "$T/pf.rec"
echo "$FAKEVM_PID_pf" > "$T/pf.pid"
chmod 0644 "$T/pf.pid"
DOMAIN_OWNER=none domain_file pidfile 10000000-0000-4000-8000-000000000007 "$PTY_pf" "
  <metadata>
    <cb:consoles xmlns:cb='http://conbroker.org/schemas/domain/1.0'>
      <cb:console alias='serial0' owner-pid-file='$T/pf.pid'/>
    </cb:consoles>
  </metadata>"
domain_file boot 10000000-0000-4000-8000-000000000006 "$PTY_boot" "$CAPTURE_ALWAYS"

# The reused PID's status file was written an hour ago: the process that has
# its PID now started long after, so it cannot be the hypervisor it names.
touch -d '-1 hour' "$T/domains/reused.xml"

# A capture-always console whose hypervisor stopped, and whose number an
# unrelated program took, before the daemon started: never opened.
stop_vm boot
squat boot "${PTY_boot##*/}"

broker_start || { done_testing; exit 1; }

# The right hypervisor and its pty: attach as before.
pipe_client ok right
pipe_send ok $'hello-owner\r'
wait_for 10 "grep -q hello-owner '$T/right.rec'"
pipe_eof ok
is "$(pipe_exit ok)" 0 "the right hypervisor's pty: attached, input reached it"
is "$(list_field right state)" free "the right hypervisor's pty is listed free again"

# The hypervisor exited; an unrelated program got its /dev/pts number.
stop_vm gone
squat gone "${PTY_gone##*/}"
is "$(list_field gone state)" notrunning "list: the domain is not running"
like "$(list_field gone reason)" "process $FAKEVM_PID_gone named by .*gone.xml has exited" \
	"list --json: the reason names the process and the file"
refused c1 gone "domain 'gone' is not running \\(its pty $PTY_gone now belongs to another process\\): process $FAKEVM_PID_gone named by $T/domains/gone.xml has exited" \
	"hypervisor gone, number reused"
untouched gone "$PTY_gone" "hypervisor gone, number reused"
refused c2 gone "console gone/serial0 hung up at" "hypervisor gone, asked again"
is "$(list_field gone state)" hungup "list: the console is marked hung up"
untouched gone "$PTY_gone" "hypervisor gone, asked again"

# The hypervisor's PID went to an unrelated process, which also took its pty
# number: only the start time tells them apart.
stop_vm reused
if squat reused "${PTY_reused##*/}" --pid "$FAKEVM_PID_reused"; then
	is "$SQUAT_reused" "$FAKEVM_PID_reused" "the squatter runs with the dead hypervisor's PID"
	refused c3 reused "domain 'reused' is not running .*: process $FAKEVM_PID_reused named by $T/domains/reused.xml has exited: pid $FAKEVM_PID_reused is now ptysquat, started .*, after the file was written" \
		"PID and pty number reused"
	untouched reused "$PTY_reused" "PID and pty number reused"
else
	ok 0 "# SKIP cannot choose a PID here (not root)"
fi

# The hypervisor runs, but holds another pty than the definition says.
refused c4 wrongpty "domain 'wrongpty' is not running .*: process $FAKEVM_PID_other \\(fakevm\\) named by $T/domains/wrongpty.xml does not hold the master of $PTY_elsewhere" \
	"the hypervisor holds another pty"
is "$(size_of "$T/elsewhere.rec")" 0 "not one byte reached the pty the definition names"

# An inactive definition: nothing proves the pty, nothing touches it.
is "$(list_field unowned state)" unowned "list: a pty that nothing proves is 'unowned'"
refused c5 unowned "nothing proves that $PTY_nobody is still the domain's pty, so it is not opened: $T/domains/unowned.xml names no hypervisor process" \
	"a pty path without an owner"
like "$(logged "warning: console 'serial0' of domain 'unowned': nothing proves")" "^1$" \
	"the daemon warned about it when it loaded the file"
is "$(ls "$T/lock")" "" "no lock file was ever made for the refused ptys"

# capture='always' at start-up did not open the squatted pty.
is "$(list_field boot state)" hungup "list: the capture-always console whose domain stopped is hung up"
untouched boot "$PTY_boot" "capture 'always' at start-up"

# A hand-written definition whose hypervisor writes a pid file.
pipe_client pf1 pidfile
pipe_send pf1 $'hello-pidfile\r'
wait_for 10 "grep -q hello-pidfile '$T/pf.rec'"
pipe_eof pf1 2>/dev/null
is "$(pipe_exit pf1)" 0 "owner-pid-file: the pid file's process holds the pty: attached"
# The device is held a moment after late input; the proof is made at open.
check "the daemon lets go of the pty" wait_for 10 "[ -z \"\$(ls '$T/lock')\" ]"
chmod 0666 "$T/pf.pid"
refused c6 pidfile "pid file $T/pf.pid is not trusted: it must be a regular file owned by root" \
	"a pid file anyone may write"
mv "$T/pf.pid" "$T/pf.pid.real"
chmod 0644 "$T/pf.pid.real"
ln -s "$T/pf.pid.real" "$T/pf.pid"
refused c7 pidfile "cannot read pid file $T/pf.pid: it is a symbolic link" "a pid file that is a link"
rm "$T/pf.pid"
mv "$T/pf.pid.real" "$T/pf.pid"
before=$(size_of "$T/pf.rec")
stop_vm pf
squat pf "${PTY_pf##*/}"
refused c8 pidfile "domain 'pidfile' is not running .*: process $FAKEVM_PID_pf named by $T/pf.pid has exited" \
	"the pid file names a hypervisor that exited"
untouched pf "$PTY_pf" "the pid file names a hypervisor that exited"
rm "$T/pf.pid"
refused c9 pidfile "domain 'pidfile' is not running .*: cannot read pid file $T/pf.pid: No such file" \
	"the hypervisor removed its pid file"
is "$(size_of "$T/pf.rec")" "$before" "nothing more reached the stopped hypervisor's pty"

# A new run of the hypervisor, on the same number once the squatter lets go
# of it (in this devpts instance the lowest free number is handed out next),
# writes its pid file: the console, hung up until now, opens again without a
# reload, since the proof shows a new run.
eval "kill \$SQUAT_pf"
wait_for 10 "[ ! -e '$PTY_pf' ]"
fakevm_start pf2 --echo --record "$T/pf2.rec"
if [ "$PTY_pf2" = "$PTY_pf" ]; then
	echo "$FAKEVM_PID_pf2" > "$T/pf.pid"
	chmod 0644 "$T/pf.pid"
	pipe_client pf2 pidfile
	pipe_send pf2 $'hello-again\r'
	wait_for 10 "grep -q hello-again '$T/pf2.rec'"
	ok $? "a new run named by the pid file is attached again, without a reload"
	pipe_eof pf2 2>/dev/null
	is "$(pipe_exit pf2)" 0 "and the session ends normally"
else
	ok 0 "# SKIP the new run got $PTY_pf2, not $PTY_pf"
	ok 0 "# SKIP the new run got $PTY_pf2, not $PTY_pf"
fi

# A reload with the same files does not open them either.
kill -HUP "$BROKER_PID"
wait_for 10 "[ \$(logged 'reloaded:') -ge 1 ]"
untouched boot "$PTY_boot" "capture 'always' after a reload"
untouched gone "$PTY_gone" "a hung-up console after a reload"

broker_stop
is "$BROKER_STATUS" 0 "the daemon stops cleanly"
done_testing
