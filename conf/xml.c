/*
 * xml: reading one document safely, and the small tree helpers conf uses.
 *
 * Every file goes through conf_xml_parse(): a size cap checked with fstat()
 * before anything is read (and again on what was read), no network, no DTD
 * loading, no entity substitution, and any document type declaration with
 * an internal subset refused as soon as the parser reaches it, which stops
 * entity bombs and external entities before a single declaration is read.  libxml2's own
 * errors become "FILE:LINE: message" diagnostics instead of going to stderr.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/SAX2.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include "conf/conf-private.h"

#define CONF_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOBLANKS | \
	XML_PARSE_COMPACT | XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES)

/*
 * libxml2 calls its error handlers with a context of its own choosing (the
 * parser's, or none for errors raised outside it), so the loader a thread is
 * serving is kept here for them and for the SAX hooks.
 */
static _Thread_local struct conf_loader *conf_xml_current;

/* Turn one libxml2 error into a diagnostic of the document being parsed. */
static void conf_xml_error(void *data, xmlErrorPtr err)
{
	struct conf_loader *ld = conf_xml_current;
	enum conf_severity severity;

	(void)data;
	if (ld == NULL || err == NULL || ld->refused)
		return;
	severity = err->level == XML_ERR_WARNING ? CONF_WARNING : CONF_ERROR;
	if (severity == CONF_ERROR)
		ld->xml_failed = 1;
	/* A file can hold thousands of errors; the first ones say enough. */
	if (ld->xml_diags > CONF_MAX_XML_DIAGS) {
		if (severity == CONF_ERROR)
			ld->diags->errors++;
		return;
	}
	if (ld->xml_diags++ == CONF_MAX_XML_DIAGS)
		conf_diag(ld->diags, severity, ld->file, err->line, "too many "
		    "errors; the rest of this file's are not shown");
	else
		conf_diag(ld->diags, severity, ld->file, err->line, "%s",
		    err->message ? err->message : "XML error");
}

/* libxml2's unstructured messages, so that none of them reach stderr. */
__attribute__((format(printf, 2, 3)))
static void conf_xml_generic_error(void *data, const char *fmt, ...)
{
	struct conf_loader *ld = conf_xml_current;
	va_list ap;

	(void)data;
	if (ld == NULL || ld->refused || ld->xml_diags++ >= CONF_MAX_XML_DIAGS)
		return; /* counted by the structured errors that come with it */
	ld->xml_failed = 1;
	va_start(ap, fmt);
	conf_vdiag(ld->diags, CONF_ERROR, ld->file, 0, fmt, ap);
	va_end(ap);
}

/* Refuse the document: a diagnostic, and the parser stops where it is. */
static void conf_xml_refuse(xmlParserCtxtPtr ctxt, const char *why)
{
	struct conf_loader *ld = conf_xml_current;
	int line = ctxt->input ? ctxt->input->line : 0;

	if (ld != NULL && !ld->refused) {
		conf_diag(ld->diags, CONF_ERROR, ld->file, line, "%s", why);
		ld->refused = 1;
		ld->xml_failed = 1;
	}
	xmlStopParser(ctxt);
}

/*
 * The parser calls this at <!DOCTYPE, before it reads any internal subset;
 * when one follows, the input stands on its '['.  No domain file needs one,
 * and refusing it here is what keeps entity declarations out entirely.
 */
static void conf_xml_internal_subset(void *ctx, const xmlChar *name,
    const xmlChar *external_id, const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = ctx;

	if (ctxt->input != NULL && ctxt->input->cur != NULL &&
	    *ctxt->input->cur == '[') {
		conf_xml_refuse(ctxt, "document type declaration with an "
		    "internal subset refused (entities are not allowed)");
		return;
	}
	xmlSAX2InternalSubset(ctx, name, external_id, system_id);
}

/* A second line of defence: no entity declaration is ever accepted. */
static void conf_xml_entity_decl(void *ctx, const xmlChar *name, int type,
    const xmlChar *public_id, const xmlChar *system_id, xmlChar *content)
{
	(void)name; (void)type; (void)public_id; (void)system_id; (void)content;
	conf_xml_refuse(ctx, "entity declaration refused");
}

/* What the children of a kept element of this kind become, or -1: dropped. */
static int conf_xml_child_kind(int parent, const xmlChar *name,
    const xmlChar *uri)
{
	const char *n = (const char *)name;

	if (parent == CONF_XML_KEEP)
		return CONF_XML_KEEP;
	if (uri != NULL)
		return -1;
	switch (parent) {
	case CONF_XML_DOMSTATUS:
		return strcmp(n, "domain") == 0 ? CONF_XML_DOMAIN : -1;
	case CONF_XML_DOMAIN:
		if (strcmp(n, "devices") == 0)
			return CONF_XML_DEVICES;
		return strcmp(n, "name") == 0 || strcmp(n, "uuid") == 0 ||
		    strcmp(n, "metadata") == 0 ? CONF_XML_KEEP : -1;
	case CONF_XML_DEVICES:
		return strcmp(n, "serial") == 0 || strcmp(n, "console") == 0 ?
		    CONF_XML_KEEP : -1;
	}
	return -1;
}

/*
 * Start of an element: build it only when conf may read it.  A live status
 * file is mostly libvirt's private state (qemuCaps, vcpus, cpu features),
 * and not building those nodes halves the time a load takes.
 */
static void conf_xml_start(void *ctx, const xmlChar *name,
    const xmlChar *prefix, const xmlChar *uri, int nb_namespaces,
    const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
    const xmlChar **attributes)
{
	struct conf_xml_filter *f = &conf_xml_current->filter;
	int kind;

	if (f->skip > 0) {
		f->skip++;
		return;
	}
	if (f->depth == 0)
		kind = uri != NULL ? CONF_XML_KEEP :
		    strcmp((const char *)name, "domstatus") == 0 ?
		    CONF_XML_DOMSTATUS : strcmp((const char *)name, "domain") == 0 ?
		    CONF_XML_DOMAIN : CONF_XML_KEEP;
	else
		kind = conf_xml_child_kind(f->depth > CONF_XML_DEPTH ?
		    CONF_XML_KEEP : f->kinds[f->depth - 1], name, uri);
	if (kind < 0) {
		f->skip = 1;
		return;
	}
	if (f->depth < CONF_XML_DEPTH)
		f->kinds[f->depth] = (unsigned char)kind;
	f->depth++;
	xmlSAX2StartElementNs(ctx, name, prefix, uri, nb_namespaces, namespaces,
	    nb_attributes, nb_defaulted, attributes);
}

static void conf_xml_end(void *ctx, const xmlChar *name,
    const xmlChar *prefix, const xmlChar *uri)
{
	struct conf_xml_filter *f = &conf_xml_current->filter;

	if (f->skip > 0) {
		f->skip--;
		return;
	}
	if (f->depth > 0)
		f->depth--;
	xmlSAX2EndElementNs(ctx, name, prefix, uri);
}

/* Text is kept only inside kept subtrees that may want it. */
static void conf_xml_characters(void *ctx, const xmlChar *ch, int len)
{
	struct conf_xml_filter *f = &conf_xml_current->filter;

	if (f->skip == 0 && f->depth > 0 && (f->depth > CONF_XML_DEPTH ||
	    f->kinds[f->depth - 1] == CONF_XML_KEEP))
		xmlSAX2Characters(ctx, ch, len);
}

/* Prepare a loader: one parser context, hooked, for all its documents. */
int conf_loader_init(struct conf_loader *ld, struct conf_diags *diags)
{
	memset(ld, 0, sizeof(*ld));
	ld->diags = diags;
	xmlInitParser();
	ld->ctxt = xmlNewParserCtxt();
	if (ld->ctxt == NULL)
		return -ENOMEM;
	ld->ctxt->sax->internalSubset = conf_xml_internal_subset;
	ld->ctxt->sax->entityDecl = conf_xml_entity_decl;
	ld->ctxt->sax->serror = conf_xml_error;
	ld->ctxt->sax->startElementNs = conf_xml_start;
	ld->ctxt->sax->endElementNs = conf_xml_end;
	ld->ctxt->sax->characters = conf_xml_characters;
	ld->ctxt->sax->cdataBlock = conf_xml_characters;
	/* Comments and processing instructions are never read: not built. */
	ld->ctxt->sax->comment = NULL;
	ld->ctxt->sax->processingInstruction = NULL;
	ld->ctxt->sax->error = NULL;
	ld->ctxt->sax->warning = NULL;
	return 0;
}

void conf_loader_fini(struct conf_loader *ld)
{
	if (ld->ctxt != NULL)
		xmlFreeParserCtxt(ld->ctxt);
	free(ld->buf);
	ld->ctxt = NULL;
	ld->buf = NULL;
}

/* A document in memory, handed to libxml2 a chunk at a time. */
struct conf_xml_source {
	const char *next;
	size_t left;
};

static int conf_xml_source_read(void *ctx, char *buf, int len)
{
	struct conf_xml_source *src = ctx;
	size_t n = len > 0 && (size_t)len < src->left ? (size_t)len : src->left;

	memcpy(buf, src->next, n);
	src->next += n;
	src->left -= n;
	return (int)n;
}

static int conf_xml_source_close(void *ctx)
{
	(void)ctx;
	return 0;
}

/*
 * Parse a buffer with the loader's context; *out is NULL when it failed.
 * The file was read (and its size checked) by us; libxml2 gets it through
 * read callbacks rather than xmlCtxtReadMemory(), which copies the whole
 * document into a buffer of its own: with thousands of files those large
 * short-lived copies, interleaved with the registry's small strings, left
 * the heap several times larger than what it held.
 */
static int conf_xml_parse(struct conf_loader *ld, const char *display,
    const char *xml, size_t len, xmlDoc **out)
{
	xmlStructuredErrorFunc saved_serror = xmlStructuredError;
	void *saved_sctx = xmlStructuredErrorContext;
	xmlGenericErrorFunc saved_generic = xmlGenericError;
	void *saved_gctx = xmlGenericErrorContext;
	struct conf_xml_source src = { xml, len };
	xmlDoc *doc;

	*out = NULL;
	if (len > CONF_MAX_FILE_SIZE) {
		conf_diag(ld->diags, CONF_ERROR, display, 0, "file too large "
		    "(%zu bytes, limit %u)", len, CONF_MAX_FILE_SIZE);
		return -EFBIG;
	}
	if (len == 0) {
		conf_diag(ld->diags, CONF_ERROR, display, 0, "empty file");
		return -EINVAL;
	}
	ld->file = display;
	ld->xml_failed = 0;
	ld->xml_diags = 0;
	ld->refused = 0;
	memset(&ld->filter, 0, sizeof(ld->filter));
	conf_xml_current = ld;
	xmlSetStructuredErrorFunc(NULL, conf_xml_error);
	xmlSetGenericErrorFunc(NULL, conf_xml_generic_error);
	doc = xmlCtxtReadIO(ld->ctxt, conf_xml_source_read,
	    conf_xml_source_close, &src, NULL, NULL, CONF_XML_OPTIONS);
	xmlSetStructuredErrorFunc(saved_sctx, saved_serror);
	xmlSetGenericErrorFunc(saved_gctx, saved_generic);
	conf_xml_current = NULL;
	if (doc != NULL && (ld->xml_failed || xmlDocGetRootElement(doc) == NULL)) {
		if (!ld->xml_failed)
			conf_diag(ld->diags, CONF_ERROR, display, 0,
			    "no root element");
		xmlFreeDoc(doc);
		doc = NULL;
	}
	if (doc == NULL) {
		if (!ld->xml_failed)
			conf_diag(ld->diags, CONF_ERROR, display, 0,
			    "not a well-formed XML document");
		return -EINVAL;
	}
	*out = doc;
	return 0;
}

/*
 * Read an open file into the loader's buffer, expecting size bytes; a file
 * that grows meanwhile is read on, but never past the cap plus one byte.
 */
static int conf_xml_slurp(struct conf_loader *ld, int fd, size_t size,
    size_t *len)
{
	size_t want = size + 1, got = 0;
	ssize_t n;
	char *buf;

	for (;;) {
		if (want > ld->bufsize) {
			buf = realloc(ld->buf, want);
			if (buf == NULL)
				return -ENOMEM;
			ld->buf = buf;
			ld->bufsize = want;
		}
		n = read(fd, ld->buf + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == want) {
			if (want > CONF_MAX_FILE_SIZE)
				break;
			want = want * 2 > CONF_MAX_FILE_SIZE + 1 ?
			    CONF_MAX_FILE_SIZE + 1 : want * 2;
		}
	}
	*len = got;
	return 0;
}

/*
 * Read and parse one file (relative to dirfd, or AT_FDCWD).  With
 * skip_special, something that is not a regular file is passed over in
 * silence and 1 is returned; otherwise it is an error.
 */
int conf_xml_read_file(struct conf_loader *ld, int dirfd, const char *name,
    const char *display, int skip_special, xmlDoc **out)
{
	struct stat st;
	size_t len = 0;
	int fd, ret;

	*out = NULL;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		if (skip_special && ret == -ENXIO)
			return 1;
		conf_diag(ld->diags, CONF_ERROR, display, 0, "cannot open: %s",
		    strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		conf_diag(ld->diags, CONF_ERROR, display, 0, "cannot stat: %s",
		    strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = skip_special ? 1 : -EINVAL;
		if (!skip_special)
			conf_diag(ld->diags, CONF_ERROR, display, 0,
			    "not a regular file");
		goto out;
	}
	if ((uintmax_t)st.st_size > CONF_MAX_FILE_SIZE) {
		conf_diag(ld->diags, CONF_ERROR, display, 0, "file too large "
		    "(%jd bytes, limit %u)", (intmax_t)st.st_size,
		    CONF_MAX_FILE_SIZE);
		ret = -EFBIG;
		goto out;
	}
	ld->mtime = st.st_mtim;
	ret = conf_xml_slurp(ld, fd, (size_t)st.st_size, &len);
	if (ret < 0) {
		conf_diag(ld->diags, CONF_ERROR, display, 0, "cannot read: %s",
		    strerror(-ret));
		goto out;
	}
	ret = conf_xml_parse(ld, display, ld->buf, len, out);
out:
	close(fd);
	return ret;
}

/* Parse a document held in memory (the embedded demo, or a caller's). */
int conf_xml_read_memory(struct conf_loader *ld, const char *display,
    const char *xml, size_t len, xmlDoc **out)
{
	/* Whatever the document names was there by the time it was read. */
	clock_gettime(CLOCK_REALTIME, &ld->mtime);
	return conf_xml_parse(ld, display, xml, len, out);
}

/*
 * The value of an attribute without namespace, borrowed from the tree; NULL
 * when absent.  The parser gives a value one text node; should it ever give
 * several, they are merged in place once, so the pointer stays borrowed.
 */
const char *conf_xml_attr(const xmlNode *node, const char *name)
{
	xmlAttr *attr;
	xmlNode *text;
	xmlChar *value;

	for (attr = node->properties; attr != NULL; attr = attr->next) {
		if (attr->ns != NULL || strcmp((const char *)attr->name, name))
			continue;
		if (attr->children == NULL)
			return "";
		if (attr->children->type == XML_TEXT_NODE &&
		    attr->children->next == NULL)
			return (const char *)attr->children->content;
		value = xmlNodeListGetString(attr->doc, attr->children, 1);
		text = xmlNewDocText(attr->doc, value ? value : BAD_CAST "");
		xmlFree(value);
		if (text == NULL)
			return "";
		xmlFreeNodeList(attr->children);
		text->parent = (xmlNode *)attr;
		attr->children = attr->last = text;
		return (const char *)text->content;
	}
	return NULL;
}

/* The line of an element's start tag. */
int conf_xml_line(const xmlNode *node)
{
	long line = xmlGetLineNo(node);

	return line > 0 && line < 0x7fffffff ? (int)line : 0;
}

/* An element of libvirt's vocabulary (no namespace) with this name. */
int conf_xml_is(const xmlNode *node, const char *name)
{
	return node->type == XML_ELEMENT_NODE && node->ns == NULL &&
	    strcmp((const char *)node->name, name) == 0;
}

/* An element of conbroker's namespace with this name. */
int conf_xml_is_ns(const xmlNode *node, const char *name)
{
	return node->type == XML_ELEMENT_NODE && node->ns != NULL &&
	    node->ns->href != NULL &&
	    strcmp((const char *)node->ns->href, CONF_NS) == 0 &&
	    strcmp((const char *)node->name, name) == 0;
}

/* The text of an element, allocated with malloc(); NULL when out of memory. */
char *conf_xml_text(const xmlNode *node)
{
	xmlChar *content;
	char *text;

	if (node->children == NULL)
		return conf_strdup("");
	if (node->children->type == XML_TEXT_NODE &&
	    node->children->next == NULL)
		return conf_strdup((const char *)node->children->content);
	content = xmlNodeGetContent(node);
	if (content == NULL)
		return NULL;
	text = conf_strdup((const char *)content);
	xmlFree(content);
	return text;
}

/* An element's name as the document spells it ("cb:console"), for messages. */
const char *conf_xml_name(const xmlNode *node, char *buf, size_t size)
{
	if (node->ns != NULL && node->ns->prefix != NULL)
		snprintf(buf, size, "%s:%s", (const char *)node->ns->prefix,
		    (const char *)node->name);
	else
		snprintf(buf, size, "%s", (const char *)node->name);
	return buf;
}

/* Report every attribute of node that is not in the NULL-ended allowed list. */
void conf_xml_check_attrs(struct conf_loader *ld, const xmlNode *node,
    const char *file, const char *const *allowed)
{
	const xmlAttr *attr;
	char name[128];
	int i, ok;

	for (attr = node->properties; attr != NULL; attr = attr->next) {
		ok = 0;
		for (i = 0; allowed[i] != NULL && attr->ns == NULL; i++)
			ok |= strcmp(allowed[i], (const char *)attr->name) == 0;
		if (!ok)
			conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(node),
			    "unknown attribute '%s' on <%s>",
			    (const char *)attr->name,
			    conf_xml_name(node, name, sizeof(name)));
	}
}

/* Report an element or text that has no place where it stands. */
void conf_xml_stray(struct conf_loader *ld, const xmlNode *node,
    const xmlNode *parent, const char *file)
{
	char name[128], pname[128];
	const xmlChar *p;

	if (node->type == XML_TEXT_NODE) {
		for (p = node->content; p != NULL && *p != '\0'; p++)
			if (!isspace(*p))
				break;
		if (p == NULL || *p == '\0')
			return;
		conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(node),
		    "unexpected text in <%s>",
		    conf_xml_name(parent, pname, sizeof(pname)));
		return;
	}
	if (node->type != XML_ELEMENT_NODE)
		return;
	conf_diag(ld->diags, CONF_ERROR, file, conf_xml_line(node),
	    "unknown element <%s> in <%s>",
	    conf_xml_name(node, name, sizeof(name)),
	    conf_xml_name(parent, pname, sizeof(pname)));
}
