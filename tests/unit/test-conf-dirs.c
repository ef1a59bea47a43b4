/*
 * Several <domains dir>: each is read in the file's order, the same one
 * twice is an error naming both lines, a domain in two of them is kept from
 * the first, and a missing one is a warning that leaves the others.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/conf.h"
#include "tests/tap.h"
#include "tests/unit/test-conf-common.h"

static char top[] = "/tmp/test-conf-dirs.XXXXXX";

/* A domain file NAME.xml with a UUID ending in n, in directory dir. */
static void domain(const char *dir, const char *name, int n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top, dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s.xml", top, dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		return;
	fprintf(f, "<domain><name>%s</name><uuid>00000000-0000-4000-8000-%012d</uuid>"
	    "<devices><serial type='pty'/></devices></domain>\n", name, n);
	fclose(f);
}

/* Load a config of the given children; the config file is top/c.xml. */
static struct conf *load(const char *children, struct conf_diags *diags)
{
	char path[512];
	struct conf *conf = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/c.xml", top);
	f = fopen(path, "w");
	if (f == NULL)
		return NULL;
	fprintf(f, "<conbroker>\n%s\n</conbroker>\n", children);
	fclose(f);
	conf_load(path, &conf, diags);
	return conf;
}

int main(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf;
	char want[1024], cmd[600];

	if (mkdtemp(top) == NULL) {
		printf("1..0 # SKIP no temporary directory\n");
		return 0;
	}
	domain("qemu", "web01", 1);
	domain("lxc", "ct01", 2);
	domain("lxc", "web01", 3);

	conf = load("<domains dir='qemu'/>\n<domains dir='lxc'/>\n<domains dir='ch'/>", &diags);
	ok(conf != NULL, "a config with three domains directories loads");
	if (conf != NULL) {
		is_int(conf->ndomains_dirs, 3, "every directory is kept");
		snprintf(want, sizeof(want), "%s/lxc", top);
		is_str(conf->ndomains_dirs > 1 ? conf->domains_dirs[1] : NULL, want,
		    "relative to the config file, in the file's order");
		is_int(conf->ndomains, 2, "the domains of both existing directories load");
		ok(conf_find_domain(conf, "ct01") != NULL, "the second directory's domain");
		ok(conf_find_domain(conf, "web01") != NULL &&
		    strcmp(conf_find_domain(conf, "web01")->uuid_str,
		    "00000000-0000-4000-8000-000000000001") == 0,
		    "a name in two directories is kept from the first");
		snprintf(want, sizeof(want), "%s/c.xml:4: warning: domains directory "
		    "'%s/ch': No such file or directory", top, top);
		ok(tc_has_diag(&diags, want), "a missing directory is a warning");
		is_int(diags.errors, 1, "and the duplicate domain name is the one error");
	}
	tc_show(&diags);
	conf_free(conf);
	conf_diags_free(&diags);

	conf = load("<domains dir='qemu'/>\n<domains dir='lxc'/>\n<domains dir='qemu'/>", &diags);
	ok(conf == NULL, "the same directory twice makes the config unusable");
	snprintf(want, sizeof(want), "%s/c.xml:4: duplicate domains directory '%s/qemu'"
	    " (also at line 2)", top, top);
	ok(tc_has_diag(&diags, want), "and the error names both lines");
	conf_free(conf);
	conf_diags_free(&diags);

	conf = load("<domains dir='qemu'/>\n<domains dir='lxc' follow='no'/>", &diags);
	ok(conf != NULL && conf->ndomains_dirs == 2 && conf->domains_follow[0] &&
	    !conf->domains_follow[1], "a directory is followed unless follow='no'");
	conf_free(conf);
	conf_diags_free(&diags);
	conf = load("<domains dir='qemu' follow='sometimes'/>", &diags);
	snprintf(want, sizeof(want), "%s/c.xml:2: invalid follow 'sometimes' (expected"
	    " 'yes' or 'no')", top);
	ok(conf == NULL && tc_has_diag(&diags, want), "follow is 'yes' or 'no'");
	conf_free(conf);
	conf_diags_free(&diags);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		diag("cannot remove %s", top);
	return tap_done();
}
