/*
 * transport: the connection to the broker — unix:PATH, tcp:HOST:PORT or
 * ext:COMMAND (the command's stdin and stdout are the connection, like ssh's
 * ProxyCommand) — and the framing on top of it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"

/* Input queued to the broker: above the high mark, stop reading stdin. */
#define CLIENT_QUEUE_HIGH (1024 * 1024)
#define CLIENT_QUEUE_LOW (256 * 1024)

struct client_write {
	uv_write_t req;
	struct client *c;
	size_t len;
	uint8_t data[];
};

static void client_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void client_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

/* The connection ended without a CLOSED.  For ext:, wait for the command's
 * exit status first, so the message can say why. */
static void client_lost(struct client *c)
{
	size_t len = strlen(c->uri) + 96; /* the URI and the longest wording */
	char *why;

	if (c->ext && c->ext_running) {
		c->ext_lost = 1;
		if (c->reading) {
			uv_read_stop(c->rd);
			c->reading = 0;
		}
		return;
	}
	why = xmalloc(len);
	client_lost_reason(c, why, len);
	client_finish(c, EXIT_UNREACHABLE, "%s", why);
	free(why);
}

void client_lost_reason(struct client *c, char *buf, size_t len)
{
	if (c->ext && c->ext_signal)
		snprintf(buf, len, "the connection command (%s) was killed by signal %d",
		    c->uri + 4, c->ext_signal);
	else if (c->ext && c->ext_status != 0)
		snprintf(buf, len, "the connection command (%s) exited with status %lld",
		    c->uri + 4, (long long)c->ext_status);
	else if (c->ext)
		snprintf(buf, len, "the connection command (%s) closed the connection",
		    c->uri + 4);
	else
		snprintf(buf, len, "the broker at %s closed the connection", c->uri);
}

/* $CONBROKER_URI, else the daemon's default socket for this user. */
const char *client_default_uri(void)
{
	static char buf[512];
	const char *env = getenv("CONBROKER_URI"), *xdg;

	if (env != NULL && env[0] != '\0')
		return env;
	if (geteuid() == 0)
		return "unix:/run/conbroker/conbroker.sock";
	xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, sizeof(buf), "unix:%s/conbroker/conbroker.sock", xdg);
	else
		snprintf(buf, sizeof(buf), "unix:/tmp/conbroker-%u/conbroker.sock",
		    (unsigned)geteuid());
	return buf;
}

void client_finish(struct client *c, int code, const char *fmt, ...)
{
	va_list ap;

	if (c->finishing)
		return;
	c->finishing = 1;
	c->exit_code = code;
	if (c->ops != NULL && c->ops->stop != NULL)
		c->ops->stop(c);
	if (fmt != NULL) {
		va_start(ap, fmt);
		c->exit_msg = xvasprintf(fmt, ap);
		va_end(ap);
	}
	client_close_transport(c);
}

static void client_on_closed(uv_handle_t *h)
{
	(void)h;
}

void client_close_transport(struct client *c)
{
	if (c->conn_open) {
		c->conn_open = 0;
		if (c->ext) {
			if (!uv_is_closing((uv_handle_t *)&c->ext_in))
				uv_close((uv_handle_t *)&c->ext_in, client_on_closed);
			if (!uv_is_closing((uv_handle_t *)&c->ext_out))
				uv_close((uv_handle_t *)&c->ext_out, client_on_closed);
		} else if (!uv_is_closing(&c->conn.handle)) {
			uv_close(&c->conn.handle, client_on_closed);
		}
	}
	if (c->ext && c->ext_running)
		uv_process_kill(&c->proc, SIGTERM);
}

static void client_on_write(uv_write_t *req, int status)
{
	struct client_write *w = (struct client_write *)req;
	struct client *c = w->c;

	c->queued -= w->len;
	free(w);
	if (status < 0 && status != UV_ECANCELED && !c->finishing) {
		/* What the broker said before it closed (a CLOSED naming who took
		 * over) is still to be read: the read side ends the session. */
		c->write_failed = 1;
		if (!c->reading)
			client_lost(c);
		return;
	}
	if (c->queued <= CLIENT_QUEUE_LOW && c->ops->sendq != NULL)
		c->ops->sendq(c, 0);
}

/* Queue bytes to the broker: one copy, since input chunks are small. */
static int client_write(struct client *c, const uv_buf_t *bufs, unsigned n)
{
	struct client_write *w;
	size_t total = 0, off = 0;
	unsigned i;
	uv_buf_t b;
	int rc;

	if (!c->conn_open || c->write_failed)
		return -EPIPE;
	for (i = 0; i < n; i++)
		total += bufs[i].len;
	w = xmalloc(sizeof(*w) + total);
	w->c = c;
	w->len = total;
	for (i = 0; i < n; i++) {
		memcpy(w->data + off, bufs[i].base, bufs[i].len);
		off += bufs[i].len;
	}
	b = uv_buf_init((char *)w->data, (unsigned)total);
	rc = uv_write(&w->req, c->wr, &b, 1, client_on_write);
	if (rc < 0) {
		free(w);
		return rc;
	}
	c->queued += total;
	if (c->queued > CLIENT_QUEUE_HIGH && c->ops->sendq != NULL)
		c->ops->sendq(c, 1); /* backpressure, all the way to our stdin */
	return 0;
}

int client_send(struct client *c, const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_FRAME];
	ssize_t n = proto_encode(m, buf, sizeof(buf));
	uv_buf_t b;

	if (n < 0)
		return (int)n;
	b = uv_buf_init((char *)buf, (unsigned)n);
	return client_write(c, &b, 1);
}

int client_send_data(struct client *c, const uint8_t *data, size_t len)
{
	uint8_t hdr[PROTO_HDR_SIZE];
	uv_buf_t b[2];
	size_t n;
	int rc = 0;

	while (len > 0 && rc == 0) {
		n = len > PROTO_MAX_PAYLOAD ? PROTO_MAX_PAYLOAD : len;
		proto_encode_header(hdr, PROTO_DATA, (uint32_t)n);
		b[0] = uv_buf_init((char *)hdr, sizeof(hdr));
		b[1] = uv_buf_init((char *)data, (unsigned)n);
		rc = client_write(c, b, 2);
		data += n;
		len -= n;
	}
	return rc;
}

/* Stop or resume reading from the broker (stdout cannot keep up). */
void client_pause(struct client *c, int paused)
{
	if (!c->conn_open)
		return;
	if (paused && c->reading) {
		uv_read_stop(c->rd);
		c->reading = 0;
	} else if (!paused && !c->reading) {
		if (uv_read_start(c->rd, client_on_alloc, client_on_read) == 0)
			c->reading = 1;
	}
}

static void client_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct client *c = h->data;
	size_t room = 0;
	uint8_t *p = proto_reader_space(&c->reader, &room);

	(void)suggested;
	*buf = uv_buf_init((char *)p, p ? (unsigned)room : 0);
}

/* The broker's HELLO: check the version, then the command begins. */
static void client_hello(struct client *c, const struct proto_msg *m)
{
	if (m->u.hello.version != PROTO_VERSION) {
		client_finish(c, EXIT_USAGE, "the broker speaks protocol version %u, this"
		    " client %u", m->u.hello.version, PROTO_VERSION);
		return;
	}
	c->hello_done = 1;
	c->heartbeat_ms = m->u.hello.heartbeat_ms;
	c->ops->ready(c);
}

/* Handle the frames buffered so far, until the command pauses reading. */
static void client_process(struct client *c)
{
	struct proto_msg m;
	const char *why = "malformed frame";
	int r;

	while (!c->finishing && (r = proto_reader_next(&c->reader, &m, &why)) != 0) {
		if (r < 0) {
			client_finish(c, EXIT_UNREACHABLE, "the broker at %s sent a bad frame: %s",
			    c->uri, why);
			return;
		}
		if (!c->hello_done && m.type == PROTO_HELLO)
			client_hello(c, &m);
		else if (!c->hello_done && m.type != PROTO_ERROR)
			client_finish(c, EXIT_UNREACHABLE, "%s did not answer like a conbroker"
			    " broker", c->uri);
		else
			c->ops->message(c, &m);
		if (!c->reading)
			break; /* paused by the command: the rest stays buffered */
	}
}

static void client_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct client *c = s->data;

	(void)buf;
	if (n < 0) {
		if (!c->finishing)
			client_lost(c);
		return;
	}
	proto_reader_commit(&c->reader, (size_t)n);
	client_process(c);
}

/* Connected: say hello and read. */
static void client_start(struct client *c)
{
	struct proto_msg m;

	c->conn_open = 1;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	m.u.hello.version = PROTO_VERSION;
	m.u.hello.software = proto_str("conbroker " CONBROKER_VERSION);
	client_send(c, &m);
	c->rd->data = c;
	c->reading = 1;
	uv_read_start(c->rd, client_on_alloc, client_on_read);
}

/* Resume processing frames left buffered when output was paused. */
void client_resume(struct client *c)
{
	client_pause(c, 0);
	client_process(c);
}

static void client_on_connect(uv_connect_t *req, int status)
{
	struct client *c = req->data;

	free(req);
	if (status < 0) {
		c->conn_open = 1; /* so that the handle is closed */
		client_finish(c, status == UV_EACCES ? EXIT_DENIED : EXIT_UNREACHABLE,
		    "cannot reach the broker at %s: %s%s", c->uri, uv_strerror(status),
		    status == UV_ENOENT || status == UV_ECONNREFUSED ?
		    " (is conbrokerd running?)" : "");
		return;
	}
	client_start(c);
}

static void client_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
	struct client *c = req->data;
	uv_connect_t *conn;
	int rc;

	free(req);
	if (status < 0) {
		client_finish(c, EXIT_UNREACHABLE, "cannot resolve %s: %s", c->uri,
		    uv_strerror(status));
		return;
	}
	conn = xmalloc(sizeof(*conn));
	conn->data = c;
	uv_tcp_init(c->loop, &c->conn.tcp);
	c->conn.handle.data = c;
	c->rd = c->wr = &c->conn.stream;
	rc = uv_tcp_connect(conn, &c->conn.tcp, ai->ai_addr, client_on_connect);
	uv_freeaddrinfo(ai);
	if (rc < 0) {
		conn->data = c;
		client_on_connect(conn, rc);
	}
}

static void client_on_exit(uv_process_t *p, int64_t status, int sig)
{
	struct client *c = p->data;

	c->ext_running = 0;
	c->ext_status = status;
	c->ext_signal = sig;
	uv_close((uv_handle_t *)p, client_on_closed);
	if (c->ext_lost && !c->finishing)
		client_lost(c);
}

/* ext:COMMAND: run it with sh -c; its stdin/stdout carry the protocol.  As
 * with ssh's ProxyCommand, the shell execs the command, so that the process
 * the client watches and signals is the command itself, not a shell whose
 * child would outlive the client and keep the connection open. */
static int client_connect_ext(struct client *c, const char *cmd)
{
	uv_process_options_t o;
	uv_stdio_container_t io[3];
	char *line = xasprintf("exec %s", cmd);
	char *args[] = { (char *)"/bin/sh", (char *)"-c", line, NULL };
	int rc;

	uv_pipe_init(c->loop, &c->ext_in, 0);
	uv_pipe_init(c->loop, &c->ext_out, 0);
	memset(&o, 0, sizeof(o));
	io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	io[0].data.stream = (uv_stream_t *)&c->ext_in;
	io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[1].data.stream = (uv_stream_t *)&c->ext_out;
	io[2].flags = UV_INHERIT_FD;
	io[2].data.fd = 2;
	o.file = args[0];
	o.args = args;
	o.stdio = io;
	o.stdio_count = 3;
	o.exit_cb = client_on_exit;
	c->proc.data = c;
	c->ext = 1;
	c->conn_open = 1;
	rc = uv_spawn(c->loop, &c->proc, &o);
	free(line);
	if (rc < 0) {
		client_finish(c, EXIT_UNREACHABLE, "cannot run %s: %s", cmd, uv_strerror(rc));
		return 0;
	}
	c->ext_running = 1;
	c->wr = (uv_stream_t *)&c->ext_in;
	c->rd = (uv_stream_t *)&c->ext_out;
	client_start(c);
	return 0;
}

/* Start connecting; failures end the client with exit code 5 (or 8). */
static int client_connect(struct client *c, const char *uri)
{
	uv_connect_t *req;
	uv_getaddrinfo_t *gai;
	struct addrinfo hints;
	char host[256], *port;
	const char *rest;

	c->uri = uri;
	proto_reader_init(&c->reader);
	if (strncmp(uri, "unix:", 5) == 0) {
		uv_pipe_init(c->loop, &c->conn.pipe, 0);
		c->conn.handle.data = c;
		c->rd = c->wr = &c->conn.stream;
		req = xmalloc(sizeof(*req));
		req->data = c;
		uv_pipe_connect(req, &c->conn.pipe, uri + 5, client_on_connect);
		return 0;
	}
	if (strncmp(uri, "ext:", 4) == 0 && uri[4] != '\0')
		return client_connect_ext(c, uri + 4);
	if (strncmp(uri, "tcp:", 4) != 0)
		return -EINVAL;
	rest = uri + 4;
	if (rest[0] == '[') {
		const char *end = strchr(rest, ']');

		if (end == NULL || end[1] != ':' || (size_t)(end - rest) >= sizeof(host))
			return -EINVAL;
		memcpy(host, rest + 1, (size_t)(end - rest - 1));
		host[end - rest - 1] = '\0';
		port = (char *)end + 2;
	} else {
		port = strrchr(rest, ':');
		if (port == NULL || (size_t)(port - rest) >= sizeof(host))
			return -EINVAL;
		memcpy(host, rest, (size_t)(port - rest));
		host[port - rest] = '\0';
		port++;
	}
	if (host[0] == '\0' || port[0] == '\0')
		return -EINVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	gai = xmalloc(sizeof(*gai));
	gai->data = c;
	return uv_getaddrinfo(c->loop, gai, client_on_resolved, host, port, &hints);
}

/* Connect to c->uri; a URI of no known form ends the client with code 1. */
void client_start_connect(struct client *c)
{
	if (client_connect(c, c->uri) < 0)
		client_finish(c, EXIT_USAGE, "bad URI '%s': use unix:PATH, tcp:HOST:PORT"
		    " or ext:COMMAND", c->uri);
}

/* The exit code for a status code from the broker: the same numbers, and
 * codes this client does not know are an internal error. */
int client_exit_code(uint32_t code)
{
	return code <= EXIT_DENIED ? (int)code : EXIT_USAGE;
}

/* An ERROR or CLOSED from the broker ends the command with its code and
 * message; a CLOSED with code 0 is a normal end, said nothing about. */
void client_finish_status(struct client *c, const struct proto_msg *m)
{
	if (m->type == PROTO_CLOSED && m->u.status.code == PROTO_CODE_OK)
		client_finish(c, EXIT_OK, NULL);
	else
		client_finish(c, client_exit_code(m->u.status.code), "%.*s",
		    m->u.status.message.len, m->u.status.message.ptr);
}
