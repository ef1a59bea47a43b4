/*
 * proto_proxy_parse(): PROXY protocol v1 and v2 headers, valid and every
 * kind of malformed, fed whole and byte by byte, and a deterministic
 * mutation fuzz loop that checks every accepted header for consistency.
 * The v2 headers are built here byte by byte as haproxy builds them
 * (addresses, then TLVs; the SSL TLV holds client flags, verify, then the
 * VERSION and CN sub-TLVs), and one is also written out literally so the
 * builder itself is checked against the specification's layout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto/proto.h"
#include "tests/tap.h"

#define FUZZ_ITERATIONS 100000

#define PP2_TYPE_ALPN 0x01
#define PP2_TYPE_AUTHORITY 0x02
#define PP2_TYPE_CRC32C 0x03
#define PP2_TYPE_NOOP 0x04
#define PP2_TYPE_UNIQUE_ID 0x05
#define PP2_TYPE_SSL 0x20
#define PP2_SUBTYPE_SSL_VERSION 0x21
#define PP2_SUBTYPE_SSL_CN 0x22
#define PP2_SUBTYPE_SSL_CIPHER 0x23
#define PP2_CLIENT_SSL 0x01
#define PP2_CLIENT_CERT_CONN 0x02
#define PP2_CLIENT_CERT_SESS 0x04

static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* A v2 header under construction; the length field is set by v2_end(). */
struct v2 {
	uint8_t b[8192];
	size_t n;
	size_t ssl; /* where the open SSL TLV starts, or 0 */
};

static void v2_bytes(struct v2 *h, const void *p, size_t n)
{
	memcpy(h->b + h->n, p, n);
	h->n += n;
}

static void v2_u8(struct v2 *h, uint8_t v)
{
	h->b[h->n++] = v;
}

static void v2_u16(struct v2 *h, uint16_t v)
{
	v2_u8(h, (uint8_t)(v >> 8));
	v2_u8(h, (uint8_t)v);
}

static void v2_u32(struct v2 *h, uint32_t v)
{
	v2_u16(h, (uint16_t)(v >> 16));
	v2_u16(h, (uint16_t)v);
}

static void v2_begin(struct v2 *h, uint8_t ver_cmd, uint8_t fam)
{
	memset(h, 0, sizeof(*h));
	v2_bytes(h, v2_sig, sizeof(v2_sig));
	v2_u8(h, ver_cmd);
	v2_u8(h, fam);
	v2_u16(h, 0);
}

static void v2_addr4(struct v2 *h, const char *src, const char *dst,
    uint16_t sport, uint16_t dport)
{
	uint8_t a[4];

	inet_pton(AF_INET, src, a);
	v2_bytes(h, a, 4);
	inet_pton(AF_INET, dst, a);
	v2_bytes(h, a, 4);
	v2_u16(h, sport);
	v2_u16(h, dport);
}

static void v2_addr6(struct v2 *h, const char *src, const char *dst,
    uint16_t sport, uint16_t dport)
{
	uint8_t a[16];

	inet_pton(AF_INET6, src, a);
	v2_bytes(h, a, 16);
	inet_pton(AF_INET6, dst, a);
	v2_bytes(h, a, 16);
	v2_u16(h, sport);
	v2_u16(h, dport);
}

static void v2_tlv(struct v2 *h, uint8_t type, const void *v, size_t n)
{
	v2_u8(h, type);
	v2_u16(h, (uint16_t)n);
	v2_bytes(h, v, n);
}

/* Open an SSL TLV; sub-TLVs follow with v2_tlv(), v2_ssl_end() closes it. */
static void v2_ssl_begin(struct v2 *h, uint8_t client, uint32_t verify)
{
	h->ssl = h->n;
	v2_u8(h, PP2_TYPE_SSL);
	v2_u16(h, 0);
	v2_u8(h, client);
	v2_u32(h, verify);
}

static void v2_ssl_end(struct v2 *h)
{
	size_t len = h->n - h->ssl - 3;

	h->b[h->ssl + 1] = (uint8_t)(len >> 8);
	h->b[h->ssl + 2] = (uint8_t)len;
	h->ssl = 0;
}

static size_t v2_end(struct v2 *h)
{
	size_t len = h->n - 16;

	h->b[14] = (uint8_t)(len >> 8);
	h->b[15] = (uint8_t)len;
	return h->n;
}

/* What haproxy's send-proxy-v2-ssl-cn sends for a verified TLS 1.3 client. */
static size_t v2_haproxy_tcp4(struct v2 *h, uint8_t client, uint32_t verify,
    const char *cn, size_t cnlen)
{
	v2_begin(h, 0x21, 0x11);
	v2_addr4(h, "192.0.2.10", "198.51.100.1", 51234, 7443);
	v2_ssl_begin(h, client, verify);
	v2_tlv(h, PP2_SUBTYPE_SSL_VERSION, "TLSv1.3", 7);
	v2_tlv(h, PP2_SUBTYPE_SSL_CN, cn, cnlen);
	v2_ssl_end(h);
	return v2_end(h);
}

/*
 * Parse a copy of exactly len bytes on the heap, so that the sanitizer
 * build catches any read past len even when buf itself is larger.
 */
static int parse(const void *buf, size_t len, struct proto_proxy *p,
    const char **why)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	if (!copy)
		abort();
	memcpy(copy, buf, len);
	*why = NULL;
	ret = proto_proxy_parse(copy, len, p, why);
	free(copy);
	return ret;
}

/* Refused, with a reason; says which reason in the test output. */
static void refused(const void *buf, size_t len, const char *name)
{
	struct proto_proxy p;
	const char *why;
	char shown[128];
	int ret = parse(buf, len, &p, &why);
	size_t i;

	/* Names may be raw input: keep control characters out of the TAP. */
	for (i = 0; name[i] && i < sizeof(shown) - 1; i++)
		shown[i] = name[i] < 0x20 || name[i] > 0x7e ? '?' : name[i];
	shown[i] = '\0';
	ok(ret == -EPROTO && why && *why, "%s refused (%s)", shown,
	    why ? why : "no reason");
	if (ret != -EPROTO)
		diag("     got: %d", ret);
}

/* Every proper prefix needs more; the whole returns its length. */
static bool every_prefix(const void *buf, size_t len)
{
	struct proto_proxy p;
	const char *why;
	size_t k;

	for (k = 0; k < len; k++)
		if (parse(buf, k, &p, &why) != 0) {
			diag("prefix of %zu bytes: %s", k, why ? why : "accepted");
			return false;
		}
	return parse(buf, len, &p, &why) == (int)len;
}

static void test_v1_valid(void)
{
	static const char tcp4[] =
	    "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
	static const char tcp6[] =
	    "PROXY TCP6 2001:DB8::1 2001:db8:0:0:0:0:0:2 65535 0\r\n";
	static const char mapped[] =
	    "PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n";
	static const char longest6[] = "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	static const char unknown[] = "PROXY UNKNOWN\r\n";
	static const char worst[] = "PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct proto_proxy p;
	const char *why;

	is_int(parse(tcp4, strlen(tcp4), &p, &why), strlen(tcp4),
	    "v1 TCP4: the whole line is the header");
	is_int(p.version, 1, "v1 TCP4: version 1");
	is_int(p.local, 0, "v1 TCP4: not local");
	is_int(p.family, AF_INET, "v1 TCP4: AF_INET");
	is_str(p.src_addr, "192.168.0.1", "v1 TCP4: source address");
	is_str(p.dst_addr, "192.168.0.11", "v1 TCP4: destination address");
	is_int(p.src_port, 56324, "v1 TCP4: source port");
	is_int(p.dst_port, 443, "v1 TCP4: destination port");
	is_int(p.tls, 0, "v1 TCP4: no TLS information");
	is_str(p.tls_cn, "", "v1 TCP4: no CN");

	is_int(parse(tcp6, strlen(tcp6), &p, &why), strlen(tcp6), "v1 TCP6 accepted");
	is_int(p.family, AF_INET6, "v1 TCP6: AF_INET6");
	is_str(p.src_addr, "2001:db8::1", "v1 TCP6: source in canonical form");
	is_str(p.dst_addr, "2001:db8::2", "v1 TCP6: destination in canonical form");
	is_int(p.src_port, 65535, "v1 TCP6: port 65535");
	is_int(p.dst_port, 0, "v1 TCP6: port 0");

	is_int(parse(mapped, strlen(mapped), &p, &why), strlen(mapped),
	    "v1 TCP6 with an IPv4-mapped address accepted");
	is_str(p.src_addr, "::ffff:192.0.2.1", "v1 TCP6: IPv4-mapped source");

	is_int(strlen(longest6), 104, "the longest TCP6 line is 104 bytes");
	is_int(parse(longest6, strlen(longest6), &p, &why), 104,
	    "v1 longest TCP6 line accepted");

	is_int(parse(unknown, strlen(unknown), &p, &why), 15, "v1 UNKNOWN accepted");
	is_int(p.local, 1, "v1 UNKNOWN: local");
	is_int(p.family, AF_UNSPEC, "v1 UNKNOWN: AF_UNSPEC");
	is_str(p.src_addr, "", "v1 UNKNOWN: no address");

	is_int(strlen(worst), 107, "the worst-case UNKNOWN line is 107 bytes");
	is_int(parse(worst, strlen(worst), &p, &why), 107,
	    "v1 UNKNOWN with fields, 107 bytes, accepted");
	is_int(p.local, 1, "v1 UNKNOWN with fields: local, fields ignored");
	is_str(p.src_addr, "", "v1 UNKNOWN with fields: no address reported");
}

static void test_v1_malformed(void)
{
	static const struct {
		const char *name, *text;
	} bad[] = {
		{ "lowercase proxy", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n" },
		{ "double space after PROXY", "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n" },
		{ "double space between addresses",
		  "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n" },
		{ "leading space", " PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n" },
		{ "trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n" },
		{ "tab instead of space", "PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n" },
		{ "octet 256", "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n" },
		{ "three octets", "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n" },
		{ "five octets", "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n" },
		{ "leading zero octet", "PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n" },
		{ "hostname", "PROXY TCP4 localhost 5.6.7.8 1 2\r\n" },
		{ "IPv6 address with TCP4", "PROXY TCP4 ::1 5.6.7.8 1 2\r\n" },
		{ "IPv4 address with TCP6", "PROXY TCP6 1.2.3.4 ::1 1 2\r\n" },
		{ "IPv6 with a zone", "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n" },
		{ "IPv6 with nine groups", "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n" },
		{ "IPv6 with two ::", "PROXY TCP6 1::2::3 ::1 1 2\r\n" },
		{ "port 65536", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n" },
		{ "port 99999", "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n" },
		{ "port with +", "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n" },
		{ "port with -", "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n" },
		{ "port with leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n" },
		{ "port in hex", "PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2\r\n" },
		{ "missing destination port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n" },
		{ "no addresses", "PROXY TCP4\r\n" },
		{ "no protocol", "PROXY\r\n" },
		{ "unknown protocol", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n" },
		{ "UDP4", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n" },
		{ "UNKNOWN glued to text", "PROXY UNKNOWNX\r\n" },
		{ "UNKNOWN with a control character", "PROXY UNKNOWN \x1b[2J\r\n" },
		{ "trailing junk field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 junk\r\n" },
		{ "LF only", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n" },
		{ "CR only, then data", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rGET" },
		{ "LF CR", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\r" },
		{ "missing CRLF, data follows", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2GET / HTTP/1.0" },
		{ "HTTP request", "GET / HTTP/1.1\r\n" },
		{ "GET and a space", "GET " },
		{ "one wrong byte", "G" },
		{ "SSH banner", "SSH-2.0-OpenSSH_9.2\r\n" },
	};
	static const char withnul[] = "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n";
	struct proto_proxy p;
	const char *why;
	char longline[200];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(bad[i].text, strlen(bad[i].text), bad[i].name);
	refused(withnul, sizeof(withnul) - 1, "NUL inside an address");

	/* 108 bytes: one more than the longest line allowed. */
	strcpy(longline, "PROXY UNKNOWN ");
	memset(longline + 14, 'a', 106 - 14);
	memcpy(longline + 106, "\r\n", 2);
	refused(longline, 108, "v1 line of 108 bytes");
	/* Its first 107 bytes end in CR: the LF could only be the 108th. */
	refused(longline, 107, "v1 line with CR as byte 107");
	longline[106] = 'a';
	refused(longline, 107, "v1 line without CRLF within 107 bytes");
	memcpy(longline + 105, "\r\n", 2);
	is_int(parse(longline, 107, &p, &why), 107,
	    "v1 UNKNOWN line of exactly 107 bytes accepted");
}

/* Prefixes that can never become a header are refused before any CRLF. */
static void test_v1_early(void)
{
	static const char *const early[] = {
		"GET ", "X", "PROXZ", "PROXY TCP4 1.2.3.4  ",
		"PROXY TCP4 256", "PROXY TCP4 01", "PROXY TCP4 1.2.3.4.",
		"PROXY TCP4 1..", "PROXY TCP4 1.2.3.4 5.6.7.8 65536",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ", "PROXY TCP6 12345",
		"PROXY TCP6 1:2:3:4:5:6:7:8:9", "PROXY TCP6 1::2::",
		"PROXY TCP6 :1", "PROXY TCP6 1.2", "PROXY TCP6 :::",
		"PROXY UNKNOWN \x01",
		"PROXY TCP4 1.2.3.4\r", "PROXY\r",
	};
	static const char *const waiting[] = {
		"", "P", "PRO", "PROXY", "PROXY ", "PROXY T", "PROXY TCP",
		"PROXY UNKNOWN", "PROXY UNKNOWN ", "PROXY UNKNOWN whatever",
		"PROXY TCP4 ", "PROXY TCP4 1", "PROXY TCP4 1.2.3.4",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r",
		"PROXY TCP6 ::", "PROXY TCP6 ::ffff:1.2.", "PROXY TCP6 1:2:3:4:5:6:7:",
		"PROXY TCP4 1.2.3.4 5.6.7.8 0",
	};
	struct proto_proxy p;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(early) / sizeof(early[0]); i++)
		refused(early[i], strlen(early[i]), early[i]);
	for (i = 0; i < sizeof(waiting) / sizeof(waiting[0]); i++)
		is_int(parse(waiting[i], strlen(waiting[i]), &p, &why), 0,
		    "'%s' needs more bytes", waiting[i]);
}

/* Every prefix of a valid v1 line waits; data after it is not taken. */
static void test_v1_incremental(void)
{
	static const char *const lines[] = {
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
		"PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
		"PROXY TCP4 10.20.30.40 100.200.1.99 1000 10\r\n",
		"PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n",
		"PROXY TCP6 :: ::1 1 2\r\n",
		"PROXY TCP6 1:2:3:4:5:6:7:8 1:2:3:4:5:6:7:: 1 2\r\n",
		"PROXY TCP6 1::2:3:4:5:6:7 ::2:3:4:5:6:7:8 1 2\r\n",
		"PROXY TCP6 ::ffff:10.0.0.1 64:ff9b::192.0.2.33 1 2\r\n",
		"PROXY TCP6 1:2:3:4:5:6:1.2.3.4 fe80::ABCD:ef01 1 2\r\n",
		("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n",
	};
	struct proto_proxy p;
	const char *why;
	char buf[256];
	size_t i, n;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		n = strlen(lines[i]);
		ok(every_prefix(lines[i], n),
		    "every prefix of '%.*s' needs more, the whole is accepted",
		    (int)n - 2, lines[i]);
		memcpy(buf, lines[i], n);
		memcpy(buf + n, "HELLO\r\n\0\xff", 9);
		is_int(parse(buf, n + 9, &p, &why), n,
		    "followed by data: only the header's %zu bytes taken", n);
	}
}

/* xorshift64*: the random tests must be the same on every run. */
static uint64_t fuzz_state = 0x9e3779b97f4a7c15ULL;

static uint64_t fuzz_rand(void)
{
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return fuzz_state * 0x2545f4914f6cdd1dULL;
}

/* 16 random bytes with a run of zeros somewhere, as real addresses have. */
static void random_ipv6(uint8_t a[16])
{
	size_t i, start, run;

	for (i = 0; i < 16; i++)
		a[i] = fuzz_rand() % 3 ? (uint8_t)fuzz_rand() : 0;
	start = fuzz_rand() % 16;
	run = fuzz_rand() % (17 - start);
	memset(a + start, 0, run);
}

/* One of the spellings of a that inet_pton() accepts. */
static void spell_ipv6(const uint8_t a[16], int how, char *out, size_t cap)
{
	size_t i, n = 0, groups = how == 3 ? 6 : 8;

	if (how == 0) {
		inet_ntop(AF_INET6, a, out, (socklen_t)cap);
		return;
	}
	for (i = 0; i < groups; i++)
		n += (size_t)snprintf(out + n, cap - n,
		    how == 1 ? "%x%s" : how == 2 ? "%04X%s" : "%x%s",
		    a[2 * i] << 8 | a[2 * i + 1], i + 1 < groups ? ":" : "");
	if (how == 3)
		snprintf(out + n, cap - n, ":%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
}

/* The IPv6 prefix judge must never refuse what could still become valid. */
static void test_v1_ipv6_prefixes(void)
{
	char line[160], src[64], dst[64];
	uint8_t a[16];
	size_t i, failed = 0;

	for (i = 0; i < 4000; i++) {
		random_ipv6(a);
		spell_ipv6(a, (int)(i % 4), src, sizeof(src));
		random_ipv6(a);
		spell_ipv6(a, (int)(i / 4 % 4), dst, sizeof(dst));
		snprintf(line, sizeof(line), "PROXY TCP6 %s %s 1 2\r\n", src, dst);
		if (!every_prefix(line, strlen(line)) && failed++ < 5)
			diag("refused a prefix of %s", line);
	}
	is_int(failed, 0, "every prefix of 4000 TCP6 lines in four spellings waits");
}

static void test_v2_valid(void)
{
	/* The bytes of haproxy's send-proxy-v2-ssl-cn for a verified client. */
	static const uint8_t literal[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
		0x21,                   /* version 2, PROXY */
		0x11,                   /* TCP over IPv4 */
		0x00, 0x2f,             /* 47 bytes follow */
		192, 0, 2, 10,          /* source 192.0.2.10 */
		198, 51, 100, 1,        /* destination 198.51.100.1 */
		0xc8, 0x22,             /* source port 51234 */
		0x1d, 0x13,             /* destination port 7443 */
		0x20, 0x00, 0x20,       /* SSL TLV, 32 bytes */
		0x07,                   /* client: SSL, CERT_CONN, CERT_SESS */
		0x00, 0x00, 0x00, 0x00, /* verify: 0, verified */
		0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '3',
		0x22, 0x00, 0x0e, 'c', 'l', 'i', 'e', 'n', 't', '.',
		'e', 'x', 'a', 'm', 'p', 'l', 'e',
	};
	static struct v2 h;
	struct proto_proxy p;
	const char *why;
	size_t n;

	n = v2_haproxy_tcp4(&h, 0x07, 0, "client.example", 14);
	ok(n == sizeof(literal) && memcmp(h.b, literal, n) == 0,
	    "the v2 builder writes the specification's layout");
	is_int(parse(literal, sizeof(literal), &p, &why), 63,
	    "v2 TCP4 with SSL TLV: 63 bytes");
	is_int(p.version, 2, "v2 TCP4: version 2");
	is_int(p.local, 0, "v2 TCP4: not local");
	is_int(p.family, AF_INET, "v2 TCP4: AF_INET");
	is_str(p.src_addr, "192.0.2.10", "v2 TCP4: source address");
	is_str(p.dst_addr, "198.51.100.1", "v2 TCP4: destination address");
	is_int(p.src_port, 51234, "v2 TCP4: source port");
	is_int(p.dst_port, 7443, "v2 TCP4: destination port");
	is_int(p.tls, 1, "v2 TCP4: TLS");
	is_int(p.tls_cert_verified, 1, "v2 TCP4: certificate verified");
	is_str(p.tls_cn, "client.example", "v2 TCP4: CN");
	is_str(p.tls_version, "TLSv1.3", "v2 TCP4: TLS version");
	ok(every_prefix(literal, sizeof(literal)),
	    "v2 TCP4: truncated at every byte needs more");

	/* TCP6 with the TLVs haproxy may add around the SSL one. */
	v2_begin(&h, 0x21, 0x21);
	v2_addr6(&h, "2001:db8::10", "2001:db8:0:1::1", 40000, 7443);
	v2_tlv(&h, PP2_TYPE_ALPN, "h2", 2);
	v2_tlv(&h, PP2_TYPE_AUTHORITY, "console.example", 15);
	v2_tlv(&h, PP2_TYPE_UNIQUE_ID, "\x00\x01\x02\x03", 4);
	v2_ssl_begin(&h, PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN, 0);
	v2_tlv(&h, PP2_SUBTYPE_SSL_VERSION, "TLSv1.2", 7);
	v2_tlv(&h, PP2_SUBTYPE_SSL_CIPHER, "ECDHE-RSA-AES128-GCM-SHA256", 27);
	v2_tlv(&h, PP2_SUBTYPE_SSL_CN, "Operator One", 12);
	v2_ssl_end(&h);
	v2_tlv(&h, PP2_TYPE_NOOP, "", 0);
	v2_tlv(&h, PP2_TYPE_CRC32C, "\x12\x34\x56\x78", 4);
	v2_tlv(&h, 0xe0, "custom", 6);
	n = v2_end(&h);
	is_int(parse(h.b, n, &p, &why), n, "v2 TCP6 with many TLVs accepted");
	is_int(p.family, AF_INET6, "v2 TCP6: AF_INET6");
	is_str(p.src_addr, "2001:db8::10", "v2 TCP6: source address");
	is_str(p.dst_addr, "2001:db8:0:1::1", "v2 TCP6: destination address");
	is_int(p.src_port, 40000, "v2 TCP6: source port");
	is_int(p.dst_port, 7443, "v2 TCP6: destination port");
	is_str(p.tls_cn, "Operator One", "v2 TCP6: CN among other sub-TLVs");
	is_str(p.tls_version, "TLSv1.2", "v2 TCP6: version");
	is_int(p.tls_cert_verified, 1, "v2 TCP6: verified");
	ok(every_prefix(h.b, n), "v2 TCP6: truncated at every byte needs more");

	/* TCP6 without any TLV: no TLS claimed. */
	v2_begin(&h, 0x21, 0x21);
	v2_addr6(&h, "::1", "::1", 1, 2);
	n = v2_end(&h);
	is_int(parse(h.b, n, &p, &why), 52, "v2 TCP6 without TLVs: 52 bytes");
	is_int(p.tls, 0, "v2 without SSL TLV: no TLS");
	is_str(p.tls_cn, "", "v2 without SSL TLV: no CN");
}

/* LOCAL headers, data after a header, and the size limit. */
static void test_v2_local_and_limits(void)
{
	static struct v2 h;
	struct proto_proxy p;
	const char *why;
	size_t n;

	/* LOCAL, as in a health check. */
	v2_begin(&h, 0x20, 0x00);
	n = v2_end(&h);
	is_int(parse(h.b, n, &p, &why), 16, "v2 LOCAL UNSPEC: 16 bytes");
	is_int(p.local, 1, "v2 LOCAL: local");
	is_int(p.family, AF_UNSPEC, "v2 LOCAL: AF_UNSPEC");
	ok(every_prefix(h.b, n), "v2 LOCAL: truncated at every byte needs more");

	/* LOCAL with addresses and an SSL TLV: the block is discarded. */
	n = v2_haproxy_tcp4(&h, 0x07, 0, "client.example", 14);
	h.b[12] = 0x20;
	is_int(parse(h.b, n, &p, &why), n, "v2 LOCAL with addresses accepted");
	ok(p.local == 1 && p.family == AF_UNSPEC && !p.src_addr[0] &&
	    !p.tls && !p.tls_cert_verified && !p.tls_cn[0],
	    "v2 LOCAL: addresses and TLS TLV discarded, nothing reported");

	/* LOCAL's block is not read at all, however it looks. */
	v2_begin(&h, 0x20, 0x00);
	v2_bytes(&h, "\xff\xff\xff", 3);
	n = v2_end(&h);
	is_int(parse(h.b, n, &p, &why), n, "v2 LOCAL with opaque bytes accepted");

	/* Followed by the client's first bytes. */
	n = v2_haproxy_tcp4(&h, 0x07, 0, "client.example", 14);
	memcpy(h.b + n, "\x00\x00\x00\x08\x00\x64\x00\x00", 8);
	is_int(parse(h.b, n + 8, &p, &why), n,
	    "v2 followed by data: only the header taken");

	/* Exactly PROTO_PROXY_V2_MAX, padded with NOOP. */
	v2_begin(&h, 0x21, 0x11);
	v2_addr4(&h, "10.0.0.1", "10.0.0.2", 1, 2);
	v2_u8(&h, PP2_TYPE_NOOP);
	v2_u16(&h, (uint16_t)(PROTO_PROXY_V2_MAX - h.n - 2));
	h.n = PROTO_PROXY_V2_MAX;
	n = v2_end(&h);
	is_int(parse(h.b, n, &p, &why), PROTO_PROXY_V2_MAX,
	    "v2 header of exactly 4096 bytes accepted");
}

static void test_v2_tls(void)
{
	static struct v2 h;
	struct proto_proxy p;
	const char *why;
	char cn[300];
	size_t n;

	n = v2_haproxy_tcp4(&h, 0x07, 20, "client.example", 14);
	is_int(parse(h.b, n, &p, &why), n, "v2 unverified certificate: header accepted");
	is_int(p.tls, 1, "v2 unverified: TLS");
	is_int(p.tls_cert_verified, 0, "v2 verify != 0: not verified");
	is_str(p.tls_cn, "client.example", "v2 unverified: CN still reported for logs");

	n = v2_haproxy_tcp4(&h, PP2_CLIENT_SSL | PP2_CLIENT_CERT_SESS, 0,
	    "client.example", 14);
	parse(h.b, n, &p, &why);
	is_int(p.tls_cert_verified, 0,
	    "v2 certificate only earlier in the session: not verified");

	n = v2_haproxy_tcp4(&h, PP2_CLIENT_SSL, 0, "client.example", 14);
	parse(h.b, n, &p, &why);
	is_int(p.tls_cert_verified, 0, "v2 no certificate (verify 0): not verified");

	n = v2_haproxy_tcp4(&h, PP2_CLIENT_CERT_CONN, 0, "client.example", 14);
	parse(h.b, n, &p, &why);
	ok(!p.tls && !p.tls_cert_verified, "v2 without PP2_CLIENT_SSL: no TLS, not verified");

	n = v2_haproxy_tcp4(&h, 0x07, 0, "client\0.example", 15);
	refused(h.b, n, "v2 CN with a NUL");
	n = v2_haproxy_tcp4(&h, 0x07, 0, "client\n.example", 15);
	refused(h.b, n, "v2 CN with a newline");
	n = v2_haproxy_tcp4(&h, 0x07, 0, "\x1b[31mroot", 9);
	refused(h.b, n, "v2 CN with an escape sequence");
	n = v2_haproxy_tcp4(&h, 0x07, 0, "client\x7f", 7);
	refused(h.b, n, "v2 CN with DEL");
	n = v2_haproxy_tcp4(&h, 0x07, 0, "M\xc3\xbcller", 7);
	refused(h.b, n, "v2 CN with a non-ASCII byte");
	n = v2_haproxy_tcp4(&h, 0x07, 20, "client\r\n", 8);
	refused(h.b, n, "v2 CN with CRLF, even unverified");

	memset(cn, 'c', sizeof(cn));
	n = v2_haproxy_tcp4(&h, 0x07, 0, cn, 255);
	is_int(parse(h.b, n, &p, &why), n, "v2 CN of 255 bytes accepted");
	is_int(strlen(p.tls_cn), 255, "v2 CN of 255 bytes copied whole");
	n = v2_haproxy_tcp4(&h, 0x07, 0, cn, 256);
	refused(h.b, n, "v2 CN of 256 bytes");

	n = v2_haproxy_tcp4(&h, 0x07, 0, "", 0);
	is_int(parse(h.b, n, &p, &why), n, "v2 empty CN accepted");
	is_str(p.tls_cn, "", "v2 empty CN is no CN");

	v2_begin(&h, 0x21, 0x11);
	v2_addr4(&h, "10.0.0.1", "10.0.0.2", 1, 2);
	v2_ssl_begin(&h, 0x07, 0);
	v2_tlv(&h, PP2_SUBTYPE_SSL_VERSION, cn, 32);
	v2_ssl_end(&h);
	n = v2_end(&h);
	refused(h.b, n, "v2 SSL version of 32 bytes");

	v2_begin(&h, 0x21, 0x11);
	v2_addr4(&h, "10.0.0.1", "10.0.0.2", 1, 2);
	v2_ssl_begin(&h, 0x07, 0);
	v2_tlv(&h, PP2_SUBTYPE_SSL_VERSION, "TLS\x01", 4);
	v2_ssl_end(&h);
	n = v2_end(&h);
	refused(h.b, n, "v2 SSL version with a control character");

	v2_begin(&h, 0x21, 0x11);
	v2_addr4(&h, "10.0.0.1", "10.0.0.2", 1, 2);
	v2_ssl_begin(&h, 0x07, 0);
	v2_tlv(&h, PP2_SUBTYPE_SSL_CN, "alice", 5);
	v2_tlv(&h, PP2_SUBTYPE_SSL_CN, "root", 4);
	v2_ssl_end(&h);
	n = v2_end(&h);
	refused(h.b, n, "v2 two CN sub-TLVs");

	v2_begin(&h, 0x21, 0x11);
	v2_addr4(&h, "10.0.0.1", "10.0.0.2", 1, 2);
	v2_ssl_begin(&h, 0x07, 0);
	v2_tlv(&h, PP2_SUBTYPE_SSL_CN, "alice", 5);
	v2_ssl_end(&h);
	v2_ssl_begin(&h, 0x07, 0);
	v2_tlv(&h, PP2_SUBTYPE_SSL_CN, "root", 4);
	v2_ssl_end(&h);
	n = v2_end(&h);
	refused(h.b, n, "v2 two SSL TLVs");

	v2_begin(&h, 0x21, 0x11);
	v2_addr4(&h, "10.0.0.1", "10.0.0.2", 1, 2);
	v2_tlv(&h, PP2_TYPE_SSL, "\x07\x00\x00\x00", 4);
	n = v2_end(&h);
	refused(h.b, n, "v2 SSL TLV shorter than client and verify");
}

/* Lengths that lie, at every level. */
static void test_v2_lying(void)
{
	static struct v2 h;
	struct proto_proxy p;
	const char *why;
	size_t n;

	/* Length field larger than the TLVs: the header waits for more... */
	n = v2_haproxy_tcp4(&h, 0x07, 0, "client.example", 14);
	h.b[15] += 2;
	is_int(parse(h.b, n, &p, &why), 0,
	    "v2 length 2 beyond the TLVs: waits for the missing bytes");
	/* ... and the client's first bytes then make a TLV cut short. */
	h.b[n] = 0x00;
	h.b[n + 1] = 0x00;
	refused(h.b, n + 2, "v2 length 2 beyond the TLVs, data taken as a TLV");
	h.b[15] -= 1;
	refused(h.b, n + 1, "v2 length 1 beyond the TLVs");

	/* The SSL TLV claims one byte more than the header holds. */
	n = v2_haproxy_tcp4(&h, 0x07, 0, "client.example", 14);
	h.b[30] += 1;
	refused(h.b, n, "v2 TLV overrunning the header");
	h.b[30] = 0xff;
	h.b[29] = 0xff;
	refused(h.b, n, "v2 TLV claiming 65535 bytes");

	/* The CN sub-TLV claims more than its SSL TLV. */
	n = v2_haproxy_tcp4(&h, 0x07, 0, "client.example", 14);
	h.b[48] += 1;
	refused(h.b, n, "v2 sub-TLV overrunning its SSL TLV");
	/* The header length is shortened so the SSL TLV overruns it. */
	n = v2_haproxy_tcp4(&h, 0x07, 0, "client.example", 14);
	h.b[15] -= 1;
	refused(h.b, n - 1, "v2 length cutting the SSL TLV short");
	/* A TLV header cut by the length. */
	n = v2_haproxy_tcp4(&h, 0x07, 0, "client.example", 14);
	v2_u8(&h, PP2_TYPE_NOOP);
	v2_u8(&h, 0);
	n = v2_end(&h);
	refused(h.b, n, "v2 TLV header of 2 bytes");
}

/* The fixed 16 bytes, each judged as soon as it arrives. */
static void test_v2_fixed(void)
{
	static struct v2 h;
	struct proto_proxy p;
	const char *why;
	size_t n;

	/* Length too short for the addresses. */
	v2_begin(&h, 0x21, 0x11);
	v2_addr4(&h, "10.0.0.1", "10.0.0.2", 1, 2);
	n = v2_end(&h);
	h.b[15] = 11;
	refused(h.b, 16, "v2 TCP4 length 11, refused from the fixed part");
	v2_begin(&h, 0x21, 0x21);
	v2_addr6(&h, "::1", "::2", 1, 2);
	n = v2_end(&h);
	h.b[15] = 35;
	refused(h.b, n - 1, "v2 TCP6 length 35");

	/* Oversized: judged from the 16 fixed bytes alone. */
	v2_begin(&h, 0x21, 0x11);
	h.b[14] = (uint8_t)((PROTO_PROXY_V2_MAX - 16 + 1) >> 8);
	h.b[15] = (uint8_t)(PROTO_PROXY_V2_MAX - 16 + 1);
	refused(h.b, 16, "v2 header of 4097 bytes");
	h.b[14] = 0xff;
	h.b[15] = 0xff;
	refused(h.b, 16, "v2 header of 65551 bytes");
	h.b[12] = 0x20;
	refused(h.b, 16, "v2 LOCAL header of 65551 bytes");

	/* Version, command and family judged as soon as their byte arrives. */
	v2_begin(&h, 0x11, 0x11);
	refused(h.b, 13, "v2 version nibble 1");
	h.b[12] = 0x31;
	refused(h.b, 13, "v2 version nibble 3");
	h.b[12] = 0x01;
	refused(h.b, 13, "v2 version nibble 0");
	h.b[12] = 0x22;
	refused(h.b, 13, "v2 command 2");
	h.b[12] = 0x2f;
	refused(h.b, 13, "v2 command 15");
	h.b[12] = 0x21;
	h.b[13] = 0x12;
	refused(h.b, 14, "v2 UDP over IPv4");
	h.b[13] = 0x22;
	refused(h.b, 14, "v2 UDP over IPv6");
	h.b[13] = 0x31;
	refused(h.b, 14, "v2 unix stream");
	h.b[13] = 0x32;
	refused(h.b, 14, "v2 unix datagram");
	h.b[13] = 0x41;
	refused(h.b, 14, "v2 family 4");
	h.b[13] = 0x13;
	refused(h.b, 14, "v2 transport 3");
	h.b[13] = 0x10;
	refused(h.b, 14, "v2 IPv4 with unspecified transport");
	h.b[13] = 0x00;
	refused(h.b, 14, "v2 PROXY command with UNSPEC");
	h.b[12] = 0x20;
	h.b[13] = 0x12;
	refused(h.b, 14, "v2 LOCAL with UDP");

	/* The signature, byte by byte. */
	n = v2_haproxy_tcp4(&h, 0x07, 0, "client.example", 14);
	h.b[4] = 0x01;
	refused(h.b, 5, "v2 signature with its NUL replaced");
	h.b[4] = 0x00;
	h.b[11] = 0x0d;
	refused(h.b, 12, "v2 signature wrong in its last byte");
	refused("\r\n\r\n\r", 5, "v2 signature start that is not one");
	is_int(parse("\r\n\r\n\0", 5, &p, &why), 0, "v2 signature start needs more");
}

static bool fuzz_printable(const char *s, size_t cap)
{
	size_t i;

	for (i = 0; i < cap && s[i]; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return i < cap;
}

/* What must hold of any accepted header. */
static bool fuzz_consistent(const uint8_t *buf, size_t len, int ret,
    const struct proto_proxy *p)
{
	struct proto_proxy again;
	const char *why;
	uint8_t bin[16];

	if (ret <= 0 || (size_t)ret > len)
		return false;
	if (p->version == 1 && (ret > 107 || buf[ret - 2] != '\r' ||
	    buf[ret - 1] != '\n' || memcmp(buf, "PROXY ", 6) != 0 || p->tls))
		return false;
	if (p->version == 2 && (ret > PROTO_PROXY_V2_MAX ||
	    ret != 16 + (buf[14] << 8 | buf[15]) || memcmp(buf, v2_sig, 12) != 0))
		return false;
	if (p->version != 1 && p->version != 2)
		return false;
	if (p->local != (p->family == AF_UNSPEC))
		return false;
	if (p->family != AF_UNSPEC && (inet_pton(p->family, p->src_addr, bin) != 1 ||
	    inet_pton(p->family, p->dst_addr, bin) != 1))
		return false;
	if (p->family == AF_UNSPEC && (p->src_addr[0] || p->dst_addr[0] ||
	    p->src_port || p->dst_port || p->tls || p->tls_cn[0]))
		return false;
	if (p->tls_cert_verified && !p->tls)
		return false;
	if (!fuzz_printable(p->tls_cn, sizeof(p->tls_cn)) ||
	    !fuzz_printable(p->tls_version, sizeof(p->tls_version)))
		return false;
	/* The header alone parses the same, and one byte less needs more. */
	if (parse(buf, (size_t)ret, &again, &why) != ret ||
	    memcmp(&again, p, sizeof(again)) != 0)
		return false;
	return parse(buf, (size_t)ret - 1, &again, &why) == 0;
}

/* Damage a header in place; returns its new length (at most cap). */
static size_t fuzz_mutate(uint8_t *buf, size_t len, size_t cap)
{
	static const uint8_t special[] = {
		0, ' ', '\r', '\n', '0', '9', ':', '.', 'f', 0x11, 0x20, 0x21,
		0x22, 0x7f, 0xff,
	};
	size_t i, pos, k, rounds = 1 + fuzz_rand() % 4;

	for (i = 0; i < rounds; i++) {
		pos = len ? fuzz_rand() % len : 0;
		switch (fuzz_rand() % 8) {
		case 0:
			if (len)
				buf[pos] ^= (uint8_t)(1u << (fuzz_rand() % 8));
			break;
		case 1:
			if (len)
				buf[pos] = special[fuzz_rand() % sizeof(special)];
			break;
		case 2:
			len = len ? fuzz_rand() % len : 0;
			break;
		case 3:
			k = 1 + fuzz_rand() % 8;
			while (k-- && len < cap)
				buf[len++] = (uint8_t)fuzz_rand();
			break;
		case 4: /* delete a byte */
			if (len) {
				memmove(buf + pos, buf + pos + 1, len - pos - 1);
				len--;
			}
			break;
		case 5: /* insert a byte */
			if (len < cap) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = special[fuzz_rand() % sizeof(special)];
				len++;
			}
			break;
		case 6: /* a v2 length, or a TLV length, nudged */
			if (len > 16) {
				k = fuzz_rand() % 2 ? 15 : 16 + fuzz_rand() % (len - 16);
				buf[k] = (uint8_t)(buf[k] + (int)(fuzz_rand() % 5) - 2);
			}
			break;
		default: /* a byte set to anything */
			if (len)
				buf[pos] = (uint8_t)fuzz_rand();
			break;
		}
	}
	return len;
}

static void test_fuzz(void)
{
	static const char *const v1[] = {
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
		"PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1 65535\r\n",
		"PROXY UNKNOWN\r\n",
	};
	static struct v2 h;
	static struct {
		uint8_t b[256];
		size_t n;
	} seeds[6];
	static uint8_t buf[8192];
	size_t i, len, k, s, nseeds = 0;
	unsigned long accepted = 0, waiting = 0, bad = 0, inconsistent = 0;
	unsigned long noreason = 0, cut = 0;
	struct proto_proxy p, q;
	const char *why;
	int ret, retk;

	for (i = 0; i < 3; i++) {
		seeds[nseeds].n = strlen(v1[i]);
		memcpy(seeds[nseeds++].b, v1[i], strlen(v1[i]));
	}
	v2_haproxy_tcp4(&h, 0x07, 0, "client.example", 14);
	memcpy(seeds[nseeds].b, h.b, h.n);
	seeds[nseeds++].n = h.n;
	v2_begin(&h, 0x21, 0x21);
	v2_addr6(&h, "2001:db8::10", "::1", 40000, 7443);
	v2_tlv(&h, PP2_TYPE_AUTHORITY, "console.example", 15);
	v2_ssl_begin(&h, 0x03, 0);
	v2_tlv(&h, PP2_SUBTYPE_SSL_CN, "Operator One", 12);
	v2_ssl_end(&h);
	v2_end(&h);
	memcpy(seeds[nseeds].b, h.b, h.n);
	seeds[nseeds++].n = h.n;
	v2_begin(&h, 0x20, 0x00);
	v2_end(&h);
	memcpy(seeds[nseeds].b, h.b, h.n);
	seeds[nseeds++].n = h.n;

	for (i = 0; i < FUZZ_ITERATIONS; i++) {
		s = fuzz_rand() % nseeds;
		memcpy(buf, seeds[s].b, seeds[s].n);
		len = fuzz_mutate(buf, seeds[s].n, sizeof(buf));
		ret = parse(buf, len, &p, &why);
		if (ret == -EPROTO) {
			bad++;
			if (!why || !*why)
				noreason++;
		} else if (ret == 0) {
			waiting++;
			if (len >= PROTO_PROXY_V2_MAX ||
			    (len && buf[0] == 'P' && len >= 107))
				inconsistent++;
		} else {
			accepted++;
			if (!fuzz_consistent(buf, len, ret, &p))
				inconsistent++;
		}
		/* A prefix may not contradict the whole. */
		k = len ? fuzz_rand() % len : 0;
		retk = parse(buf, k, &q, &why);
		if ((retk < 0 && ret >= 0) || (retk > 0 && retk != ret) ||
		    (ret == 0 && retk != 0)) {
			if (cut++ < 5)
				diag("prefix %zu of %zu: %d, whole: %d", k, len,
				    retk, ret);
		}
	}
	diag("fuzz: %lu accepted, %lu need more, %lu refused", accepted,
	    waiting, bad);
	is_int(inconsistent, 0, "fuzz: every accepted header is self-consistent");
	is_int(noreason, 0, "fuzz: every refusal has a reason");
	is_int(cut, 0, "fuzz: no prefix contradicts its whole");
	ok(accepted > 1000 && bad > 1000,
	    "fuzz: the mutations reach both acceptance and refusal");
}

int main(void)
{
	test_v1_valid();
	test_v1_malformed();
	test_v1_early();
	test_v1_incremental();
	test_v1_ipv6_prefixes();
	test_v2_valid();
	test_v2_local_and_limits();
	test_v2_tls();
	test_v2_lying();
	test_v2_fixed();
	test_fuzz();
	return tap_done();
}
