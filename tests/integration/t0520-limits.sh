#!/bin/bash
# Limits: 5,000 idle connections and slowloris peers do not keep a real
# client out; the daemon's memory stays bounded; the hello timeout, the
# per-identity limit and the connection limit each do what they say, and a
# limit hit by a flood is logged at most once a second.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

FLOOD=5000
# As an operator would: every descriptor the hard limit allows, and a higher
# hard limit when it is too low for the daemon's side and the flood's side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((FLOOD * 2 + 1000)) ]; then
	ulimit -Hn $((FLOOD * 2 + 1000)) 2>/dev/null && ulimit -n $((FLOOD * 2 + 1000))
fi
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((FLOOD + 500)) ] ||
	skip_all "needs $((FLOOD + 500)) descriptors, the hard limit is $(ulimit -Hn)"

# config LIMITS: a Unix socket, a PROXY listener on a free port (PORT), the
# CN ops.example allowed everything, and this <limits> element.
config() {
	mkdir -p "$T/lock" "$T/domains"
	PORT=$(free_port)
	cat > "$T/conbroker.xml" <<XML
<conbroker>
  <listen unix='$T/sock' mode='0600'/>
  <listen tcp='127.0.0.1:$PORT' proxy='yes'/>
  <locks dir='$T/lock'/>
  <state dir='$T/state'/>
  <domains dir='$T/domains'/>
  $1
  <access>
    <grant cn='ops.example' rights='force'/>
  </access>
</conbroker>
XML
}
# start LIMITS: the daemon with that config.
start() { broker_start_on_ports config "$1"; }

# stop: SIGTERM; the daemon must exit 0 without a sanitizer report.
stop() {
	broker_finish "the daemon exits 0 on SIGTERM"
}

status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$BROKER_PID/status"; }
fds() { find "/proc/$BROKER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
counter() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$1" 2>/dev/null; }

# echo_ok NAME URI: a client attaches, types, reads the echo, within 15 s.
echo_ok() {
	local name=$1 uri=$2 t0 out rc
	t0=$(now_ms)
	out=$(printf 'echo-%s\n' "$name" | timeout 15 "$CONBROKER" -c "$uri" console vm1 --linger 200 2> "$T/$name.err"); rc=$?
	is "$rc" 0 "$name: attaches and ends with exit code 0 within the deadline"
	like "$out" "echo-$name" "$name: its typing is echoed"
	diag "$name: attached, typed and read the echo in $(( $(now_ms) - t0 )) ms"
	[ "$rc" -eq 0 ] || sed 's/^/#   /' "$T/$name.err"
}

fakevm_start vm1 --echo --record "$T/vm1.rec"
domain_file vm1 3d9b4f85-6e0a-4c31-8f4d-5e6f708192a3 "$PTY_vm1"
PROXY_URI() { echo "ext:$HELPERS/proxyclient 127.0.0.1 $PORT --cn ops.example --src 192.0.2.7"; }

diag "--- $FLOOD idle connections held at once, and slowloris peers"
start "<limits connections='$((FLOOD + 1000))' handshaking='$((FLOOD + 1000))' hello-timeout='120'/>" ||
	{ ok 1 "conbrokerd starts"; done_testing; exit 1; }
echo_ok before-flood "unix:$T/sock"
# The console lets its pty go a moment after the last input: count without it.
wait_for 10 "! ls '$T/lock' 2>/dev/null | grep -q LCK"
base_fds=$(fds)
rss_before=$(status_kb VmRSS)

"$HELPERS/connflood" "tcp:127.0.0.1:$PORT" $FLOOD 90 --status "$T/flood.status" > "$T/flood.out" 2>&1 &
FLOOD_PID=$!
cleanup_pid $FLOOD_PID
wait_for 60 "[ \$(fds) -ge $((base_fds + FLOOD)) ] && [ \"\$(counter '$T/flood.status' open)\" = $FLOOD ]"
ok $? "the daemon holds $FLOOD connections that said nothing"
diag "flood: $(cat "$T/flood.status"); the daemon has $(fds) descriptors"
"$HELPERS/connflood" "tcp:127.0.0.1:$PORT" 20 90 --drip 200 --payload proxy > /dev/null 2>&1 &
SLOW1=$!
cleanup_pid $SLOW1
"$HELPERS/connflood" "unix:$T/sock" 20 90 --drip 200 --payload hello > /dev/null 2>&1 &
SLOW2=$!
cleanup_pid $SLOW2
wait_for 20 "[ \$(fds) -ge $((base_fds + FLOOD + 40)) ]"
ok $? "and 40 slowloris peers, dripping a PROXY header or a HELLO frame a byte at a time"
rss_flood=$(status_kb VmRSS)

echo_ok unix-during-flood "unix:$T/sock"
echo_ok proxy-during-flood "$(PROXY_URI)"
kill -0 $FLOOD_PID 2>/dev/null && [ "$(counter "$T/flood.status" closed)" = 0 ]
ok $? "the flood's connections are all still open: nobody was dropped to make room"

kill -TERM $FLOOD_PID $SLOW1 $SLOW2
wait $FLOOD_PID $SLOW1 $SLOW2 2>/dev/null
wait_for 30 "[ \$(fds) -le $((base_fds + 2)) ]"
ok $? "once the flood is gone the daemon is back to $base_fds descriptors ($(fds))"
rss_after=$(status_kb VmRSS)
peak=$(status_kb VmHWM)
diag "daemon RSS: before the flood ${rss_before} kB, with $FLOOD connections ${rss_flood} kB, peak (VmHWM) ${peak} kB, after ${rss_after} kB"
[ "$peak" -lt $((256 * 1024)) ]
ok $? "the daemon's peak RSS stays below 256 MiB (${peak} kB)"
echo_ok after-flood "unix:$T/sock"
stop

diag "--- the default limits under a flood that never stops"
start "" || { ok 1 "conbrokerd starts"; done_testing; exit 1; }
base_fds=$(fds)
"$HELPERS/connflood" "tcp:127.0.0.1:$PORT" $FLOOD 6 --refill --status "$T/churn.status" > "$T/churn.out" 2>&1 &
FLOOD_PID=$!
cleanup_pid $FLOOD_PID
t0=$(now_ms)
wait_for 30 "[ \$(counter '$T/churn.status' closed) -ge 1000 ] 2>/dev/null"
ok $? "with handshaking=256 the daemon drops the oldest connections without a hello"
max_fds=$(fds)
echo_ok unix-during-churn "unix:$T/sock"
max_fds=$(( $(fds) > max_fds ? $(fds) : max_fds ))
echo_ok proxy-during-churn "$(PROXY_URI)"
max_fds=$(( $(fds) > max_fds ? $(fds) : max_fds ))
echo_ok unix-during-churn-2 "unix:$T/sock"
kill -0 $FLOOD_PID 2>/dev/null
ok $? "the flood was still going on all the while"
[ "$max_fds" -le $((base_fds + 256 + 16)) ]
ok $? "the daemon never holds many more than 256 connections without a hello (saw $max_fds descriptors)"
wait $FLOOD_PID
elapsed=$(( ($(now_ms) - t0 + 999) / 1000 ))
diag "churn: $(cat "$T/churn.out") in ${elapsed} s"
n=$(logged "too many connections without a hello; dropping the oldest")
closed=$(counter "$T/churn.out" closed)
[ "$n" -ge 1 ] && [ "$n" -le $((elapsed + 2)) ]
ok $? "the handshaking limit is logged at most once a second ($n lines for $closed connections dropped)"
like "$(grep 'dropping the oldest' "$T/broker.log" | tail -1)" "and [0-9]+ more since the last report" \
	"each line says how many more it stands for"
stop

diag "--- hello timeout, per-identity limit, connection limit"
start "<limits connections='50' per-identity='3' hello-timeout='2'/>" ||
	{ ok 1 "conbrokerd starts"; done_testing; exit 1; }
base_fds=$(fds)
before=$(logged "said no hello in time")
t0=$(now_ms)
"$HELPERS/connflood" "unix:$T/sock" 40 20 --until-closed > "$T/idle.out" 2>&1
took=$(( $(now_ms) - t0 ))
is "$(counter "$T/idle.out" closed)" 40 "40 idle connections are all closed by the daemon"
[ "$took" -lt 15000 ]
ok $? "within the 2 s hello timeout and some slack (took $took ms)"
is "$(( $(logged "said no hello in time") - before ))" 40 "each is logged once"

# Three connections of uid 0 (this test) at once, then a fourth.
for i in 1 2 3; do
	"$CONBROKER" -c "unix:$T/sock" console vm1 --readonly --no-history < /dev/null > /dev/null 2>&1 &
	eval "W$i=\$!"
	cleanup_pid $!
done
wait_for 10 "[ \$(logged 'attached as watcher') -ge 3 ]"
ok $? "three watchers of uid 0 attach"
out=$(timeout 10 "$CONBROKER" -c "unix:$T/sock" list 2>&1); rc=$?
is "$rc" 8 "a fourth connection of uid 0 is refused with exit code 8"
like "$out" "too many connections for uid 0 \\(limit 3\\)" "and the message says which limit"
like "$(cat "$T/broker.log")" "per-identity connection limit: uid 0 \\(root\\) pid [0-9]+ via unix" "the daemon logs it with the identity"
echo_ok cn-while-uid0-is-full "$(PROXY_URI)"
kill $W1; wait $W1 2>/dev/null
wait_for 10 "[ \$(logged 'via unix detached') -ge 1 ]"
out=$(timeout 10 "$CONBROKER" -c "unix:$T/sock" list 2>&1); rc=$?
is "$rc" 0 "once one of them is gone, uid 0 may connect again"
kill $W2 $W3; wait $W2 $W3 2>/dev/null

"$HELPERS/connflood" "unix:$T/sock" 200 3 --refill --status "$T/full.status" > "$T/full.out" 2>&1 &
FLOOD_PID=$!
cleanup_pid $FLOOD_PID
t0=$(now_ms)
wait_for 10 "[ \$(counter '$T/full.status' closed) -ge 100 ] 2>/dev/null"
ok $? "beyond 50 connections, new ones are refused (closed at once)"
out=$(timeout 10 "$CONBROKER" -c "unix:$T/sock" list 2>&1); rc=$?
is "$rc" 5 "a client beyond the connection limit is refused (exit code 5)"
like "$out" "closed the connection" "and told the broker closed the connection"
wait $FLOOD_PID
elapsed=$(( ($(now_ms) - t0 + 999) / 1000 ))
diag "full: $(cat "$T/full.out") in ${elapsed} s"
n=$(logged "connection limit reached")
closed=$(counter "$T/full.out" closed)
[ "$n" -ge 1 ] && [ "$n" -le $((elapsed + 2)) ] && [ "$closed" -gt $((n * 10)) ]
ok $? "the connection limit is logged at most once a second ($n lines for $closed refusals)"
like "$(grep 'connection limit reached' "$T/broker.log" | head -1)" "unix:$T/sock: connection limit reached \\(50 connections\\): refusing new ones" \
	"the line names the listener and the limit"
wait_for 10 "[ \$(fds) -le $((base_fds + 4)) ]"
echo_ok after-full "unix:$T/sock"
stop

done_testing
