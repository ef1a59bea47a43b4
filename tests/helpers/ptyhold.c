/*
 * ptyhold: a pseudo-terminal for tests, with nothing on the other side.
 *
 *   ptyhold PATHFILE
 *
 * Allocates a pty, writes the slave's path to PATHFILE (whole: a reader never
 * sees it half-written) and keeps the master open, reading and discarding
 * whatever programs on the slave write, until SIGTERM or SIGINT.  It keeps a
 * slave descriptor open too, so the pty does not hang up between the
 * programs that a test runs on it one after the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t ptyhold_stop;

static void
ptyhold_signal(int sig)
{
	(void)sig;
	ptyhold_stop = 1;
}

/*
 * Catch SIGTERM and SIGINT, but let them in only while waiting in ppoll()
 * with the mask returned in unblocked, so that none is lost between a check
 * of the flag and the wait.
 */
static void
ptyhold_signals(sigset_t *unblocked)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ptyhold_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, unblocked);
	sigdelset(unblocked, SIGTERM);
	sigdelset(unblocked, SIGINT);
}

/* Write the slave's path to a temporary file, then rename it into place. */
static int
ptyhold_publish(const char *path, const char *slave)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -1;
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(f, "%s\n", slave);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct pollfd pfd;
	sigset_t unblocked;
	char buf[4096], *slave;
	int master, keep;

	if (argc != 2) {
		fprintf(stderr, "usage: ptyhold PATHFILE\n");
		return 2;
	}
	ptyhold_signals(&unblocked);

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master == -1 || grantpt(master) == -1 || unlockpt(master) == -1 ||
	    (slave = ptsname(master)) == NULL) {
		fprintf(stderr, "ptyhold: cannot allocate a pty: %s\n",
		    strerror(errno));
		return 1;
	}
	keep = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (keep == -1) {
		fprintf(stderr, "ptyhold: cannot open %s: %s\n", slave,
		    strerror(errno));
		return 1;
	}
	if (ptyhold_publish(argv[1], slave) != 0) {
		fprintf(stderr, "ptyhold: cannot write %s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}

	pfd.fd = master;
	pfd.events = POLLIN;
	while (!ptyhold_stop) {
		if (ppoll(&pfd, 1, NULL, &unblocked) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "ptyhold: poll: %s\n", strerror(errno));
			return 1;
		}
		if ((pfd.revents & POLLIN) && read(master, buf, sizeof buf) == -1 &&
		    errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "ptyhold: read: %s\n", strerror(errno));
			return 1;
		}
	}
	close(keep);
	close(master);
	return 0;
}
