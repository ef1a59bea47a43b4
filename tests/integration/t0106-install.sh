#!/bin/bash
# cmake --install puts the two programs where the systemd unit it installs
# runs them, with the man pages (clean under groff's warnings), the example
# configuration and domain (which check cleanly with the installed daemon)
# and the TLS proxy examples.
. "$(dirname "$0")/../lib.sh"

[ -x "$CONBROKERD" ] || skip_all "no $CONBROKERD"
[ -f "$CONBROKER_BUILD/CMakeCache.txt" ] || skip_all "no CMake build in $CONBROKER_BUILD"

DESTDIR=$T/root cmake --install "$CONBROKER_BUILD" >"$T/install.log" 2>&1
ok $? "cmake --install into a staging root"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$CONBROKER_BUILD/CMakeCache.txt")
root=$T/root$prefix

unit=$(find "$T/root" -name conbrokerd.service)
check "the systemd unit is installed (under lib/systemd/system)" \
	eval '[ -n "$unit" ] && [ "${unit#*/lib/systemd/system/}" = conbrokerd.service ]'
for key in ExecStart ExecStartPre; do
	exe=$(sed -n "s/^$key=\\([^ ]*\\).*/\\1/p" "$unit")
	check "$key runs the installed daemon ($exe)" eval '[ -x "$T/root$exe" ] && [ "$exe" = "$prefix/sbin/conbrokerd" ]'
done
check "the client is installed" test -x "$root/bin/conbroker"
is "$("$root/bin/conbroker" --version)" "$("$CONBROKER" --version)" "the installed client is this build's"

for page in man1/conbroker.1 man5/conbroker.xml.5 man8/conbrokerd.8; do
	f=$root/share/man/$page
	check "man page $page is installed" test -f "$f"
	is "$(groff -man -ww -z "$f" 2>&1)" "" "man page $page: groff has no warning"
done

ex=$root/share/doc/conbroker/examples
check "the example configuration is installed" test -f "$ex/conbroker.xml"
check "the example domain is installed" test -f "$ex/domains/example.xml"
check "the TLS proxy examples are installed" test -f "$ex/tls/haproxy.cfg" -a -f "$ex/tls/stunnel.conf"
"$root/sbin/conbrokerd" --check -f "$ex/conbroker.xml" >"$T/out" 2>"$T/err"
is "$?" 0 "the installed daemon checks the installed example configuration: exit 0"
sed "s|/run/libvirt/qemu|$ex/domains|" "$ex/conbroker.xml" > "$T/conf.xml"
"$root/sbin/conbrokerd" --check --strict -f "$T/conf.xml" >"$T/out" 2>"$T/err"
is "$?" 0 "and with the example domain, strictly: exit 0"
like "$(cat "$T/out")" "1 domain, 3 consoles, 0 errors" "the example domain's three consoles load"

done_testing
