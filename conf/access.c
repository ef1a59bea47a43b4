/*
 * access: who may watch, write and force which consoles (<access>), and the
 * bounds on connections (<limits>).
 *
 *   <access>
 *     <grant user='alice' rights='write'/>
 *     <grant group='ops' domain='web*' rights='force'/>
 *     <grant cn='laptop.ops.example' domain='db01' console='serial0' rights='watch'/>
 *     <grant address='192.0.2.0/24' rights='watch'/>
 *   </access>
 *   <limits connections='4096' per-identity='64' handshaking='256' hello-timeout='10'/>
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf-private.h"

const char *conf_right_name(unsigned right)
{
	if (right & CONF_RIGHT_FORCE)
		return "force";
	if (right & CONF_RIGHT_WRITE)
		return "write";
	if (right & CONF_RIGHT_WATCH)
		return "watch";
	return "none";
}

/* "watch", "write" or "force" (one word: each implies the weaker ones). */
static int conf_parse_rights(const char *text, unsigned *out)
{
	if (strcmp(text, "watch") == 0)
		*out = CONF_RIGHT_WATCH;
	else if (strcmp(text, "write") == 0)
		*out = CONF_RIGHT_WATCH | CONF_RIGHT_WRITE;
	else if (strcmp(text, "force") == 0)
		*out = CONF_RIGHTS_ALL;
	else
		return -EINVAL;
	return 0;
}

/* An IPv4-mapped IPv6 grant means IPv4: the daemon sees such peers so. */
static void conf_unmap_grant(struct conf_grant *g)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (g->family != AF_INET6 || g->prefix < 96 || memcmp(g->addr, mapped, 12) != 0)
		return;
	memmove(g->addr, g->addr + 12, 4);
	memset(g->addr + 4, 0, 12);
	g->family = AF_INET;
	g->prefix -= 96;
}

/* Nothing belongs inside an element that is all attributes. */
static void conf_no_children(struct conf_loader *ld, const xmlNode *node,
    const char *file)
{
	const xmlNode *child;

	for (child = node->children; child != NULL; child = child->next)
		conf_xml_stray(ld, child, node, file);
}

/* "ADDRESS" or "ADDRESS/BITS", IPv4 or IPv6, host bits zero. */
static int conf_parse_prefix(const char *text, struct conf_grant *g)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long long bits;
	unsigned max, i;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	g->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(g->family, buf, g->addr) != 1)
		return -EINVAL;
	max = g->family == AF_INET ? 32 : 128;
	bits = max;
	if (slash != NULL && conf_parse_uint(slash + 1, 0, max, &bits) < 0)
		return -ERANGE;
	g->prefix = (unsigned)bits;
	for (i = g->prefix; i < max; i++)
		if (g->addr[i / 8] & (0x80 >> (i % 8)))
			return -EDOM;
	conf_unmap_grant(g);
	return 0;
}

/* Who a <grant> is for: exactly one of user=, group=, cn=, address=. */
static int conf_grant_who(struct conf_loader *ld, const xmlNode *node,
    const char *file, struct conf_grant *g)
{
	static const char *const names[] = { "user", "group", "cn", "address" };
	int line = conf_xml_line(node), found = 0, i, rc;
	const char *value = NULL, *v;

	for (i = 0; i < 4; i++) {
		v = conf_xml_attr(node, names[i]);
		if (v == NULL)
			continue;
		found++;
		value = v;
		g->who = (enum conf_who)i;
	}
	if (found != 1) {
		conf_diag(ld->diags, CONF_ERROR, file, line, "<grant> needs exactly "
		    "one of user=, group=, cn= and address=");
		return -EINVAL;
	}
	if (*value == '\0') {
		conf_diag(ld->diags, CONF_ERROR, file, line, "empty %s in <grant>",
		    names[g->who]);
		return -EINVAL;
	}
	if (g->who == CONF_WHO_ADDRESS && (rc = conf_parse_prefix(value, g)) < 0) {
		conf_diag(ld->diags, CONF_ERROR, file, line, "invalid address '%s' in"
		    " <grant> (%s)", value, rc == -EDOM ? "bits are set past the prefix"
		    : "expected a numeric IPv4 or IPv6 address, optionally /BITS");
		return -EINVAL;
	}
	g->name = conf_strdup(value);
	return g->name ? 0 : -ENOMEM;
}

/* One <grant>: who, which consoles, which right. */
static int conf_grant(struct conf_loader *ld, const xmlNode *node,
    const char *file)
{
	static const char *const attrs[] = { "user", "group", "cn", "address",
	    "domain", "console", "rights", NULL };
	struct conf *conf = &ld->reg->pub;
	struct conf_grant g, *grown;
	const char *rights, *domain, *console;
	int line = conf_xml_line(node), rc;

	memset(&g, 0, sizeof(g));
	conf_xml_check_attrs(ld, node, file, attrs);
	conf_no_children(ld, node, file);
	rc = conf_grant_who(ld, node, file, &g);
	if (rc < 0)
		goto fail;
	rights = conf_xml_attr(node, "rights");
	if (rights == NULL || conf_parse_rights(rights, &g.rights) < 0) {
		conf_diag(ld->diags, CONF_ERROR, file, line, "%s rights%s%s%s in <grant>"
		    " (expected watch, write or force)", rights ? "invalid" : "missing",
		    rights ? " '" : "", rights ? rights : "", rights ? "'" : "");
		rc = -EINVAL;
		goto fail;
	}
	domain = conf_xml_attr(node, "domain");
	console = conf_xml_attr(node, "console");
	g.domain = conf_strdup(domain ? domain : "*");
	g.console = conf_strdup(console ? console : "*");
	g.file = conf_strdup(file);
	g.line = line;
	grown = g.domain && g.console && g.file ?
	    realloc(conf->grants, (conf->ngrants + 1) * sizeof(*grown)) : NULL;
	if (grown == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	conf->grants = grown;
	grown[conf->ngrants++] = g;
	return 0;
fail:
	free(g.name);
	free(g.domain);
	free(g.console);
	free(g.file);
	return rc == -ENOMEM ? rc : 0;
}

/* <access>: its presence means the grants decide, for every transport. */
int conf_access(struct conf_loader *ld, const xmlNode *node, const char *file)
{
	const xmlNode *child;
	int rc;

	conf_xml_check_attrs(ld, node, file, (const char *const[]){ NULL });
	ld->reg->pub.access_rules = 1;
	for (child = node->children; child != NULL; child = child->next) {
		if (!conf_xml_is(child, "grant")) {
			conf_xml_stray(ld, child, node, file);
			continue;
		}
		rc = conf_grant(ld, child, file);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* One number of <limits>, in [min, max]. */
static void conf_limit(struct conf_loader *ld, const xmlNode *node,
    const char *file, const char *name, unsigned min, unsigned max,
    unsigned *out)
{
	const char *value = conf_xml_attr(node, name);
	unsigned long long n;

	if (value == NULL)
		return;
	if (conf_parse_uint(value, min, max, &n) < 0) {
		conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(node),
		    "invalid %s '%s' (expected %u to %u)", name, value, min, max);
		return;
	}
	*out = (unsigned)n;
}

int conf_limits(struct conf_loader *ld, const xmlNode *node, const char *file)
{
	struct conf_limits *l = &ld->reg->pub.limits;

	conf_xml_check_attrs(ld, node, file, (const char *const[]){ "connections",
	    "per-identity", "handshaking", "hello-timeout", NULL });
	conf_no_children(ld, node, file);
	conf_limit(ld, node, file, "connections", 1, 1000000, &l->connections);
	conf_limit(ld, node, file, "per-identity", 1, 1000000, &l->per_identity);
	conf_limit(ld, node, file, "handshaking", 1, 1000000, &l->handshaking);
	conf_limit(ld, node, file, "hello-timeout", 1, 3600, &l->hello_timeout);
	return 0;
}

void conf_grants_free(struct conf *conf)
{
	size_t i;

	for (i = 0; i < conf->ngrants; i++) {
		free(conf->grants[i].name);
		free(conf->grants[i].domain);
		free(conf->grants[i].console);
		free(conf->grants[i].file);
	}
	free(conf->grants);
	conf->grants = NULL;
	conf->ngrants = 0;
}
