# Helpers for the tests of remote consoles through a TLS proxy (stunnel,
# haproxy) in front of conbrokerd, reached with ext:openssl s_client.
#
# Source after tests/lib.sh and tests/lib-broker.sh.  The certificates live in
# $T/tls; the test sets TLS_PORT, where the proxy listens on 127.0.0.1.

# listening PORT: a socket listens on that TCP port (IPv4 or IPv6).
listening() {
	grep -qs ":$(printf '%04X' "$1") [0-9A-F:]* 0A " /proc/net/tcp /proc/net/tcp6
}

# make_ca NAME: a self-signed CA, $T/tls/NAME.pem and NAME.key.
make_ca() {
	openssl req -config "$T/tls/openssl.cnf" -x509 -extensions ca -new \
		-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=conbroker test $1" -keyout "$T/tls/$1.key" -out "$T/tls/$1.pem"
}
# make_cert CA NAME CN server|client: $T/tls/NAME.crt and NAME.key, signed by
# CA.
make_cert() {
	openssl req -config "$T/tls/openssl.cnf" -new -newkey ec \
		-pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
		-keyout "$T/tls/$2.key" -out "$T/tls/$2.csr" &&
	openssl x509 -req -in "$T/tls/$2.csr" -CA "$T/tls/$1.pem" -CAkey "$T/tls/$1.key" \
		-CAcreateserial -CAserial "$T/tls/$1.srl" -days 30 \
		-extfile "$T/tls/openssl.cnf" -extensions "$4" -out "$T/tls/$2.crt"
}

# make_certs [CLIENT...]: the certificates, as docs/remote.md makes them, in
# $T/tls: a CA (ca) that signs the server's certificate (server, for
# localhost; server.pem holds it with its key) and the client ops-laptop's,
# and one more client's for each CLIENT (its name its CN); a second CA
# (other-ca) signs another "ops-laptop" (forged), which the proxy must refuse.
# The keys are readable by their owner only.
make_certs() {
	local c
	mkdir -p "$T/tls"
	cat > "$T/tls/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
[client]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EOF
	make_ca ca && make_ca other-ca &&
	make_cert ca server localhost server &&
	make_cert ca ops-laptop ops-laptop client || return 1
	for c in "$@"; do
		make_cert ca "$c" "$c" client || return 1
	done
	make_cert other-ca forged ops-laptop client &&
	cat "$T/tls/server.crt" "$T/tls/server.key" > "$T/tls/server.pem" &&
	chmod 600 "$T/tls/"*.key "$T/tls/server.pem"
}

# remote_uri [NAME]: the URI of the daemon through the proxy on
# 127.0.0.1:$TLS_PORT, with NAME's certificate (none without): openssl
# s_client checks the server's certificate against ca for localhost.
remote_uri() {
	local cert=
	[ -n "${1:-}" ] && cert=" -cert $T/tls/$1.crt -key $T/tls/$1.key"
	echo "ext:openssl s_client -quiet -no_ign_eof -nocommands -verify_quiet -verify_return_error" \
		"-connect 127.0.0.1:$TLS_PORT -servername localhost" \
		"-verify_hostname localhost -CAfile $T/tls/ca.pem$cert"
}
# remote NAME ARGS...: the client through the proxy with NAME's certificate
# ("" for none).
remote() { local name=$1; shift; "$CONBROKER" -c "$(remote_uri "$name")" "$@"; }

# ssl_pid PID: the openssl that the client PID runs, its child or grandchild.
ssl_pid() {
	local kids
	kids=$(pgrep -d, -P "$1") || return 1
	pgrep -x openssl -P "$1,$kids"
}
