/*
 * ptysquat: an unrelated program that is handed a stopped domain's old
 * /dev/pts number, as an ssh login or another user's terminal would be.
 *
 *   ptysquat --index N --status FILE [--pid P] [--line TEXT]
 *
 * Opens /dev/ptmx until the kernel hands out pty N (keeping the others open
 * meanwhile, so that it moves on to the next number), opens the slave as its
 * own terminal with echo off, and types TEXT and a newline on the master, as
 * its user would; then nobody reads the slave.  With --pid it first makes
 * sure it runs as process P (through /proc/sys/kernel/ns_last_pid, root
 * only), to stand for a process that was given a dead hypervisor's PID: the
 * process started first then exits, and process P goes on.
 *
 * Status lines appended to FILE: "ready PID /dev/pts/N" once set up; on
 * SIGUSR1 a report of what happened to the pty since: "master BYTES" (what
 * someone wrote into the slave and reached the master), "slave LINE" (what
 * is still waiting to be read on the slave: the typed line, unless someone
 * read it), "termios same|changed" and "winsize same|changed".  SIGTERM or
 * SIGINT ends it.  Exit status 77: --pid could not be had (not root).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define PTYSQUAT_MAX_TRIES 4096

static const char *status_path;
static volatile sig_atomic_t got_usr1, got_stop;

static void ptysquat_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Append one line to the status file. */
static void ptysquat_status(const char *fmt, ...)
{
	va_list ap;
	FILE *f = fopen(status_path, "a");

	if (f == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

static void ptysquat_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
}

/*
 * Fork until the child is process pid: the kernel hands out ns_last_pid + 1
 * next, unless another process forks in between.  Returns 0 in that child,
 * while the parent exits at once (the "ready" line names the child); -1 when
 * the PID cannot be had.
 */
static int ptysquat_become(pid_t pid)
{
	pid_t child;
	int tries;
	FILE *f;

	for (tries = 0; tries < 1000; tries++) {
		f = fopen("/proc/sys/kernel/ns_last_pid", "w");
		if (f == NULL)
			return -1;
		fprintf(f, "%d", (int)pid - 1);
		if (fclose(f) != 0)
			return -1;
		child = fork();
		if (child < 0)
			return -1;
		if (child == 0) {
			if (getpid() == pid)
				return 0;
			_exit(0);
		}
		if (child == pid)
			exit(0);
		waitpid(child, NULL, 0);
	}
	errno = EAGAIN;
	return -1;
}

/* Open ptys until the kernel gives number index; the master, or -1. */
static int ptysquat_take(int index)
{
	int fds[PTYSQUAT_MAX_TRIES], n, i, got = -1;
	unsigned int num;

	for (n = 0; n < PTYSQUAT_MAX_TRIES; n++) {
		fds[n] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fds[n] < 0 || ioctl(fds[n], TIOCGPTN, &num) < 0)
			break;
		if ((int)num == index) {
			got = fds[n];
			break;
		}
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	return got;
}

/* Whether two termios are the same settings (not comparing padding). */
static int ptysquat_same(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag &&
	    a->c_cflag == b->c_cflag && a->c_lflag == b->c_lflag &&
	    memcmp(a->c_cc, b->c_cc, sizeof a->c_cc) == 0 &&
	    cfgetispeed(a) == cfgetispeed(b) && cfgetospeed(a) == cfgetospeed(b);
}

/* What the pty went through since the squatter set it up. */
static void ptysquat_report(int master, int slave, const struct termios *t0,
    const struct winsize *w0)
{
	char buf[4096];
	struct termios t;
	struct winsize w;
	size_t total = 0;
	ssize_t n;

	while ((n = read(master, buf, sizeof buf)) > 0)
		total += (size_t)n;
	ptysquat_status("master %zu", total);
	n = read(slave, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	ptysquat_status("slave %s", buf);
	/* Put back what was read, so that the next report sees it too. */
	if (n > 0) {
		if (write(master, buf, strlen(buf)) < 0 || write(master, "\n", 1) < 0)
			ptysquat_status("error cannot type again: %s", strerror(errno));
	}
	memset(&t, 0, sizeof t);
	tcgetattr(slave, &t);
	ioctl(slave, TIOCGWINSZ, &w);
	ptysquat_status("termios %s", ptysquat_same(&t, t0) ? "same" : "changed");
	ptysquat_status("winsize %s", w.ws_row == w0->ws_row && w.ws_col == w0->ws_col ?
	    "same" : "changed");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "index", required_argument, NULL, 'i' },
		{ "status", required_argument, NULL, 's' },
		{ "pid", required_argument, NULL, 'p' },
		{ "line", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	const char *line = "typed by another user";
	struct winsize w0 = { .ws_row = 33, .ws_col = 101 };
	int index = -1, master, slave, opt;
	struct sigaction sa;
	struct termios t0;
	sigset_t block, old;
	pid_t pid = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': index = atoi(optarg); break;
		case 's': status_path = optarg; break;
		case 'p': pid = (pid_t)atol(optarg); break;
		case 'l': line = optarg; break;
		default: return 2;
		}
	}
	if (index < 0 || status_path == NULL) {
		fprintf(stderr, "usage: ptysquat --index N --status FILE [--pid P] [--line TEXT]\n");
		return 2;
	}
	if (pid > 0 && ptysquat_become(pid) < 0) {
		fprintf(stderr, "ptysquat: cannot run as pid %d: %s\n", (int)pid, strerror(errno));
		return 77;
	}
	master = ptysquat_take(index);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
		fprintf(stderr, "ptysquat: cannot get /dev/pts/%d\n", index);
		return 1;
	}
	slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		perror("ptysquat: slave");
		return 1;
	}
	memset(&t0, 0, sizeof t0);
	tcgetattr(slave, &t0);
	t0.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tcsetattr(slave, TCSANOW, &t0);
	tcgetattr(slave, &t0);
	ioctl(slave, TIOCSWINSZ, &w0);
	fcntl(master, F_SETFL, O_NONBLOCK);
	fcntl(slave, F_SETFL, O_NONBLOCK);
	if (write(master, line, strlen(line)) < 0 || write(master, "\n", 1) < 0) {
		perror("ptysquat: type");
		return 1;
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ptysquat_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	ptysquat_status("ready %d %s", (int)getpid(), ptsname(master));
	while (!got_stop) {
		sigsuspend(&old);
		if (got_usr1) {
			got_usr1 = 0;
			ptysquat_report(master, slave, &t0, &w0);
		}
	}
	return 0;
}
