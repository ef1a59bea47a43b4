#!/bin/bash
# conbrokerd follows libvirt's live status directory as a real guest is
# created, destroyed and created again, with no SIGHUP: the consoles come,
# go and come back with the new run's ptys, and a serial console captured
# 'always' holds the guest's boot from the kernel's first line, with nobody
# attached during the boot.  libvirtd, virtlogd and the guest are the test's
# own, in namespaces of its own (tests/lib-libvirt.sh, as in t6100).
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
. "$TOP/tests/lib-libvirt.sh"

why=$(libvirt_why_not)
[ -z "$why" ] || skip_all "$why"

VM=cbfollow$$
ACCEL=$("$TOP/scripts/guest" --accel) && GUEST=$("$TOP/scripts/guest") ||
	{ echo "Bail out! scripts/guest could not build the guest"; exit 1; }
libvirt_setup || { echo "Bail out! libvirtd did not start"; exit 1; }
TYPE=qemu
[ "$ACCEL" = kvm ] && [ -n "$LIBVIRT_KVM" ] && TYPE=kvm
# Without 'quiet': the kernel's own lines, from its first, are on the serial
# port.
VM_CMDLINE="$(sed 's/ *quiet//' "$GUEST/cmdline")"
VM_METADATA="<metadata>
    <cb:consoles xmlns:cb='http://conbroker.org/schemas/domain/1.0'>
      <cb:console alias='serial0' capture='always'/>
    </cb:consoles>
  </metadata>"

# The daemon follows libvirt's run directory (the default).
cat > "$T/conbroker.xml" <<XML
<conbroker>
  <listen unix='$T/sock' mode='0600'/>
  <locks dir='/var/lock'/>
  <state dir='$T/state'/>
  <history size='4194304'/>
  <domains dir='/run/libvirt/qemu'/>
</conbroker>
XML
broker_start || { done_testing; exit 1; }

# serial_pty: the serial console's pty in `list --json`, or nothing.
serial_pty() {
	cb list --json | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["domain"] == sys.argv[1] and e["console"] == "serial0" and e["pty"]:
        print(e["pty"])' "$VM"
}
# until_booted: both shells of the guest are up (from libvirt's logs).
until_booted() {
	wait_for 180 "vm_log $VM serial0 | grep -q 'guest-ttyS0# ' && vm_log $VM console1 | grep -q 'guest-hvc0# '"
}

t0=$(now_ms)
vm_create "$VM" "$TYPE" || { echo "Bail out! the guest did not start"; exit 1; }
created=$(( $(now_ms) - t0 ))
wait_for 10 "[ -n \"\$(serial_pty)\" ]"
ok $? "the new guest is listed with its ptys, without a reload"
diag "listed $(( $(now_ms) - t0 - created )) ms after virsh create returned (which took $created ms)"
is "$(logged 'received SIGHUP')" 0 "no SIGHUP was sent"
SERIAL1=$(serial_pty)
is "$SERIAL1" "$(virsh ttyconsole "$VM")" "the serial console's pty is libvirt's"
until_booted
ok $? "the guest booted"

# Nobody attached during the boot; the history has it from the kernel's
# first line on, as libvirt's own log of the serial port does.
timeout 20 "$CONBROKER" -c "unix:$T/sock" console "$VM" --readonly </dev/null \
	> "$T/history.out" 2> "$T/history.err"
tr -d '\r' < "$T/history.out" > "$T/history.txt"
first=$(vm_log "$VM" serial0 | grep -m1 'Linux version')
check "the kernel's first line is in the log libvirt kept" test -n "$first"
check "and in the history of the console nobody attached to" \
	eval '[ -n "$first" ] && grep -qF -- "$first" "$T/history.txt"'
diag "the history begins: $(head -c 300 "$T/history.txt" | head -n 3 | tr '\n' '|')"
check "so is the shell's prompt" grep -q 'guest-ttyS0# ' "$T/history.txt"

# The guest is destroyed: libvirt removes its status file, and its consoles go.
virsh destroy "$VM" > "$T/destroy.log" 2>&1
is "$?" 0 "virsh destroy"
wait_for 10 "! cb list --json | grep -q '\"domain\": \"$VM\"'"
ok $? "the destroyed guest's consoles are gone from the list, without a reload"
check "no lock file is left" wait_for 10 "[ -z \"\$(ls /var/lock | grep '^LCK')\" ]"

# Created again: listed again, with the new run's ptys, and its shell answers.
rm -f "/var/log/libvirt/qemu/$VM-serial0.log" "/var/log/libvirt/qemu/$VM-console1.log"
vm_create "$VM" "$TYPE" || { echo "Bail out! the guest did not start again"; exit 1; }
wait_for 10 "[ -n \"\$(serial_pty)\" ]"
ok $? "the guest created again is listed again, without a reload"
is "$(serial_pty)" "$(virsh ttyconsole "$VM")" "with the new run's serial pty"
until_booted
ok $? "the guest booted again"
pipe_client again "$VM"
pipe_send again 'echo "again-$((6 * 7))"'$'\r'
wait_for 30 "grep -q again-42 '$T/again.out'"
ok $? "its shell answers through conbroker console"
pipe_eof again 2>/dev/null
is "$(pipe_exit again)" 0 "and the session ends normally"
is "$(logged 'received SIGHUP')" 0 "still no SIGHUP"

virsh destroy "$VM" > /dev/null 2>&1
broker_stop
is "$BROKER_STATUS" 0 "the daemon stops cleanly"
done_testing
