/*
 * server: the listeners, the table of consoles, signals, reload and shutdown.
 */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "daemon/daemon.h"

struct listener {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_pipe_t pipe;
		uv_tcp_t tcp;
	} io;
	struct server *server;
	enum peer_transport transport;
	int proxy;   /* tcp: a PROXY header precedes the frames */
	char *path;  /* unix: the socket file, removed at shutdown */
	char *name;  /* for log lines */
	int inited;  /* the handle exists and must be closed */
	SLIST_ENTRY(listener) entry;
};

uint64_t server_now_ms(const struct server *s)
{
	return uv_now(s->loop);
}

/* Index the consoles by registry position, so lookups cost nothing. */
void server_index(struct server *s)
{
	const struct conf *conf = s->conf;
	size_t i, j, total = 0;
	struct console *c;

	free(s->domain_base);
	free(s->index);
	s->domain_base = xcalloc(conf->ndomains + 1, sizeof(*s->domain_base));
	for (i = 0; i < conf->ndomains; i++)
		total += conf->domains[i].nconsoles;
	s->index = xcalloc(total + 1, sizeof(*s->index));
	total = 0;
	for (i = 0; i < conf->ndomains; i++) {
		s->domain_base[i] = total;
		total += conf->domains[i].nconsoles;
	}
	TAILQ_FOREACH(c, &s->consoles, entry) {
		i = (size_t)(c->domain - conf->domains);
		j = (size_t)(c->conf - c->domain->consoles);
		s->index[s->domain_base[i] + j] = c;
	}
}

struct console *server_find_console(struct server *s, const struct conf_domain *d,
    const struct conf_console *cc)
{
	size_t i = (size_t)(d - s->conf->domains);
	size_t j = (size_t)(cc - d->consoles);

	if (i >= s->conf->ndomains || j >= d->nconsoles)
		return NULL;
	return s->index[s->domain_base[i] + j];
}

/* A console object for every console the daemon can serve. */
static struct console *server_add_console(struct server *s, const struct conf_domain *d,
    const struct conf_console *cc)
{
	struct console *c;

	if (cc->type == CONF_CONSOLE_UNSUPPORTED)
		return NULL;
	c = console_new(s, d, cc);
	TAILQ_INSERT_HEAD(&s->consoles, c, entry);
	return c;
}

/* Capture "always": hold the device from now on, so history has the boot. */
static void server_capture(struct console *c)
{
	struct lock_holder holder;
	char *cause = NULL;

	if (c->state == CONSOLE_OPEN || !console_may_reopen(c))
		return;
	if (c->conf->capture != CONF_CAPTURE_ALWAYS && c->conf->type != CONF_CONSOLE_SPAWN)
		return;
	if (c->conf->type == CONF_CONSOLE_PTY && c->conf->pty_path == NULL)
		return;
	if (console_open(c, &holder, &cause) < 0) {
		log_warn("%s: cannot capture: %s", c->name, cause ? cause : "failed");
		free(cause);
	}
}

static void server_on_signal(uv_signal_t *h, int signum)
{
	struct server *s = h->data;
	pid_t pid;
	int status;

	switch (signum) {
	case SIGTERM:
	case SIGINT:
		log_info("received %s: shutting down", signum == SIGTERM ? "SIGTERM" : "SIGINT");
		server_shutdown(s);
		break;
	case SIGHUP:
		log_info("received SIGHUP: reloading %s", s->config_path ? s->config_path : "(demo)");
		server_reload(s);
		break;
	case SIGCHLD:
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			console_reap(s, pid, status);
		break;
	}
}

static void server_on_tick(uv_timer_t *t)
{
	session_tick(t->data);
	follow_retry(t->data);
}

/*
 * After the loop turn's I/O: the consumers of the consoles that got output
 * or room are pumped, once per turn however many reads and writes it took,
 * and the sessions that ended are freed.
 */
static void server_on_turn(uv_check_t *h)
{
	struct server *s = h->data;

	uv_idle_stop(&s->wake);
	console_pump_dirty(s);
	session_free_ended(s);
}

static void server_on_wake(uv_idle_t *h)
{
	(void)h; /* only keeps the loop from blocking before the turn's end */
}

void server_wake(struct server *s)
{
	if (!s->stopping && !uv_is_active((uv_handle_t *)&s->wake))
		uv_idle_start(&s->wake, server_on_wake);
}

int server_init(struct server *s, uv_loop_t *loop, struct conf *conf)
{
	size_t i, j;

	s->loop = loop;
	s->conf = conf;
	TAILQ_INIT(&s->consoles);
	TAILQ_INIT(&s->peers);
	TAILQ_INIT(&s->handshaking);
	SLIST_INIT(&s->listeners);
	s->heartbeat_ms = conf->stale_after * 1000 / 3;
	if (s->heartbeat_ms < 500)
		s->heartbeat_ms = 500;
	for (i = 0; i < conf->ndomains; i++)
		for (j = 0; j < conf->domains[i].nconsoles; j++)
			server_add_console(s, &conf->domains[i], &conf->domains[i].consoles[j]);
	server_index(s);
	uv_signal_init(loop, &s->sig_term);
	uv_signal_init(loop, &s->sig_int);
	uv_signal_init(loop, &s->sig_hup);
	uv_signal_init(loop, &s->sig_chld);
	s->sig_term.data = s->sig_int.data = s->sig_hup.data = s->sig_chld.data = s;
	uv_signal_start(&s->sig_term, server_on_signal, SIGTERM);
	uv_signal_start(&s->sig_int, server_on_signal, SIGINT);
	uv_signal_start(&s->sig_hup, server_on_signal, SIGHUP);
	uv_signal_start(&s->sig_chld, server_on_signal, SIGCHLD);
	uv_timer_init(loop, &s->crowd_timer);
	uv_timer_init(loop, &s->follow_timer);
	TAILQ_INIT(&s->ended);
	TAILQ_INIT(&s->dirty);
	uv_idle_init(loop, &s->wake);
	uv_check_init(loop, &s->turn);
	s->turn.data = s;
	uv_check_start(&s->turn, server_on_turn);
	uv_timer_init(loop, &s->tick);
	s->tick.data = s;
	uv_timer_start(&s->tick, server_on_tick, 1000, 1000);
	return 0;
}

static void server_refused_closed(uv_handle_t *h)
{
	free(h);
}

/* Over the connection limit: accept and close at once, so the listener
 * keeps going and the peer learns quickly. */
static void server_refuse(struct listener *l)
{
	static struct log_limit rl;
	uv_handle_t *h;

	if (l->transport == PEER_UNIX) {
		h = xmalloc(sizeof(uv_pipe_t));
		uv_pipe_init(l->server->loop, (uv_pipe_t *)h, 0);
	} else {
		h = xmalloc(sizeof(uv_tcp_t));
		uv_tcp_init(l->server->loop, (uv_tcp_t *)h);
	}
	uv_accept(&l->io.stream, (uv_stream_t *)h);
	uv_close(h, server_refused_closed);
	log_limited(&rl, LOG_LVL_WARN, "%s: connection limit reached (%u connections):"
	    " refusing new ones", l->name, l->server->npeers);
}

static void server_on_connection(uv_stream_t *ls, int status)
{
	struct listener *l = ls->data;
	struct peer *p;

	if (status < 0) {
		static struct log_limit rl;

		/* Out of descriptors, this repeats for every attempt. */
		log_limited(&rl, LOG_LVL_WARN, "%s: accept failed: %s", l->name,
		    uv_strerror(status));
		return;
	}
	p = peer_new(l->server, l->transport, l->proxy);
	if (p == NULL) {
		server_refuse(l);
		return;
	}
	p->ops = &session_peer_ops;
	if (uv_accept(ls, &p->io.stream) < 0) {
		peer_close(p, NULL);
		return;
	}
	peer_start(p);
}

/* Refuse a live daemon's socket, replace a dead one's. */
static int server_check_socket(const char *path, char **cause)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		*cause = xasprintf("%s exists and is not a socket", path);
		return -EEXIST;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		*cause = xasprintf("another conbrokerd is listening on %s", path);
		return -EADDRINUSE;
	}
	log_info("removing the stale socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* mkdir -p for the socket's directory (0755: the socket's mode guards it). */
static void server_mkdirs(const char *path)
{
	char *dir = xstrdup(path), *p;

	for (p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(dir, 0755);
		*p = '/';
	}
	free(dir);
}

static int server_listen_unix(struct server *s, struct listener *l,
    const struct conf_listen *cl, const char *path, char **cause)
{
	mode_t old;
	int rc;

	server_mkdirs(path);
	rc = server_check_socket(path, cause);
	if (rc < 0)
		return rc;
	uv_pipe_init(s->loop, &l->io.pipe, 0);
	l->inited = 1;
	l->transport = PEER_UNIX;
	l->name = xasprintf("unix:%s", path);
	old = umask(0177);
	rc = uv_pipe_bind(&l->io.pipe, path);
	umask(old);
	if (rc == 0)
		l->path = xstrdup(path); /* ours now: removed at shutdown */
	if (rc == 0 && chmod(path, cl ? cl->mode : 0660) < 0)
		rc = -errno;
	if (rc == 0 && cl && cl->group) {
		struct group gr, *res = NULL;
		char buf[4096];

		getgrnam_r(cl->group, &gr, buf, sizeof(buf), &res);
		if (res == NULL) {
			*cause = xasprintf("%s: no group '%s'", path, cl->group);
			return -ENOENT;
		}
		if (chown(path, (uid_t)-1, res->gr_gid) < 0)
			rc = -errno;
	}
	if (rc == 0)
		rc = uv_listen(&l->io.stream, 128, server_on_connection);
	if (rc < 0 && *cause == NULL)
		*cause = xasprintf("cannot listen on %s: %s", path, uv_strerror(rc));
	return rc;
}

/* Loopback addresses need no TLS proxy in front; anything else is opt-in. */
static int server_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &in6addr_loopback,
		    sizeof(struct in6_addr)) == 0;
	return 0;
}

static int server_listen_tcp(struct server *s, struct listener *l,
    const struct conf_listen *cl, char **cause)
{
	struct addrinfo hints, *ai = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(cl->host, cl->port, &hints, &ai);
	l->name = strchr(cl->host, ':') ? xasprintf("tcp:[%s]:%s", cl->host, cl->port)
	    : xasprintf("tcp:%s:%s", cl->host, cl->port);
	if (rc != 0) {
		*cause = xasprintf("%s:%d: cannot resolve %s: %s", cl->file, cl->line,
		    l->name, gai_strerror(rc));
		return -EINVAL;
	}
	if (!server_is_loopback(ai->ai_addr)) {
		if (!cl->public_ok) {
			*cause = xasprintf("%s:%d: %s is not a loopback address; put a TLS proxy"
			    " in front and say public='yes' to bind it", cl->file, cl->line, l->name);
			freeaddrinfo(ai);
			return -EPERM;
		}
		log_warn("%s: listening on a non-loopback address: the traffic is not"
		    " encrypted unless a TLS proxy is in front", l->name);
	}
	uv_tcp_init(s->loop, &l->io.tcp);
	l->inited = 1;
	l->transport = PEER_TCP;
	l->proxy = cl->proxy;
	rc = uv_tcp_bind(&l->io.tcp, ai->ai_addr, 0);
	freeaddrinfo(ai);
	if (rc == 0)
		rc = uv_listen(&l->io.stream, 128, server_on_connection);
	if (rc < 0)
		*cause = xasprintf("cannot listen on %s: %s", l->name, uv_strerror(rc));
	return rc;
}

/* Open every listener of the config (the --socket path replaces unix ones). */
int server_listen(struct server *s)
{
	const struct conf *conf = s->conf;
	struct listener *l;
	char *cause = NULL;
	size_t i;
	int rc = 0, unix_done = 0;
	struct console *c;

	for (i = 0; i < conf->nlistens && rc == 0; i++) {
		const struct conf_listen *cl = &conf->listens[i];

		if (cl->type == CONF_LISTEN_UNIX && s->socket_override && unix_done)
			continue;
		l = xcalloc(1, sizeof(*l));
		l->server = s;
		l->io.handle.data = l;
		if (cl->type == CONF_LISTEN_UNIX) {
			rc = server_listen_unix(s, l, cl,
			    s->socket_override ? s->socket_override : cl->path, &cause);
			unix_done = 1;
		} else {
			rc = server_listen_tcp(s, l, cl, &cause);
		}
		SLIST_INSERT_HEAD(&s->listeners, l, entry);
		if (rc == 0)
			log_info("listening on %s%s", l->name,
			    l->proxy ? " (PROXY protocol required)" : "");
	}
	if (rc == 0 && !unix_done && s->socket_override) {
		l = xcalloc(1, sizeof(*l));
		l->server = s;
		l->io.handle.data = l;
		rc = server_listen_unix(s, l, NULL, s->socket_override, &cause);
		SLIST_INSERT_HEAD(&s->listeners, l, entry);
		if (rc == 0)
			log_info("listening on %s", l->name);
	}
	if (rc < 0) {
		log_err("%s", cause ? cause : uv_strerror(rc));
		free(cause);
		return rc;
	}
	/* Listening proves no other daemon serves here: its leftovers are ours. */
	ttystate_recover(s);
	TAILQ_FOREACH(c, &s->consoles, entry)
		server_capture(c);
	follow_update(s);
	return 0;
}

static void server_unlink_console(struct server *s, struct console *c)
{
	TAILQ_REMOVE(&s->consoles, c, entry);
}

/* Why a console changed, in the words an operator would use. */
static const char *server_change_reason(const struct conf_diff_entry *e)
{
	const struct conf_console *o = e->old_console, *n = e->new_console;
	const char *oi = e->old_domain->instance, *ni = e->new_domain->instance;

	if (o->pty_path != NULL && n->pty_path == NULL)
		return "the domain stopped: no pty assigned";
	if (o->pty_path == NULL && n->pty_path != NULL)
		return "the domain started: a pty assigned";
	if ((oi == NULL) != (ni == NULL) || (oi != NULL && strcmp(oi, ni) != 0))
		return "the domain restarted";
	if (o->pty_path != NULL && strcmp(o->pty_path, n->pty_path) != 0)
		return "a new pty";
	return "its type, capture or command changed";
}

/* Apply one console's change between the old and the new registry. */
static void server_apply(struct server *s, const struct conf_diff_entry *e)
{
	struct console *c = NULL;
	char *msg;

	if (e->old_console != NULL)
		c = server_find_console(s, e->old_domain, e->old_console);
	switch (e->change) {
	case CONF_ADDED:
		c = server_add_console(s, e->new_domain, e->new_console);
		if (c != NULL)
			log_info("%s: added", c->name);
		return;
	case CONF_REMOVED:
		if (c == NULL)
			return;
		msg = xasprintf("console %s was removed from the configuration", c->name);
		log_info("%s", msg);
		console_stop_all(c, PROTO_CODE_NOENT, msg);
		free(msg);
		server_unlink_console(s, c);
		console_free(c);
		return;
	case CONF_CHANGED:
		if (c == NULL) {
			server_add_console(s, e->new_domain, e->new_console);
			return;
		}
		msg = xasprintf("console %s changed in the configuration (%s)", c->name,
		    server_change_reason(e));
		log_info("%s", msg);
		console_stop_all(c, PROTO_CODE_HANGUP, msg);
		free(msg);
		console_close(c);
		if (e->new_console->type == CONF_CONSOLE_UNSUPPORTED) {
			server_unlink_console(s, c);
			console_free(c);
			return;
		}
		c->state = CONSOLE_CLOSED;
		break;
	case CONF_UNCHANGED:
		if (c == NULL)
			return;
		/* A hung-up console stays so: the same path is no proof of a new
		 * pty, since /dev/pts numbers are reused and the old one may now
		 * be another guest's console.  Only a changed entry revives it. */
		break;
	}
	c->domain = e->new_domain;
	c->conf = e->new_console;
	free(c->name);
	c->name = xasprintf("%s/%s", c->domain->name, c->conf->alias);
}

static void server_print_diags(const struct conf_diags *d)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		log_msg(d->items[i].severity == CONF_ERROR ? LOG_LVL_ERR : LOG_LVL_WARN,
		    "%s", d->items[i].text);
}

/* SIGHUP: a new registry; sessions on unchanged consoles go on untouched. */
void server_reload(struct server *s)
{
	struct conf_diags diags = { 0 };
	struct conf *next = NULL, *old = s->conf;
	struct conf_diff diff = { 0 };
	struct console *c;
	size_t i, counts[4] = { 0 };
	int rc;

	if (s->stopping)
		return;
	rc = s->config_path ? conf_load(s->config_path, &next, &diags)
	    : conf_load_demo(&next, &diags);
	if (rc == 0 && next != NULL)
		conf_check_policy(next, &diags);
	server_print_diags(&diags);
	conf_diags_free(&diags);
	if (rc < 0) {
		log_err("reload failed: keeping the current configuration");
		return;
	}
	if (conf_diff(old, next, &diff) < 0) {
		log_err("reload failed: out of memory");
		conf_free(next);
		return;
	}
	for (i = 0; i < diff.count; i++) {
		server_apply(s, &diff.entries[i]);
		counts[diff.entries[i].change]++;
	}
	conf_diff_free(&diff);
	s->conf = next;
	conf_free(old);
	server_index(s);
	TAILQ_FOREACH(c, &s->consoles, entry)
		server_capture(c);
	follow_update(s);
	log_info("reloaded: %zu added, %zu removed, %zu changed, %zu unchanged",
	    counts[CONF_ADDED], counts[CONF_REMOVED], counts[CONF_CHANGED],
	    counts[CONF_UNCHANGED]);
}

static void server_listener_closed(uv_handle_t *h)
{
	struct listener *l = h->data;

	free(l->path);
	free(l->name);
	free(l);
}

/* SIGTERM: tell everyone, restore every pty, remove every lock and socket. */
void server_shutdown(struct server *s)
{
	struct listener *l;
	struct console *c;
	struct peer *p, *pn;

	if (s->stopping)
		return;
	s->stopping = 1;
	TAILQ_FOREACH(c, &s->consoles, entry) {
		console_stop_all(c, PROTO_CODE_UNREACHABLE, "conbrokerd is shutting down");
		console_close(c);
	}
	TAILQ_FOREACH_SAFE(p, &s->peers, entry, pn)
		peer_close_after_flush(p);
	while ((l = SLIST_FIRST(&s->listeners)) != NULL) {
		SLIST_REMOVE_HEAD(&s->listeners, entry);
		if (l->path != NULL)
			unlink(l->path);
		if (l->inited)
			uv_close(&l->io.handle, server_listener_closed);
		else
			server_listener_closed(&l->io.handle);
	}
	uv_close((uv_handle_t *)&s->sig_term, NULL);
	uv_close((uv_handle_t *)&s->sig_int, NULL);
	uv_close((uv_handle_t *)&s->sig_hup, NULL);
	uv_close((uv_handle_t *)&s->sig_chld, NULL);
	uv_close((uv_handle_t *)&s->tick, NULL);
	uv_close((uv_handle_t *)&s->crowd_timer, NULL);
	follow_stop(s);
	uv_close((uv_handle_t *)&s->follow_timer, NULL);
	uv_close((uv_handle_t *)&s->turn, NULL);
	uv_close((uv_handle_t *)&s->wake, NULL);
}

void server_free(struct server *s)
{
	struct console *c;

	while ((c = TAILQ_FIRST(&s->consoles)) != NULL) {
		TAILQ_REMOVE(&s->consoles, c, entry);
		console_free(c);
	}
	session_free_ended(s);
	free(s->index);
	free(s->domain_base);
}
