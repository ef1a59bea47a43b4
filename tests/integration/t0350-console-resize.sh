#!/bin/bash
# Window size: the writer's size reaches the pty on attach and on every change,
# seen by the hypervisor on the master and by a process in the pty's session
# as SIGWINCH; a watcher's size is never applied; release restores the size.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

fakevm_start vm1 --ctty --echo --record "$T/vm1.rec"
domain_file vm1 4c6e8a0b-2d4f-4a6b-8c0d-2e4f6a8b0c2d "$PTY_vm1"
broker_config
broker_start

wait_status vm1 "^ctty [0-9]+$" 10
ok $? "a process runs in the pty's session, the pty its controlling terminal"
is "$(master_size vm1)" "0 0" "the pty starts with no window size"

tmux_start w1 "$CONBROKER -c unix:$T/sock console vm1"
tmux_wait w1 "Escape character is"
ok $? "the writer attaches from an 80x24 window"
is "$(pane_size w1)" 80x24 "its window is 80x24"
wait_status vm1 "^winch 24 80$" 10
ok $? "the process in the pty's session gets SIGWINCH and reads 24 rows, 80 columns"
is "$(master_size vm1)" "24 80" "the hypervisor reads 24x80 on the master"

tmux_cmd resize-window -t main:w1 -x 100 -y 30
wait_status vm1 "^winch 30 100$" 10
ok $? "the writer's window grows to 100x30: SIGWINCH with 30 rows, 100 columns"
is "$(master_size vm1)" "30 100" "the hypervisor reads 30x100 on the master"
tmux_cmd resize-window -t main:w1 -x 72 -y 20
wait_status vm1 "^winch 20 72$" 10
ok $? "and shrinks to 72x20: SIGWINCH with 20 rows, 72 columns"
is "$(master_size vm1)" "20 72" "the hypervisor reads 20x72 on the master"

# A watcher attaches from a 120x40 window, then resizes to 130x45: neither
# size may reach the pty.  Its window is sized before it starts.
rm -f "$T/go"
tmux_start w2 "while [ ! -e '$T/go' ]; do sleep 0.05; done; $CONBROKER -c unix:$T/sock console vm1 --readonly --no-history"
tmux_cmd resize-window -t main:w2 -x 120 -y 40
wait_for 10 "[ \"\$(pane_size w2)\" = 120x40 ]"
touch "$T/go"
tmux_wait w2 "Escape character is"
ok $? "a watcher attaches from a 120x40 window"
tmux_cmd resize-window -t main:w2 -x 130 -y 45
wait_for 10 "[ \"\$(pane_size w2)\" = 130x45 ]"
ok $? "the watcher's window grows to 130x45"
# The writer's next change is the marker: once it is applied, anything the
# watcher's changes could have caused has happened.
tmux_cmd resize-window -t main:w1 -x 90 -y 25
wait_status vm1 "^winch 25 90$" 10
ok $? "the writer's next change still applies"
is "$(master_size vm1)" "25 90" "the master has the writer's size"
grep -Eq '^(winch|winsize) (40 120|45 130)$' "$T/vm1.status"
ok $((! $?)) "the watcher's window sizes never reached the pty"
tmux_keys w1 "still-writing"
wait_for 10 "grep -q still-writing '$T/vm1.rec'"
ok $? "the writer's session goes on"

# On release the pty gets back the size it had before the daemon opened it.
tmux_keys w2 C-]
is "$(tmux_exit w2)" 0 "the watcher leaves"
is "$(master_size vm1)" "25 90" "the watcher's leaving changes nothing"
tmux_keys w1 C-]
is "$(tmux_exit w1)" 0 "the writer leaves"
wait_for 10 "! ls '$T/lock' | grep -q LCK"
ok $? "the device is released"
is "$(master_size vm1)" "0 0" "the pty's window size is restored to what it was before the attach"

# A size set on the pty before the attach is restored too.
stty -F "$PTY_vm1" rows 11 cols 33
is "$(master_size vm1)" "11 33" "the pty is given 11x33 while nobody is attached"
tmux_start w3 "$CONBROKER -c unix:$T/sock console vm1"
tmux_wait w3 "Escape character is"
is "$(master_size vm1)" "24 80" "a writer from an 80x24 window applies its size on attach"
tmux_keys w3 C-]
is "$(tmux_exit w3)" 0 "that writer leaves"
wait_for 10 "! ls '$T/lock' | grep -q LCK"
is "$(master_size vm1)" "11 33" "and the pty has 11x33 again"

# The daemon stops cleanly, and no sanitizer found anything in it.
broker_finish "the daemon exits with status 0 on SIGTERM" "the daemon's log has no sanitizer report"

done_testing
