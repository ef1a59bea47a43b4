/*
 * test-conf-common: what the conf unit tests share: where the fixtures are,
 * loading a domains directory, and reading the diagnostics back.
 *
 * The fixtures are found from this file's own path (CMake compiles with
 * absolute source paths), so a test runs from any directory; CONBROKER_TOP
 * overrides, and a relative __FILE__ falls back to the current directory,
 * which is the top of the tree when scripts/test runs prove.
 */
#ifndef CONBROKER_TEST_CONF_COMMON_H
#define CONBROKER_TEST_CONF_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "tests/tap.h"

static char tc_top[2048];
static char tc_path[4096];

/* The top of the source tree. */
__attribute__((unused))
static const char *tc_topdir(void)
{
	const char *env = getenv("CONBROKER_TOP"), *marker;
	size_t len;

	if (tc_top[0] != '\0')
		return tc_top;
	if (env != NULL && *env != '\0') {
		snprintf(tc_top, sizeof(tc_top), "%s", env);
		return tc_top;
	}
	marker = strstr(__FILE__, "tests/unit/");
	len = marker != NULL ? (size_t)(marker - __FILE__) : 0;
	if (len == 0)
		snprintf(tc_top, sizeof(tc_top), ".");
	else
		snprintf(tc_top, sizeof(tc_top), "%.*s", (int)(len - 1), __FILE__);
	return tc_top;
}

/* TOP/tests/fixtures/conf/REL (a static buffer, overwritten by the next call). */
__attribute__((unused))
static const char *tc_fixture(const char *rel)
{
	snprintf(tc_path, sizeof(tc_path), "%.2047s/tests/fixtures/conf/%.1000s",
	    tc_topdir(), rel);
	return tc_path;
}

/* Load a config that only names a domains directory. */
__attribute__((unused))
static int tc_load_dir(const char *dir, struct conf **out,
    struct conf_diags *diags)
{
	char xml[4200];

	snprintf(xml, sizeof(xml), "<conbroker><domains dir='%.4096s'/>"
	    "</conbroker>", dir);
	return conf_load_buffer("(test)", xml, strlen(xml), out, diags);
}

/* Load inline XML as a whole config. */
__attribute__((unused))
static int tc_load_xml(const char *xml, struct conf **out,
    struct conf_diags *diags)
{
	return conf_load_buffer("t.xml", xml, strlen(xml), out, diags);
}

/*
 * The diagnostics whose text starts with prefix, prefix removed, one per
 * line; a static buffer.  "" when there are none.
 */
__attribute__((unused))
static const char *tc_diags(const struct conf_diags *diags, const char *prefix)
{
	static char buf[16384];
	size_t i, len = strlen(prefix), used = 0;

	buf[0] = '\0';
	for (i = 0; i < diags->count; i++) {
		const char *t = diags->items[i].text;

		if (strncmp(t, prefix, len) != 0)
			continue;
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s",
		    used ? "\n" : "", t + len);
		if (used >= sizeof(buf))
			break;
	}
	return buf;
}

/* Whether a diagnostic has exactly this text. */
__attribute__((unused))
static int tc_has_diag(const struct conf_diags *diags, const char *text)
{
	size_t i;

	for (i = 0; i < diags->count; i++)
		if (strcmp(diags->items[i].text, text) == 0)
			return 1;
	return 0;
}

/* Print every diagnostic as a TAP comment, to see what a failure saw. */
__attribute__((unused))
static void tc_show(const struct conf_diags *diags)
{
	size_t i;

	for (i = 0; i < diags->count; i++)
		diag("%s", diags->items[i].text);
}

/* A domain that must exist; NULL (and a failed test) when it does not. */
__attribute__((unused))
static const struct conf_domain *tc_domain(const struct conf *conf,
    const char *name)
{
	const struct conf_domain *d = conf_find_domain(conf, name);

	if (d == NULL)
		ok(0, "domain %s is loaded", name);
	return d;
}

#endif
