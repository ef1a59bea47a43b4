/*
 * locks: the host's lock protocol for serial devices and pseudo-terminals.
 *
 * Programs on a host exclude each other from a device in several ways that do
 * not see each other (LOCKS.md): HDB lock files under three naming
 * conventions, gensio's SVR4 device-number name, and flock() on the device.
 * lock_acquire() checks every one of them for a live holder and then holds all
 * of them for the calling process; lock_probe() only looks.  Paths are
 * resolved first, so a symlink and the device it names are one device.
 *
 * Ownership: a struct lock returned by lock_acquire() belongs to the caller
 * and is given back with lock_release(), which removes only lock files that
 * are still its own and closes the device descriptor.  Cause strings are
 * allocated with malloc() and freed by the caller.  Functions return 0 or a
 * negative errno value.  libc only; no threads.
 *
 * Process-wide state: the optional log hook, the list of lock directories
 * already reported as not writable (each is reported once per process),
 * where the pty masters of a few processes were last seen (lock-owner.c: a
 * guide that every proof checks again, never taken on trust), and the
 * record of what this process holds: every struct lock between
 * lock_acquire() and lock_release(), each with its lock file's inode kept
 * open (so that the inode number cannot be handed to another file) with a
 * read lock on it (F_OFD_SETLK, so that no conbroker breaks it, whatever
 * PID it names).
 * A lock file is "ours" only when it is one of those inodes: a file that
 * merely names our PID was left by an earlier process with that PID (the
 * PID 1 of a restarted container) or planted by another user, and is stale.
 * A forked child inherits the record but none of it is the child's.
 */
#ifndef CONBROKER_LOCK_H
#define CONBROKER_LOCK_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* The conventions a device can be held under, one lock each. */
enum lock_kind {
	LOCK_KIND_FHS,     /* LCK..pts_3: FHS, minicom, ser2net */
	LOCK_KIND_CU,      /* LCK..3: Taylor UUCP cu */
	LOCK_KIND_LIBVIRT, /* LCK.._pts_3: libvirt */
	LOCK_KIND_SVR4,    /* LCK.136.003: gensio, major.minor of the device */
	LOCK_KIND_FLOCK,   /* flock(LOCK_EX) on the device: picocom, tio */
	LOCK_KIND_COUNT
};

/* What a lock name was found to be. */
enum lock_state {
	LOCK_STATE_LIVE,    /* held by a running process */
	LOCK_STATE_STALE,   /* its process is gone or the PID was reused */
	LOCK_STATE_FRESH,   /* empty or unparsable but young: a peer mid-write */
	LOCK_STATE_HOSTILE, /* symlink, FIFO, directory, huge file: never trusted */
	LOCK_STATE_OURS     /* held by the calling process, in its record */
};

/* One holder of a device under one convention. */
struct lock_holder {
	enum lock_kind kind;
	enum lock_state state;
	char path[PATH_MAX]; /* the lock file, or the device for LOCK_KIND_FLOCK */
	pid_t pid;           /* 0 when unknown (flock holders, hostile entries) */
	char program[64];    /* the holder's name from /proc/PID/comm, or "" */
	time_t since;        /* the lock file's mtime, 0 when unknown */
};

/* Flags for lock_acquire(). */
#define LOCK_F_NOFLOCK 0x1 /* do not flock the device (for lock-file-only tests) */
#define LOCK_F_NOOPEN  0x2 /* do not open the device; implies LOCK_F_NOFLOCK */

struct lock; /* a device held by this process */

/*
 * Log hook for events an operator must see: a stale lock broken (with the dead
 * PID), the directory degrading to check-only mode (once).  level is a syslog
 * priority.  Without a hook, nothing is printed.
 */
typedef void lock_log_fn(int level, const char *message, void *arg);
void lock_set_logger(lock_log_fn *fn, void *arg);

/* The lock file name of a device under a convention, e.g. "LCK..pts_3". */
int lock_name(enum lock_kind kind, const char *device, char *buf, size_t len);

/*
 * Take a device for this process: resolve it, refuse if any convention shows
 * a live (or fresh, or hostile) holder, break stale locks, create every lock
 * file atomically, open the device (O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC)
 * and flock it.  On failure everything taken so far is given back; -EBUSY
 * fills *holder (when not NULL) with the first live holder found.
 */
int lock_acquire(const char *lockdir, const char *device, int flags,
    struct lock **out, struct lock_holder *holder, char **cause);

/* The device descriptor that a lock holds open, or -1 with LOCK_F_NOOPEN. */
int lock_fd(const struct lock *lock);

/* The resolved device path a lock is for. */
const char *lock_device(const struct lock *lock);

/* Whether the lock directory was not writable and only checks were made. */
int lock_check_only(const struct lock *lock);

/* Give back everything: lock files that are still ours, flock, fd. */
void lock_release(struct lock *lock);

/*
 * Look without taking: fill up to max holders of the device (live, stale,
 * fresh, hostile or ours) and set *count to how many were found.
 */
int lock_probe(const char *lockdir, const char *device,
    struct lock_holder *holders, size_t max, size_t *count, char **cause);

/*
 * Whether a pty still belongs to the process a domain's definition names
 * (lock-owner.c).  A /dev/pts number goes to the next program that asks for a
 * pty once its hypervisor lets go of it, so a path alone proves nothing: the
 * owner pid must be alive, must have started no later than the file naming
 * it was written (*written, its mtime; else the pid was reused), and must
 * hold the pty's master (a ptmx descriptor whose tty-index is the pty's
 * number, on the same devpts).  named_by is that file, for messages.  With fd
 * >= 0 the device is the one already open on fd.  Returns 0 when proven,
 * -ENOTTY when the device is not a pty slave (a fixed device: nothing to
 * prove), -ENOENT when it does not exist, -EOWNERDEAD when it is not the
 * owner's, -EACCES when the owner's descriptors may not be read; *cause says
 * why for every failure but -ENOTTY.
 */
int lock_pty_owner(const char *device, int fd, pid_t pid,
    const struct timespec *written, const char *named_by, char **cause);

/*
 * Read a hypervisor's pid file: a regular file (never a symbolic link) owned
 * by root or by the caller and writable by its owner only, holding a decimal
 * PID.  *written is its mtime.  -EPERM for a file that is not trusted.
 */
int lock_pid_file(const char *path, pid_t *pid, struct timespec *written,
    char **cause);

/*
 * When a running process started, in clock ticks since boot: with its PID,
 * an identity that a later process given the same PID does not share.
 * -ENOENT (or -ESRCH for a zombie) when it is not running.
 */
int lock_process_start(pid_t pid, unsigned long long *ticks);

/* Short names for messages: "FHS", "cu", "libvirt", "SVR4", "flock". */
const char *lock_kind_name(enum lock_kind kind);
const char *lock_state_name(enum lock_state state);

#endif
