#!/bin/bash
# A user in more supplementary groups than a small buffer holds (80) keeps
# its group grants: the one granted here is its 70th group.  The rights are
# read through the protocol: list shows the console, and a read-only
# attach is accepted or refused.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

command -v setpriv >/dev/null || skip_all "setpriv (util-linux) is not installed"
[ "$(id -u)" -eq 0 ] || skip_all "needs root, to run clients as other users"
setpriv --reuid=2101 --regid=2101 --clear-groups "$CONBROKER" --version >/dev/null 2>&1 ||
	skip_all "the client cannot run as another user from $CONBROKER_BUILD"
chmod 0711 "$T"

fakevm_start vm1 --echo
domain_file vm1 2c8a3e74-5d9f-4b20-9e3c-4d5e6f708192 "$PTY_vm1"
broker_config "<access><grant group='5069' domain='vm1' rights='watch'/></access>"
sed -i "s/mode='0600'/mode='0666'/" "$T/conbroker.xml"
broker_start || { ok 1 "conbrokerd starts"; done_testing; exit 1; }

# groups FIRST COUNT: a comma-separated list of COUNT gids from FIRST.
groups() { seq -s, "$1" $(($1 + $2 - 1)); }
# as GROUPS ARGS...: the client as uid 2101 in those supplementary groups.
as() { local g=$1; shift; timeout 30 setpriv --reuid=2101 --regid=2101 --groups="$g" \
	"$CONBROKER" -c "unix:$T/sock" "$@"; }
domains() { as "$1" list --json 2>/dev/null | grep -o '"domain": "[^"]*"' | sed 's/.*: "//; s/"//'; }

is "$(domains "$(groups 5000 80)")" "vm1" \
	"a user in 80 groups, granted watch through its 70th, sees vm1 in list"
as "$(groups 5000 80)" console vm1 --readonly --no-history < /dev/null > "$T/w.out" 2> "$T/w.err" &
pid=$!
wait_for 10 "grep -qs 'Connected to domain' '$T/w.err' || ! kill -0 $pid 2>/dev/null"
like "$(cat "$T/w.err")" "Connected to domain 'vm1'" "and it may attach read-only"
kill $pid 2>/dev/null; wait $pid 2>/dev/null

is "$(domains "$(groups 5000 8)")" "" "the same user without that group sees nothing"
out=$(as "$(groups 5100 80)" console vm1 --readonly < /dev/null 2>&1); rc=$?
is "$rc" 8 "in 80 other groups: a read-only attach is refused with code 8"
like "$out" "missing right 'watch'" "and the refusal names the right"

broker_finish "the daemon exits 0 on SIGTERM"
done_testing
