/*
 * meta: conbroker's own per-console settings, in its namespace under the
 * domain's <metadata>, where libvirt keeps what applications add:
 *
 *   <metadata>
 *     <cb:consoles xmlns:cb="http://conbroker.org/schemas/domain/1.0">
 *       <cb:console alias="serial0" capture="always"/>
 *       <cb:console alias="serial1" owner-pid-file="/run/vm7.pid"/>
 *       <cb:console alias="console0">
 *         <cb:spawn><cb:arg>/bin/sh</cb:arg><cb:arg>-i</cb:arg></cb:spawn>
 *       </cb:console>
 *     </cb:consoles>
 *   </metadata>
 *
 * A <cb:console> names a device by its alias.  With <cb:spawn> the daemon
 * allocates the pty and runs the command on it; the alias then either names
 * a pty device of the domain or adds a console of its own.  owner-pid-file
 * names the file in which the hypervisor writes its PID, and trust='path'
 * takes the pty path as the domain's without proof: either stands for the
 * <domstatus pid> that hand-written definitions lack (conf_console_owner).
 * Unlike libvirt's
 * vocabulary, which conf reads leniently, this one is checked strictly: a
 * misspelt setting is an error, not a silent default.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf-private.h"

/* The settings one <cb:console> gives its console. */
struct conf_meta {
	enum conf_capture capture;
	char *owner_pid_file;
	int trust_path;
	char **argv;  /* <cb:spawn>, or NULL */
	int spawned;  /* a <cb:spawn> is there, even one too broken for an argv */
};

/* Read <cb:spawn> into a NULL-terminated argv. */
static int conf_meta_spawn(struct conf_loader *ld, xmlNode *spawn,
    const char *file, char ***out)
{
	size_t n = 0, i;
	char **argv;
	xmlNode *node;

	*out = NULL;
	conf_xml_check_attrs(ld, spawn, file, (const char *const[]){ NULL });
	for (node = spawn->children; node != NULL; node = node->next)
		if (conf_xml_is_ns(node, "arg"))
			n++;
		else
			conf_xml_stray(ld, node, spawn, file);
	if (n == 0) {
		conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(spawn),
		    "<cb:spawn> has no <cb:arg>");
		return 0;
	}
	argv = calloc(n + 1, sizeof(*argv));
	if (argv == NULL)
		return -ENOMEM;
	*out = argv;
	i = 0;
	for (node = spawn->children; node != NULL; node = node->next) {
		if (!conf_xml_is_ns(node, "arg"))
			continue;
		conf_xml_check_attrs(ld, node, file, (const char *const[]){ NULL });
		argv[i] = conf_xml_text(node);
		if (argv[i++] == NULL)
			return -ENOMEM;
	}
	/* The daemon runs it with execv(): no search of PATH, no surprise. */
	if (argv[0][0] != '/')
		conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(spawn),
		    "spawn command '%s' is not an absolute path", argv[0]);
	return 0;
}

/* The console with this alias, or NULL. */
static struct conf_console *conf_meta_console(struct conf_domain *d,
    const char *alias)
{
	size_t i;

	for (i = 0; i < d->nconsoles; i++)
		if (strcmp(d->consoles[i].alias, alias) == 0)
			return &d->consoles[i];
	return NULL;
}

/* Add a console that exists only to be spawned. */
static int conf_meta_add(struct conf_domain *d, const char *alias,
    int line, struct conf_console **out)
{
	struct conf_console *consoles, *c;

	consoles = realloc(d->consoles, (d->nconsoles + 1) * sizeof(*consoles));
	if (consoles == NULL)
		return -ENOMEM;
	d->consoles = consoles;
	c = &consoles[d->nconsoles++];
	memset(c, 0, sizeof(*c));
	c->line = line;
	c->alias = conf_strdup(alias);
	c->element = conf_strdup("console");
	c->file = conf_strdup(d->file);
	*out = c;
	return c->alias && c->element && c->file ? 0 : -ENOMEM;
}

/*
 * Give a console its spawned command: the daemon makes the pty.  Returns 1
 * when the console took argv, 0 when it was refused (and reported).
 */
static int conf_meta_make_spawn(struct conf_loader *ld, struct conf_domain *d,
    const char *alias, int line, char **argv)
{
	struct conf_console *c = conf_meta_console(d, alias);
	int ret;

	if (c == NULL) {
		ret = conf_meta_add(d, alias, line, &c);
		if (ret < 0)
			return ret;
	} else if (c->type != CONF_CONSOLE_PTY) {
		conf_diag(ld->diags, CONF_ERROR, d->file, line, "console '%s' "
		    "has type '%s'; only a pty console can be spawned", alias,
		    c->source_type ? c->source_type : "?");
		return 0;
	}
	c->type = CONF_CONSOLE_SPAWN;
	free(c->pty_path);
	c->pty_path = NULL;
	c->spawn_argv = argv;
	return 1;
}

/* Read owner-pid-file and trust: what proves the pty is the domain's. */
static int conf_meta_owner(struct conf_loader *ld, xmlNode *node,
    const char *file, struct conf_meta *m)
{
	const char *value;
	int line = conf_xml_line(node);

	value = conf_xml_attr(node, "trust");
	if (value != NULL && strcmp(value, "path") == 0)
		m->trust_path = 1;
	else if (value != NULL)
		conf_diag(ld->diags, CONF_ERROR, file, line, "invalid trust "
		    "'%s' (expected 'path')", value);
	value = conf_xml_attr(node, "owner-pid-file");
	if (value == NULL)
		return 0;
	if (value[0] != '/') {
		conf_diag(ld->diags, CONF_ERROR, file, line, "owner-pid-file "
		    "'%s' is not an absolute path", value);
		return 0;
	}
	if (m->trust_path)
		conf_diag(ld->diags, CONF_ERROR, file, line, "owner-pid-file and "
		    "trust='path' exclude each other: the pid file proves what"
		    " trust='path' takes on faith");
	m->owner_pid_file = conf_strdup(value);
	return m->owner_pid_file != NULL ? 0 : -ENOMEM;
}

/* Read the attributes and <cb:spawn> of one <cb:console>. */
static int conf_meta_read(struct conf_loader *ld, xmlNode *node,
    const char *file, struct conf_meta *m)
{
	static const char *const attrs[] = { "alias", "capture",
	    "owner-pid-file", "trust", NULL };
	const char *value;
	xmlNode *child, *spawn = NULL;
	int line = conf_xml_line(node), ret;

	conf_xml_check_attrs(ld, node, file, attrs);
	m->capture = CONF_CAPTURE_ATTACHED;
	value = conf_xml_attr(node, "capture");
	if (value != NULL && strcmp(value, "always") == 0)
		m->capture = CONF_CAPTURE_ALWAYS;
	else if (value != NULL && strcmp(value, "attached") != 0)
		conf_diag(ld->diags, CONF_ERROR, file, line, "invalid capture "
		    "'%s' (expected 'always' or 'attached')", value);
	value = conf_xml_attr(node, "alias");
	if (value == NULL || *value == '\0')
		conf_diag(ld->diags, CONF_ERROR, file, line,
		    "<cb:console> needs an alias attribute");
	if ((ret = conf_meta_owner(ld, node, file, m)) < 0)
		return ret;
	for (child = node->children; child != NULL; child = child->next) {
		if (conf_xml_is_ns(child, "spawn") && spawn == NULL)
			spawn = child;
		else
			conf_xml_stray(ld, child, node, file);
	}
	m->spawned = spawn != NULL;
	if (spawn != NULL && (m->owner_pid_file != NULL || m->trust_path))
		conf_diag(ld->diags, CONF_ERROR, file, line, "a spawned console "
		    "is the daemon's own: owner-pid-file and trust do not apply");
	return spawn != NULL ? conf_meta_spawn(ld, spawn, file, &m->argv) : 0;
}

/* Give a device console the settings of its <cb:console>. */
static void conf_meta_set(struct conf_console *c, struct conf_meta *m)
{
	c->capture = m->capture;
	c->trust_path = m->trust_path;
	free(c->owner_pid_file);
	c->owner_pid_file = m->owner_pid_file;
	m->owner_pid_file = NULL;
}

/* An earlier <cb:console> with the same alias, or NULL. */
static xmlNode *conf_meta_earlier(xmlNode *node, const char *alias)
{
	xmlNode *prev;
	const char *other;

	for (prev = node->prev; prev != NULL; prev = prev->prev) {
		if (!conf_xml_is_ns(prev, "console"))
			continue;
		other = conf_xml_attr(prev, "alias");
		if (other != NULL && strcmp(other, alias) == 0)
			return prev;
	}
	return NULL;
}

/* Apply one <cb:console> to the domain, adding a spawned console if needed. */
static int conf_meta_one(struct conf_loader *ld, xmlNode *node,
    struct conf_domain *d)
{
	const char *alias = conf_xml_attr(node, "alias");
	int line = conf_xml_line(node), ret, i;
	struct conf_meta m = { CONF_CAPTURE_ATTACHED, NULL, 0, NULL, 0 };
	struct conf_console *c;
	xmlNode *earlier;

	ret = conf_meta_read(ld, node, d->file, &m);
	if (ret < 0 || alias == NULL || *alias == '\0')
		goto out;
	earlier = conf_meta_earlier(node, alias);
	c = conf_meta_console(d, alias);
	if (earlier != NULL) {
		conf_diag(ld->diags, CONF_ERROR, d->file, line, "duplicate "
		    "<cb:console> for alias '%s' (also at line %d)", alias,
		    conf_xml_line(earlier));
	} else if (m.argv != NULL) {
		ret = conf_meta_make_spawn(ld, d, alias, line, m.argv);
		if (ret > 0) {
			m.argv = NULL;
			ret = 0;
			conf_meta_console(d, alias)->capture = m.capture;
		}
	} else if (c == NULL && !m.spawned) {
		conf_diag(ld->diags, CONF_ERROR, d->file, line, "no <console> "
		    "or <serial> with alias '%s'", alias);
	} else if (c != NULL) {
		conf_meta_set(c, &m);
	}
out:
	for (i = 0; m.argv != NULL && m.argv[i] != NULL; i++)
		free(m.argv[i]);
	free(m.argv);
	free(m.owner_pid_file);
	return ret;
}

/* Apply <cb:consoles> to a domain whose devices are read. */
int conf_meta_apply(struct conf_loader *ld, xmlNode *consoles,
    struct conf_domain *d)
{
	xmlNode *node;
	int ret;

	conf_xml_check_attrs(ld, consoles, d->file, (const char *const[]){ NULL });
	for (node = consoles->children; node != NULL; node = node->next) {
		if (!conf_xml_is_ns(node, "console")) {
			conf_xml_stray(ld, node, consoles, d->file);
			continue;
		}
		ret = conf_meta_one(ld, node, d);
		if (ret < 0)
			return ret;
	}
	return 0;
}
