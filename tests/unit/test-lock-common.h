/*
 * What the lock unit tests share: a private lock directory, real ptys,
 * processes to name in lock files (live, dead, another user's), lock files
 * of any content and age, and a log hook that keeps what it is told.
 */
#ifndef CONBROKER_TEST_LOCK_COMMON_H
#define CONBROKER_TEST_LOCK_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "locks/lock.h"
#include "tests/tap.h"

#define TL_UNUSED __attribute__((unused))

/* snprintf for paths: a test whose paths don't fit bails out. */
#define TL_FMT(buf, len, ...) do {					\
	if (snprintf((buf), (len), __VA_ARGS__) >= (int)(len)) {	\
		printf("Bail out! path too long\n");			\
		exit(1);						\
	}								\
} while (0)

/* The nobody user: an unprivileged identity for forked children. */
#define TL_NOBODY 65534

/* A pseudo-terminal whose master the test holds, so the slave can be opened. */
struct tl_pty {
	int master;
	char path[64];
};

TL_UNUSED static int
tl_pty_open(struct tl_pty *p)
{
	const char *name;

	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->master == -1 || grantpt(p->master) == -1 ||
	    unlockpt(p->master) == -1 || (name = ptsname(p->master)) == NULL)
		return -1;
	snprintf(p->path, sizeof p->path, "%s", name);
	return 0;
}

TL_UNUSED static void
tl_pty_close(struct tl_pty *p)
{
	close(p->master);
}

/* A fresh lock directory, traversable by others (for setuid children). */
TL_UNUSED static void
tl_dir_make(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/tmp/test-lock-%s.XXXXXX", tag);
	if (mkdtemp(buf) == NULL || chmod(buf, 0755) == -1) {
		printf("Bail out! cannot make a lock directory: %s\n", strerror(errno));
		exit(1);
	}
}

/* Remove every entry of a lock directory (one level of subdirectories). */
TL_UNUSED static void
tl_dir_clear(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dp;

	chmod(dir, 0755);
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		TL_FMT(path, sizeof path, "%s/%s", dir, d->d_name);
		if (unlink(path) == -1 && errno == EISDIR)
			rmdir(path);
	}
	closedir(dp);
}

TL_UNUSED static void
tl_dir_remove(const char *dir)
{
	tl_dir_clear(dir);
	rmdir(dir);
}

/* How many entries a directory holds, and their names for diagnostics. */
TL_UNUSED static int
tl_dir_count(const char *dir, char *names, size_t len)
{
	struct dirent *d;
	DIR *dp;
	int n = 0;

	if (names != NULL && len > 0)
		names[0] = '\0';
	if ((dp = opendir(dir)) == NULL)
		return -1;
	while ((d = readdir(dp)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		n++;
		if (names != NULL && strlen(names) + strlen(d->d_name) + 2 < len) {
			strcat(names, " ");
			strcat(names, d->d_name);
		}
	}
	closedir(dp);
	return n;
}

/* The path of a device's lock file under one convention. */
TL_UNUSED static void
tl_lock_path(char *buf, size_t len, const char *dir, enum lock_kind kind,
    const char *device)
{
	char name[NAME_MAX + 1];

	if (lock_name(kind, device, name, sizeof name) != 0) {
		printf("Bail out! lock_name(%d, %s) failed\n", (int)kind, device);
		exit(1);
	}
	TL_FMT(buf, len, "%s/%s", dir, name);
}

/* Write a file with exactly these bytes and this mtime (0: leave it now). */
TL_UNUSED static int
tl_write(const char *path, const void *data, size_t n, time_t mtime)
{
	struct timespec times[2];
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	if (n > 0 && write(fd, data, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	close(fd);
	if (mtime == 0)
		return 0;
	times[0].tv_sec = times[1].tv_sec = mtime;
	times[0].tv_nsec = times[1].tv_nsec = 0;
	return utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW);
}

/* An HDB lock file naming pid, written at mtime (0: now). */
TL_UNUSED static int
tl_write_pid(const char *path, pid_t pid, time_t mtime)
{
	char text[32];
	int n;

	n = snprintf(text, sizeof text, "%10ld\n", (long)pid);
	return tl_write(path, text, (size_t)n, mtime);
}

/* The content of a small file, or "" when it can't be read. */
TL_UNUSED static const char *
tl_read(const char *path)
{
	static char buf[256];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1)
		return buf;
	n = read(fd, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

/* Our own HDB line, as the library must write it. */
TL_UNUSED static const char *
tl_our_line(void)
{
	static char text[32];

	snprintf(text, sizeof text, "%10ld\n", (long)getpid());
	return text;
}

/*
 * A live process that holds nothing but its name (prctl), waiting to be
 * killed; if fd_path is set, it holds a flock on that device.  Returns its
 * pid once it is ready.
 */
TL_UNUSED static pid_t
tl_spawn(const char *name, const char *flock_path)
{
	char c = 'r';
	int ready[2], fd;
	pid_t pid;

	if (pipe(ready) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		close(ready[0]);
		prctl(PR_SET_NAME, name, 0, 0, 0);
		if (flock_path != NULL) {
			fd = open(flock_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
			if (fd == -1 || flock(fd, LOCK_EX | LOCK_NB) == -1)
				c = 'f';
		}
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid == -1 || read(ready[0], &c, 1) != 1 || c != 'r') {
		close(ready[0]);
		return -1;
	}
	close(ready[0]);
	return pid;
}

TL_UNUSED static void
tl_kill(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A PID that no process has: a child that has exited and been reaped. */
TL_UNUSED static pid_t
tl_dead_pid(void)
{
	pid_t pid;

	if ((pid = fork()) == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

/* What the log hook was told, one message after another. */
static char tl_log_text[16384];
static int tl_log_count;

TL_UNUSED static void
tl_log(int level, const char *message, void *arg)
{
	(void)level;
	(void)arg;
	tl_log_count++;
	if (strlen(tl_log_text) + strlen(message) + 2 < sizeof tl_log_text) {
		strcat(tl_log_text, message);
		strcat(tl_log_text, "\n");
	}
}

TL_UNUSED static void
tl_log_reset(void)
{
	tl_log_text[0] = '\0';
	tl_log_count = 0;
}

/* Whether s contains the decimal pid. */
TL_UNUSED static int
tl_has_pid(const char *s, pid_t pid)
{
	char text[32];

	snprintf(text, sizeof text, "%ld", (long)pid);
	return s != NULL && strstr(s, text) != NULL;
}

TL_UNUSED static int
tl_has(const char *s, const char *what)
{
	return s != NULL && what != NULL && strstr(s, what) != NULL;
}

/* The holder of one kind in a probe, or NULL. */
TL_UNUSED static const struct lock_holder *
tl_find(const struct lock_holder *h, size_t n, enum lock_kind kind)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (h[i].kind == kind)
			return &h[i];
	}
	return NULL;
}

/* Probe and return the state of one convention, or -1 when it shows nothing. */
TL_UNUSED static int
tl_probe_state(const char *dir, const char *device, enum lock_kind kind,
    struct lock_holder *out)
{
	struct lock_holder h[16];
	const struct lock_holder *f;
	char *cause = NULL;
	size_t n = 0;

	if (lock_probe(dir, device, h, 16, &n, &cause) != 0) {
		diag("probe failed: %s", cause ? cause : "?");
		free(cause);
		return -2;
	}
	if ((f = tl_find(h, n < 16 ? n : 16, kind)) == NULL)
		return -1;
	if (out != NULL)
		*out = *f;
	return (int)f->state;
}

/*
 * Results that a forked child (often running as another user) sends back
 * for the parent to report: TAP numbering stays in the parent.
 */
struct tl_result {
	int v[16];
	char s[4][1024];
};

/*
 * Run fn in a child that has become uid/gid (when uid is not -1), and
 * collect its results.  Returns 0 when the child ran to the end.
 */
TL_UNUSED static int
tl_run_as(uid_t uid, void (*fn)(struct tl_result *, void *), void *arg,
    struct tl_result *res)
{
	int fds[2], status;
	size_t got;
	ssize_t n;
	pid_t pid;

	memset(res, 0, sizeof *res);
	if (pipe(fds) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		struct tl_result r;

		close(fds[0]);
		memset(&r, 0, sizeof r);
		if (uid != (uid_t)-1 && (setgroups(0, NULL) == -1 ||
		    setgid(uid) == -1 || setuid(uid) == -1))
			_exit(3);
		fn(&r, arg);
		if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r)
			_exit(4);
		_exit(0);
	}
	close(fds[1]);
	got = 0;
	while (got < sizeof *res &&
	    (n = read(fds[0], (char *)res + got, sizeof *res - got)) > 0)
		got += (size_t)n;
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (got != sizeof *res || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		diag("child as uid %ld failed (status %d)", (long)uid, status);
		return -1;
	}
	return 0;
}

#endif
