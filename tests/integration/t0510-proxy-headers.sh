#!/bin/bash
# PROXY headers: on a listener not configured for them they are dropped and
# grant nothing; on a listener with proxy='yes' a connection without a valid
# header (none, truncated, lying about its length, oversized) is refused.
# Each is logged, and a session through the proxy goes on unaffected.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

# config: two TCP listeners on free ports, PLAIN without and PROXY with the
# PROXY protocol (fails when the two are the same port).  The CN ops.example
# and the address 192.0.2.7 may do everything; the local address itself
# (where the test connects from) may only watch.
config() {
	mkdir -p "$T/lock" "$T/domains"
	PLAIN=$(free_port)
	PROXY=$(free_port)
	[ "$PLAIN" != "$PROXY" ] || return 1
	cat > "$T/conbroker.xml" <<XML
<conbroker>
  <listen unix='$T/sock' mode='0600'/>
  <listen tcp='127.0.0.1:$PLAIN'/>
  <listen tcp='127.0.0.1:$PROXY' proxy='yes'/>
  <locks dir='$T/lock'/>
  <state dir='$T/state'/>
  <domains dir='$T/domains'/>
  <limits hello-timeout='2'/>
  <access>
    <grant cn='ops.example' rights='force'/>
    <grant address='192.0.2.7' rights='force'/>
    <grant address='127.0.0.1' rights='watch'/>
  </access>
</conbroker>
XML
}
# start: the daemon with that config.
start() { broker_start_on_ports config; }

PX=$HELPERS/proxyclient
# refused NAME REGEX ARGS...: the client through `proxyclient ARGS` is cut
# off (exit code 5) and the daemon logs one more line matching REGEX.
refused() {
	local name=$1 re=$2 before rc
	shift 2
	before=$(logged "$re")
	timeout 20 "$CONBROKER" -c "ext:$PX $*" console vm1 --readonly < /dev/null > /dev/null 2>&1; rc=$?
	is "$rc" 5 "$name: the connection is refused (exit code 5)"
	wait_for 10 "[ \$(logged '$re') -gt $before ]"
	ok $? "$name: the daemon logs it"
}

fakevm_start vm1 --echo --record "$T/vm1.rec"
domain_file vm1 2c8a3e74-5d9f-4b20-9e3c-4d5e6f708192 "$PTY_vm1"
start || { ok 1 "conbrokerd starts"; done_testing; exit 1; }
ok 0 "conbrokerd starts with a plain and a PROXY listener"

# A legitimate session through the proxy, kept open throughout.
mkfifo "$T/legit.in"
sleep 100000 > "$T/legit.in" &
cleanup_pid $!
"$CONBROKER" -c "ext:$PX 127.0.0.1 $PROXY --cn ops.example --src 192.0.2.44" \
	console vm1 < "$T/legit.in" > "$T/legit.out" 2> "$T/legit.err" &
LEGIT=$!
cleanup_pid $LEGIT
wait_for 10 "grep -q 'CN=ops.example (192.0.2.44:40000) via tls proxy 127.0.0.1:[0-9]* attached as writer (granted: force)' '$T/broker.log'"
ok $? "a client with a verified CN attaches through the PROXY listener as writer"
fifo_send "$T/legit.in" $'legit-first\n'
wait_for 10 "grep -q legit-first '$T/legit.out'"
ok $? "and its typing is echoed"

diag "--- a PROXY header on a listener not configured for it"
WRONG="it sent a PROXY header to a listener not configured for the PROXY protocol"
out=$(timeout 20 "$CONBROKER" -c "tcp:127.0.0.1:$PLAIN" console vm1 < /dev/null 2>&1); rc=$?
is "$rc" 8 "without a header, the plain listener's peer is its real self: 127.0.0.1 may not write"
like "$out" "denied: 127\\.0\\.0\\.1:[0-9]+ via tcp may not write to console vm1/serial0 \\(missing right 'write'\\)" \
	"and is named by its real address"
refused "v2 header claiming CN ops.example and 192.0.2.7" \
	"127\\.0\\.0\\.1:[0-9]+ via tcp: closing connection: $WRONG" \
	127.0.0.1 $PLAIN --cn ops.example --src 192.0.2.7
refused "v1 header claiming 192.0.2.7" \
	"127\\.0\\.0\\.1:[0-9]+ via tcp: closing connection: $WRONG" \
	127.0.0.1 $PLAIN --v1 --src 192.0.2.7
refused "v2 LOCAL header" "$WRONG" 127.0.0.1 $PLAIN --local
refused "v1 header sent a byte at a time" "$WRONG" 127.0.0.1 $PLAIN --v1 --src 192.0.2.7 --drip 10
refused "v2 header sent a byte at a time" "$WRONG" 127.0.0.1 $PLAIN --cn ops.example --src 192.0.2.7 --drip 10
is "$(logged 'CN=ops\.example \(192\.0\.2\.7|192\.0\.2\.7:40000')" 0 \
	"no log line ever names the identity a header to the wrong listener claimed"
is "$(logged 'attached as writer')" 1 "only the legitimate client ever attached as writer"

diag "--- a listener with proxy='yes' refuses connections without a valid header"
refused "no header (a client straight to the PROXY listener)" \
	"127\\.0\\.0\\.1:[0-9]+ via tcp: closing connection: bad PROXY header: not a PROXY protocol header" \
	127.0.0.1 $PROXY --none
mkfifo "$T/idle.in"
sleep 100000 > "$T/idle.in" &
cleanup_pid $!
before=$(logged "said no hello in time")
timeout 20 "$PX" 127.0.0.1 $PROXY --none < "$T/idle.in" > /dev/null 2>&1; rc=$?
is "$rc" 0 "a connection that sends nothing is closed by the daemon (the hello timeout covers the header)"
is "$(logged "said no hello in time")" $((before + 1)) "and that is logged"
GONE="127\\.0\\.0\\.1:[0-9]+ via tcp: closing connection: the client went away in the middle of"
before=$(logged "$GONE")
timeout 20 "$PX" 127.0.0.1 $PROXY --cn ops.example --src 192.0.2.7 --cut 20 > /dev/null 2>&1
timeout 20 "$PX" 127.0.0.1 $PROXY --v1 --src 192.0.2.7 --cut 12 > /dev/null 2>&1
wait_for 10 "[ \$(logged '$GONE') -ge $((before + 2)) ]"
ok $? "a truncated v2 header and a truncated v1 line, then close: each is logged"
refused "v2 length too short for the addresses" \
	"bad PROXY header: PROXY v2 length is too short for the addresses" \
	127.0.0.1 $PROXY --cn ops.example --src 192.0.2.7 --length 8
refused "v2 length that cuts the SSL TLV short" \
	"bad PROXY header: PROXY v2 TLV overruns the header \\(lying length\\)" \
	127.0.0.1 $PROXY --cn ops.example --src 192.0.2.7 --length 40
refused "v2 length longer than the header (the frames that follow taken for it)" \
	"said no hello in time|bad PROXY header" \
	127.0.0.1 $PROXY --cn ops.example --src 192.0.2.7 --length 300
refused "v2 length of 5000" \
	"bad PROXY header: PROXY v2 header is larger than 4096 bytes" \
	127.0.0.1 $PROXY --cn ops.example --src 192.0.2.7 --length 5000
refused "v2 length of 65535, sent a byte at a time" \
	"bad PROXY header: PROXY v2 header is larger than 4096 bytes" \
	127.0.0.1 $PROXY --src 192.0.2.7 --length 65535 --drip 5
is "$(logged 'attached as writer')" 1 "none of them ever attached"

# A LOCAL header (the proxy's health check) claims nobody: the peer is the
# proxy itself, which may only watch.
out=$(timeout 20 "$CONBROKER" -c "ext:$PX 127.0.0.1 $PROXY --local" console vm1 < /dev/null 2>&1); rc=$?
is "$rc" 8 "a v2 LOCAL header claims no identity: the proxy's own address may not write"
like "$out" "denied: 127\\.0\\.0\\.1:[0-9]+ via " "and the peer is named by the proxy's address"

diag "--- the legitimate session went on"
kill -0 $LEGIT 2>/dev/null
ok $? "the legitimate client is still attached"
vm_ctl vm1 "say guest-still-here"
wait_for 10 "grep -q guest-still-here '$T/legit.out'"
ok $? "it still receives the guest's output"
fifo_send "$T/legit.in" $'legit-last\n'
wait_for 10 "grep -q legit-last '$T/legit.out'"
ok $? "and its typing still reaches the guest and comes back"
is "$(grep -c 'CN=ops.example (192.0.2.44:40000).*detached' "$T/broker.log")" 0 "it was never detached"

broker_finish "the daemon exits 0 on SIGTERM"
wait_for 10 "! kill -0 $LEGIT 2>/dev/null"
ok $? "the legitimate client ends when the daemon stops"

done_testing
