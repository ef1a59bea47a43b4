#!/bin/bash
# libvirt's console lock on a real pty in the real /var/lock.  libvirt names
# the lock of /dev/pts/N LCK.._pts_N and writes "%10lld\n" of its PID with
# O_EXCL, mode 0644; such a file with a live PID refuses the device and is
# named in the refusal; once its process is gone we break it; and the file we
# write under that name is in the format libvirt itself reads.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-locks.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root: the lock files are checked in the real /var/lock"
need_lock_helpers

pty_start
LIBVIRT=$(lock_file libvirt)
is "$LIBVIRT" "$LOCKDIR/LCK.._pts_${PTY#/dev/pts/}" "libvirt's name for $PTY"

# A libvirt lock with a live PID: a process that only waits to be stopped
# stands in for the libvirt daemon (it is killed, never waited for).
sleep infinity &
domain=$!
cleanup_pid $domain
wait_for 10 "[ \"\$(cat /proc/$domain/comm 2>/dev/null)\" = sleep ]" ||
	{ echo "Bail out! the stand-in process did not start"; exit 1; }
(umask 022 && set -o noclobber && printf '%10lld\n' "$domain" >"$LIBVIRT")
out=$("$LOCKCTL" hold "$LOCKDIR" "$PTY" "$T/never" 2>&1)
is "$?" 4 "a live libvirt lock refuses the device"
like "$out" "lock file $LIBVIRT is held by process $domain \\(sleep\\)" "the refusal names the lock file, pid and program"
diag "we said: $out"
like "$("$LOCKCTL" probe "$LOCKDIR" "$PTY")" "^libvirt live $domain sleep $LIBVIRT$" "probe shows it"
is "$(cat "$LIBVIRT")" "$(printf '%10d' "$domain")" "the libvirt lock is untouched"
check "the refusal took nothing: no other lock file" test "$("$LOCKCTL" probe "$LOCKDIR" "$PTY" | wc -l)" = 1

# Its process gone, the lock is stale and we break it.
kill -KILL "$domain"
wait "$domain" 2>/dev/null
like "$("$LOCKCTL" probe "$LOCKDIR" "$PTY")" "^libvirt stale $domain - $LIBVIRT$" "probe calls it stale"
check "lockctl takes the device" hold
like "$(cat "$T/hold.err")" "broke stale lock file $LIBVIRT left by dead process $domain" "breaking it is logged with the dead pid"

# Our lock under libvirt's name is what libvirt writes and reads back.
is "$(od -An -c "$LIBVIRT" | tr -s ' ')" "$(printf '%10d\n' "$holder" | od -An -c | tr -s ' ')" \
	"our LCK.._pts_N holds \"%10d\\n\" of our pid, as libvirt writes it"
is "$(stat -c %a "$LIBVIRT")" 644 "mode 0644, as libvirt creates it"
read -r pid_read <"$LIBVIRT"
is "$pid_read" "$holder" "read back as a PID, it names the holder"
check "lockctl releases" unhold
check "nothing is left in $LOCKDIR" test -z "$("$LOCKCTL" probe "$LOCKDIR" "$PTY")"

done_testing
