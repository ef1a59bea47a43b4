/* util: allocations for the client. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "client/client.h"

/*
 * The client's allocation policy, as the daemon's: memory that cannot be had
 * ends the program with a message.  It exits rather than aborts, so that the
 * handler registered with atexit() gives the terminal back in cooked mode.
 */
static void util_oom(void)
{
	fputs("conbroker: out of memory\n", stderr);
	exit(EXIT_USAGE);
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

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
