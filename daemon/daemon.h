/*
 * conbrokerd: the daemon's internal interfaces.
 *
 * The daemon is one libuv loop.  A struct server owns the registry (conf/),
 * the listeners, every connection (struct peer) and every console (struct
 * console).  A peer that opens a console gets a struct session: the
 * console's writer or one of its watchers.  A console owns its pty
 * descriptor, its locks (locks/) and its history ring; its consumers
 * (sessions, and whatever else reads its output) read the ring at their own
 * cursors and are pumped once per loop turn.  Memory of a handle is freed
 * only in its close callback, as libuv requires; a session that ended is
 * freed at the end of the turn.  docs/architecture.md has the whole picture.
 */
#ifndef CONBROKER_DAEMON_H
#define CONBROKER_DAEMON_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <uv.h>

#include "conf/conf.h"
#include "locks/lock.h"
#include "proto/proto.h"

struct console;
struct peer;
struct server;
struct session;

/* glibc's sys/queue.h lacks the variant that allows removing the element. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

/* log.c: one line per event on stderr, systemd style. */
enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };
void log_init(int verbose);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
/* State of one rate-limited log line; zero-initialised. */
struct log_limit {
	uint64_t last_ms;
	unsigned suppressed;
};
void log_limited(struct log_limit *rl, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A lock_log_fn that forwards to log_msg. */
void log_lock_hook(int level, const char *message, void *arg);

/* ring.c: a byte ring addressed by absolute offsets that never wrap. */
struct ring {
	uint8_t *buf;
	size_t size;
	uint64_t head; /* offset one past the newest byte */
};

int ring_init(struct ring *r, size_t size);
void ring_free(struct ring *r);
/* The oldest offset still held. */
uint64_t ring_tail(const struct ring *r);
/* Contiguous bytes from offset off (>= tail) to head, at most max. */
size_t ring_peek(const struct ring *r, uint64_t off, const uint8_t **ptr, size_t max);
/* Contiguous free room at head that does not overwrite offsets >= keep. */
size_t ring_space(const struct ring *r, uint64_t keep, uint8_t **ptr);
void ring_commit(struct ring *r, size_t n);

/* A connection from a client: before, during and after a session. */
enum peer_transport { PEER_UNIX, PEER_TCP };

/* Where a connection is in its life; it only moves forward. */
enum peer_state {
	PEER_PROXY,     /* a PROXY header must come first */
	PEER_HELLO,     /* waits for the client's HELLO */
	PEER_READY,     /* frames go to the owner */
	PEER_DRAINING,  /* reading stopped; closes once its output is written */
	PEER_DEAD,      /* its handles are closing; freed in their callbacks */
};

#define PEER_F_HANDSHAKING 0x1 /* in server->handshaking */
#define PEER_F_PAUSED      0x2 /* input held back: the pty is full */
#define PEER_F_READING     0x4 /* uv_read_start is in effect */

/*
 * What the owner of a peer (session.c) hears from it.  peer.c knows the
 * socket, the handshake, the frames and the write queue, and nothing of
 * consoles: every frame after the hello goes to frame().
 */
struct peer_ops {
	/* A frame after the hello; -1 when the peer was closed meanwhile. */
	int (*frame)(struct peer *p, const struct proto_msg *m);
	/* Queued output was written: there is room for more. */
	void (*drained)(struct peer *p);
	/* The connection is going away: forget it now. */
	void (*closed)(struct peer *p);
};

struct peer {
	struct server *server;
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_pipe_t pipe;
		uv_tcp_t tcp;
	} io;
	uv_timer_t timer;          /* hello deadline, then linger on close */
	struct proto_reader reader;
	enum peer_transport transport;
	uint64_t id;
	char desc[512];            /* "uid 0 (root) pid 123 via unix" */
	uid_t uid;
	pid_t pid;
	gid_t gid;                 /* unix: primary group */
	gid_t *groups;             /* unix: supplementary groups (SO_PEERGROUPS) */
	int ngroups;
	int family;                /* tcp: AF_INET or AF_INET6 of addr_bin */
	unsigned char addr_bin[16];
	char addr[64];             /* tcp: the client's address, "[v6]:port" or "a.b.c.d:port" */
	char cn[256];              /* tcp via PROXY v2: the verified certificate's CN */
	char ident[320];           /* what limits count: "uid 0", "CN x", "address y" */
	enum peer_state state;
	unsigned flags;            /* PEER_F_* */
	size_t queued;             /* bytes handed to uv_write, not yet written */
	uint64_t last_alive_ms;    /* last frame of any kind (loop time) */
	const struct peer_ops *ops;
	void *data;                /* the owner's: the session, once attached */
	int handles;               /* open libuv handles, freed at zero */
	TAILQ_ENTRY(peer) entry;   /* in server->peers */
	TAILQ_ENTRY(peer) hs_entry; /* in server->handshaking, oldest first */
};

/* Whether the peer is on its way out (draining its last frames, or dead). */
static inline int peer_closing(const struct peer *p)
{
	return p->state >= PEER_DRAINING;
}

/*
 * A consumer of a console's ring: anything that reads the console's output
 * at a cursor of its own.  A client's session is one (session.c); a log
 * file or a web socket would be others, plugged in the same way: embed a
 * struct console_consumer, give it ops, console_attach() it.
 *
 * The console never calls a consumer from its pty callback: new output only
 * marks the consumers dirty, and once per loop turn, after the I/O,
 * console_pump_dirty() calls pump() on each dirty one.  A consumer that could
 * not take everything calls console_consumer_wake() when it can again.
 */
struct console_consumer;

struct consumer_ops {
	/* Take what the ring holds from the cursor, as much as it can now. */
	void (*pump)(struct console_consumer *k);
	/* The console ends: deliver what is left, then end with the code. */
	void (*end)(struct console_consumer *k, uint32_t code, const char *message);
	/* The console goes away now (reload, shutdown): end at once. */
	void (*stop)(struct console_consumer *k, uint32_t code, const char *message);
	/* The pty took the writer's input that waited: let more flow. */
	void (*input_flows)(struct console_consumer *k);
};

struct console_consumer {
	const struct consumer_ops *ops;
	struct console *console;   /* NULL when not attached */
	uint64_t cursor;           /* next ring offset to take */
	int lossless;              /* reading the pty waits for this cursor */
	int crowd;                 /* a watcher: sent to at the crowd's rate */
	int dirty;                 /* to be pumped at the end of this turn */
	TAILQ_ENTRY(console_consumer) entry; /* in console->consumers */
};

/* console.c */
enum console_state {
	CONSOLE_CLOSED,   /* no descriptor (capture attached, nobody there) */
	CONSOLE_OPEN,
	CONSOLE_HUNGUP,   /* the other side went away; waits for a reload */
};

struct console {
	struct server *server;
	const struct conf_domain *domain; /* in server->conf, rebound on reload */
	const struct conf_console *conf;
	char *name;                       /* "domain/alias" for log lines */
	enum console_state state;
	int fd;
	struct lock *lock;                /* NULL for spawned consoles */
	pid_t owner;                      /* the hypervisor proven to hold the pty */
	int state_saved;                  /* its settings are in the state dir */
	pid_t child;                      /* spawned consoles: the process */
	uv_poll_t *poll;                  /* allocated, freed in its close cb */
	int poll_events;
	struct ring ring;
	int saved_valid;
	struct termios saved_termios;
	struct winsize saved_winsize;
	int saved_ws_valid;
	uint8_t *inbuf;                   /* writer input the pty did not take */
	size_t inlen, inoff;
	TAILQ_HEAD(, console_consumer) consumers;
	struct console_consumer *writer;  /* the one whose input reaches the pty */
	unsigned ncrowd;                  /* consumers with crowd set */
	uint64_t crowd_next_ms;           /* the crowd's next send, when many */
	uint64_t hungup_at;
	int hup_pending;                  /* HUP seen while reading was held back */
	uint64_t last_input_ms;           /* loop time of the last writer input */
	uv_timer_t *grace;                /* holds the device after late input */
	int dirty;                        /* in server->dirty: consumers to pump */
	TAILQ_ENTRY(console) dirty_entry;
	TAILQ_ENTRY(console) entry;       /* in server->consoles */
};

struct console *console_new(struct server *s, const struct conf_domain *d,
    const struct conf_console *c);
void console_free(struct console *c);
/* Whether a hung-up console may be opened again (see console.c). */
int console_may_reopen(const struct console *c);
/* Open the device (locks, termios) or spawn the command.  A pty that is no
 * longer the domain's (-EOWNERDEAD) leaves the console hung up. */
int console_open(struct console *c, struct lock_holder *holder, char **cause);
/* Restore and release the device; sessions must have been detached. */
void console_close(struct console *c);
/* Recompute which poll events the console needs (after any state change). */
void console_update(struct console *c);
/* Pass writer input to the pty; returns 1 when all of it was taken. */
int console_input(struct console *c, const uint8_t *data, size_t len);
void console_resize(struct console *c, uint16_t rows, uint16_t cols);
/* Every consumer ends: each gets what the ring still holds, then the reason. */
void console_end_all(struct console *c, uint32_t code, const char *message);
/* Every consumer ends at once, with the reason. */
void console_stop_all(struct console *c, uint32_t code, const char *message);
/* Close the device if no consumer needs it any more. */
void console_maybe_close(struct console *c);
/* Add a consumer (as the writer: its input reaches the pty), take it out. */
void console_attach(struct console *c, struct console_consumer *k, int writer);
void console_detach(struct console_consumer *k);
/* Have a consumer pumped at the end of this loop turn. */
void console_consumer_wake(struct console_consumer *k);
/* A consumer's cursor now holds reading back, or no longer does. */
void console_consumer_lossless(struct console_consumer *k, int lossless);
/* Once per loop turn: pump the dirty consumers of every dirty console. */
void console_pump_dirty(struct server *s);
/* The spawned child of a console exited. */
int console_reap(struct server *s, pid_t pid, int status);

/* What a console is now, as OPEN and LIST both see it. */
struct console_status {
	uint32_t state;              /* PROTO_STATE_* */
	struct lock_holder holder;   /* PROTO_STATE_LOCKED: the program */
	char *why;                   /* NOTRUNNING, UNOWNED: the reason (free it) */
};
/*
 * The state of console cc of domain d (c: its object, NULL when the daemon
 * does not serve it).  A closed pty console is probed (whether its pty is
 * still the domain's, then other programs' locks) only when probe is set
 * (LIST): OPEN learns the same by proving and locking it in console_open().
 * PROTO_STATE_ATTACHED means consumers are attached; who they are is the
 * caller's business (a stale writer is the sessions' notion).
 */
void console_status(const struct server *s, const struct console *c,
    const struct conf_domain *d, const struct conf_console *cc, int probe,
    struct console_status *st);

/*
 * session.c: a client attached to a console, as its writer or a watcher.  A
 * session is allocated at OPEN and belongs to its console while attached;
 * once it has left, it waits on the server's list of ended sessions and is
 * freed at the end of the loop turn, so no callback sees freed memory.
 */
enum session_role { SESSION_WRITER, SESSION_WATCHER };

enum session_state {
	SESSION_ATTACHED,
	SESSION_ENDING,            /* sends what is left, then CLOSED end_code */
	SESSION_ENDED,             /* has left its console; freed at the turn's end */
};

struct session {
	struct server *server;
	struct peer *peer;         /* NULL once the session has left */
	struct console *console;   /* NULL once the session has left */
	enum session_role role;
	int lossy;                 /* a writer demoted to the watchers' rule */
	uint64_t since_ms;         /* attached at (wall clock, ms) */
	uint64_t last_input_ms;    /* last DATA (loop time) */
	uint64_t last_progress_ms; /* last time output to this session moved on */
	enum session_state state;
	uint32_t end_code;
	char *end_msg;
	int ro_noticed;            /* a watcher was told its input is ignored */
	struct console_consumer consumer; /* its place at the console's ring */
	TAILQ_ENTRY(session) entry; /* in server->ended, once it has left */
};

/* What a peer's frames, drains and closes do: server.c hands it to peers. */
extern const struct peer_ops session_peer_ops;
/* Leave the console at once, send CLOSED, close the connection. */
void session_detach(struct session *s, uint32_t code, const char *message);
/* Deliver what the ring still holds for this session, then CLOSED. */
void session_end(struct session *s, uint32_t code, const char *message);
/* Check writers for staleness and for having stopped reading. */
void session_tick(struct server *s);
int session_is_stale(const struct session *s);
/* Free the sessions that have left (at the end of a loop turn). */
void session_free_ended(struct server *srv);
/* Describe a session's owner for messages: "uid 0 (root) pid 42 via unix". */
const char *session_who(const struct session *s);
/* The console's writer session, or NULL; how many sessions watch it. */
struct session *session_writer(const struct console *c);
unsigned session_watchers(const struct console *c);

/* list.c: LIST, every console the peer may watch with its state. */
void list_send(struct peer *p);

/* peer.c: connections. */
struct peer *peer_new(struct server *s, enum peer_transport t, int proxy);
void peer_start(struct peer *p);
void peer_close(struct peer *p, const char *why);
/* Close after the queued output (e.g. a CLOSED frame) has been written. */
void peer_close_after_flush(struct peer *p);
int peer_send(struct peer *p, const struct proto_msg *m);
int peer_send_data(struct peer *p, const uint8_t *data, size_t len);
int peer_send_status(struct peer *p, uint16_t type, uint32_t code, const char *msg);
int peer_send_notice(struct peer *p, uint32_t kind, uint64_t count, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Hold back the peer's input (the pty is full), and let it flow again. */
void peer_pause(struct peer *p);
void peer_resume(struct peer *p);

/* Output budget per session: what may be queued to the socket at once. */
#define PEER_OUTPUT_BUDGET (256 * 1024)

/* access.c: identity and rights. */
void access_identify(struct peer *p);
void access_proxy(struct peer *p, const struct proto_proxy *px);
unsigned access_rights(const struct server *s, const struct peer *p,
    const struct conf_domain *d, const struct conf_console *cc);
unsigned access_count(const struct server *s, const struct peer *p);

/* server.c */
struct server {
	uv_loop_t *loop;
	struct conf *conf;
	const char *config_path;       /* NULL: demo */
	const char *socket_override;
	SLIST_HEAD(, listener) listeners;
	TAILQ_HEAD(, peer) peers;
	TAILQ_HEAD(, peer) handshaking; /* connections that have not said hello */
	unsigned nhandshaking;
	unsigned npeers;
	TAILQ_HEAD(, console) consoles;
	struct console **index;        /* by registry position, see server.c */
	size_t *domain_base;
	uv_signal_t sig_term, sig_int, sig_hup, sig_chld;
	uv_timer_t tick;
	uv_timer_t crowd_timer;        /* wakes the loop for a crowd's next send */
	struct follow_dir *follow;     /* the domains directories followed */
	uv_timer_t follow_timer;       /* a reload once a burst of changes settles */
	uint64_t follow_first_ms;      /* loop time of the burst's first change */
	uv_check_t turn;               /* end of every loop turn: pumps, frees */
	uv_idle_t wake;                /* keeps the loop turning while work waits */
	TAILQ_HEAD(, console) dirty;   /* consoles with consumers to pump */
	TAILQ_HEAD(, session) ended;   /* sessions that left, freed at the turn's end */
	uint64_t next_peer_id;
	unsigned heartbeat_ms;
	int stopping;
};

int server_init(struct server *s, uv_loop_t *loop, struct conf *conf);
int server_listen(struct server *s);
void server_reload(struct server *s);
void server_shutdown(struct server *s);
void server_free(struct server *s);
/* (Re)build the table that server_find_console reads. */
void server_index(struct server *s);
struct console *server_find_console(struct server *s, const struct conf_domain *d,
    const struct conf_console *c);
uint64_t server_now_ms(const struct server *s);
/* Work waits for the end of the turn: do not let the loop block before it. */
void server_wake(struct server *s);

/*
 * owner.c: whether a console's pty is still its domain's.  0 when proven (or
 * nothing to prove: a spawned console, trust='path', a device that is not a
 * pty); -EOWNERDEAD when the domain no longer holds it (it stopped, and the
 * number may be another program's by now); -ENOKEY when the definition names
 * no owner that could prove it; -ENOENT when the device is gone; -EACCES
 * when /proc does not show us the owner.  fd >= 0: the device as opened.
 * *owner (when not NULL) is the process proven to hold it, 0 when none had
 * to be.  *cause (allocated) is the message for the client.
 */
int owner_check(const struct conf_domain *d, const struct conf_console *cc,
    int fd, pid_t *owner, char **cause);

/*
 * ttystate.c: a device's own settings on disk while the daemon holds it, so
 * that the next daemon can put them back after a crash.  save: before the
 * device is changed (owner: the proven hypervisor, or 0); drop: once they
 * are back; recover: at start, for what a dead predecessor left.
 */
int ttystate_save(const struct conf *conf, const char *device, int fd, pid_t owner,
    const struct termios *t, const struct winsize *w, int w_valid, char **cause);
void ttystate_drop(const struct conf *conf, int fd);
void ttystate_recover(struct server *s);

/*
 * follow.c: the domains directories, followed live; a burst of changes in
 * one is a reload.  update: after every load, watch what the registry names;
 * retry: once a second, watch a directory that has come (or was replaced)
 * since, and reload; stop: at shutdown.
 */
struct follow_dir;
void follow_update(struct server *s);
void follow_retry(struct server *s);
void follow_stop(struct server *s);

/* spawn.c: a process on a new pty, as a container runtime starts one. */
int spawn_console(char *const argv[], int *master, pid_t *pid, char **cause);

/* util.c: allocations that stop the daemon when memory runs out. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *old, size_t n, size_t size);
char *xstrdup(const char *s);
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t wall_ms(void);
void format_since(uint64_t ms, char *buf, size_t len);

#endif
