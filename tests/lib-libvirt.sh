# Helpers for tests that boot a real guest under a real libvirtd and QEMU.
#
# Source after tests/lib.sh and tests/lib-broker.sh, in a test that has run
# itself again in new mount and network namespaces (CB_LIBVIRT_NS=1, see
# tests/interop/t6100-libvirt-qemu.sh) before anything else.  libvirt_setup
# then starts virtlogd and libvirtd (nobody else's: CI has no systemd), whose
# state, runtime, cache, log and config directories are private to the test's
# mount namespace: libvirt's paths (/run/libvirt/qemu, /var/lock, ...) are
# the ones it always uses, so the daemon under test sees them as on a real
# host, while nothing of it shows outside the test, and several runs at once
# do not meet.
# The namespace has its own devpts instance too, so that a /dev/pts number the
# test frees goes to the process it hands it to, not to a terminal elsewhere
# on the host; hence its own /var/lock as well, where libvirt and conbrokerd
# lock those ptys.  And a network namespace of its own, left down: the guest
# has no network, and libvirt's network driver can touch nothing.
#
# Every domain the test creates (vm_create) is destroyed, and every process
# it started is stopped, by the EXIT trap, even when the test fails.

# libvirt_why_not: why this test cannot run here (nothing when it can).
libvirt_why_not() {
	local p
	[ "$(id -u)" = 0 ] || { echo "needs root: runs its own libvirtd"; return; }
	[ -n "${CB_LIBVIRT_NS:-}" ] || { echo "needs private mount and network namespaces (unshare)"; return; }
	for p in libvirtd virtlogd virsh qemu-system-x86_64 busybox cpio tmux; do
		PATH=$PATH:/usr/sbin:/sbin type -P $p >/dev/null ||
			{ echo "no $p here (scripts/deps --test installs it)"; return; }
	done
	[ -x "$CONBROKERD" ] || { echo "no $CONBROKERD"; return; }
}

# libvirt_private: the private directories and devpts, in this namespace
# (/run among them, which libvirt_kvm needs).
libvirt_private() {
	local d
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts &&
		mount --bind /dev/pts/ptmx /dev/ptmx || return 1
	# Everything libvirt writes, private.  The config is a copy of the
	# host's, without the networks it defines.
	mkdir -p "$T/etc"
	cp -a /etc/libvirt "$T/etc/libvirt" || return 1
	rm -rf "$T/etc/libvirt/qemu/networks" "$T/etc/libvirt/qemu/autostart"
	mkdir -p "$T/etc/libvirt/qemu"
	mount --bind "$T/etc/libvirt" /etc/libvirt || return 1
	# A /run of its own holds /run/libvirt and /run/lock (/var/lock), and
	# leaves nothing behind on the host's.
	mount -t tmpfs -o mode=0755 tmpfs /run || return 1
	mkdir -p /run/libvirt /run/lock && chmod 1777 /run/lock || return 1
	for d in /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
		mkdir -p "$d" && mount -t tmpfs -o mode=0755 tmpfs "$d" || return 1
	done
	mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/boot
}

# libvirt_kvm: let libvirt's QEMU user (group kvm) use /dev/kvm, as udev
# does on a host with it: a node of the same device, group kvm, mode 0660,
# over /dev/kvm in this namespace only.  Needed even for a TCG guest: libvirtd
# (root) probes QEMU's capabilities with KVM when it can open /dev/kvm, then
# finds the cached capabilities outdated whenever the QEMU user cannot ("KVM
# was enabled when probing ..., but it is not available now"), and probes
# again, about 4 s each time, for as long as the guest is being started:
# `virsh create` took 54 s instead of 0.8 s.
libvirt_kvm() {
	[ -c /dev/kvm ] || return 1
	getent group kvm >/dev/null || return 1
	# In the private /run, not in $T: /tmp may be mounted nodev.
	mknod -m 0660 /run/kvm c "$((0x$(stat -c %t /dev/kvm)))" "$((0x$(stat -c %T /dev/kvm)))" &&
		chgrp kvm /run/kvm && mount --bind /run/kvm /dev/kvm
}

# virsh ARGS...: libvirt's client, talking to this test's libvirtd.
virsh() { command virsh -q -c qemu:///system "$@"; }

# libvirt_setup: virtlogd and libvirtd started and answering; LIBVIRT_KVM=1
# when libvirt's QEMU user may use /dev/kvm.
libvirt_setup() {
	libvirt_private || { diag "cannot set up private libvirt directories"; return 1; }
	LIBVIRT_KVM=
	if [ -e /dev/kvm ]; then
		libvirt_kvm && LIBVIRT_KVM=1 || diag "cannot give libvirt's QEMU user /dev/kvm"
	fi
	PATH=$PATH:/usr/sbin:/sbin
	virtlogd -p "$T/virtlogd.pid" 2>>"$T/virtlogd.log" &
	VIRTLOGD_PID=$!
	cleanup_pid $VIRTLOGD_PID
	libvirtd -p "$T/libvirtd.pid" 2>>"$T/libvirtd.log" &
	LIBVIRTD_PID=$!
	cleanup_pid $LIBVIRTD_PID
	if ! wait_for 30 "virsh version >/dev/null 2>&1 || ! kill -0 $LIBVIRTD_PID 2>/dev/null" ||
	    ! virsh version >/dev/null 2>&1; then
		diag "libvirtd did not start:"; sed 's/^/#   /' "$T/libvirtd.log"
		return 1
	fi
}

# vm_xml NAME TYPE: a guest with a 16550 serial port and a virtio console,
# both ptys whose output libvirt also logs to /var/log/libvirt/qemu/NAME-*.log
# (so that the test sees the guest boot without holding its ptys).
# $VM_METADATA, when set, goes inside <domain> (conbroker's settings), and
# $VM_CMDLINE replaces the guest's kernel command line.
vm_xml() {
	cat <<XML
<domain type='$2'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/var/lib/libvirt/boot/vmlinuz</kernel>
    <initrd>/var/lib/libvirt/boot/initrd.gz</initrd>
    <cmdline>${VM_CMDLINE:-$(cat "$GUEST/cmdline")}</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  ${VM_METADATA:-}
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <serial type='pty'>
      <log file='/var/log/libvirt/qemu/$1-serial0.log' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <console type='pty'>
      <log file='/var/log/libvirt/qemu/$1-console1.log' append='off'/>
      <target type='virtio' port='0'/>
    </console>
    <memballoon model='none'/>
  </devices>
</domain>
XML
}

# vm_create NAME TYPE: start a transient guest (TYPE kvm or qemu); it is
# destroyed by the EXIT trap if the test has not done it.
vm_create() {
	cp "$GUEST/vmlinuz" "$GUEST/initrd.gz" /var/lib/libvirt/boot/ || return 1
	vm_xml "$1" "$2" > "$T/$1.domain.xml"
	cleanup_cmd "virsh destroy '$1'"
	virsh create "$T/$1.domain.xml" >"$T/$1.create.log" 2>&1 ||
		{ diag "virsh create $1 failed:"; sed 's/^/#   /' "$T/$1.create.log"; return 1; }
	# Should libvirtd be unable to destroy it, its QEMU is stopped all the
	# same (once libvirtd is gone, nothing else would).
	cleanup_cmd "vm_kill '$1' $(cat "/run/libvirt/qemu/$1.pid")"
}

# vm_kill NAME PID: SIGKILL to PID if it is still the QEMU of guest NAME.
vm_kill() {
	tr '\0' ' ' < "/proc/$2/cmdline" 2>/dev/null | grep -q -- "-name guest=$1," &&
		kill -KILL "$2" 2>/dev/null
}

# vm_log NAME ALIAS: what the guest wrote on that console since it started.
vm_log() { tr -d '\r' < "/var/log/libvirt/qemu/$1-$2.log" 2>/dev/null; }
