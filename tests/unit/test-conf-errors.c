/*
 * test-conf-errors: every broken domain file gives its exact FILE:LINE
 * message, is skipped, and costs the others nothing; duplicates name both
 * files; hostile XML (external entities, entity bombs, oversize files) is
 * refused before it can do harm.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/test-conf-common.h"

/* Each broken fixture and all it must say, "PATH:" removed from each line. */
static const struct {
	const char *file, *diags;
} bad[] = {
	{ "bad-capture.xml", "6: invalid capture 'sometimes' (expected "
	  "'always' or 'attached')" },
	{ "bad-uuid.xml", "3: invalid UUID "
	  "'6b1c2d3e-4f50-4617-a8b9-cadbecfd0e1' (expected 32 hexadecimal "
	  "digits, dashes allowed, as in 8f3a6c2e-1b7d-4e95-a0c4-5d6e7f809a1b)" },
	{ "cb-unknown.xml", "6: unknown attribute 'captrue' on <cb:console>\n"
	  "7: unknown element <cb:consol> in <cb:consoles>" },
	{ "dotdot-pty.xml", "10: pty path '/dev/../etc/shadow' has a '..' "
	  "component" },
	{ "dup-alias.xml", "15: duplicate alias 'serial0' (also at line 10)" },
	{ "empty-domstatus.xml", "1: <domstatus> has no <domain>" },
	{ "empty.xml", " empty file" },
	{ "name-slash.xml", "2: domain name 'web/01' contains '/' or a "
	  "control character" },
	{ "no-name.xml", "1: <domain> has no <name>" },
	{ "no-uuid.xml", "1: <domain> has no <uuid>" },
	{ "not-xml.xml", "1: Start tag expected, '<' not found" },
	{ "ns-undeclared.xml", "5: Namespace prefix cb on consoles is not "
	  "defined\n6: Namespace prefix cb on console is not defined" },
	{ "outside-dev.xml", "10: pty path '/tmp/evil-pty' is not an absolute "
	  "path under /dev" },
	{ "relative-pty.xml", "10: pty path 'pts/3' is not an absolute path "
	  "under /dev" },
	{ "spawn-relative.xml", "7: spawn command 'sh' is not an absolute "
	  "path" },
	{ "spawn-tcp.xml", "6: console 'serial0' has type 'tcp'; only a pty "
	  "console can be spawned" },
	{ "truncated.xml", "7: Opening and ending tag mismatch: serial line 5 "
	  "and devices\n8: Opening and ending tag mismatch: devices line 4 and "
	  "domain\n9: Premature end of data in tag domain line 1" },
	{ "unknown-alias.xml", "6: no <console> or <serial> with alias "
	  "'serial7'" },
	{ "wrong-root.xml", "1: root element is <network>, expected <domain> "
	  "or <domstatus>" },
};

/* The broken fixtures: each its message, none loaded, the config usable. */
static void test_bad_files(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char dir[4096], prefix[4200];
	size_t i, lines = 0, n = sizeof(bad) / sizeof(bad[0]);
	const char *p;
	int rc;

	snprintf(dir, sizeof(dir), "%s", tc_fixture("bad"));
	rc = tc_load_dir(dir, &conf, &diags);
	is_int(rc, 0, "broken domain files do not make the config unusable");
	ok(conf != NULL && conf->ndomains == 0, "and none of them is loaded");
	for (i = 0; i < n; i++) {
		snprintf(prefix, sizeof(prefix), "%s/%s:", dir, bad[i].file);
		is_str(tc_diags(&diags, prefix), bad[i].diags,
		    "%s: exact diagnostics", bad[i].file);
		for (p = bad[i].diags, lines++; (p = strchr(p, '\n')); p++)
			lines++;
	}
	is_int(diags.count, lines, "nothing else was reported");
	is_int(diags.errors, lines, "every one an error");
	conf_free(conf);
	conf_diags_free(&diags);
}

/* A broken file next to good ones: only it is skipped. */
static void test_broken_among_good(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char tmpl[] = "/tmp/conbroker-conf.XXXXXX", cmd[512];
	const char *good = tc_fixture("domains/db01.xml");
	char path[600];
	FILE *f;

	if (mkdtemp(tmpl) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/a.xml", tmpl);
	f = fopen(path, "w");
	fputs("<domain><name>a</name><uuid>nope</uuid></domain>\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/b.xml'", good, tmpl);
	ok(system(cmd) == 0, "copy a good domain beside a broken one");
	tc_load_dir(tmpl, &conf, &diags);
	ok(conf && conf->ndomains == 1 && strcmp(conf->domains[0].name,
	    "db01") == 0, "the good file still loads");
	snprintf(path, sizeof(path), "%s/a.xml:1: invalid UUID 'nope' (expected 32"
	    " hexadecimal digits, dashes allowed, as in"
	    " 8f3a6c2e-1b7d-4e95-a0c4-5d6e7f809a1b)", tmpl);
	ok(tc_has_diag(&diags, path), "the broken one is reported");
	conf_free(conf);
	conf_diags_free(&diags);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	ok(system(cmd) == 0, "clean up");
}

/* Duplicate names and UUIDs across files name both files and lines. */
static void test_duplicates(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char dir[4096], want[9000];

	snprintf(dir, sizeof(dir), "%s", tc_fixture("dups"));
	tc_load_dir(dir, &conf, &diags);
	ok(conf && conf->ndomains == 1, "only the first of the duplicates loads");
	ok(conf && conf->ndomains == 1 && strstr(conf->domains[0].file,
	    "/a-web.xml"), "the first in name order wins");
	snprintf(want, sizeof(want), "%s/b-web.xml:2: duplicate domain name "
	    "'web' (first defined at %s/a-web.xml:2)", dir, dir);
	ok(tc_has_diag(&diags, want), "duplicate name names both files");
	snprintf(want, sizeof(want), "%s/c-other.xml:4: duplicate UUID "
	    "aaaaaaaa-1111-4222-8333-444444444444 (first defined at "
	    "%s/a-web.xml:3 by domain 'web')", dir, dir);
	ok(tc_has_diag(&diags, want),
	    "duplicate UUID (spelt differently) names both files");
	if (!ok(diags.count == 2, "two diagnostics"))
		tc_show(&diags);
	conf_free(conf);
	conf_diags_free(&diags);

	/* Inline and directory domains share one name space. */
	snprintf(want, sizeof(want), "<conbroker>\n<domains dir='%s'/>\n"
	    "<domain><name>web</name>\n<uuid>cccccccc-1111-4222-8333-"
	    "444444444444</uuid></domain>\n</conbroker>\n", dir);
	tc_load_xml(want, &conf, &diags);
	snprintf(want, sizeof(want), "%s/a-web.xml:2: duplicate domain name "
	    "'web' (first defined at t.xml:3)", dir);
	ok(tc_has_diag(&diags, want), "an inline domain comes first");
	conf_free(conf);
	conf_diags_free(&diags);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* XXE, entity bombs, external DTDs, undeclared entities. */
static void test_hostile(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char dir[4096], want[4400];
	double t0;
	size_t i;

	snprintf(dir, sizeof(dir), "%s", tc_fixture("hostile"));
	t0 = now();
	tc_load_dir(dir, &conf, &diags);
	ok(now() - t0 < 1.0, "hostile files are dealt with quickly (%.3f s)",
	    now() - t0);
	snprintf(want, sizeof(want), "%s/xxe.xml:2: document type declaration "
	    "with an internal subset refused (entities are not allowed)", dir);
	ok(tc_has_diag(&diags, want), "XXE: refused at the DOCTYPE");
	snprintf(want, sizeof(want), "%s/laughs.xml:2: document type "
	    "declaration with an internal subset refused (entities are not "
	    "allowed)", dir);
	ok(tc_has_diag(&diags, want), "billion laughs: refused at the DOCTYPE");
	snprintf(want, sizeof(want), "%s/undeclared.xml:2: Entity 'passwd' not "
	    "defined", dir);
	ok(tc_has_diag(&diags, want), "an undeclared entity is an error");
	if (!ok(diags.count == 3, "nothing else reported"))
		tc_show(&diags);
	for (i = 0; i < diags.count; i++)
		ok(strstr(diags.items[i].text, "root:") == NULL,
		    "no trace of /etc/passwd in: %s", diags.items[i].text);
	ok(conf && conf->ndomains == 1 && strcmp(conf->domains[0].name,
	    "extdtd") == 0, "an external DTD is neither fetched nor fatal");
	conf_free(conf);
	conf_diags_free(&diags);
}

/* Deep nesting and floods of errors cost little and say enough. */
static void test_floods(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	size_t depth = 20000, len = 0, i;
	char *xml = malloc(depth * 7 + 64);
	char want[200];
	double t0 = now();

	if (xml == NULL)
		return;
	len += (size_t)sprintf(xml, "<conbroker>");
	for (i = 0; i < depth; i++)
		len += (size_t)sprintf(xml + len, "<a>");
	for (i = 0; i < depth; i++)
		len += (size_t)sprintf(xml + len, "</a>");
	len += (size_t)sprintf(xml + len, "</conbroker>");
	is_int(conf_load_buffer("deep.xml", xml, len, &conf, &diags), -EINVAL,
	    "20000 nested elements: refused");
	is_str(tc_diags(&diags, ""), "deep.xml:1: Excessive depth in document: "
	    "256 use XML_PARSE_HUGE option", "by libxml2's depth limit");
	conf_diags_free(&diags);

	len = (size_t)sprintf(xml, "<conbroker><domain><name>x</name><uuid>"
	    "11111111-2222-4333-8444-555555555555</uuid><metadata>");
	for (i = 0; i < 50; i++)
		len += (size_t)sprintf(xml + len, "\n<cb:x/>");
	len += (size_t)sprintf(xml + len, "</metadata></domain></conbroker>");
	is_int(conf_load_buffer("flood.xml", xml, len, &conf, &diags), -EINVAL,
	    "a config that is not namespace-well-formed is unusable");
	is_int(diags.errors, 50, "fifty namespace errors are counted");
	is_int(diags.count, 11, "ten are shown, and a note");
	snprintf(want, sizeof(want), "flood.xml:12: too many errors; the rest "
	    "of this file's are not shown");
	ok(diags.count == 11 && strcmp(diags.items[10].text, want) == 0,
	    "the note says the rest are not shown");
	ok(now() - t0 < 1.0, "all quickly");
	conf_free(conf);
	conf_diags_free(&diags);
	free(xml);
}

/*
 * The DOCTYPE check looks at the parser's input, which libxml2 reads in
 * chunks: put the internal subset across every chunk boundary near 4 KiB.
 */
static void test_hostile_chunks(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char xml[9000];
	int pad, refused = 0, leaked = 0;
	size_t len;

	for (pad = 3950; pad < 4100; pad++) {
		len = (size_t)snprintf(xml, sizeof(xml), "<!--%*s-->\n<!DOCTYPE "
		    "domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>\n"
		    "<conbroker><domain><name>&x;</name><uuid>11111111-2222-"
		    "4333-8444-555555555555</uuid></domain></conbroker>\n",
		    pad, "");
		conf_load_buffer("chunk.xml", xml, len, &conf, &diags);
		refused += conf == NULL && diags.errors > 0;
		leaked += conf != NULL;
		conf_free(conf);
		conf_diags_free(&diags);
	}
	is_int(refused, 150, "an internal subset is refused wherever it falls");
	is_int(leaked, 0, "and never loaded");
}

/* A file over the cap is refused before it is read; one at the cap loads. */
static void test_size_cap(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char tmpl[] = "/tmp/conbroker-conf.XXXXXX", path[600], want[700];
	static const char head[] = "<domain><name>big</name><uuid>"
	    "11111111-2222-4333-8444-555555555555</uuid>\n<!--";
	static const char tail[] = "-->\n</domain>\n";
	size_t cap = 4u * 1024 * 1024, fill;
	char *buf;
	int fd;

	if (mkdtemp(tmpl) == NULL || (buf = malloc(cap)) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	fill = cap - strlen(head) - strlen(tail);
	memcpy(buf, head, strlen(head));
	memset(buf + strlen(head), 'x', fill);
	memcpy(buf + strlen(head) + fill, tail, strlen(tail));
	snprintf(path, sizeof(path), "%s/at-cap.xml", tmpl);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && write(fd, buf, cap) == (ssize_t)cap, "write a 4 MiB file");
	close(fd);
	snprintf(path, sizeof(path), "%s/over-cap.xml", tmpl);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && ftruncate(fd, (off_t)cap + 1) == 0,
	    "make a (sparse) file one byte over");
	close(fd);
	tc_load_dir(tmpl, &conf, &diags);
	snprintf(want, sizeof(want), "%s/over-cap.xml: file too large (4194305 "
	    "bytes, limit 4194304)", tmpl);
	ok(tc_has_diag(&diags, want), "over the cap: refused");
	if (!ok(diags.count == 1, "the other is fine"))
		tc_show(&diags);
	ok(conf && conf->ndomains == 1, "a file of exactly 4 MiB loads");
	conf_free(conf);
	conf_diags_free(&diags);

	is_int(conf_load_buffer("mem.xml", buf, cap + 0, &conf, &diags), -EINVAL,
	    "a 4 MiB buffer that is no config");
	conf_free(conf);
	conf_diags_free(&diags);
	unlink(path);
	snprintf(path, sizeof(path), "%s/at-cap.xml", tmpl);
	unlink(path);
	rmdir(tmpl);
	free(buf);
}

int main(void)
{
	test_bad_files();
	test_broken_among_good();
	test_duplicates();
	test_hostile();
	test_hostile_chunks();
	test_floods();
	test_size_cap();
	return tap_done();
}
