/*
 * proto: the wire format between conbroker and conbrokerd.  Pure: no I/O.
 *
 * Every message is a frame: an 8-byte header (payload length as a big-endian
 * u32, type as a big-endian u16, a u16 of flags that must be zero) followed by
 * the payload.  A frame whose declared length exceeds PROTO_MAX_PAYLOAD is
 * refused from its header alone, before any payload is read.  Integers are
 * big-endian; a string is a u16 length followed by that many bytes (no NUL,
 * no embedded NUL allowed).  The first frame each side sends is HELLO, whose
 * version must equal PROTO_VERSION.  docs/protocol.md describes each message.
 *
 * Decoded messages point into the caller's buffer (no copies, no allocation):
 * they stay valid as long as that buffer does.  Functions return 0 (or a
 * size) on success and a negative errno on failure, with *why set to a static
 * string that says what was wrong with the frame.
 */
#ifndef CONBROKER_PROTO_H
#define CONBROKER_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROTO_VERSION 1
#define PROTO_HDR_SIZE 8
#define PROTO_MAX_PAYLOAD (64 * 1024)
#define PROTO_MAX_FRAME (PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD)

/* Message types, numbered in blocks: 1xx handshake, 2xx console, 3xx list. */
enum proto_type {
	PROTO_HELLO = 100,      /* both ways, first frame */
	PROTO_OPEN = 200,       /* client: attach to a console */
	PROTO_OPENED = 201,     /* server: attached */
	PROTO_DATA = 202,       /* both ways: console bytes */
	PROTO_RESIZE = 203,     /* client: the writer's window size */
	PROTO_HEARTBEAT = 204,  /* client: still here (and server, as a reply) */
	PROTO_NOTICE = 205,     /* server: something the user must be told */
	PROTO_DETACH = 206,     /* client: end the session normally */
	PROTO_CLOSED = 207,     /* server: the session ended, with a code */
	PROTO_ERROR = 208,      /* server: a request was refused, with a code */
	PROTO_LIST = 300,       /* client: list consoles */
	PROTO_LIST_ENTRY = 301, /* server: one console */
	PROTO_LIST_END = 302    /* server: end of list */
};

/* Codes of ERROR and CLOSED; equal to the client's exit codes. */
enum proto_code {
	PROTO_CODE_OK = 0,
	PROTO_CODE_INTERNAL = 1,
	PROTO_CODE_NOENT = 2,
	PROTO_CODE_BUSY = 3,
	PROTO_CODE_LOCKED = 4,
	PROTO_CODE_UNREACHABLE = 5, /* also: the broker is shutting down */
	PROTO_CODE_TAKEOVER = 6,
	PROTO_CODE_HANGUP = 7,
	PROTO_CODE_DENIED = 8
};

/* OPEN flags, echoed in OPENED. */
#define PROTO_OPEN_READONLY   0x1
#define PROTO_OPEN_FORCE      0x2
#define PROTO_OPEN_NOHISTORY  0x4
#define PROTO_OPEN_KNOWN      0x7

/* LIST flags: none yet; a LIST with any flag set is refused. */
#define PROTO_LIST_KNOWN      0x0

/* NOTICE kinds. */
enum proto_notice {
	PROTO_NOTICE_INFO = 0,      /* plain text */
	PROTO_NOTICE_TAKEOVER = 1,  /* to the evicted writer: text names the new one */
	PROTO_NOTICE_MISSED = 2,    /* count bytes of output were skipped */
	PROTO_NOTICE_DEMOTED = 3,   /* writer stopped reading: now under watcher rules */
	PROTO_NOTICE_WATCHER = 4    /* a watcher joined or left */
};

/* List entry states. */
enum proto_state {
	PROTO_STATE_FREE = 0,
	PROTO_STATE_ATTACHED = 1,
	PROTO_STATE_LOCKED = 2,      /* held by another program (holder_pid) */
	PROTO_STATE_STALE = 3,       /* the writer is stale */
	PROTO_STATE_HUNGUP = 4,
	PROTO_STATE_NOPTY = 5,       /* defined, no pty assigned */
	PROTO_STATE_UNSUPPORTED = 6, /* not a pty console */
	PROTO_STATE_NOTRUNNING = 7,  /* the pty is no longer the domain's */
	PROTO_STATE_UNOWNED = 8      /* nothing proves the pty is the domain's */
};

struct proto_str {
	const char *ptr; /* not NUL-terminated */
	uint16_t len;
};

struct proto_msg {
	enum proto_type type;
	union {
		struct {
			uint32_t version;
			uint32_t heartbeat_ms; /* server: how often to send HEARTBEAT */
			struct proto_str software;
		} hello;
		struct {
			struct proto_str domain;  /* name or UUID */
			struct proto_str devname; /* alias, empty for the default */
			uint32_t flags;
			uint16_t rows, cols;      /* 0 when unknown */
		} open;
		struct {
			struct proto_str domain, uuid, alias;
			uint32_t flags;
			struct proto_str notice;  /* e.g. "took over from ...", or empty */
		} opened;
		struct {
			const uint8_t *ptr;
			size_t len;
		} data;
		struct {
			uint16_t rows, cols;
		} resize;
		struct {
			uint32_t kind;
			uint64_t count;
			struct proto_str text;
		} notice;
		struct {
			uint32_t code;
			struct proto_str message;
		} status; /* CLOSED and ERROR */
		struct {
			uint32_t flags;
		} list;
		struct {
			struct proto_str domain, uuid, alias, pty;
			uint32_t state;
			uint32_t watchers;
			uint32_t idle;          /* seconds since the writer's last input */
			uint32_t holder_pid;    /* LOCKED: the other program */
			struct proto_str holder; /* LOCKED: its name; ATTACHED: the writer */
		} entry;
	} u;
};

/* A string view of a C string (truncated at 65535 bytes). */
struct proto_str proto_str(const char *s);

/*
 * Check a frame header.  Returns 0 and sets *type and *len, -EAGAIN when
 * fewer than PROTO_HDR_SIZE bytes are given, -EMSGSIZE when the payload is
 * larger than PROTO_MAX_PAYLOAD, -EPROTO for an unknown type, non-zero
 * flags, or a length that no payload of that type can have (a fixed-size
 * type of another size, a payload shorter than its fixed fields, empty
 * DATA).  *type and *len are set whenever the header is complete, also
 * when it is refused, so that the caller can log them.
 */
int proto_decode_header(const uint8_t *buf, size_t avail, uint16_t *type,
    uint32_t *len, const char **why);

/*
 * Decode one payload of a known type; every field is bounds-checked.
 * Returns 0, -EMSGSIZE for a payload over PROTO_MAX_PAYLOAD, or -EPROTO for
 * an unknown type, a truncated field, a string with a NUL byte, bytes after
 * the last field, empty DATA, or OPEN/OPENED/LIST flags outside their
 * *_KNOWN mask.  Values are not judged otherwise: HELLO's version is
 * returned for the caller to compare with PROTO_VERSION, and unknown codes,
 * notice kinds and states are passed through.  *msg is zeroed first.
 */
int proto_decode(uint16_t type, const uint8_t *payload, size_t len,
    struct proto_msg *msg, const char **why);

/* Bytes that proto_encode() needs for msg, header included (0: unknown type). */
size_t proto_encoded_size(const struct proto_msg *msg);

/*
 * Encode msg (header and payload) into buf.  Returns the number of bytes
 * written, -ENOSPC when cap is too small (nothing is written then),
 * -EMSGSIZE when the payload would exceed PROTO_MAX_PAYLOAD, -EINVAL for
 * what the peer would refuse: an unknown type, empty DATA, unknown flags,
 * a string holding a NUL byte.  Never writes past buf + cap.
 */
ssize_t proto_encode(const struct proto_msg *msg, uint8_t *buf, size_t cap);

/* Write a bare header, for DATA frames whose payload is sent from elsewhere. */
void proto_encode_header(uint8_t hdr[PROTO_HDR_SIZE], uint16_t type, uint32_t len);

/*
 * A reassembly buffer for a byte stream.  proto_reader_next() returns 1 with
 * the next complete message (valid until the next call to a reader function),
 * 0 when more bytes are needed, or a negative errno for a malformed frame;
 * after an error the stream is unusable (the same error is returned again).
 * A header is judged as soon as its 8 bytes are in, so an oversize frame is
 * refused before its payload arrives.  The buffer never grows past
 * PROTO_MAX_FRAME + PROTO_READER_SLACK bytes.
 *
 * Use: p = proto_reader_space(r, &room); n = read(fd, p, room);
 * proto_reader_commit(r, n); then call proto_reader_next() until it returns
 * 0 or an error, before asking for space again.
 */
#define PROTO_READER_SLACK 4096

struct proto_reader {
	uint8_t *buf;
	size_t len, off, cap;
};

void proto_reader_init(struct proto_reader *r);
void proto_reader_free(struct proto_reader *r);
/*
 * Where to put up to *room incoming bytes: at least PROTO_READER_SLACK, or
 * the rest of the current frame when that is more, once every complete
 * frame has been taken with proto_reader_next().  Consumed bytes are
 * dropped first, which invalidates the last message.  NULL when out of
 * memory.
 */
uint8_t *proto_reader_space(struct proto_reader *r, size_t *room);
void proto_reader_commit(struct proto_reader *r, size_t n);
int proto_reader_next(struct proto_reader *r, struct proto_msg *msg,
    const char **why);
/* Raw access to the unread bytes, for a header that precedes the frames. */
size_t proto_reader_peek(const struct proto_reader *r, const uint8_t **ptr);
void proto_reader_consume(struct proto_reader *r, size_t n);

/*
 * The PROXY protocol header that a TLS proxy (haproxy send-proxy /
 * send-proxy-v2 / send-proxy-v2-ssl-cn, stunnel protocol = proxy) puts in
 * front of a connection: version 1 (text) or 2 (binary, with TLVs).  Pure
 * parsing; the daemon decides what to trust.  Only TCP over IPv4 or IPv6 is
 * accepted as a relayed connection; v1 UNKNOWN and v2 LOCAL are accepted as
 * "no client address" (local = 1), and a LOCAL header's addresses and TLVs
 * are discarded unread, as the specification requires.
 */
#define PROTO_PROXY_V2_MAX 4096 /* larger v2 headers are refused */

struct proto_proxy {
	int version;             /* 1 or 2 */
	int local;               /* v2 LOCAL or v1 UNKNOWN: no client address */
	int family;              /* AF_INET, AF_INET6 or AF_UNSPEC (when local) */
	char src_addr[46], dst_addr[46]; /* canonical numeric text (inet_ntop), or "" */
	uint16_t src_port, dst_port;
	int tls;                 /* v2 SSL TLV with PP2_CLIENT_SSL: the client came over TLS */
	int tls_cert_verified;   /* it sent a certificate in this connection and it verified */
	char tls_cn[256];        /* the certificate's CN (SSL_CN sub-TLV), or "";
	                            an identity only when tls_cert_verified */
	char tls_version[32];    /* SSL_VERSION sub-TLV, or "" */
};

/*
 * Parse a PROXY header at the start of buf.  Returns the header's length
 * (> 0) when complete, 0 when more bytes are needed (and could still make a
 * valid header), or -EPROTO with *why when the bytes are not a valid header.
 * Bytes after the header are not looked at.  *out is zeroed first and is
 * meaningful only when the return is > 0; tls_cn and tls_version then hold
 * printable ASCII only (a header carrying anything else is refused).
 */
int proto_proxy_parse(const uint8_t *buf, size_t len, struct proto_proxy *out,
    const char **why);

const char *proto_type_name(uint16_t type);
const char *proto_code_name(uint32_t code);
const char *proto_state_name(uint32_t state);

#endif
