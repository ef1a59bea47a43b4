/*
 * probe: the client side of the throughput, keystroke and attach benchmarks.
 *
 *   probe tput VIA --control FIFO [--pty I] --bytes N [--timeout S] [--pids P,P]
 *   probe rtt VIA... [--count K] [--gap-us U] [--samples PREFIX]
 *   probe cpu --control FIFO --status FILE [--pty I] --bytes N --pids P,P
 *   probe attach VIA [--count K] [--samples FILE]
 *   probe takeover VIA [--count K] [--samples FILE]
 *
 * VIA is how the console is reached:
 *   pty:PATH                 the pty's slave, read directly (the physical limit)
 *   cb:unix:PATH:DOMAIN      conbrokerd over a Unix socket, speaking its protocol
 *   cb:tcp:HOST:PORT:DOMAIN  conbrokerd over TCP
 *   tcp:HOST:PORT            a raw byte relay (socat, ser2net)
 *   conman:HOST:PORT:NAME    conmand, joined read-write through its protocol
 *
 * tput asks vmside (through its control FIFO) to write N bytes to pty I and
 * times them from the request until the last byte has arrived here; it
 * reads and drops them, as a client writing to /dev/null.  rtt writes one
 * byte, which vmside echoes, and waits for it: K times, U microseconds
 * apart, on each VIA in turn (samples to PREFIX0.txt, PREFIX1.txt, ...).  cpu times an emit read by some other client (a real conbroker or
 * socat) and reports the CPU seconds the given processes used for it.
 * attach and takeover time conbrokerd sessions.  Each prints one line of
 * key=value pairs; every loop is bounded by a count and a time limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "proto/proto.h"

#define PROBE_BUF (256 * 1024)

enum probe_kind { PROBE_PTY, PROBE_CB, PROBE_RAW };

/* A connection to the console, and the frame parser state for cb. */
struct probe_conn {
	int fd;
	enum probe_kind kind;
	uint8_t hdr[PROTO_HDR_SIZE];
	size_t hdrlen;
	uint32_t left;     /* payload bytes of the current frame still to come */
	uint16_t type;
	uint64_t closed;   /* a CLOSED or ERROR frame was seen */
};

static double probe_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void probe_die(const char *what)
{
	fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int probe_connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "probe: socket path too long: %s\n", path);
		exit(2);
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		probe_die(path);
	return fd;
}

static int probe_connect_tcp(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int fd, one = 1;

	if (getaddrinfo(host, port, &hints, &ai) != 0) {
		fprintf(stderr, "probe: cannot resolve %s:%s\n", host, port);
		exit(1);
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		probe_die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	freeaddrinfo(ai);
	return fd;
}

static void probe_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			probe_die("write");
		p += n;
		len -= (size_t)n;
	}
}

static void probe_send(int fd, const struct proto_msg *m)
{
	uint8_t buf[1024];
	ssize_t n = proto_encode(m, buf, sizeof(buf));

	if (n < 0) {
		fprintf(stderr, "probe: cannot encode frame type %d\n", m->type);
		exit(1);
	}
	probe_write_all(fd, buf, (size_t)n);
}

/* Read one whole frame (blocking, bounded by a deadline); payload into buf. */
static int probe_frame(int fd, uint16_t *type, uint8_t *buf, size_t cap, double deadline)
{
	uint8_t hdr[PROTO_HDR_SIZE];
	uint32_t len;
	size_t got = 0, need = PROTO_HDR_SIZE;
	const char *why;
	uint8_t *dst = hdr;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int phase = 0;

	for (;;) {
		while (got < need) {
			double left = deadline - probe_now();

			if (left <= 0)
				return -ETIMEDOUT;
			if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
				continue;
			n = read(fd, dst + got, need - got);
			if (n == 0)
				return -EPIPE;
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			got += (size_t)n;
		}
		if (phase == 1)
			return (int)len;
		if (proto_decode_header(hdr, PROTO_HDR_SIZE, type, &len, &why) < 0 || len > cap) {
			fprintf(stderr, "probe: bad frame from the broker\n");
			exit(1);
		}
		if (len == 0)
			return 0;
		phase = 1;
		dst = buf;
		got = 0;
		need = len;
	}
}

/* HELLO, then OPEN; returns 0 once OPENED, or the ERROR code. */
static int probe_cb_open(int fd, const char *domain, uint32_t flags, double *t_open)
{
	struct proto_msg m;
	uint8_t buf[PROTO_MAX_PAYLOAD];
	uint16_t type;
	double deadline = probe_now() + 10;
	int n;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	m.u.hello.version = PROTO_VERSION;
	m.u.hello.software = proto_str("probe");
	probe_send(fd, &m);
	do {
		n = probe_frame(fd, &type, buf, sizeof(buf), deadline);
	} while (n >= 0 && type != PROTO_HELLO && type != PROTO_ERROR);
	if (n < 0 || type != PROTO_HELLO)
		return -1;
	if (t_open != NULL)
		*t_open = probe_now();
	memset(&m, 0, sizeof(m));
	m.type = PROTO_OPEN;
	m.u.open.domain = proto_str(domain);
	m.u.open.devname = proto_str("");
	m.u.open.flags = flags;
	m.u.open.rows = 24;
	m.u.open.cols = 80;
	probe_send(fd, &m);
	for (;;) {
		n = probe_frame(fd, &type, buf, sizeof(buf), deadline);
		if (n < 0)
			return -1;
		if (type == PROTO_OPENED)
			return 0;
		if (type == PROTO_ERROR) {
			struct proto_msg e;
			const char *why;

			if (proto_decode(type, buf, (size_t)n, &e, &why) == 0)
				fprintf(stderr, "probe: refused: %.*s\n", e.u.status.message.len,
				    e.u.status.message.ptr);
			return -1;
		}
	}
}

/*
 * conmand's client protocol, as its own client speaks it: "HELLO USER=..."
 * and "CONNECT OPTION=JOIN CONSOLE=...", each answered by a line starting
 * with OK; then the raw stream.
 */
static int probe_conman_open(int fd, const char *name)
{
	char line[512], reply[1024];
	size_t got = 0;
	ssize_t n;
	double deadline = probe_now() + 10;
	int step;

	for (step = 0; step < 2; step++) {
		if (step == 0)
			snprintf(line, sizeof(line), "HELLO USER='bench'\n");
		else
			snprintf(line, sizeof(line), "CONNECT OPTION=JOIN CONSOLE='%s'\n", name);
		probe_write_all(fd, line, strlen(line));
		got = 0;
		while (got == 0 || reply[got - 1] != '\n') {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			if (probe_now() > deadline || got >= sizeof(reply) - 1)
				return -1;
			if (poll(&pfd, 1, 100) <= 0)
				continue;
			n = read(fd, reply + got, 1); /* byte by byte: the stream follows */
			if (n <= 0)
				return -1;
			got += (size_t)n;
		}
		reply[got] = '\0';
		if (strncmp(reply, "OK", 2) != 0) {
			fprintf(stderr, "probe: conmand said: %s", reply);
			return -1;
		}
	}
	return 0;
}

static void probe_raw_mode(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
}

/* Open VIA; flags are OPEN flags for cb. */
static void probe_open(struct probe_conn *c, const char *via, uint32_t flags)
{
	char *spec = strdup(via), *a, *b, *d;

	memset(c, 0, sizeof(*c));
	if (strncmp(spec, "pty:", 4) == 0) {
		c->kind = PROBE_PTY;
		c->fd = open(spec + 4, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (c->fd < 0)
			probe_die(spec + 4);
		probe_raw_mode(c->fd);
	} else if (strncmp(spec, "cb:unix:", 8) == 0) {
		c->kind = PROBE_CB;
		a = spec + 8;
		d = strrchr(a, ':');
		*d++ = '\0';
		c->fd = probe_connect_unix(a);
		if (probe_cb_open(c->fd, d, flags, NULL) < 0)
			exit(1);
	} else if (strncmp(spec, "cb:tcp:", 7) == 0) {
		c->kind = PROBE_CB;
		a = spec + 7;
		b = strchr(a, ':');
		*b++ = '\0';
		d = strchr(b, ':');
		*d++ = '\0';
		c->fd = probe_connect_tcp(a, b);
		if (probe_cb_open(c->fd, d, flags, NULL) < 0)
			exit(1);
	} else if (strncmp(spec, "tcp:", 4) == 0) {
		c->kind = PROBE_RAW;
		a = spec + 4;
		b = strrchr(a, ':');
		*b++ = '\0';
		c->fd = probe_connect_tcp(a, b);
	} else if (strncmp(spec, "conman:", 7) == 0) {
		c->kind = PROBE_RAW;
		a = spec + 7;
		b = strchr(a, ':');
		*b++ = '\0';
		d = strchr(b, ':');
		*d++ = '\0';
		c->fd = probe_connect_tcp(a, b);
		if (probe_conman_open(c->fd, d) < 0)
			exit(1);
	} else {
		fprintf(stderr, "probe: unknown VIA '%s'\n", via);
		exit(2);
	}
	free(spec);
}

/* Console bytes in a read of n bytes: all of them, or DATA payloads for cb. */
static size_t probe_consume(struct probe_conn *c, const uint8_t *p, size_t n)
{
	size_t data = 0, take;
	uint32_t len;
	const char *why;

	if (c->kind != PROBE_CB)
		return n;
	while (n > 0) {
		if (c->left > 0) {
			take = n < c->left ? n : c->left;
			if (c->type == PROTO_DATA)
				data += take;
			c->left -= (uint32_t)take;
			p += take;
			n -= take;
			continue;
		}
		take = PROTO_HDR_SIZE - c->hdrlen;
		if (take > n)
			take = n;
		memcpy(c->hdr + c->hdrlen, p, take);
		c->hdrlen += take;
		p += take;
		n -= take;
		if (c->hdrlen < PROTO_HDR_SIZE)
			break;
		c->hdrlen = 0;
		if (proto_decode_header(c->hdr, PROTO_HDR_SIZE, &c->type, &len, &why) < 0) {
			fprintf(stderr, "probe: bad frame: %s\n", why);
			exit(1);
		}
		if (c->type == PROTO_CLOSED || c->type == PROTO_ERROR)
			c->closed++;
		c->left = len;
	}
	return data;
}

/* Write one byte of input to the console. */
static void probe_key(struct probe_conn *c, uint8_t ch)
{
	uint8_t frame[PROTO_HDR_SIZE + 1];

	if (c->kind != PROBE_CB) {
		probe_write_all(c->fd, &ch, 1);
		return;
	}
	proto_encode_header(frame, PROTO_DATA, 1);
	frame[PROTO_HDR_SIZE] = ch;
	probe_write_all(c->fd, frame, sizeof(frame));
}

static double probe_pids_cpu(const char *pids)
{
	char *copy, *tok, *save = NULL;
	double sum = 0;

	if (pids == NULL)
		return 0;
	copy = strdup(pids);
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		sum += bench_proc_cpu(atol(tok));
	free(copy);
	return sum;
}

static void probe_control(const char *fifo, const char *cmd)
{
	int fd = open(fifo, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		probe_die(fifo);
	probe_write_all(fd, cmd, strlen(cmd));
	close(fd);
}

struct probe_opts {
	const char *via, *control, *status, *pids, *samples;
	int pty, count, gap_us;
	uint64_t bytes;
	double timeout;
};

static int probe_tput(const struct probe_opts *o)
{
	struct probe_conn c;
	static uint8_t buf[PROBE_BUF];
	char cmd[128];
	uint64_t got = 0;
	double t0, t1, cpu0, cpu1, deadline;
	struct pollfd pfd;
	ssize_t n;

	probe_open(&c, o->via, PROTO_OPEN_NOHISTORY);
	cpu0 = probe_pids_cpu(o->pids);
	snprintf(cmd, sizeof(cmd), "emit %d %llu\n", o->pty, (unsigned long long)o->bytes);
	t0 = probe_now();
	probe_control(o->control, cmd);
	deadline = t0 + o->timeout;
	pfd.fd = c.fd;
	pfd.events = POLLIN;
	while (got < o->bytes && probe_now() < deadline) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(c.fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += probe_consume(&c, buf, (size_t)n);
	}
	t1 = probe_now();
	cpu1 = probe_pids_cpu(o->pids);
	probe_control(o->control, "stop\n");
	printf("bytes=%llu secs=%.6f mibps=%.2f relay_cpu_s=%.3f complete=%d\n",
	    (unsigned long long)got, t1 - t0, (double)got / (t1 - t0) / 1048576.0,
	    cpu1 - cpu0, got >= o->bytes);
	close(c.fd);
	return got > 0 ? 0 : 1;
}

static void probe_report(const char *what, double *us, int n, const char *samples)
{
	double sum = 0;
	int i;

	if (samples != NULL) {
		FILE *f = fopen(samples, "w");

		for (i = 0; f != NULL && i < n; i++)
			fprintf(f, "%.2f\n", us[i]);
		if (f != NULL)
			fclose(f);
	}
	if (n == 0) {
		printf("%sn=0\n", what);
		return;
	}
	for (i = 0; i < n; i++)
		sum += us[i];
	qsort(us, (size_t)n, sizeof(*us), bench_cmp_double);
	printf("%sn=%d %sp50_us=%.1f %sp90_us=%.1f %sp99_us=%.1f %sp999_us=%.1f %smean_us=%.1f"
	    " %smax_us=%.1f\n", what, n, what, bench_percentile(us, n, 50), what, bench_percentile(us, n, 90),
	    what, bench_percentile(us, n, 99), what, bench_percentile(us, n, 99.9), what, sum / n, what, us[n - 1]);
}

/* One key on c and its echo; returns the round trip in µs, or -1. */
static double probe_one_key(struct probe_conn *c, uint8_t ch)
{
	uint8_t buf[4096];
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	double t0 = probe_now(), deadline = t0 + 2;
	size_t got = 0;
	ssize_t n;

	probe_key(c, ch);
	while (got == 0 && probe_now() < deadline) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(c->fd, buf, sizeof(buf));
		if (n <= 0)
			return -1;
		got = probe_consume(c, buf, (size_t)n);
	}
	return got > 0 ? (probe_now() - t0) * 1e6 : -1;
}

/*
 * Keys on every VIA in turn, one key each per round, so that every path is
 * measured over the same seconds of the same machine: a noisy neighbour
 * then weighs on all of them alike.  One result line per VIA, in order.
 */
static int probe_rtt(const struct probe_opts *o, char **vias, int nvias)
{
	struct probe_conn *c = calloc((size_t)nvias, sizeof(*c));
	double **us = calloc((size_t)nvias, sizeof(double *)), rt;
	double limit = probe_now() + o->timeout;
	uint8_t buf[4096];
	char path[4096];
	struct pollfd pfd;
	int i, j, k = 0, warm = 50, bad = 0;

	for (j = 0; j < nvias; j++) {
		us[j] = calloc((size_t)o->count, sizeof(double));
		probe_open(&c[j], vias[j], PROTO_OPEN_NOHISTORY);
		/* Let whatever the attach produced drain first. */
		pfd.fd = c[j].fd;
		pfd.events = POLLIN;
		while (poll(&pfd, 1, 50) > 0 && read(c[j].fd, buf, sizeof(buf)) > 0)
			;
	}
	for (i = 0; i < o->count + warm && probe_now() < limit && !bad; i++) {
		for (j = 0; j < nvias && !bad; j++) {
			rt = probe_one_key(&c[j], (uint8_t)('a' + i % 26));
			if (rt < 0) {
				fprintf(stderr, "probe: no echo within 2 s on %s\n", vias[j]);
				bad = 1;
			} else if (i >= warm) {
				us[j][k] = rt;
			}
			if (o->gap_us > 0)
				usleep((useconds_t)o->gap_us);
		}
		if (i >= warm && !bad)
			k++;
	}
	for (j = 0; j < nvias; j++) {
		if (o->samples != NULL)
			snprintf(path, sizeof(path), "%s%d.txt", o->samples, j);
		probe_report("", us[j], k, o->samples ? path : NULL);
		close(c[j].fd);
		free(us[j]);
	}
	free(us);
	free(c);
	return k > 0 ? 0 : 1;
}

/* Wait for vmside's "emitted" line for pty i; returns its seconds. */
static double probe_wait_emitted(const char *status, int pty, double deadline)
{
	char line[256], want[32];
	double secs = -1;
	FILE *f;

	snprintf(want, sizeof(want), "emitted %d ", pty);
	while (probe_now() < deadline) {
		f = fopen(status, "r");
		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, want, strlen(want)) == 0)
				sscanf(line + strlen(want), "%*s %lf", &secs);
		if (f != NULL)
			fclose(f);
		if (secs >= 0)
			return secs;
		usleep(2000);
	}
	return -1;
}

static int probe_cpu(const struct probe_opts *o)
{
	char cmd[128];
	double cpu0, cpu1, prev, secs;
	int i;

	unlink(o->status);
	cpu0 = probe_pids_cpu(o->pids);
	snprintf(cmd, sizeof(cmd), "emit %d %llu\n", o->pty, (unsigned long long)o->bytes);
	probe_control(o->control, cmd);
	secs = probe_wait_emitted(o->status, o->pty, probe_now() + o->timeout);
	/* The last bytes are still on their way: wait until the CPU settles. */
	prev = -1;
	cpu1 = probe_pids_cpu(o->pids);
	for (i = 0; i < 40 && cpu1 != prev; i++) {
		usleep(100000);
		prev = cpu1;
		cpu1 = probe_pids_cpu(o->pids);
	}
	printf("bytes=%llu secs=%.6f mibps=%.2f cpu_s=%.3f cpu_s_per_gib=%.3f complete=%d\n",
	    (unsigned long long)o->bytes, secs, secs > 0 ? (double)o->bytes / secs / 1048576.0 : 0,
	    cpu1 - cpu0, (cpu1 - cpu0) * 1073741824.0 / (double)o->bytes, secs > 0);
	return secs > 0 ? 0 : 1;
}

static void probe_split_cb(const char *via, int *tcp, char *addr, size_t alen,
    char *port, char *domain)
{
	char *spec = strdup(via), *a, *d, *b;

	*tcp = strncmp(spec, "cb:tcp:", 7) == 0;
	if (!*tcp && strncmp(spec, "cb:unix:", 8) != 0) {
		fprintf(stderr, "probe: attach and takeover need a cb: VIA\n");
		exit(2);
	}
	a = spec + (*tcp ? 7 : 8);
	d = strrchr(a, ':');
	*d++ = '\0';
	strcpy(domain, d);
	if (*tcp) {
		b = strchr(a, ':');
		*b++ = '\0';
		strcpy(port, b);
	}
	snprintf(addr, alen, "%s", a);
	free(spec);
}

static int probe_cb_connect(int tcp, const char *addr, const char *port)
{
	return tcp ? probe_connect_tcp(addr, port) : probe_connect_unix(addr);
}

/* Drain what a connection sent until it closes or the deadline. */
static int probe_wait_closed(int fd, double deadline)
{
	uint8_t buf[PROTO_MAX_PAYLOAD];
	uint16_t type;
	int n;

	for (;;) {
		n = probe_frame(fd, &type, buf, sizeof(buf), deadline);
		if (n < 0)
			return n == -EPIPE ? 0 : n;
		if (type == PROTO_CLOSED)
			return 0;
	}
}

/* attach: connect, HELLO, OPEN, OPENED, then DETACH; takeover: FORCE over a writer. */
static int probe_sessions(const struct probe_opts *o, int takeover)
{
	char addr[256], port[32] = "", domain[256];
	double *full = calloc((size_t)o->count, sizeof(double));
	double *open_us = calloc((size_t)o->count, sizeof(double));
	double *evict = calloc((size_t)o->count, sizeof(double));
	double t0, topen, t1, limit = probe_now() + o->timeout;
	int tcp, i, k = 0, fd, old = -1;
	struct proto_msg m;

	probe_split_cb(o->via, &tcp, addr, sizeof(addr), port, domain);
	if (takeover) {
		old = probe_cb_connect(tcp, addr, port);
		if (probe_cb_open(old, domain, 0, NULL) < 0)
			return 1;
	}
	for (i = 0; i < o->count && probe_now() < limit; i++) {
		t0 = probe_now();
		fd = probe_cb_connect(tcp, addr, port);
		if (probe_cb_open(fd, domain, takeover ? PROTO_OPEN_FORCE : 0, &topen) < 0)
			return 1;
		t1 = probe_now();
		full[k] = (t1 - t0) * 1e6;
		open_us[k] = (t1 - topen) * 1e6;
		if (takeover) {
			/* The evicted writer has its notice and CLOSED by now, or soon. */
			if (probe_wait_closed(old, probe_now() + 5) < 0)
				fprintf(stderr, "probe: the evicted writer was not told\n");
			evict[k] = (probe_now() - topen) * 1e6;
			close(old);
			old = fd;
		} else {
			memset(&m, 0, sizeof(m));
			m.type = PROTO_DETACH;
			probe_send(fd, &m);
			probe_wait_closed(fd, probe_now() + 5);
			close(fd);
		}
		k++;
	}
	if (old >= 0)
		close(old);
	probe_report("full_", full, k, NULL);
	probe_report("open_", open_us, k, o->samples);
	if (takeover)
		probe_report("evicted_", evict, k, NULL);
	return k > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "control", required_argument, NULL, 'c' },
		{ "status", required_argument, NULL, 's' },
		{ "pty", required_argument, NULL, 'i' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "pids", required_argument, NULL, 'P' },
		{ "count", required_argument, NULL, 'n' },
		{ "gap-us", required_argument, NULL, 'g' },
		{ "samples", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	struct probe_opts o = { .count = 2000, .gap_us = 200, .timeout = 30 };
	const char *mode;
	int opt;

	if (argc < 2) {
		fprintf(stderr, "usage: probe tput|rtt|cpu|attach|takeover [VIA] [options]\n");
		return 2;
	}
	mode = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': o.control = optarg; break;
		case 's': o.status = optarg; break;
		case 'i': o.pty = atoi(optarg); break;
		case 'b': o.bytes = strtoull(optarg, NULL, 10); break;
		case 't': o.timeout = atof(optarg); break;
		case 'P': o.pids = optarg; break;
		case 'n': o.count = atoi(optarg); break;
		case 'g': o.gap_us = atoi(optarg); break;
		case 'S': o.samples = optarg; break;
		default: return 2;
		}
	}
	if (optind < argc)
		o.via = argv[optind];
	if (strcmp(mode, "cpu") == 0)
		return o.control && o.status && o.bytes ? probe_cpu(&o) : 2;
	if (o.via == NULL) {
		fprintf(stderr, "probe: %s needs VIA\n", mode);
		return 2;
	}
	if (strcmp(mode, "tput") == 0)
		return o.control && o.bytes ? probe_tput(&o) : 2;
	if (strcmp(mode, "rtt") == 0)
		return probe_rtt(&o, argv + optind, argc - optind);
	if (strcmp(mode, "attach") == 0)
		return probe_sessions(&o, 0);
	if (strcmp(mode, "takeover") == 0)
		return probe_sessions(&o, 1);
	fprintf(stderr, "probe: unknown mode %s\n", mode);
	return 2;
}
