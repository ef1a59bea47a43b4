/*
 * console: `conbroker console DOMAIN` — open, relay, heartbeat, and end with
 * the exit code the broker gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

static struct {
	struct console_opts opts;
	uv_timer_t heartbeat;
	uv_timer_t linger;
	int attached;
	int eof;          /* standard input ended: wait for output, then detach */
	int detaching;
	int timers;
} cons;

static void console_on_closed(uv_handle_t *h)
{
	(void)h;
}

static void console_stop(struct client *c)
{
	(void)c;
	term_stop();
	if (cons.timers) {
		uv_close((uv_handle_t *)&cons.heartbeat, console_on_closed);
		uv_close((uv_handle_t *)&cons.linger, console_on_closed);
		cons.timers = 0;
	}
}

static void console_on_heartbeat(uv_timer_t *t)
{
	struct client *c = t->data;
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_HEARTBEAT;
	client_send(c, &m);
}

static void console_ready(struct client *c)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_OPEN;
	m.u.open.domain = proto_str(cons.opts.domain);
	m.u.open.devname = proto_str(cons.opts.devname ? cons.opts.devname : "");
	m.u.open.flags = (cons.opts.readonly ? PROTO_OPEN_READONLY : 0) |
	    (cons.opts.force ? PROTO_OPEN_FORCE : 0) |
	    (cons.opts.nohistory ? PROTO_OPEN_NOHISTORY : 0);
	term_winsize(&m.u.open.rows, &m.u.open.cols);
	client_send(c, &m);
}

/* Detach politely: the broker answers CLOSED 0 after our input is written. */
static void console_detach(struct client *c)
{
	struct proto_msg m;

	if (cons.detaching)
		return;
	cons.detaching = 1;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_DETACH;
	if (client_send(c, &m) < 0)
		client_finish(c, EXIT_OK, NULL);
}

/* Quiet for the linger time: detach, unless our own output is still backed
 * up (then the console is not quiet, we are slow). */
static void console_on_linger(uv_timer_t *t)
{
	if (!term_drained())
		return;
	console_detach(t->data);
}

static void console_opened(struct client *c, const struct proto_msg *m)
{
	char esc[32];

	cons.attached = 1;
	fprintf(stderr, "Connected to domain '%.*s' (%.*s), console %.*s%s\n",
	    m->u.opened.domain.len, m->u.opened.domain.ptr,
	    m->u.opened.uuid.len, m->u.opened.uuid.ptr,
	    m->u.opened.alias.len, m->u.opened.alias.ptr,
	    cons.opts.readonly ? " (read-only)" : "");
	if (m->u.opened.notice.len > 0)
		fprintf(stderr, "conbroker: %.*s\n", m->u.opened.notice.len,
		    m->u.opened.notice.ptr);
	if (term_is_tty() && cons.opts.escape >= 0) {
		term_escape_name(cons.opts.escape, esc, sizeof(esc));
		fprintf(stderr, "Escape character is %s\n", esc);
	}
	if (c->heartbeat_ms > 0)
		uv_timer_start(&cons.heartbeat, console_on_heartbeat, c->heartbeat_ms,
		    c->heartbeat_ms);
	term_attached();
}

static void console_message(struct client *c, const struct proto_msg *m)
{
	switch (m->type) {
	case PROTO_OPENED:
		console_opened(c, m);
		break;
	case PROTO_DATA:
		term_output(m->u.data.ptr, m->u.data.len);
		if (cons.eof && !cons.detaching)
			uv_timer_again(&cons.linger);
		break;
	case PROTO_NOTICE:
		term_notice("conbroker: %.*s", m->u.notice.text.len, m->u.notice.text.ptr);
		break;
	case PROTO_ERROR:
	case PROTO_CLOSED:
		client_finish_status(c, m);
		break;
	default:
		break;
	}
}

/* The broker is not keeping up with our input: stop reading stdin a while. */
static void console_sendq(struct client *c, int full)
{
	(void)c;
	term_input_pause(full);
}

static const struct client_ops console_ops = {
	.ready = console_ready,
	.message = console_message,
	.stop = console_stop,
	.sendq = console_sendq,
};

/* What the user types goes to the broker, once attached. */
static void console_on_input(void *arg, const uint8_t *data, size_t len)
{
	struct client *c = arg;

	if (!cons.attached || cons.detaching)
		return;
	client_send_data(c, data, len);
}

static void console_on_escape(void *arg)
{
	console_detach(arg);
}

/* End of standard input: let the output it caused arrive, then detach. */
static void console_on_eof(void *arg)
{
	(void)arg;
	if (cons.eof || cons.detaching)
		return;
	cons.eof = 1;
	uv_timer_start(&cons.linger, console_on_linger, cons.opts.linger_ms,
	    cons.opts.linger_ms);
}

static void console_on_resized(void *arg)
{
	struct client *c = arg;
	struct proto_msg m;

	if (!cons.attached || cons.opts.readonly)
		return;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_RESIZE;
	term_winsize(&m.u.resize.rows, &m.u.resize.cols);
	if (m.u.resize.rows && m.u.resize.cols)
		client_send(c, &m);
}

/* Standard output is backed up: hold the broker back, let it go again. */
static void console_on_output_slow(void *arg, int slow)
{
	struct client *c = arg;

	if (slow)
		client_pause(c, 1);
	else
		client_resume(c);
}

static void console_on_fail(void *arg, const char *message)
{
	client_finish(arg, EXIT_USAGE, "%s", message);
}

int console_run(struct client *c, const struct console_opts *o)
{
	struct term_opts to = {
		.escape = o->escape, .readonly = o->readonly,
		.ev = {
			.input = console_on_input, .escape = console_on_escape,
			.eof = console_on_eof, .resized = console_on_resized,
			.output_slow = console_on_output_slow, .fail = console_on_fail,
			.arg = c,
		},
	};

	cons.opts = *o;
	c->ops = &console_ops;
	uv_timer_init(c->loop, &cons.heartbeat);
	uv_timer_init(c->loop, &cons.linger);
	cons.heartbeat.data = cons.linger.data = c;
	cons.timers = 1;
	term_start(c->loop, &to);
	client_start_connect(c);
	return 0;
}
