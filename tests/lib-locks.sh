# Helpers for the tests of conbroker's locks against other programs' on a real
# pty in the real /var/lock.
#
# Source after tests/lib.sh.  lockctl takes, probes and names the locks the
# way the daemon does; ptyhold keeps the pty open.  The other program (the
# peer) either runs under expect until it ends (run_refused) or keeps the pty
# in a tmux server of the test's own (start_peer).  At exit the peers are
# killed and every lock file of the pty is removed (stop_all).

LOCKDIR=/var/lock
LOCKCTL=$HELPERS/lockctl
PEER_TMUX=cb-lock-$$
peers=

# need_lock_helpers: skip the test unless lockctl and ptyhold are built.
need_lock_helpers() {
	[ -x "$HELPERS/lockctl" ] && [ -x "$HELPERS/ptyhold" ] ||
		skip_all "lockctl and ptyhold are not built in $HELPERS"
}

# stop_all: stop the peers first, with SIGKILL (minicom, for one, removes
# LCK..pts_N on its way out without looking whose it is), then remove what
# is left in $LOCKDIR for $PTY.  Run at exit.
stop_all() {
	local p
	for p in $peers; do kill -KILL "$p" 2>/dev/null; done
	tmux -L "$PEER_TMUX" kill-server 2>/dev/null
	[ -n "${PTY:-}" ] && "$LOCKCTL" names "$PTY" | while read -r _ name; do
		rm -f "$LOCKDIR/$name"
	done
}
cleanup_cmd stop_all

# pty_start: a pty that ptyhold keeps open; its path in PTY.  Bails out
# without one.
pty_start() {
	"$HELPERS/ptyhold" "$T/pty" & cleanup_pid $!
	wait_for 10 "[ -s '$T/pty' ]" || { echo "Bail out! no pty"; exit 1; }
	PTY=$(cat "$T/pty")
}

# lock_file KIND: the path in $LOCKDIR of $PTY's lock file as KIND names it
# (FHS, cu, libvirt: the first column of `lockctl names`).
lock_file() {
	echo "$LOCKDIR/$("$LOCKCTL" names "$PTY" | awk -v kind="$1" '$1 == kind { print $2 }')"
}

# run_refused COMMAND...: run it on a terminal of its own until it ends;
# print what it wrote (no CRs, no colours) and return its exit status.
run_refused() {
	cat >"$T/run.exp" <<'EOF'
set timeout 20
spawn -noecho {*}$argv
expect {
	eof {}
	timeout { puts "still running after $timeout s"; exit 124 }
}
exit [lindex [wait] 3]
EOF
	TERM=xterm expect -f "$T/run.exp" -- "$@" >"$T/out" 2>&1
	local status=$?
	tr -d '\r' <"$T/out" | sed 's/\x1b\[[0-9;]*m//g'
	return $status
}

# start_peer NAME COMMAND: a peer that keeps the pty, in a tmux session; its
# PID (the pane's process) in peer, and added to peers.
start_peer() {
	local name=$1
	shift
	tmux -L "$PEER_TMUX" -f /dev/null new-session -d -s "$name" -x 132 -y 40 "$*"
	peer=$(tmux -L "$PEER_TMUX" display -p -t "$name" '#{pane_pid}')
	peers="$peers $peer"
}

# gone PID: a killed process is gone once it is reaped, or has at least
# exited.
gone() {
	local state
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -z "$state" ] || [ "$state" = Z ]
}

# hold: lockctl hold in the background; holder is its PID once it holds the
# pty.  What it logs goes to $T/hold.err, and on failure to the TAP output.
hold() {
	rm -f "$T/held"
	"$LOCKCTL" hold "$LOCKDIR" "$PTY" "$T/held" 2>"$T/hold.err" &
	holder=$!
	cleanup_pid $holder
	wait_for 10 "[ -e '$T/held' ] || ! kill -0 $holder 2>/dev/null"
	[ -e "$T/held" ] || { diag "lockctl: $(cat "$T/hold.err")"; return 1; }
}
# unhold: lockctl releases the pty and ends; fails unless it exits 0.
unhold() { kill -TERM "$holder" && wait "$holder"; }

# hdb PID: PID as an HDB-style lock file holds it (ten columns, no newline).
hdb() { printf '%10d' "$1"; }
