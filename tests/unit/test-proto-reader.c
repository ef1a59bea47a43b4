/*
 * proto reader: a stream of frames comes out whole and in order however it
 * is cut up on the way in, the buffer stays bounded, and a bad header is
 * refused as soon as its 8 bytes are in.
 */
#include <errno.h>

#include "tests/tap.h"
#include "tests/unit/test-proto-samples.h"

#define NFRAMES 400

static uint8_t pool[PROTO_MAX_PAYLOAD];
static struct proto_msg want[NFRAMES];
static uint8_t *stream;
static size_t stream_len;

/* Frames of every type, DATA of many sizes up to the maximum, encoded. */
static void build_stream(void)
{
	size_t i, off = 0, cap = 0;
	ssize_t n;

	for (i = 0; i < sizeof(pool); i++)
		pool[i] = (uint8_t)sample_rand();
	for (i = 0; i < NFRAMES; i++) {
		sample_msg(sample_types[i % SAMPLE_NTYPES], &want[i]);
		if (want[i].type == PROTO_DATA) {
			size_t len = 1 + sample_rand() % 3000;

			if (i % 5 == 0)
				len = PROTO_MAX_PAYLOAD - sample_rand() % 3;
			want[i].u.data.ptr = pool + sample_rand() %
			    (sizeof(pool) - len + 1);
			want[i].u.data.len = len;
		}
		cap += proto_encoded_size(&want[i]);
	}
	stream = malloc(cap);
	for (i = 0; i < NFRAMES; i++) {
		n = proto_encode(&want[i], stream + off, cap - off);
		if (n < 0)
			abort();
		off += (size_t)n;
	}
	stream_len = off;
}

enum chunking { ONE_BYTE, RANDOM, WHOLE };

/*
 * Feed the stream in chunks of the given kind, taking every message out as
 * soon as it is complete; returns how many came out equal to what went in.
 */
static size_t feed(enum chunking how, size_t *max_cap, int *errors,
    size_t *min_room)
{
	struct proto_reader r;
	struct proto_msg got;
	const char *why;
	size_t pos = 0, nout = 0, room, n;
	uint8_t *p;
	int ret;

	proto_reader_init(&r);
	*max_cap = 0;
	*errors = 0;
	*min_room = SIZE_MAX;
	while (pos < stream_len) {
		p = proto_reader_space(&r, &room);
		if (!p)
			abort();
		if (room < *min_room)
			*min_room = room;
		n = how == ONE_BYTE ? 1 : how == RANDOM ?
		    1 + sample_rand() % room : room;
		if (n > stream_len - pos)
			n = stream_len - pos;
		memcpy(p, stream + pos, n);
		proto_reader_commit(&r, n);
		pos += n;
		if (r.cap > *max_cap)
			*max_cap = r.cap;
		while ((ret = proto_reader_next(&r, &got, &why)) == 1) {
			if (nout < NFRAMES && sample_equal(&got, &want[nout]))
				nout++;
			else
				(*errors)++;
		}
		if (ret < 0) {
			diag("reader error: %s", why);
			(*errors)++;
			break;
		}
	}
	if (r.len != 0)
		(*errors)++;
	proto_reader_free(&r);
	return nout;
}

static void test_chunkings(void)
{
	static const char *const names[] = { "1 byte", "random", "whole" };
	size_t max_cap, min_room, got;
	int errors, how;

	for (how = ONE_BYTE; how <= WHOLE; how++) {
		got = feed((enum chunking)how, &max_cap, &errors, &min_room);
		is_int(got, NFRAMES, "%s chunks: all %d frames, in order",
		    names[how], NFRAMES);
		is_int(errors, 0, "%s chunks: nothing else came out", names[how]);
		ok(max_cap <= PROTO_MAX_FRAME + PROTO_READER_SLACK,
		    "%s chunks: buffer stayed within a frame and slack (%zu)",
		    names[how], max_cap);
		ok(min_room >= PROTO_READER_SLACK,
		    "%s chunks: every read had at least %d bytes of room (%zu)",
		    names[how], PROTO_READER_SLACK, min_room);
	}
}

/* Many small frames committed at once all come out of one commit. */
static void test_many_in_one_chunk(void)
{
	struct proto_reader r;
	struct proto_msg m, got;
	const char *why;
	uint8_t *p;
	size_t room, n = 0, count = 0;
	ssize_t w;

	proto_reader_init(&r);
	p = proto_reader_space(&r, &room);
	sample_msg(PROTO_RESIZE, &m);
	while ((w = proto_encode(&m, p + n, room - n)) > 0) {
		n += (size_t)w;
		m.u.resize.rows++;
	}
	proto_reader_commit(&r, n);
	m.u.resize.rows = 0xfffe;
	while (proto_reader_next(&r, &got, &why) == 1) {
		if (got.type == PROTO_RESIZE && got.u.resize.rows == m.u.resize.rows)
			count++;
		m.u.resize.rows++;
	}
	is_int(count, n / 12, "%zu RESIZE frames from one commit", n / 12);
	is_int(r.len, 0, "nothing left over");
	proto_reader_free(&r);
}

/* The rest of a big frame fits in one read once its header is in. */
static void test_room_for_frame(void)
{
	struct proto_reader r;
	struct proto_msg got;
	const char *why;
	uint8_t *p;
	size_t room;

	proto_reader_init(&r);
	p = proto_reader_space(&r, &room);
	proto_encode_header(p, PROTO_DATA, PROTO_MAX_PAYLOAD);
	proto_reader_commit(&r, PROTO_HDR_SIZE);
	is_int(proto_reader_next(&r, &got, &why), 0, "header alone: need more");
	p = proto_reader_space(&r, &room);
	ok(room >= PROTO_MAX_PAYLOAD, "room for the whole payload (%zu)", room);
	memset(p, 'x', PROTO_MAX_PAYLOAD);
	proto_reader_commit(&r, PROTO_MAX_PAYLOAD);
	is_int(proto_reader_next(&r, &got, &why), 1, "then the frame is whole");
	is_int(got.u.data.len, PROTO_MAX_PAYLOAD, "with all its bytes");
	proto_reader_free(&r);
}

/* An oversize header is refused at its 8th byte, and the refusal sticks. */
static void test_oversize_refused_early(void)
{
	struct proto_reader r;
	struct proto_msg got;
	const char *why = NULL;
	uint8_t hdr[PROTO_HDR_SIZE], *p;
	size_t room, i;
	int early = 0, ret = 0;

	proto_encode_header(hdr, PROTO_DATA, PROTO_MAX_PAYLOAD + 1);
	proto_reader_init(&r);
	for (i = 0; i < PROTO_HDR_SIZE; i++) {
		p = proto_reader_space(&r, &room);
		*p = hdr[i];
		proto_reader_commit(&r, 1);
		ret = proto_reader_next(&r, &got, &why);
		if (i < PROTO_HDR_SIZE - 1 && ret != 0)
			early++;
	}
	is_int(early, 0, "bytes 1..7 of the header: need more");
	is_int(ret, -EMSGSIZE, "byte 8: -EMSGSIZE, no payload read");
	ok(why && *why, "with a reason (%s)", why ? why : "none");
	is_int(proto_reader_next(&r, &got, &why), -EMSGSIZE,
	    "asked again: the same error");
	ok(r.cap <= PROTO_READER_SLACK * 2, "the buffer did not grow for it");
	proto_reader_free(&r);

	proto_encode_header(hdr, 4242, 0);
	proto_reader_init(&r);
	p = proto_reader_space(&r, &room);
	memcpy(p, hdr, sizeof(hdr));
	proto_reader_commit(&r, sizeof(hdr));
	is_int(proto_reader_next(&r, &got, &why), -EPROTO,
	    "unknown type in the stream: -EPROTO");
	proto_reader_free(&r);
}

/* A good frame then a bad payload: the good one comes out, then the error. */
static void test_bad_payload_in_stream(void)
{
	struct proto_reader r;
	struct proto_msg m, got;
	const char *why;
	uint8_t *p;
	size_t room, n;

	proto_reader_init(&r);
	p = proto_reader_space(&r, &room);
	sample_msg(PROTO_HEARTBEAT, &m);
	n = (size_t)proto_encode(&m, p, room);
	proto_encode_header(p + n, PROTO_CLOSED, 6);
	memcpy(p + n + PROTO_HDR_SIZE, "\0\0\0\7\0\x09", 6);
	proto_reader_commit(&r, n + PROTO_HDR_SIZE + 6);
	is_int(proto_reader_next(&r, &got, &why), 1, "HEARTBEAT comes out");
	is_int(proto_reader_next(&r, &got, &why), -EPROTO,
	    "then the CLOSED with a truncated message: -EPROTO");
	is_str(why, "CLOSED message is truncated", "reason names the field");
	proto_reader_free(&r);
}

static void test_edges(void)
{
	struct proto_reader r;
	struct proto_msg got;
	const char *why;
	size_t room;

	proto_reader_init(&r);
	is_int(proto_reader_next(&r, &got, &why), 0,
	    "a fresh reader has nothing");
	proto_reader_space(&r, &room);
	proto_reader_commit(&r, room + 100);
	is_int(r.len, r.cap, "commit never counts past the buffer");
	proto_reader_free(&r);
	ok(r.buf == NULL && r.cap == 0, "free leaves an empty reader");
	proto_reader_free(&r);
	ok(1, "free twice is harmless");
}

int main(void)
{
	build_stream();
	diag("a stream of %d frames, %zu bytes", NFRAMES, stream_len);
	test_chunkings();
	test_many_in_one_chunk();
	test_room_for_frame();
	test_oversize_refused_early();
	test_bad_payload_in_stream();
	test_edges();
	free(stream);
	return tap_done();
}
