/* util: small helpers shared by the daemon's files. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"

/* Out of memory in a daemon that holds devices: say so and stop. */
static void util_oom(void)
{
	fputs("conbrokerd: out of memory\n", stderr);
	abort();
}

/*
 * The daemon's allocation policy: bookkeeping (objects, write requests,
 * index tables) comes from these wrappers, which stop the daemon with a
 * message when memory runs out, since no caller can do anything useful with
 * half an object.  The one allocation sized by the configuration, a
 * console's history ring, is checked instead and refuses the OPEN.
 */
void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		util_oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		util_oom();
	return p;
}

void *xreallocarray(void *old, size_t n, size_t size)
{
	size_t total;
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		util_oom();
	total = n * size;
	p = realloc(old, total != 0 ? total : 1);
	if (p == NULL)
		util_oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (d == NULL)
		util_oom();
	return d;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		util_oom();
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A wall-clock time for messages, in UTC so it reads the same everywhere. */
void format_since(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}
