/*
 * connflood: many connections to the broker that never say hello, or that
 * say it one byte at a time (slowloris), to see that a real client still
 * gets through.  Plain sockets and poll(2); bounded in count and in time.
 *
 *   connflood ADDR COUNT SECONDS [OPTION...]
 *
 *   ADDR             unix:PATH or tcp:HOST:PORT (numeric)
 *   COUNT            connections to hold at once (at most 100000)
 *   SECONDS          when to give up and exit, whatever happens (at most 600)
 *   --refill         reopen the connections the broker closes, until SECONDS
 *   --until-closed   exit as soon as the broker has closed all COUNT
 *   --drip MS        on each connection, send the next byte of the payload
 *                    every MS milliseconds
 *   --payload WHAT   what --drip sends: "hello" (a HELLO frame, the default)
 *                    or "proxy" (a PROXY v1 line, then a HELLO frame)
 *   --status FILE    keep FILE up to date with one line of counters:
 *                    "open N opened N closed N failed N"
 *
 * "open" counts connections established now; "opened" all that were ever
 * established; "closed" those the broker ended; "failed" the connects that
 * did not succeed.  The same line is printed on stdout at the end.
 * SIGTERM or SIGINT ends it early; every connection is closed on exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"

#define CONNFLOOD_MAX 100000
#define CONNFLOOD_INFLIGHT 128 /* connects in progress at once, below the backlog */
#define CONNFLOOD_BURST 64     /* connects started per turn of the loop */

struct connflood_conn {
	int fd;
	int connecting; /* a TCP connect in progress */
	size_t sent;    /* bytes of the payload sent so far */
};

static volatile sig_atomic_t connflood_stop;

static struct {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct connflood_conn *conns;
	struct pollfd *pfds;
	size_t count, nconns, inflight;
	unsigned long opened, closed, failed;
	uint8_t payload[512];
	size_t paylen;
	const char *status;
	char last[128];
} cf;

static void connflood_on_signal(int sig)
{
	(void)sig;
	connflood_stop = 1;
}

static uint64_t connflood_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned long connflood_number(const char *what, const char *text,
    unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || end == text || v > max) {
		fprintf(stderr, "connflood: %s: not a number up to %lu: %s\n", what,
		    max, text);
		exit(1);
	}
	return v;
}

/* unix:PATH or tcp:HOST:PORT into cf.addr. */
static int connflood_parse_addr(const char *text)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&cf.addr;
	struct addrinfo hints, *ai = NULL;
	char host[256];
	const char *port;
	int rc;

	if (strncmp(text, "unix:", 5) == 0) {
		if (strlen(text + 5) >= sizeof(sun->sun_path))
			return -1;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, text + 5);
		cf.addrlen = sizeof(*sun);
		return 0;
	}
	if (strncmp(text, "tcp:", 4) != 0 || (port = strrchr(text + 4, ':')) == NULL ||
	    (size_t)(port - text - 4) >= sizeof(host))
		return -1;
	memcpy(host, text + 4, (size_t)(port - text - 4));
	host[port - text - 4] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	rc = getaddrinfo(host, port + 1, &hints, &ai);
	if (rc != 0)
		return -1;
	memcpy(&cf.addr, ai->ai_addr, ai->ai_addrlen);
	cf.addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* The bytes --drip sends: a HELLO frame, after a PROXY line if asked. */
static int connflood_payload(const char *what)
{
	struct proto_msg m;
	ssize_t n;

	cf.paylen = 0;
	if (strcmp(what, "proxy") == 0)
		cf.paylen = (size_t)snprintf((char *)cf.payload, sizeof(cf.payload),
		    "PROXY TCP4 192.0.2.9 127.0.0.1 40000 7780\r\n");
	else if (strcmp(what, "hello") != 0)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	m.u.hello.version = PROTO_VERSION;
	m.u.hello.software = proto_str("connflood");
	n = proto_encode(&m, cf.payload + cf.paylen, sizeof(cf.payload) - cf.paylen);
	if (n < 0)
		return -1;
	cf.paylen += (size_t)n;
	return 0;
}

/* Write the counters to the status file (through a rename) when they change. */
static void connflood_report(int force)
{
	char line[128], tmp[4200];
	FILE *f;

	snprintf(line, sizeof(line), "open %zu opened %lu closed %lu failed %lu",
	    cf.nconns - cf.inflight, cf.opened, cf.closed, cf.failed);
	if (cf.status == NULL || (!force && strcmp(line, cf.last) == 0))
		return;
	snprintf(cf.last, sizeof(cf.last), "%s", line);
	snprintf(tmp, sizeof(tmp), "%.4000s.tmp", cf.status);
	f = fopen(tmp, "w");
	if (f == NULL)
		return;
	fprintf(f, "%s\n", line);
	if (fclose(f) == 0)
		rename(tmp, cf.status);
}

static void connflood_drop(size_t i)
{
	close(cf.conns[i].fd);
	if (cf.conns[i].connecting)
		cf.inflight--;
	cf.conns[i] = cf.conns[--cf.nconns];
}

/* Start one non-blocking connect; 1 when one was started or made, 0 to wait. */
static int connflood_open(void)
{
	struct connflood_conn *c;
	int fd, rc;

	fd = socket(cf.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		cf.failed++;
		return 0;
	}
	rc = connect(fd, (struct sockaddr *)&cf.addr, cf.addrlen);
	if (rc < 0 && errno != EINPROGRESS) {
		/* A Unix listener with a full backlog says EAGAIN: try again later. */
		if (errno != EAGAIN)
			cf.failed++;
		close(fd);
		return 0;
	}
	c = &cf.conns[cf.nconns++];
	c->fd = fd;
	c->sent = 0;
	c->connecting = rc < 0;
	if (c->connecting)
		cf.inflight++;
	else
		cf.opened++;
	return 1;
}

/* What poll said about connection i; 1 when it is gone. */
static int connflood_event(size_t i, short revents)
{
	struct connflood_conn *c = &cf.conns[i];
	char buf[4096];
	socklen_t len = sizeof(int);
	int err = 0;
	ssize_t n;

	if (c->connecting) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
			cf.failed++;
			connflood_drop(i);
			return 1;
		}
		c->connecting = 0;
		cf.inflight--;
		cf.opened++;
		return 0;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return 0;
	cf.closed++;
	connflood_drop(i);
	return 1;
}

/* One more byte of the payload on every established connection. */
static void connflood_drip(void)
{
	struct connflood_conn *c;
	size_t i;

	for (i = 0; i < cf.nconns; i++) {
		c = &cf.conns[i];
		if (c->connecting || c->sent >= cf.paylen)
			continue;
		if (send(c->fd, cf.payload + c->sent, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
			c->sent++;
	}
}

int main(int argc, char **argv)
{
	unsigned long seconds, drip_ms = 0;
	int refill = 0, until_closed = 0, a, n;
	uint64_t deadline, next_drip = 0, next_report = 0, now;
	struct rlimit rl;
	size_t i, started;

	if (argc < 4) {
		fprintf(stderr, "usage: connflood ADDR COUNT SECONDS [--refill] "
		    "[--until-closed] [--drip MS] [--payload hello|proxy] "
		    "[--status FILE]\n");
		return 1;
	}
	if (connflood_parse_addr(argv[1]) < 0) {
		fprintf(stderr, "connflood: bad address '%s': unix:PATH or "
		    "tcp:HOST:PORT\n", argv[1]);
		return 1;
	}
	cf.count = connflood_number("COUNT", argv[2], CONNFLOOD_MAX);
	seconds = connflood_number("SECONDS", argv[3], 600);
	if (connflood_payload("hello") < 0)
		return 1;
	for (a = 4; a < argc; a++) {
		if (strcmp(argv[a], "--refill") == 0)
			refill = 1;
		else if (strcmp(argv[a], "--until-closed") == 0)
			until_closed = 1;
		else if (strcmp(argv[a], "--drip") == 0 && a + 1 < argc)
			drip_ms = connflood_number("--drip", argv[++a], 60000);
		else if (strcmp(argv[a], "--payload") == 0 && a + 1 < argc) {
			if (connflood_payload(argv[++a]) < 0) {
				fprintf(stderr, "connflood: --payload: hello or proxy\n");
				return 1;
			}
		} else if (strcmp(argv[a], "--status") == 0 && a + 1 < argc)
			cf.status = argv[++a];
		else {
			fprintf(stderr, "connflood: unknown option %s\n", argv[a]);
			return 1;
		}
	}
	/* Like the daemon, use every descriptor this process may have. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGTERM, connflood_on_signal);
	signal(SIGINT, connflood_on_signal);
	signal(SIGPIPE, SIG_IGN);
	cf.conns = calloc(cf.count + 1, sizeof(*cf.conns));
	cf.pfds = calloc(cf.count + 1, sizeof(*cf.pfds));
	if (cf.conns == NULL || cf.pfds == NULL)
		return 1;

	deadline = connflood_now_ms() + seconds * 1000;
	while (!connflood_stop && (now = connflood_now_ms()) < deadline) {
		/* Open more, a burst at a time, never too many in flight. */
		for (started = 0; started < CONNFLOOD_BURST && cf.nconns < cf.count &&
		    cf.inflight < CONNFLOOD_INFLIGHT &&
		    (refill || cf.opened + cf.failed + cf.inflight < cf.count); started++)
			if (!connflood_open())
				break;
		if (until_closed && cf.nconns == 0 && cf.opened + cf.failed >= cf.count)
			break;
		if (drip_ms > 0 && now >= next_drip) {
			connflood_drip();
			next_drip = now + drip_ms;
		}
		if (now >= next_report) {
			connflood_report(0);
			next_report = now + 100;
		}
		for (i = 0; i < cf.nconns; i++) {
			cf.pfds[i].fd = cf.conns[i].fd;
			cf.pfds[i].events = cf.conns[i].connecting ? POLLOUT : POLLIN;
			cf.pfds[i].revents = 0;
		}
		n = poll(cf.pfds, cf.nconns, cf.nconns < cf.count ? 5 : 20);
		if (n <= 0)
			continue;
		/* Backwards, since a dropped connection takes the last one's place. */
		for (i = cf.nconns; i-- > 0;)
			if (cf.pfds[i].revents)
				connflood_event(i, cf.pfds[i].revents);
	}
	connflood_report(1);
	printf("open %zu opened %lu closed %lu failed %lu\n", cf.nconns - cf.inflight,
	    cf.opened, cf.closed, cf.failed);
	while (cf.nconns > 0)
		connflood_drop(cf.nconns - 1);
	free(cf.conns);
	free(cf.pfds);
	return 0;
}
