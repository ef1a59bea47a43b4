/*
 * proxy: the PROXY protocol header that a TLS-terminating proxy (haproxy,
 * stunnel) sends before the bytes it forwards, in its text form (version 1)
 * and its binary form (version 2, with TLVs).
 *
 * The header comes from a peer that is trusted only once it has been parsed
 * and checked, so the parser is strict: anything that is not exactly what the
 * specification describes is refused, every length is checked against the
 * bytes that hold it, and the strings that will end up in log lines (the TLS
 * version and the client certificate's CN) must be printable ASCII.  Partial
 * input is judged as it arrives: 0 ("need more") is returned only while the
 * bytes so far can still become a valid header, so that a peer speaking
 * something else is refused at once instead of being waited for.
 */
#include "proto/proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

/* The longest v1 line, CRLF included: "PROXY UNKNOWN" with two full IPv6. */
#define PROXY_V1_MAX 107

/* The v2 fixed part: signature, version and command, family, length. */
#define PROXY_V2_FIXED 16

#define PP2_VERSION 0x2
#define PP2_CMD_LOCAL 0x0
#define PP2_CMD_PROXY 0x1

#define PP2_FAM_UNSPEC 0x00
#define PP2_FAM_TCP4 0x11
#define PP2_FAM_UDP4 0x12
#define PP2_FAM_TCP6 0x21
#define PP2_FAM_UDP6 0x22
#define PP2_FAM_UNIX_STREAM 0x31
#define PP2_FAM_UNIX_DGRAM 0x32

#define PP2_TYPE_SSL 0x20
#define PP2_SUBTYPE_SSL_VERSION 0x21
#define PP2_SUBTYPE_SSL_CN 0x22

#define PP2_CLIENT_SSL 0x01
#define PP2_CLIENT_CERT_CONN 0x02

/* A TLV is a type byte and a big-endian u16 length, then the value. */
#define PP2_TLV_HDR 3

/* The SSL TLV's value starts with a client flags byte and a u32 verify. */
#define PP2_SSL_FIXED 5

static const uint8_t proto_proxy_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* The bytes of a v1 line seen so far, walked one space-separated field at a time. */
struct proto_proxy_line {
	const char *s;
	size_t len, pos;
	bool more; /* not ended yet: the field at the end of s may still grow */
	bool done; /* the CRLF has arrived */
};

static int proto_proxy_refuse(const char **why, const char *text)
{
	if (why)
		*why = text;
	return -EPROTO;
}

static uint16_t proto_proxy_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t proto_proxy_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Whether a partial field (or, unless partial, the whole field) spells word. */
static bool proto_proxy_v1_word(const char *f, size_t n, bool partial,
    const char *word)
{
	size_t wlen = strlen(word);

	if (n > wlen || (n < wlen && !partial))
		return false;
	return memcmp(f, word, n) == 0;
}

/* A decimal port without sign or leading zero, or the start of one. */
static bool proto_proxy_v1_port(const char *s, size_t n, bool partial,
    uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0)
		return partial;
	if (n > 5 || (s[0] == '0' && n > 1))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/*
 * A dotted quad without leading zeros, or the start of one.  The
 * specification forbids leading zeros so that nobody reads them as octal;
 * checking here keeps that rule whatever inet_pton() of this libc allows.
 */
static bool proto_proxy_v1_ipv4(const char *s, size_t n, bool partial)
{
	unsigned int v = 0;
	size_t i, digits = 0, dots = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (digits == 0 || ++dots > 3)
				return false;
			digits = 0;
			v = 0;
		} else if (s[i] >= '0' && s[i] <= '9') {
			if (digits == 1 && v == 0)
				return false;
			v = v * 10 + (unsigned int)(s[i] - '0');
			if (v > 255)
				return false;
			digits++;
		} else {
			return false;
		}
	}
	return partial || (dots == 3 && digits > 0);
}

/*
 * Whether s could still grow into an IPv6 address: groups of one to four
 * hex digits, one "::" at most, eight groups at most (seven beside "::"),
 * and a dotted-quad tail counting as two.  Lenient where exactness would
 * cost much: it only spares waiting for the CRLF of a line that can never
 * be valid, while inet_pton() judges every complete address.
 */
static bool proto_proxy_v1_ipv6_start(const char *s, size_t n)
{
	const char *dot = memchr(s, '.', n);
	size_t i, end = n, groups = 0, digits = 0;
	bool dcolon = false;

	if (dot) {
		end = (size_t)(dot - s);
		while (end > 0 && s[end - 1] != ':')
			end--;
		if (end == 0 || !proto_proxy_v1_ipv4(s + end, n - end, true))
			return false;
		groups = 2;
	}
	for (i = 0; i < end; i++) {
		if (s[i] == ':') {
			if (i == 0 && n > 1 && s[1] != ':')
				return false;
			if (i > 0 && s[i - 1] == ':') {
				if (dcolon)
					return false;
				dcolon = true;
			}
			if (digits)
				groups++;
			digits = 0;
		} else if ((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')) {
			if (++digits > 4)
				return false;
		} else {
			return false;
		}
	}
	if (digits)
		groups++;
	return groups <= (dcolon ? 7u : 8u);
}

/*
 * Check one v1 address field of the given family; when complete, store its
 * canonical text form (so that "2001:DB8::1" and "2001:db8:0::1" name one
 * peer in logs and rules).
 */
static bool proto_proxy_v1_addr(int family, const char *f, size_t n,
    bool partial, char text[46])
{
	char copy[INET6_ADDRSTRLEN];
	uint8_t bin[16];

	if (family == AF_INET && !proto_proxy_v1_ipv4(f, n, partial))
		return false;
	if (family == AF_INET6 && !proto_proxy_v1_ipv6_start(f, n))
		return false;
	if (partial)
		return true;
	if (n >= sizeof(copy))
		return false;
	memcpy(copy, f, n);
	copy[n] = '\0';
	if (inet_pton(family, copy, bin) != 1)
		return false;
	return inet_ntop(family, bin, text, 46) != NULL;
}

/*
 * Find where the v1 line ends: at the first CR, which must be followed by
 * LF within PROXY_V1_MAX bytes.  A lone CR or LF is refused, as the
 * specification demands.
 */
static int proto_proxy_v1_end(const uint8_t *buf, size_t len,
    struct proto_proxy_line *l, const char **why)
{
	size_t i, max = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;

	l->s = (const char *)buf;
	l->pos = 0;
	l->more = true;
	l->done = false;
	for (i = 0; i < max; i++) {
		if (buf[i] == '\n')
			return proto_proxy_refuse(why,
			    "PROXY v1 line has an LF without CR");
		if (buf[i] != '\r')
			continue;
		/* From here on no field can grow: only the LF may follow. */
		l->more = false;
		if (i + 1 == len)
			break;
		if (buf[i + 1] != '\n')
			return proto_proxy_refuse(why,
			    "PROXY v1 line has a CR without LF");
		if (i + 2 > PROXY_V1_MAX)
			return proto_proxy_refuse(why,
			    "PROXY v1 line is longer than 107 bytes");
		l->done = true;
		break;
	}
	l->len = i;
	if (!l->done && len >= PROXY_V1_MAX)
		return proto_proxy_refuse(why,
		    "PROXY v1 line has no CRLF within 107 bytes");
	return 0;
}

/*
 * Take the next field of the line; *last when it is the line's last one so
 * far.  An empty field is a double space, a leading or a trailing space,
 * unless it is the still-growing end of a partial line.
 */
static int proto_proxy_v1_field(struct proto_proxy_line *l, const char **f,
    size_t *n, bool *last, const char **why)
{
	const char *sp = memchr(l->s + l->pos, ' ', l->len - l->pos);

	*f = l->s + l->pos;
	if (sp) {
		*n = (size_t)(sp - *f);
		l->pos += *n + 1;
		*last = false;
	} else {
		*n = l->len - l->pos;
		l->pos = l->len;
		*last = true;
	}
	if (*n == 0 && !(*last && l->more))
		return proto_proxy_refuse(why,
		    "PROXY v1 line has an empty field (two spaces in a row?)");
	return 0;
}

/* The four fields after "PROXY TCP4" or "PROXY TCP6": addresses, then ports. */
static int proto_proxy_v1_tcp(struct proto_proxy_line *l,
    struct proto_proxy *out, const char **why)
{
	static const char *const bad[4] = {
		"PROXY v1 source address is not valid for its protocol",
		"PROXY v1 destination address is not valid for its protocol",
		"PROXY v1 source port is not a decimal number up to 65535",
		"PROXY v1 destination port is not a decimal number up to 65535",
	};
	const char *f;
	size_t n, k;
	bool last = false, partial, good;

	for (k = 0; k < 4; k++) {
		if (proto_proxy_v1_field(l, &f, &n, &last, why) < 0)
			return -EPROTO;
		partial = last && l->more;
		if (k == 0)
			good = proto_proxy_v1_addr(out->family, f, n, partial,
			    out->src_addr);
		else if (k == 1)
			good = proto_proxy_v1_addr(out->family, f, n, partial,
			    out->dst_addr);
		else
			good = proto_proxy_v1_port(f, n, partial,
			    k == 2 ? &out->src_port : &out->dst_port);
		if (!good)
			return proto_proxy_refuse(why, bad[k]);
		if (partial)
			return 0;
		if (k < 3 && last)
			return proto_proxy_refuse(why,
			    "PROXY v1 line ends before the destination port");
	}
	if (!last)
		return proto_proxy_refuse(why,
		    "PROXY v1 line has a space or a field after the destination port");
	return l->done ? (int)l->len + 2 : 0;
}

/* Version 1: "PROXY TCP4|TCP6 src dst sport dport\r\n" or "PROXY UNKNOWN...\r\n". */
static int proto_proxy_v1(const uint8_t *buf, size_t len,
    struct proto_proxy *out, const char **why)
{
	struct proto_proxy_line l;
	const char *f;
	size_t n, i;
	bool last, partial;

	if (proto_proxy_v1_end(buf, len, &l, why) < 0 ||
	    proto_proxy_v1_field(&l, &f, &n, &last, why) < 0)
		return -EPROTO;
	if (!proto_proxy_v1_word(f, n, last && l.more, "PROXY"))
		return proto_proxy_refuse(why, "not a PROXY protocol header");
	if (last)
		return l.more ? 0 : proto_proxy_refuse(why,
		    "PROXY v1 line has no protocol");

	if (proto_proxy_v1_field(&l, &f, &n, &last, why) < 0)
		return -EPROTO;
	partial = last && l.more;
	if (proto_proxy_v1_word(f, n, partial, "TCP4"))
		out->family = AF_INET;
	else if (proto_proxy_v1_word(f, n, partial, "TCP6"))
		out->family = AF_INET6;
	else if (proto_proxy_v1_word(f, n, partial, "UNKNOWN"))
		out->family = AF_UNSPEC;
	else
		return proto_proxy_refuse(why,
		    "PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN");
	if (partial)
		return 0;

	if (out->family != AF_UNSPEC) {
		if (last)
			return proto_proxy_refuse(why,
			    "PROXY v1 line has no addresses");
		return proto_proxy_v1_tcp(&l, out, why);
	}
	/*
	 * UNKNOWN: the receiver must ignore the rest of the line, but it still
	 * passes through logs on a refusal, so only printable text may follow.
	 */
	for (i = l.pos; i < l.len; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return proto_proxy_refuse(why,
			    "PROXY v1 UNKNOWN line has a control character");
	out->local = 1;
	return l.done ? (int)l.len + 2 : 0;
}

/*
 * Copy a TLV string into a fixed field.  It ends up in log lines, notices
 * and access rules, so a NUL (which would cut it short), a control
 * character (which could forge a log line or drive a terminal) or anything
 * beyond ASCII is refused rather than cleaned up.
 */
static int proto_proxy_text(char *dst, size_t cap, const uint8_t *src,
    size_t n, const char *too_long, const char *bad_byte, const char **why)
{
	size_t i;

	if (n >= cap)
		return proto_proxy_refuse(why, too_long);
	for (i = 0; i < n; i++)
		if (src[i] < 0x20 || src[i] > 0x7e)
			return proto_proxy_refuse(why, bad_byte);
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/*
 * The SSL TLV: client flags, verify result, then sub-TLVs of which the
 * version and the CN are kept.  A certificate counts as verified only when
 * the client sent one on this very connection and the proxy's verification
 * said 0: verify is also 0 when no certificate was sent at all.
 */
static int proto_proxy_ssl(const uint8_t *v, size_t n, struct proto_proxy *out,
    const char **why)
{
	bool seen_version = false, seen_cn = false;
	size_t off = PP2_SSL_FIXED, sublen;
	uint8_t client;
	uint32_t verify;
	int ret;

	if (n < PP2_SSL_FIXED)
		return proto_proxy_refuse(why,
		    "PROXY v2 SSL TLV is shorter than its client and verify fields");
	client = v[0];
	verify = proto_proxy_be32(v + 1);
	while (off < n) {
		if (n - off < PP2_TLV_HDR)
			return proto_proxy_refuse(why,
			    "PROXY v2 SSL sub-TLV is cut short (lying length)");
		sublen = proto_proxy_be16(v + off + 1);
		if (sublen > n - off - PP2_TLV_HDR)
			return proto_proxy_refuse(why,
			    "PROXY v2 SSL sub-TLV overruns the SSL TLV (lying length)");
		ret = 0;
		if (v[off] == PP2_SUBTYPE_SSL_VERSION) {
			if (seen_version)
				return proto_proxy_refuse(why,
				    "PROXY v2 SSL TLV has two version sub-TLVs");
			seen_version = true;
			ret = proto_proxy_text(out->tls_version,
			    sizeof(out->tls_version), v + off + PP2_TLV_HDR,
			    sublen, "PROXY v2 SSL version is too long",
			    "PROXY v2 SSL version has a NUL, control or non-ASCII byte",
			    why);
		} else if (v[off] == PP2_SUBTYPE_SSL_CN) {
			if (seen_cn)
				return proto_proxy_refuse(why,
				    "PROXY v2 SSL TLV has two CN sub-TLVs");
			seen_cn = true;
			ret = proto_proxy_text(out->tls_cn, sizeof(out->tls_cn),
			    v + off + PP2_TLV_HDR, sublen,
			    "PROXY v2 SSL CN is longer than 255 bytes",
			    "PROXY v2 SSL CN has a NUL, control or non-ASCII byte",
			    why);
		}
		if (ret < 0)
			return ret;
		off += PP2_TLV_HDR + sublen;
	}
	out->tls = (client & PP2_CLIENT_SSL) != 0;
	out->tls_cert_verified = out->tls &&
	    (client & PP2_CLIENT_CERT_CONN) != 0 && verify == 0;
	return 0;
}

/*
 * Walk the TLVs after the addresses.  Each one is bounds-checked, even the
 * types that are skipped (ALPN, authority, CRC32C, NOOP, unique ID and any
 * other): a TLV that does not end exactly where the header ends means that
 * some length is a lie.
 */
static int proto_proxy_tlvs(const uint8_t *p, size_t n, struct proto_proxy *out,
    const char **why)
{
	bool seen_ssl = false;
	size_t off = 0, vlen;
	int ret;

	while (off < n) {
		if (n - off < PP2_TLV_HDR)
			return proto_proxy_refuse(why,
			    "PROXY v2 TLV is cut short by the header length (lying length)");
		vlen = proto_proxy_be16(p + off + 1);
		if (vlen > n - off - PP2_TLV_HDR)
			return proto_proxy_refuse(why,
			    "PROXY v2 TLV overruns the header (lying length)");
		if (p[off] == PP2_TYPE_SSL) {
			if (seen_ssl)
				return proto_proxy_refuse(why,
				    "PROXY v2 header has two SSL TLVs");
			seen_ssl = true;
			ret = proto_proxy_ssl(p + off + PP2_TLV_HDR, vlen, out, why);
			if (ret < 0)
				return ret;
		}
		off += PP2_TLV_HDR + vlen;
	}
	return 0;
}

/*
 * The family and transport byte: how many address bytes follow, or a
 * refusal.  Only TCP makes sense in front of a TCP listener; UNSPEC only
 * with LOCAL, since a relayed connection without an address names nobody.
 */
static int proto_proxy_v2_family(uint8_t fam, int cmd, struct proto_proxy *out,
    size_t *asize, const char **why)
{
	switch (fam) {
	case PP2_FAM_UNSPEC:
		if (cmd != PP2_CMD_LOCAL)
			return proto_proxy_refuse(why,
			    "PROXY v2 PROXY command with an unspecified address family");
		out->family = AF_UNSPEC;
		*asize = 0;
		return 0;
	case PP2_FAM_TCP4:
		out->family = AF_INET;
		*asize = 2 * 4 + 2 * 2;
		return 0;
	case PP2_FAM_TCP6:
		out->family = AF_INET6;
		*asize = 2 * 16 + 2 * 2;
		return 0;
	case PP2_FAM_UDP4:
	case PP2_FAM_UDP6:
		return proto_proxy_refuse(why,
		    "PROXY v2 header is for UDP, this listener is TCP");
	case PP2_FAM_UNIX_STREAM:
	case PP2_FAM_UNIX_DGRAM:
		return proto_proxy_refuse(why,
		    "PROXY v2 header has unix socket addresses, only TCP is accepted");
	default:
		return proto_proxy_refuse(why,
		    "PROXY v2 header has an unknown address family or transport");
	}
}

/*
 * Version 2: the 16 fixed bytes, then the addresses and TLVs that its
 * length covers.  Each fixed byte is judged as soon as it arrives, and the
 * length before any of what it covers.
 */
static int proto_proxy_v2(const uint8_t *buf, size_t len,
    struct proto_proxy *out, const char **why)
{
	size_t total, asize = 0;
	const uint8_t *a;
	int cmd;

	if (memcmp(buf, proto_proxy_sig, len < 12 ? len : 12) != 0)
		return proto_proxy_refuse(why,
		    "not a PROXY protocol header (bad v2 signature)");
	if (len < 13)
		return 0;
	if (buf[12] >> 4 != PP2_VERSION)
		return proto_proxy_refuse(why, "PROXY v2 header has a version other than 2");
	cmd = buf[12] & 0x0f;
	if (cmd != PP2_CMD_LOCAL && cmd != PP2_CMD_PROXY)
		return proto_proxy_refuse(why, "PROXY v2 header has an unknown command");
	if (len < 14)
		return 0;
	if (proto_proxy_v2_family(buf[13], cmd, out, &asize, why) < 0)
		return -EPROTO;
	if (len < PROXY_V2_FIXED)
		return 0;
	total = PROXY_V2_FIXED + proto_proxy_be16(buf + 14);
	if (total > PROTO_PROXY_V2_MAX)
		return proto_proxy_refuse(why,
		    "PROXY v2 header is larger than 4096 bytes");
	if (cmd == PP2_CMD_LOCAL) {
		/*
		 * The proxy's own connection (a health check): the receiver
		 * must discard the block, so nothing in it is read or reported.
		 */
		if (len < total)
			return 0;
		out->local = 1;
		out->family = AF_UNSPEC;
		return (int)total;
	}
	if (total < PROXY_V2_FIXED + asize)
		return proto_proxy_refuse(why,
		    "PROXY v2 length is too short for the addresses");
	if (len < total)
		return 0;

	a = buf + PROXY_V2_FIXED;
	if (!inet_ntop(out->family, a, out->src_addr, sizeof(out->src_addr)) ||
	    !inet_ntop(out->family, a + asize / 2 - 2, out->dst_addr,
	    sizeof(out->dst_addr)))
		return proto_proxy_refuse(why, "PROXY v2 address cannot be printed");
	out->src_port = proto_proxy_be16(a + asize - 4);
	out->dst_port = proto_proxy_be16(a + asize - 2);
	if (proto_proxy_tlvs(a + asize, total - PROXY_V2_FIXED - asize, out,
	    why) < 0)
		return -EPROTO;
	return (int)total;
}

/* Parse a v1 or v2 header, told apart by its first byte. */
int proto_proxy_parse(const uint8_t *buf, size_t len, struct proto_proxy *out,
    const char **why)
{
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return 0;
	if (buf[0] == proto_proxy_sig[0]) {
		out->version = 2;
		return proto_proxy_v2(buf, len, out, why);
	}
	out->version = 1;
	return proto_proxy_v1(buf, len, out, why);
}
