#!/bin/bash
# A real guest under a real libvirtd and QEMU.  conbrokerd's domains
# directory is libvirt's live status directory, /run/libvirt/qemu, read at
# its start and at SIGHUP only (follow='no': the directory is not followed as
# VMs come and go).  A busybox guest (scripts/guest) runs a shell on its 16550 serial port
# and one on its virtio console; under KVM when the guest really boots under
# /dev/kvm here, else under TCG.
#
#   - the live XML is read: conbrokerd's consoles and ptys are libvirt's;
#   - each shell answers a command through `conbroker console`;
#   - exclusion with `virsh console` both ways, through the lock directory
#     libvirt uses (/var/lock): conbroker refuses a pty libvirtd holds (exit
#     4, naming libvirtd), and libvirt refuses one conbroker holds, even with
#     --force;
#   - `virsh destroy` ends an attached client with exit 7 and leaves no lock;
#   - after `virsh destroy`, with nobody attached and no reload, an unrelated
#     program is given the serial port's old /dev/pts number and types a
#     line: `conbroker console` is refused with exit 7, and that pty is never
#     written to, read from, changed or locked.
#
# libvirtd, virtlogd and the guest are the test's own, in a mount and network
# namespace of its own (see tests/lib-libvirt.sh); all of them are gone after
# it, even when it fails.
# The guest is built (its kernel fetched with apt) before the test goes into
# its network namespace, where there is no network; inside, the build is
# only a check of what is cached.
. "$(dirname "$0")/../lib-ns.sh"
if [ -z "${CB_LIBVIRT_NS:-}" ] && [ "$(id -u)" = 0 ]; then
	"$(dirname "$0")/../../scripts/guest" --accel >/dev/null ||
		echo "# the guest could not be built before entering the namespace"
fi
ns_enter CB_LIBVIRT_NS --mount --net --propagation private
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/lib-broker.sh"
. "$TOP/tests/lib-squat.sh"
. "$TOP/tests/lib-libvirt.sh"

why=$(libvirt_why_not)
[ -z "$why" ] || skip_all "$why"

VM=cbtest$$
start=$(now_ms)
t0=$start
ACCEL=$("$TOP/scripts/guest" --accel) && GUEST=$("$TOP/scripts/guest") ||
	{ echo "Bail out! scripts/guest could not build the guest"; exit 1; }
diag "guest ready in $GUEST after $(( $(now_ms) - t0 )) ms"
t0=$(now_ms)
libvirt_setup || { echo "Bail out! libvirtd did not start"; exit 1; }
diag "libvirtd answers after $(( $(now_ms) - t0 )) ms"
TYPE=qemu
[ "$ACCEL" = kvm ] && [ -n "$LIBVIRT_KVM" ] && TYPE=kvm

# The daemon, on libvirt's own run directory and lock directory, started
# before the guest: it has nothing to serve yet.  It does not follow the
# directory (follow='no'): what is checked here is what holds between two
# reloads, the pty-ownership proof above all, which must not depend on the
# daemon having seen libvirt remove a stopped domain's file.
cat > "$T/conbroker.xml" <<XML
<conbroker>
  <listen unix='$T/sock' mode='0600'/>
  <locks dir='/var/lock'/>
  <state dir='$T/state'/>
  <history size='65536'/>
  <sessions stale-after='30' writer-timeout='10'/>
  <domains dir='/run/libvirt/qemu' follow='no'/>
</conbroker>
XML
SQUAT_LOCKDIR=/var/lock
broker_start || { done_testing; exit 1; }
is "$(cb list --json)" "[]" "no guest yet: nothing listed"

t0=$(now_ms)
vm_create "$VM" "$TYPE" || { echo "Bail out! the guest did not start"; exit 1; }
# The deadline is for TCG on a busy 2-core machine, where the boot has taken
# over a minute; on an idle one it takes about 10 s.
if ! wait_for 180 "vm_log $VM serial0 | grep -q 'guest-ttyS0# ' &&
    vm_log $VM console1 | grep -q 'guest-hvc0# '"; then
	diag "the guest did not boot; its serial port said:"
	vm_log "$VM" serial0 | tail -n 20 | sed 's/^/#   /'
	echo "Bail out! the guest did not boot"
	exit 1
fi
boot_ms=$(( $(now_ms) - t0 ))
diag "accelerator: $( [ "$TYPE" = kvm ] && echo KVM || echo TCG ); from virsh create to both shells: $boot_ms ms"
check "the guest's init ran" eval "vm_log $VM serial0 | grep -q 'conbroker-guest: up'"
QEMU_PID=$(cat "/run/libvirt/qemu/$VM.pid")

# The live status file, read at SIGHUP.
is "$(cb list --json)" "[]" "not followed: the running guest is not listed before SIGHUP"
kill -HUP "$BROKER_PID"
wait_for 10 "[ \$(logged 'reloaded:') -ge 1 ]"

# console_field DOMAIN CONSOLE FIELD: one field of that console in
# `list --json` ("null" for a JSON null).
console_field() {
	cb list --json | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["domain"] == sys.argv[1] and e["console"] == sys.argv[2]:
        v = e.get(sys.argv[3])
        print("null" if v is None else v)' "$1" "$2" "$3"
}

# consoles_of DOMAIN: "ALIAS PTY" per console, sorted, as conbroker lists them.
consoles_of() {
	cb list --json | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["domain"] == sys.argv[1]:
        print(e["console"], e["pty"])' "$1" | sort
}
# libvirt_consoles DOMAIN: the same, from `virsh dumpxml` (the console that
# stands for the serial port shares its alias and pty).
libvirt_consoles() {
	virsh dumpxml "$1" | python3 -c '
import sys, xml.etree.ElementTree as ET
d = ET.parse(sys.stdin).getroot().find("devices")
seen = set()
for el in list(d.findall("serial")) + list(d.findall("console")):
    if el.get("type") != "pty":
        continue
    seen.add((el.find("alias").get("name"), el.find("source").get("path")))
for a, p in sorted(seen):
    print(a, p)' | sort
}
want=$(libvirt_consoles "$VM")
is "$(printf '%s\n' "$want" | awk '{print $1}' | tr '\n' ' ')" "console1 serial0 " \
	"libvirt names the consoles serial0 and console1"
is "$(consoles_of "$VM")" "$want" "after SIGHUP: the consoles and ptys of libvirt's live XML"
SERIAL=$(printf '%s\n' "$want" | awk '$1 == "serial0" {print $2}')
is "$(virsh ttyconsole "$VM")" "$SERIAL" "serial0's pty is virsh ttyconsole's"
is "$(list_field "$VM" uuid)" "$(virsh domuuid "$VM")" "the domain's UUID is libvirt's"
is "$(console_field "$VM" serial0 state)" free "the serial console is free"

# The same, read at the daemon's start.
broker_stop
is "$BROKER_STATUS" 0 "the daemon stops cleanly"
broker_start || { done_testing; exit 1; }
is "$(consoles_of "$VM")" "$want" "at start: the consoles and ptys of libvirt's live XML"

# ask CLIENT COMMAND WANT [console options]: a shell command through
# `conbroker console`; its output must show WANT.
ask() {
	local name=$1 cmd=$2 want=$3; shift 3
	pipe_client "$name" "$VM" "$@"
	pipe_send "$name" "$cmd"$'\r'
	wait_for 30 "grep -q -- '$want' '$T/$name.out'"
	pipe_eof "$name"
	is "$(pipe_exit "$name")" 0 "console $*: attached and left"
	check "console $*: the shell answered '$want'" grep -q -- "$want" "$T/$name.out"
}
ask s1 'echo "$(tty)-$((6 * 7))"' '/dev/ttyS0-42'
ask v1 'echo "$(tty)-$((6 * 7))"' '/dev/hvc0-42' --devname console1

# virsh console holds the serial port: conbroker is refused, naming libvirtd.
tmux_start vc "virsh -c qemu:///system console $VM"
check "virsh console attached" tmux_wait vc "Escape character is"
LIBVIRT_LOCK=/var/lock/LCK.._pts_${SERIAL#/dev/pts/}
check "libvirt locked $SERIAL in /var/lock" test -f "$LIBVIRT_LOCK"
read -r lock_pid < "$LIBVIRT_LOCK"
is "$(cat "/proc/$lock_pid/comm" 2>/dev/null)" libvirtd "the lock names libvirtd"
printf 'echo should-not-run\r' > "$T/refused.in"
timeout 20 "$CONBROKER" -c "unix:$T/sock" console "$VM" < "$T/refused.in" > "$T/refused.out" 2> "$T/refused.err"
is "$?" 4 "conbroker console while virsh console holds it: exit 4"
like "$(cat "$T/refused.err")" "$LIBVIRT_LOCK.*$lock_pid.*libvirtd" "the refusal names the lock file and libvirtd"
diag "conbroker said: $(cat "$T/refused.err")"
is "$(console_field "$VM" serial0 state)" locked "list: the serial console is locked"
tmux_keys vc C-]
is "$(tmux_exit vc)" 0 "virsh console leaves"
check "libvirt's lock is gone" wait_for 10 "[ ! -e '$LIBVIRT_LOCK' ]"

# conbroker holds the serial port: virsh console is refused, even --force.
check "conbroker console attached" client_start hold "$VM"
CB_LOCK=$(ls /var/lock | grep -E "^LCK\.\.(_pts_|pts_)?${SERIAL#/dev/pts/}\$")
check "conbroker locked $SERIAL in /var/lock" test -n "$CB_LOCK"
tmux_start vf1 "virsh -c qemu:///system console $VM"
is "$(tmux_exit vf1)" 1 "virsh console while conbroker holds it: refused"
diag "virsh said: $(tmux_screen vf1 | grep -v '^$' | tr '\n' ' ')"
tmux_start vf2 "virsh -c qemu:///system console $VM --force"
is "$(tmux_exit vf2)" 1 "virsh console --force while conbroker holds it: refused"
like "$(tmux_screen vf2 | tr -d '\n')" "Requested device '$SERIAL' is locked by lock file '$LIBVIRT_LOCK' held by process $BROKER_PID" \
	"libvirt's message names conbroker's lock file and conbrokerd"
diag "virsh --force said: $(tmux_screen vf2 | grep -v '^$' | tr '\n' ' ')"
printf 'echo "still-$((5 * 5))"\r' > "$T/hold.in"
check "conbroker still has the serial port" wait_for 30 "grep -q still-25 '$T/hold.out'"
client_end hold
is "$RC" 0 "conbroker console leaves"
check "conbroker's lock is gone" wait_for 10 "[ -z \"\$(ls /var/lock | grep -E '^LCK\.\.(_pts_|pts_)?${SERIAL#/dev/pts/}\$')\" ]"

# virsh destroy with a client on the virtio console, nobody on the serial
# port: the client ends with exit 7, and no lock is left.
check "a client on the virtio console" client_start att "$VM" --devname console1
t0=$(now_ms)
virsh destroy "$VM" > "$T/destroy.log" 2>&1
is "$?" 0 "virsh destroy"
wait_for 20 "! kill -0 $PID_att 2>/dev/null"
diag "the client ended $(( $(now_ms) - t0 )) ms after virsh destroy"
wait "$PID_att"
is "$?" 7 "virsh destroy: the attached client exits 7"
like "$(cat "$T/att.err")" "hung up" "and says the console hung up"
check "QEMU is gone" wait_for 10 "[ ! -e /proc/$QEMU_PID ]"
check "no lock file is left" wait_for 10 "[ -z \"\$(ls /var/lock | grep '^LCK')\" ]"
is "$(virsh list --all --name | grep -c .)" 0 "the transient domain is gone from libvirt"

# No reload: the daemon still names the old ptys.  Until the serial port's
# number is given again its pty does not exist: the console is listed as hung
# up, and refused.
is "$(console_field "$VM" serial0 pty)" "$SERIAL" "without a reload, list still names $SERIAL"
check "$SERIAL is gone" test ! -e "$SERIAL"
is "$(console_field "$VM" serial0 state)" hungup "list: the serial console's pty is gone, it is hung up"
printf 'echo nobody\r' > "$T/c6.in"
timeout 20 "$CONBROKER" -c "unix:$T/sock" console "$VM" < "$T/c6.in" > "$T/c6.out" 2> "$T/c6.err"
is "$?" 7 "conbroker console while the pty is gone: refused with exit 7"
diag "conbroker said: $(cat "$T/c6.err")"

# An unrelated program takes the serial port's old number and types a line.
if squat owner "${SERIAL#/dev/pts/}"; then
	is "$(console_field "$VM" serial0 state)" notrunning "list: the serial console is not running"
	printf 'rm -rf /\r' > "$T/c7.in"
	timeout 20 "$CONBROKER" -c "unix:$T/sock" console "$VM" < "$T/c7.in" > "$T/c7.out" 2> "$T/c7.err"
	is "$?" 7 "conbroker console on the old number: refused with exit 7"
	like "$(cat "$T/c7.err")" "domain '$VM' is not running \\(its pty $SERIAL now belongs to another process\\): process $QEMU_PID named by /run/libvirt/qemu/$VM.xml" \
		"the message says the domain is not running and why"
	is "$(size_of "$T/c7.out")" 0 "nothing of the other user's pty reached the client"
	untouched owner "$SERIAL" "virsh destroy, number reused"
else
	ok 1 "ptysquat could not take $SERIAL"
fi

broker_stop
is "$BROKER_STATUS" 0 "the daemon stops cleanly"
diag "the whole test took $(( $(now_ms) - start )) ms, of which the boot $boot_ms ms"
done_testing
