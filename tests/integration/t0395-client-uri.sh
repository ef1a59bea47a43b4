#!/bin/bash
# A URI of no known form: every command ends with exit code 1 and one
# message that names the URI and the forms there are.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-broker.sh"

want="conbroker: bad URI '%s': use unix:PATH, tcp:HOST:PORT or ext:COMMAND"
for uri in nonsense tcp:nohostport tcp:[::1 tcp::7780 ext:; do
	out=$("$CONBROKER" -c "$uri" list 2>&1 < /dev/null); rc=$?
	is "$rc" 1 "list -c '$uri': exit code 1"
	# shellcheck disable=SC2059
	is "$out" "$(printf "$want" "$uri")" "list -c '$uri': the message"
	out=$("$CONBROKER" -c "$uri" console vm1 2>&1 < /dev/null); rc=$?
	is "$rc" 1 "console -c '$uri': exit code 1"
	# shellcheck disable=SC2059
	is "$out" "$(printf "$want" "$uri")" "console -c '$uri': the same message"
done
done_testing
