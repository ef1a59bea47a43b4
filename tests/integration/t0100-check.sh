#!/bin/bash
# conbrokerd --check: every problem as FILE:LINE: message on stderr, a
# one-line summary, exit 1 when the daemon would not start and 0 when it
# would (a broken domain file is only skipped), or with --strict exit 1 for
# any error.
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
is "$out" "(demo): 1 domain, 1 console, 0 errors, 0 warnings" "--demo --check: the summary counts the demo, in the singular"
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
check_run --check --strict -f "$T/owners.xml"
is "$rc" 1 "bad owner settings: exit 1 with --strict"
check "an unknown trust value" has_line "$err" \
	"$T/owners/badtrust.xml:9: invalid trust 'yes' (expected 'path')"
check "a relative pid file" has_line "$err" \
	"$T/owners/relpid.xml:9: owner-pid-file 'run/vm.pid' is not an absolute path"
check "a pid file and trust together" has_line "$err" \
	"$T/owners/both.xml:9: owner-pid-file and trust='path' exclude each other: the pid file proves what trust='path' takes on faith"
like "$out" "2 domains, 2 consoles, 3 errors, 0 warnings \\(--strict: failed\\)" "the three broken files are skipped, the others count"

cp "$FIX/bad/relative-pty.xml" "$FIX/bad/no-uuid.xml" "$T/domains/"
check_run --check -f "$T/good.xml"
is "$rc" 0 "a broken domain file: exit 0, the daemon would start without it"
check "FILE:LINE: message for a bad pty path" has_line "$err" \
	"$T/domains/relative-pty.xml:10: pty path 'pts/3' is not an absolute path under /dev"
check "FILE:LINE: message for a missing UUID" has_line "$err" \
	"$T/domains/no-uuid.xml:1: <domain> has no <uuid>"
like "$out" "6 domains, 13 consoles, 2 errors, 5 warnings \\(conbrokerd would skip the domains with errors\\)" "the good domains still count, and the summary says what the errors mean"
check_run --check --strict -f "$T/good.xml"
is "$rc" 1 "a broken domain file with --strict: exit 1"

cp "$FIX/hostile/xxe.xml" "$T/domains/"
check_run --check -f "$T/good.xml"
check "an external entity is refused, with its line" has_line "$err" \
	"$T/domains/xxe.xml:2: document type declaration with an internal subset refused (entities are not allowed)"

check_run --check -f "$FIX/config/bad-settings.xml"
is "$rc" 1 "bad broker settings: exit 1"
like "$out" "unusable, conbrokerd would not start \\(21 errors\\)" "and the summary says the daemon would not start"
check "each bad setting with its line" has_line "$err" \
	"$FIX/config/bad-settings.xml:9: tcp address '192.0.2.10:7780' is not a loopback address; add public='yes' to listen on it"
is "$(printf '%s\n' "$err" | wc -l)" 21 "every bad setting is reported, once"

# Without <access>, a TCP listener grants nothing to anyone: a warning.
cat >"$T/tcp.xml" <<XML
<conbroker>
  <listen unix='$T/sock'/>
  <listen tcp='127.0.0.1:7780'/>
</conbroker>
XML
check_run --check -f "$T/tcp.xml"
is "$rc" 0 "a TCP listener without <access>: exit 0"
is "$err" "$T/tcp.xml:3: warning: tcp listener 127.0.0.1:7780 grants nothing to anyone: without <access>, only local Unix peers have rights; add <access> grants for its peers (cn= behind a TLS proxy, address=)" \
	"a TCP listener without <access>: a warning that says what to do"
sed -i "s|</conbroker>|<access><grant cn='x' rights='watch'/></access></conbroker>|" "$T/tcp.xml"
check_run --check -f "$T/tcp.xml"
is "$err" "" "with <access>, no warning"

# The example configuration shipped in contrib/ checks cleanly (its domains
# directory is libvirt's, which may be absent here).
check_run --check -f "$TOP/contrib/conbroker.xml"
is "$rc" 0 "contrib/conbroker.xml: exit 0"
check "contrib/conbroker.xml: nothing but an absent domains directory to report" \
	eval '[ -z "$(printf "%s\n" "$err" | grep -v "domains directory")" ]'

check_run --check -f "$T/nosuch.xml"
is "$rc" 1 "a missing configuration: exit 1"
check "and why" has_line "$err" "$T/nosuch.xml: cannot open: No such file or directory"

done_testing
