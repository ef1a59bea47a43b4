#!/bin/bash
# Remote consoles through real stunnel with contrib/tls/stunnel.conf, used as
# it is: TLS with a client certificate required, the client's address passed
# on in a PROXY v1 header (stunnel's protocol = proxy) and matched by address
# grants.  The client connects with ext:openssl s_client.  Attach, type and
# read, takeover both ways between a remote and a local client, each named to
# the other, the window size across the proxy, certificates the proxy
# refuses, the connection command dying, and a plain tcp: client on a
# listener without PROXY.
#
# The configuration names its files relative to the directory stunnel starts
# in, and fixed ports (7443, and 7780 for conbrokerd), as on a real host.
# The test runs in a network namespace of its own, where those ports are
# free; without one, on the host's ports if they are free.
if [ "${CB_STUNNEL_NETNS:-}" != 1 ]; then
	for how in "--net" "--user --map-root-user --net"; do
		# shellcheck disable=SC2086
		if unshare $how true 2>/dev/null; then
			export CB_STUNNEL_NETNS=1
			# shellcheck disable=SC2086
			exec unshare $how "$BASH" "$0" "$@"
		fi
	done
fi
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"
. "$(dirname "$0")/../lib-tls.sh"
export TMUX_TMPDIR=$T # the test's own tmux server, whoever the user is

STUNNEL=$(command -v stunnel4 || command -v stunnel) || skip_all "stunnel is not installed"
for prog in openssl socat tmux python3; do
	command -v $prog >/dev/null || skip_all "$prog is not installed"
done
STUNNEL_CONF=$TOP/contrib/tls/stunnel.conf
[ -e /proc/net/if_inet6 ] ||
	skip_all "the configuration listens on IPv6 and IPv4 (:::7443), and this host has no IPv6"
TLS_PORT=7443
PROXY_PORT=7780
TCP_PORT=7781

if [ "${CB_STUNNEL_NETNS:-}" = 1 ]; then
	# A new network namespace has its loopback interface down.
	ip link set lo up 2>/dev/null || python3 -c '
import fcntl, socket, struct
s = socket.socket()
ifr = fcntl.ioctl(s, 0x8913, struct.pack("16sH22x", b"lo", 0))     # SIOCGIFFLAGS
flags = struct.unpack("16sH22x", ifr)[1]
fcntl.ioctl(s, 0x8914, struct.pack("16sH22x", b"lo", flags | 1))  # SIOCSIFFLAGS, IFF_UP' ||
		skip_all "cannot bring up the loopback interface of the test's network namespace"
else
	# One test at a time on the host's ports.
	exec 9> "${TMPDIR:-/tmp}/conbroker-stunnel-ports.lock"
	flock -w 60 9 || skip_all "another test holds the host's ports $TLS_PORT, $PROXY_PORT and $TCP_PORT"
	for port in $TLS_PORT $PROXY_PORT $TCP_PORT; do
		listening "$port" && skip_all "no network namespace of its own (unshare --net), and port $port is in use"
	done
fi

# The certificates, as docs/remote.md makes them: a CA that signs the
# server's certificate and the clients'; a second CA signs another
# "ops-laptop", which the proxy must refuse.
make_certs > "$T/openssl.log" 2>&1
ok $? "openssl makes a CA, a server and a client certificate, and a certificate of another CA"

# from_uri ADDRESS: through stunnel with ops-laptop's certificate, from
# another loopback address (socat binds it; openssl s_client cannot).
from_uri() {
	printf 'ext:socat - OPENSSL:127.0.0.1:%s,bind=%s,commonname=localhost,%s' \
		"$TLS_PORT" "$1" "cafile=$T/tls/ca.pem,cert=$T/tls/ops-laptop.crt,key=$T/tls/ops-laptop.key"
}
# domains: the domains in a list --json on stdin.
domains() {
	python3 -c 'import json, sys; print(" ".join(sorted({e["domain"] for e in json.load(sys.stdin)})))'
}

fakevm_start vm1 --ctty --echo --record "$T/vm1.rec"
fakevm_start vm2 --echo --record "$T/vm2.rec"
domain_file vm1 7d3f5b7c-9e1a-4d3f-8b5c-7e9a1c3e5b7d "$PTY_vm1"
domain_file vm2 8e4a6c8d-0f2b-4e4a-9c6d-8f0b2d4f6c8e "$PTY_vm2"
broker_config "<listen tcp='127.0.0.1:$PROXY_PORT' proxy='yes'/>
  <listen tcp='127.0.0.1:$TCP_PORT'/>
  <access>
    <grant address='127.0.0.1' domain='vm1' rights='force'/>
    <grant address='127.0.0.9' domain='vm1' rights='watch'/>
    <grant address='127.0.0.1' domain='vm2' rights='write'/>
  </access>"
broker_start -v || { echo "Bail out! conbrokerd did not start"; exit 1; }

# stunnel opens server.pem and ca.pem in the directory it starts in.
(cd "$T/tls" && exec "$STUNNEL" "$STUNNEL_CONF") 2> "$T/stunnel.log" &
STUNNEL_PID=$!
cleanup_pid $STUNNEL_PID
wait_for 20 "listening $TLS_PORT || ! kill -0 $STUNNEL_PID"
if ! listening $TLS_PORT; then
	sed 's/^/#   /' "$T/stunnel.log"
	echo "Bail out! stunnel did not start"
	exit 1
fi
ok 0 "stunnel runs contrib/tls/stunnel.conf as it is, in the foreground, from the certificates' directory"
if grep -E "LOG[0-4]" "$T/stunnel.log" >&2; then ok 1 "stunnel logs no error or warning at start"
else ok 0 "stunnel logs no error or warning at start"; fi

# --- attach, type and read through the proxy, known by the client's address.
printf 'typed-through-stunnel\n' | remote ops-laptop console vm1 > "$T/r1.out" 2> "$T/r1.err"
is "$?" 0 "a client with a certificate attaches through stunnel, writes, and ends at end of input"
like "$(cat "$T/r1.err")" "Connected to domain 'vm1' \(7d3f5b7c-9e1a-4d3f-8b5c-7e9a1c3e5b7d\), console serial0" "it gets the banner"
grep -q typed-through-stunnel "$T/vm1.rec"
ok $? "what it typed reaches the guest"
grep -q typed-through-stunnel "$T/r1.out"
ok $? "and the guest's echo comes back through the proxy"
grep -Eq "vm1/serial0: 127\.0\.0\.1:[0-9]+ via tcp proxy 127\.0\.0\.1:[0-9]+ attached as writer \(granted: force\)" "$T/broker.log"
ok $? "the daemon knows it by the address in stunnel's PROXY header"
grep -q "PROXY v1 header" "$T/broker.log"
ok $? "stunnel sent a PROXY v1 header"

# The grant follows the address in the header, not stunnel's own (127.0.0.1).
out=$("$CONBROKER" -c "$(from_uri 127.0.0.9)" console vm1 < /dev/null 2>&1)
is "$?" 8 "a client from 127.0.0.9, granted only 'watch', is refused a write session with exit code 8"
like "$out" "permission denied: 127\.0\.0\.9:[0-9]+ via tcp proxy 127\.0\.0\.1:[0-9]+ may not write to console vm1/serial0 \(missing right 'write'\); --readonly needs only 'watch'" "the refusal names the client's address and the missing right"
is "$("$CONBROKER" -c "$(from_uri 127.0.0.9)" list --json 2> "$T/list1.err" | domains)" "vm1" "list from 127.0.0.9 shows only what it may watch"
is "$(remote ops-laptop list --json 2> "$T/list2.err" | domains)" "vm1 vm2" "list from 127.0.0.1 shows both domains"
wait_for 10 "! pgrep -f '^openssl s_client .*$T/tls/ops-laptop.crt' >/dev/null"
ok $? "once list is done, no openssl s_client is left behind"

# --- certificates stunnel refuses: nothing reaches the daemon.
headers=$(grep -c "PROXY v1 header" "$T/broker.log")
remote "" console vm1 < /dev/null > /dev/null 2> "$T/none.err"
is "$?" 5 "without a client certificate: exit code 5"
err=$(cat "$T/none.err")
like "$err" "alert certificate required" "openssl's reason is shown: the proxy demanded a certificate"
like "$err" "conbroker: the connection command \(openssl s_client .*\) exited with status 1" "and the client says the connection command failed, with its status"
wait_for 10 "grep -q 'peer did not return a certificate' '$T/stunnel.log'"
ok $? "stunnel logs the missing certificate"
remote forged console vm1 < /dev/null > /dev/null 2> "$T/forged.err"
is "$?" 5 "with a certificate for CN ops-laptop from another CA: exit code 5"
err=$(cat "$T/forged.err")
like "$err" "alert unknown ca" "openssl's reason is shown: the proxy does not know the CA"
like "$err" "conbroker: the connection command \(openssl s_client .*\) exited with status 1" "and the client says the connection command failed"
wait_for 10 "grep -q 'Rejected by CERT at depth=0: CN=ops-laptop' '$T/stunnel.log'"
ok $? "stunnel logs the rejected certificate"
is "$(grep -c "PROXY v1 header" "$T/broker.log")" "$headers" "neither connection reached the daemon"

# --- takeover: a local writer, then the remote one with --force.
tmux_start A "$CONBROKER -c unix:$T/sock console vm1"
tmux_wait A "Escape character is"
ok $? "local writer A attaches over the Unix socket"
A_PID=$(client_pid A)
wait_status vm1 "^winch 24 80$" 10
ok $? "A's 80x24 window reaches the pty"

# The remote client runs in a window of 90x28, sized before it starts.
rm -f "$T/go"
tmux_start R "while [ ! -e '$T/go' ]; do sleep 0.05; done; $CONBROKER -c '$(remote_uri ops-laptop)' console vm1 --force"
tmux_cmd resize-window -t main:R -x 90 -y 28
wait_for 10 "[ \"\$(pane_size R)\" = 90x28 ]"
touch "$T/go"
tmux_wait R "Escape character is"
ok $? "remote writer R attaches through stunnel with --force, from a terminal"
like "$(tmux_screen R)" "took over console vm1/serial0 from uid [0-9]+ \([a-z0-9_-]+\) pid $A_PID via unix \(forced\)" "R is told it took over from A, by uid and pid"
is "$(tmux_exit A)" 6 "A exits with code 6"
screen=$(tmux_screen A)
like "$screen" "console vm1/serial0 was taken over by 127\.0\.0\.1:[0-9]+ via tcp proxy 127\.0\.0\.1:[0-9]+ \(forced\)" "A's message names R by its address"
R_PORT=$(printf '%s\n' "$screen" | sed -n 's/.*taken over by 127\.0\.0\.1:\([0-9]*\) via.*/\1/p' | head -n 1)
grep -Eq "accepted connection from (::ffff:)?127\.0\.0\.1:$R_PORT\$" "$T/stunnel.log"
ok $? "the address the daemon named is R's own, as stunnel logged it"

tmux_keys R "typed-by-R"
wait_for 10 "grep -q typed-by-R '$T/vm1.rec'"
ok $? "R's keystrokes reach the guest"
tmux_wait R "typed-by-R" 10
ok $? "the guest's echo reaches R"

# --- the window size across the proxy.
wait_status vm1 "^winch 28 90$" 10
ok $? "R's window size (90x28) travels with its open through the proxy to the pty"
tmux_cmd resize-window -t main:R -x 100 -y 30
wait_status vm1 "^winch 30 100$" 10
ok $? "R's window grows to 100x30: the pty's session gets SIGWINCH with 30 rows, 100 columns"
is "$(master_size vm1)" "30 100" "the hypervisor reads 30x100 on the master"
tmux_cmd resize-window -t main:R -x 72 -y 20
wait_status vm1 "^winch 20 72$" 10
ok $? "and shrinks to 72x20"
is "$(master_size vm1)" "20 72" "the hypervisor reads 20x72 on the master"

# --- and back: a local writer forces the remote one out.
tmux_start C "$CONBROKER -c unix:$T/sock console vm1 --force"
tmux_wait C "Escape character is"
ok $? "local writer C attaches with --force"
C_PID=$(client_pid C)
like "$(tmux_screen C)" "took over console vm1/serial0 from 127\.0\.0\.1:$R_PORT via tcp proxy 127\.0\.0\.1:[0-9]+ \(forced\)" "C is told it took over from R, by its address"
is "$(tmux_exit R)" 6 "R exits with code 6"
like "$(tmux_screen R)" "console vm1/serial0 was taken over by uid [0-9]+ \([a-z0-9_-]+\) pid $C_PID via unix \(forced\)" "R's message names C by uid and pid"
tmux_keys C C-]
is "$(tmux_exit C)" 0 "C leaves"

# --- the connection command dies in the middle of a session.
tmux_start D "$CONBROKER -c '$(remote_uri ops-laptop)' console vm1"
tmux_wait D "Escape character is"
ok $? "remote writer D attaches"
D_PID=$(client_pid D)
D_SSL=$(ssl_pid "$D_PID")
like "$D_SSL" '^[0-9]+$' "D's openssl s_client is found"
kill -TERM "$D_SSL"
is "$(tmux_exit D)" 5 "when its openssl is killed, D exits with code 5"
like "$(tmux_screen D)" "conbroker: the connection command \(openssl s_client .*\) (exited with status 143|was killed by signal 15)" "and says that the connection command died, and how"
wait_for 10 "grep -Eq '127\.0\.0\.1:[0-9]+ via tcp proxy .* closing connection: the client went away' '$T/broker.log'"
ok $? "the daemon sees the remote client go"
printf 'after-D\n' | cb console vm1 > "$T/after.out" 2>&1
is "$?" 0 "the console is free again: a local writer attaches without --force"

# --- tcp: straight to a loopback listener without PROXY, with an address grant.
printf 'typed-over-tcp\n' | "$CONBROKER" -c "tcp:127.0.0.1:$TCP_PORT" console vm2 > "$T/tcp.out" 2> "$T/tcp.err"
is "$?" 0 "conbroker -c tcp: attaches to vm2 on a listener without PROXY"
grep -q typed-over-tcp "$T/vm2.rec" && grep -q typed-over-tcp "$T/tcp.out"
ok $? "it types and reads"
grep -Eq "vm2/serial0: 127\.0\.0\.1:[0-9]+ via tcp attached as writer \(granted: write\)" "$T/broker.log"
ok $? "the daemon knows it by its address"
out=$("$CONBROKER" -c "tcp:127.0.0.1:$PROXY_PORT" console vm1 < /dev/null 2>&1)
is "$?" 5 "a client that bypasses stunnel to its PROXY listener is dropped: exit code 5"
like "$out" "the broker at tcp:127\.0\.0\.1:$PROXY_PORT closed the connection" "it is told the broker closed the connection"

kill -TERM "$STUNNEL_PID"
broker_finish "the daemon exits 0 on SIGTERM" "no sanitizer report in the daemon's log"

done_testing
