#!/bin/sh
# Generate N libvirt domain files (live <domstatus> files shaped like those in
# /run/libvirt/qemu, and inactive definitions as in /etc/libvirt/qemu) in a
# temporary directory, and time conf_load() on them with bench/conf-load.
#
#   bench/conf-load.sh [N...]        default: 1000 10000
#   CONBROKER_BUILD=build-conf bench/conf-load.sh 10000
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${CONBROKER_BUILD:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
bench=$build/bench/conf-load
live=$top/tests/fixtures/conf/domains/web01.xml
inactive=$top/tests/fixtures/conf/domains/build01.xml
[ -x "$bench" ] || { echo "conf-load.sh: build $bench first" >&2; exit 1; }
[ $# -gt 0 ] || set -- 1000 10000

tmp=$(mktemp -d "${TMPDIR:-/tmp}/conbroker-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# gen KIND N TEMPLATE: N copies of a fixture, each with its own name, UUID
# and pty, written by one awk process (a process per file would dominate).
gen() {
	mkdir -p "$tmp/$1-$2"
	awk -v n="$2" -v dir="$tmp/$1-$2" -v kind="$1" '
	{ tpl[NR] = $0 }
	END {
		for (i = 1; i <= n; i++) {
			name = sprintf("%s%05d", kind, i)
			uuid = sprintf("%08x-%04x-4%03x-8%03x-%012x", i, i % 65536, i % 4096, (i * 7) % 4096, i * 2654435761 % 281474976710656)
			file = dir "/" name ".xml"
			for (l = 1; l <= NR; l++) {
				s = tpl[l]
				gsub(/web01|build01/, name, s)
				gsub(/4f0d1a4c-7a5e-4c55-9d1e-3b2a6f8e9c01|2c6f3b9e-5d0a-4e1b-b7c8-91a2d3e4f506/, uuid, s)
				gsub(/\/dev\/pts\/3/, "/dev/pts/" i, s)
				print s > file
			}
			close(file)
		}
	}' "$3"
}

for n in "$@"; do
	for kind in live inactive; do
		tpl=$live
		[ "$kind" = inactive ] && tpl=$inactive
		gen "$kind" "$n" "$tpl"
		size=$(du -sk "$tmp/$kind-$n" | cut -f1)
		echo "== $n $kind domain files ($(wc -c < "$tpl") bytes each, ${size} KiB on disk)"
		"$bench" "$tmp/$kind-$n" 3
		rm -rf "${tmp:?}/$kind-$n"
	done
done
