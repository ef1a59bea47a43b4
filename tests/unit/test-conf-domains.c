/*
 * test-conf-domains: libvirt domain files as libvirt writes them, the
 * console/serial pairing, generated aliases, conbroker's namespace, lookups.
 */
#include <unistd.h>

#include "tests/unit/test-conf-common.h"

/* What one console must look like. */
struct want {
	const char *alias, *element, *target_type;
	enum conf_console_type type;
	const char *source_type, *pty_path;
	enum conf_capture capture;
	int also_console, line;
};

static void check_console(const struct conf_domain *d, size_t i,
    const struct want *w)
{
	const struct conf_console *c;

	if (d == NULL || i >= d->nconsoles) {
		ok(0, "%s: console %zu exists", d ? d->name : "?", i);
		return;
	}
	c = &d->consoles[i];
	is_str(c->alias, w->alias, "%s[%zu] alias", d->name, i);
	is_str(c->element, w->element, "%s/%s element", d->name, w->alias);
	is_str(c->target_type, w->target_type, "%s/%s target type", d->name,
	    w->alias);
	is_int(c->type, w->type, "%s/%s type", d->name, w->alias);
	is_str(c->source_type, w->source_type, "%s/%s source type", d->name,
	    w->alias);
	is_str(c->pty_path, w->pty_path, "%s/%s pty path", d->name, w->alias);
	is_int(c->capture, w->capture, "%s/%s capture", d->name, w->alias);
	is_int(c->also_console, w->also_console, "%s/%s is also the <console>",
	    d->name, w->alias);
	is_int(c->line, w->line, "%s/%s line", d->name, w->alias);
	is_str(c->file, d->file, "%s/%s file", d->name, w->alias);
}

/* The live status file: serial0 and the console that shares its alias. */
static void test_live_status(const struct conf *conf)
{
	const struct conf_domain *d = tc_domain(conf, "web01");
	static const struct want serial0 = { "serial0", "serial", "isa-serial",
	    CONF_CONSOLE_PTY, "pty", "/dev/pts/3", CONF_CAPTURE_ATTACHED, 1,
	    473 };

	if (d == NULL)
		return;
	is_str(d->uuid_str, "4f0d1a4c-7a5e-4c55-9d1e-3b2a6f8e9c01",
	    "web01: UUID");
	is_int(d->line, 374, "web01: the <domain> inside <domstatus>");
	ok(strstr(d->file, "/domains/web01.xml") != NULL, "web01: file");
	is_int(d->nconsoles, 1, "web01: serial and console are one device");
	check_console(d, 0, &serial0);
	ok(conf_find_console(d, NULL) == &d->consoles[0],
	    "web01: the default console is serial0");
	ok(conf_find_console(d, "serial0") == &d->consoles[0],
	    "web01: serial0 by alias");
	ok(conf_find_console(d, "console0") == NULL,
	    "web01: no console0 (the console is serial0)");
}

/* Two pty serials and a tcp one; an upper-case UUID. */
static void test_serials(const struct conf *conf)
{
	const struct conf_domain *d = tc_domain(conf, "db01");
	static const struct want w[] = {
		{ "serial0", "serial", "isa-serial", CONF_CONSOLE_PTY, "pty",
		  "/dev/pts/4", CONF_CAPTURE_ATTACHED, 1, 53 },
		{ "serial1", "serial", "isa-serial", CONF_CONSOLE_PTY, "pty",
		  "/dev/pts/5", CONF_CAPTURE_ATTACHED, 0, 60 },
		{ "serial2", "serial", "isa-serial", CONF_CONSOLE_UNSUPPORTED,
		  "tcp", NULL, CONF_CAPTURE_ATTACHED, 0, 68 },
	};
	size_t i;

	if (d == NULL)
		return;
	is_str(d->uuid_str, "9b2e4c71-0d3a-4f6b-8e15-c7a9d2f06b44",
	    "db01: UUID in canonical lower case");
	is_int(d->nconsoles, 3, "db01: three serials, the console is serial0");
	for (i = 0; i < 3; i++)
		check_console(d, i, &w[i]);
	ok(conf_find_console(d, NULL) == &d->consoles[0],
	    "db01: default console serial0");
	ok(conf_find_console(d, "serial2") == &d->consoles[2],
	    "db01: the tcp serial is listed");
}

/* Defined, not running: no aliases, no paths. */
static void test_inactive(const struct conf *conf)
{
	const struct conf_domain *d = tc_domain(conf, "build01");
	static const struct want serial0 = { "serial0", "serial", "isa-serial",
	    CONF_CONSOLE_PTY, "pty", NULL, CONF_CAPTURE_ATTACHED, 1, 67 };

	if (d == NULL)
		return;
	is_int(d->nconsoles, 1, "build01: console0 is serial0 (libvirt's rule)");
	check_console(d, 0, &serial0);
	ok(conf_find_console(d, NULL) == &d->consoles[0],
	    "build01: default console");
}

/* Several virtio consoles, no serial; a UUID without dashes. */
static void test_virtio(const struct conf *conf)
{
	const struct conf_domain *d = tc_domain(conf, "vhost01");
	static const struct want w[] = {
		{ "console0", "console", "virtio", CONF_CONSOLE_PTY, "pty",
		  "/dev/pts/6", CONF_CAPTURE_ATTACHED, 0, 39 },
		{ "console1", "console", "virtio", CONF_CONSOLE_PTY, "pty",
		  "/dev/pts/7", CONF_CAPTURE_ATTACHED, 0, 44 },
		{ "console2", "console", "virtio", CONF_CONSOLE_PTY, "pty",
		  "/dev/pts/8", CONF_CAPTURE_ATTACHED, 0, 49 },
		{ "console3", "console", "virtio", CONF_CONSOLE_UNSUPPORTED,
		  "unix", NULL, CONF_CAPTURE_ATTACHED, 0, 54 },
	};
	size_t i;

	if (d == NULL)
		return;
	is_str(d->uuid_str, "d41f7e0a-6b2c-4c9a-8e3f-5a6b7c8d9e0f",
	    "vhost01: UUID written without dashes");
	is_int(d->nconsoles, 4, "vhost01: four consoles");
	for (i = 0; i < 4; i++)
		check_console(d, i, &w[i]);
	ok(conf_find_console(d, NULL) == &d->consoles[0],
	    "vhost01: default console0");
	ok(conf_find_console(d, "console2") == &d->consoles[2],
	    "vhost01: console2 by alias");
}

/* A container's live status file. */
static void test_lxc(const struct conf *conf)
{
	const struct conf_domain *d = tc_domain(conf, "ct01");
	static const struct want console0 = { "console0", "console", "lxc",
	    CONF_CONSOLE_PTY, "pty", "/dev/pts/9", CONF_CAPTURE_ATTACHED, 0,
	    36 };

	if (d == NULL)
		return;
	is_int(d->nconsoles, 1, "ct01: one console");
	check_console(d, 0, &console0);
}

/* conbroker's namespace: capture policies and a spawned console. */
static void test_namespace(const struct conf *conf)
{
	const struct conf_domain *d = tc_domain(conf, "bmc01");
	static const struct want w[] = {
		{ "serial0", "serial", "isa-serial", CONF_CONSOLE_PTY, "pty",
		  NULL, CONF_CAPTURE_ALWAYS, 1, 38 },
		{ "console1", "console", "virtio", CONF_CONSOLE_PTY, "pty",
		  NULL, CONF_CAPTURE_ATTACHED, 0, 46 },
		{ "sol0", "console", NULL, CONF_CONSOLE_SPAWN, NULL, NULL,
		  CONF_CAPTURE_ALWAYS, 0, 9 },
	};
	static const char *const argv[] = { "/usr/bin/ipmitool", "-I",
	    "lanplus", "-H", "bmc01.lab", "sol activate", NULL };
	const struct conf_console *sol;
	size_t i;

	if (d == NULL)
		return;
	is_int(d->nconsoles, 3, "bmc01: serial0, console1 and spawned sol0");
	for (i = 0; i < 3; i++)
		check_console(d, i, &w[i]);
	sol = conf_find_console(d, "sol0");
	ok(sol != NULL && sol->spawn_argv != NULL, "bmc01: sol0 has an argv");
	for (i = 0; sol && sol->spawn_argv && i < 7; i++)
		is_str(sol->spawn_argv[i], argv[i], "bmc01: argv[%zu]", i);
	ok(conf_find_console(d, NULL) == &d->consoles[0],
	    "bmc01: the default is still the serial-target console");
	ok(d->consoles[0].spawn_argv == NULL, "bmc01: serial0 is not spawned");
}

/* Lookups by name and by UUID in every spelling. */
static void test_lookup(const struct conf *conf)
{
	const struct conf_domain *db = conf_find_domain(conf, "db01");

	ok(db != NULL, "find by name");
	ok(conf_find_domain(conf, "9b2e4c71-0d3a-4f6b-8e15-c7a9d2f06b44") == db,
	    "find by UUID");
	ok(conf_find_domain(conf, "9B2E4C71-0D3A-4F6B-8E15-C7A9D2F06B44") == db,
	    "find by UUID in upper case");
	ok(conf_find_domain(conf, "9b2e4c710d3a4f6b8e15c7a9d2f06b44") == db,
	    "find by UUID without dashes");
	ok(conf_find_domain(conf, "DB01") == NULL, "names are case-sensitive");
	ok(conf_find_domain(conf, "nosuch") == NULL, "unknown name");
	ok(conf_find_domain(conf, "00000000-0000-4000-8000-000000000000") == NULL,
	    "unknown UUID");
	ok(conf_find_domain(conf, "9b2e4c71-0d3a-4f6b-8e15-c7a9d2f06b4") == NULL,
	    "a UUID one digit short is no UUID and no name");
	ok(conf_find_domain(conf, "") == NULL, "empty string");
	ok(conf_find_domain(NULL, "db01") == NULL, "no registry");
	ok(conf_find_console(NULL, NULL) == NULL, "no domain, no console");
}

/* The fixture directory as a whole: all load, in name order, no noise. */
static void test_fixture_dir(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	static const char *const order[] = { "bmc01", "build01", "ct01",
	    "db01", "vhost01", "web01" };
	size_t i;
	int rc;

	rc = tc_load_dir(tc_fixture("domains"), &conf, &diags);
	is_int(rc, 0, "the domains fixtures load");
	if (!ok(diags.count == 0, "without a single diagnostic"))
		tc_show(&diags);
	if (conf == NULL)
		return;
	is_int(conf->ndomains, 6, "six domains");
	for (i = 0; i < 6 && i < conf->ndomains; i++)
		is_str(conf->domains[i].name, order[i], "domain %zu in file order",
		    i);
	test_live_status(conf);
	test_serials(conf);
	test_inactive(conf);
	test_virtio(conf);
	test_lxc(conf);
	test_namespace(conf);
	test_lookup(conf);
	conf_free(conf);
	conf_diags_free(&diags);
}

/* One inline domain with the given <devices> and <metadata>. */
static int load_devices(const char *devices, const char *meta,
    struct conf **conf, struct conf_diags *diags)
{
	char xml[8192];

	snprintf(xml, sizeof(xml), "<conbroker>\n<domain type='kvm'>\n"
	    "<name>t</name>\n<uuid>11111111-2222-4333-8444-555555555555</uuid>\n"
	    "<metadata>%s</metadata>\n<devices>\n%s</devices>\n</domain>\n"
	    "</conbroker>\n", meta, devices);
	return tc_load_xml(xml, conf, diags);
}

/* Inactive pairing rules and generated aliases beyond the fixtures. */
static void test_pairing(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	const struct conf_domain *d;

	/* A serial-target console with no serial: libvirt's serial0. */
	load_devices("<console type='pty'><target type='serial' port='0'/>"
	    "</console>\n", "", &conf, &diags);
	d = conf ? conf_find_domain(conf, "t") : NULL;
	ok(d && d->nconsoles == 1 && strcmp(d->consoles[0].alias, "serial0") == 0 &&
	    strcmp(d->consoles[0].element, "console") == 0,
	    "a lone serial-target console is serial0");
	conf_free(conf);
	conf_diags_free(&diags);

	/* Serial + serial-target console + virtio console, inactive. */
	load_devices("<serial type='pty'><target type='isa-serial' port='0'/>"
	    "</serial>\n<serial type='pty'><target port='1'/></serial>\n"
	    "<console type='pty'><target type='serial' port='0'/></console>\n"
	    "<console type='pty'><target type='virtio' port='1'/></console>\n",
	    "", &conf, &diags);
	d = conf ? conf_find_domain(conf, "t") : NULL;
	ok(d && d->nconsoles == 3, "inactive: two serials and a virtio console");
	if (d && d->nconsoles == 3) {
		is_str(d->consoles[0].alias, "serial0", "first serial");
		is_str(d->consoles[1].alias, "serial1", "second serial");
		is_str(d->consoles[2].alias, "console1",
		    "the virtio console counts the serial one: console1");
		ok(d->consoles[0].also_console && !d->consoles[1].also_console,
		    "only serial0 is the console");
		ok(conf_find_console(d, NULL) == &d->consoles[0],
		    "default: the first console, which is serial0");
	}
	is_int(diags.count, 0, "no diagnostics");
	conf_free(conf);
	conf_diags_free(&diags);

	/* Character and entity references in names, paths and aliases. */
	load_devices("<serial type='pty'><source path='/dev/pts/&#x33;&amp;x'/>"
	    "<alias name='s&lt;0'/></serial>\n", "", &conf, &diags);
	d = conf ? conf_find_domain(conf, "t") : NULL;
	ok(d && d->nconsoles == 1 && strcmp(d->consoles[0].pty_path,
	    "/dev/pts/3&x") == 0 && strcmp(d->consoles[0].alias, "s<0") == 0,
	    "references in attribute values are resolved");
	conf_free(conf);
	conf_diags_free(&diags);

	/* tty= alone, no type attribute (libvirt's default is pty). */
	load_devices("<console tty='/dev/pts/41'><target type='virtio'/>"
	    "</console>\n", "", &conf, &diags);
	d = conf ? conf_find_domain(conf, "t") : NULL;
	ok(d && d->nconsoles == 1 && d->consoles[0].pty_path &&
	    strcmp(d->consoles[0].pty_path, "/dev/pts/41") == 0 &&
	    strcmp(d->consoles[0].source_type, "pty") == 0,
	    "tty= gives the path; a missing type is pty");
	conf_free(conf);
	conf_diags_free(&diags);
}

/* Things worth a warning but not worth skipping the domain. */
static void test_warnings(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	const struct conf_domain *d;

	load_devices("<serial type='ptyy'><target port='0'/></serial>\n", "",
	    &conf, &diags);
	d = conf ? conf_find_domain(conf, "t") : NULL;
	is_str(tc_diags(&diags, ""), "t.xml:7: warning: unknown <serial> type "
	    "'ptyy', listed as unsupported", "unknown device type: a warning");
	is_int(diags.errors, 0, "and no error");
	ok(d && d->nconsoles == 1 &&
	    d->consoles[0].type == CONF_CONSOLE_UNSUPPORTED,
	    "the device is listed as unsupported");
	conf_free(conf);
	conf_diags_free(&diags);

	load_devices("<serial type='pty'><source path='/dev/pts/50'/>"
	    "<alias name='serial0'/></serial>\n<console type='pty' "
	    "tty='/dev/pts/51'><target type='serial'/><alias name='serial0'/>"
	    "</console>\n", "", &conf, &diags);
	d = conf ? conf_find_domain(conf, "t") : NULL;
	is_str(tc_diags(&diags, ""), "t.xml:8: warning: <console> names pty "
	    "'/dev/pts/51' but shares its device with the <serial> at line 7, "
	    "which names '/dev/pts/50'; using the serial's",
	    "a console and its serial disagreeing on the pty: a warning");
	ok(d && d->nconsoles == 1 && strcmp(d->consoles[0].pty_path,
	    "/dev/pts/50") == 0, "the serial's path wins");
	conf_free(conf);
	conf_diags_free(&diags);
}

/* The namespace under a default declaration, and a spawned pty device. */
static void test_namespace_forms(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	const struct conf_domain *d;

	load_devices("<serial type='pty'><source path='/dev/pts/60'/>"
	    "<alias name='serial0'/></serial>\n",
	    "<consoles xmlns='" CONF_NS "'><console alias='serial0'>"
	    "<spawn><arg>/bin/cat</arg></spawn></console></consoles>"
	    "<other xmlns='http://example.org/other'><console alias='x'/></other>",
	    &conf, &diags);
	d = conf ? conf_find_domain(conf, "t") : NULL;
	if (!ok(diags.count == 0, "unprefixed namespace, foreign metadata ignored"))
		tc_show(&diags);
	ok(d && d->nconsoles == 1 && d->consoles[0].type == CONF_CONSOLE_SPAWN &&
	    d->consoles[0].pty_path == NULL &&
	    strcmp(d->consoles[0].spawn_argv[0], "/bin/cat") == 0 &&
	    d->consoles[0].spawn_argv[1] == NULL,
	    "a pty device given a command is spawned, its path dropped");
	conf_free(conf);
	conf_diags_free(&diags);
}

/* Line numbers past 65535, where libxml2's short counter would wrap. */
static void test_big_lines(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	size_t n = 70000, len;
	char *xml = malloc(n + 256);

	if (xml == NULL)
		return;
	len = (size_t)sprintf(xml, "<conbroker>\n<domain>\n<name>big</name>");
	memset(xml + len, '\n', n);
	len += n;
	len += (size_t)sprintf(xml + len, "<uuid>bad</uuid>\n</domain>\n"
	    "</conbroker>\n");
	conf_load_buffer("big.xml", xml, len, &conf, &diags);
	is_str(tc_diags(&diags, ""), "big.xml:70003: invalid UUID 'bad' (expected 32"
	    " hexadecimal digits, dashes allowed, as in"
	    " 8f3a6c2e-1b7d-4e95-a0c4-5d6e7f809a1b)",
	    "line numbers past 65535 are right");
	conf_free(conf);
	conf_diags_free(&diags);
	free(xml);
}

int main(void)
{
	test_fixture_dir();
	test_pairing();
	test_warnings();
	test_namespace_forms();
	test_big_lines();
	return tap_done();
}
