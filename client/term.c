/*
 * term: the user's side of a console session — standard input (raw when it
 * is a terminal, with the escape character), standard output with flow
 * control back to the broker, window-size changes and signals.  The terminal
 * is restored on every exit path, including exit() from anywhere.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"

/* Pause the broker above this much unwritten output, resume below the low mark. */
#define TERM_OUT_HIGH (1024 * 1024)
#define TERM_OUT_LOW (256 * 1024)

enum term_kind { TERM_NONE, TERM_TTY, TERM_PIPE, TERM_FILE };

struct term_out_write {
	uv_write_t req;
	size_t len;
	uint8_t data[];
};

static struct {
	uv_loop_t *loop;
	struct term_opts opts;
	enum term_kind in_kind, out_kind;
	union { uv_handle_t handle; uv_stream_t stream; uv_tty_t tty; uv_pipe_t pipe; } in, out;
	uv_fs_t fs_req;
	int fs_busy;
	uint8_t fs_buf[16384];
	uv_signal_t sig_winch, sig_int, sig_term, sig_hup;
	int signals;
	int raw;
	int reading;
	int in_paused;
	int ro_noticed;
	int stopped;
	size_t out_queued;
	int broker_paused;
} term;

static void term_on_closed(uv_handle_t *h)
{
	(void)h;
}

int term_is_tty(void)
{
	return isatty(0);
}

/* "^]" or "^X" (Ctrl + X), a single character, or "none". */
int term_parse_escape(const char *s, int *out)
{
	if (strcmp(s, "none") == 0) {
		*out = -1;
		return 0;
	}
	if (s[0] == '^' && s[1] != '\0' && s[2] == '\0') {
		int ch = toupper((unsigned char)s[1]);

		if (ch == '?') {
			*out = 0x7f;
			return 0;
		}
		if (ch < '@' || ch > '_')
			return -EINVAL;
		*out = ch & 0x1f;
		return 0;
	}
	if (s[0] != '\0' && s[1] == '\0') {
		*out = (unsigned char)s[0];
		return 0;
	}
	return -EINVAL;
}

void term_escape_name(int esc, char *buf, size_t len)
{
	if (esc < 0)
		snprintf(buf, len, "none");
	else if (esc == 0x7f)
		snprintf(buf, len, "^? (Ctrl + ?)");
	else if (esc < 0x20)
		snprintf(buf, len, "^%c (Ctrl + %c)", esc + '@', esc + '@');
	else
		snprintf(buf, len, "%c", esc);
}

/* Restore the terminal; safe to call more than once, and from atexit. */
static void term_restore(void)
{
	if (term.raw) {
		uv_tty_reset_mode();
		term.raw = 0;
	}
}

void term_raw(int on)
{
	if (on && !term.raw && term.in_kind == TERM_TTY) {
		if (uv_tty_set_mode(&term.in.tty, UV_TTY_MODE_RAW) == 0)
			term.raw = 1;
	} else if (!on) {
		term_restore();
	}
}

void term_winsize(uint16_t *rows, uint16_t *cols)
{
	int w = 0, h = 0;

	*rows = *cols = 0;
	if (term.in_kind == TERM_TTY && uv_tty_get_winsize(&term.in.tty, &w, &h) == 0) {
		*rows = (uint16_t)h;
		*cols = (uint16_t)w;
	} else if (term.out_kind == TERM_TTY && uv_tty_get_winsize(&term.out.tty, &w, &h) == 0) {
		*rows = (uint16_t)h;
		*cols = (uint16_t)w;
	}
}

void term_notice(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!term.raw) {
		fprintf(stderr, "%s\n", buf);
		return;
	}
	fputs("\r\n", stderr);
	for (i = 0; buf[i] != '\0'; i++) {
		if (buf[i] == '\n')
			fputc('\r', stderr);
		fputc(buf[i], stderr);
	}
	fputs("\r\n", stderr);
	fflush(stderr);
}

static void term_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Something the session cannot go on without failed: say what, once. */
static void term_fail(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	term.opts.ev.fail(term.opts.ev.arg, buf);
}

static void term_close_out(void)
{
	if ((term.out_kind == TERM_TTY || term.out_kind == TERM_PIPE) &&
	    !uv_is_closing(&term.out.handle))
		uv_close(&term.out.handle, term_on_closed);
	term.out_kind = TERM_NONE;
}

int term_drained(void)
{
	return term.out_queued == 0;
}

static void term_on_out_write(uv_write_t *req, int status)
{
	struct term_out_write *w = (struct term_out_write *)req;

	term.out_queued -= w->len;
	free(w);
	if (status < 0 && status != UV_ECANCELED && !term.stopped) {
		term_fail("cannot write to standard output: %s", uv_strerror(status));
		return;
	}
	if (term.broker_paused && term.out_queued <= TERM_OUT_LOW) {
		term.broker_paused = 0;
		term.opts.ev.output_slow(term.opts.ev.arg, 0);
	}
	if (term.out_queued == 0 && term.stopped)
		term_close_out();
}

/* Blocking write for files and devices that libuv cannot poll. */
static void term_write_sync(const uint8_t *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(1, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			term_fail("cannot write to standard output: %s", strerror(errno));
			return;
		}
		data += n;
		len -= (size_t)n;
	}
}

void term_output(const uint8_t *data, size_t len)
{
	struct term_out_write *w;
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
	int n;

	if (term.out_kind == TERM_FILE || term.out_kind == TERM_NONE) {
		term_write_sync(data, len);
		return;
	}
	n = uv_try_write(&term.out.stream, &b, 1);
	if (n == UV_EAGAIN)
		n = 0;
	if (n < 0) {
		term_fail("cannot write to standard output: %s", uv_strerror(n));
		return;
	}
	if ((size_t)n == len)
		return;
	w = xmalloc(sizeof(*w) + len - (size_t)n);
	w->len = len - (size_t)n;
	memcpy(w->data, data + n, w->len);
	b = uv_buf_init((char *)w->data, (unsigned)w->len);
	if (uv_write(&w->req, &term.out.stream, &b, 1, term_on_out_write) < 0) {
		free(w);
		term_fail("cannot write to standard output");
		return;
	}
	term.out_queued += w->len;
	if (term.out_queued > TERM_OUT_HIGH && !term.broker_paused) {
		term.broker_paused = 1;
		term.opts.ev.output_slow(term.opts.ev.arg, 1);
	}
}

/* Input: the escape character ends the session wherever it appears. */
static void term_input(const uint8_t *data, size_t len)
{
	const uint8_t *esc = NULL;

	if (term.raw && term.opts.escape >= 0)
		esc = memchr(data, term.opts.escape, len);
	if (esc != NULL)
		len = (size_t)(esc - data);
	if (len > 0 && !term.opts.readonly)
		term.opts.ev.input(term.opts.ev.arg, data, len);
	else if (len > 0 && !term.ro_noticed) {
		term.ro_noticed = 1;
		term_notice("conbroker: read-only session: input is ignored");
	}
	if (esc != NULL)
		term.opts.ev.escape(term.opts.ev.arg);
}

static void term_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char space[65536];

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(space, sizeof(space));
}

static void term_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	(void)s;
	if (n > 0) {
		term_input((const uint8_t *)buf->base, (size_t)n);
	} else if (n < 0) {
		uv_read_stop(&term.in.stream);
		term.reading = 0;
		term.opts.ev.eof(term.opts.ev.arg);
	}
}

static void term_fs_next(void);

static void term_on_fs_read(uv_fs_t *req)
{
	ssize_t n = req->result;

	uv_fs_req_cleanup(req);
	term.fs_busy = 0;
	if (term.stopped)
		return;
	if (n > 0) {
		term_input(term.fs_buf, (size_t)n);
		if (!term.stopped && term.reading && !term.in_paused)
			term_fs_next();
	} else {
		term.reading = 0;
		term.opts.ev.eof(term.opts.ev.arg);
	}
}

/* Regular files and devices are read through the thread pool. */
static void term_fs_next(void)
{
	uv_buf_t b = uv_buf_init((char *)term.fs_buf, sizeof(term.fs_buf));

	term.fs_busy = 1;
	if (uv_fs_read(term.loop, &term.fs_req, 0, &b, 1, -1, term_on_fs_read) < 0) {
		term.fs_busy = 0;
		term.opts.ev.eof(term.opts.ev.arg);
	}
}

static void term_on_signal(uv_signal_t *h, int signum)
{
	(void)h;
	if (signum == SIGWINCH) {
		term.opts.ev.resized(term.opts.ev.arg);
		return;
	}
	term_fail("interrupted by %s", strsignal(signum));
}

static enum term_kind term_open(int fd, uv_handle_t *h, int readable)
{
	switch (uv_guess_handle(fd)) {
	case UV_TTY:
		if (uv_tty_init(term.loop, (uv_tty_t *)h, fd, readable) == 0)
			return TERM_TTY;
		return TERM_FILE;
	case UV_NAMED_PIPE:
	case UV_TCP:
		uv_pipe_init(term.loop, (uv_pipe_t *)h, 0);
		if (uv_pipe_open((uv_pipe_t *)h, fd) == 0)
			return TERM_PIPE;
		uv_close(h, term_on_closed);
		return TERM_FILE;
	default:
		return TERM_FILE;
	}
}

void term_input_pause(int paused)
{
	if (term.stopped || !term.reading || paused == term.in_paused)
		return;
	term.in_paused = paused;
	if (term.in_kind == TERM_TTY || term.in_kind == TERM_PIPE) {
		if (paused)
			uv_read_stop(&term.in.stream);
		else
			uv_read_start(&term.in.stream, term_on_alloc, term_on_read);
	} else if (!paused && !term.fs_busy) {
		term_fs_next();
	}
}

/* Set up standard input and output and the signals; nothing is read yet. */
int term_start(uv_loop_t *loop, const struct term_opts *o)
{
	term.loop = loop;
	term.opts = *o;
	term.out_kind = term_open(1, &term.out.handle, 0);
	term.in_kind = term_open(0, &term.in.handle, 1);
	atexit(term_restore);
	uv_signal_init(loop, &term.sig_winch);
	uv_signal_init(loop, &term.sig_int);
	uv_signal_init(loop, &term.sig_term);
	uv_signal_init(loop, &term.sig_hup);
	uv_signal_start(&term.sig_winch, term_on_signal, SIGWINCH);
	uv_signal_start(&term.sig_int, term_on_signal, SIGINT);
	uv_signal_start(&term.sig_term, term_on_signal, SIGTERM);
	uv_signal_start(&term.sig_hup, term_on_signal, SIGHUP);
	term.signals = 1;
	return 0;
}

/* The session is live: raw mode, and read the user's input. */
void term_attached(void)
{
	if (term.stopped)
		return;
	term_raw(1);
	/* A watcher on a pipe has nothing to say; on a terminal, it may escape. */
	if (term.opts.readonly && term.in_kind != TERM_TTY)
		return;
	term.reading = 1;
	if (term.in_kind == TERM_TTY || term.in_kind == TERM_PIPE)
		uv_read_start(&term.in.stream, term_on_alloc, term_on_read);
	else
		term_fs_next();
}

/* Leaving: restore the terminal, stop input; stdout closes once drained. */
void term_stop(void)
{
	if (term.stopped || term.loop == NULL)
		return;
	term.stopped = 1;
	term_restore();
	if (term.in_kind == TERM_TTY || term.in_kind == TERM_PIPE) {
		if (!uv_is_closing(&term.in.handle))
			uv_close(&term.in.handle, term_on_closed);
	} else if (term.fs_busy) {
		uv_cancel((uv_req_t *)&term.fs_req);
	}
	term.in_kind = TERM_NONE;
	if (term.signals) {
		uv_close((uv_handle_t *)&term.sig_winch, term_on_closed);
		uv_close((uv_handle_t *)&term.sig_int, term_on_closed);
		uv_close((uv_handle_t *)&term.sig_term, term_on_closed);
		uv_close((uv_handle_t *)&term.sig_hup, term_on_closed);
		term.signals = 0;
	}
	if (term.out_queued == 0)
		term_close_out();
}
