/*
 * rawpeer: a broker client that says exactly what a test tells it to, well
 * formed or not, in the role of a buggy, hostile or vanishing peer.
 *
 *   rawpeer SOCKET STEP...
 *
 * It connects to the broker's Unix socket, prints "pid N" (the PID the broker
 * sees and logs), then runs the steps in order:
 *
 *   hello [VERSION]       send a HELLO frame (default: this build's version)
 *   open DOMAIN           send an OPEN of DOMAIN's default console, read-write
 *   frame TYPE [HEX]      send a frame of numeric TYPE with the payload HEX
 *   header LEN TYPE       send only a frame header that announces LEN bytes
 *   raw HEX               send these bytes as they are
 *   expect TYPE SECONDS   read frames until one of numeric TYPE arrives
 *   eof SECONDS           read frames until the broker closes the connection
 *
 * Every frame received is printed as "< NAME" with its fields; the end of the
 * connection as "eof".  A step that fails prints why ("timeout", "write
 * failed: ...") and ends the program with status 1.  After the last step the
 * program exits at once, which closes the connection wherever it stands,
 * even in the middle of a frame.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"

static int rawpeer_fd = -1;
static struct proto_reader rawpeer_reader;

static uint64_t rawpeer_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Send bytes; a broker that already dropped us makes this fail. */
static int rawpeer_send(const void *data, size_t len)
{
	const uint8_t *p = data;
	ssize_t n;

	while (len > 0) {
		n = send(rawpeer_fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			printf("write failed: %s\n", strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Hex text ("0003766d31") to bytes; returns the count or -1. */
static ssize_t rawpeer_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned int b;

	while (hex[0] != '\0') {
		if (hex[1] == '\0' || n == cap || sscanf(hex, "%2x", &b) != 1)
			return -1;
		out[n++] = (uint8_t)b;
		hex += 2;
	}
	return (ssize_t)n;
}

static int rawpeer_send_msg(const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_FRAME];
	ssize_t n = proto_encode(m, buf, sizeof(buf));

	if (n < 0) {
		printf("cannot encode: %s\n", strerror((int)-n));
		return -1;
	}
	return rawpeer_send(buf, (size_t)n);
}

/* One received frame, as a line a test can match. */
static void rawpeer_print(const struct proto_msg *m)
{
	switch (m->type) {
	case PROTO_HELLO:
		printf("< HELLO version=%u heartbeat_ms=%u\n", m->u.hello.version,
		    m->u.hello.heartbeat_ms);
		break;
	case PROTO_ERROR:
	case PROTO_CLOSED:
		printf("< %s code=%u %.*s\n", proto_type_name((uint16_t)m->type),
		    m->u.status.code, m->u.status.message.len, m->u.status.message.ptr);
		break;
	case PROTO_NOTICE:
		printf("< NOTICE kind=%u count=%llu %.*s\n", m->u.notice.kind,
		    (unsigned long long)m->u.notice.count, m->u.notice.text.len,
		    m->u.notice.text.ptr);
		break;
	case PROTO_DATA:
		printf("< DATA %zu\n", m->u.data.len);
		break;
	default:
		printf("< %s\n", proto_type_name((uint16_t)m->type));
		break;
	}
}

/*
 * Read and print frames until one of type want arrives (want > 0), or until
 * the broker closes the connection (want == 0).  Returns 0 on success.
 */
static int rawpeer_read_until(int want, unsigned seconds)
{
	uint64_t deadline = rawpeer_now_ms() + (uint64_t)seconds * 1000;
	struct pollfd pfd = { .fd = rawpeer_fd, .events = POLLIN };
	struct proto_msg m;
	const char *why = "malformed frame";
	size_t room;
	uint8_t *space;
	uint64_t now;
	ssize_t n;
	int r;

	for (;;) {
		while ((r = proto_reader_next(&rawpeer_reader, &m, &why)) != 0) {
			if (r < 0) {
				printf("bad frame from the broker: %s\n", why);
				return -1;
			}
			rawpeer_print(&m);
			if (want > 0 && m.type == (enum proto_type)want)
				return 0;
		}
		now = rawpeer_now_ms();
		if (now >= deadline) {
			printf("timeout\n");
			return -1;
		}
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		space = proto_reader_space(&rawpeer_reader, &room);
		if (space == NULL)
			return -1;
		n = recv(rawpeer_fd, space, room, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				printf("read failed: %s\n", strerror(errno));
			printf("eof\n");
			return want == 0 ? 0 : -1;
		}
		proto_reader_commit(&rawpeer_reader, (size_t)n);
	}
}

/* Run the step at argv[i]; returns how many arguments it used, or -1. */
static int rawpeer_step(int argc, char **argv, int i)
{
	static uint8_t payload[PROTO_MAX_FRAME];
	const char *op = argv[i];
	struct proto_msg m;
	uint8_t hdr[PROTO_HDR_SIZE];
	ssize_t n = 0;
	int more = argc - i - 1;

	memset(&m, 0, sizeof(m));
	if (strcmp(op, "hello") == 0) {
		m.type = PROTO_HELLO;
		m.u.hello.version = PROTO_VERSION;
		m.u.hello.software = proto_str("rawpeer");
		if (more >= 1 && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9') {
			m.u.hello.version = (uint32_t)strtoul(argv[i + 1], NULL, 10);
			return rawpeer_send_msg(&m) < 0 ? -1 : 2;
		}
		return rawpeer_send_msg(&m) < 0 ? -1 : 1;
	}
	if (strcmp(op, "open") == 0 && more >= 1) {
		m.type = PROTO_OPEN;
		m.u.open.domain = proto_str(argv[i + 1]);
		m.u.open.devname = proto_str("");
		m.u.open.flags = PROTO_OPEN_NOHISTORY;
		return rawpeer_send_msg(&m) < 0 ? -1 : 2;
	}
	if (strcmp(op, "frame") == 0 && more >= 1) {
		int used = 2;

		if (more >= 2) {
			n = rawpeer_unhex(argv[i + 2], payload, sizeof(payload));
			used = 3;
		}
		if (n < 0)
			return -1;
		proto_encode_header(hdr, (uint16_t)strtoul(argv[i + 1], NULL, 10), (uint32_t)n);
		if (rawpeer_send(hdr, sizeof(hdr)) < 0 || rawpeer_send(payload, (size_t)n) < 0)
			return -1;
		return used;
	}
	if (strcmp(op, "header") == 0 && more >= 2) {
		proto_encode_header(hdr, (uint16_t)strtoul(argv[i + 2], NULL, 10),
		    (uint32_t)strtoul(argv[i + 1], NULL, 10));
		return rawpeer_send(hdr, sizeof(hdr)) < 0 ? -1 : 3;
	}
	if (strcmp(op, "raw") == 0 && more >= 1) {
		n = rawpeer_unhex(argv[i + 1], payload, sizeof(payload));
		if (n < 0 || rawpeer_send(payload, (size_t)n) < 0)
			return -1;
		return 2;
	}
	if (strcmp(op, "expect") == 0 && more >= 2)
		return rawpeer_read_until((int)strtol(argv[i + 1], NULL, 10),
		    (unsigned)strtoul(argv[i + 2], NULL, 10)) < 0 ? -1 : 3;
	if (strcmp(op, "eof") == 0 && more >= 1)
		return rawpeer_read_until(0, (unsigned)strtoul(argv[i + 1], NULL, 10)) < 0 ?
		    -1 : 2;
	printf("bad step '%s'\n", op);
	return -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa;
	int i, used;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		fprintf(stderr, "usage: rawpeer SOCKET STEP...\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "rawpeer: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	rawpeer_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rawpeer_fd < 0 || connect(rawpeer_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("cannot connect to %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	proto_reader_init(&rawpeer_reader);
	printf("pid %d\n", (int)getpid());
	for (i = 2; i < argc; i += used) {
		used = rawpeer_step(argc, argv, i);
		if (used < 0) {
			proto_reader_free(&rawpeer_reader);
			return 1;
		}
	}
	proto_reader_free(&rawpeer_reader);
	return 0;
}
