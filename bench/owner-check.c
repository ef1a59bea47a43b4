/*
 * owner-check: what proving a pty's owner costs per console open.
 *
 *   owner-check [FDS] [ROUNDS]
 *
 * A child stands for a hypervisor: it holds a pty's master among FDS other
 * descriptors (default 200; a QEMU guest with a few disks and NICs holds
 * 50 to 200), the way QEMU does.  The parent then proves the pty is the
 * child's ROUNDS times (default 20000), as conbrokerd does before it opens
 * a console, and prints the time of the first proof (a scan of every
 * descriptor) and of the others (a look at the descriptor where the master
 * was seen): median, p99 and mean.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "locks/lock.h"

static int owner_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double owner_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	int fds = argc > 1 ? atoi(argv[1]) : 200;
	int rounds = argc > 2 ? atoi(argv[2]) : 20000;
	struct timespec written;
	char path[64], *cause = NULL;
	double *t, sum = 0;
	int p[2], i, m;
	pid_t child;

	if (fds < 0 || rounds < 1 || pipe(p) < 0)
		return 2;
	child = fork();
	if (child == 0) {
		for (i = 0; i < fds / 2; i++)
			if (open("/dev/null", O_RDONLY) < 0)
				_exit(1);
		m = posix_openpt(O_RDWR | O_NOCTTY);
		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
			_exit(1);
		for (; i < fds; i++)
			if (open("/dev/null", O_RDONLY) < 0)
				_exit(1);
		if (write(p[1], ptsname(m), strlen(ptsname(m)) + 1) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], path, sizeof path) <= 0)
		return 1;
	clock_gettime(CLOCK_REALTIME, &written);
	t = calloc((size_t)rounds + 1, sizeof(*t));
	if (t == NULL)
		return 1;
	for (i = 0; i <= rounds; i++) {
		double start = owner_now_us();

		if (lock_pty_owner(path, -1, child, &written, "bench", &cause) != 0) {
			fprintf(stderr, "owner-check: not proven: %s\n", cause);
			kill(child, SIGKILL);
			return 1;
		}
		t[i] = owner_now_us() - start;
		sum += i > 0 ? t[i] : 0;
	}
	qsort(t + 1, (size_t)rounds, sizeof(*t), owner_cmp);
	printf("proof of %s held among %d descriptors: first %.1f us; then median"
	    " %.1f us, p99 %.1f us, mean %.1f us over %d rounds\n", path, fds, t[0],
	    t[1 + rounds / 2], t[1 + (size_t)rounds * 99 / 100], sum / rounds, rounds);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	free(t);
	free(cause);
	return 0;
}
