#!/bin/bash
# conbrokerd --check: every problem as FILE:LINE: message on stderr, a
# one-line summary, exit 0 for a good configuration and 1 for a bad one.
. "$(dirname "$0")/../lib.sh"

[ -x "$CONBROKERD" ] || skip_all "no $CONBROKERD"
FIX=$TOP/tests/fixtures/conf

has_line() { # has_line TEXT LINE: LINE is one whole line of TEXT
	printf '%s\n' "$1" | grep -Fxq -- "$2"
}

check_run() { # check_run ARGS...: sets rc, out (stdout) and err (stderr)
	"$CONBROKERD" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

check_run --demo --check
is "$rc" 0 "--demo --check: exit 0"
like "$out" "1 domains, 1 consoles" "--demo --check: the summary counts the demo"
is "$err" "" "--demo --check: no problem reported"

mkdir "$T/domains"
cp "$FIX"/domains/*.xml "$T/domains/"
cat >"$T/good.xml" <<XML
<conbroker>
  <listen unix='$T/sock'/>
  <domains dir='domains'/>
</conbroker>
XML
check_run --check -f "$T/good.xml"
is "$rc" 0 "a good configuration: exit 0"
like "$out" "6 domains, 13 consoles" "the summary counts domains and consoles"
is "$err" "" "nothing reported"

cp "$FIX/bad/relative-pty.xml" "$FIX/bad/no-uuid.xml" "$T/domains/"
check_run --check -f "$T/good.xml"
is "$rc" 1 "a broken domain file: exit 1"
check "FILE:LINE: message for a bad pty path" has_line "$err" \
	"$T/domains/relative-pty.xml:10: pty path 'pts/3' is not an absolute path under /dev"
check "FILE:LINE: message for a missing UUID" has_line "$err" \
	"$T/domains/no-uuid.xml:1: <domain> has no <uuid>"
like "$out" "6 domains, 13 consoles" "the good domains still count"

cp "$FIX/hostile/xxe.xml" "$T/domains/"
check_run --check -f "$T/good.xml"
check "an external entity is refused, with its line" has_line "$err" \
	"$T/domains/xxe.xml:2: document type declaration with an internal subset refused (entities are not allowed)"

check_run --check -f "$FIX/config/bad-settings.xml"
is "$rc" 1 "bad broker settings: exit 1"
check "each bad setting with its line" has_line "$err" \
	"$FIX/config/bad-settings.xml:9: tcp address '192.0.2.10:7780' is not a loopback address; add public='yes' to listen on it"
is "$(printf '%s\n' "$err" | wc -l)" 21 "every bad setting is reported, once"

check_run --check -f "$T/nosuch.xml"
is "$rc" 1 "a missing configuration: exit 1"
check "and why" has_line "$err" "$T/nosuch.xml: cannot open: No such file or directory"

done_testing
