/*
 * libFuzzer harness for the PROXY protocol parser: the input is taken as the
 * start of a connection.  Nothing may crash or read past the bytes given, a
 * refusal must carry a reason, an accepted header must be self-consistent,
 * and parsing a prefix must never contradict parsing the whole (a prefix is
 * refused only when the whole is, and a complete header is found the same
 * in both).
 *
 * Build: cmake -DCMAKE_C_COMPILER=clang -DCONBROKER_FUZZ=ON, then
 * ./fuzz-proxy -max_total_time=60 NEW-DIR tests/fuzz/corpus-proxy
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse an exact-size copy, so that a read past len is caught. */
static int fuzz_proxy_parse(const uint8_t *data, size_t len,
    struct proto_proxy *p, const char **why)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	if (!copy)
		abort();
	memcpy(copy, data, len);
	*why = NULL;
	ret = proto_proxy_parse(copy, len, p, why);
	free(copy);
	if (ret < 0 && (ret != -EPROTO || !*why || !**why))
		abort();
	if (ret > (int)len)
		abort();
	return ret;
}

/* A string field that is NUL-terminated and printable ASCII. */
static int fuzz_proxy_text(const char *s, size_t cap)
{
	size_t i;

	for (i = 0; i < cap && s[i]; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return i < cap;
}

/* What must hold of an accepted header. */
static void fuzz_proxy_check(const uint8_t *data, int ret,
    const struct proto_proxy *p)
{
	uint8_t bin[16];

	if (p->version == 1 && (ret > 107 || data[ret - 2] != '\r' ||
	    data[ret - 1] != '\n' || p->tls))
		abort();
	if (p->version == 2 && (ret > PROTO_PROXY_V2_MAX ||
	    ret != 16 + (data[14] << 8 | data[15])))
		abort();
	if (p->version != 1 && p->version != 2)
		abort();
	if (p->local != (p->family == AF_UNSPEC))
		abort();
	if (p->family != AF_UNSPEC &&
	    (inet_pton(p->family, p->src_addr, bin) != 1 ||
	    inet_pton(p->family, p->dst_addr, bin) != 1))
		abort();
	if (p->tls_cert_verified && !p->tls)
		abort();
	if (!fuzz_proxy_text(p->tls_cn, sizeof(p->tls_cn)) ||
	    !fuzz_proxy_text(p->tls_version, sizeof(p->tls_version)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_proxy whole, part;
	const char *why;
	size_t cut;
	int ret, r;

	ret = fuzz_proxy_parse(data, size, &whole, &why);
	if (ret > 0)
		fuzz_proxy_check(data, ret, &whole);
	if (ret == 0 && size >= PROTO_PROXY_V2_MAX)
		abort();

	/* Every prefix up to the header's end agrees with the whole. */
	for (cut = 0; cut < size && cut < 512; cut++) {
		r = fuzz_proxy_parse(data, cut, &part, &why);
		if ((r < 0 && ret >= 0) || (r > 0 && r != ret) ||
		    (ret == 0 && r != 0))
			abort();
		if (r > 0 && memcmp(&part, &whole, sizeof(part)) != 0)
			abort();
		if (r != 0)
			break;
	}
	return 0;
}
