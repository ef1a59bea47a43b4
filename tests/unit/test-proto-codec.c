/*
 * proto codec: every message type survives encode and decode, the bytes on
 * the wire are the documented ones, and encode never writes past its cap.
 */
#include <errno.h>

#include "tests/tap.h"
#include "tests/unit/test-proto-samples.h"

/* Encode, check the header, decode, compare: for one sample of each type. */
static void test_round_trips(void)
{
	uint8_t buf[1024];
	struct proto_msg in, out;
	const char *why;
	uint16_t type;
	uint32_t len;
	ssize_t n;
	size_t i;
	int ret;

	for (i = 0; i < SAMPLE_NTYPES; i++) {
		const char *name = proto_type_name(sample_types[i]);

		sample_msg(sample_types[i], &in);
		n = proto_encode(&in, buf, sizeof(buf));
		is_int(n, (ssize_t)proto_encoded_size(&in),
		    "%s: encode returns its encoded size", name);
		ret = proto_decode_header(buf, (size_t)n, &type, &len, &why);
		is_int(ret, 0, "%s: header decodes", name);
		is_int(type, sample_types[i], "%s: header type", name);
		is_int(len, n - PROTO_HDR_SIZE, "%s: header length", name);
		why = "unset";
		ret = proto_decode(type, buf + PROTO_HDR_SIZE, len, &out, &why);
		is_int(ret, 0, "%s: payload decodes (%s)", name, why);
		ok(sample_equal(&in, &out), "%s: same values after the trip", name);
	}
}

/* Strings of the maximum length, and a DATA of the maximum payload. */
static void test_limits(void)
{
	static uint8_t big[PROTO_MAX_FRAME + 16];
	static char text[UINT16_MAX + 1];
	struct proto_msg in, out;
	const char *why;
	ssize_t n;

	memset(text, 'a', UINT16_MAX);
	sample_msg(PROTO_NOTICE, &in);
	in.u.notice.text = proto_str(text);
	is_int(in.u.notice.text.len, UINT16_MAX, "proto_str stops at 65535 bytes");
	is_int(proto_encode(&in, big, sizeof(big)), -EMSGSIZE,
	    "NOTICE with a 65535-byte text is over the maximum payload");
	in.u.notice.text.len = PROTO_MAX_PAYLOAD - (4 + 8 + 2);
	n = proto_encode(&in, big, sizeof(big));
	is_int(n, PROTO_MAX_FRAME, "NOTICE filling the maximum payload encodes");
	is_int(proto_decode(PROTO_NOTICE, big + PROTO_HDR_SIZE,
	    (size_t)n - PROTO_HDR_SIZE, &out, &why), 0, "and decodes");
	ok(sample_equal(&in, &out), "and keeps its text");
	in.u.notice.text.len++;
	is_int(proto_encode(&in, big, sizeof(big)), -EMSGSIZE,
	    "one byte more: -EMSGSIZE");

	sample_msg(PROTO_OPENED, &in);
	in.u.opened.domain = proto_str(text);
	in.u.opened.uuid = proto_str(text);
	is_int(proto_encode(&in, big, sizeof(big)), -EMSGSIZE,
	    "OPENED whose strings add up past the maximum: -EMSGSIZE");

	memset(big, 0x5a, sizeof(big));
	sample_msg(PROTO_DATA, &in);
	in.u.data.ptr = big;
	in.u.data.len = PROTO_MAX_PAYLOAD;
	{
		static uint8_t frame[PROTO_MAX_FRAME];

		n = proto_encode(&in, frame, sizeof(frame));
		is_int(n, PROTO_MAX_FRAME, "DATA of the maximum payload encodes");
		is_int(proto_decode(PROTO_DATA, frame + PROTO_HDR_SIZE,
		    PROTO_MAX_PAYLOAD, &out, &why), 0, "and decodes");
		ok(out.u.data.len == PROTO_MAX_PAYLOAD &&
		    memcmp(out.u.data.ptr, big, PROTO_MAX_PAYLOAD) == 0,
		    "and keeps its bytes");
		in.u.data.len = PROTO_MAX_PAYLOAD + 1;
		is_int(proto_encode(&in, frame, sizeof(frame)), -EMSGSIZE,
		    "DATA one byte over the maximum: -EMSGSIZE");
	}
}

/* The bytes on the wire are the ones docs/protocol.md describes. */
static void test_wire_bytes(void)
{
	static const uint8_t resize[] = {
		0, 0, 0, 4, 0, 203, 0, 0, 0, 24, 0, 80,
	};
	static const uint8_t hello[] = {
		0, 0, 0, 11, 0, 100, 0, 0, 0, 0, 0, 1, 0, 0, 0x13, 0x88, 0, 1, 'x',
	};
	static const uint8_t notice[] = {
		0, 0, 0, 15, 0, 205, 0, 0, 0, 0, 0, 2,
		1, 2, 3, 4, 5, 6, 7, 8, 0, 1, '!',
	};
	uint8_t buf[64], hdr[PROTO_HDR_SIZE];
	static const uint8_t want_hdr[] = { 0, 1, 0, 0, 0, 202, 0, 0 };
	struct proto_msg m;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_RESIZE;
	m.u.resize.rows = 24;
	m.u.resize.cols = 80;
	n = proto_encode(&m, buf, sizeof(buf));
	ok(n == sizeof(resize) && memcmp(buf, resize, sizeof(resize)) == 0,
	    "RESIZE 24x80 is the documented 12 bytes");

	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	m.u.hello.version = 1;
	m.u.hello.heartbeat_ms = 5000;
	m.u.hello.software = proto_str("x");
	n = proto_encode(&m, buf, sizeof(buf));
	ok(n == sizeof(hello) && memcmp(buf, hello, sizeof(hello)) == 0,
	    "HELLO is the documented bytes");

	memset(&m, 0, sizeof(m));
	m.type = PROTO_NOTICE;
	m.u.notice.kind = PROTO_NOTICE_MISSED;
	m.u.notice.count = 0x0102030405060708ULL;
	m.u.notice.text = proto_str("!");
	n = proto_encode(&m, buf, sizeof(buf));
	ok(n == sizeof(notice) && memcmp(buf, notice, sizeof(notice)) == 0,
	    "NOTICE puts its u64 count big-endian");

	proto_encode_header(hdr, PROTO_DATA, 65536);
	ok(memcmp(hdr, want_hdr, sizeof(hdr)) == 0,
	    "proto_encode_header writes length, type, zero flags");
}

/* Every cap below the encoded size fails with -ENOSPC and writes nothing. */
static void test_encode_cap(void)
{
	uint8_t buf[512 + 64];
	struct proto_msg m;
	size_t i, cap, need;
	int bad = 0, wrote = 0;
	ssize_t n;

	for (i = 0; i < SAMPLE_NTYPES; i++) {
		sample_msg(sample_types[i], &m);
		need = proto_encoded_size(&m);
		for (cap = 0; cap < need; cap++) {
			memset(buf, 0xa5, sizeof(buf));
			n = proto_encode(&m, buf, cap);
			if (n != -ENOSPC)
				bad++;
			for (size_t j = 0; j < sizeof(buf); j++)
				if (buf[j] != 0xa5)
					wrote++;
		}
		memset(buf, 0xa5, sizeof(buf));
		n = proto_encode(&m, buf, need);
		if (n != (ssize_t)need || buf[need] != 0xa5)
			bad++;
	}
	is_int(bad, 0, "encode: -ENOSPC below the size, exact fit at the size");
	is_int(wrote, 0, "encode: the canary around a too-small buffer is intact");
}

/* What the sender must not send is refused by encode too. */
static void test_encode_refusals(void)
{
	uint8_t buf[256];
	struct proto_msg m;
	static const char nul[] = "de\0mo";

	sample_msg(PROTO_DATA, &m);
	m.u.data.len = 0;
	is_int(proto_encode(&m, buf, sizeof(buf)), -EINVAL, "empty DATA: -EINVAL");
	sample_msg(PROTO_OPEN, &m);
	m.u.open.flags = 0x8;
	is_int(proto_encode(&m, buf, sizeof(buf)), -EINVAL,
	    "OPEN with an unknown flag: -EINVAL");
	sample_msg(PROTO_OPENED, &m);
	m.u.opened.flags = 0x80000000u;
	is_int(proto_encode(&m, buf, sizeof(buf)), -EINVAL,
	    "OPENED with an unknown flag: -EINVAL");
	sample_msg(PROTO_LIST, &m);
	m.u.list.flags = 1;
	is_int(proto_encode(&m, buf, sizeof(buf)), -EINVAL,
	    "LIST with a flag: -EINVAL");
	sample_msg(PROTO_OPEN, &m);
	m.u.open.domain.ptr = nul;
	m.u.open.domain.len = sizeof(nul) - 1;
	is_int(proto_encode(&m, buf, sizeof(buf)), -EINVAL,
	    "a string with a NUL byte: -EINVAL");
	sample_msg(PROTO_OPEN, &m);
	m.u.open.devname.ptr = NULL;
	m.u.open.devname.len = 3;
	is_int(proto_encode(&m, buf, sizeof(buf)), -EINVAL,
	    "a string with a length and no bytes: -EINVAL");
	sample_msg(PROTO_OPEN, &m);
	m.u.open.devname.ptr = NULL;
	m.u.open.devname.len = 0;
	ok(proto_encode(&m, buf, sizeof(buf)) > 0,
	    "an empty string with no pointer is fine");
	memset(&m, 0, sizeof(m));
	m.type = (enum proto_type)999;
	is_int(proto_encode(&m, buf, sizeof(buf)), -EINVAL,
	    "an unknown type: -EINVAL");
	is_int(proto_encoded_size(&m), 0, "an unknown type has no size");
}

static void test_names(void)
{
	struct proto_str s = proto_str(NULL);

	is_str(proto_type_name(PROTO_HELLO), "HELLO", "type name HELLO");
	is_str(proto_type_name(PROTO_LIST_ENTRY), "LIST_ENTRY",
	    "type name LIST_ENTRY");
	is_str(proto_type_name(7), "unknown", "unknown type name");
	is_str(proto_code_name(PROTO_CODE_BUSY), "busy", "code name busy");
	is_str(proto_code_name(PROTO_CODE_DENIED), "denied", "code name denied");
	is_str(proto_code_name(99), "unknown", "unknown code name");
	is_str(proto_state_name(PROTO_STATE_HUNGUP), "hungup",
	    "state name hungup");
	is_str(proto_state_name(PROTO_STATE_UNSUPPORTED), "unsupported",
	    "state name unsupported");
	is_str(proto_state_name(1000), "unknown", "unknown state name");
	ok(s.ptr && s.len == 0, "proto_str(NULL) is an empty string");
	is_int(proto_str("abc").len, 3, "proto_str length");
}

int main(void)
{
	test_round_trips();
	test_limits();
	test_wire_bytes();
	test_encode_cap();
	test_encode_refusals();
	test_names();
	return tap_done();
}
