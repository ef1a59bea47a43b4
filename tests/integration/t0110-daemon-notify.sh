#!/bin/bash
# Readiness through $NOTIFY_SOCKET, as systemd's Type=notify asks: READY=1 is
# sent to an abstract socket name, also to one that fills the whole socket
# address (108 bytes with its '@'); a name longer than that is refused with
# a warning, and the daemon still starts.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

command -v python3 >/dev/null || skip_all "python3 is not installed"

# listen NAME OUT: receive one datagram on the abstract socket NAME (without
# its '@') into OUT; the socket is bound when OUT.bound exists.
listen() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(b"\0" + sys.argv[1].encode())
open(sys.argv[2] + ".bound", "w").close()
s.settimeout(20)
try:
    data = s.recv(256)
except socket.timeout:
    data = b""
open(sys.argv[2], "wb").write(data)
' "$1" "$2" &
	cleanup_pid $!
	LISTENER=$!
	wait_for 10 "[ -e '$2.bound' ]"
}

# notified NAME: start the daemon with NOTIFY_SOCKET=@NAME; what it sent.
notified() {
	local out=$T/notify.${#1}
	listen "$1" "$out" || return 1
	: > "$T/broker.log"
	NOTIFY_SOCKET="@$1" broker_start || return 1
	wait "$LISTENER"
	cat "$out"
	broker_stop
}

broker_config
short="conbroker-test-$$"
long=$(printf 'conbroker-%s-' $$; head -c 200 /dev/zero | tr '\0' x)
long=${long:0:107}
is "$(notified "$short")" "READY=1" "READY=1 reaches an abstract NOTIFY_SOCKET"
is "${#long}" 107 "a name of 107 bytes, 108 with the '@'"
is "$(notified "$long")" "READY=1" "READY=1 reaches a name that fills the socket address"

: > "$T/broker.log"
NOTIFY_SOCKET="@${long}y" broker_start
ok $? "the daemon starts with a NOTIFY_SOCKET longer than a socket address"
like "$(cat "$T/broker.log")" "NOTIFY_SOCKET is longer than a socket address" \
	"and says why it does not notify"
broker_finish "the daemon exits 0 on SIGTERM"
done_testing
