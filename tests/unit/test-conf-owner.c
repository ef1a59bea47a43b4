/*
 * What proves a console's pty is its domain's: the <domstatus pid>, the
 * file's mtime, <cb:console owner-pid-file> and trust='path', the warnings
 * for ptys nothing proves, and how a change of owner shows in a reload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "conf/conf.h"
#include "tests/tap.h"
#include "tests/unit/test-conf-common.h"

#define NS "xmlns:cb='" CONF_NS "'"
#define SERIAL(path) "<serial type='pty'><source path='" path "'/>" \
	"<alias name='serial0'/></serial>"

/* A config of inline documents; NULL (and a failed test) when it does not load. */
static struct conf *load(const char *docs, struct conf_diags *diags)
{
	struct conf *conf = NULL;
	char xml[8192];

	snprintf(xml, sizeof(xml), "<conbroker>%s</conbroker>", docs);
	if (tc_load_xml(xml, &conf, diags) < 0)
		ok(0, "the test config loads");
	return conf;
}

static void test_owners(void)
{
	struct conf_diags diags = { 0 };
	const struct conf_domain *d;
	struct timespec before, after;
	struct conf *conf;

	clock_gettime(CLOCK_REALTIME, &before);
	conf = load(
	    "<domstatus state='running' pid='4242'><domain id='3'><name>live</name>"
	    "<uuid>00000000-0000-4000-8000-000000000001</uuid><devices>"
	    SERIAL("/dev/pts/3") "</devices></domain></domstatus>"
	    "<domain><name>inactive</name><uuid>00000000-0000-4000-8000-000000000002</uuid>"
	    "<devices>" SERIAL("/dev/pts/4") "</devices></domain>"
	    "<domain><name>pidfile</name><uuid>00000000-0000-4000-8000-000000000003</uuid>"
	    "<metadata><cb:consoles " NS "><cb:console alias='serial0' "
	    "owner-pid-file='/run/vm3.pid'/></cb:consoles></metadata>"
	    "<devices>" SERIAL("/dev/pts/5") "</devices></domain>"
	    "<domain><name>trusted</name><uuid>00000000-0000-4000-8000-000000000004</uuid>"
	    "<metadata><cb:consoles " NS "><cb:console alias='serial0' trust='path'/>"
	    "</cb:consoles></metadata>"
	    "<devices>" SERIAL("/dev/pts/6") "</devices></domain>"
	    "<domain><name>serialport</name><uuid>00000000-0000-4000-8000-000000000005</uuid>"
	    "<devices>" SERIAL("/dev/ttyS0") "</devices></domain>"
	    "<domain><name>spawned</name><uuid>00000000-0000-4000-8000-000000000006</uuid>"
	    "<metadata><cb:consoles " NS "><cb:console alias='sh'><cb:spawn>"
	    "<cb:arg>/bin/sh</cb:arg></cb:spawn></cb:console></cb:consoles></metadata>"
	    "</domain>", &diags);
	clock_gettime(CLOCK_REALTIME, &after);
	is_int(diags.count, 0, "the documents load without a diagnostic");
	tc_show(&diags);
	if (conf == NULL)
		return;

	if ((d = tc_domain(conf, "live")) != NULL) {
		is_int(d->pid, 4242, "a status file's pid is kept");
		is_int(conf_console_owner(d, &d->consoles[0]), CONF_OWNER_PROCESS,
		    "and owns the domain's ptys");
		ok(d->written.tv_sec >= before.tv_sec && d->written.tv_sec <= after.tv_sec,
		    "a document in memory was written by the time it was read");
	}
	if ((d = tc_domain(conf, "inactive")) != NULL) {
		is_int(d->pid, 0, "an inactive definition names no process");
		is_int(conf_console_owner(d, &d->consoles[0]), CONF_OWNER_NONE,
		    "so nothing proves its pty");
	}
	if ((d = tc_domain(conf, "pidfile")) != NULL) {
		is_int(conf_console_owner(d, &d->consoles[0]), CONF_OWNER_PID_FILE,
		    "owner-pid-file names the owner");
		is_str(d->consoles[0].owner_pid_file, "/run/vm3.pid", "and its path is kept");
	}
	if ((d = tc_domain(conf, "trusted")) != NULL)
		is_int(conf_console_owner(d, &d->consoles[0]), CONF_OWNER_TRUSTED,
		    "trust='path' takes the path on faith");
	if ((d = tc_domain(conf, "spawned")) != NULL)
		is_int(conf_console_owner(d, &d->consoles[0]), CONF_OWNER_SELF,
		    "a spawned console is the daemon's own");

	is_int(conf_check_policy(conf, &diags), 1, "conf_check_policy finds a pty nothing proves");
	is_int(diags.count, 1, "one: only the inactive definition's /dev/pts path");
	is_str(tc_diags(&diags, ""), "t.xml:1: warning: console 'serial0' of domain 'inactive':"
	    " nothing proves that /dev/pts/4 is still the domain's pty, so it will not be"
	    " opened (no <domstatus pid>; give <cb:console alias='serial0'> an"
	    " owner-pid-file, or trust='path')", "the warning names the console and the pty");
	conf_diags_free(&diags);
	conf_free(conf);
}

static void test_file_mtime(void)
{
	char dir[] = "/tmp/test-conf-owner.XXXXXX", path[128], cmd[256];
	struct conf_diags diags = { 0 };
	const struct conf_domain *d;
	struct conf *conf = NULL;
	struct stat st;
	FILE *f;

	if (!ok(mkdtemp(dir) != NULL, "a directory for a status file"))
		return;
	snprintf(path, sizeof(path), "%s/live.xml", dir);
	f = fopen(path, "w");
	if (f != NULL) {
		fputs("<domstatus state='running' pid='77'><domain id='1'><name>live</name>"
		    "<uuid>00000000-0000-4000-8000-000000000011</uuid><devices>"
		    SERIAL("/dev/pts/3") "</devices></domain></domstatus>\n", f);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "touch -d '2020-01-02 03:04:05' '%s'", path);
	if (system(cmd) != 0)
		diag("cannot touch %s", path);
	stat(path, &st);
	tc_load_dir(dir, &conf, &diags);
	if ((d = conf ? tc_domain(conf, "live") : NULL) != NULL)
		ok(d->written.tv_sec == st.st_mtim.tv_sec &&
		    d->written.tv_nsec == st.st_mtim.tv_nsec,
		    "a domain file's mtime is when it was written");
	conf_diags_free(&diags);
	conf_free(conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
}

static void test_bad(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf;

	conf = load("<domstatus pid='qemu'><domain><name>odd</name>"
	    "<uuid>00000000-0000-4000-8000-000000000021</uuid><devices>"
	    SERIAL("/dev/pts/3") "</devices></domain></domstatus>", &diags);
	is_str(tc_diags(&diags, ""), "t.xml:1: warning: <domstatus> pid 'qemu' is not a"
	    " process id; its ptys have no known owner", "a pid that is no number: a warning");
	if (conf != NULL && conf->ndomains == 1) {
		is_int(conf->domains[0].pid, 0, "and no owner");
		is_int(conf_console_owner(&conf->domains[0], &conf->domains[0].consoles[0]),
		    CONF_OWNER_NONE, "so nothing proves its pty");
	}
	conf_diags_free(&diags);
	conf_free(conf);

	conf = load("<domain><name>s</name><uuid>00000000-0000-4000-8000-000000000022</uuid>"
	    "<metadata><cb:consoles " NS "><cb:console alias='sh' trust='path'><cb:spawn>"
	    "<cb:arg>/bin/sh</cb:arg></cb:spawn></cb:console></cb:consoles></metadata>"
	    "</domain>", &diags);
	is_str(tc_diags(&diags, ""), "t.xml:1: a spawned console is the daemon's own:"
	    " owner-pid-file and trust do not apply", "an owner for a spawned console: an error");
	is_int(conf ? (int)conf->ndomains : -1, 0, "and the domain is skipped");
	conf_diags_free(&diags);
	conf_free(conf);
}

/* The same console with another owner is a changed console on reload. */
static void test_diff(void)
{
	struct conf_diags diags = { 0 };
	struct conf *a, *b, *c;
	struct conf_diff diff = { 0 };

#define OWNED(attr) "<domain><name>w</name><uuid>00000000-0000-4000-8000-000000000031</uuid>" \
	"<metadata><cb:consoles " NS "><cb:console alias='serial0' " attr "/>" \
	"</cb:consoles></metadata><devices>" SERIAL("/dev/pts/3") "</devices></domain>"
	a = load(OWNED("owner-pid-file='/run/a.pid'"), &diags);
	b = load(OWNED("owner-pid-file='/run/b.pid'"), &diags);
	c = load(OWNED("trust='path'"), &diags);
	is_int(diags.count, 0, "three owners load cleanly");
	if (a && b && conf_diff(a, b, &diff) == 0 && diff.count == 1)
		is_int(diff.entries[0].change, CONF_CHANGED, "another pid file: changed");
	conf_diff_free(&diff);
	if (b && c && conf_diff(b, c, &diff) == 0 && diff.count == 1)
		is_int(diff.entries[0].change, CONF_CHANGED, "a pid file, then trust: changed");
	conf_diff_free(&diff);
	if (c && conf_diff(c, c, &diff) == 0 && diff.count == 1)
		is_int(diff.entries[0].change, CONF_UNCHANGED, "the same owner: unchanged");
	conf_diff_free(&diff);
	conf_free(a);
	conf_free(b);
	conf_free(c);
	conf_diags_free(&diags);
#undef OWNED
}

int main(void)
{
	test_owners();
	test_file_mtime();
	test_bad();
	test_diff();
	return tap_done();
}
