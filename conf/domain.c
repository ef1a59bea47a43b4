/*
 * domain: one libvirt domain (a <domain> document, or the live <domstatus>
 * wrapper around one) into a struct conf_domain.
 *
 * Only <name>, <uuid>, the <serial> and <console> devices and conbroker's own
 * element under <metadata> are read; libvirt's other elements are passed over
 * without a look, so any file libvirt writes loads.  Any error in a domain
 * skips that domain, after every problem in it has been reported.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf-private.h"

/* The character device types libvirt knows; only "pty" is brokered. */
static const char *const conf_chr_types[] = {
	"null", "vc", "pty", "dev", "file", "pipe", "stdio", "udp", "tcp",
	"unix", "spicevmc", "spiceport", "nmdm", "qemu-vdagent", "dbus", NULL
};

/* Release what a console owns and zero it. */
void conf_console_clear(struct conf_console *c)
{
	size_t i;

	free(c->alias);
	free(c->element);
	free(c->target_type);
	free(c->source_type);
	free(c->pty_path);
	for (i = 0; c->spawn_argv != NULL && c->spawn_argv[i] != NULL; i++)
		free(c->spawn_argv[i]);
	free(c->spawn_argv);
	free(c->owner_pid_file);
	free(c->file);
	memset(c, 0, sizeof(*c));
}

/* Release what a domain owns and zero it. */
void conf_domain_clear(struct conf_domain *d)
{
	size_t i;

	for (i = 0; i < d->nconsoles; i++)
		conf_console_clear(&d->consoles[i]);
	free(d->consoles);
	free(d->name);
	free(d->instance);
	free(d->file);
	memset(d, 0, sizeof(*d));
}

/*
 * Parse a UUID the way libvirt does: 32 hex digits in any case, dashes
 * anywhere between them, blanks around.  libuuid checks the canonical form.
 */
int conf_uuid_parse(const char *text, uuid_t uuid)
{
	char canon[37];
	size_t n = 0, out = 0;

	while (isspace((unsigned char)*text))
		text++;
	for (; *text != '\0' && !isspace((unsigned char)*text); text++) {
		if (*text == '-')
			continue;
		if (!isxdigit((unsigned char)*text) || n == 32)
			return -EINVAL;
		if (n == 8 || n == 12 || n == 16 || n == 20)
			canon[out++] = '-';
		canon[out++] = (char)tolower((unsigned char)*text);
		n++;
	}
	while (isspace((unsigned char)*text))
		text++;
	if (n != 32 || *text != '\0')
		return -EINVAL;
	canon[out] = '\0';
	return uuid_parse(canon, uuid) == 0 ? 0 : -EINVAL;
}

/* Why a pty path may not be opened, or NULL when it may. */
static const char *conf_pty_path_problem(const char *path)
{
	const char *p;

	if (strncmp(path, "/dev/", 5) != 0 || path[5] == '\0')
		return "is not an absolute path under /dev";
	for (p = path; (p = strstr(p, "/..")) != NULL; p += 3)
		if (p[3] == '/' || p[3] == '\0')
			return "has a '..' component";
	return NULL;
}

/* Read the attributes and children of one <serial> or <console>. */
static void conf_chr_read(struct conf_loader *ld, xmlNode *node,
    struct conf_chr *chr, const char *file)
{
	xmlNode *child;
	const char *value;
	int known = 0, i;

	chr->element = (const char *)node->name;
	chr->line = conf_xml_line(node);
	chr->duplicate_of = -1;
	chr->source_type = conf_xml_attr(node, "type");
	if (chr->source_type == NULL)
		chr->source_type = "pty"; /* libvirt's default */
	chr->tty = conf_xml_attr(node, "tty");
	for (child = node->children; child != NULL; child = child->next) {
		if (conf_xml_is(child, "source") && chr->path == NULL) {
			chr->path = conf_xml_attr(child, "path");
		} else if (conf_xml_is(child, "target")) {
			chr->target_type = conf_xml_attr(child, "type");
		} else if (conf_xml_is(child, "alias")) {
			value = conf_xml_attr(child, "name");
			if (value != NULL && *value != '\0')
				chr->alias = value;
		}
	}
	for (i = 0; conf_chr_types[i] != NULL; i++)
		known |= strcmp(conf_chr_types[i], chr->source_type) == 0;
	if (!known)
		conf_diag(ld->diags, CONF_WARNING, file, chr->line,
		    "unknown <%s> type '%s', listed as unsupported",
		    chr->element, chr->source_type);
}

/*
 * Find which <console> is a <serial> under another name.  Live XML gives the
 * two the same alias; inactive XML has no aliases, and there libvirt's rule
 * is that a first console with a serial target is the first serial.
 */
static void conf_chr_pair(struct conf_chr *chrs, size_t n)
{
	size_t i, j, first_serial = n;

	for (i = 0; i < n; i++)
		if (strcmp(chrs[i].element, "serial") == 0) {
			first_serial = i;
			break;
		}
	for (i = 0; i < n; i++) {
		struct conf_chr *c = &chrs[i];

		if (strcmp(c->element, "console") != 0 ||
		    c->target_type == NULL || strcmp(c->target_type, "serial"))
			continue;
		if (c->alias != NULL) {
			for (j = 0; j < n; j++)
				if (strcmp(chrs[j].element, "serial") == 0 &&
				    chrs[j].alias != NULL &&
				    strcmp(chrs[j].alias, c->alias) == 0)
					c->duplicate_of = (int)j;
		} else if (c->index == 0 && first_serial < n) {
			c->duplicate_of = (int)first_serial;
		}
	}
}

/* libvirt's alias for a device that has none written down. */
static char *conf_chr_alias(const struct conf_chr *chr, size_t nserials)
{
	char *alias = NULL;

	if (chr->alias != NULL)
		return conf_strdup(chr->alias);
	/* A lone serial-target console is libvirt's serial0 once it runs. */
	if (strcmp(chr->element, "console") == 0 && chr->index == 0 &&
	    nserials == 0 && chr->target_type != NULL &&
	    strcmp(chr->target_type, "serial") == 0)
		return conf_strdup("serial0");
	if (asprintf(&alias, "%s%d", chr->element, chr->index) < 0)
		return NULL;
	return alias;
}

/* The pty path of a device: its <source path>, else the console's tty=. */
static const char *conf_chr_path(const struct conf_chr *chr)
{
	if (chr->path != NULL && *chr->path != '\0')
		return chr->path;
	if (chr->tty != NULL && *chr->tty != '\0')
		return chr->tty;
	return NULL;
}

/* Fill one console from a device (and the console that shares it, if any). */
static int conf_console_fill(struct conf_loader *ld, struct conf_console *c,
    const struct conf_chr *chr, const struct conf_chr *twin, size_t nserials,
    const char *file)
{
	const char *path = conf_chr_path(chr), *twin_path, *problem;
	int pty = strcmp(chr->source_type, "pty") == 0;

	if (twin != NULL) {
		twin_path = conf_chr_path(twin);
		if (path == NULL)
			path = twin_path;
		else if (twin_path != NULL && strcmp(path, twin_path) != 0)
			conf_diag(ld->diags, CONF_WARNING, file, twin->line,
			    "<console> names pty '%s' but shares its device with "
			    "the <serial> at line %d, which names '%s'; using "
			    "the serial's", twin_path, chr->line, path);
		c->also_console = 1;
	}
	problem = pty && path != NULL ? conf_pty_path_problem(path) : NULL;
	if (problem != NULL)
		conf_diag(ld->diags, CONF_ERROR, file, chr->line, "pty path "
		    "'%s' %s", path, problem);
	c->type = pty ? CONF_CONSOLE_PTY : CONF_CONSOLE_UNSUPPORTED;
	c->capture = CONF_CAPTURE_ATTACHED;
	c->line = chr->line;
	c->alias = conf_chr_alias(chr, nserials);
	c->element = conf_strdup(chr->element);
	c->source_type = conf_strdup(chr->source_type);
	c->file = conf_strdup(file);
	if (chr->target_type != NULL)
		c->target_type = conf_strdup(chr->target_type);
	if (pty && path != NULL)
		c->pty_path = conf_strdup(path);
	if (c->alias == NULL || c->element == NULL || c->source_type == NULL ||
	    c->file == NULL || (chr->target_type && c->target_type == NULL) ||
	    (pty && path != NULL && c->pty_path == NULL))
		return -ENOMEM;
	return 0;
}

/* Collect the <serial> and <console> devices of <devices>, in order. */
static int conf_chr_collect(struct conf_loader *ld, xmlNode *devices,
    const char *file, struct conf_chr **out, size_t *count, size_t *nserials)
{
	size_t n = 0, cap = 0, ncons = 0;
	struct conf_chr *chrs = NULL, *grown;
	xmlNode *node;

	*nserials = 0;
	for (node = devices ? devices->children : NULL; node; node = node->next) {
		int serial = conf_xml_is(node, "serial");

		if (!serial && !conf_xml_is(node, "console"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			grown = realloc(chrs, cap * sizeof(*chrs));
			if (grown == NULL) {
				free(chrs);
				return -ENOMEM;
			}
			chrs = grown;
		}
		memset(&chrs[n], 0, sizeof(chrs[n]));
		chrs[n].index = serial ? (int)(*nserials)++ : (int)ncons++;
		conf_chr_read(ld, node, &chrs[n], file);
		n++;
	}
	*out = chrs;
	*count = n;
	return 0;
}

/* Report two devices that answer to the same alias. */
static void conf_consoles_check(struct conf_loader *ld,
    const struct conf_domain *d)
{
	size_t i, j;

	for (i = 0; i < d->nconsoles; i++)
		for (j = 0; j < i; j++)
			if (strcmp(d->consoles[i].alias, d->consoles[j].alias) == 0) {
				conf_diag(ld->diags, CONF_ERROR, d->file,
				    d->consoles[i].line, "duplicate alias '%s' "
				    "(also at line %d)", d->consoles[i].alias,
				    d->consoles[j].line);
				break;
			}
}

/* Build the domain's consoles from its devices. */
static int conf_domain_consoles(struct conf_loader *ld, xmlNode *devices,
    struct conf_domain *d)
{
	struct conf_chr *chrs = NULL;
	const struct conf_chr *twin;
	size_t n, nserials, i, j;
	int ret;

	ret = conf_chr_collect(ld, devices, d->file, &chrs, &n, &nserials);
	if (ret < 0)
		return ret;
	conf_chr_pair(chrs, n);
	d->consoles = calloc(n ? n : 1, sizeof(*d->consoles));
	if (d->consoles == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (chrs[i].duplicate_of >= 0)
			continue;
		twin = NULL;
		for (j = 0; j < n; j++)
			if (chrs[j].duplicate_of == (int)i)
				twin = &chrs[j];
		ret = conf_console_fill(ld, &d->consoles[d->nconsoles++],
		    &chrs[i], twin, nserials, d->file);
		if (ret < 0)
			goto out;
	}
	conf_consoles_check(ld, d);
out:
	free(chrs);
	return ret;
}

/* Read <name>, checking it is one libvirt would accept. */
static int conf_domain_name(struct conf_loader *ld, xmlNode *node,
    struct conf_domain *d)
{
	char *name = conf_xml_text(node), *end;
	const char *p;

	if (name == NULL)
		return -ENOMEM;
	/* Hand-written files indent; libvirt never puts blanks around it. */
	for (end = name + strlen(name); end > name && isspace((unsigned char)end[-1]); )
		*--end = '\0';
	for (p = name; isspace((unsigned char)*p); p++)
		;
	memmove(name, p, strlen(p) + 1);
	d->name = name;
	if (*name == '\0') {
		conf_diag(ld->diags, CONF_ERROR, d->file, conf_xml_line(node),
		    "empty <name>");
		return 0;
	}
	for (p = name; *p != '\0'; p++)
		if (*p == '/' || iscntrl((unsigned char)*p)) {
			conf_diag(ld->diags, CONF_ERROR, d->file,
			    conf_xml_line(node), "domain name '%s' contains "
			    "'/' or a control character", name);
			break;
		}
	return 0;
}

/* Read <uuid> into its binary and canonical forms. */
static int conf_domain_uuid(struct conf_loader *ld, xmlNode *node,
    struct conf_domain *d)
{
	char *text = conf_xml_text(node);

	if (text == NULL)
		return -ENOMEM;
	if (conf_uuid_parse(text, d->uuid) < 0)
		conf_diag(ld->diags, CONF_ERROR, d->file, conf_xml_line(node),
		    "invalid UUID '%s' " CONF_UUID_FORM, text);
	else
		uuid_unparse_lower(d->uuid, d->uuid_str);
	free(text);
	return 0;
}

/* The <domain> of a document: itself, or the one inside <domstatus>. */
static xmlNode *conf_domain_element(struct conf_loader *ld, xmlNode *root,
    const char *file)
{
	xmlNode *node;

	if (conf_xml_is(root, "domain"))
		return root;
	if (!conf_xml_is(root, "domstatus")) {
		conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(root),
		    "root element is <%s>, expected <domain> or <domstatus>",
		    (const char *)root->name);
		return NULL;
	}
	for (node = root->children; node != NULL; node = node->next)
		if (conf_xml_is(node, "domain"))
			return node;
	conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(root),
	    "<domstatus> has no <domain>");
	return NULL;
}

/* Read name, uuid, devices and conbroker's metadata of one <domain>. */
static int conf_domain_parse(struct conf_loader *ld, xmlNode *dom,
    struct conf_domain *d, int *name_line, int *uuid_line)
{
	xmlNode *node, *name = NULL, *uuid = NULL, *devices = NULL, *meta = NULL;
	int ret;

	for (node = dom->children; node != NULL; node = node->next) {
		if (conf_xml_is(node, "name") && name == NULL)
			name = node;
		else if (conf_xml_is(node, "uuid") && uuid == NULL)
			uuid = node;
		else if (conf_xml_is(node, "devices") && devices == NULL)
			devices = node;
		else if (conf_xml_is(node, "metadata") && meta == NULL)
			meta = node;
	}
	if (name == NULL)
		conf_diag(ld->diags, CONF_ERROR, d->file, d->line,
		    "<domain> has no <name>");
	else if ((ret = conf_domain_name(ld, name, d)) < 0)
		return ret;
	if (uuid == NULL)
		conf_diag(ld->diags, CONF_ERROR, d->file, d->line,
		    "<domain> has no <uuid>");
	else if ((ret = conf_domain_uuid(ld, uuid, d)) < 0)
		return ret;
	*name_line = name ? conf_xml_line(name) : d->line;
	*uuid_line = uuid ? conf_xml_line(uuid) : d->line;
	ret = conf_domain_consoles(ld, devices, d);
	if (ret < 0)
		return ret;
	for (node = meta ? meta->children : NULL; node; node = node->next) {
		if (!conf_xml_is_ns(node, "consoles"))
			continue;
		ret = conf_meta_apply(ld, node, d);
		break;
	}
	return ret;
}

/*
 * Which run of the domain this is.  A restarted guest may get the same
 * /dev/pts number back, so the path alone cannot tell a new pty from the old
 * one; libvirt's QEMU pid (domstatus) and domain id change with every start.
 * The pid is also the process that must still hold the domain's ptys for the
 * daemon to open them (conf_console_owner).
 */
static int conf_domain_instance(struct conf_loader *ld, const xmlNode *root,
    const xmlNode *dom, struct conf_domain *d)
{
	const char *pid = root != dom ? conf_xml_attr(root, "pid") : NULL;
	const char *id = conf_xml_attr(dom, "id");
	unsigned long long value;

	if (pid != NULL && conf_parse_uint(pid, 1, CONF_PID_MAX, &value) == 0)
		d->pid = (pid_t)value;
	else if (pid != NULL)
		conf_diag(ld->diags, CONF_WARNING, d->file, conf_xml_line(root),
		    "<%s> pid '%s' is not a process id; its ptys have no known"
		    " owner", (const char *)root->name, pid);
	if (pid == NULL && id == NULL)
		return 0;
	if (asprintf(&d->instance, "%s%s%s%s%s", pid ? "pid " : "", pid ? pid : "",
	    pid && id ? " " : "", id ? "id " : "", id ? id : "") < 0) {
		d->instance = NULL;
		return -ENOMEM;
	}
	return 0;
}

/*
 * Read the domain of a document (root: <domain> or <domstatus>) into *d,
 * which the caller then owns.  Returns 0, -EINVAL when it was reported and
 * must be skipped, or -ENOMEM.  Touches no registry: worker threads call it.
 */
int conf_domain_read(struct conf_loader *ld, xmlNode *root, const char *file,
    struct conf_domain *d, int *name_line, int *uuid_line)
{
	size_t errors = ld->diags->errors;
	xmlNode *dom;
	int ret;

	memset(d, 0, sizeof(*d));
	dom = conf_domain_element(ld, root, file);
	if (dom == NULL)
		return -EINVAL;
	d->file = conf_strdup(file);
	if (d->file == NULL)
		return -ENOMEM;
	d->line = conf_xml_line(dom);
	d->written = ld->mtime;
	ret = conf_domain_instance(ld, root, dom, d);
	if (ret == 0)
		ret = conf_domain_parse(ld, dom, d, name_line, uuid_line);
	if (ret == 0 && ld->diags->errors > errors)
		ret = -EINVAL;
	if (ret < 0)
		conf_domain_clear(d);
	return ret;
}

enum conf_owner conf_console_owner(const struct conf_domain *d,
    const struct conf_console *c)
{
	if (c->type == CONF_CONSOLE_SPAWN)
		return CONF_OWNER_SELF;
	if (c->trust_path)
		return CONF_OWNER_TRUSTED;
	if (c->owner_pid_file != NULL)
		return CONF_OWNER_PID_FILE;
	return d->pid > 0 ? CONF_OWNER_PROCESS : CONF_OWNER_NONE;
}

/* A warning for each pty path that nothing proves to be its domain's. */
static void conf_check_owners(const struct conf *conf, struct conf_diags *diags)
{
	const struct conf_domain *d;
	const struct conf_console *c;
	size_t i, j;

	for (i = 0; i < conf->ndomains; i++) {
		d = &conf->domains[i];
		for (j = 0; j < d->nconsoles; j++) {
			c = &d->consoles[j];
			if (c->type != CONF_CONSOLE_PTY || c->pty_path == NULL ||
			    strncmp(c->pty_path, "/dev/pts/", 9) != 0 ||
			    conf_console_owner(d, c) != CONF_OWNER_NONE)
				continue;
			conf_diag(diags, CONF_WARNING, c->file, c->line, "console "
			    "'%s' of domain '%s': nothing proves that %s is still the"
			    " domain's pty, so it will not be opened (no <domstatus"
			    " pid>; give <cb:console alias='%s'> an owner-pid-file,"
			    " or trust='path')", c->alias, d->name, c->pty_path,
			    c->alias);
		}
	}
}

/* Without <access>, a TCP peer may do nothing: say so for each listener. */
static void conf_check_listeners(const struct conf *conf, struct conf_diags *diags)
{
	size_t i;

	for (i = 0; i < conf->nlistens && !conf->access_rules; i++)
		if (conf->listens[i].type == CONF_LISTEN_TCP)
			conf_diag(diags, CONF_WARNING, conf->listens[i].file,
			    conf->listens[i].line, "tcp listener %s:%s grants nothing"
			    " to anyone: without <access>, only local Unix peers have"
			    " rights; add <access> grants for its peers (cn= behind"
			    " a TLS proxy, address=)", conf->listens[i].host,
			    conf->listens[i].port);
}

size_t conf_check_policy(const struct conf *conf, struct conf_diags *diags)
{
	size_t before = diags->count;

	conf_check_owners(conf, diags);
	conf_check_listeners(conf, diags);
	return diags->count - before;
}

/* Read a domain and add it to the registry: 0, -EINVAL (skipped), -ENOMEM. */
int conf_domain_load(struct conf_loader *ld, xmlNode *root, const char *file)
{
	struct conf_domain d;
	int name_line = 0, uuid_line = 0, ret;

	ret = conf_domain_read(ld, root, file, &d, &name_line, &uuid_line);
	if (ret == 0)
		ret = conf_registry_add(ld, &d, name_line, uuid_line);
	if (ret < 0)
		conf_domain_clear(&d);
	return ret;
}
