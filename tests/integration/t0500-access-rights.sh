#!/bin/bash
# Who may watch, write and force: each right granted and denied to a user, a
# group, a TLS CN and an address; the defaults without <access>; list shows
# only what a peer may watch; every grant and denial is logged.
#
# Unix peers are other users without accounts: the client runs under
# setpriv with numeric ids, on a socket of mode 0666.  TCP peers come through
# proxyclient, which plays the TLS proxy and claims an address and a CN in a
# PROXY v2 header, on a listener with proxy='yes'.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

command -v setpriv >/dev/null || skip_all "setpriv (util-linux) is not installed"
[ "$(id -u)" -eq 0 ] || skip_all "needs root, to run clients as other users"
setpriv --reuid=2001 --regid=2001 --clear-groups "$CONBROKER" --version >/dev/null 2>&1 ||
	skip_all "the client cannot run as another user from $CONBROKER_BUILD"
chmod 0711 "$T" # other users reach the socket, nothing else

# config [XML]: a socket that every user may connect to, a PROXY listener on
# a free port (PORT), and the XML given (the <access> rules).
config() {
	PORT=$(free_port)
	mkdir -p "$T/lock" "$T/domains"
	cat > "$T/conbroker.xml" <<XML
<conbroker>
  <listen unix='$T/sock' mode='0666'/>
  <listen tcp='127.0.0.1:$PORT' proxy='yes'/>
  <locks dir='$T/lock'/>
  <state dir='$T/state'/>
  <domains dir='$T/domains'/>
  ${1:-}
</conbroker>
XML
}

# start [XML]: the daemon with that config, on a free port.
start() { broker_start_on_ports config "${1:-}"; }

# stop: SIGTERM; the daemon must exit 0 without a sanitizer report.
stop() {
	broker_finish "the daemon exits 0 on SIGTERM"
}

# who WHO: the client command, in CMD, as one of the identities the rules
# name.  user-*, group-*: a Unix peer with those ids; cn-*, addr-*: a TCP peer
# through the proxy; *-none: an identity that no rule names.
who() {
	local px="$HELPERS/proxyclient 127.0.0.1 $PORT" ids=
	case $1 in
	user-none)   ids="--reuid=2000 --regid=2000 --clear-groups" ;;
	user-watch)  ids="--reuid=2001 --regid=2001 --clear-groups" ;;
	user-write)  ids="--reuid=2002 --regid=2002 --clear-groups" ;;
	user-force)  ids="--reuid=2003 --regid=2003 --clear-groups" ;;
	user-vm2)    ids="--reuid=2004 --regid=2004 --clear-groups" ;;
	user-vm1ro)  ids="--reuid=2005 --regid=2005 --clear-groups" ;;
	group-none)  ids="--reuid=2010 --regid=2010 --groups=4000,4001" ;;
	group-watch) ids="--reuid=2011 --regid=2011 --groups=4000,3001" ;;
	group-write) ids="--reuid=2012 --regid=3002 --clear-groups" ;;
	group-force) ids="--reuid=2013 --regid=2013 --groups=3003" ;;
	cn-none)     CMD=("$CONBROKER" -c "ext:$px --src 203.0.113.9 --cn stranger.example") ;;
	cn-watch)    CMD=("$CONBROKER" -c "ext:$px --src 203.0.113.9 --cn watcher.example") ;;
	cn-write)    CMD=("$CONBROKER" -c "ext:$px --src 203.0.113.9 --cn writer.example") ;;
	cn-force)    CMD=("$CONBROKER" -c "ext:$px --src 203.0.113.9 --cn forcer.example") ;;
	cn-unverified) CMD=("$CONBROKER" -c "ext:$px --src 203.0.113.9 --cn forcer.example --verify 1") ;;
	cn-nocert)   CMD=("$CONBROKER" -c "ext:$px --src 203.0.113.9 --cn forcer.example --no-cert") ;;
	addr-none)   CMD=("$CONBROKER" -c "ext:$px --src 198.51.100.8") ;;
	addr-watch)  CMD=("$CONBROKER" -c "ext:$px --src 192.0.2.50") ;;
	addr-write)  CMD=("$CONBROKER" -c "ext:$px --src 198.51.100.7") ;;
	addr-force)  CMD=("$CONBROKER" -c "ext:$px --src 2001:db8::5") ;;
	addr-v1)     CMD=("$CONBROKER" -c "ext:$px --v1 --src 198.51.100.7") ;;
	*) echo "no identity $1" >&2; return 1 ;;
	esac
	# shellcheck disable=SC2206
	[ -n "$ids" ] && CMD=(setpriv $ids "$CONBROKER" -c "unix:$T/sock")
	return 0
}

# run WHO ARGS...: the client as WHO, with a deadline so that a hang fails
# instead of stalling.
run() { who "$1" || return 1; shift; timeout 30 "${CMD[@]}" "$@"; }

# How each identity appears in the daemon's log and messages.
desc() {
	case $1 in
	user-*|group-*)
		who "$1"
		echo "uid ${CMD[1]#--reuid=} \\([^)]*\\) pid [0-9]+ via unix" ;;
	cn-none)  echo "CN=stranger\\.example \\(203\\.0\\.113\\.9:40000\\) via tls proxy 127\\.0\\.0\\.1:[0-9]+" ;;
	cn-watch) echo "CN=watcher\\.example \\(203\\.0\\.113\\.9:40000\\) via tls proxy 127\\.0\\.0\\.1:[0-9]+" ;;
	cn-write) echo "CN=writer\\.example \\(203\\.0\\.113\\.9:40000\\) via tls proxy 127\\.0\\.0\\.1:[0-9]+" ;;
	cn-force) echo "CN=forcer\\.example \\(203\\.0\\.113\\.9:40000\\) via tls proxy 127\\.0\\.0\\.1:[0-9]+" ;;
	addr-none)  echo "198\\.51\\.100\\.8:40000 via tcp proxy 127\\.0\\.0\\.1:[0-9]+" ;;
	addr-watch) echo "192\\.0\\.2\\.50:40000 via tcp proxy 127\\.0\\.0\\.1:[0-9]+" ;;
	addr-write) echo "198\\.51\\.100\\.7:40000 via tcp proxy 127\\.0\\.0\\.1:[0-9]+" ;;
	addr-force) echo "\\[2001:db8::5\\]:40000 via tcp proxy 127\\.0\\.0\\.1:[0-9]+" ;;
	esac
}

# holder_start: a root writer that holds vm1 (root keeps every right).
holder_start() {
	"$CONBROKER" -c "unix:$T/sock" console vm1 --no-history < "$T/hold.in" \
		> "$T/hold.out" 2> "$T/hold.err" &
	HOLDER=$!
	cleanup_pid $HOLDER
	wait_for 10 "grep -q 'pid $HOLDER via unix attached as writer' '$T/broker.log'"
}

# watchers: how many sessions the daemon has attached as watchers so far.
watchers() { grep -c 'attached as watcher' "$T/broker.log"; }

# watch_ok WHO [DOMAIN]: WHO attaches read-only and sees the guest's output.
watch_ok() {
	local who=$1 dom=${2:-vm1} n=$((++WATCHES)) pid before
	before=$(watchers)
	run "$who" console "$dom" --readonly --no-history < /dev/null \
		> "$T/w$n.out" 2> "$T/w$n.err" &
	pid=$!
	wait_for 10 "[ \$(watchers) -gt $before ] || ! kill -0 $pid 2>/dev/null"
	if ! kill -0 $pid 2>/dev/null; then
		ok 1 "$who may watch $dom"; sed 's/^/#   /' "$T/w$n.err"; return
	fi
	vm_ctl "$dom" "say seen-by-$who-$n"
	wait_for 10 "grep -q 'seen-by-$who-$n' '$T/w$n.out'"
	ok $? "$who may watch $dom: it attaches read-only and sees the guest's output"
	kill $pid 2>/dev/null; wait $pid 2>/dev/null
}

# denied WHO RIGHT VERB ARGS...: exit code 8, a message naming the right.
denied() {
	local who=$1 right=$2 verb=$3 out rc
	shift 3
	out=$(run "$who" "$@" < /dev/null 2>&1); rc=$?
	is "$rc" 8 "$who: '$*' is refused with exit code 8 (missing '$right')"
	like "$out" "permission denied: .* may not $verb console vm1/serial0 \\(missing right '$right'\\)" \
		"$who: the message says which right is missing"
	LAST_OUT=$out
}

# writes WHO: WHO opens the free console, types, reads the echo, exit 0.
writes() {
	local who=$1 out rc
	out=$(printf 'typed-by-%s\n' "$who" | run "$who" console vm1 --linger 200 2> "$T/writes.err"); rc=$?
	is "$rc" 0 "$who may write: a plain open of the free console ends with exit code 0"
	like "$out" "typed-by-$who" "$who: its input reached the guest and the echo came back"
	grep -q "typed-by-$who" "$T/vm1.rec"
	ok $? "$who: the guest received it"
}

fakevm_start vm1 --echo --record "$T/vm1.rec"
fakevm_start vm2 --echo
domain_file vm1 0a6e1c52-3b7d-4f0e-9c1a-2b3c4d5e6f70 "$PTY_vm1"
domain_file vm2 1b7f2d63-4c8e-4a1f-8d2b-3c4d5e6f7081 "$PTY_vm2"
mkfifo "$T/hold.in"
sleep 100000 > "$T/hold.in" &
cleanup_pid $!
WATCHES=0

ACCESS="<access>
    <grant user='2001' rights='watch'/>
    <grant user='2002' rights='write'/>
    <grant user='2003' rights='force'/>
    <grant user='2004' domain='vm2' rights='write'/>
    <grant user='2005' domain='vm1' console='serial0' rights='watch'/>
    <grant group='3001' rights='watch'/>
    <grant group='3002' rights='write'/>
    <grant group='3003' rights='force'/>
    <grant cn='watcher.example' rights='watch'/>
    <grant cn='writer.example' rights='write'/>
    <grant cn='forcer.example' rights='force'/>
    <grant address='192.0.2.0/24' rights='watch'/>
    <grant address='198.51.100.7' rights='write'/>
    <grant address='2001:db8::/32' rights='force'/>
  </access>"
start "$ACCESS" || { ok 1 "conbrokerd starts"; done_testing; exit 1; }
ok 0 "conbrokerd starts with <access> rules and a PROXY listener"

for class in user group cn addr; do
	diag "--- rights given to: $class"
	# No grant: not even watch.
	denied $class-none watch watch console vm1 --readonly
	# watch: attach read-only; writing is refused, with the hint.
	watch_ok $class-watch
	denied $class-watch write "write to" console vm1
	like "$LAST_OUT" "; --readonly needs only 'watch'" "$class-watch: the refusal says --readonly would do"
	# write: a free console, and a busy one without and with --force.
	writes $class-write
	holder_start
	ok $? "a root writer holds vm1 (root keeps every right over the Unix socket)"
	out=$(run $class-write console vm1 < /dev/null 2>&1); rc=$?
	is "$rc" 3 "$class-write: a plain open of the busy console is exit code 3"
	like "$out" "console vm1/serial0 is busy: uid 0 \\(root\\) pid $HOLDER via unix" "and names the writer"
	denied $class-write force "take over" console vm1 --force
	# A watcher may not force either: write is checked first.
	denied $class-watch write "write to" console vm1 --force
	# force: the writer is taken over, and told by whom.
	out=$(printf 'forced-by-%s\n' $class | run $class-force console vm1 --force --linger 200 2>&1); rc=$?
	is "$rc" 0 "$class-force: --force on the busy console ends with exit code 0"
	like "$out" "forced-by-$class" "$class-force: it writes once it took over"
	wait $HOLDER; rc=$?
	is "$rc" 6 "the writer it evicted ends with exit code 6"
	like "$(cat "$T/hold.err")" "taken over by $(desc $class-force) \\(forced\\)" "and is told who took over"
	# force on a free console is a plain open.
	writes $class-force
done

diag "--- log lines"
log=$(cat "$T/broker.log")
for who in user-watch group-watch cn-watch addr-watch; do
	like "$log" "vm1/serial0: $(desc $who) attached as watcher \\(granted: watch\\)" \
		"the log names $who, its transport and address, and the grant"
done
for who in cn-write addr-write; do
	like "$log" "vm1/serial0: $(desc $who) attached as writer \\(granted: write\\)" \
		"the log names $who as writer with its grant"
done
like "$log" "vm1/serial0: $(desc cn-force) attached as writer \\(granted: force\\); took over console vm1/serial0 from uid 0 \\(root\\) pid [0-9]+ via unix \\(forced\\)" \
	"a forced takeover is logged with both identities"
like "$log" "refused $(desc cn-none): permission denied: $(desc cn-none) may not watch console vm1/serial0 \\(missing right 'watch'\\)" \
	"a denial is logged with the identity, its transport and address"
like "$log" "refused $(desc addr-write): permission denied: $(desc addr-write) may not take over console vm1/serial0 \\(missing right 'force'\\)" \
	"a denied takeover is logged with the address"
like "$log" "refused uid 2010 \\([^)]*\\) pid [0-9]+ via unix: permission denied: .* may not watch" \
	"a denied Unix peer is logged with its uid and pid"

diag "--- a CN counts only when the proxy verified the certificate"
denied cn-unverified watch watch console vm1 --readonly
like "$LAST_OUT" "denied: 203\\.0\\.113\\.9:40000 via tls proxy 127\\.0\\.0\\.1:[0-9]+ may not" \
	"a CN with verify != 0 is no identity: the peer is its address"
denied cn-nocert watch watch console vm1 --readonly
like "$LAST_OUT" "denied: 203\\.0\\.113\\.9:40000 via tls proxy" \
	"nor is a CN when no certificate came on this connection"
out=$(printf 'v1-line\n' | run addr-v1 console vm1 --linger 200 2>&1); rc=$?
is "$rc" 0 "a PROXY v1 header's address gets that address's grant"

diag "--- per domain and per console grants; list"
out=$(printf 'on-vm2\n' | run user-vm2 console vm2 --linger 200 2>&1); rc=$?
is "$rc" 0 "a grant on domain='vm2' lets its user write to vm2"
out=$(run user-vm2 console vm1 < /dev/null 2>&1); rc=$?
is "$rc" 8 "but not to vm1"
like "$out" "may not write to console vm1/serial0 \\(missing right 'write'\\)$" "without the --readonly hint: it may not watch either"
watch_ok user-vm1ro vm1
out=$(run user-vm1ro console vm2 --readonly < /dev/null 2>&1); rc=$?
is "$rc" 8 "a grant on vm1's serial0 gives nothing on vm2"
like "$out" "may not watch console vm2/serial0 \\(missing right 'watch'\\)" "and says so"

list_of() { run "$1" list --json 2>/dev/null | grep -o '"domain": "[^"]*"' | sed 's/.*: "//; s/"//' | tr '\n' ' '; }
is "$(list_of user-vm1ro)" "vm1 " "list shows a peer only the consoles it may watch (vm1)"
is "$(list_of user-vm2)" "vm2 " "list for a writer of vm2: vm2 only"
is "$(list_of user-none)" "" "list for a user without grants: nothing"
is "$(list_of cn-watch)" "vm1 vm2 " "list for a CN with watch everywhere: both"
is "$(list_of cn-unverified)" "" "list for an unverified CN: nothing"
is "$(list_of addr-none)" "" "list for an address without grants: nothing"
out=$("$CONBROKER" -c "unix:$T/sock" list --json 2>/dev/null | grep -o '"domain": "[^"]*"' | wc -l)
is "$out" 2 "list for root: everything"
run user-none list > "$T/list.out" 2>&1; rc=$?
is "$rc" 0 "an empty list is no error"

diag "--- without <access>: Unix peers everything, TCP peers nothing"
stop
start "" || { ok 1 "conbrokerd restarts without <access>"; done_testing; exit 1; }
ok 0 "conbrokerd restarts without <access>"
for who in cn-force addr-force addr-write; do
	denied $who watch watch console vm1 --readonly
	denied $who write "write to" console vm1
done
holder_start
denied cn-force write "write to" console vm1 --force
is "$(list_of cn-force)" "" "list over TCP without <access>: nothing"
is "$(list_of addr-force)" "" "list for an address without <access>: nothing"
out=$(printf 'any-user\n' | run user-none console vm1 --force --linger 200 2>&1); rc=$?
is "$rc" 0 "any Unix peer may force without <access>"
wait $HOLDER; rc=$?
is "$rc" 6 "and the writer it evicted ends with exit code 6"
watch_ok group-none
writes user-none
is "$(list_of user-none)" "vm1 vm2 " "list for any Unix peer without <access>: everything"
stop

done_testing
