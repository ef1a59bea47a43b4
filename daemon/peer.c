/*
 * peer: one client connection — the PROXY header and the hello, reading
 * frames and handing them to the peer's owner (struct peer_ops), writing
 * frames back with bounded buffering, and closing cleanly.  It knows nothing
 * of consoles or sessions.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "daemon/daemon.h"

/* A closing peer that does not read its last frames is cut off after this. */
#define PEER_LINGER_MS 5000

/* The largest frame a peer may announce before its hello (a HELLO is small). */
#define PEER_PREHELLO_MAX 1024

struct peer_write {
	uv_write_t req;
	struct peer *peer;
	size_t len;
	uint8_t data[];
};

static void peer_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void peer_process(struct peer *p);
static void peer_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

static void peer_hs_unlink(struct peer *p)
{
	struct server *s = p->server;

	if (!(p->flags & PEER_F_HANDSHAKING))
		return;
	TAILQ_REMOVE(&s->handshaking, p, hs_entry);
	p->flags &= ~PEER_F_HANDSHAKING;
	s->nhandshaking--;
}

struct peer *peer_new(struct server *s, enum peer_transport t, int proxy)
{
	struct peer *p;

	if (s->npeers >= s->conf->limits.connections)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->server = s;
	p->transport = t;
	p->state = proxy ? PEER_PROXY : PEER_HELLO;
	p->id = ++s->next_peer_id;
	p->pid = -1;
	p->uid = (uid_t)-1;
	proto_reader_init(&p->reader);
	if (t == PEER_UNIX)
		uv_pipe_init(s->loop, &p->io.pipe, 0);
	else
		uv_tcp_init(s->loop, &p->io.tcp);
	uv_timer_init(s->loop, &p->timer);
	p->io.handle.data = p;
	p->timer.data = p;
	p->handles = 2;
	TAILQ_INSERT_HEAD(&s->peers, p, entry);
	s->npeers++;
	TAILQ_INSERT_TAIL(&s->handshaking, p, hs_entry);
	p->flags |= PEER_F_HANDSHAKING;
	s->nhandshaking++;
	return p;
}

/* Too many connections waiting for their hello (limits handshaking): the
 * oldest makes room, so idle or slow peers cannot keep a real client out. */
static void peer_make_room(struct server *s)
{
	static struct log_limit rl;
	struct peer *old;

	while (s->nhandshaking > s->conf->limits.handshaking &&
	    (old = TAILQ_FIRST(&s->handshaking)) != NULL) {
		log_limited(&rl, LOG_LVL_WARN, "too many connections without a hello;"
		    " dropping the oldest: %s", old->desc);
		peer_close(old, NULL);
	}
}

/* A PROXY header must come first on this listener: read it, or drop the peer. */
static int peer_proxy(struct peer *p)
{
	struct proto_proxy px;
	const uint8_t *buf;
	const char *why = "malformed";
	size_t len = proto_reader_peek(&p->reader, &buf);
	int n;

	n = proto_proxy_parse(buf, len, &px, &why);
	if (n == 0)
		return 0;
	if (n < 0) {
		char *msg = xasprintf("bad PROXY header: %s", why);

		peer_close(p, msg);
		free(msg);
		return -1;
	}
	proto_reader_consume(&p->reader, (size_t)n);
	p->state = PEER_HELLO;
	access_proxy(p, &px);
	log_debug("%s: PROXY v%d header", p->desc, px.version);
	return 1;
}

/*
 * Bytes that look like a PROXY header on a listener not set up for one: 1
 * when they are one, -1 while they are the start of the v2 signature (no
 * frame begins so: its length would be 218 MB), 0 otherwise.  Waiting for
 * the whole signature names the mistake however the bytes are split.
 */
static int peer_unexpected_proxy(struct peer *p)
{
	static const uint8_t v2sig[] = "\r\n\r\n\0\r\nQUIT\n";
	const uint8_t *buf;
	size_t len = proto_reader_peek(&p->reader, &buf);

	if (len >= 6 && memcmp(buf, "PROXY ", 6) == 0)
		return 1;
	if (len > 0 && len < 12 && memcmp(buf, v2sig, len) == 0)
		return -1;
	return len >= 12 && memcmp(buf, v2sig, 12) == 0;
}

static void peer_on_hello_timeout(uv_timer_t *t)
{
	struct peer *p = t->data;

	if (peer_closing(p))
		peer_close(p, "did not finish closing in time");
	else
		peer_close(p, "said no hello in time");
}

/* The connection is accepted: learn who it is, start reading. */
void peer_start(struct peer *p)
{
	access_identify(p);
	peer_make_room(p->server);
	log_debug("%s connected", p->desc);
	uv_timer_start(&p->timer, peer_on_hello_timeout,
	    (uint64_t)p->server->conf->limits.hello_timeout * 1000, 0);
	if (uv_read_start(&p->io.stream, peer_on_alloc, peer_on_read) < 0)
		peer_close(p, "cannot read from the connection");
	else
		p->flags |= PEER_F_READING;
}

static void peer_on_handle_closed(uv_handle_t *h)
{
	struct peer *p = h->data;

	if (--p->handles > 0)
		return;
	proto_reader_free(&p->reader);
	free(p->groups);
	free(p);
}

void peer_close(struct peer *p, const char *why)
{
	struct server *s = p->server;

	if (p->handles == 0 || uv_is_closing(&p->io.handle))
		return;
	if (why != NULL)
		log_info("%s: closing connection: %s", p->desc, why);
	p->state = PEER_DEAD;
	if (p->ops != NULL && p->ops->closed != NULL)
		p->ops->closed(p);
	peer_hs_unlink(p);
	s->npeers--;
	TAILQ_REMOVE(&s->peers, p, entry);
	uv_close(&p->io.handle, peer_on_handle_closed);
	uv_close((uv_handle_t *)&p->timer, peer_on_handle_closed);
}

void peer_close_after_flush(struct peer *p)
{
	if (uv_is_closing(&p->io.handle))
		return;
	p->state = PEER_DRAINING;
	if (p->flags & PEER_F_READING) {
		uv_read_stop(&p->io.stream);
		p->flags &= ~PEER_F_READING;
	}
	if (p->queued == 0) {
		peer_close(p, NULL);
		return;
	}
	uv_timer_start(&p->timer, peer_on_hello_timeout, PEER_LINGER_MS, 0);
}

static void peer_on_write(uv_write_t *req, int status)
{
	struct peer_write *w = (struct peer_write *)req;
	struct peer *p = w->peer;

	p->queued -= w->len;
	free(w);
	if (status == UV_ECANCELED || uv_is_closing(&p->io.handle))
		return;
	if (status < 0) {
		peer_close(p, uv_strerror(status));
		return;
	}
	if (peer_closing(p)) {
		if (p->queued == 0)
			peer_close(p, NULL);
		return;
	}
	if (p->ops != NULL && p->ops->drained != NULL)
		p->ops->drained(p);
}

/* Write now what the socket takes; queue a copy of the rest. */
static int peer_write(struct peer *p, uv_buf_t *bufs, unsigned nbufs)
{
	struct peer_write *w;
	size_t total = 0, done, off = 0;
	unsigned i;
	int r;
	uv_buf_t b;

	if (uv_is_closing(&p->io.handle))
		return -EPIPE;
	for (i = 0; i < nbufs; i++)
		total += bufs[i].len;
	r = uv_try_write(&p->io.stream, bufs, nbufs);
	if (r == UV_EAGAIN || r == UV_ENOSYS)
		r = 0;
	if (r < 0) {
		peer_close(p, uv_strerror(r));
		return r;
	}
	done = (size_t)r;
	if (done == total)
		return 0;
	w = xmalloc(sizeof(*w) + total - done);
	w->peer = p;
	w->len = total - done;
	for (i = 0; i < nbufs; i++) {
		size_t skip = done > bufs[i].len ? bufs[i].len : done;

		done -= skip;
		memcpy(w->data + off, bufs[i].base + skip, bufs[i].len - skip);
		off += bufs[i].len - skip;
	}
	b = uv_buf_init((char *)w->data, (unsigned)w->len);
	r = uv_write(&w->req, &p->io.stream, &b, 1, peer_on_write);
	if (r < 0) {
		free(w);
		peer_close(p, uv_strerror(r));
		return r;
	}
	p->queued += w->len;
	return 0;
}

int peer_send(struct peer *p, const struct proto_msg *m)
{
	uint8_t stackbuf[1024], *buf = stackbuf;
	size_t need = proto_encoded_size(m);
	ssize_t n;
	uv_buf_t b;
	int rc;

	if (need > sizeof(stackbuf))
		buf = xmalloc(need);
	n = proto_encode(m, buf, need);
	if (n < 0) {
		log_err("%s: cannot encode %s: %s", p->desc, proto_type_name(m->type),
		    strerror((int)-n));
		rc = (int)n;
		goto out;
	}
	b = uv_buf_init((char *)buf, (unsigned)n);
	rc = peer_write(p, &b, 1);
out:
	if (buf != stackbuf)
		free(buf);
	return rc;
}

/* A DATA frame straight from the ring: header and payload in one write. */
int peer_send_data(struct peer *p, const uint8_t *data, size_t len)
{
	uint8_t hdr[PROTO_HDR_SIZE];
	uv_buf_t b[2];

	proto_encode_header(hdr, PROTO_DATA, (uint32_t)len);
	b[0] = uv_buf_init((char *)hdr, sizeof(hdr));
	b[1] = uv_buf_init((char *)data, (unsigned)len);
	return peer_write(p, b, 2);
}

int peer_send_status(struct peer *p, uint16_t type, uint32_t code, const char *msg)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.u.status.code = code;
	m.u.status.message = proto_str(msg);
	return peer_send(p, &m);
}

int peer_send_notice(struct peer *p, uint32_t kind, uint64_t count, const char *fmt, ...)
{
	struct proto_msg m;
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_NOTICE;
	m.u.notice.kind = kind;
	m.u.notice.count = count;
	m.u.notice.text = proto_str(text);
	return peer_send(p, &m);
}

/* HELLO: check the version, answer with ours and the heartbeat interval. */
static int peer_hello(struct peer *p, const struct proto_msg *m)
{
	struct proto_msg r;
	char *msg;

	if (m->u.hello.version != PROTO_VERSION) {
		msg = xasprintf("protocol version %u is not supported (this broker speaks %u)",
		    m->u.hello.version, PROTO_VERSION);
		log_info("%s: %s", p->desc, msg);
		peer_send_status(p, PROTO_ERROR, PROTO_CODE_INTERNAL, msg);
		free(msg);
		peer_close_after_flush(p);
		return -EPROTO;
	}
	if (access_count(p->server, p) >= p->server->conf->limits.per_identity) {
		msg = xasprintf("too many connections for %s (limit %u)", p->ident,
		    p->server->conf->limits.per_identity);
		static struct log_limit rl;

		log_limited(&rl, LOG_LVL_WARN, "per-identity connection limit: %s", p->desc);
		peer_send_status(p, PROTO_ERROR, PROTO_CODE_DENIED, msg);
		free(msg);
		peer_close_after_flush(p);
		return -EPERM;
	}
	peer_hs_unlink(p);
	p->state = PEER_READY;
	uv_timer_stop(&p->timer);
	memset(&r, 0, sizeof(r));
	r.type = PROTO_HELLO;
	r.u.hello.version = PROTO_VERSION;
	r.u.hello.heartbeat_ms = p->server->heartbeat_ms;
	r.u.hello.software = proto_str("conbrokerd " CONBROKER_VERSION);
	return peer_send(p, &r);
}

/* One frame from the client.  Returns -1 when the peer was dropped. */
static int peer_dispatch(struct peer *p, const struct proto_msg *m)
{
	p->last_alive_ms = server_now_ms(p->server);
	if (p->state == PEER_HELLO) {
		if (m->type != PROTO_HELLO) {
			peer_close(p, "sent a frame before HELLO");
			return -1;
		}
		return peer_hello(p, m) < 0 ? -1 : 0;
	}
	return p->ops->frame(p, m);
}

/* Handle the complete frames buffered so far, unless input is paused. */
/*
 * Before its hello a peer has proved nothing: it may announce only a frame a
 * HELLO could fill, so that a crowd of strangers cannot make the daemon hold
 * a full-size input buffer each.
 */
static int peer_prehello_ok(struct peer *p)
{
	const uint8_t *buf;
	size_t avail = proto_reader_peek(&p->reader, &buf);
	const char *why;
	uint16_t type;
	uint32_t len;

	if (p->state != PEER_HELLO || avail < PROTO_HDR_SIZE)
		return 1;
	/* A header that is wrong anyway is reported for what is wrong with it. */
	if (proto_decode_header(buf, avail, &type, &len, &why) < 0)
		return 1;
	return len <= PEER_PREHELLO_MAX;
}

static void peer_process(struct peer *p)
{
	struct proto_msg m;
	const char *why = "malformed frame";
	int r;

	while (!(p->flags & PEER_F_PAUSED) && !peer_closing(p)) {
		if (!peer_prehello_ok(p)) {
			peer_close(p, "bad frame: a frame too large for a HELLO before the hello");
			return;
		}
		r = proto_reader_next(&p->reader, &m, &why);
		if (r == 0)
			break;
		if (r < 0) {
			char *msg = xasprintf("bad frame: %s", why);

			peer_close(p, msg);
			free(msg);
			return;
		}
		if (peer_dispatch(p, &m) < 0)
			return;
	}
	if (peer_closing(p))
		return;
	if ((p->flags & PEER_F_PAUSED) && (p->flags & PEER_F_READING)) {
		uv_read_stop(&p->io.stream);
		p->flags &= ~PEER_F_READING;
	} else if (!(p->flags & PEER_F_PAUSED) && !(p->flags & PEER_F_READING)) {
		p->flags |= PEER_F_READING;
		uv_read_start(&p->io.stream, peer_on_alloc, peer_on_read);
	}
}

void peer_pause(struct peer *p)
{
	p->flags |= PEER_F_PAUSED;
}

/* Input may flow again: handle the frames that waited, then read on. */
void peer_resume(struct peer *p)
{
	if (!(p->flags & PEER_F_PAUSED))
		return;
	p->flags &= ~PEER_F_PAUSED;
	peer_process(p);
}

static void peer_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct peer *p = h->data;
	size_t room = 0;
	uint8_t *space;

	(void)suggested;
	space = proto_reader_space(&p->reader, &room);
	*buf = uv_buf_init((char *)space, space ? (unsigned)room : 0);
}

static void peer_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct peer *p = stream->data;
	int unexpected;

	(void)buf;
	if (nread > 0) {
		proto_reader_commit(&p->reader, (size_t)nread);
		if (p->state == PEER_PROXY && peer_proxy(p) <= 0)
			return;
		if (p->state == PEER_HELLO &&
		    (unexpected = peer_unexpected_proxy(p)) != 0) {
			if (unexpected > 0)
				peer_close(p, "it sent a PROXY header"
				    " to a listener not configured for the PROXY protocol");
			return;
		}
		peer_process(p);
	} else if (nread == UV_EOF) {
		const uint8_t *rest;

		if (proto_reader_peek(&p->reader, &rest) > 0)
			peer_close(p, p->state == PEER_PROXY ? "the client went away in the"
			    " middle of its PROXY header" : "the client went away in the"
			    " middle of a frame");
		else
			peer_close(p, p->data != NULL ? "the client went away" : NULL);
	} else if (nread < 0) {
		peer_close(p, uv_strerror((int)nread));
	}
}
