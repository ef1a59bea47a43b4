#!/bin/bash
# Usage errors of conbrokerd and conbroker: exit 1, and a message that says
# what was wrong (in the words the user typed) and where to read more;
# --help lists every option.
. "$(dirname "$0")/../lib.sh"

[ -x "$CONBROKERD" ] || skip_all "no $CONBROKERD"

# usage WHAT PROGRAM ARGS... -- WANT: exit 1, and the first line of stderr is WANT.
usage() {
	local what=$1 prog=$2 want err rc; shift 2
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	want=$2
	"$prog" "${args[@]}" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	err=$(head -n 1 "$T/err")
	is "$rc" 1 "$what: exit 1"
	is "$err" "$want" "$what: says what was wrong"
}

usage "daemon, --demo with -f" "$CONBROKERD" --demo -f x.xml -- \
	"conbrokerd: --demo and -f exclude each other: the demo has a configuration of its own"
usage "daemon, an argument" "$CONBROKERD" extra -- \
	"conbrokerd: unexpected argument 'extra' (options only)"
usage "daemon, an unknown long option" "$CONBROKERD" --bogus -- \
	"conbrokerd: unknown option '--bogus'"
usage "daemon, an unknown short option in a group" "$CONBROKERD" -vx -- \
	"conbrokerd: unknown option '-x'"
usage "daemon, a value for a flag" "$CONBROKERD" --check=yes -- \
	"conbrokerd: unknown option '--check', or one that takes no value"
usage "daemon, a missing value" "$CONBROKERD" --config -- \
	"conbrokerd: option '--config' needs a value"
usage "daemon, a bad descriptor" "$CONBROKERD" --demo --ready-fd x -- \
	"conbrokerd: --ready-fd: 'x' is not a descriptor number"
usage "daemon, --strict without --check" "$CONBROKERD" --demo --strict -- \
	"conbrokerd: --strict goes with --check"
like "$(tail -n 1 "$T/err")" "^Try 'conbrokerd --help' for more information\\.$" \
	"daemon: a usage error says where to read more"

usage "client, an unknown console option" "$CONBROKER" console web01 --bogus -- \
	"conbroker console: unknown option '--bogus'"
usage "client, console without a domain" "$CONBROKER" console -- \
	"conbroker console: which DOMAIN? (a name or UUID; see conbroker list)"
usage "client, two domains" "$CONBROKER" console web01 db01 -- \
	"conbroker console: one DOMAIN only, not 'db01' too"
usage "client, force and readonly" "$CONBROKER" console web01 -f -r -- \
	"conbroker console: --force and --readonly exclude each other"
usage "client, an escape without a value" "$CONBROKER" console web01 -e -- \
	"conbroker console: option '-e' needs a value"
usage "client, a bad escape" "$CONBROKER" console web01 -e ab -- \
	"conbroker console: bad escape character 'ab': use ^X, one character, or none"
usage "client, a bad linger" "$CONBROKER" console web01 --linger 0 -- \
	"conbroker console: --linger: not a positive number of milliseconds: 0"
usage "client, list with an argument" "$CONBROKER" list web01 -- \
	"conbroker list: unexpected argument 'web01' (list takes none)"
usage "client, an unknown list option" "$CONBROKER" list --uuid=1 -- \
	"conbroker list: unknown option '--uuid', or one that takes no value"
usage "client, no command" "$CONBROKER" -- \
	"conbroker: which command? console DOMAIN, or list"
usage "client, an unknown command" "$CONBROKER" frob -- \
	"conbroker: unknown command 'frob' (console DOMAIN, or list)"
usage "client, -c without a value" "$CONBROKER" -c -- \
	"conbroker: option '-c' needs a value"
like "$(tail -n 1 "$T/err")" "^Try 'conbroker --help' for more information\\.$" \
	"client: a usage error says where to read more"

# --help: on stdout, exit 0, every option the program takes.
help=$("$CONBROKERD" --help); rc=$?
is "$rc" 0 "daemon --help: exit 0"
for o in -f --config --demo --check --strict --socket --ready-fd -v --verbose -V --version -h --help; do
	check "daemon --help names $o" eval 'printf "%s\n" "$help" | grep -q -- "$o\\b"'
done
help=$("$CONBROKER" --help); rc=$?
is "$rc" 0 "client --help: exit 0"
for o in -c --connect -h --help -V --version -d --devname -f --force -r --readonly -e --escape --no-history --linger --json; do
	check "client --help names $o" eval 'printf "%s\n" "$help" | grep -q -- "$o\\b"'
done

done_testing
