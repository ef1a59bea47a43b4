#!/bin/bash
# `conbroker list` and `list --json`: every console with its state — free,
# attached (writer, watchers, idle), locked by another program (pid, name),
# stale, hung up, no pty assigned, unsupported — and valid JSON.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

# json_check: validate `list --json` on stdin against the documented shape and
# print one line per console: DOMAIN CONSOLE STATE PTY WATCHERS IDLE
# LOCKPID LOCKPROGRAM | WRITER.  Exits non-zero, saying why, on any deviation.
json_check() {
	python3 -c '
import json, sys
data = json.load(sys.stdin)
assert isinstance(data, list), "not a list"
states = {"free", "attached", "locked", "stale", "hungup", "nopty", "unsupported"}
for e in data:
    for k, t in (("domain", str), ("uuid", str), ("console", str), ("state", str),
                 ("watchers", int), ("idle", int)):
        assert isinstance(e.get(k), t), "%s: %r is not a %s" % (k, e.get(k), t.__name__)
    assert e["state"] in states, "unknown state %r" % e["state"]
    assert e["pty"] is None or isinstance(e["pty"], str), "pty %r" % e["pty"]
    assert e["writer"] is None or isinstance(e["writer"], str), "writer %r" % e["writer"]
    assert e["state"] != "nopty" or e["pty"] is None, "a nopty console with pty %r" % e["pty"]
    assert e["state"] not in ("attached", "stale") or e["writer"] is not None or \
        e["watchers"] > 0, "attached with neither writer nor watchers"
    lb = e.get("locked_by")
    if e["state"] == "locked":
        assert isinstance(lb, dict) and isinstance(lb.get("pid"), int) and \
            isinstance(lb.get("program"), str), "locked_by %r" % lb
    else:
        assert lb is None, "locked_by on a %s console" % e["state"]
    print(e["domain"], e["console"], e["state"], e["pty"] or "-", e["watchers"], e["idle"],
          lb["pid"] if lb else "-", lb["program"] if lb else "-", "|", e["writer"] or "-")
'
}
# entry DOMAIN: that domain's line of json_check.
entry() { cb list --json | json_check | grep "^$1 "; }
# field DOMAIN N: the Nth word of that line.
field() { entry "$1" | cut -d' ' -f"$2"; }

CB_STALE=2
for vm in dfree datt dlock dstale dhup; do
	fakevm_start $vm --echo --record "$T/$vm.rec"
done
domain_file dfree  11111111-2222-4333-8444-555555555501 "$PTY_dfree"
domain_file datt   11111111-2222-4333-8444-555555555502 "$PTY_datt"
domain_file dlock  11111111-2222-4333-8444-555555555503 "$PTY_dlock"
domain_file dstale 11111111-2222-4333-8444-555555555504 "$PTY_dstale"
domain_file dhup   11111111-2222-4333-8444-555555555505 "$PTY_dhup"
# Defined but not running, as libvirt writes it: no pty, no alias yet.
cat > "$T/domains/dnopty.xml" <<XML
<domain type='kvm'>
  <name>dnopty</name>
  <uuid>11111111-2222-4333-8444-555555555506</uuid>
  <memory unit='KiB'>1048576</memory>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <devices>
    <serial type='pty'>
      <target type='isa-serial' port='0'><model name='isa-serial'/></target>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
  </devices>
</domain>
XML
# A serial port on TCP: listed, never opened.
cat > "$T/domains/dtcp.xml" <<XML
<domain type='kvm' id='9'>
  <name>dtcp</name>
  <uuid>11111111-2222-4333-8444-555555555507</uuid>
  <memory unit='KiB'>1048576</memory>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <devices>
    <serial type='tcp'>
      <source mode='bind' host='127.0.0.1' service='4555' tls='no'/>
      <protocol type='raw'/>
      <target type='isa-serial' port='0'><model name='isa-serial'/></target>
      <alias name='serial0'/>
    </serial>
    <console type='tcp'>
      <source mode='bind' host='127.0.0.1' service='4555' tls='no'/>
      <protocol type='raw'/>
      <target type='serial' port='0'/>
      <alias name='serial0'/>
    </console>
  </devices>
</domain>
XML
broker_config
broker_start

cb list --json > "$T/list0.json"; rc=$?
is "$rc" 0 "list --json exits with 0"
json_check < "$T/list0.json" > "$T/list0"
ok $? "its output is valid JSON of the documented shape"
is "$(wc -l < "$T/list0")" 7 "one entry per console: the serial and the console of a domain are one"
is "$(cut -d' ' -f1-3 "$T/list0" | sort | tr '\n' ';')" \
	"datt serial0 free;dfree serial0 free;dhup serial0 free;dlock serial0 free;dnopty serial0 nopty;dstale serial0 free;dtcp serial0 unsupported;" \
	"before anyone attaches: free, nopty and unsupported"
is "$(field dfree 4)" "$PTY_dfree" "a free console shows its pty"
is "$(field dnopty 4)" "-" "a console with no pty assigned shows none (null)"
is "$(field dfree 5) $(field dfree 6) $(field dfree 10)" "0 0 -" "a free console has no writer and no watchers"
python3 -c '
import json, sys
e = [e for e in json.load(open(sys.argv[1])) if e["domain"] == "dfree"][0]
print(e["uuid"])' "$T/list0.json" > "$T/uuid"
is "$(cat "$T/uuid")" 11111111-2222-4333-8444-555555555501 "the entry carries the domain's UUID"

# attached: a writer and two watchers; idle counts from the writer's input.
pipe_client w datt
pipe_client r1 datt --readonly
pipe_client r2 datt --readonly
pipe_send w "typed-by-writer"
wait_for 10 "grep -q typed-by-writer '$T/datt.rec'"
ok $? "a writer and its input arrive"
wait_for 10 "[ \"\$(field datt 5)\" = 2 ]"
ok $? "list counts two watchers"
is "$(field datt 3)" attached "the console is attached"
like "$(entry datt | sed 's/.*| //')" "^uid [0-9]+ \([a-z0-9_-]+\) pid $PID_w via unix$" "the writer is named by uid, pid and transport"
wait_for 10 "[ \"\$(field datt 6)\" -ge 3 ]"
ok $? "idle grows while the writer types nothing"
is "$(field datt 3)" attached "an idle writer that sends heartbeats is not stale"
pipe_send w "more"
wait_for 10 "grep -q more '$T/datt.rec'"
like "$(field datt 6)" "^[01]$" "idle starts again from 0 when the writer types"

# locked by another program on the host.
"$HELPERS/lockctl" hold "$T/lock" "$PTY_dlock" "$T/dlock.held" 2>"$T/lockctl.err" &
LOCKCTL=$!
cleanup_pid $LOCKCTL
wait_for 10 "[ -s '$T/dlock.held' ]"
ok $? "another program holds a pty"
is "$(field dlock 3)" locked "list shows it locked"
is "$(field dlock 7) $(field dlock 8)" "$LOCKCTL lockctl" "with the holder's pid and program name"
out=$(cb console dlock </dev/null 2>&1); rc=$?
is "$rc" 4 "opening it is refused with code 4"
like "$out" "lockctl" "naming the program"
like "$out" "$LOCKCTL" "and its pid"

# stale: a writer stopped past stale-after.
pipe_client s dstale
wait_for 10 "grep -q 'Connected to domain' '$T/s.err'"
ok $? "a writer attaches to another console"
kill -STOP "$PID_s"
cleanup_cmd "kill -CONT $PID_s"
wait_for 15 "[ \"\$(field dstale 3)\" = stale ]"
ok $? "once stopped past stale-after, list shows it stale"
like "$(entry dstale | sed 's/.*| //')" "pid $PID_s via unix$" "naming the stale writer"

# hung up: the guest's side went away under a session.
pipe_client h dhup --readonly
wait_for 10 "[ \"\$(field dhup 5)\" = 1 ]"
vm_ctl dhup hangup
is "$(pipe_exit h)" 7 "a session on a console that hangs up ends with code 7"
is "$(field dhup 3)" hungup "list shows the console hung up"

# unsupported and no-pty consoles refuse an open, each with its reason.
out=$(cb console dnopty </dev/null 2>&1); rc=$?
is "$rc" 7 "a console with no pty assigned is refused with code 7"
like "$out" "domain 'dnopty' is not running: console serial0 has no pty assigned" "saying the domain is not running"
out=$(cb console dtcp </dev/null 2>&1); rc=$?
is "$rc" 2 "a tcp console is refused with code 2"
like "$out" "type 'tcp'" "naming its type"

# Everything at once, in JSON and in the table.
cb list --json > "$T/list1.json"
json_check < "$T/list1.json" > "$T/list1"
ok $? "list --json with every state is valid"
is "$(cut -d' ' -f1,3 "$T/list1" | sort | tr '\n' ';')" \
	"datt attached;dfree free;dhup hungup;dlock locked;dnopty nopty;dstale stale;dtcp unsupported;" \
	"every state is reported"
cb list > "$T/table"; rc=$?
is "$rc" 0 "list exits with 0"
like "$(head -n 1 "$T/table")" "^DOMAIN +UUID +CONSOLE +STATE +DETAIL$" "the table has a header"
is "$(wc -l < "$T/table")" 8 "and one row per console"
row() { grep "^$1 " "$T/table"; }
like "$(row dfree)" "^dfree +11111111-2222-4333-8444-555555555501 +serial0 +free *$" "free row"
like "$(row datt)" "^datt +11111111-2222-4333-8444-555555555502 +serial0 +attached +writer uid [0-9]+ \([a-z0-9_-]+\) pid $PID_w via unix, idle [0-9]+s, 2 watchers$" "attached row: writer, idle, watchers"
like "$(row dlock)" "^dlock .* +locked +by lockctl \(pid $LOCKCTL\)$" "locked row: program and pid"
like "$(row dstale)" "^dstale .* +stale +writer uid [0-9]+ .*pid $PID_s via unix" "stale row: the writer"
like "$(row dhup)" "^dhup .* +hungup *$" "hung-up row"
like "$(row dnopty)" "^dnopty .* +nopty *$" "no-pty row"
like "$(row dtcp)" "^dtcp .* +unsupported +type tcp$" "unsupported row: its type"

# When the other program lets go, the console is free again.
kill -TERM $LOCKCTL
wait $LOCKCTL
wait_for 10 "[ \"\$(field dlock 3)\" = free ]"
ok $? "once the other program is gone, list shows the console free"

# The daemon stops cleanly, and no sanitizer found anything in it.
broker_finish "the daemon exits with status 0 on SIGTERM" "the daemon's log has no sanitizer report"

done_testing
