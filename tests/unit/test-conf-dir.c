/*
 * test-conf-dir: a domains directory as people and libvirt leave it: editor
 * backups, swap files, notes, pid files, links, sockets, FIFOs; and the same
 * result, in the same order, however many threads parse it.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/unit/test-conf-common.h"

/* Only *.xml regular files (or links to them) are read; backups never. */
static void test_messy(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char dir[4096];
	int rc;

	snprintf(dir, sizeof(dir), "%s", tc_fixture("messy"));
	rc = tc_load_dir(dir, &conf, &diags);
	is_int(rc, 0, "a messy directory loads");
	is_str(tc_diags(&diags, dir), "/diagram.xml:1: Start tag expected, '<' "
	    "not found", "only the non-XML *.xml file is reported");
	ok(conf && conf->ndomains == 2, "good.xml and the link are read, no "
	    "backup (which would be a duplicate)");
	ok(conf && conf_find_domain(conf, "good") != NULL, "good.xml");
	ok(conf && conf_find_domain(conf, "inner") != NULL &&
	    strstr(conf_find_domain(conf, "inner")->file, "/link.xml"),
	    "a link to a file in a subdirectory is followed, named as the link");
	conf_free(conf);
	conf_diags_free(&diags);
}

/* Sockets, FIFOs, directories and links to devices are never opened. */
static void test_special(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char tmpl[] = "/tmp/conbroker-conf.XXXXXX", path[600], cmd[700];
	int s;

	if (mkdtemp(tmpl) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/fifo.xml", tmpl);
	ok(mkfifo(path, 0600) == 0, "a FIFO named *.xml");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/sock.xml", tmpl);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	ok(s >= 0 && bind(s, (struct sockaddr *)&sun, sizeof(sun)) == 0,
	    "a socket named *.xml");
	snprintf(path, sizeof(path), "%s/dir.xml", tmpl);
	ok(mkdir(path, 0700) == 0, "a directory named *.xml");
	snprintf(path, sizeof(path), "%s/null.xml", tmpl);
	ok(symlink("/dev/null", path) == 0, "a link to a device named *.xml");
	snprintf(path, sizeof(path), "%s/zero.xml", tmpl);
	ok(symlink("/dev/zero", path) == 0, "a link to an endless device");
	snprintf(path, sizeof(path), "%s/dangling.xml", tmpl);
	ok(symlink("nowhere.xml", path) == 0, "a dangling link");
	tc_load_dir(tmpl, &conf, &diags);
	snprintf(path, sizeof(path), "%s/", tmpl);
	is_str(tc_diags(&diags, path), "dangling.xml: cannot open: No such file "
	    "or directory", "only the dangling link is reported");
	ok(conf && conf->ndomains == 0, "nothing is loaded, nothing blocks");
	conf_free(conf);
	conf_diags_free(&diags);
	close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	ok(system(cmd) == 0, "clean up");
}

/* Write n domain files; every seventh reuses a name, every eleventh is bad. */
static int write_domains(const char *dir, int n)
{
	char path[600];
	FILE *f;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/d%04d.xml", dir, i);
		f = fopen(path, "w");
		if (f == NULL)
			return -1;
		fprintf(f, "<domain type='kvm'>\n  <name>vm%d</name>\n  <uuid>%s"
		    "%08x-0000-4000-8000-000000000000</uuid>\n  <devices>\n"
		    "    <serial type='pty'>\n      <source path='/dev/pts/%d'/>\n"
		    "      <target port='0'/>\n    </serial>\n  </devices>\n"
		    "</domain>\n", i % 7 == 6 ? i - 1 : i, i % 11 == 10 ? "x" : "",
		    i, i);
		fclose(f);
	}
	return 0;
}

/* Load dir with CONBROKER_CONF_THREADS=threads; a summary of everything. */
static char *load_summary(const char *dir, const char *threads)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	size_t i, len = 0, cap = 1 << 20;
	char *out = malloc(cap);

	setenv("CONBROKER_CONF_THREADS", threads, 1);
	tc_load_dir(dir, &conf, &diags);
	unsetenv("CONBROKER_CONF_THREADS");
	if (out == NULL)
		return NULL;
	out[0] = '\0';
	for (i = 0; i < diags.count && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s\n",
		    diags.items[i].text);
	for (i = 0; conf && i < conf->ndomains && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s %s %s %s\n",
		    conf->domains[i].name, conf->domains[i].uuid_str,
		    conf->domains[i].file, conf->domains[i].consoles[0].pty_path);
	conf_free(conf);
	conf_diags_free(&diags);
	return out;
}

/* Parsing on several threads changes nothing a user could see. */
static void test_threads(void)
{
	char tmpl[] = "/tmp/conbroker-conf.XXXXXX", cmd[600];
	char *one, *two, *four;

	if (mkdtemp(tmpl) == NULL || write_domains(tmpl, 500) < 0) {
		ok(0, "write 500 domain files");
		return;
	}
	one = load_summary(tmpl, "1");
	two = load_summary(tmpl, "2");
	four = load_summary(tmpl, "4");
	ok(one && strstr(one, "/d0006.xml:2: duplicate domain name 'vm5' "
	    "(first defined at ") != NULL, "duplicates are found");
	ok(one && strstr(one, "/d0010.xml:3: invalid UUID 'x0000000a-") != NULL,
	    "broken files are reported");
	ok(one && two && strcmp(one, two) == 0,
	    "two threads: the same diagnostics and registry, in the same order");
	ok(one && four && strcmp(one, four) == 0, "four threads: the same");
	free(one);
	free(two);
	free(four);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	ok(system(cmd) == 0, "clean up");
}

int main(void)
{
	test_messy();
	test_special();
	test_threads();
	return tap_done();
}
