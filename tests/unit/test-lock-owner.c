/*
 * lock_pty_owner() and lock_pid_file(): the proof that a pty is still the
 * domain's, and the pid files that name a hypervisor, on real ptys and real
 * processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "locks/lock.h"
#include "tests/tap.h"

static char dir[] = "/tmp/test-lock-owner.XXXXXX";

/* Whether cause contains want; prints the cause when it does not. */
static int has(const char *cause, const char *want)
{
	if (cause != NULL && strstr(cause, want) != NULL)
		return 1;
	diag("cause: '%s', wanted '%s'", cause ? cause : "(null)", want);
	return 0;
}

/* A child that opens a pty, reports its slave path on a pipe, then waits. */
static pid_t holder_start(char *path, size_t len)
{
	int p[2], m;
	pid_t pid;
	ssize_t n;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		m = posix_openpt(O_RDWR | O_NOCTTY);
		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
			_exit(1);
		if (write(p[1], ptsname(m), strlen(ptsname(m)) + 1) < 0)
			_exit(1);
		close(p[1]);
		pause();
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], path, len - 1);
	close(p[0]);
	if (n <= 0)
		return -1;
	path[n] = '\0';
	return pid;
}

static void holder_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_owner(void)
{
	struct timespec now, past;
	char path[64], *cause = NULL;
	pid_t holder, zombie;
	int rc, fd;

	clock_gettime(CLOCK_REALTIME, &now);
	holder = holder_start(path, sizeof path);
	if (!ok(holder > 0, "a child holds a pty (%s)", path))
		return;

	is_int(lock_pty_owner(path, -1, holder, &now, "status.xml", &cause), 0,
	    "the process that holds the master owns the pty");
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
	is_int(lock_pty_owner(path, fd, holder, &now, "status.xml", &cause), 0,
	    "and the descriptor opened on the path is that pty");
	close(fd);

	rc = lock_pty_owner(path, -1, getpid(), &now, "status.xml", &cause);
	is_int(rc, -EOWNERDEAD, "a live process that does not hold the master does not own it");
	ok(has(cause, "named by status.xml does not hold the master of"), "and the cause says so");

	past = now;
	past.tv_sec -= 3600;
	rc = lock_pty_owner(path, -1, holder, &past, "status.xml", &cause);
	is_int(rc, -EOWNERDEAD, "a holder that started after the file was written is a reused pid");
	ok(has(cause, "after the file was written"), "and the cause says when each happened");

	rc = lock_pty_owner(path, -1, 0, NULL, "inactive.xml", &cause);
	is_int(rc, -EOWNERDEAD, "no owner at all: not proven");
	ok(has(cause, "inactive.xml names no process that owns"), "and the cause names the file");

	is_int(lock_pty_owner("/dev/null", -1, holder, &now, "x", &cause), -ENOTTY,
	    "a device that is not a pty slave has nothing to prove");
	is_int(lock_pty_owner("/dev/pts/no-such-pty", -1, holder, &now, "x", &cause), -ENOENT,
	    "a missing device is gone");

	holder_stop(holder);
	rc = lock_pty_owner(path, -1, holder, &now, "status.xml", &cause);
	ok(rc == -EOWNERDEAD || rc == -ENOENT, "once the holder exits, the pty is nobody's (%d)", rc);

	zombie = fork();
	if (zombie == 0)
		_exit(0);
	while (kill(zombie, 0) == 0) {
		char st[64], buf[256], *p;
		FILE *f;

		snprintf(st, sizeof st, "/proc/%d/stat", (int)zombie);
		if ((f = fopen(st, "r")) == NULL)
			break;
		p = fgets(buf, sizeof buf, f);
		fclose(f);
		if (p != NULL && (p = strrchr(buf, ')')) != NULL && p[2] == 'Z')
			break;
	}
	holder = holder_start(path, sizeof path);
	rc = lock_pty_owner(path, -1, zombie, &now, "status.xml", &cause);
	is_int(rc, -EOWNERDEAD, "a zombie owns nothing");
	ok(has(cause, "has exited"), "and the cause says it exited");
	waitpid(zombie, NULL, 0);
	holder_stop(holder);
	free(cause);
}

/*
 * The proof looks at the descriptor where a process's master was last seen
 * again, and never takes that memory on trust: a child holds two masters,
 * then puts the second on the first one's descriptor (so the first pty is
 * gone), and another pty gets the first one's number; the child does not
 * own that pty, though its old descriptor number is still a master.
 */
static void test_hint_not_trusted(void)
{
	int cmd[2], rep[2], m1, m2, fds[512], n = 0, i;
	char a[64], b[64], got[64], *cause = NULL;
	struct timespec now;
	unsigned int num, want;
	pid_t child;
	int rc;

	clock_gettime(CLOCK_REALTIME, &now);
	if (pipe(cmd) < 0 || pipe(rep) < 0)
		return;
	child = fork();
	if (child == 0) {
		char c;

		m1 = posix_openpt(O_RDWR | O_NOCTTY);
		m2 = posix_openpt(O_RDWR | O_NOCTTY);
		if (m1 < 0 || m2 < 0 || grantpt(m1) < 0 || unlockpt(m1) < 0 ||
		    grantpt(m2) < 0 || unlockpt(m2) < 0)
			_exit(1);
		/* ptsname() returns one static buffer: one call a line. */
		dprintf(rep[1], "%s ", ptsname(m1));
		dprintf(rep[1], "%s\n", ptsname(m2));
		if (read(cmd[0], &c, 1) != 1 || dup2(m2, m1) < 0)
			_exit(1);
		dprintf(rep[1], "moved\n");
		pause();
		_exit(0);
	}
	FILE *f = fdopen(rep[0], "r");
	if (f == NULL || fscanf(f, "%63s %63s", a, b) != 2) {
		ok(0, "a child holds two ptys");
		holder_stop(child);
		return;
	}
	is_int(lock_pty_owner(a, -1, child, &now, "s.xml", &cause), 0, "the child owns %s", a);
	is_int(lock_pty_owner(b, -1, child, &now, "s.xml", &cause), 0, "and %s", b);
	if (write(cmd[1], "x", 1) != 1 || fscanf(f, "%63s", got) != 1)
		diag("the child did not move its master");
	want = (unsigned int)atoi(strrchr(a, '/') + 1);
	/* Take ptys until the first one's number comes round again. */
	for (n = 0; n < 512; n++) {
		fds[n] = posix_openpt(O_RDWR | O_NOCTTY);
		if (fds[n] < 0 || ioctl(fds[n], TIOCGPTN, &num) < 0)
			break;
		if (num == want)
			break;
	}
	if (n < 512 && fds[n] >= 0 && num == want) {
		grantpt(fds[n]);
		unlockpt(fds[n]);
		rc = lock_pty_owner(a, -1, child, &now, "s.xml", &cause);
		is_int(rc, -EOWNERDEAD, "%s, now another process's, is not the child's", a);
		ok(has(cause, "does not hold the master"), "and the cause says so");
		rc = lock_pty_owner(b, -1, child, &now, "s.xml", &cause);
		is_int(rc, 0, "while %s, on its new descriptor, still is", b);
		if (rc != 0)
			diag("cause: %s", cause);
		n++;
	} else {
		ok(0, "# SKIP the number %u did not come round again", want);
	}
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	fclose(f);
	close(cmd[0]);
	close(cmd[1]);
	close(rep[1]);
	holder_stop(child);
	free(cause);
}

/* Write a pid file with the given bytes and mode; its path. */
static const char *pidfile(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			diag("cannot write %s", path);
		fchmod(fd, mode);
		close(fd);
	}
	return path;
}

static void test_pid_file(void)
{
	struct timespec written;
	char *cause = NULL, link[160], fifo[160];
	pid_t pid = 0;
	struct stat st;
	const char *path;

	path = pidfile("good.pid", "4242\n", 0644);
	is_int(lock_pid_file(path, &pid, &written, &cause), 0, "a pid file with a newline");
	is_int(pid, 4242, "gives its pid");
	stat(path, &st);
	ok(written.tv_sec == st.st_mtim.tv_sec && written.tv_nsec == st.st_mtim.tv_nsec,
	    "and its mtime");
	is_int(lock_pid_file(pidfile("bare.pid", "17", 0644), &pid, &written, &cause), 0,
	    "a pid without a newline");
	is_int(pid, 17, "gives its pid");

	is_int(lock_pid_file(pidfile("text.pid", "qemu\n", 0644), &pid, &written, &cause),
	    -EINVAL, "text is no pid");
	ok(has(cause, "holds no process id"), "and the cause says so");
	is_int(lock_pid_file(pidfile("empty.pid", "", 0644), &pid, &written, &cause),
	    -EINVAL, "an empty file holds no pid");
	is_int(lock_pid_file(pidfile("zero.pid", "0\n", 0644), &pid, &written, &cause),
	    -EINVAL, "pid 0 is no process");
	is_int(lock_pid_file(pidfile("neg.pid", "-1\n", 0644), &pid, &written, &cause),
	    -EINVAL, "a negative pid is no process");
	is_int(lock_pid_file(pidfile("big.pid", "99999999\n", 0644), &pid, &written, &cause),
	    -EINVAL, "a pid past the kernel's limit is no process");
	is_int(lock_pid_file(pidfile("tail.pid", "42 43\n", 0644), &pid, &written, &cause),
	    -EINVAL, "two numbers are no pid");
	is_int(lock_pid_file(pidfile("long.pid",
	    "00000000000000000000000000000000000042\n", 0644), &pid, &written, &cause),
	    -EINVAL, "a file longer than a pid is not read as one");

	is_int(lock_pid_file(pidfile("anyone.pid", "42\n", 0666), &pid, &written, &cause),
	    -EPERM, "a pid file anyone may write is not trusted");
	ok(has(cause, "is not trusted"), "and the cause says so");
	is_int(lock_pid_file(pidfile("group.pid", "42\n", 0664), &pid, &written, &cause),
	    -EPERM, "nor one its group may write");

	snprintf(link, sizeof link, "%s/link.pid", dir);
	if (symlink(pidfile("target.pid", "42\n", 0644), link) < 0)
		diag("cannot link");
	is_int(lock_pid_file(link, &pid, &written, &cause), -ELOOP, "a link is not followed");
	ok(has(cause, "is a symbolic link"), "and the cause says so");

	snprintf(fifo, sizeof fifo, "%s/fifo.pid", dir);
	mkfifo(fifo, 0644);
	is_int(lock_pid_file(fifo, &pid, &written, &cause), -EPERM,
	    "a FIFO is no pid file, and opening it does not hang");

	snprintf(link, sizeof link, "%s/none.pid", dir);
	is_int(lock_pid_file(link, &pid, &written, &cause), -ENOENT, "a missing pid file");
	ok(has(cause, "No such file"), "and the cause says so");
	free(cause);
}

int main(void)
{
	if (mkdtemp(dir) == NULL) {
		printf("1..0 # SKIP cannot make a directory\n");
		return 0;
	}
	test_owner();
	test_hint_not_trusted();
	test_pid_file();
	{
		char cmd[64];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			diag("cannot clean up %s", dir);
	}
	return tap_done();
}
