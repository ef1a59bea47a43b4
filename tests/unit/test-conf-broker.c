/*
 * test-conf-broker: the <conbroker> file: every setting, the defaults, the
 * exact message of every mistake, the embedded demo and the contrib example.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/test-conf-common.h"

/* Every setting of the broker, inline domains and a relative domains dir. */
static void test_full(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	const struct conf_listen *l;
	char path[4096], dir[4200];
	int rc;

	snprintf(path, sizeof(path), "%s", tc_fixture("config/full.xml"));
	rc = conf_load(path, &conf, &diags);
	is_int(rc, 0, "full.xml loads");
	if (!ok(diags.count == 0, "without diagnostics"))
		tc_show(&diags);
	if (conf == NULL)
		return;
	is_str(conf->file, path, "conf->file");
	is_int(conf->nlistens, 6, "six listeners");
	if (conf->nlistens == 6) {
		l = conf->listens;
		ok(l[0].type == CONF_LISTEN_UNIX && strcmp(l[0].path,
		    "/run/conbroker/conbroker.sock") == 0 && l[0].mode == 0660 &&
		    l[0].group && strcmp(l[0].group, "kvm") == 0 && l[0].line == 4,
		    "unix listener with mode and group");
		ok(l[1].type == CONF_LISTEN_UNIX && l[1].mode == 0666 &&
		    l[1].group == NULL, "unix listener without group");
		ok(l[2].type == CONF_LISTEN_TCP && strcmp(l[2].host, "127.0.0.1") == 0 &&
		    strcmp(l[2].port, "7780") == 0 && !l[2].proxy && !l[2].public_ok,
		    "tcp 127.0.0.1:7780");
		ok(strcmp(l[3].host, "::1") == 0 && strcmp(l[3].port, "7780") == 0 &&
		    l[3].proxy == 1, "tcp [::1]:7780 with PROXY headers");
		ok(strcmp(l[4].host, "::") == 0 && l[4].public_ok == 1 &&
		    l[4].proxy == 1, "public [::]:7781");
		ok(strcmp(l[5].host, "127.0.0.1") == 0 && strcmp(l[5].port,
		    "7782") == 0 && l[5].proxy == 0, "a bare port is on 127.0.0.1");
		is_str(l[5].file, path, "a listener knows its file");
	}
	is_str(conf->lock_dir, "/run/lock", "lock dir");
	is_int(conf->history_size, 262144, "history size");
	is_int(conf->stale_after, 45, "stale-after");
	is_int(conf->writer_timeout, 5, "writer-timeout");
	snprintf(dir, sizeof(dir), "%s", tc_fixture("config/../domains"));
	is_str(conf->ndomains_dirs == 1 ? conf->domains_dirs[0] : NULL, dir,
	    "a relative domains dir is relative to the config file");
	is_int(conf->ndomains, 8, "two inline domains and six from the dir");
	if (conf->ndomains == 8) {
		is_str(conf->domains[0].name, "inline01", "inline first");
		is_int(conf->domains[0].line, 14, "inline01 line");
		is_str(conf->domains[1].name, "inline02", "inline <domstatus>");
		is_int(conf->domains[1].line, 29, "inline02: its <domain> line");
		is_str(conf->domains[1].file, path, "inline domains: the config");
	}
	conf_free(conf);
	conf_diags_free(&diags);
}

/* An empty <conbroker/>: every default. */
static void test_defaults(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	int rc;

	rc = conf_load(tc_fixture("config/minimal.xml"), &conf, &diags);
	is_int(rc, 0, "<conbroker/> loads");
	is_int(diags.count, 0, "quietly");
	if (conf == NULL)
		return;
	ok(conf->nlistens == 1 && conf->listens[0].type == CONF_LISTEN_UNIX &&
	    strcmp(conf->listens[0].path, conf_default_socket()) == 0 &&
	    conf->listens[0].mode == 0660 && conf->listens[0].group == NULL,
	    "one unix listener at the default socket");
	is_str(conf->lock_dir, "/var/lock", "default lock dir");
	is_int(conf->history_size, 65536, "default history");
	is_int(conf->stale_after, 30, "default stale-after");
	is_int(conf->writer_timeout, 10, "default writer-timeout");
	ok(conf->ndomains_dirs == 0, "no domains dir");
	is_int(conf->ndomains, 0, "no domains");
	conf_free(conf);
	conf_diags_free(&diags);
}

/* Every mistake in the broker's own settings, exactly; the load fails. */
static void test_bad_settings(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = (struct conf *)1;
	char prefix[4200];
	int rc;

	snprintf(prefix, sizeof(prefix), "%s:",
	    tc_fixture("config/bad-settings.xml"));
	rc = conf_load(tc_fixture("config/bad-settings.xml"), &conf, &diags);
	is_int(rc, -EINVAL, "a config with bad settings is unusable");
	ok(conf == NULL, "and gives no registry");
	is_str(tc_diags(&diags, prefix),
	    "1: unknown attribute 'version' on <conbroker>\n"
	    "2: socket path 'conbroker.sock' is not absolute\n"
	    "3: invalid mode '0999' (expected an octal mode such as 0660)\n"
	    "4: <listen> needs exactly one of unix= and tcp=\n"
	    "5: invalid port in tcp address '127.0.0.1' (expected 1 to 65535)\n"
	    "6: invalid tcp address '::1:7780' (expected HOST:PORT, an IPv6 "
	    "address as [ADDRESS]:PORT)\n"
	    "7: invalid tcp address 'localhost:7780' (the host must be a "
	    "numeric IPv4 or IPv6 address)\n"
	    "8: invalid port in tcp address '127.0.0.1:99999' (expected 1 to "
	    "65535)\n"
	    "9: tcp address '192.0.2.10:7780' is not a loopback address; add "
	    "public='yes' to listen on it\n"
	    "10: invalid proxy 'v2' (expected 'yes' or 'no')\n"
	    "11: proxy and public apply to tcp listeners only\n"
	    "12: mode and group apply to unix listeners only\n"
	    "14: duplicate listener '/run/conbroker/a.sock' (also at line 13)\n"
	    "15: lock directory 'var/lock' is not absolute\n"
	    "16: duplicate <locks> (first at line 15)\n"
	    "17: invalid size '1024' (expected 4096 to 67108864 bytes)\n"
	    "18: invalid stale-after '0' (expected 1 to 86400 seconds)\n"
	    "18: invalid writer-timeout 'ten' (expected 1 to 3600 seconds)\n"
	    "19: <domains> needs a dir attribute\n"
	    "20: unknown element <logging> in <conbroker>\n"
	    "21: socket path '/run/conbroker/a-socket-path-that-is-far-too-long-"
	    "for-the-sun-path-field-of-any-unix-domain-socket-address.sock' is "
	    "too long (at most 107 bytes)",
	    "every mistake, with its line");
	is_int(diags.count, 21, "and nothing else");
	is_int(diags.errors, 21, "all errors");
	conf_diags_free(&diags);
}

/* Single values around their bounds. */
static void test_bounds(void)
{
	static const struct {
		const char *xml;
		int rc;
		const char *diag;
	} cases[] = {
		{ "<conbroker><history size='4096'/></conbroker>", 0, "" },
		{ "<conbroker><history size='67108864'/></conbroker>", 0, "" },
		{ "<conbroker><history size='67108865'/></conbroker>", -EINVAL,
		  "t.xml:1: invalid size '67108865' (expected 4096 to 67108864 "
		  "bytes)" },
		{ "<conbroker><history size='-1'/></conbroker>", -EINVAL,
		  "t.xml:1: invalid size '-1' (expected 4096 to 67108864 bytes)" },
		{ "<conbroker><sessions stale-after='86400' writer-timeout='3600'/>"
		  "</conbroker>", 0, "" },
		{ "<conbroker><sessions writer-timeout='3601'/></conbroker>",
		  -EINVAL, "t.xml:1: invalid writer-timeout '3601' (expected 1 "
		  "to 3600 seconds)" },
		{ "<conbroker><listen tcp='127.0.0.1:0'/></conbroker>", -EINVAL,
		  "t.xml:1: invalid port in tcp address '127.0.0.1:0' (expected "
		  "1 to 65535)" },
		{ "<conbroker><listen tcp='[::1]'/></conbroker>", -EINVAL,
		  "t.xml:1: invalid tcp address '[::1]' (expected HOST:PORT, an "
		  "IPv6 address as [ADDRESS]:PORT)" },
		{ "<conbroker><listen tcp='[::ffff:127.0.0.1]:80'/></conbroker>",
		  0, "" },
		{ "<conbroker><listen tcp='127.8.9.10:80'/></conbroker>", 0, "" },
		{ "<conbroker><listen tcp='[fe80::1]:80'/></conbroker>", -EINVAL,
		  "t.xml:1: tcp address '[fe80::1]:80' is not a loopback address; "
		  "add public='yes' to listen on it" },
		{ "<conbroker><listen tcp='0.0.0.0:80' public='yes'/></conbroker>",
		  0, "" },
		{ "<conbroker><listen unix='/run/a.sock' mode='777'/></conbroker>",
		  0, "" },
		{ "<conbroker><listen unix='/run/a.sock' group=''/></conbroker>",
		  -EINVAL, "t.xml:1: empty group" },
		{ "<conbroker><domains dir=''/></conbroker>", -EINVAL,
		  "t.xml:1: empty domains directory" },
		{ "<conbroker>text</conbroker>", -EINVAL,
		  "t.xml:1: unexpected text in <conbroker>" },
		{ "<conbroker><x:listen xmlns:x='urn:x'/></conbroker>", -EINVAL,
		  "t.xml:1: unknown element <x:listen> in <conbroker>" },
		{ "<conbroker>", -EINVAL, "t.xml:1: Premature end of data in tag "
		  "conbroker line 1" },
	};
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = tc_load_xml(cases[i].xml, &conf, &diags);
		is_int(rc, cases[i].rc, "%s: result", cases[i].xml);
		is_str(tc_diags(&diags, ""), cases[i].diag, "%s: diagnostics",
		    cases[i].xml);
		ok((rc == 0) == (conf != NULL), "%s: a registry iff success",
		    cases[i].xml);
		conf_free(conf);
		conf_diags_free(&diags);
	}
}

/* Broken inline domains are skipped; the settings still hold. */
static void test_inline(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char prefix[4200];
	int rc;

	snprintf(prefix, sizeof(prefix), "%s:",
	    tc_fixture("config/broken-inline.xml"));
	rc = conf_load(tc_fixture("config/broken-inline.xml"), &conf, &diags);
	is_int(rc, 0, "a broken inline domain does not spoil the config");
	is_str(tc_diags(&diags, prefix), "9: invalid UUID 'not-a-uuid' (expected 32"
	    " hexadecimal digits, dashes allowed, as in"
	    " 8f3a6c2e-1b7d-4e95-a0c4-5d6e7f809a1b)",
	    "it is reported");
	ok(conf && conf->ndomains == 1 && strcmp(conf->domains[0].name,
	    "fine") == 0, "the good one loads");
	conf_free(conf);
	conf_diags_free(&diags);
}

/* Files that are no config at all. */
static void test_unusable(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char prefix[4200], want[4300];
	int rc;

	snprintf(prefix, sizeof(prefix), "%s:",
	    tc_fixture("config/wrong-root.xml"));
	rc = conf_load(tc_fixture("config/wrong-root.xml"), &conf, &diags);
	is_int(rc, -EINVAL, "a domain file is no config");
	is_str(tc_diags(&diags, prefix),
	    "1: root element is <domain>, expected <conbroker>", "and says so");
	conf_diags_free(&diags);

	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory",
	    tc_fixture("config/nosuch.xml"));
	rc = conf_load(tc_fixture("config/nosuch.xml"), &conf, &diags);
	is_int(rc, -ENOENT, "a missing config: -ENOENT");
	ok(tc_has_diag(&diags, want), "FILE: cannot open: reason");
	ok(conf == NULL, "no registry");
	conf_diags_free(&diags);

	snprintf(want, sizeof(want), "%s: not a regular file", tc_fixture("config"));
	rc = conf_load(tc_fixture("config"), &conf, &diags);
	is_int(rc, -EINVAL, "a directory is no config");
	ok(tc_has_diag(&diags, want), "and says so");
	conf_diags_free(&diags);

	rc = conf_load_buffer("e.xml", "", 0, &conf, &diags);
	is_int(rc, -EINVAL, "an empty buffer");
	is_str(tc_diags(&diags, ""), "e.xml: empty file", "says so");
	conf_diags_free(&diags);
}

/* A missing domains directory only warns: libvirt makes its own late. */
static void test_missing_dir(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	int rc;

	rc = tc_load_xml("<conbroker>\n<domains dir='/nonexistent/conbroker'/>\n"
	    "</conbroker>", &conf, &diags);
	is_int(rc, 0, "a missing domains dir is not fatal");
	is_str(tc_diags(&diags, ""), "t.xml:2: warning: domains directory "
	    "'/nonexistent/conbroker': No such file or directory",
	    "a warning naming the <domains> line");
	is_int(diags.errors, 0, "no error");
	conf_free(conf);
	conf_diags_free(&diags);

	rc = tc_load_xml("<conbroker>\n<domains dir='/etc/passwd'/>\n"
	    "</conbroker>", &conf, &diags);
	is_int(rc, 0, "a domains dir that is a file: the config still loads");
	is_str(tc_diags(&diags, ""), "t.xml:2: domains directory '/etc/passwd': "
	    "Not a directory", "an error");
	conf_free(conf);
	conf_diags_free(&diags);
}

/* The embedded demo: one spawned shell, always captured, defaults else. */
static void test_demo(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	const struct conf_domain *d;
	const struct conf_console *c;
	int rc;

	rc = conf_load_demo(&conf, &diags);
	is_int(rc, 0, "the demo loads");
	is_int(diags.count, 0, "cleanly");
	if (conf == NULL)
		return;
	is_str(conf->file, "(demo)", "its name");
	is_int(conf->ndomains, 1, "one domain");
	d = conf_find_domain(conf, "demo");
	ok(d != NULL, "named demo");
	ok(d && conf_find_domain(conf, d->uuid_str) == d, "found by its UUID");
	is_str(d ? d->uuid_str : NULL, "c0b40de1-0000-4000-8000-000000000001",
	    "a fixed UUID");
	c = d ? conf_find_console(d, NULL) : NULL;
	ok(c && strcmp(c->alias, "console0") == 0, "its default console0");
	ok(c && c->type == CONF_CONSOLE_SPAWN && c->pty_path == NULL,
	    "spawned by the daemon");
	ok(c && c->capture == CONF_CAPTURE_ALWAYS, "captured from start-up");
	ok(c && c->spawn_argv && strcmp(c->spawn_argv[0], "/bin/sh") == 0 &&
	    strcmp(c->spawn_argv[1], "-i") == 0 && c->spawn_argv[2] == NULL,
	    "an interactive /bin/sh");
	ok(c && access(c->spawn_argv[0], X_OK) == 0, "which exists here");
	ok(conf->nlistens == 1 && strcmp(conf->listens[0].path,
	    conf_default_socket()) == 0, "the default listener");
	is_str(conf->lock_dir, "/var/lock", "lock dir /var/lock");
	conf_free(conf);
	conf_diags_free(&diags);
}

/* conf_default_socket() for another user, in a child that became one. */
static void default_socket_as(uid_t uid, const char *runtime, char *out,
    size_t size)
{
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	out[0] = '\0';
	if (pipe(fds) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		const char *path;

		if (runtime)
			setenv("XDG_RUNTIME_DIR", runtime, 1);
		else
			unsetenv("XDG_RUNTIME_DIR");
		if (geteuid() != uid && setresuid(uid, uid, uid) < 0)
			_exit(1);
		path = conf_default_socket();
		_exit(write(fds[1], path, strlen(path)) < 0);
	}
	close(fds[1]);
	n = read(fds[0], out, size - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
}

static void test_default_socket(void)
{
	char got[512], want[512];
	uid_t uid = geteuid() == 0 ? 65534 : geteuid();

	if (geteuid() == 0)
		is_str(conf_default_socket(), "/run/conbroker/conbroker.sock",
		    "root: /run/conbroker");
	default_socket_as(uid, "/run/user/4242", got, sizeof(got));
	is_str(got, "/run/user/4242/conbroker/conbroker.sock",
	    "a user: $XDG_RUNTIME_DIR/conbroker");
	default_socket_as(uid, NULL, got, sizeof(got));
	snprintf(want, sizeof(want), "/tmp/conbroker-%u/conbroker.sock",
	    (unsigned)uid);
	is_str(got, want, "no XDG_RUNTIME_DIR: /tmp/conbroker-UID");
	default_socket_as(uid, "relative/dir", got, sizeof(got));
	is_str(got, want, "a relative XDG_RUNTIME_DIR is not trusted");
}

/* The example config and domain of contrib/ stay valid. */
static void test_contrib(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	const struct conf_domain *d;
	char path[4096], xml[4400];
	size_t i;
	int rc;

	snprintf(path, sizeof(path), "%s/contrib/conbroker.xml", tc_topdir());
	rc = conf_load(path, &conf, &diags);
	is_int(rc, 0, "contrib/conbroker.xml loads");
	is_int(diags.errors, 0, "without errors");
	for (i = 0; i < diags.count; i++)
		ok(strstr(diags.items[i].text, "domains directory") != NULL,
		    "only the absent domains dir may warn: %s",
		    diags.items[i].text);
	conf_free(conf);
	conf_diags_free(&diags);

	snprintf(xml, sizeof(xml), "<conbroker><domains dir='%s/contrib/domains'/>"
	    "</conbroker>", tc_topdir());
	rc = tc_load_xml(xml, &conf, &diags);
	is_int(rc, 0, "contrib/domains loads");
	if (!ok(diags.count == 0, "without diagnostics"))
		tc_show(&diags);
	d = conf ? conf_find_domain(conf, "example") : NULL;
	ok(d != NULL && d->nconsoles >= 2, "the example domain has its consoles");
	ok(d && conf_find_console(d, NULL) &&
	    conf_find_console(d, NULL)->capture == CONF_CAPTURE_ALWAYS,
	    "its default console is captured always");
	conf_free(conf);
	conf_diags_free(&diags);
}

int main(void)
{
	test_full();
	test_defaults();
	test_bad_settings();
	test_bounds();
	test_inline();
	test_unusable();
	test_missing_dir();
	test_demo();
	test_default_socket();
	test_contrib();
	return tap_done();
}
