# Namespaces of a test's own.  Source first, before tests/lib.sh.
#
# ns_enter VAR UNSHARE-OPTIONS...: as root, where unshare can, run this test
# again under `unshare UNSHARE-OPTIONS` with VAR=1 set (so that it happens
# once); elsewhere the test goes on as it is.  The test takes no arguments.
ns_enter() {
	local var=$1
	shift
	eval "[ -z \"\${$var:-}\" ]" || return 0
	[ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
		unshare "$@" true 2>/dev/null || return 0
	exec env "$var=1" unshare "$@" -- "$BASH" "$0"
}

# ns_devpts VAR: once inside (VAR set), a devpts instance of the test's own
# on /dev/pts and /dev/ptmx, so that a pty number the test frees goes to the
# process it hands it to, not to another program on the host.
ns_devpts() {
	eval "[ -n \"\${$1:-}\" ]" || return 0
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts &&
		mount --bind /dev/pts/ptmx /dev/ptmx ||
		{ echo "1..0 # SKIP cannot mount a devpts instance of its own"; exit 0; }
}
