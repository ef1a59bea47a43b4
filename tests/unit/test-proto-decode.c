/*
 * proto decoding of bad frames: every malformed header and payload is
 * refused with the right errno and a reason, and nothing is read past the
 * bytes given (the sanitizer build checks that part).
 */
#include <errno.h>

#include "tests/tap.h"
#include "tests/unit/test-proto-samples.h"

/*
 * Decode from a heap copy of exactly len bytes, so that ASan catches any
 * read past the end, which a stack buffer with room to spare would hide.
 */
static int decode_exact(uint16_t type, const uint8_t *p, size_t len,
    struct proto_msg *m, const char **why)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	if (len)
		memcpy(copy, p, len);
	ret = proto_decode(type, copy, len, m, why);
	free(copy);
	return ret;
}

static int header_exact(const uint8_t *p, size_t len, uint16_t *type,
    uint32_t *plen, const char **why)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	if (len)
		memcpy(copy, p, len);
	ret = proto_decode_header(copy, len, type, plen, why);
	free(copy);
	return ret;
}

static void test_header(void)
{
	uint8_t hdr[PROTO_HDR_SIZE];
	const char *why;
	uint16_t type;
	uint32_t len;
	size_t n;
	int bad = 0, bit;

	proto_encode_header(hdr, PROTO_HEARTBEAT, 0);
	for (n = 0; n < PROTO_HDR_SIZE; n++)
		if (header_exact(hdr, n, &type, &len, &why) != -EAGAIN)
			bad++;
	is_int(bad, 0, "a header of 0..7 bytes: -EAGAIN");
	is_int(header_exact(hdr, PROTO_HDR_SIZE, &type, &len, &why), 0,
	    "8 bytes of HEARTBEAT header: accepted");

	proto_encode_header(hdr, PROTO_DATA, PROTO_MAX_PAYLOAD + 1);
	why = NULL;
	is_int(header_exact(hdr, PROTO_HDR_SIZE, &type, &len, &why), -EMSGSIZE,
	    "declared length one over the maximum: -EMSGSIZE from 8 bytes");
	ok(why && *why, "with a reason (%s)", why ? why : "none");
	is_int(len, PROTO_MAX_PAYLOAD + 1, "the refused length is reported");
	proto_encode_header(hdr, PROTO_OPENED, 0xffffffffu);
	is_int(header_exact(hdr, PROTO_HDR_SIZE, &type, &len, &why), -EMSGSIZE,
	    "declared length 4 GiB: -EMSGSIZE");
	proto_encode_header(hdr, PROTO_DATA, PROTO_MAX_PAYLOAD);
	is_int(header_exact(hdr, PROTO_HDR_SIZE, &type, &len, &why), 0,
	    "declared length exactly the maximum: accepted");

	proto_encode_header(hdr, 999, 4);
	is_int(header_exact(hdr, PROTO_HDR_SIZE, &type, &len, &why), -EPROTO,
	    "unknown type 999: -EPROTO");
	is_str(why, "frame has an unknown message type", "reason says so");
	is_int(type, 999, "the unknown type is reported");
	bad = 0;
	for (n = 0; n <= UINT16_MAX; n++) {
		const char *name = proto_type_name((uint16_t)n);
		int ret;

		proto_encode_header(hdr, (uint16_t)n, 0);
		ret = header_exact(hdr, PROTO_HDR_SIZE, &type, &len, &why);
		if (strcmp(name, "unknown") == 0 && ret != -EPROTO)
			bad++;
	}
	is_int(bad, 0, "every type number without a name is refused");

	bad = 0;
	for (bit = 0; bit < 16; bit++) {
		proto_encode_header(hdr, PROTO_HEARTBEAT, 0);
		hdr[6] = (uint8_t)((1u << bit) >> 8);
		hdr[7] = (uint8_t)(1u << bit);
		if (header_exact(hdr, PROTO_HDR_SIZE, &type, &len, &why) != -EPROTO)
			bad++;
	}
	is_int(bad, 0, "each of the 16 header flag bits: -EPROTO");
	is_str(why, "frame header has non-zero flags", "reason says so");

	proto_encode_header(hdr, PROTO_HEARTBEAT, 1);
	is_int(header_exact(hdr, PROTO_HDR_SIZE, &type, &len, &why), -EPROTO,
	    "HEARTBEAT declaring a payload: -EPROTO from the header");
	proto_encode_header(hdr, PROTO_RESIZE, 5);
	is_int(header_exact(hdr, PROTO_HDR_SIZE, &type, &len, &why), -EPROTO,
	    "RESIZE declaring 5 bytes: -EPROTO from the header");
	proto_encode_header(hdr, PROTO_LIST_ENTRY, 10);
	is_int(header_exact(hdr, PROTO_HDR_SIZE, &type, &len, &why), -EPROTO,
	    "LIST_ENTRY shorter than its fixed fields: -EPROTO from the header");
	proto_encode_header(hdr, PROTO_DATA, 0);
	is_int(header_exact(hdr, PROTO_HDR_SIZE, &type, &len, &why), -EPROTO,
	    "empty DATA: -EPROTO from the header");
	is_str(why, "DATA is empty", "reason says so");
}

/* Every proper prefix of every sample payload is refused. */
static void test_truncated(void)
{
	uint8_t buf[1024];
	struct proto_msg m, out;
	const char *why;
	size_t i, cut, plen;
	ssize_t n;

	for (i = 0; i < SAMPLE_NTYPES; i++) {
		int bad = 0, noreason = 0;

		sample_msg(sample_types[i], &m);
		n = proto_encode(&m, buf, sizeof(buf));
		plen = (size_t)n - PROTO_HDR_SIZE;
		for (cut = 0; cut < plen; cut++) {
			why = NULL;
			if (sample_types[i] == PROTO_DATA && cut > 0)
				continue; /* any non-empty DATA is whole */
			if (decode_exact(sample_types[i], buf + PROTO_HDR_SIZE,
			    cut, &out, &why) != -EPROTO)
				bad++;
			if (!why || !*why)
				noreason++;
		}
		is_int(bad, 0, "%s: each of its %zu truncations: -EPROTO",
		    proto_type_name(sample_types[i]), plen);
		is_int(noreason, 0, "%s: each with a reason",
		    proto_type_name(sample_types[i]));
	}
}

/* A string whose declared length runs past the payload names its field. */
static void test_truncated_reasons(void)
{
	static const uint8_t open_short[] = {
		0, 2, 'o', 'k', 0, 40, 'd', 'e', 'v', 0, 0, 0, 0, 0, 0,
	};
	static const uint8_t entry_tail[] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 9, 'x',
	};
	struct proto_msg m;
	const char *why = NULL;

	is_int(decode_exact(PROTO_OPEN, open_short, sizeof(open_short), &m, &why),
	    -EPROTO, "OPEN whose devname claims 40 bytes: -EPROTO");
	is_str(why, "OPEN devname is truncated", "reason names the field");
	is_int(decode_exact(PROTO_LIST_ENTRY, entry_tail, sizeof(entry_tail), &m,
	    &why), -EPROTO, "LIST_ENTRY whose holder claims 9 bytes: -EPROTO");
	is_str(why, "LIST_ENTRY holder is truncated", "reason names the field");
	is_int(decode_exact(PROTO_OPEN, open_short, 3, &m, &why), -EPROTO,
	    "OPEN of 3 bytes: -EPROTO");
	is_str(why, "OPEN is shorter than its fixed fields", "reason says so");
}

/* One byte after the last field is refused for every type but DATA. */
static void test_trailing(void)
{
	uint8_t buf[1024];
	struct proto_msg m, out;
	const char *why;
	size_t i, plen;
	ssize_t n;
	int ret;

	for (i = 0; i < SAMPLE_NTYPES; i++) {
		uint16_t t = sample_types[i];

		sample_msg(t, &m);
		n = proto_encode(&m, buf, sizeof(buf));
		plen = (size_t)n - PROTO_HDR_SIZE;
		buf[n] = 'G';
		ret = decode_exact(t, buf + PROTO_HDR_SIZE, plen + 1, &out, &why);
		if (t == PROTO_DATA)
			ok(ret == 0 && out.u.data.len == plen + 1,
			    "DATA: the extra byte is data");
		else
			is_int(ret, -EPROTO, "%s with a trailing byte: -EPROTO (%s)",
			    proto_type_name(t), ret < 0 ? why : "accepted");
	}
	memset(buf, 0, 10);
	is_int(decode_exact(PROTO_HELLO, buf, 10, &out, &why), 0,
	    "HELLO of zeros and an empty string decodes");
}

/* A NUL byte inside each string field of each type is refused. */
static void test_embedded_nul(void)
{
	uint8_t buf[1024];
	struct proto_msg m, out;
	struct proto_str *strs[8];
	const char *why;
	size_t i, k, nstr, j;
	ssize_t n;
	int ret;

	for (i = 0; i < SAMPLE_NTYPES; i++) {
		sample_msg(sample_types[i], &m);
		nstr = sample_strings(&m, strs);
		for (k = 0; k < nstr; k++) {
			sample_msg(sample_types[i], &m);
			sample_strings(&m, strs);
			*strs[k] = proto_str("nu\001ll");
			n = proto_encode(&m, buf, sizeof(buf));
			for (j = PROTO_HDR_SIZE; j < (size_t)n; j++)
				if (buf[j] == 1)
					buf[j] = 0;
			why = NULL;
			ret = decode_exact(sample_types[i], buf + PROTO_HDR_SIZE,
			    (size_t)n - PROTO_HDR_SIZE, &out, &why);
			is_int(ret, -EPROTO, "%s string %zu with a NUL: -EPROTO (%s)",
			    proto_type_name(sample_types[i]), k, why ? why : "");
		}
	}
}

/* Flags outside the known masks are refused; values are otherwise free. */
static void test_flags_and_values(void)
{
	uint8_t buf[256];
	struct proto_msg m, out;
	const char *why;
	ssize_t n;
	int bit, bad = 0, good = 0;
	size_t flags_at;

	sample_msg(PROTO_OPEN, &m);
	n = proto_encode(&m, buf, sizeof(buf));
	flags_at = PROTO_HDR_SIZE + 2 + m.u.open.domain.len + 2 +
	    m.u.open.devname.len;
	for (bit = 0; bit < 32; bit++) {
		uint32_t f = 1u << bit;

		buf[flags_at] = (uint8_t)(f >> 24);
		buf[flags_at + 1] = (uint8_t)(f >> 16);
		buf[flags_at + 2] = (uint8_t)(f >> 8);
		buf[flags_at + 3] = (uint8_t)f;
		if (decode_exact(PROTO_OPEN, buf + PROTO_HDR_SIZE,
		    (size_t)n - PROTO_HDR_SIZE, &out, &why) == 0) {
			good++;
			if (!(f & PROTO_OPEN_KNOWN) || out.u.open.flags != f)
				bad++;
		}
	}
	is_int(good, 3, "OPEN: exactly the three known flag bits decode");
	is_int(bad, 0, "OPEN: and no other");
	is_str(why, "OPEN has unknown flags", "reason says so");

	sample_msg(PROTO_OPENED, &m);
	n = proto_encode(&m, buf, sizeof(buf));
	flags_at = (size_t)n - 4 - 2 - m.u.opened.notice.len;
	buf[flags_at] = 0x80;
	is_int(decode_exact(PROTO_OPENED, buf + PROTO_HDR_SIZE,
	    (size_t)n - PROTO_HDR_SIZE, &out, &why), -EPROTO,
	    "OPENED with an unknown flag: -EPROTO");

	memset(buf, 0, sizeof(buf));
	buf[3] = 1;
	is_int(decode_exact(PROTO_LIST, buf, 4, &out, &why), -EPROTO,
	    "LIST with a flag: -EPROTO");

	sample_msg(PROTO_HELLO, &m);
	m.u.hello.version = 77;
	n = proto_encode(&m, buf, sizeof(buf));
	is_int(decode_exact(PROTO_HELLO, buf + PROTO_HDR_SIZE,
	    (size_t)n - PROTO_HDR_SIZE, &out, &why), 0,
	    "HELLO of another version decodes");
	is_int(out.u.hello.version, 77, "and says which version");

	sample_msg(PROTO_LIST_ENTRY, &m);
	m.u.entry.state = 0xdeadbeef;
	n = proto_encode(&m, buf, sizeof(buf));
	is_int(decode_exact(PROTO_LIST_ENTRY, buf + PROTO_HDR_SIZE,
	    (size_t)n - PROTO_HDR_SIZE, &out, &why), 0,
	    "LIST_ENTRY with an unknown state decodes (not judged)");
	sample_msg(PROTO_CLOSED, &m);
	m.u.status.code = 4000;
	n = proto_encode(&m, buf, sizeof(buf));
	is_int(decode_exact(PROTO_CLOSED, buf + PROTO_HDR_SIZE,
	    (size_t)n - PROTO_HDR_SIZE, &out, &why), 0,
	    "CLOSED with an unknown code decodes (not judged)");
	is_int(out.u.status.code, 4000, "and keeps it");
}

static void test_decode_direct(void)
{
	static uint8_t big[PROTO_MAX_PAYLOAD + 1];
	struct proto_msg m;
	const char *why;

	is_int(proto_decode(999, big, 0, &m, &why), -EPROTO,
	    "proto_decode of an unknown type: -EPROTO");
	is_int(proto_decode(PROTO_DATA, big, sizeof(big), &m, &why), -EMSGSIZE,
	    "proto_decode of an oversize payload: -EMSGSIZE");
	is_int(proto_decode(PROTO_DATA, big, 0, &m, NULL), -EPROTO,
	    "empty DATA: -EPROTO, and why may be NULL");
	is_int(proto_decode(PROTO_HEARTBEAT, big, 0, &m, &why), 0,
	    "empty HEARTBEAT decodes");
	is_int(m.type, PROTO_HEARTBEAT, "with its type");
}

int main(void)
{
	test_header();
	test_truncated();
	test_truncated_reasons();
	test_trailing();
	test_embedded_nul();
	test_flags_and_values();
	test_decode_direct();
	return tap_done();
}
