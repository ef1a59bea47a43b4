/*
 * meta: conbroker's own per-console settings, in its namespace under the
 * domain's <metadata>, where libvirt keeps what applications add:
 *
 *   <metadata>
 *     <cb:consoles xmlns:cb="http://conbroker.org/schemas/domain/1.0">
 *       <cb:console alias="serial0" capture="always"/>
 *       <cb:console alias="console0">
 *         <cb:spawn><cb:arg>/bin/sh</cb:arg><cb:arg>-i</cb:arg></cb:spawn>
 *       </cb:console>
 *     </cb:consoles>
 *   </metadata>
 *
 * A <cb:console> names a device by its alias.  With <cb:spawn> the daemon
 * allocates the pty and runs the command on it; the alias then either names
 * a pty device of the domain or adds a console of its own.  Unlike libvirt's
 * vocabulary, which conf reads leniently, this one is checked strictly: a
 * misspelt setting is an error, not a silent default.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf-private.h"

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

/*
 * Read the attributes and <cb:spawn> of one <cb:console>; *spawned says
 * whether it has a <cb:spawn>, even one too broken to give an argv.
 */
static int conf_meta_read(struct conf_loader *ld, xmlNode *node,
    const char *file, enum conf_capture *capture, char ***argv, int *spawned)
{
	static const char *const attrs[] = { "alias", "capture", NULL };
	const char *value;
	xmlNode *child, *spawn = NULL;
	int line = conf_xml_line(node);

	conf_xml_check_attrs(ld, node, file, attrs);
	*capture = CONF_CAPTURE_ATTACHED;
	value = conf_xml_attr(node, "capture");
	if (value != NULL && strcmp(value, "always") == 0)
		*capture = CONF_CAPTURE_ALWAYS;
	else if (value != NULL && strcmp(value, "attached") != 0)
		conf_diag(ld->diags, CONF_ERROR, file, line, "invalid capture "
		    "'%s' (expected 'always' or 'attached')", value);
	value = conf_xml_attr(node, "alias");
	if (value == NULL || *value == '\0')
		conf_diag(ld->diags, CONF_ERROR, file, line,
		    "<cb:console> needs an alias attribute");
	for (child = node->children; child != NULL; child = child->next) {
		if (conf_xml_is_ns(child, "spawn") && spawn == NULL)
			spawn = child;
		else
			conf_xml_stray(ld, child, node, file);
	}
	*spawned = spawn != NULL;
	return spawn != NULL ? conf_meta_spawn(ld, spawn, file, argv) : 0;
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
	int line = conf_xml_line(node), spawned = 0, ret, i;
	enum conf_capture capture;
	struct conf_console *c;
	char **argv = NULL;
	xmlNode *earlier;

	ret = conf_meta_read(ld, node, d->file, &capture, &argv, &spawned);
	if (ret < 0 || alias == NULL || *alias == '\0')
		goto out;
	earlier = conf_meta_earlier(node, alias);
	c = conf_meta_console(d, alias);
	if (earlier != NULL) {
		conf_diag(ld->diags, CONF_ERROR, d->file, line, "duplicate "
		    "<cb:console> for alias '%s' (also at line %d)", alias,
		    conf_xml_line(earlier));
	} else if (argv != NULL) {
		ret = conf_meta_make_spawn(ld, d, alias, line, argv);
		if (ret > 0) {
			argv = NULL;
			ret = 0;
			conf_meta_console(d, alias)->capture = capture;
		}
	} else if (c == NULL && !spawned) {
		conf_diag(ld->diags, CONF_ERROR, d->file, line, "no <console> "
		    "or <serial> with alias '%s'", alias);
	} else if (c != NULL) {
		c->capture = capture;
	}
out:
	for (i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
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
