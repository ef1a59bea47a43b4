/*
 * locks: acquire, release and probe a device under every lock convention of
 * the host at once (LOCKS.md): three HDB lock-file names, gensio's SVR4
 * device-number name, and flock() on the device.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <unistd.h>

#include "locks/lock-internal.h"

/* Losing a race for one name more often than this means something is wrong. */
#define LOCK_TRIES 8

/* The conventions that are lock files; LOCK_KIND_FLOCK is the device itself. */
#define LOCK_FILES LOCK_KIND_FLOCK

struct lock {
	LIST_ENTRY(lock) entry;                  /* in lock_held while held */
	char device[PATH_MAX];                   /* resolved */
	char dir[PATH_MAX];                      /* lock directory, for messages */
	char names[LOCK_FILES][NAME_MAX + 1];    /* "" when n/a or a duplicate */
	int dirfd;
	int fd;                                  /* device, or -1 */
	int check_only;
	unsigned held;                           /* bit per kind: files we made */
	pid_t pid;                               /* who made them */
	int filefd;                              /* our lock file's inode, or -1 */
	dev_t filedev;                           /* its identity */
	ino_t fileino;
	char tmp[NAME_MAX + 1];                  /* its temporary name, or "" */
	int by_proc;                             /* linked through /proc */
	int recorded;                            /* in lock_held */
};

/*
 * The record of what this process holds (lock.h): every struct lock that
 * has a lock file of its own, from its creation to lock_release().
 */
static LIST_HEAD(, lock) lock_held = LIST_HEAD_INITIALIZER(lock_held);

static lock_log_fn *lock_logger;
static void *lock_logger_arg;

void
lock_set_logger(lock_log_fn *fn, void *arg)
{
	lock_logger = fn;
	lock_logger_arg = arg;
}

/*
 * Whether the lock file dev:ino is one that this process made and holds.  A
 * forked child inherits the record, but what its parent made is not its own.
 */
int
lock_held_file(dev_t dev, ino_t ino)
{
	const struct lock *l;

	LIST_FOREACH(l, &lock_held, entry) {
		if (l->filefd != -1 && l->pid == getpid() && l->filedev == dev &&
		    l->fileino == ino)
			return 1;
	}
	return 0;
}

/* Send a message to the log hook, if there is one. */
void
lock_log(int level, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int n;

	if (lock_logger == NULL)
		return;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n == -1)
		return;
	lock_logger(level, msg, lock_logger_arg);
	free(msg);
}

/* Replace *cause (when cause is not NULL) with a new allocated message. */
void
lock_set_cause(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause == NULL)
		return;
	free(*cause);
	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
}

const char *
lock_kind_name(enum lock_kind kind)
{
	static const char *const names[] = {
		[LOCK_KIND_FHS] = "FHS",
		[LOCK_KIND_CU] = "cu",
		[LOCK_KIND_LIBVIRT] = "libvirt",
		[LOCK_KIND_SVR4] = "SVR4",
		[LOCK_KIND_FLOCK] = "flock",
	};

	if ((unsigned)kind >= LOCK_KIND_COUNT)
		return "unknown";
	return names[kind];
}

const char *
lock_state_name(enum lock_state state)
{
	static const char *const names[] = {
		[LOCK_STATE_LIVE] = "live",
		[LOCK_STATE_STALE] = "stale",
		[LOCK_STATE_FRESH] = "fresh",
		[LOCK_STATE_HOSTILE] = "hostile",
		[LOCK_STATE_OURS] = "ours",
	};

	if ((unsigned)state > LOCK_STATE_OURS)
		return "unknown";
	return names[state];
}

/* The lock name of a device; st is its stat(), for the SVR4 numbers. */
static int
lock_name_of(enum lock_kind kind, const char *device, const struct stat *st,
    char *buf, size_t len)
{
	const char *stem = device, *slash;
	char *p;
	int n;

	switch (kind) {
	case LOCK_KIND_FHS:
		/* minicom and ser2net: /dev/pts/3 is "pts_3". */
		if (strncmp(stem, "/dev/", 5) == 0)
			stem += 5;
		break;
	case LOCK_KIND_CU:
		/* Taylor UUCP: only what follows the last slash, "3". */
		if ((slash = strrchr(device, '/')) != NULL)
			stem = slash + 1;
		break;
	case LOCK_KIND_LIBVIRT:
		/* libvirt strips "/dev" and keeps the slash after it: "_pts_3". */
		if (strncmp(stem, "/dev", 4) == 0)
			stem += 4;
		break;
	case LOCK_KIND_SVR4:
		if (!S_ISCHR(st->st_mode) && !S_ISBLK(st->st_mode))
			return -ENODEV;
		n = snprintf(buf, len, "LCK.%03u.%03u", major(st->st_rdev),
		    minor(st->st_rdev));
		if (n < 0 || (size_t)n >= len)
			return -ENAMETOOLONG;
		return 0;
	default:
		return -EINVAL;
	}
	if (*stem == '\0')
		return -EINVAL;
	n = snprintf(buf, len, "LCK..%s", stem);
	if (n < 0 || (size_t)n >= len || n > NAME_MAX)
		return -ENAMETOOLONG;
	for (p = buf; *p != '\0'; p++) {
		if (*p == '/')
			*p = '_';
	}
	return 0;
}

int
lock_name(enum lock_kind kind, const char *device, char *buf, size_t len)
{
	struct stat st;

	if (kind == LOCK_KIND_SVR4 && stat(device, &st) == -1)
		return -errno;
	return lock_name_of(kind, device, &st, buf, len);
}

/* Copy a string, cut to fit: for names in messages and holders. */
static void
lock_copy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * The full path of one of our lock names, for messages and holders.
 * lock_prepare() made sure that it fits.
 */
static void
lock_path(const struct lock *l, enum lock_kind kind, char *buf, size_t len)
{
	if (kind == LOCK_KIND_FLOCK)
		lock_copy(buf, len, l->device);
	else if (snprintf(buf, len, "%s/%s", l->dir, l->names[kind]) >= (int)len)
		lock_copy(buf, len, l->names[kind]);
}

/*
 * Resolve the device (a symlink and the device it names are one device),
 * work out its lock names, one file per distinct name, and open the lock
 * directory.
 */
static int
lock_prepare(struct lock *l, const char *lockdir, const char *device,
    struct stat *st, char **cause)
{
	size_t n;
	int kind, other, error;

	if (realpath(device, l->device) == NULL || stat(l->device, st) == -1) {
		error = -errno;
		lock_set_cause(cause, "cannot resolve device %s: %s", device,
		    strerror(-error));
		return error;
	}
	for (kind = 0; kind < LOCK_FILES; kind++) {
		error = lock_name_of(kind, l->device, st, l->names[kind],
		    sizeof l->names[kind]);
		if (error == -ENODEV) {
			/* Not a device node: it has no device numbers. */
			l->names[kind][0] = '\0';
			continue;
		}
		if (error != 0) {
			lock_set_cause(cause, "cannot name the %s lock file of %s: %s",
			    lock_kind_name(kind), l->device, strerror(-error));
			return error;
		}
		for (other = 0; other < kind; other++) {
			if (strcmp(l->names[other], l->names[kind]) == 0)
				l->names[kind][0] = '\0';
		}
	}

	n = strlen(lockdir);
	while (n > 1 && lockdir[n - 1] == '/')
		n--;
	if (n + 1 + NAME_MAX >= sizeof l->dir) {
		lock_set_cause(cause, "lock directory name too long: %s", lockdir);
		return -ENAMETOOLONG;
	}
	memcpy(l->dir, lockdir, n);
	l->dir[n] = '\0';
	if ((l->dirfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		error = -errno;
		lock_set_cause(cause, "cannot open lock directory %s for %s: %s",
		    l->dir, l->device, strerror(-error));
		return error;
	}
	return 0;
}

/* Fill a holder for the caller from what an entry was found to be. */
static void
lock_holder_fill(struct lock_holder *h, enum lock_kind kind, const char *path,
    const struct lock_entry *e)
{
	memset(h, 0, sizeof *h);
	h->kind = kind;
	h->state = e->state;
	lock_copy(h->path, sizeof h->path, path);
	/* A holder known only by its read lock has no PID we could name. */
	h->pid = e->why == LOCK_WHY_KEPT_OPEN ? 0 : e->pid;
	lock_copy(h->program, sizeof h->program, e->program);
	h->since = e->mtime;
}

/* Refuse the device because of the holder e of one convention. */
static int
lock_busy(const struct lock *l, enum lock_kind kind, const struct lock_entry *e,
    struct lock_holder *holder, char **cause)
{
	char path[PATH_MAX], who[512];

	lock_path(l, kind, path, sizeof path);
	lock_entry_describe(e, who, sizeof who);
	if (holder != NULL)
		lock_holder_fill(holder, kind, path, e);
	if (kind == LOCK_KIND_FLOCK)
		lock_set_cause(cause, "%s is locked: flock on %s is held by %s",
		    l->device, path, who);
	else
		lock_set_cause(cause, "%s is locked: lock file %s is held by %s",
		    l->device, path, who);
	return -EBUSY;
}

/* Warn once per process and directory that locks there are only checked. */
static void
lock_warn_check_only(const struct lock *l, int error)
{
	static struct {
		dev_t dev;
		ino_t ino;
	} warned[16];
	static size_t nwarned;
	struct stat st;
	size_t i;

	if (fstat(l->dirfd, &st) == 0) {
		for (i = 0; i < nwarned; i++) {
			if (warned[i].dev == st.st_dev && warned[i].ino == st.st_ino)
				return;
		}
		if (nwarned < sizeof warned / sizeof warned[0]) {
			warned[nwarned].dev = st.st_dev;
			warned[nwarned].ino = st.st_ino;
			nwarned++;
		}
	}
	lock_log(LOG_WARNING, "lock directory %s is not writable (%s): devices "
	    "such as %s are checked for other holders but not locked there",
	    l->dir, strerror(-error), l->device);
}

/*
 * Whether a file opened with O_TMPFILE can be given a name: through
 * /proc/self/fd, which needs /proc (AT_EMPTY_PATH would need a capability).
 */
static int
lock_file_linkable(int fd)
{
	struct stat st, via;
	char path[64];

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return fstat(fd, &st) == 0 && stat(path, &via) == 0 &&
	    st.st_dev == via.st_dev && st.st_ino == via.st_ino;
}

/*
 * A new file in the lock directory under a name nobody can guess, for
 * filesystems without O_TMPFILE.  The lock directory is world-writable: a
 * name that is taken (by anything: a file, a directory, a symlink, a FIFO)
 * is never opened or removed, the next random name is tried instead.
 */
static int
lock_file_named(struct lock *l)
{
	unsigned char rnd[8];
	struct timespec ts;
	int fd, i, j;

	for (i = 0; i < LOCK_TRIES * 4; i++) {
		if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
			/* No entropy yet (early boot): still not a name to guess. */
			clock_gettime(CLOCK_MONOTONIC, &ts);
			for (j = 0; j < (int)sizeof rnd; j++)
				rnd[j] = (unsigned char)((ts.tv_nsec >> (j * 4)) ^
				    (l->pid >> j) ^ (i * 37));
		}
		snprintf(l->tmp, sizeof l->tmp, "LTMP.conbroker.%02x%02x%02x%02x"
		    "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
		    rnd[5], rnd[6], rnd[7]);
		fd = openat(l->dirfd, l->tmp, O_RDWR | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
		if (fd != -1)
			return fd;
		if (errno != EEXIST)
			break;
	}
	l->tmp[0] = '\0';
	return -1;
}

/*
 * Mark our lock file as held for as long as it is open: a read lock on the
 * open file description, which any judge can see with F_OFD_GETLK without
 * taking a lock itself (lock-entry.c).  A kernel without OFD locks (before
 * Linux 3.15) leaves the file unmarked, which costs only that mark.
 */
static int
lock_file_mark(int fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_OFD_SETLK, &fl) == -1 && errno != EINVAL)
		return -1;
	return 0;
}

/*
 * Make our lock file: our PID in HDB format, written whole before it has
 * any name, so that each link() to a lock name makes a complete lock file
 * or fails, and no peer ever sees ours half-written.  With O_TMPFILE the
 * file has no name at all until then; without it, a random one.  The file
 * stays open and marked (lock_file_mark) while we hold it (lock.h), and is
 * entered in the record.
 */
static int
lock_file_create(struct lock *l)
{
	struct stat st;
	char text[16];
	int fd, error, n;

	n = snprintf(text, sizeof text, "%10ld\n", (long)l->pid);
	fd = openat(l->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	if (fd != -1 && !lock_file_linkable(fd)) {
		close(fd);
		fd = -1;
		errno = EOPNOTSUPP;
	}
	/* EISDIR and EINVAL: a kernel or C library without O_TMPFILE. */
	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR ||
	    errno == EINVAL))
		fd = lock_file_named(l);
	if (fd == -1)
		return -errno;
	l->by_proc = lock_file_linkable(fd);
	/* The umask must not make the lock unreadable to peers. */
	if (fchmod(fd, 0644) == -1 || write(fd, text, (size_t)n) != n ||
	    fstat(fd, &st) == -1 || lock_file_mark(fd) == -1) {
		error = errno != 0 ? -errno : -ENOSPC;
		close(fd);
		if (l->tmp[0] != '\0')
			unlinkat(l->dirfd, l->tmp, 0);
		l->tmp[0] = '\0';
		return error;
	}
	l->filefd = fd;
	l->filedev = st.st_dev;
	l->fileino = st.st_ino;
	LIST_INSERT_HEAD(&lock_held, l, entry);
	l->recorded = 1;
	return 0;
}

/*
 * Give our lock file one more name, atomically: it appears whole or not.
 * Through the descriptor where /proc allows, since in a directory without
 * the sticky bit a temporary name may be replaced before it is linked;
 * lock_verify() catches that where only the name is left.
 */
static int
lock_file_link(struct lock *l, const char *name)
{
	char path[64];

	if (!l->by_proc)
		return linkat(l->dirfd, l->tmp, l->dirfd, name, 0);
	snprintf(path, sizeof path, "/proc/self/fd/%d", l->filefd);
	return linkat(AT_FDCWD, path, l->dirfd, name, AT_SYMLINK_FOLLOW);
}

/*
 * Drop the temporary name once every lock name is made, if it still leads
 * to our file (in a directory without the sticky bit it may have been
 * replaced, and what replaced it is not ours to remove).
 */
static void
lock_file_unname(struct lock *l)
{
	struct stat st;

	if (l->tmp[0] == '\0')
		return;
	if (fstatat(l->dirfd, l->tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == l->filedev && st.st_ino == l->fileino)
		unlinkat(l->dirfd, l->tmp, 0);
	l->tmp[0] = '\0';
}

/* Say why a stale lock we are not allowed to remove stays. */
static int
lock_break_refused(const struct lock *l, const char *path,
    const struct lock_entry *stale, int error, char **cause)
{
	char user[96], why[256];
	struct stat st;

	lock_user_name(stale->uid, user, sizeof user);
	lock_entry_why_stale(stale, why, sizeof why);
	if (fstat(l->dirfd, &st) == 0 && (st.st_mode & S_ISVTX) &&
	    stale->uid != geteuid()) {
		lock_set_cause(cause, "%s: cannot break the stale lock file %s "
		    "left by %s: it belongs to %s and the sticky directory %s "
		    "lets only its owner or root remove it (%s)", l->device, path,
		    why, user, l->dir, strerror(-error));
	} else {
		lock_set_cause(cause, "%s: cannot break the stale lock file %s "
		    "(owned by %s) left by %s: %s", l->device, path, user, why,
		    strerror(-error));
	}
	return error;
}

/*
 * Remove a stale lock so that it cannot take a live one with it.  Breakers
 * agree through a flock on the stale file itself: the one that holds it
 * checks that the name still leads to that file, then unlinks it.  A second
 * breaker gets the flock only afterwards, finds the name gone or leading to
 * the winner's new lock, and leaves it alone; a crashed breaker's flock goes
 * with it.  Returns 0 to look at the name again, -EAGAIN when another
 * process is breaking it right now.
 */
static int
lock_break(struct lock *l, enum lock_kind kind, const struct lock_entry *stale,
    char **cause)
{
	char path[PATH_MAX], why[256];
	struct lock_entry e;
	struct stat st;
	int fd, error = 0;

	if (lock_entry_open(l->dirfd, l->names[kind], &e, &fd) != 0 || fd == -1)
		return 0;
	if (fstat(fd, &st) == -1 || st.st_dev != stale->dev ||
	    st.st_ino != stale->ino)
		goto out; /* replaced since we judged it */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		error = errno == EWOULDBLOCK ? -EAGAIN : 0;
		goto out;
	}
	if (fstatat(l->dirfd, l->names[kind], &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    st.st_dev != stale->dev || st.st_ino != stale->ino)
		goto out; /* another breaker got there first */
	if (lock_entry_read_fd(fd, &e) != 0 || e.state != LOCK_STATE_STALE)
		goto out;

	lock_path(l, kind, path, sizeof path);
	if (unlinkat(l->dirfd, l->names[kind], 0) == -1) {
		error = lock_break_refused(l, path, &e, -errno, cause);
		goto out;
	}
	lock_entry_why_stale(&e, why, sizeof why);
	lock_log(LOG_NOTICE, "%s: broke stale lock file %s left by %s",
	    l->device, path, why);
out:
	close(fd);
	return error;
}

/* Hold one lock name: link our file to it, breaking a stale lock in the way. */
static int
lock_take(struct lock *l, enum lock_kind kind, struct lock_holder *holder,
    char **cause)
{
	char path[PATH_MAX];
	struct lock_entry e;
	int tries, error, contended = 0;

	lock_path(l, kind, path, sizeof path);
	for (tries = 0; tries < LOCK_TRIES; tries++) {
		if (lock_file_link(l, l->names[kind]) == 0) {
			l->held |= 1u << kind;
			return 0;
		}
		if (errno != EEXIST) {
			error = -errno;
			lock_set_cause(cause, "%s: cannot create lock file %s: %s",
			    l->device, path, strerror(-error));
			return error;
		}
		error = lock_entry_read(l->dirfd, l->names[kind], &e);
		if (error == -ENOENT)
			continue;
		if (error != 0) {
			lock_set_cause(cause, "%s: cannot read lock file %s: %s",
			    l->device, path, strerror(-error));
			return error;
		}
		if (e.state != LOCK_STATE_STALE)
			return lock_busy(l, kind, &e, holder, cause);
		error = lock_break(l, kind, &e, cause);
		if (error == -EAGAIN)
			contended = 1;
		else if (error != 0)
			return error;
	}
	/* Whoever was breaking it takes the device: it is not ours. */
	if (contended)
		lock_set_cause(cause, "%s is locked: the stale lock file %s is being "
		    "broken by another process (pid unknown)", l->device, path);
	else
		lock_set_cause(cause, "%s is locked: lock file %s kept changing "
		    "(pid unknown); gave up after %d attempts", l->device, path,
		    LOCK_TRIES);
	return -EBUSY;
}

/* Check one lock name without creating it (lock directory not writable). */
static int
lock_check(struct lock *l, enum lock_kind kind, struct lock_holder *holder,
    char **cause)
{
	char path[PATH_MAX];
	struct lock_entry e;
	int error;

	error = lock_entry_read(l->dirfd, l->names[kind], &e);
	if (error == -ENOENT)
		return 0;
	if (error != 0) {
		lock_path(l, kind, path, sizeof path);
		lock_set_cause(cause, "%s: cannot read lock file %s: %s",
		    l->device, path, strerror(-error));
		return error;
	}
	/* A stale lock we may not remove holds nothing: ignore it. */
	if (e.state == LOCK_STATE_STALE)
		return 0;
	return lock_busy(l, kind, &e, holder, cause);
}

/* The holder of a flock on the device, from /proc/locks when it says. */
static void
lock_flock_holder(const struct stat *st, struct lock_entry *e)
{
	pid_t pids[8];
	size_t n = 0, i;

	memset(e, 0, sizeof *e);
	e->state = LOCK_STATE_LIVE;
	if (lock_proc_flock_holders(st, pids, 8, &n) != 0)
		return;
	for (i = 0; i < n && i < 8; i++) {
		e->pid = pids[i];
		if (pids[i] != getpid())
			break;
	}
	if (e->pid == getpid())
		e->state = LOCK_STATE_OURS;
	if (e->pid > 0)
		lock_proc_comm(e->pid, e->program, sizeof e->program);
}

/* Open the device and, unless told not to, flock it as picocom and tio do. */
static int
lock_open_device(struct lock *l, int flags, struct lock_holder *holder,
    char **cause)
{
	struct lock_entry e;
	struct stat st;
	int error;

	l->fd = open(l->device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (l->fd == -1) {
		error = -errno;
		if (error == -EBUSY) {
			/* TIOCEXCL: a program holds it in exclusive mode. */
			memset(&e, 0, sizeof e);
			e.state = LOCK_STATE_LIVE;
			if (holder != NULL)
				lock_holder_fill(holder, LOCK_KIND_FLOCK, l->device, &e);
			lock_set_cause(cause, "%s is locked: it is in exclusive use "
			    "(TIOCEXCL) by a process of unknown pid", l->device);
		} else {
			lock_set_cause(cause, "cannot open %s: %s", l->device,
			    strerror(-error));
		}
		return error;
	}
	if (flags & LOCK_F_NOFLOCK)
		return 0;
	if (flock(l->fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	error = -errno;
	if (error != -EWOULDBLOCK) {
		lock_set_cause(cause, "cannot flock %s: %s", l->device,
		    strerror(-error));
		return error;
	}
	if (fstat(l->fd, &st) == -1)
		memset(&st, 0, sizeof st);
	lock_flock_holder(&st, &e);
	return lock_busy(l, LOCK_KIND_FLOCK, &e, holder, cause);
}

/*
 * Re-read every lock file we made: a peer that broke one of them while we
 * were taking the others holds the device now, not us.
 */
static int
lock_verify(struct lock *l, struct lock_holder *holder, char **cause)
{
	char path[PATH_MAX];
	struct lock_entry e;
	int kind, error;

	for (kind = 0; kind < LOCK_FILES; kind++) {
		if (!(l->held & (1u << kind)))
			continue;
		error = lock_entry_read(l->dirfd, l->names[kind], &e);
		if (error == 0 && e.state == LOCK_STATE_OURS &&
		    e.dev == l->filedev && e.ino == l->fileino)
			continue;
		/* Not ours any more: leave it to whoever has it. */
		l->held &= ~(1u << kind);
		if (error == 0)
			return lock_busy(l, kind, &e, holder, cause);
		lock_path(l, kind, path, sizeof path);
		lock_set_cause(cause, "%s is locked: lock file %s was removed by "
		    "another program (pid unknown) while it was being taken",
		    l->device, path);
		return -EBUSY;
	}
	return 0;
}

int
lock_acquire(const char *lockdir, const char *device, int flags,
    struct lock **out, struct lock_holder *holder, char **cause)
{
	struct lock *l;
	struct stat st;
	int kind, error;

	*out = NULL;
	if (cause != NULL)
		*cause = NULL;
	if (holder != NULL)
		memset(holder, 0, sizeof *holder);
	if ((l = calloc(1, sizeof *l)) == NULL)
		return -ENOMEM;
	l->dirfd = l->fd = l->filefd = -1;
	l->pid = getpid();
	if ((error = lock_prepare(l, lockdir, device, &st, cause)) != 0)
		goto fail;

	error = lock_file_create(l);
	if (error == -EACCES || error == -EROFS || error == -EPERM) {
		l->check_only = 1;
		lock_warn_check_only(l, error);
	} else if (error != 0) {
		lock_set_cause(cause, "%s: cannot write a lock file in %s: %s",
		    l->device, l->dir, strerror(-error));
		goto fail;
	}
	for (kind = 0; kind < LOCK_FILES; kind++) {
		if (l->names[kind][0] == '\0')
			continue;
		if (l->check_only)
			error = lock_check(l, kind, holder, cause);
		else
			error = lock_take(l, kind, holder, cause);
		if (error != 0)
			goto fail;
	}
	lock_file_unname(l);

	if (!(flags & LOCK_F_NOOPEN) &&
	    (error = lock_open_device(l, flags, holder, cause)) != 0)
		goto fail;
	if ((error = lock_verify(l, holder, cause)) != 0)
		goto fail;
	*out = l;
	return 0;

fail:
	lock_release(l);
	return error;
}

int
lock_fd(const struct lock *lock)
{
	return lock->fd;
}

const char *
lock_device(const struct lock *lock)
{
	return lock->device;
}

int
lock_check_only(const struct lock *lock)
{
	return lock->check_only;
}

/*
 * Give everything back in reverse order.  Closing the descriptor drops the
 * flock; LOCK_UN is not used because a forked child shares the open file and
 * would release its parent's lock with it.  A lock file is removed only if
 * it is still the caller's own file (its PID and the inode in the record),
 * so a child never removes its parent's, nor anyone the file a peer put in
 * place of ours.
 */
void
lock_release(struct lock *lock)
{
	struct lock_entry e;
	int kind;

	if (lock == NULL)
		return;
	if (lock->fd != -1)
		close(lock->fd);
	for (kind = LOCK_FILES - 1; kind >= 0; kind--) {
		if (!(lock->held & (1u << kind)))
			continue;
		if (lock_entry_read(lock->dirfd, lock->names[kind], &e) == 0 &&
		    e.pid == getpid() && e.state == LOCK_STATE_OURS &&
		    e.dev == lock->filedev && e.ino == lock->fileino)
			unlinkat(lock->dirfd, lock->names[kind], 0);
	}
	if (lock->pid == getpid())
		lock_file_unname(lock);
	if (lock->recorded)
		LIST_REMOVE(lock, entry);
	if (lock->filefd != -1)
		close(lock->filefd);
	if (lock->dirfd != -1)
		close(lock->dirfd);
	free(lock);
}

/* Add one holder to the probe's answer; count goes on past max. */
static void
lock_probe_add(struct lock_holder *holders, size_t max, size_t *count,
    enum lock_kind kind, const char *path, const struct lock_entry *e)
{
	if (*count < max)
		lock_holder_fill(&holders[*count], kind, path, e);
	(*count)++;
}

/* Who holds a flock on the device, without taking it when /proc says. */
static void
lock_probe_flock(const struct lock *l, const struct stat *st,
    struct lock_holder *holders, size_t max, size_t *count)
{
	struct lock_entry e;
	pid_t pids[8];
	size_t n, i;
	int fd;

	if (lock_proc_flock_holders(st, pids, 8, &n) == 0) {
		for (i = 0; i < n && i < 8; i++) {
			memset(&e, 0, sizeof e);
			e.pid = pids[i];
			e.state = pids[i] == getpid() ? LOCK_STATE_OURS :
			    LOCK_STATE_LIVE;
			if (pids[i] > 0)
				lock_proc_comm(pids[i], e.program, sizeof e.program);
			lock_probe_add(holders, max, count, LOCK_KIND_FLOCK,
			    l->device, &e);
		}
		return;
	}
	/* No /proc/locks: try the lock itself, which tells that, not who. */
	fd = open(l->device, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK) {
		memset(&e, 0, sizeof e);
		e.state = LOCK_STATE_LIVE;
		lock_probe_add(holders, max, count, LOCK_KIND_FLOCK, l->device, &e);
	}
	close(fd);
}

int
lock_probe(const char *lockdir, const char *device,
    struct lock_holder *holders, size_t max, size_t *count, char **cause)
{
	char path[PATH_MAX];
	struct lock_entry e;
	struct lock *l;
	struct stat st;
	int kind, error;

	*count = 0;
	if (cause != NULL)
		*cause = NULL;
	if ((l = calloc(1, sizeof *l)) == NULL)
		return -ENOMEM;
	l->dirfd = l->fd = l->filefd = -1;
	if ((error = lock_prepare(l, lockdir, device, &st, cause)) != 0)
		goto out;
	for (kind = 0; kind < LOCK_FILES; kind++) {
		if (l->names[kind][0] == '\0')
			continue;
		error = lock_entry_read(l->dirfd, l->names[kind], &e);
		lock_path(l, kind, path, sizeof path);
		if (error == -ENOENT)
			continue;
		if (error != 0) {
			lock_set_cause(cause, "%s: cannot read lock file %s: %s",
			    l->device, path, strerror(-error));
			goto out;
		}
		lock_probe_add(holders, max, count, kind, path, &e);
	}
	lock_probe_flock(l, &st, holders, max, count);
	error = 0;
out:
	if (l->dirfd != -1)
		close(l->dirfd);
	free(l);
	return error;
}
