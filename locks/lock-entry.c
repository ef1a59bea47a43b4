/*
 * locks: read one lock name in a world-writable directory without trusting
 * it, and judge whether the process it names still holds it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "locks/lock-internal.h"

/* Record what an lstat or fstat says, and mark anything but a small file. */
static void
lock_entry_stat(struct lock_entry *e, const struct stat *st)
{
	e->uid = st->st_uid;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->size = st->st_size;
	e->mtime = st->st_mtime;
	e->state = LOCK_STATE_HOSTILE;
	if (S_ISLNK(st->st_mode))
		e->why = LOCK_WHY_SYMLINK;
	else if (S_ISDIR(st->st_mode))
		e->why = LOCK_WHY_DIRECTORY;
	else if (S_ISFIFO(st->st_mode))
		e->why = LOCK_WHY_FIFO;
	else if (!S_ISREG(st->st_mode))
		e->why = LOCK_WHY_SPECIAL;
	else if (st->st_size > LOCK_MAX_BYTES)
		e->why = LOCK_WHY_HUGE;
	else {
		e->state = LOCK_STATE_LIVE;
		e->why = LOCK_WHY_PID;
	}
}

/* Whether a 4-byte file reads as text rather than a binary PID. */
static int
lock_entry_is_text(const unsigned char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!isdigit(buf[i]) && !isspace(buf[i]))
			return 0;
	}
	return 1;
}

/*
 * The PID in a lock file: HDB ASCII ("%10d\n", possibly followed by more
 * words after a blank) or, for a 4-byte file that is not text, the binary
 * int of old UUCP.  Returns 0 when the content is no PID.  No kernel hands
 * out PIDs above 2^22, which also keeps four bytes of text from passing for
 * a binary PID.
 */
pid_t
lock_entry_parse(const unsigned char *buf, size_t n)
{
	long long value = 0;
	int32_t binary;
	size_t i = 0, start;

	if (n == sizeof binary && !lock_entry_is_text(buf, n)) {
		memcpy(&binary, buf, sizeof binary);
		return binary > 0 && binary <= LOCK_PID_MAX ? (pid_t)binary : 0;
	}
	while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	start = i;
	while (i < n && isdigit(buf[i])) {
		value = value * 10 + (buf[i] - '0');
		if (value > LOCK_PID_MAX)
			return 0;
		i++;
	}
	if (i == start || (i < n && !isspace(buf[i])))
		return 0;
	return (pid_t)value;
}

/*
 * Judge a lock whose file names pid by that process: stale when it is gone,
 * has exited, or started after the file was written (the PID was reused);
 * EPERM from kill() means the process exists and belongs to someone else.
 * Our own PID holds only the files in this process's record: any other file
 * naming it was left by an earlier process with our PID (a restarted
 * container's PID 1) or planted by someone who wants the device kept from
 * us, and no check of ages could tell those from ours.
 */
static void
lock_entry_judge_process(struct lock_entry *e, pid_t pid)
{
	struct timespec start;
	char state = '?';
	int error;

	if (pid == getpid()) {
		lock_proc_comm(pid, e->program, sizeof e->program);
		if (lock_held_file(e->dev, e->ino))
			return;
		e->state = LOCK_STATE_STALE;
		e->why = LOCK_WHY_NOT_HELD;
		return;
	}
	if (kill(pid, 0) == -1 && errno == ESRCH) {
		e->state = LOCK_STATE_STALE;
		e->why = LOCK_WHY_DEAD;
		return;
	}
	error = lock_proc_start(pid, &start, &state);
	if (error == -ENOENT && kill(pid, 0) == -1 && errno == ESRCH) {
		/* It exited between the two looks. */
		e->state = LOCK_STATE_STALE;
		e->why = LOCK_WHY_DEAD;
		return;
	}
	if (error == 0 && (state == 'Z' || state == 'X')) {
		e->state = LOCK_STATE_STALE;
		e->why = LOCK_WHY_ZOMBIE;
		lock_proc_comm(pid, e->program, sizeof e->program);
		return;
	}
	if (error == 0 && start.tv_sec > e->mtime + LOCK_REUSE_SLACK) {
		e->state = LOCK_STATE_STALE;
		e->why = LOCK_WHY_REUSED;
		return;
	}
	/* Without /proc we can't tell a reused PID: keep the lock. */
	lock_proc_comm(pid, e->program, sizeof e->program);
}

/*
 * Judge a lock whose file names pid: live, ours, or stale (see
 * lock_entry_judge_process).
 */
void
lock_entry_judge_pid(struct lock_entry *e, pid_t pid)
{
	e->pid = pid;
	e->why = LOCK_WHY_PID;
	e->program[0] = '\0';
	e->state = pid == getpid() ? LOCK_STATE_OURS : LOCK_STATE_LIVE;
	lock_entry_judge_process(e, pid);
}

/*
 * Whether some process keeps the lock file open with a read lock on it (an
 * open file description lock), as a conbroker does with each lock file it
 * holds: then the file is held, whatever its PID means here (a broker in
 * another PID namespace that shares the lock directory).  F_OFD_GETLK only
 * asks, so a judge never gets in a breaker's way; a breaker's flock() is
 * another kind of lock and does not count.  The holder's PID is not known
 * (e->pid stays the one the file names).
 */
static void
lock_entry_kept_open(int fd, struct lock_entry *e)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_OFD_GETLK, &fl) == -1 || fl.l_type != F_RDLCK)
		return;
	e->state = LOCK_STATE_LIVE;
	e->why = LOCK_WHY_KEPT_OPEN;
	e->program[0] = '\0';
}

/* Judge what a lock file holds: a PID, or nothing that is one. */
static void
lock_entry_judge(struct lock_entry *e, const unsigned char *buf, size_t n)
{
	pid_t pid;
	time_t now;

	if ((pid = lock_entry_parse(buf, n)) > 0) {
		lock_entry_judge_pid(e, pid);
		return;
	}
	e->why = n == 0 ? LOCK_WHY_EMPTY : LOCK_WHY_GARBAGE;
	now = time(NULL);
	if (now - e->mtime < LOCK_FRESH_SECONDS &&
	    e->mtime - now < LOCK_FRESH_SECONDS)
		e->state = LOCK_STATE_FRESH;
	else
		e->state = LOCK_STATE_STALE;
}

/*
 * Judge a lock file already open: what the descriptor is (the name may have
 * been replaced since any earlier look) and the PID in its first bytes.
 */
int
lock_entry_read_fd(int fd, struct lock_entry *e)
{
	unsigned char buf[LOCK_MAX_BYTES];
	struct stat st;
	ssize_t n;

	memset(e, 0, sizeof *e);
	if (fstat(fd, &st) == -1)
		return -errno;
	lock_entry_stat(e, &st);
	if (e->state == LOCK_STATE_HOSTILE)
		return 0;
	if ((n = pread(fd, buf, sizeof buf, 0)) == -1)
		return -errno;
	lock_entry_judge(e, buf, (size_t)n);
	if (e->state == LOCK_STATE_STALE && e->pid > 0)
		lock_entry_kept_open(fd, e);
	return 0;
}

/*
 * Open a lock name in dirfd without trusting it: never follow a symlink,
 * never block on a FIFO, never open anything but a regular file.  *fd is -1
 * when the entry is hostile (already judged in e).  Returns -ENOENT when
 * there is no such name.
 */
int
lock_entry_open(int dirfd, const char *name, struct lock_entry *e, int *fd)
{
	struct stat st;

	*fd = -1;
	memset(e, 0, sizeof *e);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -errno;
	lock_entry_stat(e, &st);
	if (e->state == LOCK_STATE_HOSTILE)
		return 0;
	*fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (*fd == -1) {
		if (errno == ENOENT)
			return -ENOENT;
		e->state = LOCK_STATE_HOSTILE;
		e->why = errno == ELOOP ? LOCK_WHY_SYMLINK : LOCK_WHY_UNREADABLE;
	}
	return 0;
}

/*
 * Read and judge the lock name in dirfd, reading at most LOCK_MAX_BYTES:
 * the directory is world-writable and the name may be anything.  Returns
 * -ENOENT when there is no such name.
 */
int
lock_entry_read(int dirfd, const char *name, struct lock_entry *e)
{
	int fd, error;

	if ((error = lock_entry_open(dirfd, name, e, &fd)) != 0 || fd == -1)
		return error;
	error = lock_entry_read_fd(fd, e);
	close(fd);
	return error;
}

/* A user's name and number for messages, e.g. "nobody (uid 65534)". */
void
lock_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *found = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &found) == 0 && found != NULL)
		snprintf(buf, len, "%s (uid %lu)", found->pw_name, (unsigned long)uid);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
}

/* Who holds a lock, in words: "process 1234 (minicom)" and the like. */
void
lock_entry_describe(const struct lock_entry *e, char *buf, size_t len)
{
	const char *what = "a special file";
	char user[96];

	lock_user_name(e->uid, user, sizeof user);
	switch (e->state) {
	case LOCK_STATE_LIVE:
		if (e->why == LOCK_WHY_KEPT_OPEN) {
			snprintf(buf, len, "a process of pid unknown that keeps "
			    "the file open and locked (the PID written in it "
			    "does not hold it here: a process of another PID "
			    "namespace?)");
			return;
		}
		snprintf(buf, len, "process %ld (%s)", (long)e->pid,
		    e->program[0] != '\0' ? e->program : "unknown program");
		return;
	case LOCK_STATE_OURS:
		snprintf(buf, len, "this process %ld (%s)", (long)e->pid,
		    e->program[0] != '\0' ? e->program : "unknown program");
		return;
	case LOCK_STATE_FRESH:
		snprintf(buf, len, "an unknown process still writing it "
		    "(pid unknown: the file is %s, written %lds ago by %s)",
		    e->why == LOCK_WHY_EMPTY ? "empty" : "unparsable",
		    (long)(time(NULL) - e->mtime), user);
		return;
	case LOCK_STATE_STALE:
		lock_entry_why_stale(e, buf, len);
		return;
	case LOCK_STATE_HOSTILE:
		break;
	}
	switch (e->why) {
	case LOCK_WHY_SYMLINK:
		what = "a symbolic link";
		break;
	case LOCK_WHY_DIRECTORY:
		what = "a directory";
		break;
	case LOCK_WHY_FIFO:
		what = "a FIFO";
		break;
	case LOCK_WHY_HUGE:
		what = "too long to be a lock file";
		break;
	case LOCK_WHY_UNREADABLE:
		what = "unreadable";
		break;
	default:
		break;
	}
	snprintf(buf, len, "an unknown party (pid unknown: the entry is %s, "
	    "owned by %s; it is left alone)", what, user);
}

/* Why a stale lock is stale, for the log line that reports breaking it. */
void
lock_entry_why_stale(const struct lock_entry *e, char *buf, size_t len)
{
	time_t age;

	switch (e->why) {
	case LOCK_WHY_ZOMBIE:
		snprintf(buf, len, "process %ld (%s), which has exited",
		    (long)e->pid, e->program[0] != '\0' ? e->program : "unknown program");
		break;
	case LOCK_WHY_REUSED:
		snprintf(buf, len, "process %ld, which is gone (the PID now "
		    "belongs to a process started after the lock was written)",
		    (long)e->pid);
		break;
	case LOCK_WHY_NOT_HELD:
		snprintf(buf, len, "process %ld, this process's own PID, which "
		    "does not hold it (an earlier process with this PID left it, "
		    "or another user wrote it)", (long)e->pid);
		break;
	case LOCK_WHY_EMPTY:
	case LOCK_WHY_GARBAGE:
		age = time(NULL) - e->mtime;
		snprintf(buf, len, "no process (the file is %s, %s %lds %s)",
		    e->why == LOCK_WHY_EMPTY ? "empty" : "unparsable",
		    age >= 0 ? "written" : "dated", (long)(age >= 0 ? age : -age),
		    age >= 0 ? "ago" : "ahead");
		break;
	default:
		snprintf(buf, len, "dead process %ld", (long)e->pid);
		break;
	}
}
