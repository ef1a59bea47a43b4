/*
 * test-conf-access: <access> and <limits>: every form of grant, the rights
 * each word implies, the defaults, and the exact message of every mistake.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "tests/unit/test-conf-common.h"

/* The address a grant holds, as text, for comparing. */
static const char *ta_addr(const struct conf_grant *g)
{
	static char buf[INET6_ADDRSTRLEN + 8];
	char host[INET6_ADDRSTRLEN] = "?";

	inet_ntop(g->family, g->addr, host, sizeof(host));
	snprintf(buf, sizeof(buf), "%s/%u", host, g->prefix);
	return buf;
}

/* A test name from a piece of XML: newlines as " | " (TAP names are one line). */
static const char *ta_name(const char *xml)
{
	static char buf[512];
	size_t i, n = 0;

	for (i = 0; xml[i] != '\0' && n + 4 < sizeof(buf); i++) {
		if (xml[i] == '\n') {
			memcpy(buf + n, " | ", 3);
			n += 3;
		} else {
			buf[n++] = xml[i];
		}
	}
	buf[n] = '\0';
	return buf;
}

/* One grant against what it should hold; the line says which grant it is. */
static void ta_grant(const struct conf *conf, size_t i, enum conf_who who,
    const char *name, const char *domain, const char *console,
    unsigned rights, int line)
{
	const struct conf_grant *g;

	if (!ok(i < conf->ngrants, "grant %zu exists", i))
		return;
	g = &conf->grants[i];
	ok(g->who == who && strcmp(g->name, name) == 0,
	    "grant %zu (line %d) is for %s", i, line, name);
	is_str(g->domain, domain, "grant %zu: domain pattern", i);
	is_str(g->console, console, "grant %zu: console pattern", i);
	is_int(g->rights, rights, "grant %zu: rights", i);
	is_int(g->line, line, "grant %zu: line", i);
	is_str(g->file, "t.xml", "grant %zu: file", i);
}

/* Every form of grant, in one file, with its line and defaults. */
static void test_grants(void)
{
	static const char xml[] =
	    "<conbroker>\n"                                                    /* 1 */
	    "  <access>\n"                                                     /* 2 */
	    "    <grant user='alice' rights='watch'/>\n"                       /* 3 */
	    "    <grant user='1001' rights='write'/>\n"                        /* 4 */
	    "    <grant group='ops' domain='web*' rights='force'/>\n"          /* 5 */
	    "    <grant group='2002' console='serial?' rights='watch'/>\n"     /* 6 */
	    "    <grant cn='laptop.ops.example' domain='db01' console='serial0'"
	    " rights='watch'/>\n"                                              /* 7 */
	    "    <grant address='192.0.2.0/24' rights='write'/>\n"             /* 8 */
	    "    <grant address='198.51.100.7' rights='force'/>\n"             /* 9 */
	    "    <grant address='2001:db8::/32' rights='watch'/>\n"            /* 10 */
	    "    <grant address='2001:DB8::7' rights='write'/>\n"              /* 11 */
	    "    <grant address='0.0.0.0/0' domain='lab-*' rights='watch'/>\n" /* 12 */
	    "    <grant address='::/0' rights='watch'/>\n"                     /* 13 */
	    "    <grant address='203.0.113.128/25' rights='watch'/>\n"         /* 14 */
	    "  </access>\n"
	    "</conbroker>\n";
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	const unsigned ww = CONF_RIGHT_WATCH | CONF_RIGHT_WRITE;
	int rc;

	rc = tc_load_xml(xml, &conf, &diags);
	is_int(rc, 0, "a config with every form of grant loads");
	if (!ok(diags.count == 0, "without diagnostics"))
		tc_show(&diags);
	if (conf == NULL)
		return;
	ok(conf->access_rules, "<access> is present: the grants decide");
	is_int(conf->ngrants, 12, "twelve grants, in file order");
	if (conf->ngrants != 12)
		goto out;
	ta_grant(conf, 0, CONF_WHO_USER, "alice", "*", "*", CONF_RIGHT_WATCH, 3);
	ta_grant(conf, 1, CONF_WHO_USER, "1001", "*", "*", ww, 4);
	ta_grant(conf, 2, CONF_WHO_GROUP, "ops", "web*", "*", CONF_RIGHTS_ALL, 5);
	ta_grant(conf, 3, CONF_WHO_GROUP, "2002", "*", "serial?",
	    CONF_RIGHT_WATCH, 6);
	ta_grant(conf, 4, CONF_WHO_CN, "laptop.ops.example", "db01", "serial0",
	    CONF_RIGHT_WATCH, 7);
	ta_grant(conf, 5, CONF_WHO_ADDRESS, "192.0.2.0/24", "*", "*", ww, 8);
	ok(conf->grants[5].family == AF_INET, "192.0.2.0/24 is IPv4");
	is_str(ta_addr(&conf->grants[5]), "192.0.2.0/24", "with its prefix");
	ta_grant(conf, 6, CONF_WHO_ADDRESS, "198.51.100.7", "*", "*",
	    CONF_RIGHTS_ALL, 9);
	is_str(ta_addr(&conf->grants[6]), "198.51.100.7/32",
	    "an IPv4 address without prefix is one host (/32)");
	ta_grant(conf, 7, CONF_WHO_ADDRESS, "2001:db8::/32", "*", "*",
	    CONF_RIGHT_WATCH, 10);
	ok(conf->grants[7].family == AF_INET6, "2001:db8::/32 is IPv6");
	is_str(ta_addr(&conf->grants[7]), "2001:db8::/32", "with its prefix");
	ta_grant(conf, 8, CONF_WHO_ADDRESS, "2001:DB8::7", "*", "*", ww, 11);
	is_str(ta_addr(&conf->grants[8]), "2001:db8::7/128",
	    "an IPv6 address without prefix is one host (/128), any case");
	ta_grant(conf, 9, CONF_WHO_ADDRESS, "0.0.0.0/0", "lab-*", "*",
	    CONF_RIGHT_WATCH, 12);
	is_str(ta_addr(&conf->grants[9]), "0.0.0.0/0", "/0: every IPv4 peer");
	is_str(ta_addr(&conf->grants[10]), "::/0", "/0: every IPv6 peer");
	ok(conf->grants[10].family == AF_INET6, "::/0 is IPv6");
	is_str(ta_addr(&conf->grants[11]), "203.0.113.128/25",
	    "a prefix that does not end on a byte");
out:
	conf_free(conf);
	conf_diags_free(&diags);
}

/* Each word of rights= implies the weaker ones; the strongest names a mask. */
static void test_rights(void)
{
	static const struct {
		const char *word;
		unsigned mask;
	} cases[] = {
		{ "watch", CONF_RIGHT_WATCH },
		{ "write", CONF_RIGHT_WATCH | CONF_RIGHT_WRITE },
		{ "force", CONF_RIGHT_WATCH | CONF_RIGHT_WRITE | CONF_RIGHT_FORCE },
	};
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char xml[256];
	size_t i;
	int rc;

	is_int(CONF_RIGHTS_ALL, CONF_RIGHT_WATCH | CONF_RIGHT_WRITE |
	    CONF_RIGHT_FORCE, "CONF_RIGHTS_ALL is the three rights");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(xml, sizeof(xml), "<conbroker><access><grant user='u' "
		    "rights='%s'/></access></conbroker>", cases[i].word);
		rc = tc_load_xml(xml, &conf, &diags);
		is_int(rc, 0, "rights='%s' loads", cases[i].word);
		if (conf != NULL && conf->ngrants == 1) {
			is_int(conf->grants[0].rights, cases[i].mask,
			    "rights='%s': its mask, implications applied",
			    cases[i].word);
			is_str(conf_right_name(conf->grants[0].rights),
			    cases[i].word, "and conf_right_name gives the word back");
		} else {
			ok(0, "rights='%s' gives one grant", cases[i].word);
		}
		conf_free(conf);
		conf_diags_free(&diags);
	}
	is_str(conf_right_name(0), "none", "no right: none");
	is_str(conf_right_name(CONF_RIGHT_WATCH), "watch", "watch alone");
	is_str(conf_right_name(CONF_RIGHT_WRITE), "write", "write alone");
	is_str(conf_right_name(CONF_RIGHT_FORCE), "force", "force alone");
	is_str(conf_right_name(CONF_RIGHT_WATCH | CONF_RIGHT_FORCE), "force",
	    "the strongest right names a mask");
}

/* No <access>, an empty one, and the defaults and bounds of <limits>. */
static void test_defaults(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	int rc;

	rc = tc_load_xml("<conbroker/>", &conf, &diags);
	is_int(rc, 0, "<conbroker/> loads");
	if (conf != NULL) {
		ok(!conf->access_rules, "without <access>, no rules: the "
		    "transport decides");
		ok(conf->ngrants == 0 && conf->grants == NULL, "and no grants");
		is_int(conf->limits.connections, 4096, "default connections");
		is_int(conf->limits.per_identity, 64, "default per-identity");
		is_int(conf->limits.handshaking, 256, "default handshaking");
		is_int(conf->limits.hello_timeout, 10, "default hello-timeout");
	}
	conf_free(conf);
	conf_diags_free(&diags);

	rc = tc_load_xml("<conbroker><access/></conbroker>", &conf, &diags);
	is_int(rc, 0, "an empty <access/> loads");
	is_int(diags.count, 0, "quietly");
	ok(conf && conf->access_rules && conf->ngrants == 0,
	    "an empty <access/> still means the grants decide (none: nobody "
	    "but root and the daemon's user)");
	conf_free(conf);
	conf_diags_free(&diags);

	rc = tc_load_xml("<conbroker><limits connections='100' per-identity='5' "
	    "handshaking='10' hello-timeout='3'/></conbroker>", &conf, &diags);
	is_int(rc, 0, "every limit given");
	if (conf != NULL) {
		is_int(conf->limits.connections, 100, "connections");
		is_int(conf->limits.per_identity, 5, "per-identity");
		is_int(conf->limits.handshaking, 10, "handshaking");
		is_int(conf->limits.hello_timeout, 3, "hello-timeout");
		ok(!conf->access_rules, "<limits> alone sets no access rules");
	}
	conf_free(conf);
	conf_diags_free(&diags);

	rc = tc_load_xml("<conbroker><limits per-identity='2'/></conbroker>",
	    &conf, &diags);
	is_int(rc, 0, "one limit given");
	ok(conf && conf->limits.per_identity == 2 &&
	    conf->limits.connections == 4096 && conf->limits.handshaking == 256 &&
	    conf->limits.hello_timeout == 10, "the others keep their defaults");
	conf_free(conf);
	conf_diags_free(&diags);

	rc = tc_load_xml("<conbroker><limits connections='1' per-identity='1' "
	    "handshaking='1' hello-timeout='1'/></conbroker>", &conf, &diags);
	is_int(rc, 0, "every limit at its minimum");
	ok(conf && conf->limits.connections == 1 && conf->limits.per_identity == 1
	    && conf->limits.handshaking == 1 && conf->limits.hello_timeout == 1,
	    "1, 1, 1, 1 s");
	conf_free(conf);
	conf_diags_free(&diags);

	rc = tc_load_xml("<conbroker><limits connections='1000000' "
	    "per-identity='1000000' handshaking='1000000' hello-timeout='3600'/>"
	    "</conbroker>", &conf, &diags);
	is_int(rc, 0, "every limit at its maximum");
	ok(conf && conf->limits.connections == 1000000 &&
	    conf->limits.per_identity == 1000000 &&
	    conf->limits.handshaking == 1000000 &&
	    conf->limits.hello_timeout == 3600, "1000000 three times and 3600 s");
	conf_free(conf);
	conf_diags_free(&diags);

	rc = tc_load_xml("<conbroker>\n<limits/>\n<access>\n"
	    "<!-- a comment is no stray element -->\n"
	    "<grant user='a' rights='watch'/>\n</access>\n</conbroker>",
	    &conf, &diags);
	is_int(rc, 0, "an empty <limits/> and a comment inside <access>");
	is_int(diags.count, 0, "quietly");
	conf_free(conf);
	conf_diags_free(&diags);
}

/* One mistake per config: the load fails and the message is exact. */
static void test_errors(void)
{
	static const struct {
		const char *xml;
		const char *diag;
	} cases[] = {
		/* Who the grant is for. */
		{ "<grant user='a' cn='b' rights='watch'/>",
		  "t.xml:3: <grant> needs exactly one of user=, group=, cn= and "
		  "address=" },
		{ "<grant group='a' address='192.0.2.1' rights='watch'/>",
		  "t.xml:3: <grant> needs exactly one of user=, group=, cn= and "
		  "address=" },
		{ "<grant user='a' group='b' cn='c' address='::1' rights='watch'/>",
		  "t.xml:3: <grant> needs exactly one of user=, group=, cn= and "
		  "address=" },
		{ "<grant rights='watch'/>",
		  "t.xml:3: <grant> needs exactly one of user=, group=, cn= and "
		  "address=" },
		{ "<grant domain='vm1' rights='write'/>",
		  "t.xml:3: <grant> needs exactly one of user=, group=, cn= and "
		  "address=" },
		{ "<grant user='' rights='watch'/>",
		  "t.xml:3: empty user in <grant>" },
		{ "<grant group='' rights='watch'/>",
		  "t.xml:3: empty group in <grant>" },
		{ "<grant cn='' rights='watch'/>",
		  "t.xml:3: empty cn in <grant>" },
		{ "<grant address='' rights='watch'/>",
		  "t.xml:3: empty address in <grant>" },
		/* Rights. */
		{ "<grant user='a'/>",
		  "t.xml:3: missing rights in <grant> (expected watch, write or "
		  "force)" },
		{ "<grant user='a' rights='admin'/>",
		  "t.xml:3: invalid rights 'admin' in <grant> (expected watch, "
		  "write or force)" },
		{ "<grant user='a' rights=''/>",
		  "t.xml:3: invalid rights '' in <grant> (expected watch, write or "
		  "force)" },
		{ "<grant user='a' rights='Write'/>",
		  "t.xml:3: invalid rights 'Write' in <grant> (expected watch, "
		  "write or force)" },
		{ "<grant user='a' rights='watch write'/>",
		  "t.xml:3: invalid rights 'watch write' in <grant> (expected "
		  "watch, write or force)" },
		{ "<grant user='a' rights='watch|write'/>",
		  "t.xml:3: invalid rights 'watch|write' in <grant> (expected "
		  "watch, write or force)" },
		/* Addresses. */
		{ "<grant address='example.org' rights='watch'/>",
		  "t.xml:3: invalid address 'example.org' in <grant> (expected a "
		  "numeric IPv4 or IPv6 address, optionally /BITS)" },
		{ "<grant address='192.0.2' rights='watch'/>",
		  "t.xml:3: invalid address '192.0.2' in <grant> (expected a "
		  "numeric IPv4 or IPv6 address, optionally /BITS)" },
		{ "<grant address='192.0.2.300' rights='watch'/>",
		  "t.xml:3: invalid address '192.0.2.300' in <grant> (expected a "
		  "numeric IPv4 or IPv6 address, optionally /BITS)" },
		{ "<grant address='2001:db8::g' rights='watch'/>",
		  "t.xml:3: invalid address '2001:db8::g' in <grant> (expected a "
		  "numeric IPv4 or IPv6 address, optionally /BITS)" },
		{ "<grant address='[2001:db8::1]' rights='watch'/>",
		  "t.xml:3: invalid address '[2001:db8::1]' in <grant> (expected a "
		  "numeric IPv4 or IPv6 address, optionally /BITS)" },
		{ "<grant address='192.0.2.1:80' rights='watch'/>",
		  "t.xml:3: invalid address '192.0.2.1:80' in <grant> (expected a "
		  "numeric IPv4 or IPv6 address, optionally /BITS)" },
		{ "<grant address='/24' rights='watch'/>",
		  "t.xml:3: invalid address '/24' in <grant> (expected a numeric "
		  "IPv4 or IPv6 address, optionally /BITS)" },
		{ "<grant address='192.0.2.0/' rights='watch'/>",
		  "t.xml:3: invalid address '192.0.2.0/' in <grant> (expected a "
		  "numeric IPv4 or IPv6 address, optionally /BITS)" },
		{ "<grant address='192.0.2.0/33' rights='watch'/>",
		  "t.xml:3: invalid address '192.0.2.0/33' in <grant> (expected a "
		  "numeric IPv4 or IPv6 address, optionally /BITS)" },
		{ "<grant address='2001:db8::/129' rights='watch'/>",
		  "t.xml:3: invalid address '2001:db8::/129' in <grant> (expected "
		  "a numeric IPv4 or IPv6 address, optionally /BITS)" },
		{ "<grant address='192.0.2.0/-1' rights='watch'/>",
		  "t.xml:3: invalid address '192.0.2.0/-1' in <grant> (expected a "
		  "numeric IPv4 or IPv6 address, optionally /BITS)" },
		{ "<grant address='192.0.2.0/24/8' rights='watch'/>",
		  "t.xml:3: invalid address '192.0.2.0/24/8' in <grant> (expected "
		  "a numeric IPv4 or IPv6 address, optionally /BITS)" },
		{ "<grant address='fe80::1%eth0' rights='watch'/>",
		  "t.xml:3: invalid address 'fe80::1%eth0' in <grant> (expected a "
		  "numeric IPv4 or IPv6 address, optionally /BITS)" },
		{ "<grant address='192.0.2.1/24' rights='watch'/>",
		  "t.xml:3: invalid address '192.0.2.1/24' in <grant> (bits are "
		  "set past the prefix)" },
		{ "<grant address='192.0.2.128/24' rights='watch'/>",
		  "t.xml:3: invalid address '192.0.2.128/24' in <grant> (bits are "
		  "set past the prefix)" },
		{ "<grant address='203.0.113.64/25' rights='watch'/>",
		  "t.xml:3: invalid address '203.0.113.64/25' in <grant> (bits are "
		  "set past the prefix)" },
		{ "<grant address='10.0.0.1/0' rights='watch'/>",
		  "t.xml:3: invalid address '10.0.0.1/0' in <grant> (bits are set "
		  "past the prefix)" },
		{ "<grant address='2001:db8::1/64' rights='watch'/>",
		  "t.xml:3: invalid address '2001:db8::1/64' in <grant> (bits are "
		  "set past the prefix)" },
		{ "<grant address='2001:db8:4000::/33' rights='watch'/>",
		  "t.xml:3: invalid address '2001:db8:4000::/33' in <grant> (bits "
		  "are set past the prefix)" },
		/* Attributes and elements that have no place. */
		{ "<grant user='a' rights='watch' domian='vm1'/>",
		  "t.xml:3: unknown attribute 'domian' on <grant>" },
		{ "<grant uid='0' rights='watch'/>",
		  "t.xml:3: unknown attribute 'uid' on <grant>\n"
		  "t.xml:3: <grant> needs exactly one of user=, group=, cn= and "
		  "address=" },
		{ "<deny user='a'/>",
		  "t.xml:3: unknown element <deny> in <access>" },
		{ "<access><grant user='a' rights='watch'/></access>",
		  "t.xml:3: unknown element <access> in <access>" },
		{ "<limits connections='10'/>",
		  "t.xml:3: unknown element <limits> in <access>" },
	};
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char xml[1024];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(xml, sizeof(xml), "<conbroker>\n<access>\n%s\n</access>\n"
		    "</conbroker>\n", cases[i].xml);
		rc = tc_load_xml(xml, &conf, &diags);
		is_int(rc, -EINVAL, "%s: the config is unusable", cases[i].xml);
		ok(conf == NULL, "%s: no registry", cases[i].xml);
		is_str(tc_diags(&diags, ""), cases[i].diag, "%s: FILE:LINE: message",
		    cases[i].xml);
		is_int(diags.errors, diags.count, "%s: every diagnostic is an error",
		    cases[i].xml);
		conf_free(conf);
		conf_diags_free(&diags);
	}
}

/* <limits> out of range, attributes on <access>/<limits>, and duplicates. */
static void test_setting_errors(void)
{
	static const struct {
		const char *xml;
		const char *diag;
	} cases[] = {
		{ "<limits connections='0'/>",
		  "t.xml:2: invalid connections '0' (expected 1 to 1000000)" },
		{ "<limits connections='1000001'/>",
		  "t.xml:2: invalid connections '1000001' (expected 1 to 1000000)" },
		{ "<limits per-identity='0'/>",
		  "t.xml:2: invalid per-identity '0' (expected 1 to 1000000)" },
		{ "<limits per-identity='99999999999999'/>",
		  "t.xml:2: invalid per-identity '99999999999999' (expected 1 to "
		  "1000000)" },
		{ "<limits handshaking='-1'/>",
		  "t.xml:2: invalid handshaking '-1' (expected 1 to 1000000)" },
		{ "<limits handshaking='2000000'/>",
		  "t.xml:2: invalid handshaking '2000000' (expected 1 to 1000000)" },
		{ "<limits hello-timeout='0'/>",
		  "t.xml:2: invalid hello-timeout '0' (expected 1 to 3600)" },
		{ "<limits hello-timeout='3601'/>",
		  "t.xml:2: invalid hello-timeout '3601' (expected 1 to 3600)" },
		{ "<limits hello-timeout='10s'/>",
		  "t.xml:2: invalid hello-timeout '10s' (expected 1 to 3600)" },
		{ "<limits connections=''/>",
		  "t.xml:2: invalid connections '' (expected 1 to 1000000)" },
		{ "<limits connections='0x10' hello-timeout='0'/>",
		  "t.xml:2: invalid connections '0x10' (expected 1 to 1000000)\n"
		  "t.xml:2: invalid hello-timeout '0' (expected 1 to 3600)" },
		{ "<limits timeout='5'/>",
		  "t.xml:2: unknown attribute 'timeout' on <limits>" },
		{ "<access default='deny'/>",
		  "t.xml:2: unknown attribute 'default' on <access>" },
		{ "<access/>\n<access/>",
		  "t.xml:3: duplicate <access> (first at line 2)" },
		{ "<access>\n<grant user='a' rights='watch'/>\n</access>\n"
		  "<access>\n<grant user='b' rights='force'/>\n</access>",
		  "t.xml:5: duplicate <access> (first at line 2)" },
		{ "<limits connections='10'/>\n<limits connections='20'/>",
		  "t.xml:3: duplicate <limits> (first at line 2)" },
		{ "<limits/>\n<access/>\n<limits/>",
		  "t.xml:4: duplicate <limits> (first at line 2)" },
		{ "<grant user='a' rights='watch'/>",
		  "t.xml:2: unknown element <grant> in <conbroker>" },
		{ "<access>alice may write</access>",
		  "t.xml:2: unexpected text in <access>" },
		{ "<access><grant user='a' rights='watch'/>and bob</access>",
		  "t.xml:2: unexpected text in <access>" },
	};
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	char xml[1024];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(xml, sizeof(xml), "<conbroker>\n%s\n</conbroker>\n",
		    cases[i].xml);
		rc = tc_load_xml(xml, &conf, &diags);
		is_int(rc, -EINVAL, "%s: the config is unusable",
		    ta_name(cases[i].xml));
		ok(conf == NULL, "%s: no registry", ta_name(cases[i].xml));
		is_str(tc_diags(&diags, ""), cases[i].diag, "%s: FILE:LINE: message",
		    ta_name(cases[i].xml));
		conf_free(conf);
		conf_diags_free(&diags);
	}
}

/* Several mistakes in one file: each is reported, each at its own line. */
static void test_many_errors(void)
{
	static const char xml[] =
	    "<conbroker>\n"                                             /* 1 */
	    "  <limits connections='0' per-identity='64'/>\n"           /* 2 */
	    "  <access>\n"                                              /* 3 */
	    "    <grant user='alice' rights='watch'/>\n"                /* 4 */
	    "    <grant cn='x' user='y' rights='watch'/>\n"             /* 5 */
	    "    <grant group='ops' rights='root'/>\n"                  /* 6 */
	    "    <grant address='192.0.2.1/24' rights='write'/>\n"      /* 7 */
	    "    <grant address='2001:db8::/48' rights='force'/>\n"     /* 8 */
	    "    <allow user='z'/>\n"                                   /* 9 */
	    "  </access>\n"                                             /* 10 */
	    "  <limits/>\n"                                             /* 11 */
	    "</conbroker>\n";
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	int rc;

	rc = conf_load_buffer("/etc/conbroker/conbroker.xml", xml, strlen(xml),
	    &conf, &diags);
	is_int(rc, -EINVAL, "a config with mistakes in <access> is unusable");
	ok(conf == NULL, "so a reload keeps the running rules");
	is_str(tc_diags(&diags, "/etc/conbroker/conbroker.xml:"),
	    "2: invalid connections '0' (expected 1 to 1000000)\n"
	    "5: <grant> needs exactly one of user=, group=, cn= and address=\n"
	    "6: invalid rights 'root' in <grant> (expected watch, write or force)\n"
	    "7: invalid address '192.0.2.1/24' in <grant> (bits are set past the "
	    "prefix)\n"
	    "9: unknown element <allow> in <access>\n"
	    "11: duplicate <limits> (first at line 2)",
	    "every mistake, with the file's name and its line");
	is_int(diags.count, 6, "and nothing else");
	is_int(diags.errors, 6, "all errors");
	conf_diags_free(&diags);
}

/* An IPv4-mapped IPv6 grant is the IPv4 grant the daemon can match. */
static void test_mapped(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;

	is_int(tc_load_xml("<conbroker><access>"
	    "<grant address='::ffff:192.0.2.7' rights='watch'/>"
	    "<grant address='::ffff:192.0.2.0/120' rights='watch'/>"
	    "<grant address='::ffff:0:0/96' rights='watch'/>"
	    "</access></conbroker>", &conf, &diags), 0, "mapped grants load");
	if (conf != NULL && conf->ngrants == 3) {
		is_int(conf->grants[0].family, AF_INET, "::ffff:192.0.2.7 is IPv4");
		is_str(ta_addr(&conf->grants[0]), "192.0.2.7/32", "as 192.0.2.7/32");
		is_str(ta_addr(&conf->grants[1]), "192.0.2.0/24",
		    "::ffff:192.0.2.0/120 is 192.0.2.0/24");
		is_str(ta_addr(&conf->grants[2]), "0.0.0.0/0",
		    "::ffff:0:0/96 is every IPv4 peer");
	} else {
		ok(0, "three grants");
	}
	conf_free(conf);
	conf_diags_free(&diags);
}

/* A grant or limits element holds attributes only. */
static void test_children(void)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;

	tc_load_xml("<conbroker>\n<access>\n"
	    "<grant user='a' rights='watch'><domain>x</domain></grant>\n"
	    "</access>\n<limits connections='10'>20</limits>\n</conbroker>",
	    &conf, &diags);
	ok(diags.count == 2, "two problems reported");
	if (diags.count == 2) {
		is_str(diags.items[0].text, "t.xml:3: unknown element <domain> in <grant>",
		    "an element inside <grant>");
		is_str(diags.items[1].text, "t.xml:5: unexpected text in <limits>",
		    "text inside <limits>");
	}
	conf_free(conf);
	conf_diags_free(&diags);
}

int main(void)
{
	test_mapped();
	test_children();
	test_grants();
	test_rights();
	test_defaults();
	test_errors();
	test_setting_errors();
	test_many_errors();
	return tap_done();
}
