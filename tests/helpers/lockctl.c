/*
 * lockctl: the locks library from the shell, for tests and operators.
 *
 *   lockctl names DEVICE
 *	prints the lock file name of DEVICE under each convention: kind name
 *   lockctl probe LOCKDIR DEVICE
 *	prints every holder of DEVICE, one per line: kind state pid program path
 *   lockctl hold [-n] LOCKDIR DEVICE READYFILE
 *	takes DEVICE (-n: lock files only, no flock), writes READYFILE once it
 *	is held, holds it until SIGTERM or SIGINT, then gives it back.
 *
 * Exit status: 0 done, 1 error, 2 usage, 4 device locked by another program,
 * 8 permission denied; a refusal prints the cause on stderr.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "locks/lock.h"

/* Log hook: events such as a stale lock broken go to stderr. */
static void
lockctl_log(int level, const char *message, void *arg)
{
	(void)level;
	(void)arg;
	fprintf(stderr, "lockctl: %s\n", message);
}

/* The exit status for an error of the library. */
static int
lockctl_status(int error)
{
	if (error == -EBUSY)
		return 4;
	if (error == -EPERM || error == -EACCES)
		return 8;
	return 1;
}

/* Print the lock file name of a device under each convention. */
static int
lockctl_names(const char *device)
{
	char name[NAME_MAX + 1];
	int kind, error;

	for (kind = LOCK_KIND_FHS; kind < LOCK_KIND_FLOCK; kind++) {
		if ((error = lock_name(kind, device, name, sizeof name)) != 0) {
			fprintf(stderr, "lockctl: no %s name for %s: %s\n",
			    lock_kind_name(kind), device, strerror(-error));
			return 1;
		}
		printf("%s %s\n", lock_kind_name(kind), name);
	}
	return 0;
}

/* Print every holder of a device. */
static int
lockctl_probe(const char *dir, const char *device)
{
	struct lock_holder holders[16];
	char *cause = NULL;
	size_t count, i;
	int error;

	error = lock_probe(dir, device, holders, 16, &count, &cause);
	if (error != 0) {
		fprintf(stderr, "lockctl: %s\n", cause ? cause : strerror(-error));
		free(cause);
		return lockctl_status(error);
	}
	for (i = 0; i < count && i < 16; i++) {
		printf("%s %s %ld %s %s\n", lock_kind_name(holders[i].kind),
		    lock_state_name(holders[i].state), (long)holders[i].pid,
		    holders[i].program[0] != '\0' ? holders[i].program : "-",
		    holders[i].path);
	}
	return 0;
}

/* Write the ready file whole: a reader never sees it half-written. */
static int
lockctl_ready(const char *path, const struct lock *lock)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -1;
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(f, "pid %ld\ndevice %s\ncheck-only %d\n", (long)getpid(),
	    lock_device(lock), lock_check_only(lock));
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}

/* Hold a device until told to stop. */
static int
lockctl_hold(const char *dir, const char *device, const char *ready, int flags)
{
	struct lock_holder holder;
	struct lock *lock;
	char *cause = NULL;
	sigset_t set;
	int error, sig;

	/* Blocked before the lock is taken, so a signal can't be lost. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	error = lock_acquire(dir, device, flags, &lock, &holder, &cause);
	if (error != 0) {
		fprintf(stderr, "lockctl: %s\n", cause ? cause : strerror(-error));
		free(cause);
		return lockctl_status(error);
	}
	if (lockctl_ready(ready, lock) != 0) {
		fprintf(stderr, "lockctl: cannot write %s: %s\n", ready,
		    strerror(errno));
		lock_release(lock);
		return 1;
	}
	sigwait(&set, &sig);
	lock_release(lock);
	return 0;
}

int
main(int argc, char **argv)
{
	int flags = 0;

	lock_set_logger(lockctl_log, NULL);
	if (argc == 3 && strcmp(argv[1], "names") == 0)
		return lockctl_names(argv[2]);
	if (argc == 4 && strcmp(argv[1], "probe") == 0)
		return lockctl_probe(argv[2], argv[3]);
	if (argc >= 2 && strcmp(argv[1], "hold") == 0) {
		argv++;
		argc--;
		if (argc >= 2 && strcmp(argv[1], "-n") == 0) {
			flags |= LOCK_F_NOFLOCK;
			argv++;
			argc--;
		}
		if (argc == 4)
			return lockctl_hold(argv[1], argv[2], argv[3], flags);
	}
	fprintf(stderr, "usage: lockctl names DEVICE\n"
	    "       lockctl probe LOCKDIR DEVICE\n"
	    "       lockctl hold [-n] LOCKDIR DEVICE READYFILE\n");
	return 2;
}
