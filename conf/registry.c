/*
 * registry: the domains of a struct conf, indexed by name and by UUID.
 *
 * Domains are added in load order (inline ones, then the domains directory
 * in sorted order); the first of two with the same name or UUID stays and the
 * second is reported, naming both places.  Two open-addressing tables of
 * array indexes make duplicate checks and lookups O(1), which is what keeps
 * ten thousand domains cheap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf-private.h"

/* FNV-1a: short keys, good spread, no table. */
static uint64_t conf_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull;

	while (len-- > 0) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t conf_hash_name(const struct conf_domain *d)
{
	return conf_hash(d->name, strlen(d->name));
}

static uint64_t conf_hash_uuid(const struct conf_domain *d)
{
	return conf_hash(d->uuid, sizeof(uuid_t));
}

/* Place index i in a table known to have room. */
static void conf_index_place(struct conf_index *ix, uint64_t hash, size_t i)
{
	size_t slot = (size_t)hash & ix->mask;

	while (ix->slots[slot] != 0)
		slot = (slot + 1) & ix->mask;
	ix->slots[slot] = (uint32_t)(i + 1);
	ix->used++;
}

/* Insert domain i, growing the table to stay at most half full. */
static int conf_index_insert(struct conf_index *ix, const struct conf_domain *all,
    size_t i, uint64_t (*hash)(const struct conf_domain *))
{
	struct conf_index grown;
	size_t slot;

	if ((ix->used + 1) * 2 > ix->mask + 1 || ix->slots == NULL) {
		grown.mask = ix->slots ? ix->mask * 2 + 1 : 63;
		grown.used = 0;
		grown.slots = calloc(grown.mask + 1, sizeof(*grown.slots));
		if (grown.slots == NULL)
			return -ENOMEM;
		for (slot = 0; ix->slots && slot <= ix->mask; slot++)
			if (ix->slots[slot] != 0)
				conf_index_place(&grown,
				    hash(&all[ix->slots[slot] - 1]),
				    ix->slots[slot] - 1);
		free(ix->slots);
		*ix = grown;
	}
	conf_index_place(ix, hash(&all[i]), i);
	return 0;
}

/* The domain with this name, or NULL. */
static const struct conf_domain *conf_index_name(const struct conf_registry *reg,
    const char *name)
{
	const struct conf_index *ix = &reg->by_name;
	const struct conf_domain *d;
	size_t slot;

	if (ix->slots == NULL)
		return NULL;
	slot = (size_t)conf_hash(name, strlen(name)) & ix->mask;
	for (; ix->slots[slot] != 0; slot = (slot + 1) & ix->mask) {
		d = &reg->pub.domains[ix->slots[slot] - 1];
		if (strcmp(d->name, name) == 0)
			return d;
	}
	return NULL;
}

/* The domain with this UUID, or NULL. */
const struct conf_domain *conf_registry_by_uuid(const struct conf *conf,
    const uuid_t uuid)
{
	const struct conf_registry *reg = (const struct conf_registry *)conf;
	const struct conf_index *ix = &reg->by_uuid;
	const struct conf_domain *d;
	size_t slot;

	if (ix->slots == NULL)
		return NULL;
	slot = (size_t)conf_hash(uuid, sizeof(uuid_t)) & ix->mask;
	for (; ix->slots[slot] != 0; slot = (slot + 1) & ix->mask) {
		d = &reg->pub.domains[ix->slots[slot] - 1];
		if (uuid_compare(d->uuid, uuid) == 0)
			return d;
	}
	return NULL;
}

struct conf_registry *conf_registry_new(void)
{
	struct conf_registry *reg = calloc(1, sizeof(*reg));

	if (reg == NULL)
		return NULL;
	reg->pub.history_size = CONF_HISTORY_DEFAULT;
	reg->pub.stale_after = CONF_STALE_DEFAULT;
	reg->pub.writer_timeout = CONF_WRITER_TIMEOUT_DEFAULT;
	reg->pub.limits.connections = CONF_LIMIT_CONNECTIONS;
	reg->pub.limits.per_identity = CONF_LIMIT_PER_IDENTITY;
	reg->pub.limits.handshaking = CONF_LIMIT_HANDSHAKING;
	reg->pub.limits.hello_timeout = CONF_LIMIT_HELLO_TIMEOUT;
	return reg;
}

/* Make room for one more domain. */
static int conf_registry_grow(struct conf_registry *reg)
{
	size_t cap = reg->domains_cap ? reg->domains_cap * 2 : 16;
	struct conf_domain *domains;
	int *lines;

	domains = realloc(reg->pub.domains, cap * sizeof(*domains));
	if (domains == NULL)
		return -ENOMEM;
	reg->pub.domains = domains;
	lines = realloc(reg->name_lines, cap * sizeof(*lines));
	if (lines == NULL)
		return -ENOMEM;
	reg->name_lines = lines;
	lines = realloc(reg->uuid_lines, cap * sizeof(*lines));
	if (lines == NULL)
		return -ENOMEM;
	reg->uuid_lines = lines;
	reg->domains_cap = cap;
	return 0;
}

/*
 * Add a parsed domain; the registry takes what it owns on success.  A name
 * or UUID already taken is reported with both places, and -EINVAL returned.
 */
int conf_registry_add(struct conf_loader *ld, struct conf_domain *d,
    int name_line, int uuid_line)
{
	struct conf_registry *reg = ld->reg;
	const struct conf_domain *other;
	size_t i, errors = ld->diags->errors;
	int ret;

	other = conf_index_name(reg, d->name);
	if (other != NULL)
		conf_diag(ld->diags, CONF_ERROR, d->file, name_line,
		    "duplicate domain name '%s' (first defined at %s:%d)",
		    d->name, other->file,
		    reg->name_lines[other - reg->pub.domains]);
	other = conf_registry_by_uuid(&reg->pub, d->uuid);
	if (other != NULL)
		conf_diag(ld->diags, CONF_ERROR, d->file, uuid_line,
		    "duplicate UUID %s (first defined at %s:%d by domain "
		    "'%s')", d->uuid_str, other->file,
		    reg->uuid_lines[other - reg->pub.domains], other->name);
	if (ld->diags->errors > errors)
		return -EINVAL;
	if (reg->pub.ndomains == reg->domains_cap &&
	    (ret = conf_registry_grow(reg)) < 0)
		return ret;
	i = reg->pub.ndomains;
	reg->pub.domains[i] = *d;
	reg->name_lines[i] = name_line;
	reg->uuid_lines[i] = uuid_line;
	ret = conf_index_insert(&reg->by_name, reg->pub.domains, i,
	    conf_hash_name);
	if (ret == 0)
		ret = conf_index_insert(&reg->by_uuid, reg->pub.domains, i,
		    conf_hash_uuid);
	if (ret < 0)
		return ret; /* the caller still owns d; the slot is not counted */
	reg->pub.ndomains++;
	memset(d, 0, sizeof(*d));
	return 0;
}

const struct conf_domain *conf_find_domain(const struct conf *conf,
    const char *name_or_uuid)
{
	const struct conf_domain *d = NULL;
	uuid_t uuid;

	if (conf == NULL || name_or_uuid == NULL)
		return NULL;
	/* virsh's order: a string that is a UUID is looked up as one first. */
	if (conf_uuid_parse(name_or_uuid, uuid) == 0)
		d = conf_registry_by_uuid(conf, uuid);
	if (d == NULL)
		d = conf_index_name((const struct conf_registry *)conf,
		    name_or_uuid);
	return d;
}

const struct conf_console *conf_find_console(const struct conf_domain *domain,
    const char *alias)
{
	size_t i;

	if (domain == NULL)
		return NULL;
	if (alias != NULL) {
		for (i = 0; i < domain->nconsoles; i++)
			if (strcmp(domain->consoles[i].alias, alias) == 0)
				return &domain->consoles[i];
		return NULL;
	}
	/* libvirt's default: the first <console>, else the first <serial>. */
	for (i = 0; i < domain->nconsoles; i++)
		if (domain->consoles[i].also_console ||
		    strcmp(domain->consoles[i].element, "console") == 0)
			return &domain->consoles[i];
	for (i = 0; i < domain->nconsoles; i++)
		if (strcmp(domain->consoles[i].element, "serial") == 0)
			return &domain->consoles[i];
	return NULL;
}

void conf_free(struct conf *conf)
{
	struct conf_registry *reg = (struct conf_registry *)conf;
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nlistens; i++) {
		free(conf->listens[i].path);
		free(conf->listens[i].group);
		free(conf->listens[i].host);
		free(conf->listens[i].port);
		free(conf->listens[i].file);
	}
	free(conf->listens);
	conf_grants_free(conf);
	for (i = 0; i < conf->ndomains; i++)
		conf_domain_clear(&conf->domains[i]);
	free(conf->domains);
	free(conf->lock_dir);
	free(conf->state_dir);
	for (i = 0; i < conf->ndomains_dirs; i++)
		free(conf->domains_dirs[i]);
	free(conf->domains_dirs);
	free(conf->domains_lines);
	free(conf->domains_follow);
	free(conf->file);
	free(reg->name_lines);
	free(reg->uuid_lines);
	free(reg->by_name.slots);
	free(reg->by_uuid.slots);
	free(reg);
}
