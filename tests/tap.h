/*
 * tap: the smallest Test Anything Protocol producer for the C unit tests.
 *
 * Each test program includes this header once, calls ok()/is_int()/is_str()
 * and ends with `return tap_done();`, which prints the plan and makes the exit
 * status non-zero when anything failed, as prove expects.
 */
#ifndef CONBROKER_TAP_H
#define CONBROKER_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count;
static int tap_failures;

__attribute__((format(printf, 4, 5), unused))
static int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failures++;
		printf("#   Failed test at %s line %d.\n", file, line);
	}
	fflush(stdout);
	return pass;
}

__attribute__((format(printf, 1, 2), unused))
static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...) do {					\
	long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);	\
	if (!tap_ok(tap_g_ == tap_w_, __FILE__, __LINE__, __VA_ARGS__))	\
		diag("     got: %lld\n#     expected: %lld", tap_g_, tap_w_);	\
} while (0)

#define is_str(got, want, ...) do {					\
	const char *tap_g_ = (got), *tap_w_ = (want);			\
	int tap_p_ = (tap_g_ && tap_w_) ? strcmp(tap_g_, tap_w_) == 0	\
	    : tap_g_ == tap_w_;						\
	if (!tap_ok(tap_p_, __FILE__, __LINE__, __VA_ARGS__))		\
		diag("     got: '%s'\n#     expected: '%s'",			\
		    tap_g_ ? tap_g_ : "(null)", tap_w_ ? tap_w_ : "(null)");	\
} while (0)

/* Print the plan (at the end, as TAP allows) and return the exit status. */
__attribute__((unused))
static int tap_done(void)
{
	printf("1..%d\n", tap_count);
	fflush(stdout);
	return tap_failures ? 1 : 0;
}

#endif
