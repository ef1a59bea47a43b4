/*
 * vmside: the hypervisor's side of many console ptys, for the benchmarks.
 *
 * Like QEMU's pty chardev it allocates ptys in raw mode and writes to their
 * masters; unlike the test helper it holds thousands of them in one process
 * (epoll, so that one interactive pty among 4,000 costs no more than one
 * alone), and writes as fast as the ptys take bytes.
 *
 *   vmside --count N --paths FILE --control FIFO [--status FILE] [--echo]
 *
 * FILE gets one /dev/pts path per line, written once every pty is ready.
 * Each slave is kept open (O_NOCTTY) so that the master never reports a
 * hangup while no console program has the device open.
 *
 * Control commands, one per line:
 *   emit I N             write N bytes to pty I as fast as it takes them;
 *                        "emitted I N SECONDS" goes to the status file
 *   stream FIRST K BPS   ptys FIRST..FIRST+K-1 each write BPS bytes a second
 *                        (in 10 ms slices) until "stop"
 *   stop                 end every emit and stream
 *   echo 0|1             write back whatever the console sends
 *   flush I              discard what pty I holds in both directions
 *   quit                 exit
 * Every run ends by itself: an emit ends when its bytes are written, and the
 * process exits on SIGTERM, on "quit", or after --lifetime seconds (600).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define VMSIDE_CHUNK (64 * 1024)
#define VMSIDE_TICK_MS 10

struct vmside_pty {
	int master, slave;
	uint64_t emit_left;     /* bytes of the current emit still to write */
	uint64_t emit_total;
	double emit_start;
	uint32_t stream_bps;    /* 0: not streaming */
	uint64_t stream_debt;   /* bytes owed by the stream pacing */
	int want_out;           /* EPOLLOUT is armed */
};

static struct vmside_pty *ptys;
static int nptys, epfd, echo_on, nstreaming;
static const char *status_path;
static uint8_t pattern[VMSIDE_CHUNK];
static volatile sig_atomic_t vmside_stop;

static double vmside_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void vmside_on_term(int sig)
{
	(void)sig;
	vmside_stop = 1;
}

/* One status line, appended and flushed at once so a waiter sees it whole. */
static void vmside_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vmside_status(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd, n;

	if (status_path == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	buf[n++] = '\n';
	fd = open(status_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		if (write(fd, buf, (size_t)n) < 0)
			perror("vmside: status");
		close(fd);
	}
}

/* Arm or disarm EPOLLOUT for a pty with output pending. */
static void vmside_want_out(int i, int on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u32 = (uint32_t)i };

	if (ptys[i].want_out == on)
		return;
	ptys[i].want_out = on;
	epoll_ctl(epfd, EPOLL_CTL_MOD, ptys[i].master, &ev);
}

/* Write as much of the emit as the pty takes now. */
static void vmside_emit_some(int i)
{
	struct vmside_pty *p = &ptys[i];
	ssize_t n;

	while (p->emit_left > 0) {
		size_t len = p->emit_left > VMSIDE_CHUNK ? VMSIDE_CHUNK : (size_t)p->emit_left;

		n = write(p->master, pattern, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				p->emit_left = 0;
			break;
		}
		p->emit_left -= (uint64_t)n;
	}
	if (p->emit_left == 0 && p->emit_total > 0) {
		vmside_status("emitted %d %llu %.6f", i, (unsigned long long)p->emit_total,
		    vmside_now() - p->emit_start);
		p->emit_total = 0;
	}
	vmside_want_out(i, p->emit_left > 0);
}

/* One pacing slice: each streaming pty writes what its rate allows. */
static void vmside_stream_tick(void)
{
	int i;
	ssize_t n;

	for (i = 0; i < nptys; i++) {
		struct vmside_pty *p = &ptys[i];

		if (p->stream_bps == 0)
			continue;
		p->stream_debt += p->stream_bps / (1000 / VMSIDE_TICK_MS);
		while (p->stream_debt > 0) {
			size_t len = p->stream_debt > VMSIDE_CHUNK ? VMSIDE_CHUNK : (size_t)p->stream_debt;

			n = write(p->master, pattern, len);
			if (n <= 0)
				break;
			p->stream_debt -= (uint64_t)n;
		}
		/* A pty that is full drops the rest of its slice: a guest would
		 * wait, a benchmark must keep its pace. */
		p->stream_debt = 0;
	}
}

static void vmside_read(int i)
{
	uint8_t buf[4096];
	ssize_t n, w;

	for (;;) {
		n = read(ptys[i].master, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		if (echo_on) {
			w = write(ptys[i].master, buf, (size_t)n);
			(void)w; /* an echo the pty cannot take is dropped */
		}
		if (n < (ssize_t)sizeof(buf))
			return;
	}
}

static void vmside_command(char *line)
{
	unsigned long long a, b, c;
	int i;

	if (sscanf(line, "emit %llu %llu", &a, &b) == 2 && a < (unsigned long long)nptys) {
		ptys[a].emit_left = ptys[a].emit_total = b;
		ptys[a].emit_start = vmside_now();
		vmside_emit_some((int)a);
	} else if (sscanf(line, "stream %llu %llu %llu", &a, &b, &c) == 3) {
		for (i = (int)a; i < nptys && i < (int)(a + b); i++) {
			nstreaming += (ptys[i].stream_bps == 0) - (c == 0);
			ptys[i].stream_bps = (uint32_t)c;
		}
	} else if (strncmp(line, "stop", 4) == 0) {
		for (i = 0; i < nptys; i++) {
			ptys[i].emit_left = ptys[i].emit_total = 0;
			ptys[i].stream_bps = 0;
			vmside_want_out(i, 0);
		}
		nstreaming = 0;
	} else if (sscanf(line, "echo %llu", &a) == 1) {
		echo_on = a != 0;
	} else if (sscanf(line, "flush %llu", &a) == 1 && a < (unsigned long long)nptys) {
		tcflush(ptys[a].master, TCIOFLUSH);
		tcflush(ptys[a].slave, TCIOFLUSH);
	} else if (strncmp(line, "quit", 4) == 0) {
		vmside_stop = 1;
	}
}

/* Allocate pty i: raw, as QEMU leaves it. */
static int vmside_open(int i, FILE *paths)
{
	char path[64];
	struct termios t;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

	ptys[i].master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (ptys[i].master < 0 || grantpt(ptys[i].master) < 0 ||
	    unlockpt(ptys[i].master) < 0 ||
	    ptsname_r(ptys[i].master, path, sizeof(path)) != 0)
		return -errno;
	ptys[i].slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (ptys[i].slave < 0 || tcgetattr(ptys[i].slave, &t) < 0)
		return -errno;
	cfmakeraw(&t);
	tcsetattr(ptys[i].slave, TCSANOW, &t);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ptys[i].master, &ev) < 0)
		return -errno;
	fprintf(paths, "%s\n", path);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "paths", required_argument, NULL, 'p' },
		{ "control", required_argument, NULL, 'c' },
		{ "status", required_argument, NULL, 's' },
		{ "echo", no_argument, NULL, 'e' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	const char *paths_file = NULL, *control = NULL;
	char tmp[4096], line[512];
	size_t linelen = 0;
	double deadline, next_tick;
	int opt, i, ctl, lifetime = 600;
	struct epoll_event ev, evs[256];
	struct rlimit rl;
	FILE *f;

	nptys = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': nptys = atoi(optarg); break;
		case 'p': paths_file = optarg; break;
		case 'c': control = optarg; break;
		case 's': status_path = optarg; break;
		case 'e': echo_on = 1; break;
		case 'l': lifetime = atoi(optarg); break;
		default: return 2;
		}
	}
	if (paths_file == NULL || control == NULL || nptys < 1) {
		fprintf(stderr, "usage: vmside --count N --paths FILE --control FIFO"
		    " [--status FILE] [--echo] [--lifetime S]\n");
		return 2;
	}
	signal(SIGTERM, vmside_on_term);
	signal(SIGINT, vmside_on_term);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (i = 0; i < VMSIDE_CHUNK; i++)
		pattern[i] = (i % 64 == 63) ? '\n' : (uint8_t)('!' + i % 64);
	ptys = calloc((size_t)nptys, sizeof(*ptys));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	mkfifo(control, 0600);
	ctl = open(control, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (ptys == NULL || epfd < 0 || ctl < 0) {
		perror("vmside");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.u32 = UINT32_MAX;
	epoll_ctl(epfd, EPOLL_CTL_ADD, ctl, &ev);
	snprintf(tmp, sizeof(tmp), "%s.tmp", paths_file);
	f = fopen(tmp, "w");
	for (i = 0; f != NULL && i < nptys; i++) {
		int rc = vmside_open(i, f);

		if (rc < 0) {
			fprintf(stderr, "vmside: pty %d of %d: %s\n", i, nptys, strerror(-rc));
			return 1;
		}
	}
	if (f == NULL || fclose(f) != 0 || rename(tmp, paths_file) < 0) {
		perror("vmside: paths file");
		return 1;
	}
	deadline = vmside_now() + lifetime;
	next_tick = vmside_now();
	while (!vmside_stop && vmside_now() < deadline) {
		int n, timeout = -1;

		if (nstreaming > 0) {
			double now = vmside_now();

			if (now >= next_tick) {
				vmside_stream_tick();
				next_tick += VMSIDE_TICK_MS / 1000.0;
				if (next_tick < now)
					next_tick = now + VMSIDE_TICK_MS / 1000.0;
			}
			timeout = (int)((next_tick - vmside_now()) * 1000) + 1;
		} else {
			timeout = 1000;
		}
		n = epoll_wait(epfd, evs, 256, timeout);
		for (i = 0; i < n; i++) {
			uint32_t k = evs[i].data.u32;

			if (k == UINT32_MAX) {
				ssize_t r = read(ctl, line + linelen, sizeof(line) - 1 - linelen);
				char *nl;

				if (r <= 0)
					continue;
				linelen += (size_t)r;
				line[linelen] = '\0';
				while ((nl = strchr(line, '\n')) != NULL) {
					*nl = '\0';
					vmside_command(line);
					memmove(line, nl + 1, linelen - (size_t)(nl + 1 - line) + 1);
					linelen -= (size_t)(nl + 1 - line);
				}
				if (linelen >= sizeof(line) - 1)
					linelen = 0;
				continue;
			}
			if (evs[i].events & EPOLLIN)
				vmside_read((int)k);
			if ((evs[i].events & EPOLLOUT) && ptys[k].emit_left > 0)
				vmside_emit_some((int)k);
		}
	}
	unlink(control);
	return 0;
}
