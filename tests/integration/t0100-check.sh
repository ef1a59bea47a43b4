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
like "$out" "6 domains, 13 consoles, 0 errors, 5 warnings" "the summary counts domains, consoles and warnings"
# Inactive definitions name ptys that nothing proves to be theirs (no
# <domstatus pid>): a warning each, and the daemon will not open them.
is "$(printf '%s\n' "$err" | wc -l)" 5 "a warning for each pty path without an owner, and nothing else"
check "the warning names the file, line, console and pty" has_line "$err" \
	"$T/domains/db01.xml:53: warning: console 'serial0' of domain 'db01': nothing proves that /dev/pts/4 is still the domain's pty, so it will not be opened (no <domstatus pid>; give <cb:console alias='serial0'> an owner-pid-file, or trust='path')"
check "no warning for a live status file's ptys (web01)" \
	eval '! printf "%s\n" "$err" | grep -q "web01"'

# An owner for each of them quiets the warnings; bad owner settings are errors.
owner_domain() { # owner_domain FILE CB-ATTRIBUTES: a domain with one pty console
	cat >"$T/owners/$1" <<XML
<domain type='kvm'>
  <name>${1%.xml}</name>
  <uuid>$(cat /proc/sys/kernel/random/uuid)</uuid>
  <devices>
    <serial type='pty'><source path='/dev/pts/42'/><alias name='serial0'/></serial>
  </devices>
  <metadata>
    <cb:consoles xmlns:cb='http://conbroker.org/schemas/domain/1.0'>
      <cb:console alias='serial0' $2/>
    </cb:consoles>
  </metadata>
</domain>
XML
}
mkdir "$T/owners"
cat >"$T/owners.xml" <<XML
<conbroker>
  <listen unix='$T/sock'/>
  <domains dir='owners'/>
</conbroker>
XML
owner_domain pidfile.xml "owner-pid-file='/run/vm.pid'"
owner_domain trusted.xml "trust='path'"
check_run --check -f "$T/owners.xml"
is "$rc" 0 "owner-pid-file and trust='path': exit 0"
is "$err" "" "owner-pid-file and trust='path': nothing to warn about"
owner_domain badtrust.xml "trust='yes'"
owner_domain relpid.xml "owner-pid-file='run/vm.pid'"
owner_domain both.xml "owner-pid-file='/run/vm.pid' trust='path'"
check_run --check -f "$T/owners.xml"
is "$rc" 1 "bad owner settings: exit 1"
check "an unknown trust value" has_line "$err" \
	"$T/owners/badtrust.xml:9: invalid trust 'yes' (expected 'path')"
check "a relative pid file" has_line "$err" \
	"$T/owners/relpid.xml:9: owner-pid-file 'run/vm.pid' is not an absolute path"
check "a pid file and trust together" has_line "$err" \
	"$T/owners/both.xml:9: owner-pid-file and trust='path' exclude each other: the pid file proves what trust='path' takes on faith"
like "$out" "2 domains, 2 consoles, 3 errors" "the three broken files are skipped, the others count"

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
