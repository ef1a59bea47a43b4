/*
 * Sessions through the protocol, with peers on socketpairs and a console on
 * a real pty pair: open, a busy refusal, a forced and a stale takeover that
 * keep the device open, a wedged writer demoted and restored, and ends that
 * come while output is still to be pumped and while an OPEN is under way.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "tests/tap.h"

static uv_loop_t *loop;
static struct server srv;

/* The client's end of one connection, and what it has heard. */
struct client {
	int fd;
	struct peer *peer;
	struct proto_reader rd;
	int hello, opened, closed, error, demoted, caught_up, takeover;
	uint32_t code;
	size_t data;
	char last[512];
};

#define TURN_UNTIL(cond, ms) ({						\
	uint64_t until_ = uv_hrtime() / 1000000 + (ms);			\
	while (!(cond) && uv_hrtime() / 1000000 < until_) {		\
		uv_run(loop, UV_RUN_NOWAIT);				\
		usleep(500);						\
	}								\
	(cond);								\
})

static void client_connect(struct client *cl)
{
	int sv[2];

	memset(cl, 0, sizeof(*cl));
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	cl->fd = sv[1];
	proto_reader_init(&cl->rd);
	cl->peer = peer_new(&srv, PEER_UNIX, 0);
	uv_pipe_open(&cl->peer->io.pipe, sv[0]);
	cl->peer->ops = &session_peer_ops;
	peer_start(cl->peer);
}

static void client_send(struct client *cl, const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_FRAME];
	ssize_t n = proto_encode(m, buf, sizeof(buf));

	if (n > 0 && write(cl->fd, buf, (size_t)n) != n)
		diag("short write to the daemon");
}

/* Read what the daemon sent so far; read at most max bytes of it. */
static void client_read(struct client *cl, size_t max)
{
	struct proto_msg m;
	const char *why;
	size_t room, total = 0;
	uint8_t *p;
	ssize_t n;

	while (total < max && (p = proto_reader_space(&cl->rd, &room)) != NULL) {
		if (room > max - total)
			room = max - total;
		n = read(cl->fd, p, room);
		if (n <= 0)
			break;
		proto_reader_commit(&cl->rd, (size_t)n);
		total += (size_t)n;
		while (proto_reader_next(&cl->rd, &m, &why) > 0) {
			switch (m.type) {
			case PROTO_HELLO: cl->hello++; break;
			case PROTO_OPENED: cl->opened++; break;
			case PROTO_DATA: cl->data += m.u.data.len; break;
			case PROTO_CLOSED:
			case PROTO_ERROR:
				if (m.type == PROTO_CLOSED)
					cl->closed++;
				else
					cl->error++;
				cl->code = m.u.status.code;
				snprintf(cl->last, sizeof(cl->last), "%.*s",
				    (int)m.u.status.message.len, m.u.status.message.ptr);
				break;
			case PROTO_NOTICE:
				if (m.u.notice.kind == PROTO_NOTICE_DEMOTED)
					cl->demoted++;
				else if (m.u.notice.kind == PROTO_NOTICE_TAKEOVER)
					cl->takeover++;
				else if (m.u.notice.text.len >= 10 &&
				    memcmp(m.u.notice.text.ptr, "caught up:", 10) == 0)
					cl->caught_up++;
				break;
			default:
				break;
			}
		}
	}
}

static void client_hello(struct client *cl)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	m.u.hello.version = PROTO_VERSION;
	m.u.hello.software = proto_str("test");
	client_send(cl, &m);
}

static void client_open(struct client *cl, uint32_t flags)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_OPEN;
	m.u.open.domain = proto_str("vm");
	m.u.open.devname = proto_str("");
	m.u.open.flags = flags;
	m.u.open.rows = 24;
	m.u.open.cols = 80;
	client_send(cl, &m);
}

/* Turn until the client heard something that cond checks. */
#define HEARS(cl, cond) TURN_UNTIL((client_read(cl, SIZE_MAX), (cond)), 3000)

/* Guest output: as much of len bytes as the pty takes now. */
static size_t guest(int master, size_t len)
{
	static char buf[4096];
	ssize_t n;

	memset(buf, 'x', sizeof(buf));
	n = write(master, buf, len < sizeof(buf) ? len : sizeof(buf));
	return n > 0 ? (size_t)n : 0;
}

int main(void)
{
	char lockdir[] = "/tmp/cb-unit-XXXXXX", slave[128], *xml;
	struct conf_diags diags = { 0 };
	const struct conf_domain *d;
	const struct conf_console *cc;
	struct conf *conf = NULL;
	struct client a, b, c, e;
	struct console *con;
	struct session *w;
	int master, sfd;
	size_t sent = 0;

	if (mkdtemp(lockdir) == NULL || openpty(&master, &sfd, slave, NULL, NULL) < 0) {
		printf("1..0 # SKIP no pty or temporary directory\n");
		return 0;
	}
	close(sfd);
	signal(SIGPIPE, SIG_IGN); /* as conbrokerd's main() does */
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	/* trust='path': the test's own pty needs no hypervisor to prove it. */
	xml = xasprintf("<conbroker><locks dir='%s'/><history size='4096'/>"
	    "<domain type='kvm'><name>vm</name>"
	    "<uuid>0a6e1c52-3b7d-4f0e-9c1a-2b3c4d5e6f70</uuid><devices>"
	    "<serial type='pty'><source path='%s'/><target port='0'/>"
	    "<alias name='serial0'/></serial></devices><metadata>"
	    "<cb:consoles xmlns:cb='http://conbroker.org/schemas/domain/1.0'>"
	    "<cb:console alias='serial0' trust='path'/></cb:consoles></metadata>"
	    "</domain></conbroker>", lockdir, slave);
	if (conf_load_buffer("test.xml", xml, strlen(xml), &conf, &diags) < 0 ||
	    conf == NULL || conf->ndomains != 1) {
		printf("1..0 # SKIP the test's configuration does not load\n");
		return 0;
	}
	free(xml);
	conf_diags_free(&diags);
	conf->writer_timeout = 1;
	d = &conf->domains[0];
	cc = &d->consoles[0];
	loop = uv_default_loop();
	memset(&srv, 0, sizeof(srv));
	server_init(&srv, loop, conf);
	con = server_find_console(&srv, d, cc);
	ok(con != NULL && con->ring.size == 0, "a console for the domain's pty");

	/* --- open */
	client_connect(&a);
	client_hello(&a);
	client_open(&a, 0);
	ok(HEARS(&a, a.opened == 1), "a writer opens the console");
	ok(con->state == CONSOLE_OPEN && session_writer(con) != NULL,
	    "the device is open and the session is its writer");

	/* --- busy, forced takeover */
	client_connect(&b);
	client_hello(&b);
	client_open(&b, 0);
	ok(HEARS(&b, b.error == 1), "a second plain OPEN is refused");
	is_int(b.code, PROTO_CODE_BUSY, "with code 3");
	close(b.fd);
	proto_reader_free(&b.rd);
	client_connect(&b);
	client_hello(&b);
	client_open(&b, PROTO_OPEN_FORCE);
	ok(HEARS(&b, b.opened == 1), "--force takes the console over");
	ok(HEARS(&a, a.closed == 1), "the old writer is told");
	is_int(a.code, PROTO_CODE_TAKEOVER, "and ends with code 6");
	is_int(a.takeover, 1, "after a notice that names who took over");
	ok(con->state == CONSOLE_OPEN && con->lock != NULL,
	    "the device stayed open and locked through the takeover");

	/* --- stale takeover */
	w = session_writer(con);
	ok(w != NULL && w->peer == b.peer, "the new writer is the console's writer");
	b.peer->last_alive_ms = 0; /* silent since the loop's epoch */
	ok(session_is_stale(w), "a writer silent for stale-after is stale");
	client_connect(&c);
	client_hello(&c);
	client_open(&c, 0);
	ok(HEARS(&c, c.opened == 1), "a plain OPEN takes a stale writer over");
	ok(HEARS(&b, b.closed == 1) && b.code == PROTO_CODE_TAKEOVER,
	    "the stale writer ends with code 6");
	ok(con->state == CONSOLE_OPEN, "the device stayed open");

	/* --- a wedged writer: demoted, then restored */
	while (TURN_UNTIL(0, 1), sent < 4 * 1024 * 1024) {
		size_t n = guest(master, 4096);

		if (n == 0 && con->ring.head - session_writer(con)->consumer.cursor ==
		    con->ring.size)
			break; /* the ring is full and the guest is held */
		sent += n;
	}
	w = session_writer(con);
	is_int(con->ring.head - w->consumer.cursor, con->ring.size,
	    "a writer that does not read holds the ring full (%zu bytes sent)", sent);
	w->last_progress_ms = 0;
	session_tick(&srv);
	ok(w->lossy && !w->consumer.lossless, "after writer-timeout it is demoted");
	TURN_UNTIL(0, 20);
	client_read(&c, SIZE_MAX);
	ok(HEARS(&c, c.demoted == 1), "and told so");
	ok(HEARS(&c, c.caught_up == 1), "once it reads again and catches up, it is told");
	ok(!w->lossy && w->consumer.lossless, "and it is lossless again");

	/* --- end while output waits, and during an OPEN */
	c.data = 0;
	sent = guest(master, 3000);
	client_connect(&e);
	client_hello(&e);
	client_open(&e, PROTO_OPEN_READONLY | PROTO_OPEN_NOHISTORY);
	TURN_UNTIL(con->ring.head - w->consumer.cursor >= sent, 2000);
	close(master);
	ok(HEARS(&c, c.closed == 1), "the hangup ends the writer's session");
	is_int(c.code, PROTO_CODE_HANGUP, "with code 7");
	is_int(c.data, sent, "after every byte the ring still held (%zu)", sent);
	ok(HEARS(&e, e.closed + e.error == 1), "an OPEN that meets the hangup ends too");
	is_int(e.code, PROTO_CODE_HANGUP, "with code 7 (%s)", e.last);
	TURN_UNTIL(0, 20);
	ok(con->state == CONSOLE_HUNGUP && con->lock == NULL, "the device is let go");
	ok(TAILQ_EMPTY(&srv.ended), "every session that ended was freed");

	server_shutdown(&srv);
	uv_run(loop, UV_RUN_DEFAULT);
	server_free(&srv);
	conf_free(conf);
	uv_loop_close(loop);
	proto_reader_free(&a.rd);
	proto_reader_free(&b.rd);
	proto_reader_free(&c.rd);
	proto_reader_free(&e.rd);
	close(a.fd);
	close(b.fd);
	close(c.fd);
	close(e.fd);
	rmdir(lockdir);
	return tap_done();
}
