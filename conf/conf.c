/*
 * conf: the broker's own <conbroker> file, and the loads that start from it.
 *
 * An error in the broker's own settings (an unknown element, a value out of
 * range, a listen address that does not parse) makes the whole load fail, so
 * a reload with a typo keeps the running configuration.  An error in a domain
 * only skips that domain.  Either way every problem is reported.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf/conf-private.h"

/* Lines of the singleton settings, to name the first of two. */
struct conf_seen {
	int locks, history, sessions, access, limits, state;
};

char *conf_strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *copy = malloc(len);

	if (copy != NULL)
		memcpy(copy, s, len);
	return copy;
}

/* dir/name, or name alone when it is absolute or dir is NULL. */
int conf_path_join(const char *dir, const char *name, char **out)
{
	if (dir == NULL || *dir == '\0' || name[0] == '/')
		*out = conf_strdup(name);
	else if (asprintf(out, "%s%s%s", dir,
	    dir[strlen(dir) - 1] == '/' ? "" : "/", name) < 0)
		*out = NULL;
	return *out != NULL ? 0 : -ENOMEM;
}

const char *conf_default_socket(void)
{
	static char path[PATH_MAX];
	const char *runtime = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		return "/run/conbroker/conbroker.sock";
	if (runtime != NULL && runtime[0] == '/' &&
	    strlen(runtime) + sizeof("/conbroker/conbroker.sock") <=
	    sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(path, sizeof(path), "%s/conbroker/conbroker.sock",
		    runtime);
		return path;
	}
	snprintf(path, sizeof(path), "/tmp/conbroker-%u/conbroker.sock",
	    (unsigned)geteuid());
	return path;
}

/* The directory of the default socket, where the daemon keeps its state. */
static char *conf_default_state_dir(void)
{
	const char *sock = conf_default_socket();
	const char *slash = strrchr(sock, '/');
	char *dir = malloc((size_t)(slash - sock) + 1);

	if (dir != NULL) {
		memcpy(dir, sock, (size_t)(slash - sock));
		dir[slash - sock] = '\0';
	}
	return dir;
}

/* A decimal number in [min, max], digits only. */
int conf_parse_uint(const char *text, unsigned long long min,
    unsigned long long max, unsigned long long *out)
{
	const char *p;
	char *end;

	for (p = text; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
	if (p == text || p - text > 12)
		return -EINVAL;
	errno = 0;
	*out = strtoull(text, &end, 10);
	if (errno != 0 || *out < min || *out > max)
		return -ERANGE;
	return 0;
}

/* "yes" or "no" into 1 or 0. */
static int conf_parse_bool(struct conf_loader *ld, const xmlNode *node,
    const char *file, const char *name, int *out)
{
	const char *value = conf_xml_attr(node, name);

	if (value == NULL)
		return 0;
	if (strcmp(value, "yes") == 0)
		*out = 1;
	else if (strcmp(value, "no") == 0)
		*out = 0;
	else
		conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(node),
		    "invalid %s '%s' (expected 'yes' or 'no')", name, value);
	return 0;
}

/* A loopback address: the only kind a listener takes without public='yes'. */
static int conf_is_loopback(int family, const unsigned char *addr)
{
	static const unsigned char v6_loop[16] = { [15] = 1 };
	static const unsigned char v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (family == AF_INET)
		return addr[0] == 127;
	if (memcmp(addr, v6_loop, 16) == 0)
		return 1;
	return memcmp(addr, v4_mapped, 12) == 0 && addr[12] == 127;
}

/*
 * Split "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" (host 127.0.0.1) and check
 * both halves; the message says which part is wrong.
 */
static int conf_parse_tcp(struct conf_loader *ld, const char *file, int line,
    const char *text, struct conf_listen *l, int *loopback)
{
	unsigned char addr[16];
	unsigned long long port;
	const char *colon, *host = text, *end;
	char buf[INET6_ADDRSTRLEN + 1], portbuf[8];
	size_t hostlen;
	int family = AF_INET;

	if (text[0] == '[') {
		end = strchr(text, ']');
		if (end == NULL || end[1] != ':')
			goto syntax;
		host = text + 1;
		hostlen = (size_t)(end - host);
		colon = end + 1;
		family = AF_INET6;
	} else {
		colon = strrchr(text, ':');
		if (colon != NULL && memchr(text, ':', (size_t)(colon - text)))
			goto syntax; /* an IPv6 address without brackets */
		hostlen = colon ? (size_t)(colon - text) : 0;
		if (colon == NULL)
			colon = text - 1;
	}
	if (hostlen == 0 && family == AF_INET)
		host = "127.0.0.1", hostlen = 9;
	if (hostlen >= sizeof(buf))
		goto address;
	memcpy(buf, host, hostlen);
	buf[hostlen] = '\0';
	if (inet_pton(family, buf, addr) != 1)
		goto address;
	if (conf_parse_uint(colon + 1, 1, 65535, &port) < 0) {
		conf_diag(ld->diags, CONF_ERROR, file, line, "invalid port in "
		    "tcp address '%s' (expected 1 to 65535)", text);
		return 0;
	}
	snprintf(portbuf, sizeof(portbuf), "%llu", port);
	l->host = conf_strdup(buf);
	l->port = conf_strdup(portbuf);
	*loopback = conf_is_loopback(family, addr);
	return l->host && l->port ? 0 : -ENOMEM;
syntax:
	conf_diag(ld->diags, CONF_ERROR, file, line, "invalid tcp address "
	    "'%s' (expected HOST:PORT, an IPv6 address as [ADDRESS]:PORT)",
	    text);
	return 0;
address:
	conf_diag(ld->diags, CONF_ERROR, file, line, "invalid tcp address "
	    "'%s' (the host must be a numeric IPv4 or IPv6 address)", text);
	return 0;
}

/* The unix half of <listen>: path, mode, group. */
static int conf_listen_unix(struct conf_loader *ld, const xmlNode *node,
    const char *file, struct conf_listen *l)
{
	const char *path = conf_xml_attr(node, "unix");
	const char *mode = conf_xml_attr(node, "mode");
	const char *group = conf_xml_attr(node, "group");
	int line = conf_xml_line(node);
	char *end;
	unsigned long m;

	l->type = CONF_LISTEN_UNIX;
	l->mode = CONF_LISTEN_MODE_DEFAULT;
	if (path[0] != '/')
		conf_diag(ld->diags, CONF_ERROR, file, line, "socket path '%s' "
		    "is not absolute", path);
	else if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		conf_diag(ld->diags, CONF_ERROR, file, line, "socket path '%s' "
		    "is too long (at most %zu bytes)", path,
		    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	if (mode != NULL) {
		errno = 0;
		m = strtoul(mode, &end, 8);
		if (mode[0] < '0' || mode[0] > '7' || *end != '\0' ||
		    errno != 0 || m > 0777)
			conf_diag(ld->diags, CONF_ERROR, file, line, "invalid "
			    "mode '%s' (expected an octal mode such as 0660)",
			    mode);
		else
			l->mode = (mode_t)m;
	}
	if (group != NULL && *group == '\0')
		conf_diag(ld->diags, CONF_ERROR, file, line, "empty group");
	if (conf_xml_attr(node, "proxy") || conf_xml_attr(node, "public"))
		conf_diag(ld->diags, CONF_ERROR, file, line, "proxy and public "
		    "apply to tcp listeners only");
	l->path = conf_strdup(path);
	if (group != NULL && *group != '\0')
		l->group = conf_strdup(group);
	return l->path && (group == NULL || *group == '\0' || l->group) ?
	    0 : -ENOMEM;
}

/* The tcp half of <listen>: address, proxy, public. */
static int conf_listen_tcp(struct conf_loader *ld, const xmlNode *node,
    const char *file, struct conf_listen *l)
{
	const char *addr = conf_xml_attr(node, "tcp");
	int line = conf_xml_line(node), loopback = 1, ret;

	l->type = CONF_LISTEN_TCP;
	if (conf_xml_attr(node, "mode") || conf_xml_attr(node, "group"))
		conf_diag(ld->diags, CONF_ERROR, file, line, "mode and group "
		    "apply to unix listeners only");
	conf_parse_bool(ld, node, file, "proxy", &l->proxy);
	conf_parse_bool(ld, node, file, "public", &l->public_ok);
	ret = conf_parse_tcp(ld, file, line, addr, l, &loopback);
	if (ret == 0 && !loopback && !l->public_ok)
		conf_diag(ld->diags, CONF_ERROR, file, line, "tcp address '%s' "
		    "is not a loopback address; add public='yes' to listen "
		    "on it", addr);
	return ret;
}

/* The same socket twice is a mistake bind() would only half explain. */
static void conf_listen_dup(struct conf_loader *ld, const struct conf *conf,
    const struct conf_listen *l, const char *text)
{
	const struct conf_listen *o;
	size_t i;

	for (i = 0; i < conf->nlistens; i++) {
		o = &conf->listens[i];
		if (o->type != l->type ||
		    (l->type == CONF_LISTEN_UNIX && strcmp(o->path, l->path)) ||
		    (l->type == CONF_LISTEN_TCP && (!o->host || !l->host ||
		    strcmp(o->host, l->host) || strcmp(o->port, l->port))))
			continue;
		conf_diag(ld->diags, CONF_ERROR, l->file, l->line, "duplicate "
		    "listener '%s' (also at line %d)", text, o->line);
		return;
	}
}

/* One <listen>, unix or tcp, appended to the registry's listeners. */
static int conf_listen(struct conf_loader *ld, const xmlNode *node,
    const char *file)
{
	static const char *const attrs[] = { "unix", "mode", "group", "tcp",
	    "proxy", "public", NULL };
	struct conf *conf = &ld->reg->pub;
	const char *unix_path = conf_xml_attr(node, "unix");
	const char *tcp = conf_xml_attr(node, "tcp");
	struct conf_listen l, *grown;
	int ret;

	memset(&l, 0, sizeof(l));
	conf_xml_check_attrs(ld, node, file, attrs);
	if ((unix_path == NULL) == (tcp == NULL)) {
		conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(node),
		    "<listen> needs exactly one of unix= and tcp=");
		return 0;
	}
	l.line = conf_xml_line(node);
	l.file = conf_strdup(file);
	ret = l.file == NULL ? -ENOMEM : unix_path ?
	    conf_listen_unix(ld, node, file, &l) :
	    conf_listen_tcp(ld, node, file, &l);
	if (ret == 0)
		conf_listen_dup(ld, conf, &l, unix_path ? unix_path : tcp);
	grown = ret == 0 ? realloc(conf->listens,
	    (conf->nlistens + 1) * sizeof(*grown)) : NULL;
	if (grown == NULL) {
		free(l.path); free(l.group); free(l.host); free(l.port);
		free(l.file);
		return ret < 0 ? ret : -ENOMEM;
	}
	conf->listens = grown;
	grown[conf->nlistens++] = l;
	return 0;
}

/* A required attribute of a singleton setting, reporting its absence. */
static const char *conf_needs(struct conf_loader *ld, const xmlNode *node,
    const char *file, const char *name)
{
	const char *value = conf_xml_attr(node, name);

	if (value == NULL)
		conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(node),
		    "<%s> needs a %s attribute", (const char *)node->name, name);
	return value;
}

/* Report the second of a setting that may appear once; 1 if it is one. */
int conf_once(struct conf_loader *ld, const xmlNode *node,
    const char *file, int *seen)
{
	if (*seen == 0) {
		*seen = conf_xml_line(node);
		if (*seen == 0)
			*seen = -1;
		return 0;
	}
	conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(node),
	    "duplicate <%s> (first at line %d)", (const char *)node->name,
	    *seen);
	return 1;
}

/* A number attribute in [min, max], reported with its unit when wrong. */
static void conf_number(struct conf_loader *ld, const xmlNode *node,
    const char *file, const char *name, unsigned long long min,
    unsigned long long max, const char *unit, unsigned long long *out)
{
	const char *value = conf_xml_attr(node, name);

	if (value != NULL && conf_parse_uint(value, min, max, out) < 0)
		conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(node),
		    "invalid %s '%s' (expected %llu to %llu %s)", name, value,
		    min, max, unit);
}

/* <locks dir> or <state dir>: once, one absolute path, into *out. */
static int conf_dir_setting(struct conf_loader *ld, const xmlNode *node,
    const char *file, int *seen, const char *what, char **out)
{
	const char *dir;

	conf_xml_check_attrs(ld, node, file, (const char *const[]){ "dir", NULL });
	if (conf_once(ld, node, file, seen) ||
	    (dir = conf_needs(ld, node, file, "dir")) == NULL)
		return 0;
	if (dir[0] != '/')
		conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(node),
		    "%s directory '%s' is not absolute", what, dir);
	free(*out);
	*out = conf_strdup(dir);
	return *out ? 0 : -ENOMEM;
}

/* <locks dir>, <state dir>, <history size>, <sessions ...>. */
static int conf_setting(struct conf_loader *ld, const xmlNode *node,
    const char *file, struct conf_seen *seen)
{
	struct conf *conf = &ld->reg->pub;
	unsigned long long n;

	if (conf_xml_is(node, "state"))
		return conf_dir_setting(ld, node, file, &seen->state, "state",
		    &conf->state_dir);
	if (conf_xml_is(node, "locks"))
		return conf_dir_setting(ld, node, file, &seen->locks, "lock",
		    &conf->lock_dir);
	if (conf_xml_is(node, "history")) {
		conf_xml_check_attrs(ld, node, file,
		    (const char *const[]){ "size", NULL });
		if (conf_once(ld, node, file, &seen->history) ||
		    conf_needs(ld, node, file, "size") == NULL)
			return 0;
		n = conf->history_size;
		conf_number(ld, node, file, "size", CONF_HISTORY_MIN,
		    CONF_HISTORY_MAX, "bytes", &n);
		conf->history_size = (size_t)n;
		return 0;
	}
	conf_xml_check_attrs(ld, node, file,
	    (const char *const[]){ "stale-after", "writer-timeout", NULL });
	if (conf_once(ld, node, file, &seen->sessions))
		return 0;
	n = conf->stale_after;
	conf_number(ld, node, file, "stale-after", 1, CONF_STALE_MAX,
	    "seconds", &n);
	conf->stale_after = (unsigned)n;
	n = conf->writer_timeout;
	conf_number(ld, node, file, "writer-timeout", 1,
	    CONF_WRITER_TIMEOUT_MAX, "seconds", &n);
	conf->writer_timeout = (unsigned)n;
	return 0;
}

/*
 * <domains dir>: relative to the directory of the config file.  There may be
 * several (libvirt's qemu, lxc and ch drivers each keep their own run
 * directory, beside files of one's own); the same directory twice is an
 * error.
 */
static int conf_domains_dir(struct conf_loader *ld, const xmlNode *node,
    const char *file, const char *base)
{
	struct conf *conf = &ld->reg->pub;
	const char *dir, *follow = conf_xml_attr(node, "follow");
	char *path = NULL, **dirs;
	int *lines, *follows, line = conf_xml_line(node), ret;
	size_t i;

	conf_xml_check_attrs(ld, node, file,
	    (const char *const[]){ "dir", "follow", NULL });
	if (follow != NULL && strcmp(follow, "yes") != 0 && strcmp(follow, "no") != 0)
		conf_diag(ld->diags, CONF_ERROR, file, line, "invalid follow '%s'"
		    " (expected 'yes' or 'no')", follow);
	if ((dir = conf_needs(ld, node, file, "dir")) == NULL)
		return 0;
	if (*dir == '\0') {
		conf_diag(ld->diags, CONF_ERROR, file, line, "empty domains directory");
		return 0;
	}
	if ((ret = conf_path_join(base, dir, &path)) < 0)
		return ret;
	for (i = 0; i < conf->ndomains_dirs; i++) {
		if (strcmp(conf->domains_dirs[i], path) == 0) {
			conf_diag(ld->diags, CONF_ERROR, file, line, "duplicate "
			    "domains directory '%s' (also at line %d)", path,
			    conf->domains_lines[i]);
			free(path);
			return 0;
		}
	}
	dirs = realloc(conf->domains_dirs, (conf->ndomains_dirs + 1) * sizeof(*dirs));
	if (dirs != NULL)
		conf->domains_dirs = dirs;
	lines = realloc(conf->domains_lines, (conf->ndomains_dirs + 1) * sizeof(*lines));
	if (lines != NULL)
		conf->domains_lines = lines;
	follows = realloc(conf->domains_follow, (conf->ndomains_dirs + 1) * sizeof(*follows));
	if (follows != NULL)
		conf->domains_follow = follows;
	if (dirs == NULL || lines == NULL || follows == NULL) {
		free(path);
		return -ENOMEM;
	}
	conf->domains_dirs[conf->ndomains_dirs] = path;
	conf->domains_follow[conf->ndomains_dirs] = follow == NULL || strcmp(follow, "no") != 0;
	conf->domains_lines[conf->ndomains_dirs++] = line;
	return 0;
}

/* One child of <conbroker>; the errors it reports are the settings'. */
static int conf_broker_child(struct conf_loader *ld, xmlNode *node,
    const char *file, const char *base, struct conf_seen *seen)
{
	size_t errors = ld->diags->errors;
	int ret = 0;

	if (conf_xml_is(node, "domain") || conf_xml_is(node, "domstatus")) {
		ret = conf_domain_load(ld, node, file);
		return ret == -EINVAL ? 0 : ret;
	}
	if (conf_xml_is(node, "listen"))
		ret = conf_listen(ld, node, file);
	else if (conf_xml_is(node, "locks") || conf_xml_is(node, "history") ||
	    conf_xml_is(node, "state") ||
	    conf_xml_is(node, "sessions"))
		ret = conf_setting(ld, node, file, seen);
	else if (conf_xml_is(node, "domains"))
		ret = conf_domains_dir(ld, node, file, base);
	else if (conf_xml_is(node, "access")) {
		if (!conf_once(ld, node, file, &seen->access))
			ret = conf_access(ld, node, file);
	} else if (conf_xml_is(node, "limits")) {
		if (!conf_once(ld, node, file, &seen->limits))
			ret = conf_limits(ld, node, file);
	}
	else
		conf_xml_stray(ld, node, node->parent, file);
	if (ld->diags->errors > errors)
		ld->settings_errors++;
	return ret;
}

/* When no <listen> is given, the daemon listens where the client looks. */
static int conf_default_listener(struct conf *conf)
{
	struct conf_listen *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return -ENOMEM;
	conf->listens = l;
	conf->nlistens = 1;
	l->type = CONF_LISTEN_UNIX;
	l->mode = CONF_LISTEN_MODE_DEFAULT;
	l->path = conf_strdup(conf_default_socket());
	l->file = conf_strdup(conf->file);
	return l->path && l->file ? 0 : -ENOMEM;
}

/* Read the settings and inline domains of a <conbroker> document. */
static int conf_broker(struct conf_loader *ld, xmlNode *root, const char *file,
    const char *base)
{
	struct conf *conf = &ld->reg->pub;
	struct conf_seen seen = { 0, 0, 0, 0, 0, 0 };
	size_t nlisten = 0;
	xmlNode *node;
	int ret;

	if (!conf_xml_is(root, "conbroker")) {
		conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(root),
		    "root element is <%s>, expected <conbroker>",
		    (const char *)root->name);
		ld->settings_errors++;
		return 0;
	}
	conf_xml_check_attrs(ld, root, file, (const char *const[]){ NULL });
	for (node = root->children; node != NULL; node = node->next) {
		nlisten += conf_xml_is(node, "listen");
		ret = conf_broker_child(ld, node, file, base, &seen);
		if (ret < 0)
			return ret;
	}
	if (conf->lock_dir == NULL &&
	    (conf->lock_dir = conf_strdup(CONF_LOCK_DIR_DEFAULT)) == NULL)
		return -ENOMEM;
	if (conf->state_dir == NULL &&
	    (conf->state_dir = conf_default_state_dir()) == NULL)
		return -ENOMEM;
	return nlisten == 0 ? conf_default_listener(conf) : 0;
}

/*
 * The common path of every load: the config document (already parsed) into
 * a registry, then the domains directory it names.
 */
static int conf_build(struct conf_loader *ld, xmlDoc *doc, const char *file,
    const char *base, struct conf **out)
{
	size_t i;
	int ret;

	ld->reg = conf_registry_new();
	if (ld->reg == NULL || (ld->reg->pub.file = conf_strdup(file)) == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	ret = conf_broker(ld, xmlDocGetRootElement(doc), file, base);
	xmlFreeDoc(doc);
	for (i = 0; ret == 0 && i < ld->reg->pub.ndomains_dirs; i++)
		ret = conf_dir_load(ld, ld->reg->pub.domains_dirs[i], file,
		    ld->reg->pub.domains_lines[i]);
	if (ret == 0 && ld->settings_errors > 0)
		ret = -EINVAL;
out:
	if (ret < 0) {
		conf_free(ld->reg ? &ld->reg->pub : NULL);
		ld->reg = NULL;
		return ret;
	}
	*out = &ld->reg->pub;
	return 0;
}

/* The directory part of a path, "" when it has none. */
static char *conf_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	if (slash == NULL)
		return conf_strdup("");
	if (slash == path)
		return conf_strdup("/");
	dir = malloc((size_t)(slash - path) + 1);
	if (dir != NULL) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	return dir;
}

int conf_load(const char *path, struct conf **out, struct conf_diags *diags)
{
	struct conf_loader ld;
	char *base = NULL;
	xmlDoc *doc = NULL;
	int ret;

	*out = NULL;
	ret = conf_loader_init(&ld, diags);
	if (ret < 0)
		goto out;
	ret = conf_xml_read_file(&ld, AT_FDCWD, path, path, 0, &doc);
	if (ret < 0)
		goto out;
	base = conf_dirname(path);
	if (base == NULL) {
		xmlFreeDoc(doc);
		ret = -ENOMEM;
		goto out;
	}
	ret = conf_build(&ld, doc, path, base, out);
out:
	free(base);
	conf_loader_fini(&ld);
	return ret;
}

int conf_load_buffer(const char *name, const char *xml, size_t len,
    struct conf **out, struct conf_diags *diags)
{
	struct conf_loader ld;
	xmlDoc *doc = NULL;
	int ret;

	*out = NULL;
	ret = conf_loader_init(&ld, diags);
	if (ret == 0)
		ret = conf_xml_read_memory(&ld, name, xml, len, &doc);
	if (ret == 0)
		ret = conf_build(&ld, doc, name, NULL, out);
	conf_loader_fini(&ld);
	return ret;
}
