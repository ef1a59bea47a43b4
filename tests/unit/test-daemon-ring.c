/*
 * The history ring: absolute offsets that never wrap, contiguous peeks and
 * room across the end of the buffer, the tail that moves once the ring is
 * full, and the room that a lossless reader's cursor (keep) leaves.
 */
#include <string.h>

#include "daemon/daemon.h"
#include "tests/tap.h"

/* No lossless reader: keep follows head. */
#define NOKEEP UINT64_MAX

/* Append len bytes of c, as the pty read does, as far as keep allows. */
static size_t put(struct ring *r, uint64_t keep, int c, size_t len)
{
	size_t done = 0, n;
	uint8_t *p;

	while (done < len && (n = ring_space(r, keep == NOKEEP ? r->head : keep, &p)) > 0) {
		if (n > len - done)
			n = len - done;
		memset(p, c, n);
		ring_commit(r, n);
		done += n;
	}
	return done;
}

int main(void)
{
	struct ring r;
	const uint8_t *ptr;
	uint8_t *w;
	uint64_t cursor;
	size_t n;

	ok(ring_init(&r, 16) == 0, "a ring of 16 bytes");
	is_int(r.head, 0, "offsets start at zero");
	is_int(ring_tail(&r), 0, "an empty ring's tail is zero");
	is_int(ring_peek(&r, 0, &ptr, 100), 0, "nothing to peek in an empty ring");

	is_int(put(&r, NOKEEP, 'a', 10), 10, "10 bytes fit");
	is_int(ring_peek(&r, 0, &ptr, 100), 10, "they are read back in one piece");
	ok(memcmp(ptr, "aaaaaaaaaa", 10) == 0, "with their contents");
	is_int(ring_peek(&r, 4, &ptr, 3), 3, "a peek is bounded by its max");

	/* A lossless reader at offset 0 keeps everything it has not read. */
	is_int(ring_space(&r, 0, &w), 6, "with a reader at 0, 6 bytes of room remain");
	is_int(put(&r, 0, 'b', 100), 6, "and no more is taken (backpressure)");
	is_int(ring_space(&r, 0, &w), 0, "a full ring has no room for the reader's sake");
	is_int(ring_tail(&r), 0, "nothing was overwritten");

	/* The reader takes 8 bytes: room comes back across the buffer's end. */
	cursor = 8;
	is_int(put(&r, cursor, 'c', 100), 8, "the reader moved 8 on: 8 bytes more fit");
	is_int(r.head, 24, "head is an absolute offset (24), not a position");
	is_int(ring_tail(&r), 8, "the tail follows at head minus the size");
	n = ring_peek(&r, 14, &ptr, 100);
	is_int(n, 2, "a peek stops at the end of the buffer");
	ok(ptr[0] == 'b' && ptr[1] == 'b', "and reads what is there");
	n = ring_peek(&r, 16, &ptr, 100);
	is_int(n, 8, "the next peek starts at the buffer's beginning");
	ok(ptr[0] == 'c' && ptr[7] == 'c', "with the wrapped bytes");

	/* Without a lossless reader (keep = head), old bytes are overwritten. */
	is_int(put(&r, NOKEEP, 'd', 40), 40, "without a lossless reader the ring never fills");
	is_int(r.head, 64, "head counts every byte ever written");
	is_int(ring_tail(&r), 48, "the tail is 16 behind");
	cursor = 20;
	ok(cursor < ring_tail(&r), "a reader left at 20 has fallen behind");
	is_int(ring_tail(&r) - cursor, 28, "by 28 bytes: what a watcher is told it missed");
	n = ring_peek(&r, ring_tail(&r), &ptr, 100);
	ok(n > 0 && ptr[0] == 'd', "skipping ahead to the tail reads the newest history");

	/* A keep beyond head (a cursor already past what is there) is head. */
	is_int(ring_space(&r, r.head + 5, &w), ring_space(&r, r.head, &w),
	    "a keep past head counts as head");

	ring_free(&r);
	ok(r.buf == NULL && r.size == 0, "ring_free empties the ring");
	return tap_done();
}
