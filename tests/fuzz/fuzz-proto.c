/*
 * libFuzzer harness for proto: the input is taken both as one frame and as
 * a byte stream cut into chunks.  Nothing may crash or read out of bounds,
 * every refusal must carry a reason, an accepted frame must encode back to
 * the same bytes, and the reader must stay within its size bound.
 *
 * Build: cmake -DCMAKE_C_COMPILER=clang -DCONBROKER_FUZZ=ON, then
 * ./fuzz-proto -max_total_time=60 NEW-DIR tests/fuzz/corpus-proto
 */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as one frame: decode it, and if it is good, encode it again. */
static void fuzz_proto_frame(const uint8_t *data, size_t size)
{
	uint8_t *again;
	struct proto_msg m;
	const char *why = NULL;
	uint16_t type;
	uint32_t len;
	ssize_t n;
	int ret;

	ret = proto_decode_header(data, size, &type, &len, &why);
	if (ret == 0 && size - PROTO_HDR_SIZE >= len)
		ret = proto_decode(type, data + PROTO_HDR_SIZE, len, &m, &why);
	else if (ret == 0)
		return;
	if (ret < 0) {
		if (!why || !*why)
			abort();
		return;
	}
	again = malloc(PROTO_HDR_SIZE + len);
	if (!again)
		return;
	n = proto_encode(&m, again, PROTO_HDR_SIZE + len);
	if (n != (ssize_t)(PROTO_HDR_SIZE + len) ||
	    memcmp(again, data, (size_t)n) != 0)
		abort();
	free(again);
}

/* The input as a stream, in chunks whose sizes come from its first byte. */
static void fuzz_proto_stream(const uint8_t *data, size_t size)
{
	struct proto_reader r;
	struct proto_msg m;
	const char *why;
	size_t pos = 1, room, n, step;
	uint8_t *p;
	int ret = 0;

	if (size < 1)
		return;
	step = 1 + data[0];
	proto_reader_init(&r);
	while (pos < size && ret >= 0) {
		p = proto_reader_space(&r, &room);
		if (!p)
			break;
		n = step < room ? step : room;
		if (n > size - pos)
			n = size - pos;
		memcpy(p, data + pos, n);
		proto_reader_commit(&r, n);
		pos += n;
		step = step * 7 % 251 + 1;
		while ((ret = proto_reader_next(&r, &m, &why)) == 1)
			;
		if (r.cap > PROTO_MAX_FRAME + PROTO_READER_SLACK)
			abort();
	}
	proto_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_proto_frame(data, size);
	fuzz_proto_stream(data, size);
	return 0;
}
