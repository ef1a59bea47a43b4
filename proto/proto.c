/*
 * proto: encoding, decoding and stream reassembly of conbroker frames.
 *
 * Each message type is described once, as a list of fields in wire order
 * (layouts[] below); decoding, encoding and size computation all walk that
 * same list, so the three cannot disagree about a message's shape.  DATA is
 * the one type whose payload is raw bytes rather than fields.
 */
#include "proto/proto.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum proto_kind {
	PROTO_F_U16,
	PROTO_F_U32,
	PROTO_F_U64,
	PROTO_F_STR
};

/* One field of a payload: its wire kind, where it lives, what to say when bad. */
struct proto_field {
	enum proto_kind kind;
	size_t off;
	const char *truncated;
	const char *has_nul;
};

/* How one message type looks on the wire. */
struct proto_layout {
	uint16_t type;
	const char *name;
	const struct proto_field *fields;
	size_t nfields;
	uint32_t known_flags_off; /* offset of a flags field checked against known */
	uint32_t known_flags;
	bool check_flags;
	const char *bad_flags;
	const char *trailing;
	const char *too_short;
	const char *wrong_size;
};

#define FIELD(kind, member, what)						\
	{ PROTO_F_##kind, offsetof(struct proto_msg, u.member),		\
	  what " is truncated", what " contains a NUL byte" }

static const struct proto_field hello_fields[] = {
	FIELD(U32, hello.version, "HELLO version"),
	FIELD(U32, hello.heartbeat_ms, "HELLO heartbeat interval"),
	FIELD(STR, hello.software, "HELLO software"),
};

static const struct proto_field open_fields[] = {
	FIELD(STR, open.domain, "OPEN domain"),
	FIELD(STR, open.devname, "OPEN devname"),
	FIELD(U32, open.flags, "OPEN flags"),
	FIELD(U16, open.rows, "OPEN rows"),
	FIELD(U16, open.cols, "OPEN cols"),
};

static const struct proto_field opened_fields[] = {
	FIELD(STR, opened.domain, "OPENED domain"),
	FIELD(STR, opened.uuid, "OPENED uuid"),
	FIELD(STR, opened.alias, "OPENED alias"),
	FIELD(U32, opened.flags, "OPENED flags"),
	FIELD(STR, opened.notice, "OPENED notice"),
};

static const struct proto_field resize_fields[] = {
	FIELD(U16, resize.rows, "RESIZE rows"),
	FIELD(U16, resize.cols, "RESIZE cols"),
};

static const struct proto_field notice_fields[] = {
	FIELD(U32, notice.kind, "NOTICE kind"),
	FIELD(U64, notice.count, "NOTICE count"),
	FIELD(STR, notice.text, "NOTICE text"),
};

static const struct proto_field closed_fields[] = {
	FIELD(U32, status.code, "CLOSED code"),
	FIELD(STR, status.message, "CLOSED message"),
};

static const struct proto_field error_fields[] = {
	FIELD(U32, status.code, "ERROR code"),
	FIELD(STR, status.message, "ERROR message"),
};

static const struct proto_field list_fields[] = {
	FIELD(U32, list.flags, "LIST flags"),
};

static const struct proto_field entry_fields[] = {
	FIELD(STR, entry.domain, "LIST_ENTRY domain"),
	FIELD(STR, entry.uuid, "LIST_ENTRY uuid"),
	FIELD(STR, entry.alias, "LIST_ENTRY alias"),
	FIELD(STR, entry.pty, "LIST_ENTRY pty"),
	FIELD(U32, entry.state, "LIST_ENTRY state"),
	FIELD(U32, entry.watchers, "LIST_ENTRY watchers"),
	FIELD(U32, entry.idle, "LIST_ENTRY idle"),
	FIELD(U32, entry.holder_pid, "LIST_ENTRY holder pid"),
	FIELD(STR, entry.holder, "LIST_ENTRY holder"),
};

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

#define LAYOUT(t, n, f)							\
	.type = (t), .name = n, .fields = (f), .nfields = NFIELDS(f),	\
	.trailing = n " has trailing bytes after its last field",	\
	.too_short = n " is shorter than its fixed fields",		\
	.wrong_size = n " has the wrong size"

#define LAYOUT_EMPTY(t, n)						\
	.type = (t), .name = n, .fields = NULL, .nfields = 0,		\
	.trailing = n " must be empty",				\
	.too_short = n " must be empty",				\
	.wrong_size = n " must be empty"

static const struct proto_layout layouts[] = {
	{ LAYOUT(PROTO_HELLO, "HELLO", hello_fields) },
	{ LAYOUT(PROTO_OPEN, "OPEN", open_fields),
	  .check_flags = true, .known_flags = PROTO_OPEN_KNOWN,
	  .known_flags_off = offsetof(struct proto_msg, u.open.flags),
	  .bad_flags = "OPEN has unknown flags" },
	{ LAYOUT(PROTO_OPENED, "OPENED", opened_fields),
	  .check_flags = true, .known_flags = PROTO_OPEN_KNOWN,
	  .known_flags_off = offsetof(struct proto_msg, u.opened.flags),
	  .bad_flags = "OPENED has unknown flags" },
	{ .type = PROTO_DATA, .name = "DATA", .too_short = "DATA is empty",
	  .wrong_size = "DATA is empty", .trailing = "DATA is empty" },
	{ LAYOUT(PROTO_RESIZE, "RESIZE", resize_fields) },
	{ LAYOUT_EMPTY(PROTO_HEARTBEAT, "HEARTBEAT") },
	{ LAYOUT(PROTO_NOTICE, "NOTICE", notice_fields) },
	{ LAYOUT_EMPTY(PROTO_DETACH, "DETACH") },
	{ LAYOUT(PROTO_CLOSED, "CLOSED", closed_fields) },
	{ LAYOUT(PROTO_ERROR, "ERROR", error_fields) },
	{ LAYOUT(PROTO_LIST, "LIST", list_fields),
	  .check_flags = true, .known_flags = PROTO_LIST_KNOWN,
	  .known_flags_off = offsetof(struct proto_msg, u.list.flags),
	  .bad_flags = "LIST has unknown flags" },
	{ LAYOUT(PROTO_LIST_ENTRY, "LIST_ENTRY", entry_fields) },
	{ LAYOUT_EMPTY(PROTO_LIST_END, "LIST_END") },
};

/* The layout of a type, or NULL when the type is not one of ours. */
static const struct proto_layout *proto_layout(uint16_t type)
{
	size_t i;

	for (i = 0; i < NFIELDS(layouts); i++)
		if (layouts[i].type == type)
			return &layouts[i];
	return NULL;
}

static size_t proto_field_min(enum proto_kind kind)
{
	switch (kind) {
	case PROTO_F_U16: return 2;
	case PROTO_F_U32: return 4;
	case PROTO_F_U64: return 8;
	case PROTO_F_STR: return 2;
	}
	return 0;
}

/* Smallest payload of a layout, and whether every payload has that size. */
static size_t proto_layout_min(const struct proto_layout *l, bool *fixed)
{
	size_t i, min = 0;

	*fixed = l->type != PROTO_DATA;
	for (i = 0; i < l->nfields; i++) {
		min += proto_field_min(l->fields[i].kind);
		if (l->fields[i].kind == PROTO_F_STR)
			*fixed = false;
	}
	return l->type == PROTO_DATA ? 1 : min;
}

static void proto_set_why(const char **why, const char *text)
{
	if (why)
		*why = text;
}

/*
 * Judge a payload length against its type.  Shared by the header check and
 * by proto_decode(), so that a frame of impossible size is refused before
 * its payload is read and a direct proto_decode() caller gets the same answer.
 */
static int proto_check_len(const struct proto_layout *l, size_t len,
    const char **why)
{
	bool fixed;
	size_t min = proto_layout_min(l, &fixed);

	if (len > PROTO_MAX_PAYLOAD) {
		proto_set_why(why, "frame is larger than the maximum payload");
		return -EMSGSIZE;
	}
	if (fixed && len != min) {
		proto_set_why(why, l->wrong_size);
		return -EPROTO;
	}
	if (len < min) {
		proto_set_why(why, l->too_short);
		return -EPROTO;
	}
	return 0;
}

/* NULL becomes "" so that an absent optional name encodes as empty. */
struct proto_str proto_str(const char *s)
{
	struct proto_str str = { "", 0 };

	if (s) {
		str.ptr = s;
		str.len = (uint16_t)strnlen(s, UINT16_MAX);
	}
	return str;
}

static uint16_t proto_get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t proto_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t proto_get64(const uint8_t *p)
{
	return (uint64_t)proto_get32(p) << 32 | proto_get32(p + 4);
}

static void proto_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void proto_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void proto_put64(uint8_t *p, uint64_t v)
{
	proto_put32(p, (uint32_t)(v >> 32));
	proto_put32(p + 4, (uint32_t)v);
}

/* Judge a header on its own, so that a bad frame costs 8 bytes at most. */
int proto_decode_header(const uint8_t *buf, size_t avail, uint16_t *type,
    uint32_t *len, const char **why)
{
	const struct proto_layout *l;
	uint32_t plen;
	uint16_t t;

	if (avail < PROTO_HDR_SIZE) {
		proto_set_why(why, "frame header is incomplete");
		return -EAGAIN;
	}
	plen = proto_get32(buf);
	t = proto_get16(buf + 4);
	/* Reported even for a bad frame, so that the caller can log them. */
	*type = t;
	*len = plen;
	l = proto_layout(t);
	if (!l) {
		proto_set_why(why, "frame has an unknown message type");
		return -EPROTO;
	}
	if (proto_get16(buf + 6) != 0) {
		proto_set_why(why, "frame header has non-zero flags");
		return -EPROTO;
	}
	/* Oversize and impossible sizes are refused here, before the payload. */
	return proto_check_len(l, plen, why);
}

/* Read one field at *pos, or say why it does not fit. */
static int proto_decode_field(const struct proto_field *f, const uint8_t *p,
    size_t len, size_t *pos, struct proto_msg *msg, const char **why)
{
	char *dst = (char *)msg + f->off;
	size_t left = len - *pos, n;
	struct proto_str s;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	if (left < proto_field_min(f->kind))
		goto truncated;
	switch (f->kind) {
	case PROTO_F_U16:
		v16 = proto_get16(p + *pos);
		memcpy(dst, &v16, sizeof(v16));
		*pos += 2;
		break;
	case PROTO_F_U32:
		v32 = proto_get32(p + *pos);
		memcpy(dst, &v32, sizeof(v32));
		*pos += 4;
		break;
	case PROTO_F_U64:
		v64 = proto_get64(p + *pos);
		memcpy(dst, &v64, sizeof(v64));
		*pos += 8;
		break;
	case PROTO_F_STR:
		n = proto_get16(p + *pos);
		if (left - 2 < n)
			goto truncated;
		s.ptr = (const char *)p + *pos + 2;
		s.len = (uint16_t)n;
		if (memchr(s.ptr, 0, n)) {
			proto_set_why(why, f->has_nul);
			return -EPROTO;
		}
		memcpy(dst, &s, sizeof(s));
		*pos += 2 + n;
		break;
	}
	return 0;

truncated:
	proto_set_why(why, f->truncated);
	return -EPROTO;
}

/* Walk the type's fields; any byte left over means the peer and we disagree. */
int proto_decode(uint16_t type, const uint8_t *payload, size_t len,
    struct proto_msg *msg, const char **why)
{
	const struct proto_layout *l = proto_layout(type);
	size_t i, pos = 0;
	uint32_t flags;
	int ret;

	memset(msg, 0, sizeof(*msg));
	if (!l) {
		proto_set_why(why, "frame has an unknown message type");
		return -EPROTO;
	}
	ret = proto_check_len(l, len, why);
	if (ret < 0)
		return ret;
	msg->type = (enum proto_type)type;
	if (type == PROTO_DATA) {
		msg->u.data.ptr = payload;
		msg->u.data.len = len;
		return 0;
	}
	for (i = 0; i < l->nfields; i++) {
		ret = proto_decode_field(&l->fields[i], payload, len, &pos, msg,
		    why);
		if (ret < 0)
			return ret;
	}
	if (pos != len) {
		proto_set_why(why, l->trailing);
		return -EPROTO;
	}
	if (l->check_flags) {
		memcpy(&flags, (const char *)msg + l->known_flags_off,
		    sizeof(flags));
		if (flags & ~l->known_flags) {
			proto_set_why(why, l->bad_flags);
			return -EPROTO;
		}
	}
	return 0;
}

/* The string stored in a field of msg. */
static struct proto_str proto_field_str(const struct proto_msg *msg,
    const struct proto_field *f)
{
	struct proto_str s;

	memcpy(&s, (const char *)msg + f->off, sizeof(s));
	return s;
}

/* Payload size of msg; 0 for an unknown type. */
static size_t proto_payload_size(const struct proto_msg *msg,
    const struct proto_layout *l)
{
	size_t i, size = 0;

	if (msg->type == PROTO_DATA)
		return msg->u.data.len;
	for (i = 0; i < l->nfields; i++) {
		size += proto_field_min(l->fields[i].kind);
		if (l->fields[i].kind == PROTO_F_STR)
			size += proto_field_str(msg, &l->fields[i]).len;
	}
	return size;
}

size_t proto_encoded_size(const struct proto_msg *msg)
{
	const struct proto_layout *l = proto_layout((uint16_t)msg->type);

	if (!l || (unsigned)msg->type > UINT16_MAX)
		return 0;
	return PROTO_HDR_SIZE + proto_payload_size(msg, l);
}

/*
 * Refuse to encode what the peer's decoder would refuse, so that a bug in
 * the sender shows up at the sender: unknown flags, empty DATA, strings
 * with a NUL byte or no bytes behind a non-zero length.
 */
static int proto_encode_check(const struct proto_msg *msg,
    const struct proto_layout *l)
{
	struct proto_str s;
	uint32_t flags;
	size_t i;

	if (msg->type == PROTO_DATA)
		return msg->u.data.len > 0 && msg->u.data.ptr ? 0 : -EINVAL;
	for (i = 0; i < l->nfields; i++) {
		if (l->fields[i].kind != PROTO_F_STR)
			continue;
		s = proto_field_str(msg, &l->fields[i]);
		if (s.len && (!s.ptr || memchr(s.ptr, 0, s.len)))
			return -EINVAL;
	}
	if (l->check_flags) {
		memcpy(&flags, (const char *)msg + l->known_flags_off,
		    sizeof(flags));
		if (flags & ~l->known_flags)
			return -EINVAL;
	}
	return 0;
}

/* Write one field of msg at p; the caller has checked that it fits. */
static size_t proto_encode_field(const struct proto_field *f,
    const struct proto_msg *msg, uint8_t *p)
{
	const char *src = (const char *)msg + f->off;
	struct proto_str s;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (f->kind) {
	case PROTO_F_U16:
		memcpy(&v16, src, sizeof(v16));
		proto_put16(p, v16);
		return 2;
	case PROTO_F_U32:
		memcpy(&v32, src, sizeof(v32));
		proto_put32(p, v32);
		return 4;
	case PROTO_F_U64:
		memcpy(&v64, src, sizeof(v64));
		proto_put64(p, v64);
		return 8;
	case PROTO_F_STR:
		memcpy(&s, src, sizeof(s));
		proto_put16(p, s.len);
		if (s.len)
			memcpy(p + 2, s.ptr, s.len);
		return 2 + (size_t)s.len;
	}
	return 0;
}

/* Check everything first, so that a refused message leaves buf untouched. */
ssize_t proto_encode(const struct proto_msg *msg, uint8_t *buf, size_t cap)
{
	const struct proto_layout *l = proto_layout((uint16_t)msg->type);
	size_t i, size, pos = PROTO_HDR_SIZE;
	int ret;

	if (!l || (unsigned)msg->type > UINT16_MAX)
		return -EINVAL;
	ret = proto_encode_check(msg, l);
	if (ret < 0)
		return ret;
	size = proto_payload_size(msg, l);
	if (size > PROTO_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (cap < PROTO_HDR_SIZE + size)
		return -ENOSPC;
	proto_encode_header(buf, (uint16_t)msg->type, (uint32_t)size);
	if (msg->type == PROTO_DATA) {
		memcpy(buf + pos, msg->u.data.ptr, size);
		pos += size;
	}
	for (i = 0; i < l->nfields; i++)
		pos += proto_encode_field(&l->fields[i], msg, buf + pos);
	return (ssize_t)pos;
}

void proto_encode_header(uint8_t hdr[PROTO_HDR_SIZE], uint16_t type,
    uint32_t len)
{
	proto_put32(hdr, len);
	proto_put16(hdr + 4, type);
	proto_put16(hdr + 6, 0);
}

/* The reader never holds more than one whole frame plus one read's slack. */
#define PROTO_READER_LIMIT (PROTO_MAX_FRAME + PROTO_READER_SLACK)

void proto_reader_init(struct proto_reader *r)
{
	memset(r, 0, sizeof(*r));
}

void proto_reader_free(struct proto_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/*
 * Bytes still missing from the frame at the start of the buffer, or 0 when
 * its header is not there yet, is bad, or the frame is already complete.
 */
static size_t proto_reader_missing(const struct proto_reader *r)
{
	uint16_t type;
	uint32_t len;

	if (r->len - r->off < PROTO_HDR_SIZE)
		return 0;
	if (proto_decode_header(r->buf + r->off, r->len - r->off, &type, &len,
	    NULL) < 0)
		return 0;
	if (r->len - r->off >= PROTO_HDR_SIZE + (size_t)len)
		return 0;
	return PROTO_HDR_SIZE + (size_t)len - (r->len - r->off);
}

/*
 * Make room for the next read: drop consumed bytes, then grow so that the
 * rest of the current frame fits in one read, or at least a read's slack.
 */
uint8_t *proto_reader_space(struct proto_reader *r, size_t *room)
{
	size_t want, target, ncap;
	uint8_t *nbuf;

	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	want = proto_reader_missing(r);
	if (want < PROTO_READER_SLACK)
		want = PROTO_READER_SLACK;
	target = r->len + want;
	if (target > PROTO_READER_LIMIT)
		target = PROTO_READER_LIMIT;
	if (r->cap < target) {
		ncap = r->cap ? r->cap : PROTO_READER_SLACK;
		while (ncap < target)
			ncap *= 2;
		if (ncap > PROTO_READER_LIMIT)
			ncap = PROTO_READER_LIMIT;
		nbuf = realloc(r->buf, ncap);
		if (!nbuf) {
			*room = 0;
			return NULL;
		}
		r->buf = nbuf;
		r->cap = ncap;
	}
	*room = r->cap - r->len;
	return r->buf + r->len;
}

void proto_reader_commit(struct proto_reader *r, size_t n)
{
	/* A caller that claims more than it was given must not move len past cap. */
	if (n > r->cap - r->len)
		n = r->cap - r->len;
	r->len += n;
}

/*
 * Hand out the next complete frame.  A bad header is reported as soon as it
 * is whole, so an oversize frame is refused before its payload arrives; the
 * read position is not moved past a bad frame, so the error repeats.
 */
int proto_reader_next(struct proto_reader *r, struct proto_msg *msg,
    const char **why)
{
	size_t pending = r->len - r->off;
	uint16_t type;
	uint32_t len;
	int ret;

	if (pending < PROTO_HDR_SIZE)
		return 0;
	ret = proto_decode_header(r->buf + r->off, pending, &type, &len, why);
	if (ret < 0)
		return ret;
	if (pending - PROTO_HDR_SIZE < len)
		return 0;
	ret = proto_decode(type, r->buf + r->off + PROTO_HDR_SIZE, len, msg,
	    why);
	if (ret < 0)
		return ret;
	r->off += PROTO_HDR_SIZE + len;
	/* Nothing is moved here, so msg stays valid; the next read starts at 0. */
	if (r->off == r->len)
		r->off = r->len = 0;
	return 1;
}

const char *proto_type_name(uint16_t type)
{
	const struct proto_layout *l = proto_layout(type);

	return l ? l->name : "unknown";
}

const char *proto_code_name(uint32_t code)
{
	static const char *const names[] = {
		[PROTO_CODE_OK] = "ok",
		[PROTO_CODE_INTERNAL] = "internal",
		[PROTO_CODE_NOENT] = "noent",
		[PROTO_CODE_BUSY] = "busy",
		[PROTO_CODE_LOCKED] = "locked",
		[PROTO_CODE_UNREACHABLE] = "unreachable",
		[PROTO_CODE_TAKEOVER] = "takeover",
		[PROTO_CODE_HANGUP] = "hangup",
		[PROTO_CODE_DENIED] = "denied",
	};

	return code < NFIELDS(names) ? names[code] : "unknown";
}

const char *proto_state_name(uint32_t state)
{
	static const char *const names[] = {
		[PROTO_STATE_FREE] = "free",
		[PROTO_STATE_ATTACHED] = "attached",
		[PROTO_STATE_LOCKED] = "locked",
		[PROTO_STATE_STALE] = "stale",
		[PROTO_STATE_HUNGUP] = "hungup",
		[PROTO_STATE_NOPTY] = "nopty",
		[PROTO_STATE_UNSUPPORTED] = "unsupported",
		[PROTO_STATE_NOTRUNNING] = "notrunning",
		[PROTO_STATE_UNOWNED] = "unowned",
	};

	return state < NFIELDS(names) ? names[state] : "unknown";
}

/* The bytes received but not yet taken, for a header that precedes frames. */
size_t proto_reader_peek(const struct proto_reader *r, const uint8_t **ptr)
{
	*ptr = r->buf ? r->buf + r->off : NULL;
	return r->len - r->off;
}

/* Drop n bytes that proto_reader_peek() showed (e.g. a PROXY header). */
void proto_reader_consume(struct proto_reader *r, size_t n)
{
	if (n > r->len - r->off)
		n = r->len - r->off;
	r->off += n;
	if (r->off == r->len)
		r->off = r->len = 0;
}
