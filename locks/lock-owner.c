/*
 * locks: whether a pty still belongs to the process that a domain's
 * definition names.
 *
 * A /dev/pts number is handed to the next program that asks for a pty as soon
 * as its hypervisor lets go of it: an ssh login, another user's terminal,
 * another guest.  A path in a definition therefore proves nothing once the
 * domain has stopped.  What does: the process the definition names is alive,
 * is the process that was running when the definition was written (not a
 * later process that was given the same PID), and holds the pty's master, a
 * ptmx descriptor whose tty-index (Linux, /proc/PID/fdinfo) is the pty's
 * number on the same devpts instance.  A slave exists only while some master
 * is open, so "the owner holds the master" is the whole proof.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "locks/lock-internal.h"

/* Unix98 pty slaves: majors 136 to 143; the master multiplexer is 5:2. */
#define LOCK_PTS_MAJOR_FIRST 136
#define LOCK_PTS_MAJOR_LAST 143
#define LOCK_PTMX_MAJOR 5
#define LOCK_PTMX_MINOR 2

/* A pid file is a PID and a newline; anything longer is not one. */
#define LOCK_PID_FILE_MAX 32

/* The pty number of a Unix98 slave, or -ENOTTY for any other file. */
static int
lock_pts_index(const struct stat *st, unsigned int *index)
{
	unsigned int maj = major(st->st_rdev);

	if (!S_ISCHR(st->st_mode) || maj < LOCK_PTS_MAJOR_FIRST ||
	    maj > LOCK_PTS_MAJOR_LAST)
		return -ENOTTY;
	*index = (maj - LOCK_PTS_MAJOR_FIRST) * 256 + minor(st->st_rdev);
	return 0;
}

/* The tty-index line of /proc/PID/fdinfo/FD, or -1 when there is none. */
static long
lock_fdinfo_index(int procfd, const char *fd)
{
	char path[sizeof "fdinfo/" + NAME_MAX], buf[512], *p;
	ssize_t n;
	long index = -1;
	int f;

	snprintf(path, sizeof path, "fdinfo/%s", fd);
	if ((f = openat(procfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	n = read(f, buf, sizeof buf - 1);
	close(f);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strstr(buf, "tty-index:")) != NULL)
		index = strtol(p + strlen("tty-index:"), NULL, 10);
	return index;
}

/*
 * Whether the devpts instance of a ptmx descriptor is the one dev lives on.
 * Opened as .../pts/ptmx the descriptor's own inode is on that devpts;
 * opened as /dev/ptmx the kernel takes the "pts" directory beside the node,
 * seen from the owner's root (its mount namespace may differ from ours).
 */
static int
lock_ptmx_same_devpts(pid_t pid, const char *link, const struct stat *ptmx,
    dev_t dev)
{
	char path[PATH_MAX + 64];
	const char *slash;
	struct stat st;

	if (ptmx->st_dev == dev)
		return 1;
	if (link[0] != '/' || (slash = strrchr(link, '/')) == NULL)
		return 0;
	if (snprintf(path, sizeof path, "/proc/%ld/root%.*s/pts", (long)pid,
	    (int)(slash - link), link) >= (int)sizeof path)
		return 0;
	return stat(path, &st) == 0 && st.st_dev == dev;
}

/*
 * Where the pty masters of a process were last seen: which descriptor holds
 * which tty-index.  Only a guide for the next proof, which looks at the
 * descriptor it points to again: with it, proving each of one process's many
 * ptys (a list of every console, an attach storm, a container runtime that
 * holds hundreds) costs one scan of its descriptors and then a look at one
 * descriptor per pty, instead of a scan each time.  A few processes are
 * remembered; the least recently used is forgotten first.
 */
#define LOCK_HINT_PROCS 64

struct lock_hint_master {
	unsigned int index;
	int fd;
};

struct lock_hint {
	pid_t pid;                       /* 0: unused */
	unsigned long long used;         /* lock_hint_clock when last asked */
	struct lock_hint_master *masters;
	size_t n, cap;
};

static struct lock_hint lock_hints[LOCK_HINT_PROCS];
static unsigned long long lock_hint_clock;

/* The hint of a process, or NULL. */
static struct lock_hint *
lock_hint_find(pid_t pid)
{
	size_t i;

	for (i = 0; i < LOCK_HINT_PROCS; i++)
		if (lock_hints[i].pid == pid) {
			lock_hints[i].used = ++lock_hint_clock;
			return &lock_hints[i];
		}
	return NULL;
}

/* An emptied hint for a process: its own, or the least recently used one. */
static struct lock_hint *
lock_hint_reset(pid_t pid)
{
	struct lock_hint *h = lock_hint_find(pid), *oldest = &lock_hints[0];
	size_t i;

	for (i = 1; h == NULL && i < LOCK_HINT_PROCS; i++)
		if (lock_hints[i].used < oldest->used)
			oldest = &lock_hints[i];
	if (h == NULL)
		h = oldest;
	h->pid = pid;
	h->used = ++lock_hint_clock;
	h->n = 0;
	return h;
}

/* Remember that descriptor fd of the hint's process is master index. */
static void
lock_hint_add(struct lock_hint *h, unsigned int index, int fd)
{
	struct lock_hint_master *m;

	if (h->n == h->cap) {
		m = realloc(h->masters, (h->cap ? h->cap * 2 : 8) * sizeof(*m));
		if (m == NULL)
			return; /* a hint less: the next proof scans again */
		h->masters = m;
		h->cap = h->cap ? h->cap * 2 : 8;
	}
	h->masters[h->n].index = index;
	h->masters[h->n].fd = fd;
	h->n++;
}

/*
 * Whether descriptor name (a decimal number) of the process whose /proc
 * directory is procfd is a pty master, and which: its tty-index, or -1.
 * link receives where it points, for lock_ptmx_same_devpts().
 */
static long
lock_master_index(int procfd, const char *name, char *link, size_t len,
    struct stat *st)
{
	char path[sizeof "fd/" + NAME_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof path, "fd/%s", name);
	n = readlinkat(procfd, path, link, len - 1);
	if (n <= 0)
		return -1;
	link[n] = '\0';
	base = strrchr(link, '/');
	if (base == NULL || strcmp(base + 1, "ptmx") != 0)
		return -1;
	if (fstatat(procfd, path, st, 0) == -1 || !S_ISCHR(st->st_mode) ||
	    major(st->st_rdev) != LOCK_PTMX_MAJOR ||
	    minor(st->st_rdev) != LOCK_PTMX_MINOR)
		return -1;
	return lock_fdinfo_index(procfd, name);
}

/* Whether the descriptor the hint names still is master index on dev. */
static int
lock_hint_holds(pid_t pid, int procfd, const struct lock_hint *h,
    unsigned int index, dev_t dev)
{
	char name[16], link[PATH_MAX];
	struct stat st;
	size_t i;

	for (i = 0; i < h->n; i++) {
		if (h->masters[i].index != index)
			continue;
		snprintf(name, sizeof name, "%d", h->masters[i].fd);
		return lock_master_index(procfd, name, link, sizeof link, &st) ==
		    (long)index && lock_ptmx_same_devpts(pid, link, &st, dev);
	}
	return 0;
}

/*
 * Whether process pid holds the master of pty index on devpts dev: 1 when
 * it does, 0 when it does not, a negative errno when its descriptors cannot
 * be read.  The hint is tried first; a scan of every descriptor renews it.
 */
static int
lock_holds_master(pid_t pid, unsigned int index, dev_t dev)
{
	char path[64], link[PATH_MAX];
	struct lock_hint *h;
	struct dirent *ent;
	struct stat st;
	int procfd, fdsfd, found = 0;
	long got;
	DIR *dir;

	snprintf(path, sizeof path, "/proc/%ld", (long)pid);
	if ((procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -errno;
	if ((h = lock_hint_find(pid)) != NULL &&
	    lock_hint_holds(pid, procfd, h, index, dev)) {
		close(procfd);
		return 1;
	}
	if ((fdsfd = openat(procfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (dir = fdopendir(fdsfd)) == NULL) {
		found = -errno;
		if (fdsfd != -1)
			close(fdsfd);
		close(procfd);
		return found;
	}
	h = lock_hint_reset(pid);
	while ((ent = readdir(dir)) != NULL) {
		if (ent->d_name[0] == '.')
			continue;
		got = lock_master_index(procfd, ent->d_name, link, sizeof link, &st);
		if (got < 0)
			continue;
		lock_hint_add(h, (unsigned int)got, atoi(ent->d_name));
		if (!found && got == (long)index)
			found = lock_ptmx_same_devpts(pid, link, &st, dev);
	}
	closedir(dir);
	close(procfd);
	return found;
}

/* "2026-12-01 14:03:22" in local time, for messages. */
static void
lock_format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

int
lock_pty_owner(const char *device, int fd, pid_t pid,
    const struct timespec *written, const char *named_by, char **cause)
{
	char state = '?', program[64], when[32], then[32];
	struct timespec start;
	unsigned int index;
	struct stat st;
	int error;

	if ((fd >= 0 ? fstat(fd, &st) : stat(device, &st)) == -1) {
		error = -errno;
		lock_set_cause(cause, "%s: %s", device, strerror(errno));
		return error;
	}
	if (lock_pts_index(&st, &index) < 0)
		return -ENOTTY;
	if (pid <= 0 || pid > LOCK_PID_MAX) {
		lock_set_cause(cause, "%s names no process that owns %s", named_by,
		    device);
		return -EOWNERDEAD;
	}
	error = lock_proc_start(pid, &start, &state);
	if (error == -ENOENT || (error == 0 && (state == 'Z' || state == 'X'))) {
		lock_set_cause(cause, "process %ld named by %s has exited",
		    (long)pid, named_by);
		return -EOWNERDEAD;
	}
	if (error == 0 && written != NULL &&
	    start.tv_sec > written->tv_sec + LOCK_REUSE_SLACK) {
		lock_proc_comm(pid, program, sizeof program);
		lock_format_time(start.tv_sec, when, sizeof when);
		lock_format_time(written->tv_sec, then, sizeof then);
		lock_set_cause(cause, "process %ld named by %s has exited: pid %ld "
		    "is now %s, started %s, after the file was written (%s)",
		    (long)pid, named_by, (long)pid, program[0] ? program : "another process",
		    when, then);
		return -EOWNERDEAD;
	}
	if (error < 0) {
		lock_set_cause(cause, "cannot tell when process %ld named by %s "
		    "started: %s", (long)pid, named_by, strerror(-error));
		return -EOWNERDEAD;
	}
	error = lock_holds_master(pid, index, st.st_dev);
	if (error == 1)
		return 0;
	/* Only a refusal names the process: a proof costs no more reads. */
	lock_proc_comm(pid, program, sizeof program);
	if (error == -ENOENT) {
		lock_set_cause(cause, "process %ld named by %s has exited",
		    (long)pid, named_by);
		return -EOWNERDEAD;
	}
	if (error < 0) {
		lock_set_cause(cause, "cannot see the descriptors of process %ld "
		    "(%s) named by %s: %s", (long)pid, program, named_by,
		    strerror(-error));
		return error == -EPERM ? -EACCES : error;
	}
	lock_set_cause(cause, "process %ld (%s) named by %s does not hold the "
	    "master of %s", (long)pid, program, named_by, device);
	return -EOWNERDEAD;
}

int
lock_pid_file(const char *path, pid_t *pid, struct timespec *written,
    char **cause)
{
	/* One byte more than a pid file holds tells a longer file; one: NUL. */
	char buf[LOCK_PID_FILE_MAX + 2], *end;
	struct stat st;
	long value;
	ssize_t n;
	int fd, error = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		error = -errno;
		lock_set_cause(cause, "cannot read pid file %s: %s", path,
		    errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		return error;
	}
	if (fstat(fd, &st) == -1) {
		error = -errno;
		lock_set_cause(cause, "cannot read pid file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	/* Whoever may write the file may name any process as the owner. */
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		lock_set_cause(cause, "pid file %s is not trusted: it must be a "
		    "regular file owned by root%s and writable by its owner only",
		    path, geteuid() != 0 ? " or by this daemon's user" : "");
		error = -EPERM;
		goto out;
	}
	n = read(fd, buf, sizeof buf - 1);
	if (n == -1) {
		error = -errno;
		lock_set_cause(cause, "cannot read pid file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	buf[n] = '\0';
	errno = 0;
	value = strtol(buf, &end, 10);
	while (*end == '\n' || *end == ' ' || *end == '\t')
		end++;
	if (n == 0 || n > LOCK_PID_FILE_MAX || end == buf || end != buf + n ||
	    errno != 0 || value <= 0 || value > LOCK_PID_MAX) {
		lock_set_cause(cause, "pid file %s holds no process id", path);
		error = -EINVAL;
		goto out;
	}
	*pid = (pid_t)value;
	*written = st.st_mtim;
out:
	close(fd);
	return error;
}
