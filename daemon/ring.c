/* ring: the history of a console, addressed by absolute byte offsets. */
#include <errno.h>
#include <stdlib.h>

#include "daemon/daemon.h"

/* Allocate the buffer; offsets start at zero. */
int ring_init(struct ring *r, size_t size)
{
	r->buf = malloc(size);
	if (r->buf == NULL)
		return -ENOMEM;
	r->size = size;
	r->head = 0;
	return 0;
}

void ring_free(struct ring *r)
{
	free(r->buf);
	r->buf = NULL;
	r->size = 0;
}

uint64_t ring_tail(const struct ring *r)
{
	return r->head > r->size ? r->head - r->size : 0;
}

/* Contiguous readable bytes at off; the caller has clamped off to the tail. */
size_t ring_peek(const struct ring *r, uint64_t off, const uint8_t **ptr, size_t max)
{
	size_t pos, n;

	if (off >= r->head)
		return 0;
	pos = (size_t)(off % r->size);
	n = (size_t)(r->head - off);
	if (n > r->size - pos)
		n = r->size - pos;
	if (n > max)
		n = max;
	*ptr = r->buf + pos;
	return n;
}

/*
 * Contiguous room at head that overwrites nothing at or after keep: keep is
 * the cursor of a lossless reader (the writer), or head when there is none.
 */
size_t ring_space(const struct ring *r, uint64_t keep, uint8_t **ptr)
{
	size_t pos, n, free_bytes;

	if (keep > r->head)
		keep = r->head;
	free_bytes = r->size - (size_t)(r->head - keep);
	pos = (size_t)(r->head % r->size);
	n = r->size - pos;
	if (n > free_bytes)
		n = free_bytes;
	*ptr = r->buf + pos;
	return n;
}

void ring_commit(struct ring *r, size_t n)
{
	r->head += n;
}
