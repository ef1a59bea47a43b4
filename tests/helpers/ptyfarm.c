/*
 * ptyfarm: a hypervisor with many consoles, whose ptys keep the settings a
 * freshly opened terminal has ("stty sane"), for the tests of what a
 * daemon's crash does to them.
 *
 *   ptyfarm --count N --paths FILE
 *
 * Allocates N ptys, keeps every master and a slave descriptor of each (so
 * that none hangs up while nobody else has it open), gives each slave a
 * window size of its own (rows 20 + i, columns 70 + i), and writes the slave
 * paths to FILE, one a line, once all are ready (whole: written to a
 * temporary name, then renamed).  Reads and discards what is written to the
 * slaves, until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t ptyfarm_stop;

static void ptyfarm_signal(int sig)
{
	(void)sig;
	ptyfarm_stop = 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "paths", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	const char *paths = NULL;
	char tmp[4096], buf[4096];
	struct pollfd *pfd;
	struct sigaction sa;
	int count = 0, opt, i, *slave;
	FILE *f;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'n')
			count = atoi(optarg);
		else if (opt == 'p')
			paths = optarg;
		else
			return 2;
	}
	if (count < 1 || paths == NULL) {
		fprintf(stderr, "usage: ptyfarm --count N --paths FILE\n");
		return 2;
	}
	pfd = calloc((size_t)count, sizeof(*pfd));
	slave = calloc((size_t)count, sizeof(*slave));
	snprintf(tmp, sizeof(tmp), "%s.tmp", paths);
	if (pfd == NULL || slave == NULL || (f = fopen(tmp, "w")) == NULL)
		return 1;
	for (i = 0; i < count; i++) {
		struct winsize ws = { .ws_row = (unsigned short)(20 + i),
		    .ws_col = (unsigned short)(70 + i) };
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
			perror("ptyfarm: pty");
			return 1;
		}
		slave[i] = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (slave[i] < 0 || ioctl(slave[i], TIOCSWINSZ, &ws) < 0) {
			perror("ptyfarm: slave");
			return 1;
		}
		fprintf(f, "%s\n", ptsname(m));
		fcntl(m, F_SETFL, O_NONBLOCK);
		pfd[i].fd = m;
		pfd[i].events = POLLIN;
	}
	if (fclose(f) != 0 || rename(tmp, paths) < 0)
		return 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ptyfarm_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!ptyfarm_stop) {
		if (poll(pfd, (nfds_t)count, 1000) < 0 && errno != EINTR)
			break;
		for (i = 0; i < count; i++)
			if (pfd[i].revents & POLLIN)
				while (read(pfd[i].fd, buf, sizeof(buf)) > 0)
					;
	}
	return 0;
}
