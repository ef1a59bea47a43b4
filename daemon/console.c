/*
 * console: one console of one domain — its pty descriptor, its locks, its
 * history ring, and the flow of bytes between the pty and the consumers of
 * the ring (struct console_consumer), which it knows only through their ops.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "daemon/daemon.h"

/* Most bytes read from a pty in one callback, so one busy console cannot
 * starve the others on the loop. */
#define CONSOLE_READ_BATCH (1024 * 1024)

/*
 * Watchers cost a copy of the stream each.  A console with a few of them
 * sends to them at every loop turn (a watcher that keeps up misses nothing);
 * past CONSOLE_WATCH_DIRECT watchers the crowd is sent to at most every
 * CONSOLE_WATCH_DELAY_MS, one write each per interval, so that a crowd of
 * watchers costs the writer and the guest little.  Below a human's notice;
 * at full pty speed the crowd skips ahead, with a notice, as watchers may.
 */
#define CONSOLE_WATCH_DIRECT 4
#define CONSOLE_WATCH_DELAY_MS 20

/* How long the device stays open after the last session left, when input
 * was written to it just before (see console_maybe_close). */
#define CONSOLE_INPUT_GRACE_MS 1000

static void console_on_poll(uv_poll_t *poll, int status, int events);

struct console *console_new(struct server *s, const struct conf_domain *d,
    const struct conf_console *cc)
{
	struct console *c = xcalloc(1, sizeof(*c));

	c->server = s;
	c->domain = d;
	c->conf = cc;
	c->fd = -1;
	TAILQ_INIT(&c->consumers);
	c->name = xasprintf("%s/%s", d->name, cc->alias);
	c->state = CONSOLE_CLOSED;
	return c;
}

void console_free(struct console *c)
{
	if (c == NULL)
		return;
	if (c->dirty)
		TAILQ_REMOVE(&c->server->dirty, c, dirty_entry);
	console_close(c);
	ring_free(&c->ring);
	free(c->inbuf);
	free(c->name);
	free(c);
}

/* Save the device's settings and make it a clean byte pipe. */
static int console_make_raw(struct console *c, char **cause)
{
	struct termios raw;

	if (tcgetattr(c->fd, &c->saved_termios) < 0) {
		int rc = -errno;

		*cause = xasprintf("%s: %s is not a terminal (%s)", c->name,
		    c->conf->pty_path, strerror(errno));
		return rc;
	}
	c->saved_ws_valid = ioctl(c->fd, TIOCGWINSZ, &c->saved_winsize) == 0;
	c->saved_valid = 1;
	/* On disk first: a daemon killed from here on leaves them to the next. */
	if (c->conf->type == CONF_CONSOLE_PTY) {
		char *why = NULL;

		c->state_saved = ttystate_save(c->server->conf, c->conf->pty_path, c->fd,
		    c->owner, &c->saved_termios, &c->saved_winsize, c->saved_ws_valid,
		    &why) == 0;
		if (!c->state_saved)
			log_warn("%s: %s", c->name, why);
		free(why);
	}
	raw = c->saved_termios;
	cfmakeraw(&raw);
	raw.c_cflag |= CLOCAL | CREAD;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(c->fd, TCSANOW, &raw) < 0) {
		int rc = -errno;

		*cause = xasprintf("%s: cannot set %s to raw mode (%s)", c->name,
		    c->conf->pty_path, strerror(errno));
		return rc;
	}
	return 0;
}

/*
 * Lock and open a hypervisor's pty, once it is proven to be the domain's:
 * before anything touches the device (no lock file, no open), and again on
 * the descriptor, since the pty may have changed hands in between.
 */
static int console_open_pty(struct console *c, struct lock_holder *holder, char **cause)
{
	int rc;

	rc = owner_check(c->domain, c->conf, -1, NULL, cause);
	if (rc < 0)
		return rc;
	rc = lock_acquire(c->server->conf->lock_dir, c->conf->pty_path, 0,
	    &c->lock, holder, cause);
	if (rc < 0)
		return rc;
	c->fd = lock_fd(c->lock);
	rc = owner_check(c->domain, c->conf, c->fd, &c->owner, cause);
	if (rc == 0)
		rc = console_make_raw(c, cause);
	if (rc < 0) {
		lock_release(c->lock);
		c->lock = NULL;
		c->fd = -1;
		c->saved_valid = 0;
	}
	return rc;
}

/* The pty is no longer the domain's: never touch it until the domain runs again. */
static void console_not_running(struct console *c, const char *why)
{
	log_warn("%s: not opened: %s", c->name, why);
	c->state = CONSOLE_HUNGUP;
	c->hungup_at = wall_ms();
}

/*
 * Whether the console may be opened again after it hung up.  The same path is
 * no proof of a new pty (/dev/pts numbers are reused), so a hung-up console
 * waits for a reload that shows a new run of its domain.  A spawned console
 * starts a new run of its own, and one whose owner is a pid file can show a
 * new run by itself: the proof at open then decides.
 */
int console_may_reopen(const struct console *c)
{
	enum conf_owner owner = conf_console_owner(c->domain, c->conf);

	return c->state != CONSOLE_HUNGUP || owner == CONF_OWNER_SELF ||
	    owner == CONF_OWNER_PID_FILE;
}

/* Open the console's device: lock a hypervisor pty, or spawn the command. */
int console_open(struct console *c, struct lock_holder *holder, char **cause)
{
	int rc;

	if (c->state == CONSOLE_OPEN)
		return 0;
	if (c->ring.buf == NULL && ring_init(&c->ring, c->server->conf->history_size) < 0) {
		*cause = xasprintf("%s: out of memory for the history", c->name);
		return -ENOMEM;
	}
	if (c->conf->type == CONF_CONSOLE_SPAWN) {
		rc = spawn_console(c->conf->spawn_argv, &c->fd, &c->child, cause);
		if (rc == 0)
			log_info("%s: spawned %s as pid %d", c->name,
			    c->conf->spawn_argv[0], (int)c->child);
	} else {
		rc = console_open_pty(c, holder, cause);
		if (rc == 0)
			log_info("%s: opened %s%s", c->name, c->conf->pty_path,
			    lock_check_only(c->lock) ? " (lock directory read-only: checked, not locked)" : "");
		else if (rc == -EOWNERDEAD)
			console_not_running(c, *cause);
	}
	if (rc < 0)
		return rc;
	c->poll = xmalloc(sizeof(*c->poll));
	if (uv_poll_init(c->server->loop, c->poll, c->fd) < 0) {
		free(c->poll);
		c->poll = NULL;
		*cause = xasprintf("%s: cannot watch the device", c->name);
		console_close(c);
		return -EIO;
	}
	c->poll->data = c;
	c->poll_events = 0;
	c->hup_pending = 0;
	c->state = CONSOLE_OPEN;
	console_update(c);
	return 0;
}

/* Close callback of the handles a console allocates (poll, grace timer). */
static void console_handle_freed(uv_handle_t *h)
{
	free(h);
}

/* Restore the device as we found it and give back every lock. */
void console_close(struct console *c)
{
	if (c->grace != NULL) {
		uv_close((uv_handle_t *)c->grace, console_handle_freed);
		c->grace = NULL;
	}
	if (c->poll != NULL) {
		uv_poll_stop(c->poll);
		uv_close((uv_handle_t *)c->poll, console_handle_freed);
		c->poll = NULL;
	}
	if (c->fd >= 0 && c->saved_valid) {
		tcsetattr(c->fd, TCSANOW, &c->saved_termios);
		if (c->saved_ws_valid)
			ioctl(c->fd, TIOCSWINSZ, &c->saved_winsize);
		if (c->state_saved)
			ttystate_drop(c->server->conf, c->fd);
	}
	c->saved_valid = 0;
	c->state_saved = 0;
	if (c->lock != NULL) {
		lock_release(c->lock);
		c->lock = NULL;
		log_info("%s: released %s", c->name, c->conf->pty_path);
	} else if (c->fd >= 0) {
		close(c->fd);
	}
	c->fd = -1;
	if (c->child > 0)
		kill(-c->child, SIGHUP); /* the session loses its terminal */
	free(c->inbuf);
	c->inbuf = NULL;
	c->inlen = c->inoff = 0;
	if (c->state == CONSOLE_OPEN)
		c->state = CONSOLE_CLOSED;
}

/* The ring offset that reading the pty must not overwrite: the oldest
 * cursor of a lossless consumer. */
static uint64_t console_keep(const struct console *c)
{
	const struct console_consumer *k;
	uint64_t keep = c->ring.head;

	TAILQ_FOREACH(k, &c->consumers, entry)
		if (k->lossless && k->cursor < keep)
			keep = k->cursor;
	return keep;
}

/* Start or stop watching the pty for what the console needs now. */
void console_update(struct console *c)
{
	uint8_t *p;
	int events = 0;

	if (c->state != CONSOLE_OPEN || c->poll == NULL)
		return;
	if (ring_space(&c->ring, console_keep(c), &p) > 0)
		events |= UV_READABLE;
	else if (!c->hup_pending)
		events |= UV_DISCONNECT;
	if (c->inlen > 0)
		events |= UV_WRITABLE;
	if (events == c->poll_events)
		return;
	c->poll_events = events;
	if (events == 0)
		uv_poll_stop(c->poll);
	else
		uv_poll_start(c->poll, events, console_on_poll);
}

/* Mark the console as having consumers to pump at the end of the turn. */
static void console_mark_dirty(struct console *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		TAILQ_INSERT_TAIL(&c->server->dirty, c, dirty_entry);
	}
	server_wake(c->server);
}

/* New output in the ring: every consumer has something to take. */
static void console_output(struct console *c)
{
	struct console_consumer *k;

	TAILQ_FOREACH(k, &c->consumers, entry)
		k->dirty = 1;
	console_mark_dirty(c);
}

void console_consumer_wake(struct console_consumer *k)
{
	if (k->console == NULL)
		return;
	k->dirty = 1;
	console_mark_dirty(k->console);
}

void console_consumer_lossless(struct console_consumer *k, int lossless)
{
	if (k->lossless == lossless)
		return;
	k->lossless = lossless;
	if (k->console != NULL)
		console_update(k->console);
}

void console_attach(struct console *c, struct console_consumer *k, int writer)
{
	k->console = c;
	TAILQ_INSERT_TAIL(&c->consumers, k, entry);
	if (k->crowd)
		c->ncrowd++;
	if (writer)
		c->writer = k;
	console_consumer_wake(k);
	console_update(c);
}

void console_detach(struct console_consumer *k)
{
	struct console *c = k->console;

	if (c == NULL)
		return;
	TAILQ_REMOVE(&c->consumers, k, entry);
	if (k->crowd)
		c->ncrowd--;
	if (c->writer == k)
		c->writer = NULL;
	k->console = NULL;
	k->dirty = 0;
	console_update(c);
	/* Whether the device is still needed is decided at the end of the
	 * turn, so that an OPEN that evicts the writer keeps it open. */
	console_mark_dirty(c);
}

/*
 * Pump the dirty consumers of one console; the crowd, when there is one, at
 * most every CONSOLE_WATCH_DELAY_MS.  Returns 1 when some wait for the
 * crowd's next send, 2 when some became dirty again meanwhile, 0 when all
 * are done.  A pump may detach its own consumer, never another.
 */
static int console_pump(struct console *c, uint64_t now)
{
	struct console_consumer *k, *next;
	int crowded = c->ncrowd > CONSOLE_WATCH_DIRECT, sent = 0, waiting = 0;

	TAILQ_FOREACH_SAFE(k, &c->consumers, entry, next) {
		if (!k->dirty)
			continue;
		if (k->crowd && crowded && now < c->crowd_next_ms) {
			waiting = 1;
			continue;
		}
		k->dirty = 0;
		sent |= k->crowd;
		k->ops->pump(k);
	}
	if (sent && crowded)
		c->crowd_next_ms = now + CONSOLE_WATCH_DELAY_MS;
	if (TAILQ_EMPTY(&c->consumers))
		console_maybe_close(c);
	TAILQ_FOREACH(k, &c->consumers, entry)
		if (k->dirty && !(k->crowd && crowded && now < c->crowd_next_ms))
			return 2;
	return waiting;
}

static void console_on_crowd_timer(uv_timer_t *t)
{
	server_wake(t->data);
}

void console_pump_dirty(struct server *s)
{
	struct console *c, *next;
	uint64_t now = server_now_ms(s), wake = UINT64_MAX;

	TAILQ_FOREACH_SAFE(c, &s->dirty, dirty_entry, next) {
		switch (console_pump(c, now)) {
		case 2:
			server_wake(s); /* again on the next turn */
			continue;
		case 1:
			if (c->crowd_next_ms < wake)
				wake = c->crowd_next_ms;
			continue;
		}
		TAILQ_REMOVE(&s->dirty, c, dirty_entry);
		c->dirty = 0;
	}
	if (wake != UINT64_MAX) {
		s->crowd_timer.data = s;
		uv_timer_start(&s->crowd_timer, console_on_crowd_timer,
		    wake > now ? wake - now : 0, 0);
	}
}

/* The other side of the pty went away: deliver what is left, then end. */
static void console_hangup(struct console *c, const char *why)
{
	char *msg;

	log_info("%s: hung up (%s)", c->name, why);
	c->hungup_at = wall_ms();
	console_close(c);
	c->state = CONSOLE_HUNGUP;
	c->child = 0;
	if (c->conf->type == CONF_CONSOLE_SPAWN)
		msg = xasprintf("console %s hung up: %s exited", c->name,
		    c->conf->spawn_argv[0]);
	else
		msg = xasprintf("console %s hung up: the domain stopped or closed %s",
		    c->name, c->conf->pty_path);
	console_end_all(c, PROTO_CODE_HANGUP, msg);
	free(msg);
}

/* Read the pty into the ring, as far as the writer's cursor allows. */
static void console_read(struct console *c)
{
	size_t total = 0, room;
	uint8_t *p;
	ssize_t n;

	while (c->state == CONSOLE_OPEN && total < CONSOLE_READ_BATCH) {
		room = ring_space(&c->ring, console_keep(c), &p);
		if (room == 0)
			break;
		n = read(c->fd, p, room);
		if (n > 0) {
			ring_commit(&c->ring, (size_t)n);
			total += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (total > 0)
			console_output(c);
		console_hangup(c, n == 0 ? "end of file" : strerror(errno));
		return;
	}
	if (total > 0)
		console_output(c);
}

/* Write the input the pty could not take before. */
static void console_flush_input(struct console *c)
{
	ssize_t n;

	while (c->inoff < c->inlen) {
		n = write(c->fd, c->inbuf + c->inoff, c->inlen - c->inoff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			log_warn("%s: writing to %s failed: %s", c->name,
			    c->conf->pty_path ? c->conf->pty_path : "the pty", strerror(errno));
			break;
		}
		c->inoff += (size_t)n;
	}
	free(c->inbuf);
	c->inbuf = NULL;
	c->inlen = c->inoff = 0;
	if (c->writer != NULL)
		c->writer->ops->input_flows(c->writer);
}

static void console_on_poll(uv_poll_t *poll, int status, int events)
{
	struct console *c = poll->data;

	if (status < 0) {
		/* libuv reports the pty's POLLERR as EBADF: the other side is
		 * gone.  Read what is left; the read ends in the hangup with its
		 * real reason. */
		console_read(c);
		if (c->state == CONSOLE_OPEN)
			console_hangup(c, "the other side closed the pty");
		return;
	}
	if ((events & UV_WRITABLE) && c->inlen > 0)
		console_flush_input(c);
	if (c->state != CONSOLE_OPEN)
		return;
	if (events & UV_READABLE)
		console_read(c);
	else if (events & UV_DISCONNECT)
		c->hup_pending = 1; /* read the rest, and the EIO, once there is room */
	if (c->state == CONSOLE_OPEN)
		console_update(c);
}

/* Writer input to the pty; what it cannot take now waits, and so does the writer. */
int console_input(struct console *c, const uint8_t *data, size_t len)
{
	ssize_t n = 0;

	if (c->state != CONSOLE_OPEN)
		return 1;
	c->last_input_ms = server_now_ms(c->server);
	if (c->inlen == 0) {
		do
			n = write(c->fd, data, len);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			log_warn("%s: writing to the pty failed: %s", c->name, strerror(errno));
			return 1; /* the read side reports the hangup */
		}
		if (n < 0)
			n = 0;
		if ((size_t)n == len)
			return 1;
	}
	c->inbuf = xreallocarray(c->inbuf, c->inlen + len - (size_t)n, 1);
	memcpy(c->inbuf + c->inlen, data + n, len - (size_t)n);
	c->inlen += len - (size_t)n;
	console_update(c);
	return 0;
}

/* The writer's window size reaches the pty, and so the guest or the child. */
void console_resize(struct console *c, uint16_t rows, uint16_t cols)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };

	if (c->state != CONSOLE_OPEN || rows == 0 || cols == 0)
		return;
	if (ioctl(c->fd, TIOCSWINSZ, &ws) < 0)
		log_warn("%s: cannot set the window size: %s", c->name, strerror(errno));
	else
		log_debug("%s: window size %ux%u", c->name, cols, rows);
}

/* End every session: each gets what the ring still holds, then the reason. */
void console_end_all(struct console *c, uint32_t code, const char *message)
{
	struct console_consumer *k, *next;

	TAILQ_FOREACH_SAFE(k, &c->consumers, entry, next)
		k->ops->end(k, code, message);
}

void console_stop_all(struct console *c, uint32_t code, const char *message)
{
	struct console_consumer *k;

	while ((k = TAILQ_FIRST(&c->consumers)) != NULL)
		k->ops->stop(k, code, message);
}

static void console_on_grace(uv_timer_t *t)
{
	console_maybe_close(t->data);
}

/*
 * With capture "attached", the device is held only while someone is there.
 * Input written just before the last session left may still wait in the pty
 * for the hypervisor, and closing our side of the pty would throw it away:
 * after late input, hold the device a moment longer before letting go.
 */
void console_maybe_close(struct console *c)
{
	uint64_t now, since;

	if (c->state != CONSOLE_OPEN || !TAILQ_EMPTY(&c->consumers))
		return;
	if (c->conf->capture == CONF_CAPTURE_ALWAYS || c->conf->type == CONF_CONSOLE_SPAWN)
		return;
	if (c->server->stopping)
		return;
	now = server_now_ms(c->server);
	since = now - c->last_input_ms;
	if (c->last_input_ms != 0 && since < CONSOLE_INPUT_GRACE_MS) {
		if (c->grace == NULL) {
			c->grace = xmalloc(sizeof(*c->grace));
			uv_timer_init(c->server->loop, c->grace);
			c->grace->data = c;
		}
		uv_timer_start(c->grace, console_on_grace, CONSOLE_INPUT_GRACE_MS - since, 0);
		return;
	}
	console_close(c);
}

/* A child exited: say so; its pty reports the hangup through the reads. */
int console_reap(struct server *s, pid_t pid, int status)
{
	struct console *c;

	TAILQ_FOREACH(c, &s->consoles, entry) {
		if (c->child != pid)
			continue;
		if (WIFEXITED(status))
			log_info("%s: pid %d exited with status %d", c->name, (int)pid,
			    WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			log_info("%s: pid %d killed by signal %d", c->name, (int)pid,
			    WTERMSIG(status));
		c->child = 0;
		return 1;
	}
	return 0;
}

/*
 * A closed pty console, as the host sees it: no longer the domain's (or
 * nothing proves it is; st->why says why), gone (the domain stopped), held
 * by another program (st->holder says which), or free.
 */
static uint32_t console_probe(const struct server *s, const struct conf_domain *d,
    const struct conf_console *cc, struct console_status *st)
{
	struct lock_holder holders[8];
	char *cause = NULL;
	size_t n = 0, i;
	int rc;

	rc = owner_check(d, cc, -1, NULL, &st->why);
	if (rc == -EOWNERDEAD)
		return PROTO_STATE_NOTRUNNING;
	if (rc == -ENOKEY)
		return PROTO_STATE_UNOWNED;
	free(st->why);
	st->why = NULL;
	if (rc == -ENOENT)
		return PROTO_STATE_HUNGUP; /* the pty is gone */
	rc = lock_probe(s->conf->lock_dir, cc->pty_path, holders, 8, &n, &cause);
	free(cause);
	if (rc == -ENOENT)
		return PROTO_STATE_HUNGUP;
	/*
	 * The verdicts that make lock_acquire() refuse: a closed console
	 * meets "ours" only when another console of this daemon holds the
	 * same device.  A stale lock is broken by an attach: free.
	 */
	for (i = 0; rc == 0 && i < n && i < 8; i++) {
		if (holders[i].state == LOCK_STATE_LIVE || holders[i].state == LOCK_STATE_HOSTILE ||
		    holders[i].state == LOCK_STATE_FRESH || holders[i].state == LOCK_STATE_OURS) {
			st->holder = holders[i];
			return PROTO_STATE_LOCKED;
		}
	}
	return PROTO_STATE_FREE;
}

void console_status(const struct server *s, const struct console *c,
    const struct conf_domain *d, const struct conf_console *cc, int probe,
    struct console_status *st)
{
	memset(st, 0, sizeof(*st));
	if (c == NULL || cc->type == CONF_CONSOLE_UNSUPPORTED)
		st->state = PROTO_STATE_UNSUPPORTED;
	else if (cc->type == CONF_CONSOLE_PTY && cc->pty_path == NULL)
		st->state = PROTO_STATE_NOPTY;
	else if (!console_may_reopen(c))
		st->state = PROTO_STATE_HUNGUP;
	else if (!TAILQ_EMPTY(&c->consumers))
		st->state = PROTO_STATE_ATTACHED;
	else if (probe && c->state != CONSOLE_OPEN && cc->type == CONF_CONSOLE_PTY)
		st->state = console_probe(s, d, cc, st);
	else
		st->state = PROTO_STATE_FREE;
}
