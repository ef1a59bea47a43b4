/*
 * conf: the broker configuration and libvirt domain XML, read into one
 * immutable registry.
 *
 * conf_load() reads a <conbroker> file (or the embedded demo), the inline
 * <domain>s and every file of the domains directory, and returns a struct conf
 * that nothing changes afterwards: the daemon keeps one, and on reload builds a
 * new one and asks conf_diff() what changed.  Problems are collected as
 * diagnostics "FILE:LINE: message"; a broken domain file is reported and
 * skipped, never fatal to the others.  The registry, its domains and consoles
 * belong to the struct conf and are freed with conf_free().  Functions return
 * 0 or a negative errno value.  libxml2 and libuuid only; no I/O beyond reading
 * the files, no network, no entity expansion.
 */
#ifndef CONBROKER_CONF_H
#define CONBROKER_CONF_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include <uuid/uuid.h>

/* The XML namespace of conbroker's own settings inside a libvirt file. */
#define CONF_NS "http://conbroker.org/schemas/domain/1.0"

#define CONF_DEFAULT_PATH "/etc/conbroker/conbroker.xml"

/* When the daemon opens a console's pty. */
enum conf_capture {
	CONF_CAPTURE_ATTACHED, /* only while a session is attached (default) */
	CONF_CAPTURE_ALWAYS    /* from start-up, so history has the boot */
};

enum conf_console_type {
	CONF_CONSOLE_PTY,        /* a pty given by the hypervisor (source path) */
	CONF_CONSOLE_SPAWN,      /* a pty the daemon allocates for a command */
	CONF_CONSOLE_UNSUPPORTED /* tcp, unix, file...: listed, never opened */
};

struct conf_console {
	char *alias;       /* <alias name>, or a synthesized "serial0"/"console0" */
	char *element;     /* "console" or "serial" */
	char *target_type; /* <target type>: "serial", "virtio", ... or NULL */
	enum conf_console_type type;
	char *source_type; /* the libvirt type attribute: "pty", "tcp", ... */
	char *pty_path;    /* absolute /dev path, NULL: no pty assigned yet */
	enum conf_capture capture;
	char **spawn_argv; /* CONF_CONSOLE_SPAWN: NULL-terminated argv */
	char *owner_pid_file; /* <cb:console owner-pid-file>: the hypervisor's
	                         pid file, or NULL */
	int trust_path;    /* <cb:console trust='path'>: the pty path is taken
	                      as the domain's without proof */
	char *file;        /* where it was defined */
	int line;
	int also_console;  /* a <serial> that a <console> names too (libvirt's
	                      console on serial0): the default console */
};

struct conf_domain {
	char *name;
	uuid_t uuid;
	char uuid_str[37]; /* canonical lower-case form */
	struct conf_console *consoles;
	size_t nconsoles;
	char *instance;    /* which run of the domain: libvirt's <domstatus pid>
	                      and <domain id>, e.g. "pid 4242 id 7"; NULL when
	                      the XML says neither (an inactive definition) */
	pid_t pid;         /* <domstatus pid>: the hypervisor process, 0: none */
	struct timespec written; /* mtime of the file the domain was read from
	                            (for a document in memory: when it was read) */
	char *file;
	int line;
};

enum conf_listen_type { CONF_LISTEN_UNIX, CONF_LISTEN_TCP };

struct conf_listen {
	enum conf_listen_type type;
	char *path;   /* unix: socket path */
	mode_t mode;  /* unix: socket mode, default 0660 */
	char *group;  /* unix: group name or NULL */
	char *host;   /* tcp: address, default 127.0.0.1 */
	char *port;   /* tcp: port */
	int proxy;    /* tcp: expect a PROXY protocol header (0: none, 1: v1 or v2) */
	int public_ok;/* tcp: the operator allows a non-loopback bind */
	char *file;
	int line;
};

/* Rights on a console; each implies the ones before it. */
#define CONF_RIGHT_WATCH 0x1
#define CONF_RIGHT_WRITE 0x2 /* and watch */
#define CONF_RIGHT_FORCE 0x4 /* and write: take over a live writer */
#define CONF_RIGHTS_ALL  0x7

/* Who a grant is for. */
enum conf_who {
	CONF_WHO_USER,    /* a Unix peer's uid (name or number) */
	CONF_WHO_GROUP,   /* a Unix peer in this group (primary or supplementary) */
	CONF_WHO_CN,      /* a TCP peer whose verified TLS certificate has this CN */
	CONF_WHO_ADDRESS  /* a TCP peer from this address or prefix */
};

struct conf_grant {
	enum conf_who who;
	char *name;          /* as written: user, group, CN or address/prefix */
	int family;          /* CONF_WHO_ADDRESS: AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;     /* bits that must match */
	char *domain;        /* fnmatch(3) pattern on the name, "*" when absent */
	char *console;       /* fnmatch(3) pattern on the alias, "*" when absent */
	unsigned rights;     /* CONF_RIGHT_*, implications applied */
	char *file;
	int line;
};

/* Bounds a small host survives; every one configurable in <limits>. */
struct conf_limits {
	unsigned connections;   /* all connections at once (default 4096) */
	unsigned per_identity;  /* connections of one uid, CN or address (default 64) */
	unsigned handshaking;   /* connections that have not said hello (default 256) */
	unsigned hello_timeout; /* seconds to say hello, PROXY header included (default 10) */
};

struct conf {
	struct conf_listen *listens;
	size_t nlistens;
	char *lock_dir;         /* default /var/lock */
	char *state_dir;        /* what the daemon keeps across its restarts:
	                           the directory of the default socket; NULL
	                           for the demo, which keeps nothing */
	size_t history_size;    /* bytes per console ring, default 65536 */
	unsigned stale_after;   /* seconds, default 30 */
	unsigned writer_timeout;/* seconds a writer may stop reading, default 10 */
	char **domains_dirs;    /* every <domains dir>, in the file's order */
	int *domains_lines;     /* where each was given */
	int *domains_follow;    /* whether each is followed live (follow=) */
	size_t ndomains_dirs;
	struct conf_domain *domains;
	size_t ndomains;
	char *file;             /* the config file, or "(demo)" */
	int access_rules;       /* an <access> element is present: grants decide */
	struct conf_grant *grants;
	size_t ngrants;
	struct conf_limits limits;
};

enum conf_severity { CONF_WARNING, CONF_ERROR };

struct conf_diag {
	enum conf_severity severity;
	char *text; /* "FILE:LINE: message" */
};

struct conf_diags {
	struct conf_diag *items;
	size_t count;
	size_t errors;
};

void conf_diags_free(struct conf_diags *diags);

/*
 * Load a config file and everything it names.  Returns 0 when a registry was
 * built (diagnostics may still hold warnings and skipped domain files), or a
 * negative errno when the config file itself is unusable: it cannot be read,
 * is not well-formed, or has an error in the broker's own settings (then
 * *out is NULL).  Every problem is appended to diags.  A relative <domains
 * dir> is taken from the directory of the config file.
 */
int conf_load(const char *path, struct conf **out, struct conf_diags *diags);

/* The embedded demo config: one domain "demo" with a spawned shell console. */
int conf_load_demo(struct conf **out, struct conf_diags *diags);

/*
 * Load from an in-memory document, with name used in diagnostics; a relative
 * <domains dir> is taken from the current directory.
 */
int conf_load_buffer(const char *name, const char *xml, size_t len,
    struct conf **out, struct conf_diags *diags);

void conf_free(struct conf *conf);

/* A domain by name or by UUID (any case, with or without dashes). */
const struct conf_domain *conf_find_domain(const struct conf *conf,
    const char *name_or_uuid);

/* A console by alias; NULL alias: the first <console>, else the first <serial>. */
const struct conf_console *conf_find_console(const struct conf_domain *domain,
    const char *alias);

/*
 * What proves that a console's pty is still its domain's (a /dev/pts number
 * is given to the next program that asks for a pty once the domain stops).
 */
enum conf_owner {
	CONF_OWNER_NONE,     /* nothing: a pty path in an inactive or hand-written
	                        definition; the daemon refuses to open it */
	CONF_OWNER_PROCESS,  /* the <domstatus pid> of a live status file */
	CONF_OWNER_PID_FILE, /* the process in <cb:console owner-pid-file> */
	CONF_OWNER_TRUSTED,  /* <cb:console trust='path'>: the operator vouches */
	CONF_OWNER_SELF      /* a spawned console: the daemon holds the master */
};

enum conf_owner conf_console_owner(const struct conf_domain *domain,
    const struct conf_console *console);

/*
 * Warnings about what the daemon will do with a configuration that loads:
 * every console whose /dev/pts path nothing proves to be its domain's
 * (CONF_OWNER_NONE), which it will refuse to open, and every TCP listener
 * when there is no <access>, which then grants nothing to anyone.  Kept
 * apart from conf_load() because they are the daemon's policy, not
 * properties of the XML; conbrokerd --check and the daemon's start and
 * reload ask for them.  Returns how many were added.
 */
size_t conf_check_policy(const struct conf *conf, struct conf_diags *diags);

/* The default socket path of the embedded demo and of the client. */
const char *conf_default_socket(void);

enum conf_change {
	CONF_ADDED,
	CONF_REMOVED,
	CONF_CHANGED,  /* same domain UUID and alias, new path or settings */
	CONF_UNCHANGED
};

struct conf_diff_entry {
	enum conf_change change;
	const struct conf_domain *old_domain, *new_domain; /* NULL when absent */
	const struct conf_console *old_console, *new_console;
};

struct conf_diff {
	struct conf_diff_entry *entries;
	size_t count;
};

/* What happened to each console between two registries (keyed by UUID + alias). */
int conf_diff(const struct conf *old, const struct conf *new_conf,
    struct conf_diff *out);
void conf_diff_free(struct conf_diff *diff);

/* "watch", "write", "force": the strongest right in a mask, for messages. */
const char *conf_right_name(unsigned right);
const char *conf_change_name(enum conf_change change);

#endif
