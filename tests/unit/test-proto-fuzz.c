/*
 * proto mutation fuzzing, deterministic: valid frames of every type are
 * damaged at random from a fixed seed and decoded.  Nothing may crash or
 * read out of bounds (the sanitizer build checks that), a refusal always
 * carries a reason, and whatever is accepted encodes back to the very same
 * bytes, so the decoder accepts only what the encoder can produce.
 */
#include <errno.h>

#include "tests/tap.h"
#include "tests/unit/test-proto-samples.h"

#define ITERATIONS 200000

static char text_pool[512];

/* A valid message of a random type with random values and string lengths. */
static void random_msg(struct proto_msg *m, uint8_t *data)
{
	struct proto_str *strs[8];
	size_t i, n, off, len;

	sample_msg(sample_types[sample_rand() % SAMPLE_NTYPES], m);
	n = sample_strings(m, strs);
	for (i = 0; i < n; i++) {
		len = sample_rand() % 4 == 0 ? 0 : sample_rand() % 40;
		off = sample_rand() % (sizeof(text_pool) - len);
		strs[i]->ptr = text_pool + off;
		strs[i]->len = (uint16_t)len;
	}
	switch (m->type) {
	case PROTO_HELLO:
		m->u.hello.version = (uint32_t)sample_rand() % 3;
		m->u.hello.heartbeat_ms = (uint32_t)sample_rand();
		break;
	case PROTO_OPEN:
		m->u.open.flags = (uint32_t)sample_rand() & PROTO_OPEN_KNOWN;
		m->u.open.rows = (uint16_t)sample_rand();
		break;
	case PROTO_DATA:
		len = 1 + sample_rand() % 200;
		for (i = 0; i < len; i++)
			data[i] = (uint8_t)sample_rand();
		m->u.data.ptr = data;
		m->u.data.len = len;
		break;
	case PROTO_NOTICE:
		m->u.notice.count = sample_rand();
		break;
	case PROTO_LIST_ENTRY:
		m->u.entry.holder_pid = (uint32_t)sample_rand();
		break;
	default:
		break;
	}
}

/* Damage a frame in place; returns its new length (at most cap). */
static size_t mutate(uint8_t *buf, size_t len, size_t cap)
{
	size_t i, pos, k, rounds = 1 + sample_rand() % 4;

	for (i = 0; i < rounds; i++) {
		pos = len ? sample_rand() % len : 0;
		switch (sample_rand() % 9) {
		case 0: /* flip a bit */
			if (len)
				buf[pos] ^= (uint8_t)(1u << (sample_rand() % 8));
			break;
		case 1: /* set a byte to an interesting value */
			if (len)
				buf[pos] = (uint8_t[]){ 0, 1, 0x7f, 0x80, 0xff }
				    [sample_rand() % 5];
			break;
		case 2: /* truncate */
			len = len ? sample_rand() % len : 0;
			break;
		case 3: /* append garbage */
			k = 1 + sample_rand() % 8;
			while (k-- && len < cap)
				buf[len++] = (uint8_t)sample_rand();
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
				buf[pos] = (uint8_t)sample_rand();
				len++;
			}
			break;
		case 6: /* make the declared length agree with the new size */
			if (len >= PROTO_HDR_SIZE)
				proto_encode_header(buf, (uint16_t)(buf[4] << 8 |
				    buf[5]), (uint32_t)(len - PROTO_HDR_SIZE));
			break;
		case 7: /* change the type to another known one */
			if (len >= PROTO_HDR_SIZE) {
				uint16_t t = sample_types[sample_rand() %
				    SAMPLE_NTYPES];

				buf[4] = (uint8_t)(t >> 8);
				buf[5] = (uint8_t)t;
			}
			break;
		case 8: /* nudge a length byte */
			if (len)
				buf[pos] = (uint8_t)(buf[pos] + (sample_rand() % 2 ?
				    1 : 0xff));
			break;
		}
	}
	return len;
}

struct tally {
	long accepted, refused, mismatched, noreason, wrong_errno, broken;
};

/* Decode one damaged frame from an exact-size heap copy and judge it. */
static void check_frame(const uint8_t *frame, size_t len, struct tally *t)
{
	uint8_t *copy = malloc(len ? len : 1), *again = NULL;
	struct proto_msg m;
	const char *why = NULL;
	uint16_t type;
	uint32_t plen;
	ssize_t n;
	int ret;

	if (len)
		memcpy(copy, frame, len);
	ret = proto_decode_header(copy, len, &type, &plen, &why);
	if (ret == 0 && len - PROTO_HDR_SIZE >= plen) {
		why = NULL;
		ret = proto_decode(type, copy + PROTO_HDR_SIZE, plen, &m, &why);
	} else if (ret == 0) {
		goto out; /* a frame that is not all there yet */
	}
	if (ret < 0) {
		t->refused++;
		if (!why || !*why)
			t->noreason++;
		if (ret != -EPROTO && ret != -EMSGSIZE && ret != -EAGAIN)
			t->wrong_errno++;
		goto out;
	}
	t->accepted++;
	again = malloc(PROTO_HDR_SIZE + plen);
	n = proto_encode(&m, again, PROTO_HDR_SIZE + plen);
	if (n != (ssize_t)(PROTO_HDR_SIZE + plen) ||
	    memcmp(again, copy, (size_t)n) != 0)
		t->mismatched++;
out:
	free(again);
	free(copy);
}

/* Feed a damaged stream through a reader in random chunks until it stops. */
static void check_stream(const uint8_t *s, size_t len, struct tally *t)
{
	struct proto_reader r;
	struct proto_msg m;
	const char *why;
	size_t pos = 0, room, n;
	uint8_t *p;
	int ret = 0;

	proto_reader_init(&r);
	while (pos < len && ret >= 0) {
		p = proto_reader_space(&r, &room);
		n = 1 + sample_rand() % room;
		if (n > len - pos)
			n = len - pos;
		memcpy(p, s + pos, n);
		proto_reader_commit(&r, n);
		pos += n;
		while ((ret = proto_reader_next(&r, &m, &why)) == 1)
			;
		if (r.cap > PROTO_MAX_FRAME + PROTO_READER_SLACK)
			t->broken++;
	}
	proto_reader_free(&r);
}

int main(void)
{
	static uint8_t buf[4096], data[256], stream[8192];
	struct tally t = { 0 };
	struct proto_msg m;
	size_t i, len, slen = 0;
	ssize_t n;

	for (i = 0; i < sizeof(text_pool); i++)
		text_pool[i] = (char)(' ' + sample_rand() % 95);
	for (i = 0; i < ITERATIONS; i++) {
		random_msg(&m, data);
		n = proto_encode(&m, buf, sizeof(buf));
		if (n < 0) {
			t.broken++;
			continue;
		}
		len = i % 8 == 0 ? (size_t)n : mutate(buf, (size_t)n, sizeof(buf));
		check_frame(buf, len, &t);
		if (slen + len > sizeof(stream) || i % 16 == 15) {
			check_stream(stream, slen, &t);
			slen = 0;
		}
		if (slen + len <= sizeof(stream)) {
			memcpy(stream + slen, buf, len);
			slen += len;
		}
	}
	diag("%d frames: %ld accepted, %ld refused", ITERATIONS, t.accepted,
	    t.refused);
	ok(t.accepted >= ITERATIONS / 8, "every undamaged frame and some "
	    "damaged ones were accepted (%ld)", t.accepted);
	ok(t.refused > ITERATIONS / 4, "most damaged frames were refused (%ld)",
	    t.refused);
	is_int(t.mismatched, 0, "every accepted frame encodes back to its bytes");
	is_int(t.noreason, 0, "every refusal has a reason");
	is_int(t.wrong_errno, 0, "every refusal is -EPROTO, -EMSGSIZE or -EAGAIN");
	is_int(t.broken, 0, "encode of valid messages and reader bounds held");
	return tap_done();
}
