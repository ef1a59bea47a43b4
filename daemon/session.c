/*
 * session: a client attached to a console, as its writer or as a watcher —
 * the frames of a peer after its hello, who may open what, takeover, the
 * output cursor and the list of consoles.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"

static const struct consumer_ops session_consumer_ops;

/* The session whose place at a console's ring k is. */
static struct session *session_of(struct console_consumer *k)
{
	return (struct session *)(void *)((char *)k - offsetof(struct session, consumer));
}

/* The console's writer, as a session (every writer is one). */
struct session *session_writer(const struct console *c)
{
	return c->writer != NULL ? session_of(c->writer) : NULL;
}

const char *session_who(const struct session *s)
{
	return s->peer != NULL ? s->peer->desc : "a client that left";
}

/* A writer that sent nothing, not even a heartbeat, for stale-after seconds. */
int session_is_stale(const struct session *s)
{
	uint64_t now = server_now_ms(s->server);
	uint64_t limit = (uint64_t)s->server->conf->stale_after * 1000;

	return s->role == SESSION_WRITER && s->peer != NULL &&
	    now - s->peer->last_alive_ms >= limit;
}

/* A bounded C string from a wire string. */
static void session_cstr(char *buf, size_t len, struct proto_str s)
{
	size_t n = s.len < len - 1 ? s.len : len - 1;

	memcpy(buf, s.ptr, n);
	buf[n] = '\0';
}

static void session_error(struct peer *p, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Refuse an OPEN: the client prints the message and exits with the code. */
static void session_error(struct peer *p, uint32_t code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	log_info("refused %s: %s", p->desc, msg);
	peer_send_status(p, PROTO_ERROR, code, msg);
	free(msg);
}

/*
 * Take the session out of its console and away from its peer, without a
 * word (the caller says what is to be said).  It is freed at the end of the
 * loop turn, since callers up the stack may still hold it.
 */
static void session_leave(struct session *s)
{
	struct console *c = s->console;
	struct peer *p = s->peer;

	if (s->state == SESSION_ENDED)
		return;
	log_info("%s: %s detached", c->name, session_who(s));
	s->state = SESSION_ENDED;
	s->console = NULL;
	if (p != NULL)
		p->data = NULL;
	s->peer = NULL;
	TAILQ_INSERT_TAIL(&s->server->ended, s, entry);
	console_detach(&s->consumer);
}

void session_free_ended(struct server *srv)
{
	struct session *s;

	while ((s = TAILQ_FIRST(&srv->ended)) != NULL) {
		TAILQ_REMOVE(&srv->ended, s, entry);
		free(s->end_msg);
		free(s);
	}
}

/* Leave at once: the peer gets CLOSED with the code, then the connection ends. */
void session_detach(struct session *s, uint32_t code, const char *message)
{
	struct peer *p = s->peer;

	session_leave(s);
	if (p == NULL)
		return;
	peer_send_status(p, PROTO_CLOSED, code, message);
	peer_close_after_flush(p);
}

/* Mark the session ending: the pumps deliver what is left, then CLOSED. */
void session_end(struct session *s, uint32_t code, const char *message)
{
	if (s->state != SESSION_ATTACHED)
		return;
	s->state = SESSION_ENDING;
	s->end_code = code;
	s->end_msg = xstrdup(message);
	console_consumer_lossless(&s->consumer, 0);
	console_consumer_wake(&s->consumer);
}

static void session_on_end(struct console_consumer *k, uint32_t code, const char *message)
{
	session_end(session_of(k), code, message);
}

static void session_on_stop(struct console_consumer *k, uint32_t code, const char *message)
{
	session_detach(session_of(k), code, message);
}

static void session_on_input_flows(struct console_consumer *k)
{
	struct session *s = session_of(k);

	if (s->peer != NULL)
		peer_resume(s->peer);
}

/* Send the ring from the session's cursor, as far as the output budget allows. */
static void session_on_pump(struct console_consumer *k)
{
	struct session *s = session_of(k);
	struct console *c = s->console;
	struct peer *p = s->peer;
	const uint8_t *ptr;
	uint64_t tail, missed;
	size_t n;
	int moved = 0;

	if (c == NULL || p == NULL || peer_closing(p))
		return;
	if (c->ring.buf == NULL)
		goto ending;
	/* A peer that cannot take output now hears about a gap once, when it
	 * can: the count then covers everything it missed meanwhile. */
	if (p->queued >= PEER_OUTPUT_BUDGET)
		return;
	tail = ring_tail(&c->ring);
	if (k->cursor < tail) {
		missed = tail - k->cursor;
		k->cursor = tail;
		peer_send_notice(p, PROTO_NOTICE_MISSED, missed,
		    "%" PRIu64 " bytes of output skipped: this session fell behind", missed);
	}
	while (!peer_closing(p) && p->queued < PEER_OUTPUT_BUDGET && k->cursor < c->ring.head) {
		n = ring_peek(&c->ring, k->cursor, &ptr, PROTO_MAX_PAYLOAD);
		if (peer_send_data(p, ptr, n) < 0)
			return;
		k->cursor += n;
		moved = 1;
	}
	if (s->peer == NULL)
		return; /* the connection failed under us: the session has left */
	if (moved)
		s->last_progress_ms = server_now_ms(s->server);
	if (s->lossy && k->cursor == c->ring.head && s->state == SESSION_ATTACHED) {
		s->lossy = 0;
		console_consumer_lossless(k, 1);
		peer_send_notice(p, PROTO_NOTICE_INFO, 0,
		    "caught up: output is lossless again");
	}
	if (moved && k->lossless)
		console_update(c); /* reading may go on */
ending:
	if (s->state == SESSION_ENDING && !peer_closing(p) && k->cursor >= c->ring.head)
		session_detach(s, s->end_code, s->end_msg ? s->end_msg : "");
}

static const struct consumer_ops session_consumer_ops = {
	.pump = session_on_pump,
	.end = session_on_end,
	.stop = session_on_stop,
	.input_flows = session_on_input_flows,
};

/* Evict the writer: it is told by whom, and why. */
static void session_takeover(struct session *old, struct peer *p, int forced,
    char *notice, size_t len)
{
	struct console *c = old->console;
	uint64_t idle = (server_now_ms(p->server) - old->peer->last_alive_ms) / 1000;
	char *msg;

	if (forced)
		snprintf(notice, len, "took over console %s from %s (forced)", c->name,
		    session_who(old));
	else
		snprintf(notice, len, "took over console %s from %s, silent for %" PRIu64
		    "s (stale)", c->name, session_who(old), idle);
	msg = xasprintf("console %s was taken over by %s%s", c->name, p->desc,
	    forced ? " (forced)" : ": this session was silent too long (stale)");
	log_info("%s: %s", c->name, notice);
	peer_send_notice(old->peer, PROTO_NOTICE_TAKEOVER, 0, "%s", msg);
	session_detach(old, PROTO_CODE_TAKEOVER, msg);
	free(msg);
}

/* Open the console's device for a first session, mapping failures to codes. */
static int session_open_device(struct peer *p, struct console *c)
{
	struct lock_holder holder;
	char *cause = NULL;
	uint32_t code;
	int rc;

	memset(&holder, 0, sizeof(holder));
	rc = console_open(c, &holder, &cause);
	if (rc == 0)
		return 0;
	if (rc == -EBUSY)
		code = PROTO_CODE_LOCKED;
	else if (rc == -EACCES || rc == -EPERM)
		code = PROTO_CODE_DENIED;
	else if (rc == -ENOENT || rc == -EIO || rc == -ENXIO || rc == -EOWNERDEAD ||
	    rc == -ENOKEY)
		code = PROTO_CODE_HANGUP;
	else
		code = PROTO_CODE_INTERNAL;
	if (rc == -ENOENT && c->conf->pty_path != NULL)
		session_error(p, code, "console %s: %s is gone (%s); the domain has"
		    " probably stopped: reload conbrokerd once it runs again", c->name,
		    c->conf->pty_path, cause ? cause : strerror(-rc));
	else
		session_error(p, code, "%s", cause ? cause : strerror(-rc));
	free(cause);
	return rc;
}

/* Refuse while another client writes: name it and say what can be done. */
static void session_busy(struct peer *p, struct console *c)
{
	struct session *w = session_writer(c);
	uint64_t idle = (server_now_ms(p->server) - w->last_input_ms) / 1000;
	char since[64];

	format_since(w->since_ms, since, sizeof(since));
	session_error(p, PROTO_CODE_BUSY,
	    "console %s is busy: %s has been writing to it since %s (idle %" PRIu64
	    "s); use --force to take it over, or --readonly to watch",
	    c->name, session_who(w), since, idle);
}

/* Find the console an OPEN names, or refuse with the reason. */
static struct console *session_lookup(struct peer *p, const struct proto_msg *m)
{
	struct console_status st;
	char dom[256], dev[256], at[64];
	const struct conf_domain *d;
	const struct conf_console *cc;
	struct console *c;

	session_cstr(dom, sizeof(dom), m->u.open.domain);
	session_cstr(dev, sizeof(dev), m->u.open.devname);
	d = conf_find_domain(p->server->conf, dom);
	if (d == NULL) {
		session_error(p, PROTO_CODE_NOENT, "no domain '%s' (see conbroker list)", dom);
		return NULL;
	}
	cc = conf_find_console(d, dev[0] ? dev : NULL);
	if (cc == NULL) {
		if (dev[0])
			session_error(p, PROTO_CODE_NOENT, "domain '%s' has no console '%s'",
			    d->name, dev);
		else
			session_error(p, PROTO_CODE_NOENT, "domain '%s' has no console", d->name);
		return NULL;
	}
	c = server_find_console(p->server, d, cc);
	console_status(p->server, c, d, cc, 0, &st);
	switch (st.state) {
	case PROTO_STATE_UNSUPPORTED:
		session_error(p, PROTO_CODE_NOENT,
		    "console %s/%s is of type '%s', which conbroker does not serve",
		    d->name, cc->alias, cc->source_type ? cc->source_type : "unknown");
		return NULL;
	case PROTO_STATE_NOPTY:
		session_error(p, PROTO_CODE_HANGUP,
		    "domain '%s' is not running: console %s has no pty assigned",
		    d->name, cc->alias);
		return NULL;
	case PROTO_STATE_HUNGUP:
		format_since(c->hungup_at, at, sizeof(at));
		session_error(p, PROTO_CODE_HANGUP,
		    "console %s hung up at %s; it can be attached again once the domain's"
		    " new pty is loaded (reload conbrokerd)", c->name, at);
		return NULL;
	}
	return c;
}

/* Whether the peer holds a right; if not, refuse with code 8 and say which. */
static int session_allowed(struct peer *p, struct console *c, unsigned rights,
    unsigned need)
{
	const char *verb;

	if (rights & need)
		return 1;
	verb = need == CONF_RIGHT_WATCH ? "watch" : need == CONF_RIGHT_WRITE ?
	    "write to" : "take over";
	session_error(p, PROTO_CODE_DENIED, "permission denied: %s may not %s console"
	    " %s (missing right '%s')%s", p->desc, verb, c->name,
	    conf_right_name(need), need == CONF_RIGHT_WRITE && (rights & CONF_RIGHT_WATCH)
	    ? "; --readonly needs only 'watch'" : "");
	return 0;
}

/* OPEN: attach as writer or watcher, taking over a stale or forced writer. */
static void session_open(struct peer *p, const struct proto_msg *m)
{
	uint32_t flags = m->u.open.flags;
	int readonly = (flags & PROTO_OPEN_READONLY) != 0;
	struct console *c;
	struct session *s, *w;
	struct proto_msg reply;
	char notice[1024] = "";
	uint64_t now = server_now_ms(p->server);
	unsigned rights;

	if (p->data != NULL) {
		session_error(p, PROTO_CODE_INTERNAL, "this connection is already attached");
		return;
	}
	c = session_lookup(p, m);
	if (c == NULL)
		return;
	rights = access_rights(p->server, p, c->domain, c->conf);
	if (!session_allowed(p, c, rights, readonly ? CONF_RIGHT_WATCH : CONF_RIGHT_WRITE))
		return;
	w = session_writer(c);
	if (!readonly && w != NULL && (flags & PROTO_OPEN_FORCE) && !session_is_stale(w) &&
	    !session_allowed(p, c, rights, CONF_RIGHT_FORCE))
		return;
	/* Evicting the writer does not let go of the device on the way: a
	 * console without consumers is closed only at the end of the turn. */
	if (!readonly && w != NULL) {
		if (flags & PROTO_OPEN_FORCE)
			session_takeover(w, p, 1, notice, sizeof(notice));
		else if (session_is_stale(w))
			session_takeover(w, p, 0, notice, sizeof(notice));
		else {
			session_busy(p, c);
			return;
		}
	}
	if (c->state != CONSOLE_OPEN && session_open_device(p, c) < 0)
		return;

	s = xcalloc(1, sizeof(*s));
	s->server = p->server;
	s->peer = p;
	s->console = c;
	s->role = readonly ? SESSION_WATCHER : SESSION_WRITER;
	s->consumer.ops = &session_consumer_ops;
	s->consumer.cursor = (flags & PROTO_OPEN_NOHISTORY) ? c->ring.head :
	    ring_tail(&c->ring);
	s->consumer.lossless = !readonly;
	s->consumer.crowd = readonly;
	s->since_ms = wall_ms();
	s->last_input_ms = p->last_alive_ms = s->last_progress_ms = now;
	p->data = s;
	log_info("%s: %s attached as %s (granted: %s)%s%s", c->name, session_who(s),
	    readonly ? "watcher" : "writer", conf_right_name(rights),
	    notice[0] ? "; " : "", notice);

	memset(&reply, 0, sizeof(reply));
	reply.type = PROTO_OPENED;
	reply.u.opened.domain = proto_str(c->domain->name);
	reply.u.opened.uuid = proto_str(c->domain->uuid_str);
	reply.u.opened.alias = proto_str(c->conf->alias);
	reply.u.opened.flags = flags;
	reply.u.opened.notice = proto_str(notice);
	peer_send(p, &reply);
	if (!readonly)
		console_resize(c, m->u.open.rows, m->u.open.cols);
	/* The history follows at the end of this loop turn. */
	console_attach(c, &s->consumer, !readonly);
}

/* How many sessions watch a console. */
unsigned session_watchers(const struct console *c)
{
	const struct console_consumer *k;
	unsigned n = 0;

	TAILQ_FOREACH(k, &c->consumers, entry)
		if (k->ops == &session_consumer_ops &&
		    session_of((struct console_consumer *)k)->role == SESSION_WATCHER)
			n++;
	return n;
}

/* Once a second: a writer that stopped reading no longer holds the guest back. */
void session_tick(struct server *s)
{
	uint64_t now = server_now_ms(s);
	uint64_t limit = (uint64_t)s->conf->writer_timeout * 1000;
	struct console *c;
	struct session *w;

	TAILQ_FOREACH(c, &s->consoles, entry) {
		w = session_writer(c);
		if (w == NULL || w->lossy || w->state != SESSION_ATTACHED ||
		    c->state != CONSOLE_OPEN)
			continue;
		if (c->ring.head - w->consumer.cursor < c->ring.size)
			continue;
		if (now - w->last_progress_ms < limit)
			continue;
		w->lossy = 1;
		console_consumer_lossless(&w->consumer, 0);
		log_warn("%s: %s stopped reading for %us: output to it is now skipped when"
		    " it falls behind", c->name, session_who(w), s->conf->writer_timeout);
		peer_send_notice(w->peer, PROTO_NOTICE_DEMOTED, 0,
		    "you stopped reading for %us: output is now skipped while you are behind",
		    s->conf->writer_timeout);
		console_update(c);
	}
}

/* Writer input; a watcher's is ignored, and it is told so once. */
static void session_data(struct session *s, const struct proto_msg *m)
{
	if (s->role != SESSION_WRITER) {
		if (!s->ro_noticed)
			peer_send_notice(s->peer, PROTO_NOTICE_INFO, 0,
			    "read-only session: input is ignored");
		s->ro_noticed = 1;
		return;
	}
	s->last_input_ms = server_now_ms(s->server);
	if (!console_input(s->console, m->u.data.ptr, m->u.data.len))
		peer_pause(s->peer);
}

/* One frame of a peer after its hello.  Returns -1 when the peer was dropped. */
static int session_on_frame(struct peer *p, const struct proto_msg *m)
{
	struct session *s = p->data;

	switch (m->type) {
	case PROTO_OPEN:
		session_open(p, m);
		break;
	case PROTO_DATA:
		if (s != NULL)
			session_data(s, m);
		break;
	case PROTO_RESIZE:
		if (s != NULL && s->role == SESSION_WRITER)
			console_resize(s->console, m->u.resize.rows, m->u.resize.cols);
		break;
	case PROTO_HEARTBEAT:
		break;
	case PROTO_DETACH:
		if (s != NULL) {
			session_detach(s, PROTO_CODE_OK, "detached");
		} else {
			peer_send_status(p, PROTO_CLOSED, PROTO_CODE_OK, "detached");
			peer_close_after_flush(p);
		}
		return -1;
	case PROTO_LIST:
		list_send(p);
		break;
	default:
		log_info("%s: dropping connection: unexpected %s frame", p->desc,
		    proto_type_name(m->type));
		peer_close(p, NULL);
		return -1;
	}
	return 0;
}

/* The peer's queued output was written: more at the end of the turn. */
static void session_on_drained(struct peer *p)
{
	struct session *s = p->data;

	if (s == NULL)
		return;
	console_consumer_wake(&s->consumer);
}

/* The connection is going away: leave the console without a word. */
static void session_on_closed(struct peer *p)
{
	struct session *s = p->data;

	if (s != NULL)
		session_leave(s);
}

const struct peer_ops session_peer_ops = {
	.frame = session_on_frame,
	.drained = session_on_drained,
	.closed = session_on_closed,
};
