/*
 * slowcat: copy standard input to standard output at a bounded rate, in the
 * role of a console client's reader that cannot keep up (a slow terminal, a
 * slow network, a pager).
 *
 *   slowcat --rate BYTES_PER_SEC [--chunk BYTES]
 *
 * It never reads ahead of its schedule: after n bytes it does not read again
 * before n / rate seconds since the first byte arrived, so whatever writes
 * into it is held back by the pipe, as by a slow reader.  It ends at the end
 * of its input; a write error ends it with status 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Monotonic time in nanoseconds. */
static uint64_t slowcat_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Sleep until the monotonic clock reaches at (nanoseconds). */
static void slowcat_sleep_until(uint64_t at)
{
	struct timespec ts = { .tv_sec = (time_t)(at / 1000000000ULL),
	    .tv_nsec = (long)(at % 1000000000ULL) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Write all of buf, or fail. */
static int slowcat_write(const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(1, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "chunk", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned long long rate = 0, chunk = 0, total = 0;
	uint64_t start = 0;
	char *buf;
	ssize_t n;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': rate = strtoull(optarg, NULL, 10); break;
		case 'c': chunk = strtoull(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (rate == 0 || optind != argc) {
		fprintf(stderr, "usage: slowcat --rate BYTES_PER_SEC [--chunk BYTES]\n");
		return 2;
	}
	/* Fifty reads a second by default: smooth enough, cheap enough. */
	if (chunk == 0)
		chunk = rate / 50 ? rate / 50 : 1;
	if (chunk > 1024 * 1024)
		chunk = 1024 * 1024;
	buf = malloc(chunk);
	if (buf == NULL)
		return 1;
	for (;;) {
		if (total > 0)
			slowcat_sleep_until(start + total * 1000000000ULL / rate);
		n = read(0, buf, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (total == 0)
			start = slowcat_now();
		if (slowcat_write(buf, (size_t)n) < 0) {
			free(buf);
			return 1;
		}
		total += (unsigned long long)n;
	}
	free(buf);
	return n < 0 ? 1 : 0;
}
