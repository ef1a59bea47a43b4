# Helpers for tests that run a real conbrokerd against fakevm ptys.
#
# Source after tests/lib.sh.  Everything lives in the test's private $T: the
# socket $T/sock, the lock directory $T/lock, the config $T/conbroker.xml, one
# domain file per domain under $T/domains, the daemon's log $T/broker.log.

# fakevm_start NAME [fakevm options...]: a hypervisor side with a pty; sets
# PTY_<NAME> to its /dev/pts path.  Its status lines go to $T/NAME.status and
# it takes commands from the FIFO $T/NAME.ctl.
fakevm_start() {
	local name=$1; shift
	rm -f "$T/$name.path" "$T/$name.status"
	"$HELPERS/fakevm" --path-file "$T/$name.path" --status "$T/$name.status" \
		--control "$T/$name.ctl" "$@" &
	local pid=$!
	cleanup_pid $pid
	eval "FAKEVM_PID_$name=$pid"
	echo $pid > "$T/$name.vmpid"
	wait_for 10 "[ -s '$T/$name.path' ]" || { diag "fakevm $name did not start"; return 1; }
	eval "PTY_$name=\$(cat '$T/$name.path')"
}

# vm_ctl NAME COMMAND: one control command to a fakevm.
vm_ctl() { printf '%s\n' "$2" > "$T/$1.ctl"; }

# wait_status NAME REGEX [SECONDS]: until the fakevm reports a matching line.
wait_status() {
	wait_for "${3:-20}" "grep -Eq -- '$2' '$T/$1.status' 2>/dev/null"
}

# master_size NAME: the window size ("ROWS COLS") that fakevm NAME reads with
# TIOCGWINSZ on its master now.
master_size() {
	local n
	n=$(grep -c '^winsize ' "$T/$1.status")
	vm_ctl "$1" winsize
	wait_for 10 "[ \$(grep -c '^winsize ' '$T/$1.status') -gt $n ]" || return 1
	grep '^winsize ' "$T/$1.status" | tail -n 1 | cut -d' ' -f2-
}

# pty_owner PTY: the PID of the running fakevm that allocated PTY, or nothing
# (a fakevm that exited may have had the same number before).
pty_owner() {
	local f pid
	for f in "$T"/*.path; do
		[ -f "$f" ] && [ "$(cat "$f")" = "$1" ] && [ -f "${f%.path}.vmpid" ] || continue
		pid=$(cat "${f%.path}.vmpid")
		kill -0 "$pid" 2>/dev/null && { echo "$pid"; return; }
	done
}

# domain_file NAME UUID PTY [extra XML inside <domain>]: a libvirt domain in
# the shape libvirt writes for a running QEMU guest (serial0 + console).  When
# a fakevm allocated PTY, the domain is libvirt's live status file naming that
# fakevm as the hypervisor (<domstatus pid>), which is what proves the pty is
# the domain's; otherwise a plain <domain>, whose pty nothing proves.
# DOMAIN_OWNER=PID names another hypervisor, DOMAIN_OWNER=none none at all.
# The file goes to $DOMAIN_DIR (default $T/domains), written whole and
# renamed into place, as libvirt writes its status files.
domain_file() {
	local owner=${DOMAIN_OWNER:-} dir=${DOMAIN_DIR:-$T/domains}
	[ -n "$owner" ] || owner=$(pty_owner "$3")
	[ "$owner" = none ] && owner=
	mkdir -p "$dir"
	{
	[ -n "$owner" ] && echo "<domstatus state='running' reason='booted' pid='$owner'>"
	cat <<XML
<domain type='kvm' id='7'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='KiB'>1048576</memory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='pty'>
      <source path='$3'/>
      <target type='isa-serial' port='0'><model name='isa-serial'/></target>
      <alias name='serial0'/>
    </serial>
    <console type='pty' tty='$3'>
      <source path='$3'/>
      <target type='serial' port='0'/>
      <alias name='serial0'/>
    </console>
  </devices>
  ${4:-}
</domain>
XML
	[ -n "$owner" ] && echo "</domstatus>"
	} > "$dir/$1.xml.new"
	mv "$dir/$1.xml.new" "$dir/$1.xml"
}

# CAPTURE_ALWAYS: the extra XML for domain_file that has the daemon capture
# the domain's serial0 always, from its own start.
CAPTURE_ALWAYS="
  <metadata>
    <cb:consoles xmlns:cb='http://conbroker.org/schemas/domain/1.0'>
      <cb:console alias='serial0' capture='always'/>
    </cb:consoles>
  </metadata>"

# broker_config [extra XML inside <conbroker>]: the daemon's config.  Set
# before the call: CB_HISTORY, CB_STALE and CB_WRITER_TIMEOUT for <history>
# and <sessions>, CB_LOCKDIR for a lock directory other than $T/lock,
# CB_FOLLOW=no for a domains directory read only at start and on SIGHUP.
broker_config() {
	mkdir -p "$T/lock" "$T/domains"
	cat > "$T/conbroker.xml" <<XML
<conbroker>
  <listen unix='$T/sock' mode='0600'/>
  <locks dir='${CB_LOCKDIR:-$T/lock}'/>
  <state dir='$T/state'/>
  <history size='${CB_HISTORY:-65536}'/>
  <sessions stale-after='${CB_STALE:-30}' writer-timeout='${CB_WRITER_TIMEOUT:-10}'/>
  <domains dir='$T/domains' follow='${CB_FOLLOW:-yes}'/>
  ${1:-}
</conbroker>
XML
}

# broker_start [conbrokerd options]: start the daemon, wait until it listens.
broker_start() {
	rm -f "$T/ready"
	"$CONBROKERD" -f "$T/conbroker.xml" --ready-fd 3 "$@" 3>"$T/ready" 2>>"$T/broker.log" &
	BROKER_PID=$!
	cleanup_pid $BROKER_PID
	if ! wait_for 20 "[ -s '$T/ready' ] || ! kill -0 $BROKER_PID 2>/dev/null" ||
	    ! [ -s "$T/ready" ]; then
		diag "conbrokerd did not start:"; sed 's/^/#   /' "$T/broker.log"
		return 1
	fi
}

# free_port: a TCP port that no socket uses now, outside the range the
# kernel hands out to outgoing connections (a flood may hold thousands).
free_port() {
	local lo=32768 hi=60999 p
	read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null
	while :; do
		if [ "$lo" -gt 11000 ]; then
			p=$((10000 + RANDOM % (lo - 10000)))
		else
			p=$((hi + 1 + RANDOM % (65535 - hi)))
		fi
		[ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ] && { echo $p; return; }
	done
}

# broker_start_on_ports COMMAND [ARGS...]: start the daemon on TCP ports that
# are free.  COMMAND ARGS picks the ports with free_port and writes the config;
# it fails when the ports it picked will not do.  The daemon's log is emptied
# before each start.  A port taken meanwhile ("address already in use") means
# another try, five tries in all; any other failure to start is final.
broker_start_on_ports() {
	for _ in 1 2 3 4 5; do
		"$@" || continue
		: > "$T/broker.log"
		broker_start && return 0
		grep -q "address already in use" "$T/broker.log" || return 1
	done
	return 1
}

# broker_stop: SIGTERM and wait for the exit status (in BROKER_STATUS).
broker_stop() {
	kill -TERM "$BROKER_PID" 2>/dev/null
	wait "$BROKER_PID"; BROKER_STATUS=$?
}

# broker_finish NAME [CLEAN_NAME [FILE...]]: the end of a test: SIGTERM, and
# the daemon must exit 0 (the assertion NAME).  With CLEAN_NAME, its log (and
# each FILE) must hold no sanitizer report (the assertion CLEAN_NAME);
# without, a report is shown on stderr (the exit status catches it, since the
# sanitizers abort on error).
broker_finish() {
	local name=$1 clean=${2:-}
	shift; [ $# -gt 0 ] && shift
	broker_stop
	is "$BROKER_STATUS" 0 "$name"
	if [ -n "$clean" ]; then
		! grep -Eq 'Sanitizer|runtime error' "$T/broker.log" "$@"
		ok $? "$clean"
	else
		grep -E "AddressSanitizer|runtime error|LeakSanitizer" "$T/broker.log" >&2
	fi
	return 0
}

# cb ARGS...: the client, talking to this test's daemon.
cb() { "$CONBROKER" -c "unix:$T/sock" "$@"; }
# logged REGEX: how many lines of the daemon's log match.
logged() { grep -Ec -- "$1" "$T/broker.log"; }

# pipe_client NAME ARGS...: `conbroker console ARGS` without a terminal.  Its
# standard input is a FIFO fed from $T/NAME.feed (pipe_send appends to it,
# pipe_eof ends it), its output goes to $T/NAME.out and $T/NAME.err, and its
# exit status to $T/NAME.exit; its PID is in PID_NAME.
pipe_client() {
	local name=$1; shift
	rm -f "$T/$name.in" "$T/$name.exit" "$T/$name.pid"
	: > "$T/$name.feed"
	mkfifo "$T/$name.in"
	tail -c +1 -f "$T/$name.feed" > "$T/$name.in" 2>/dev/null &
	eval "FEED_$name=$!"
	cleanup_pid $!
	( "$CONBROKER" -c "unix:$T/sock" console "$@" <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" &
	  echo $! > "$T/$name.pid"; wait $!; echo $? > "$T/$name.exit.tmp"
	  mv "$T/$name.exit.tmp" "$T/$name.exit" ) &
	wait_for 10 "[ -s '$T/$name.pid' ]" || return 1
	eval "PID_$name=\$(cat '$T/$name.pid')"
	cleanup_pid "$(cat "$T/$name.pid")"
}
# fifo_send FIFO TEXT: TEXT to a FIFO whose reader should be there; fails
# after 10 s instead of hanging when the reader has gone away.
fifo_send() { timeout 10 sh -c 'printf "%s" "$1" > "$2"' fifo_send "$2" "$1"; }

# pipe_send NAME TEXT: TEXT, as it is, to pipe_client NAME's input.
pipe_send() { printf '%s' "$2" >> "$T/$1.feed"; }
# pipe_eof NAME: end of input for pipe_client NAME.
pipe_eof() { eval "kill \$FEED_$1"; }
# pipe_exit NAME [SECONDS]: wait for pipe_client NAME to end; its exit status
# on stdout.
pipe_exit() { wait_for "${2:-20}" "[ -s '$T/$1.exit' ]" && cat "$T/$1.exit"; }

# list_field DOMAIN FIELD: one field of the domain's first console in
# `list --json` ("null" for a JSON null).
list_field() {
	cb list --json | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["domain"] == sys.argv[1]:
        v = e[sys.argv[2]]
        print("null" if v is None else v)
        break' "$1" "$2"
}

# size_of FILE: its size in bytes (0 when missing).
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
# sum_of FILE: its SHA-256, in hex.
sum_of() { sha256sum < "$1" | cut -d' ' -f1; }
# gen_sum BYTES SEED: the SHA-256 of what `fakevm --gen BYTES SEED` makes (and
# the guest's `emit BYTES SEED` sends).
gen_sum() { "$HELPERS/fakevm" --gen "$1" "$2" | sha256sum | cut -d' ' -f1; }
# skipped FILE: the total of the counts in the client's skipped-output notices
# in FILE (its standard error).
skipped() {
	sed -n 's/^conbroker: \([0-9][0-9]*\) bytes of output skipped.*/\1/p' "$1" |
		awk '{ n += $1 } END { print n + 0 }'
}
# now_ms: the time in milliseconds.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# client_start NAME DOMAIN [console options...]: `conbroker console DOMAIN`
# without a terminal, a child of the test.  Its input is the FIFO $T/NAME.in,
# held open (by the process HOLD_NAME) so that it ends only when told to
# (client_end), and anything written to the FIFO reaches it; its output goes
# to $T/NAME.out (or to $CLIENT_OUT when set) and $T/NAME.err; its PID is in
# PID_NAME.  Succeeds once the client has attached; fails when it has not
# within 10 seconds.
client_start() {
	local name=$1 out; shift
	out=${CLIENT_OUT:-$T/$name.out}
	mkfifo "$T/$name.in"
	sleep 100000 > "$T/$name.in" &
	eval "HOLD_$name=$!"; cleanup_pid $!
	"$CONBROKER" -c "unix:$T/sock" console "$@" \
		< "$T/$name.in" > "$out" 2> "$T/$name.err" &
	eval "PID_$name=$!"; cleanup_pid $!
	wait_for 10 "grep -q 'Connected to domain' '$T/$name.err' 2>/dev/null"
}

# client_end NAME: end of input for client_start NAME; fails unless the
# client then ends within 20 seconds.  Its exit status is in RC ("timeout"
# when it did not end).
client_end() {
	local hold pid
	eval "hold=\$HOLD_$1 pid=\$PID_$1"
	kill "$hold" 2>/dev/null
	RC=timeout
	wait_for 20 "! kill -0 $pid 2>/dev/null" || return
	wait "$pid"; RC=$?
}

# A private tmux server per test, for clients that need a terminal.
TMUX_SOCK="cbtest$$"
tmux_cmd() { tmux -L "$TMUX_SOCK" -f /dev/null "$@"; }
cleanup_cmd "tmux -L $TMUX_SOCK kill-server"

# tmux_start NAME COMMAND: run COMMAND in a new 80x24 window; when it exits,
# its status is written to $T/NAME.exit.
tmux_start() {
	local name=$1; shift
	rm -f "$T/$name.exit"
	if ! tmux_cmd has-session 2>/dev/null; then
		tmux_cmd new-session -d -s main -x 80 -y 24 "sleep 100000"
	fi
	tmux_cmd new-window -d -t main -n "$name" \
		"$*; echo \$? > '$T/$name.exit.tmp'; mv '$T/$name.exit.tmp' '$T/$name.exit'; sleep 100000"
}
tmux_screen() { tmux_cmd capture-pane -p -J -t "main:$1"; }
tmux_keys() { local name=$1; shift; tmux_cmd send-keys -t "main:$name" "$@"; }
# tmux_wait NAME REGEX [SECONDS]: until the window shows a match.
tmux_wait() {
	wait_for "${3:-20}" "tmux_cmd capture-pane -p -J -t 'main:$1' | grep -Eq -- '$2'"
}
# tmux_exit NAME [SECONDS]: wait for the command to end; its status on stdout.
tmux_exit() {
	wait_for "${2:-20}" "[ -s '$T/$1.exit' ]" && cat "$T/$1.exit"
}
# pane_size NAME: "COLSxROWS" of tmux window NAME.
pane_size() { tmux_cmd display -p -t "main:$1" '#{pane_width}x#{pane_height}'; }
# client_pid NAME: the PID of the conbroker running in tmux window NAME.
client_pid() {
	local shell
	shell=$(tmux_cmd list-panes -t "main:$1" -F '#{pane_pid}') || return 1
	pgrep -P "$shell" -x conbroker
}
