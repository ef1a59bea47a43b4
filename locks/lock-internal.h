/*
 * locks: what the files of the library share and nobody else sees.
 *
 * lock-entry.c reads one lock name and judges it (live, stale, fresh,
 * hostile, ours); lock-proc.c asks /proc about processes and flock holders;
 * lock.c builds acquire, release and probe on top of them.
 */
#ifndef CONBROKER_LOCK_INTERNAL_H
#define CONBROKER_LOCK_INTERNAL_H

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "locks/lock.h"

/* A lock file holds "%10d\n"; anything longer than this is not a lock file. */
#define LOCK_MAX_BYTES 32

/* The highest PID a Linux kernel can hand out (PID_MAX_LIMIT). */
#define LOCK_PID_MAX 4194304

/* An empty or unparsable lock younger than this may be a peer mid-write. */
#define LOCK_FRESH_SECONDS 5

/*
 * A process that started this much later than its lock file was written
 * cannot have written it: its PID was reused.  The margin covers the tick
 * resolution of process start times and the rounding of file times.
 */
#define LOCK_REUSE_SLACK 2

/* Why an entry has the state it has, for messages. */
enum lock_why {
	LOCK_WHY_PID,        /* a readable PID: live, ours, or stale below */
	LOCK_WHY_DEAD,       /* no such process (ESRCH) */
	LOCK_WHY_ZOMBIE,     /* the process has exited and awaits its parent */
	LOCK_WHY_NOT_HELD,   /* our own PID, but not a file this process holds */
	LOCK_WHY_KEPT_OPEN,  /* stale by its PID, yet a process keeps the file
	                        open with a read lock on it: live */
	LOCK_WHY_REUSED,     /* the PID now names a process younger than the file;
	                        the last of those that come with a PID */
	LOCK_WHY_EMPTY,      /* an empty file */
	LOCK_WHY_GARBAGE,    /* a small file that holds no PID */
	LOCK_WHY_SYMLINK,    /* the rest are hostile */
	LOCK_WHY_DIRECTORY,
	LOCK_WHY_FIFO,
	LOCK_WHY_SPECIAL,    /* socket or device node */
	LOCK_WHY_HUGE,       /* a regular file longer than LOCK_MAX_BYTES */
	LOCK_WHY_UNREADABLE  /* a regular file we may not read */
};

/* What one lock name was found to be. */
struct lock_entry {
	enum lock_state state;
	enum lock_why why;
	pid_t pid;           /* the PID it names, 0 when none */
	char program[64];    /* /proc/PID/comm of a live holder, or "" */
	uid_t uid;           /* owner of the entry */
	dev_t dev;           /* identity of the entry */
	ino_t ino;
	off_t size;
	time_t mtime;
};

/* lock-entry.c */
int lock_entry_open(int dirfd, const char *name, struct lock_entry *e, int *fd);
int lock_entry_read_fd(int fd, struct lock_entry *e);
int lock_entry_read(int dirfd, const char *name, struct lock_entry *e);
pid_t lock_entry_parse(const unsigned char *buf, size_t n);
void lock_entry_judge_pid(struct lock_entry *e, pid_t pid);
void lock_entry_describe(const struct lock_entry *e, char *buf, size_t len);
void lock_entry_why_stale(const struct lock_entry *e, char *buf, size_t len);
void lock_user_name(uid_t uid, char *buf, size_t len);

/* lock-proc.c */
int lock_proc_start(pid_t pid, struct timespec *start, char *state);
void lock_proc_comm(pid_t pid, char *buf, size_t len);
int lock_proc_flock_holders(const struct stat *st, pid_t *pids, size_t max,
    size_t *count);

/* lock.c */
int lock_held_file(dev_t dev, ino_t ino);
void lock_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void lock_set_cause(char **cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
