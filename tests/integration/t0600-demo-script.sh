#!/bin/bash
# scripts/demo, the README's first command: three runs in a row each attach,
# run a command in the demo shell and leave with the escape character (exit
# 0), and leave neither a daemon, nor its shell, nor their directory behind.
# The command lines it prints for a second window work as pasted, and a
# forced takeover from one of them does not end the demo: the new writer
# types and reads, a watcher goes on, the demo's window watches.  A closed
# window ends the demo too; a missing program or a daemon that does not
# start is said, and nothing is left behind.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

DEMO=$TOP/scripts/demo

# demo_start NAME: scripts/demo in tmux window NAME, on the programs of this
# build, with its private directory under $T/NAME (its TMPDIR).  Sets DIR (the
# directory it made), DAEMON_PID, CLIENT_PID and SHELL_PID (the daemon's
# spawned shell).
demo_start() {
	local name=$1 pane script
	DIR='' DAEMON_PID='' CLIENT_PID='' SHELL_PID=''
	mkdir "$T/$name"
	tmux_start "$name" "TMPDIR='$T/$name' CONBROKER_BUILD='$CONBROKER_BUILD' '$DEMO'"
	tmux_wait "$name" "Escape character is" 30 || return 1
	DIR=$(ls -d "$T/$name"/conbroker-demo.*) || return 1
	pane=$(tmux_cmd list-panes -t "main:$name" -F '#{pane_pid}')
	script=$(pgrep -P "$pane" -x demo) || return 1
	DAEMON_PID=$(pgrep -P "$script" -x conbrokerd) || return 1
	CLIENT_PID=$(pgrep -P "$script" -x conbroker) || return 1
	SHELL_PID=$(pgrep -P "$DAEMON_PID") || return 1
}

# printed NAME REGEX: the first line of window NAME that matches, without its
# indentation: a command line as a user would paste it.
printed() { tmux_screen "$1" | grep -E -m 1 -- "$2" | sed 's/^ *//'; }

# gone NAME: the demo in window NAME has taken its daemon, the daemon's
# shell and its directory with it.
gone() {
	[ -n "$DAEMON_PID" ] && [ -n "$SHELL_PID" ] && [ -n "$DIR" ] &&
		wait_for 10 "! kill -0 $DAEMON_PID 2>/dev/null && ! kill -0 $SHELL_PID 2>/dev/null" &&
		[ ! -e "$DIR" ] && [ -z "$(ls -A "$T/$1")" ]
}

for n in 1 2 3; do
	demo_start run$n
	ok $? "run $n: the demo starts and attaches"
	like "$(tmux_screen run$n)" "conbrokerd listens on unix:$DIR/sock" "run $n: it names its socket, in a directory of its own"
	is "$(readlink -f "/proc/$DAEMON_PID/exe")" "$(readlink -f "$CONBROKERD")" "run $n: the daemon is this build's"
	is "$(readlink -f "/proc/$CLIENT_PID/exe")" "$(readlink -f "$CONBROKER")" "run $n: so is the client"
	tmux_keys run$n "echo run$n-\$((6*7))" Enter
	tmux_wait run$n "^run$n-42"
	ok $? "run $n: a command typed in the demo shell gives its output"
	tmux_keys run$n C-]
	is "$(tmux_exit run$n)" 0 "run $n: leaving with the escape character exits 0"
	gone run$n
	ok $? "run $n: the daemon and its shell are gone, the directory removed"
done

# What the demo prints for a second window works as it is.
demo_start take
ok $? "the takeover run starts"
line=$(printed take ' list$')
like "$line" "^[^ ]*conbroker -c unix:$DIR/sock list$" "the list command line is printed in full"
like "$(eval "$line")" "^demo +" "and, pasted, lists the demo domain"
log=$(printed take 'its log: ')
is "${log#its log: }" "$DIR/conbrokerd.log" "the log's place is printed"
like "$(cat "${log#its log: }")" "ready: 1 domain$" "and the daemon logs there"

line=$(printed take ' console demo --readonly$')
like "$line" "^[^ ]*conbroker -c unix:$DIR/sock console demo --readonly$" "the watcher's command line is printed"
tmux_start watch "$line"
tmux_wait watch "Escape character is"
ok $? "pasted, it attaches a watcher"

line=$(printed take ' console demo --force$')
like "$line" "^[^ ]*conbroker -c unix:$DIR/sock console demo --force$" "the takeover's command line is printed"
tmux_start force "$line"
tmux_wait force "Escape character is"
ok $? "pasted, it takes the console over"
tmux_wait take "the console was taken over from another window"
ok $? "the demo says that the console was taken over"
tmux_wait take "console console0 \(read-only\)"
ok $? "and watches it from then on"
kill -0 "$DAEMON_PID" 2>/dev/null
ok $? "the daemon is still up"

tmux_keys force "echo forced-\$((6*7))" Enter
tmux_wait force "^forced-42"
ok $? "the new writer types and reads"
tmux_wait watch "^forced-42"
ok $? "the watcher sees the new writer's session"
tmux_wait take "^forced-42"
ok $? "so does the demo's window"
# What is typed in the demo's window no longer reaches the shell; the new
# writer's later command is the marker that it would have by then.
tmux_keys take "echo from-take-\$((6*7))" Enter
tmux_keys force "echo marker-\$((6*7))" Enter
tmux_wait force "^marker-42"
ok $? "the new writer goes on"
tmux_screen force | grep -q from-take
ok $((! $?)) "the demo's window cannot type any more"
[ ! -e "$T/watch.exit" ] && ! tmux_screen watch | grep -q "shutting down"
ok $? "the watcher was not ended"

tmux_keys force C-]
is "$(tmux_exit force)" 0 "the new writer leaves with the escape character"
kill -0 "$DAEMON_PID" 2>/dev/null && [ ! -e "$T/watch.exit" ]
ok $? "the daemon and the watcher outlive it"
tmux_keys take C-]
is "$(tmux_exit take)" 0 "the demo's window leaves with the escape character, exit 0"
gone take
ok $? "the daemon and its shell are gone, the directory removed"
tmux_exit watch >/dev/null
ok $? "the watcher ends with the demo"

# The terminal going away ends the demo as cleanly as the escape character.
demo_start hup
ok $? "the hangup run starts"
tmux_cmd kill-window -t main:hup
gone hup
ok $? "its window closed, the daemon and its shell are gone, the directory removed"

# A build directory without the programs: a clear message, no directory left.
mkdir "$T/nobuild"
out=$(TMPDIR=$T/nobuild CONBROKER_BUILD=$T/nobuild "$DEMO" 2>&1 </dev/null)
is "$?" 1 "without built programs the demo exits 1"
like "$out" "$T/nobuild/daemon/conbrokerd: no such program" "and names the missing program"
is "$(ls -A "$T/nobuild")" "" "and leaves no directory behind"

# A daemon that does not start: its log is shown, the demo exits 1 at once.
mkdir -p "$T/fake/daemon" "$T/fake/client"
ln -s "$CONBROKER" "$T/fake/client/conbroker"
printf '#!/bin/sh\necho "conbrokerd: cannot start: fake" >&2\nexit 3\n' > "$T/fake/daemon/conbrokerd"
chmod +x "$T/fake/daemon/conbrokerd"
out=$(TMPDIR=$T/fake CONBROKER_BUILD=$T/fake "$DEMO" 2>&1 </dev/null)
is "$?" 1 "a daemon that does not start: the demo exits 1"
like "$out" "conbrokerd did not start \(exit status 3\)" "and says so"
like "$out" "cannot start: fake" "with the daemon's log"
is "$(ls -A "$T/fake" | sort | tr '\n' ' ')" "client daemon " "and leaves no directory behind"

done_testing
