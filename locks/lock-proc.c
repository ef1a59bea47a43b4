/*
 * locks: what /proc tells about the processes named in lock files and about
 * the holders of flock() locks on a device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "locks/lock-internal.h"

/* Read at most len - 1 bytes of a small /proc file into buf, NUL-terminated. */
static int
lock_proc_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, error = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n == -1) {
		error = -errno;
		goto out;
	}
	buf[n] = '\0';
out:
	close(fd);
	return error;
}

/*
 * A process's scheduler state ('Z' for a zombie) and when it started, in
 * clock ticks since boot (field 22 of /proc/PID/stat).
 */
static int
lock_proc_stat(pid_t pid, unsigned long long *ticks, char *state)
{
	char path[64], buf[1024], *p, *field;
	int error, i;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((error = lock_proc_read(path, buf, sizeof buf)) != 0)
		return error;

	/* The command name may hold spaces and parentheses: skip to the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return -EINVAL;
	p += 2;
	*state = *p;
	for (i = 3; i < 22; i++) {
		if ((p = strchr(p, ' ')) == NULL)
			return -EINVAL;
		p++;
	}
	field = p;
	errno = 0;
	*ticks = strtoull(field, &p, 10);
	if (errno != 0 || p == field)
		return -EINVAL;
	return 0;
}

int
lock_process_start(pid_t pid, unsigned long long *ticks)
{
	char state;
	int error = lock_proc_stat(pid, ticks, &state);

	return error == 0 && (state == 'Z' || state == 'X') ? -ESRCH : error;
}

/*
 * When a process started, in CLOCK_REALTIME, and its scheduler state ('Z' for
 * a zombie).  The boot time is derived from the clocks now rather than read
 * from the whole seconds of /proc/stat, so the result is as precise as a tick.
 */
int
lock_proc_start(pid_t pid, struct timespec *start, char *state)
{
	struct timespec real, boot;
	unsigned long long ticks, ns;
	long hz;
	int error;

	if ((error = lock_proc_stat(pid, &ticks, state)) != 0)
		return error;
	hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		return -EINVAL;
	if (clock_gettime(CLOCK_REALTIME, &real) == -1 ||
	    clock_gettime(CLOCK_BOOTTIME, &boot) == -1)
		return -errno;
	ns = (ticks % (unsigned long long)hz) * 1000000000ULL /
	    (unsigned long long)hz;
	start->tv_sec = real.tv_sec - boot.tv_sec +
	    (time_t)(ticks / (unsigned long long)hz);
	start->tv_nsec = real.tv_nsec - boot.tv_nsec + (long)ns;
	while (start->tv_nsec < 0) {
		start->tv_nsec += 1000000000L;
		start->tv_sec--;
	}
	while (start->tv_nsec >= 1000000000L) {
		start->tv_nsec -= 1000000000L;
		start->tv_sec++;
	}
	return 0;
}

/* The name of a process from /proc/PID/comm, or "" when it can't be read. */
void
lock_proc_comm(pid_t pid, char *buf, size_t len)
{
	char path[64], name[64];
	size_t n;

	buf[0] = '\0';
	snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
	if (lock_proc_read(path, name, sizeof name) != 0)
		return;
	n = strcspn(name, "\n");
	name[n] = '\0';
	snprintf(buf, len, "%s", name);
}

/*
 * Who holds flock() locks on the inode st describes, from /proc/locks, whose
 * lines read "1: FLOCK  ADVISORY  WRITE 1234 00:19:6 0 EOF"; waiters are
 * marked "->" and skipped.  *count is how many were found, even past max.
 */
int
lock_proc_flock_holders(const struct stat *st, pid_t *pids, size_t max,
    size_t *count)
{
	char *line = NULL, type[16], what[16];
	unsigned int maj, mnr;
	unsigned long long ino;
	size_t cap = 0;
	FILE *f;
	int pid;

	*count = 0;
	if ((f = fopen("/proc/locks", "re")) == NULL)
		return -errno;
	while (getline(&line, &cap, f) != -1) {
		if (strstr(line, "->") != NULL)
			continue;
		if (sscanf(line, "%*d: %15s %*s %15s %d %x:%x:%llu", type, what,
		    &pid, &maj, &mnr, &ino) != 6)
			continue;
		if (strcmp(type, "FLOCK") != 0 || strcmp(what, "UNLCK") == 0)
			continue;
		if (maj != major(st->st_dev) || mnr != minor(st->st_dev) ||
		    ino != (unsigned long long)st->st_ino)
			continue;
		if (*count < max)
			pids[*count] = (pid_t)pid;
		(*count)++;
	}
	free(line);
	fclose(f);
	return 0;
}
