/*
 * conf-private: what the files of conf/ share and nothing outside sees.
 *
 * A load runs with one struct conf_loader: it owns the libxml2 parser context
 * (reused from file to file, so its dictionary and buffers are allocated
 * once), the read buffer, and the registry being built.  The registry is a
 * struct conf_registry whose first member is the public struct conf, so that
 * conf_free() and the lookups find the indexes behind the pointer they get.
 */
#ifndef CONBROKER_CONF_PRIVATE_H
#define CONBROKER_CONF_PRIVATE_H

#include <stdarg.h>
#include <stdint.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "conf/conf.h"

/* No document is read past this size: libvirt's largest are a few hundred KiB. */
#define CONF_MAX_FILE_SIZE (4u * 1024 * 1024)

/* libxml2 diagnostics kept per document before the rest are dropped. */
#define CONF_MAX_XML_DIAGS 10

#define CONF_HISTORY_MIN 4096
#define CONF_HISTORY_MAX (64u * 1024 * 1024)
#define CONF_HISTORY_DEFAULT 65536
#define CONF_STALE_MAX 86400
#define CONF_STALE_DEFAULT 30
#define CONF_WRITER_TIMEOUT_MAX 3600
#define CONF_WRITER_TIMEOUT_DEFAULT 10
#define CONF_LOCK_DIR_DEFAULT "/var/lock"
/* What a UUID looks like, for messages about one that does not. */
#define CONF_UUID_FORM "(expected 32 hexadecimal digits, dashes allowed, " \
	"as in 8f3a6c2e-1b7d-4e95-a0c4-5d6e7f809a1b)"
/* The highest PID a Linux kernel hands out (PID_MAX_LIMIT). */
#define CONF_PID_MAX 4194304
#define CONF_LISTEN_MODE_DEFAULT 0660

/* An open-addressing table of domain indexes (slot value: index + 1). */
struct conf_index {
	uint32_t *slots;
	size_t mask; /* slot count - 1; the count is a power of two */
	size_t used;
};

/* The registry: the public struct and what finds its domains quickly. */
struct conf_registry {
	struct conf pub; /* first: a struct conf * is a struct conf_registry * */
	size_t domains_cap;
	int *name_lines; /* line of each domain's <name>, for duplicate reports */
	int *uuid_lines;
	struct conf_index by_name;
	struct conf_index by_uuid;
};

/*
 * The element kinds the tree filter tells apart (xml.c): only the subtrees
 * conf reads are built; libvirt's others are parsed, checked and dropped.
 */
enum conf_xml_kind {
	CONF_XML_KEEP,      /* keep the element and everything inside it */
	CONF_XML_DOMSTATUS, /* keep only its <domain> */
	CONF_XML_DOMAIN,    /* keep name, uuid, devices, metadata */
	CONF_XML_DEVICES    /* keep serial and console */
};

#define CONF_XML_DEPTH 64

struct conf_xml_filter {
	unsigned char kinds[CONF_XML_DEPTH]; /* of the open kept elements */
	unsigned depth;                      /* open kept elements */
	unsigned skip;                       /* open elements of a dropped subtree */
};

struct conf_loader {
	struct conf_diags *diags;
	struct conf_xml_filter filter;
	xmlParserCtxtPtr ctxt;
	char *buf;            /* file contents, reused from file to file */
	size_t bufsize;
	const char *file;     /* the document being parsed, for diagnostics */
	int xml_failed;       /* libxml2 reported an error in this document */
	int xml_diags;        /* libxml2 diagnostics kept for this document */
	int refused;          /* the document was refused before it was parsed */
	int settings_errors;  /* errors in the broker's own settings */
	struct timespec mtime;/* the document's mtime (in memory: when read) */
	struct conf_registry *reg;
};

/* The libvirt attributes and text conf reads, borrowed from the tree. */
struct conf_chr {
	const char *element;     /* "serial" or "console" */
	const char *source_type;
	const char *path;        /* <source path> */
	const char *tty;         /* the tty attribute */
	const char *alias;       /* <alias name>, or NULL */
	const char *target_type;
	int line;
	int index;               /* position among the elements of its kind */
	int duplicate_of;        /* a console that is a serial: its index, or -1 */
};

/* diag.c */
__attribute__((format(printf, 5, 6)))
void conf_diag(struct conf_diags *diags, enum conf_severity severity,
    const char *file, long line, const char *fmt, ...);
__attribute__((format(printf, 5, 0)))
void conf_vdiag(struct conf_diags *diags, enum conf_severity severity,
    const char *file, long line, const char *fmt, va_list ap);

void conf_diags_move(struct conf_diags *to, struct conf_diags *from);

/* xml.c */
int conf_loader_init(struct conf_loader *ld, struct conf_diags *diags);
void conf_loader_fini(struct conf_loader *ld);
int conf_xml_read_file(struct conf_loader *ld, int dirfd, const char *name,
    const char *display, int skip_special, xmlDoc **out);
int conf_xml_read_memory(struct conf_loader *ld, const char *display,
    const char *xml, size_t len, xmlDoc **out);
const char *conf_xml_attr(const xmlNode *node, const char *name);
int conf_xml_line(const xmlNode *node);
int conf_xml_is(const xmlNode *node, const char *name);
int conf_xml_is_ns(const xmlNode *node, const char *name);
char *conf_xml_text(const xmlNode *node);
const char *conf_xml_name(const xmlNode *node, char *buf, size_t size);
void conf_xml_check_attrs(struct conf_loader *ld, const xmlNode *node,
    const char *file, const char *const *allowed);
void conf_xml_stray(struct conf_loader *ld, const xmlNode *node,
    const xmlNode *parent, const char *file);

/* domain.c */
int conf_domain_read(struct conf_loader *ld, xmlNode *root, const char *file,
    struct conf_domain *d, int *name_line, int *uuid_line);
int conf_domain_load(struct conf_loader *ld, xmlNode *root, const char *file);
void conf_domain_clear(struct conf_domain *domain);
void conf_console_clear(struct conf_console *console);
int conf_uuid_parse(const char *text, uuid_t uuid);

/* meta.c */
int conf_meta_apply(struct conf_loader *ld, xmlNode *consoles,
    struct conf_domain *domain);

/* registry.c */
struct conf_registry *conf_registry_new(void);
int conf_registry_add(struct conf_loader *ld, struct conf_domain *domain,
    int name_line, int uuid_line);
const struct conf_domain *conf_registry_by_uuid(const struct conf *conf,
    const uuid_t uuid);

/* access.c */
int conf_access(struct conf_loader *ld, const xmlNode *node, const char *file);
int conf_limits(struct conf_loader *ld, const xmlNode *node, const char *file);
void conf_grants_free(struct conf *conf);

#define CONF_LIMIT_CONNECTIONS 4096
#define CONF_LIMIT_PER_IDENTITY 64
#define CONF_LIMIT_HANDSHAKING 256
#define CONF_LIMIT_HELLO_TIMEOUT 10

/* conf.c, shared with access.c */
int conf_parse_uint(const char *text, unsigned long long min,
    unsigned long long max, unsigned long long *out);
int conf_once(struct conf_loader *ld, const xmlNode *node, const char *file,
    int *seen);

/* dir.c */
int conf_dir_load(struct conf_loader *ld, const char *dir, const char *file,
    int line);

/* conf.c */
char *conf_strdup(const char *s);
int conf_path_join(const char *dir, const char *name, char **out);

#endif
