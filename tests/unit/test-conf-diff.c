/*
 * test-conf-diff: what a reload changes, console by console, for every kind
 * of change a domain goes through: started, stopped, redefined, renamed,
 * consoles added and removed, conbroker's settings edited.
 */
#include "tests/unit/test-conf-common.h"

#define UA "aaaaaaaa-0000-4000-8000-000000000001"
#define UB "bbbbbbbb-0000-4000-8000-000000000002"

/* A serial pty (path or none, "" for none) as libvirt writes it live. */
#define SERIAL(alias, path) \
	"<serial type='pty'>" path "<target port='0'/><alias name='" alias \
	"'/></serial>"
#define PATH(p) "<source path='" p "'/>"
#define VIRTIO(alias, path) \
	"<console type='pty'>" path "<target type='virtio'/><alias name='" \
	alias "'/></console>"
#define TCP(alias) \
	"<serial type='tcp'><source mode='bind' host='127.0.0.1' " \
	"service='4555'/><target port='1'/><alias name='" alias "'/></serial>"
#define META(x) "<metadata><cb:consoles xmlns:cb='" CONF_NS "'>" x \
	"</cb:consoles></metadata>"
#define DOMAIN(name, uuid, meta, devices) \
	"<domain><name>" name "</name><uuid>" uuid "</uuid>" meta \
	"<devices>" devices "</devices></domain>"

static struct conf *load(const char *domains)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char xml[8192];

	snprintf(xml, sizeof(xml), "<conbroker>%s</conbroker>", domains);
	if (tc_load_xml(xml, &conf, &diags) < 0 || diags.count > 0) {
		ok(0, "the test config loads cleanly");
		tc_show(&diags);
	}
	conf_diags_free(&diags);
	return conf;
}

/* "change domain/alias" per entry, one a line, in the diff's order. */
static const char *summary(const struct conf_diff *diff)
{
	static char buf[4096];
	const struct conf_diff_entry *e;
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < diff->count && len < sizeof(buf); i++) {
		e = &diff->entries[i];
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s %s/%s",
		    i ? "\n" : "", conf_change_name(e->change),
		    e->new_domain ? e->new_domain->name : e->old_domain->name,
		    e->new_console ? e->new_console->alias :
		    e->old_console->alias);
	}
	return buf;
}

/* Diff two configs of inline domains and compare the summary. */
static void check(const char *old_xml, const char *new_xml, const char *want,
    const char *name)
{
	struct conf *old = load(old_xml), *new_conf = load(new_xml);
	struct conf_diff diff = { 0 };

	is_int(conf_diff(old, new_conf, &diff), 0, "%s: diff", name);
	is_str(summary(&diff), want, "%s", name);
	conf_diff_free(&diff);
	conf_free(old);
	conf_free(new_conf);
}

static const char base[] =
	DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))
	    VIRTIO("console1", PATH("/dev/pts/2")) TCP("serial1"))
	DOMAIN("b", UB, META("<cb:console alias='console0' capture='always'>"
	    "<cb:spawn><cb:arg>/bin/sh</cb:arg><cb:arg>-i</cb:arg></cb:spawn>"
	    "</cb:console>"), "");

/* Nothing changed: every console unchanged, pointers into both registries. */
static void test_unchanged(void)
{
	struct conf *old = load(base), *new_conf = load(base);
	struct conf_diff diff = { 0 };
	size_t i;
	int right = 1;

	is_int(conf_diff(old, new_conf, &diff), 0, "identical: diff");
	is_str(summary(&diff), "unchanged a/serial0\nunchanged a/console1\n"
	    "unchanged a/serial1\nunchanged b/console0", "identical: unchanged");
	for (i = 0; i < diff.count; i++) {
		const struct conf_diff_entry *e = &diff.entries[i];

		right &= e->old_domain >= old->domains &&
		    e->old_domain < old->domains + old->ndomains &&
		    e->new_domain >= new_conf->domains &&
		    e->new_domain < new_conf->domains + new_conf->ndomains &&
		    e->old_console >= e->old_domain->consoles &&
		    e->old_console < e->old_domain->consoles +
		    e->old_domain->nconsoles &&
		    strcmp(e->old_console->alias, e->new_console->alias) == 0;
	}
	ok(right, "each entry points at its console in each registry");
	conf_diff_free(&diff);
	conf_free(old);
	conf_free(new_conf);
}

static void test_changes(void)
{
	/* A restart may hand out the same /dev/pts number: libvirt's domain id
	 * and QEMU pid tell the runs apart. */
	check("<domain id='7'><name>a</name><uuid>" UA "</uuid><devices>"
	    SERIAL("serial0", PATH("/dev/pts/1")) "</devices></domain>",
	    "<domain id='8'><name>a</name><uuid>" UA "</uuid><devices>"
	    SERIAL("serial0", PATH("/dev/pts/1")) "</devices></domain>",
	    "changed a/serial0", "a new domain id on the same pty path: changed");
	check("<domstatus pid='100'><domain id='7'><name>a</name><uuid>" UA
	    "</uuid><devices>" SERIAL("serial0", PATH("/dev/pts/1"))
	    "</devices></domain></domstatus>",
	    "<domstatus pid='200'><domain id='7'><name>a</name><uuid>" UA
	    "</uuid><devices>" SERIAL("serial0", PATH("/dev/pts/1"))
	    "</devices></domain></domstatus>",
	    "changed a/serial0", "a new QEMU pid on the same pty path: changed");
	check("<domstatus pid='100'><domain id='7'><name>a</name><uuid>" UA
	    "</uuid><devices>" SERIAL("serial0", PATH("/dev/pts/1"))
	    "</devices></domain></domstatus>",
	    "<domstatus pid='100'><domain id='7'><name>a</name><uuid>" UA
	    "</uuid><devices>" SERIAL("serial0", PATH("/dev/pts/1"))
	    "</devices></domain></domstatus>",
	    "unchanged a/serial0", "the same run rewritten: unchanged");

	check(base, DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/9"))
	    VIRTIO("console1", PATH("/dev/pts/2")) TCP("serial1"))
	    DOMAIN("b", UB, META("<cb:console alias='console0' capture='always'>"
	    "<cb:spawn><cb:arg>/bin/sh</cb:arg><cb:arg>-i</cb:arg></cb:spawn>"
	    "</cb:console>"), ""),
	    "changed a/serial0\nunchanged a/console1\nunchanged a/serial1\n"
	    "unchanged b/console0", "a new pty path: changed");

	check(DOMAIN("a", UA, "", SERIAL("serial0", "")),
	    DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))),
	    "changed a/serial0", "the domain started (a pty assigned): changed");

	check(DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))),
	    DOMAIN("a", UA, "", SERIAL("serial0", "")),
	    "changed a/serial0", "the domain stopped (no pty): changed");

	check(DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))),
	    DOMAIN("a", UA, "", TCP("serial0")),
	    "changed a/serial0", "pty became tcp: changed");

	check(DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))),
	    DOMAIN("a", UA, META("<cb:console alias='serial0' "
	    "capture='always'/>"), SERIAL("serial0", PATH("/dev/pts/1"))),
	    "changed a/serial0", "capture attached to always: changed");

	check(DOMAIN("b", UB, META("<cb:console alias='console0'><cb:spawn>"
	    "<cb:arg>/bin/sh</cb:arg></cb:spawn></cb:console>"), ""),
	    DOMAIN("b", UB, META("<cb:console alias='console0'><cb:spawn>"
	    "<cb:arg>/bin/sh</cb:arg><cb:arg>-i</cb:arg></cb:spawn>"
	    "</cb:console>"), ""),
	    "changed b/console0", "an argument added to the command: changed");

	check(DOMAIN("b", UB, META("<cb:console alias='console0'><cb:spawn>"
	    "<cb:arg>/bin/sh</cb:arg></cb:spawn></cb:console>"), ""),
	    DOMAIN("b", UB, META("<cb:console alias='console0'><cb:spawn>"
	    "<cb:arg>/bin/bash</cb:arg></cb:spawn></cb:console>"), ""),
	    "changed b/console0", "another command: changed");

	check(DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))),
	    DOMAIN("a", UA, META("<cb:console alias='serial0'><cb:spawn>"
	    "<cb:arg>/bin/sh</cb:arg></cb:spawn></cb:console>"),
	    SERIAL("serial0", PATH("/dev/pts/1"))),
	    "changed a/serial0", "a pty made a spawned console: changed");
}

static void test_added_removed(void)
{
	check(DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))),
	    DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))
	    VIRTIO("console1", PATH("/dev/pts/2"))),
	    "unchanged a/serial0\nadded a/console1", "a console added");

	check(DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))
	    VIRTIO("console1", PATH("/dev/pts/2"))),
	    DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))),
	    "unchanged a/serial0\nremoved a/console1", "a console removed");

	check(DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))),
	    DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1")))
	    DOMAIN("b", UB, "", VIRTIO("console0", PATH("/dev/pts/5"))
	    VIRTIO("console1", "")),
	    "unchanged a/serial0\nadded b/console0\nadded b/console1",
	    "a domain added: each of its consoles");

	check(base, DOMAIN("b", UB, META("<cb:console alias='console0' "
	    "capture='always'><cb:spawn><cb:arg>/bin/sh</cb:arg><cb:arg>-i"
	    "</cb:arg></cb:spawn></cb:console>"), ""),
	    "unchanged b/console0\nremoved a/serial0\nremoved a/console1\n"
	    "removed a/serial1", "a domain removed: each of its consoles, last");

	check(DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))),
	    DOMAIN("renamed", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))),
	    "unchanged renamed/serial0", "a rename keeps the console (same UUID)");

	check(DOMAIN("a", UA, "", SERIAL("serial0", PATH("/dev/pts/1"))),
	    DOMAIN("a", UB, "", SERIAL("serial0", PATH("/dev/pts/1"))),
	    "added a/serial0\nremoved a/serial0",
	    "the same name under a new UUID is another domain");
}

/* A defined domain's file, then the status file libvirt writes at start. */
static void test_inactive_to_live(void)
{
	check(DOMAIN("a", UA, "", "<serial type='pty'><target port='0'/>"
	    "</serial><console type='pty'><target type='serial'/></console>"
	    "<console type='pty'><target type='virtio' port='1'/></console>"),
	    "<domstatus state='running'><domain id='3'><name>a</name><uuid>" UA
	    "</uuid><devices><serial type='pty'>" PATH("/dev/pts/7") "<target "
	    "port='0'/><alias name='serial0'/></serial><console type='pty' "
	    "tty='/dev/pts/7'>" PATH("/dev/pts/7") "<target type='serial'/>"
	    "<alias name='serial0'/></console><console type='pty'>"
	    PATH("/dev/pts/8") "<target type='virtio' port='1'/><alias "
	    "name='console1'/></console></devices></domain></domstatus>",
	    "changed a/serial0\nchanged a/console1",
	    "generated aliases match libvirt's: the consoles are the same ones");
}

static void test_edges(void)
{
	struct conf *conf = load(base);
	struct conf_diff diff = { 0 };

	is_int(conf_diff(NULL, conf, &diff), 0, "from nothing");
	is_str(summary(&diff), "added a/serial0\nadded a/console1\n"
	    "added a/serial1\nadded b/console0", "everything added");
	conf_diff_free(&diff);
	is_int(conf_diff(conf, NULL, &diff), 0, "to nothing");
	is_str(summary(&diff), "removed a/serial0\nremoved a/console1\n"
	    "removed a/serial1\nremoved b/console0", "everything removed");
	conf_diff_free(&diff);
	conf_diff_free(&diff);
	ok(diff.entries == NULL && diff.count == 0, "freeing twice is harmless");
	is_str(conf_change_name(CONF_ADDED), "added", "added");
	is_str(conf_change_name(CONF_REMOVED), "removed", "removed");
	is_str(conf_change_name(CONF_CHANGED), "changed", "changed");
	is_str(conf_change_name(CONF_UNCHANGED), "unchanged", "unchanged");
	conf_free(conf);
}

int main(void)
{
	test_unchanged();
	test_changes();
	test_added_removed();
	test_inactive_to_live();
	test_edges();
	return tap_done();
}
