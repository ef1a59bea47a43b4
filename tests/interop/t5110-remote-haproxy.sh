#!/bin/bash
# Remote consoles through real haproxy with contrib/tls/haproxy.cfg, used as
# it is (its paths and ports come from its environment variables): TLS with a
# client certificate required, the verified CN passed on with
# send-proxy-v2-ssl-cn and matched by cn= grants.  The client connects with
# ext:openssl s_client.  Attach, type and read, takeover both ways between a
# remote and a local client, each named to the other, the window size across
# the proxy, certificates the proxy refuses, the connection command dying,
# and a plain tcp: client on a listener without PROXY.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"
. "$(dirname "$0")/../lib-tls.sh"
export TMUX_TMPDIR=$T # the test's own tmux server, whoever the user is

for prog in haproxy openssl tmux python3; do
	command -v $prog >/dev/null || skip_all "$prog is not installed"
done
HAPROXY_CFG=$TOP/contrib/tls/haproxy.cfg

# The certificates, as docs/remote.md makes them: a CA that signs the
# server's certificate and the clients'; ops-laptop may force, auditor may
# watch; a second CA signs another "ops-laptop", which the proxy must refuse.
make_certs auditor > "$T/openssl.log" 2>&1
ok $? "openssl makes a CA, a server and client certificates, and a certificate of another CA"

TLS_PORT=$(free_port)
PROXY_PORT=$(free_port)
TCP_PORT=$(free_port)
while [ "$PROXY_PORT" = "$TLS_PORT" ]; do PROXY_PORT=$(free_port); done
while [ "$TCP_PORT" = "$TLS_PORT" ] || [ "$TCP_PORT" = "$PROXY_PORT" ]; do TCP_PORT=$(free_port); done

fakevm_start vm1 --ctty --echo --record "$T/vm1.rec"
fakevm_start vm2 --echo --record "$T/vm2.rec"
domain_file vm1 5b1d3f5a-7c9e-4b1d-8f3a-5c7e9b1d3f5a "$PTY_vm1"
domain_file vm2 6c2e4a6b-8d0f-4c2e-9a4b-6d8f0c2e4a6b "$PTY_vm2"
broker_config "<listen tcp='127.0.0.1:$PROXY_PORT' proxy='yes'/>
  <listen tcp='127.0.0.1:$TCP_PORT'/>
  <access>
    <grant cn='ops-laptop' domain='vm1' rights='force'/>
    <grant cn='auditor' domain='vm1' rights='watch'/>
    <grant address='127.0.0.1' domain='vm2' rights='write'/>
  </access>"
broker_start -v || { echo "Bail out! conbrokerd did not start"; exit 1; }

export CONBROKER_TLS_BIND=127.0.0.1:$TLS_PORT
export CONBROKER_TLS_CERT=$T/tls/server.pem
export CONBROKER_TLS_CA=$T/tls/ca.pem
export CONBROKER_BACKEND=127.0.0.1:$PROXY_PORT
haproxy -c -f "$HAPROXY_CFG" > "$T/haproxy-check.log" 2>&1
ok $? "haproxy accepts contrib/tls/haproxy.cfg as it is, paths and ports from the environment"
haproxy -db -f "$HAPROXY_CFG" 2> "$T/haproxy.log" &
HAPROXY_PID=$!
cleanup_pid $HAPROXY_PID
wait_for 20 "listening $TLS_PORT || ! kill -0 $HAPROXY_PID"
if ! listening "$TLS_PORT"; then
	sed 's/^/#   /' "$T/haproxy.log"
	echo "Bail out! haproxy did not start"
	exit 1
fi
ok 0 "haproxy runs in the foreground and listens on 127.0.0.1:$TLS_PORT"

# --- attach, type and read through the proxy, known by the certificate's CN.
printf 'typed-through-haproxy\n' | remote ops-laptop console vm1 > "$T/r1.out" 2> "$T/r1.err"
is "$?" 0 "a client with ops-laptop's certificate attaches through haproxy, writes, and ends at end of input"
like "$(cat "$T/r1.err")" "Connected to domain 'vm1' \(5b1d3f5a-7c9e-4b1d-8f3a-5c7e9b1d3f5a\), console serial0" "it gets the banner"
grep -q typed-through-haproxy "$T/vm1.rec"
ok $? "what it typed reaches the guest"
grep -q typed-through-haproxy "$T/r1.out"
ok $? "and the guest's echo comes back through the proxy"
grep -Eq "vm1/serial0: CN=ops-laptop \(127\.0\.0\.1:[0-9]+\) via tls proxy 127\.0\.0\.1:[0-9]+ attached as writer \(granted: force\)" "$T/broker.log"
ok $? "the daemon knows it by the CN haproxy verified, and logs it with the client's address"
grep -q "PROXY v2 header" "$T/broker.log"
ok $? "haproxy sent a PROXY v2 header"

# A certificate of the same CA with a CN that has only 'watch'.
remote auditor console vm1 < /dev/null > "$T/r2.out" 2> "$T/r2.err"
is "$?" 8 "auditor (watch only) is refused a write session with exit code 8"
like "$(cat "$T/r2.err")" "permission denied: CN=auditor \(127\.0\.0\.1:[0-9]+\) via tls proxy 127\.0\.0\.1:[0-9]+ may not write to console vm1/serial0 \(missing right 'write'\); --readonly needs only 'watch'" "the refusal names the CN and the missing right"
# A watcher on a pipe watches until it is stopped, like tail -f.
"$CONBROKER" -c "$(remote_uri auditor)" console vm1 --readonly < /dev/null > "$T/r3.out" 2> "$T/r3.err" &
W_PID=$!
cleanup_pid $W_PID
wait_for 20 "grep -q 'CN=auditor .* attached as watcher (granted: watch)' '$T/broker.log'"
ok $? "auditor watches with --readonly"
vm_ctl vm1 "say seen-by-auditor"
wait_for 10 "grep -q seen-by-auditor '$T/r3.out'"
ok $? "and reads the console's output through the proxy"
kill -TERM $W_PID
wait $W_PID
wait_for 10 "! pgrep -f '^openssl s_client .*$T/tls/auditor.crt' >/dev/null"
ok $? "when the watcher is stopped, its openssl s_client ends too"
wait_for 10 "grep -q 'CN=auditor .* detached' '$T/broker.log'"
ok $? "and the daemon sees the watcher go"

# --- certificates haproxy refuses: nothing reaches the daemon.
headers=$(grep -c "PROXY v2 header" "$T/broker.log")
remote "" console vm1 < /dev/null > /dev/null 2> "$T/none.err"
is "$?" 5 "without a client certificate: exit code 5"
err=$(cat "$T/none.err")
like "$err" "alert certificate required" "openssl's reason is shown: the proxy demanded a certificate"
like "$err" "conbroker: the connection command \(openssl s_client .*\) exited with status 1" "and the client says the connection command failed, with its status"
remote forged console vm1 < /dev/null > /dev/null 2> "$T/forged.err"
is "$?" 5 "with a certificate for CN ops-laptop from another CA: exit code 5"
err=$(cat "$T/forged.err")
like "$err" "alert unknown ca" "openssl's reason is shown: the proxy does not know the CA"
like "$err" "conbroker: the connection command \(openssl s_client .*\) exited with status 1" "and the client says the connection command failed"
# And the client checks the server: a name its certificate does not have.
"$CONBROKER" -c "$(remote_uri ops-laptop | sed 's/-verify_hostname localhost/-verify_hostname other.example/')" \
	console vm1 < /dev/null > /dev/null 2> "$T/name.err"
is "$?" 5 "a client that expects another server name gives up: exit code 5"
like "$(cat "$T/name.err")" "hostname mismatch" "openssl's reason is shown: the name does not match"
wait_for 10 "grep -q 'SSL client certificate not trusted' '$T/haproxy.log'"
ok $? "haproxy logs the untrusted certificate"
is "$(grep -c "PROXY v2 header" "$T/broker.log")" "$headers" "none of these connections reached the daemon"

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
ok $? "remote writer R attaches through haproxy with --force, from a terminal"
like "$(tmux_screen R)" "took over console vm1/serial0 from uid [0-9]+ \([a-z0-9_-]+\) pid $A_PID via unix \(forced\)" "R is told it took over from A, by uid and pid"
is "$(tmux_exit A)" 6 "A exits with code 6"
screen=$(tmux_screen A)
like "$screen" "console vm1/serial0 was taken over by CN=ops-laptop \(127\.0\.0\.1:[0-9]+\) via tls proxy 127\.0\.0\.1:[0-9]+ \(forced\)" "A's message names R by its CN and address"
R_PORT=$(printf '%s\n' "$screen" | sed -n 's/.*taken over by CN=ops-laptop (127\.0\.0\.1:\([0-9]*\)).*/\1/p' | head -n 1)

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
like "$(tmux_screen C)" "took over console vm1/serial0 from CN=ops-laptop \(127\.0\.0\.1:$R_PORT\) via tls proxy 127\.0\.0\.1:[0-9]+ \(forced\)" "C is told it took over from R, by its CN and address"
is "$(tmux_exit R)" 6 "R exits with code 6"
like "$(tmux_screen R)" "console vm1/serial0 was taken over by uid [0-9]+ \([a-z0-9_-]+\) pid $C_PID via unix \(forced\)" "R's message names C by uid and pid"
wait_for 10 "grep -Eq '^<[0-9]>127\.0\.0\.1:$R_PORT \[.*\] conbroker_tls~ conbrokerd/conbrokerd ' '$T/haproxy.log'"
ok $? "the address the daemon named is R's own, as haproxy logged it"
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
wait_for 10 "grep -Eq 'CN=ops-laptop .* closing connection: the client went away' '$T/broker.log'"
ok $? "the daemon sees the remote client go"
printf 'after-D\n' | cb console vm1 > "$T/after.out" 2>&1
is "$?" 0 "the console is free again: a local writer attaches without --force"

out=$("$CONBROKER" -c ext:false console vm1 < /dev/null 2>&1)
is "$?" 5 "ext:false: exit code 5"
like "$out" "conbroker: the connection command \(false\) exited with status 1" "with the command's status in the message"

# --- tcp: straight to a loopback listener without PROXY, with an address grant.
printf 'typed-over-tcp\n' | "$CONBROKER" -c "tcp:127.0.0.1:$TCP_PORT" console vm2 > "$T/tcp.out" 2> "$T/tcp.err"
is "$?" 0 "conbroker -c tcp: attaches to vm2 on a listener without PROXY"
grep -q typed-over-tcp "$T/vm2.rec" && grep -q typed-over-tcp "$T/tcp.out"
ok $? "it types and reads"
grep -Eq "vm2/serial0: 127\.0\.0\.1:[0-9]+ via tcp attached as writer \(granted: write\)" "$T/broker.log"
ok $? "the daemon knows it by its address"
out=$("$CONBROKER" -c "tcp:127.0.0.1:$TCP_PORT" console vm1 < /dev/null 2>&1)
is "$?" 8 "the address grant does not reach vm1: exit code 8"
like "$out" "permission denied: 127\.0\.0\.1:[0-9]+ via tcp may not write to console vm1/serial0 \(missing right 'write'\)" "and the refusal says so"
out=$("$CONBROKER" -c "tcp:127.0.0.1:$PROXY_PORT" console vm1 < /dev/null 2>&1)
is "$?" 5 "a client that bypasses haproxy to its PROXY listener is dropped: exit code 5"
like "$out" "the broker at tcp:127\.0\.0\.1:$PROXY_PORT closed the connection" "it is told the broker closed the connection"

kill -TERM "$HAPROXY_PID"
broker_finish "the daemon exits 0 on SIGTERM" "no sanitizer report in the daemon's log"

done_testing
