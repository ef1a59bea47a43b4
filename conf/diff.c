/*
 * diff: what a reload changes, console by console.
 *
 * A console is known by its domain's UUID and its alias, which both survive a
 * domain's restart, rename and redefinition.  Every console of the new
 * registry gets an entry (added, changed or unchanged) and every console that
 * only the old one has is removed, so the caller can move each of its
 * sessions to the new registry and free the old one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf-private.h"

/* Two NULL-terminated argvs with the same words. */
static int conf_argv_equal(char *const *a, char *const *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	for (; *a != NULL && *b != NULL; a++, b++)
		if (strcmp(*a, *b) != 0)
			return 0;
	return *a == NULL && *b == NULL;
}

/* Whether a session on the old console may carry on on the new one: same
 * device, same settings, and the same run of the domain. */
static int conf_console_same(const struct conf_domain *ad,
    const struct conf_console *a, const struct conf_domain *bd,
    const struct conf_console *b)
{
	if (a->type != b->type || a->capture != b->capture ||
	    a->trust_path != b->trust_path)
		return 0;
	if ((a->owner_pid_file == NULL) != (b->owner_pid_file == NULL) ||
	    (a->owner_pid_file != NULL &&
	    strcmp(a->owner_pid_file, b->owner_pid_file) != 0))
		return 0;
	if ((ad->instance == NULL) != (bd->instance == NULL) ||
	    (ad->instance != NULL && strcmp(ad->instance, bd->instance) != 0))
		return 0;
	if ((a->pty_path == NULL) != (b->pty_path == NULL) ||
	    (a->pty_path != NULL && strcmp(a->pty_path, b->pty_path) != 0))
		return 0;
	return conf_argv_equal(a->spawn_argv, b->spawn_argv);
}

/* The console of a domain with this alias, or NULL. */
static const struct conf_console *conf_diff_console(const struct conf_domain *d,
    const char *alias)
{
	size_t i;

	for (i = 0; d != NULL && i < d->nconsoles; i++)
		if (strcmp(d->consoles[i].alias, alias) == 0)
			return &d->consoles[i];
	return NULL;
}

static size_t conf_count_consoles(const struct conf *conf)
{
	size_t i, n = 0;

	for (i = 0; conf != NULL && i < conf->ndomains; i++)
		n += conf->domains[i].nconsoles;
	return n;
}

/* The entries for the consoles of the new registry. */
static void conf_diff_new(const struct conf *old, const struct conf *new_conf,
    struct conf_diff *out)
{
	const struct conf_domain *nd, *od;
	const struct conf_console *nc, *oc;
	struct conf_diff_entry *e;
	size_t i, j;

	for (i = 0; new_conf != NULL && i < new_conf->ndomains; i++) {
		nd = &new_conf->domains[i];
		od = old ? conf_registry_by_uuid(old, nd->uuid) : NULL;
		for (j = 0; j < nd->nconsoles; j++) {
			nc = &nd->consoles[j];
			oc = conf_diff_console(od, nc->alias);
			e = &out->entries[out->count++];
			e->new_domain = nd;
			e->new_console = nc;
			e->old_domain = oc ? od : NULL;
			e->old_console = oc;
			e->change = oc == NULL ? CONF_ADDED :
			    conf_console_same(od, oc, nd, nc) ? CONF_UNCHANGED :
			    CONF_CHANGED;
		}
	}
}

/* The entries for the consoles only the old registry has. */
static void conf_diff_removed(const struct conf *old,
    const struct conf *new_conf, struct conf_diff *out)
{
	const struct conf_domain *od, *nd;
	struct conf_diff_entry *e;
	size_t i, j;

	for (i = 0; old != NULL && i < old->ndomains; i++) {
		od = &old->domains[i];
		nd = new_conf ? conf_registry_by_uuid(new_conf, od->uuid) : NULL;
		for (j = 0; j < od->nconsoles; j++) {
			if (conf_diff_console(nd, od->consoles[j].alias) != NULL)
				continue;
			e = &out->entries[out->count++];
			e->change = CONF_REMOVED;
			e->old_domain = od;
			e->old_console = &od->consoles[j];
			e->new_domain = NULL;
			e->new_console = NULL;
		}
	}
}

int conf_diff(const struct conf *old, const struct conf *new_conf,
    struct conf_diff *out)
{
	size_t max = conf_count_consoles(old) + conf_count_consoles(new_conf);

	out->count = 0;
	out->entries = calloc(max ? max : 1, sizeof(*out->entries));
	if (out->entries == NULL)
		return -ENOMEM;
	conf_diff_new(old, new_conf, out);
	conf_diff_removed(old, new_conf, out);
	return 0;
}

void conf_diff_free(struct conf_diff *diff)
{
	if (diff == NULL)
		return;
	free(diff->entries);
	diff->entries = NULL;
	diff->count = 0;
}

const char *conf_change_name(enum conf_change change)
{
	switch (change) {
	case CONF_ADDED:
		return "added";
	case CONF_REMOVED:
		return "removed";
	case CONF_CHANGED:
		return "changed";
	case CONF_UNCHANGED:
		return "unchanged";
	}
	return "?";
}
