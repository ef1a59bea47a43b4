/*
 * proxyclient: the connection a TLS-terminating proxy (haproxy
 * send-proxy-v2-ssl-cn, stunnel protocol = proxy) makes to the broker, with
 * whatever PROXY header a test tells it to claim, then a plain relay.
 *
 *   proxyclient HOST PORT [OPTION...]
 *
 *   --src ADDR     the client address the header claims (default 192.0.2.1;
 *                  an address with ':' makes a TCP6 header)
 *   --src-port N   the client port it claims (default 40000)
 *   --cn NAME      add an SSL TLV: the client came over TLS with a certificate
 *                  whose CN is NAME, sent on this connection
 *   --verify N     the SSL TLV's verify result (default 0: verified)
 *   --no-cert      the client flags say no certificate came on this connection
 *   --v1           a version 1 text line instead (no TLS information)
 *   --local        a version 2 LOCAL header (the proxy's own health check)
 *   --none         no header at all
 *   --length N     put N in the v2 length field, whatever the header holds
 *   --cut N        send only the first N bytes of the header, then close
 *   --drip MS      send the header one byte every MS milliseconds
 *
 * After the header, stdin goes to the broker and the broker's bytes to
 * stdout, so that `conbroker -c 'ext:proxyclient ...'` speaks through it.  At
 * the end of stdin the sending half is shut down; the program ends when the
 * broker closes the connection.  Errors go to stderr, exit status 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROXYCLIENT_MAX 1024

struct proxyclient_opts {
	const char *host, *port, *src, *cn;
	unsigned src_port;
	unsigned long verify;
	int no_cert, v1, local, none, drip_ms;
	long length, cut; /* -1: not given */
};

static const uint8_t proxyclient_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static void proxyclient_put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void proxyclient_put32(uint8_t *p, unsigned long v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A TLV of type, value; returns the bytes written at p. */
static size_t proxyclient_tlv(uint8_t *p, uint8_t type, const void *v, size_t n)
{
	p[0] = type;
	proxyclient_put16(p + 1, (unsigned)n);
	memcpy(p + 3, v, n);
	return 3 + n;
}

/* The version 2 header the options describe; its length, or -1. */
static long proxyclient_v2(const struct proxyclient_opts *o, uint8_t *buf)
{
	int family = strchr(o->src, ':') ? AF_INET6 : AF_INET;
	size_t alen = family == AF_INET ? 4 : 16, off = 16;
	uint8_t src[16], dst[16], ssl[PROXYCLIENT_MAX / 2];
	size_t sslen = 5;

	memcpy(buf, proxyclient_sig, 12);
	buf[12] = o->local ? 0x20 : 0x21;
	if (o->local) {
		buf[13] = 0x00;
		proxyclient_put16(buf + 14, o->length >= 0 ? (unsigned)o->length : 0);
		return 16;
	}
	if (inet_pton(family, o->src, src) != 1 ||
	    inet_pton(family, family == AF_INET ? "127.0.0.1" : "::1", dst) != 1) {
		fprintf(stderr, "proxyclient: bad --src address '%s'\n", o->src);
		return -1;
	}
	buf[13] = family == AF_INET ? 0x11 : 0x21;
	memcpy(buf + off, src, alen);
	memcpy(buf + off + alen, dst, alen);
	off += 2 * alen;
	proxyclient_put16(buf + off, o->src_port);
	proxyclient_put16(buf + off + 2, 7780);
	off += 4;
	if (o->cn != NULL) {
		if (strlen(o->cn) > 255) {
			fprintf(stderr, "proxyclient: --cn is too long\n");
			return -1;
		}
		ssl[0] = 0x01 | (o->no_cert ? 0 : 0x02); /* PP2_CLIENT_SSL, CERT_CONN */
		proxyclient_put32(ssl + 1, o->verify);
		sslen += proxyclient_tlv(ssl + sslen, 0x21, "TLSv1.3", 7);
		sslen += proxyclient_tlv(ssl + sslen, 0x22, o->cn, strlen(o->cn));
		off += proxyclient_tlv(buf + off, 0x20, ssl, sslen);
	}
	proxyclient_put16(buf + 14, o->length >= 0 ? (unsigned)o->length
	    : (unsigned)(off - 16));
	return (long)off;
}

/* The version 1 line the options describe; its length, or -1. */
static long proxyclient_v1(const struct proxyclient_opts *o, uint8_t *buf)
{
	int six = strchr(o->src, ':') != NULL;
	int n;

	if (o->local)
		n = snprintf((char *)buf, PROXYCLIENT_MAX, "PROXY UNKNOWN\r\n");
	else
		n = snprintf((char *)buf, PROXYCLIENT_MAX, "PROXY %s %s %s %u 7780\r\n",
		    six ? "TCP6" : "TCP4", o->src, six ? "::1" : "127.0.0.1",
		    o->src_port);
	return n > 0 && n < PROXYCLIENT_MAX ? n : -1;
}

static int proxyclient_send(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "proxyclient: send: %s\n", strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int proxyclient_connect(const char *host, const char *port)
{
	struct addrinfo hints, *ai = NULL, *a;
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "proxyclient: %s:%s: %s\n", host, port, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		fprintf(stderr, "proxyclient: cannot connect to %s:%s: %s\n", host,
		    port, strerror(errno));
	freeaddrinfo(ai);
	return fd;
}

/* stdin to the broker, the broker to stdout, until the broker closes. */
static int proxyclient_relay(int fd)
{
	struct pollfd pfd[2];
	uint8_t buf[65536];
	int in_open = 1;
	ssize_t n;

	for (;;) {
		pfd[0].fd = in_open ? 0 : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pfd[1].revents) {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0)
				return 0;
			if (write(1, buf, (size_t)n) != n)
				return 0;
		}
		if (in_open && pfd[0].revents) {
			n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				shutdown(fd, SHUT_WR);
				in_open = 0;
			} else if (proxyclient_send(fd, buf, (size_t)n) < 0) {
				return 1;
			}
		}
	}
}

static long proxyclient_number(const char *opt, const char *text, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || end == text || v < 0 || v > max) {
		fprintf(stderr, "proxyclient: %s: not a number from 0 to %ld: %s\n",
		    opt, max, text);
		exit(1);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct proxyclient_opts o = { .src = "192.0.2.1", .src_port = 40000,
	    .length = -1, .cut = -1 };
	struct timespec ts;
	uint8_t hdr[PROXYCLIENT_MAX];
	long len = 0, i;
	int fd, a;

	if (argc < 3) {
		fprintf(stderr, "usage: proxyclient HOST PORT [--src ADDR] [--src-port N]"
		    " [--cn NAME] [--verify N] [--no-cert] [--v1] [--local] [--none]"
		    " [--length N] [--cut N] [--drip MS]\n");
		return 1;
	}
	o.host = argv[1];
	o.port = argv[2];
	for (a = 3; a < argc; a++) {
		const char *arg = argv[a], *val = a + 1 < argc ? argv[a + 1] : NULL;

		if (strcmp(arg, "--no-cert") == 0)
			o.no_cert = 1;
		else if (strcmp(arg, "--v1") == 0)
			o.v1 = 1;
		else if (strcmp(arg, "--local") == 0)
			o.local = 1;
		else if (strcmp(arg, "--none") == 0)
			o.none = 1;
		else if (val == NULL) {
			fprintf(stderr, "proxyclient: %s: unknown or missing its value\n", arg);
			return 1;
		} else if (strcmp(arg, "--src") == 0)
			o.src = val, a++;
		else if (strcmp(arg, "--src-port") == 0)
			o.src_port = (unsigned)proxyclient_number(arg, val, 65535), a++;
		else if (strcmp(arg, "--cn") == 0)
			o.cn = val, a++;
		else if (strcmp(arg, "--verify") == 0)
			o.verify = (unsigned long)proxyclient_number(arg, val, 0x7fffffff), a++;
		else if (strcmp(arg, "--length") == 0)
			o.length = proxyclient_number(arg, val, 65535), a++;
		else if (strcmp(arg, "--cut") == 0)
			o.cut = proxyclient_number(arg, val, PROXYCLIENT_MAX), a++;
		else if (strcmp(arg, "--drip") == 0)
			o.drip_ms = (int)proxyclient_number(arg, val, 60000), a++;
		else {
			fprintf(stderr, "proxyclient: unknown option %s\n", arg);
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (!o.none) {
		len = o.v1 ? proxyclient_v1(&o, hdr) : proxyclient_v2(&o, hdr);
		if (len < 0)
			return 1;
	}
	if (o.cut >= 0 && o.cut < len)
		len = o.cut;
	fd = proxyclient_connect(o.host, o.port);
	if (fd < 0)
		return 1;
	for (i = 0; o.drip_ms > 0 && i < len; i++) {
		if (proxyclient_send(fd, hdr + i, 1) < 0)
			return 1;
		ts.tv_sec = o.drip_ms / 1000;
		ts.tv_nsec = (long)(o.drip_ms % 1000) * 1000000;
		nanosleep(&ts, NULL);
	}
	if (o.drip_ms == 0 && len > 0 && proxyclient_send(fd, hdr, (size_t)len) < 0)
		return 1;
	if (o.cut >= 0) {
		close(fd);
		return 0;
	}
	return proxyclient_relay(fd);
}
