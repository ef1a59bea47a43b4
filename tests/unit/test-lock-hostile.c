/*
 * locks: the lock directory is world-writable, so a lock name may be a
 * symlink, a FIFO, a directory or a huge file.  None is followed, opened for
 * writing, read past a few bytes or removed; each is reported as held by an
 * unknown party and the device is refused.
 */
#include "tests/unit/test-lock-common.h"

static char dir[PATH_MAX];
static struct tl_pty pty;

/* Acquire and probe against whatever sits at the FHS name. */
static void
check_hostile(const char *what)
{
	char path[PATH_MAX], names[512], *cause = NULL;
	struct lock_holder holder;
	struct lock *l = NULL;
	int before, ret;

	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	before = tl_dir_count(dir, NULL, 0);
	is_int(tl_probe_state(dir, pty.path, LOCK_KIND_FHS, &holder),
	    LOCK_STATE_HOSTILE, "%s: probe says hostile", what);
	is_int(holder.pid, 0, "%s: no pid is trusted from it", what);
	ret = lock_acquire(dir, pty.path, 0, &l, &holder, &cause);
	is_int(ret, -EBUSY, "%s: acquire refuses", what);
	is_int(holder.state, LOCK_STATE_HOSTILE, "%s: holder is hostile", what);
	is_str(holder.path, path, "%s: holder names the entry", what);
	ok(tl_has(cause, pty.path) && tl_has(cause, path) &&
	    tl_has(cause, "unknown"), "%s: cause names device, file and an "
	    "unknown holder: %s", what, cause ? cause : "(null)");
	free(cause);
	is_int(tl_dir_count(dir, names, sizeof names), before,
	    "%s: nothing added or removed:%s", what, names);
	if (l != NULL)
		lock_release(l);
}

/* A symlink to a file of ours: never followed, the target never touched. */
static void
test_symlink(void)
{
	char path[PATH_MAX], target[PATH_MAX], text[32];
	struct stat before, after;
	pid_t live;

	live = tl_spawn("symlinktarget", NULL);
	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	TL_FMT(target, sizeof target, "%s/precious", dir);
	/* The target even names a live process: a followed link would look held. */
	tl_write_pid(target, live, time(NULL) - 7200);
	snprintf(text, sizeof text, "%s", tl_read(target));
	stat(target, &before);
	symlink(target, path);
	check_hostile("symlink to our file");
	stat(target, &after);
	is_str(tl_read(target), text, "symlink: the target is unchanged");
	ok(before.st_mtime == after.st_mtime && before.st_ino == after.st_ino &&
	    before.st_size == after.st_size, "symlink: not written through");
	tl_dir_clear(dir);
	tl_kill(live);

	/* A dangling one must not make its target appear. */
	TL_FMT(target, sizeof target, "%s/created-through-link", dir);
	symlink(target, path);
	check_hostile("dangling symlink");
	ok(access(target, F_OK) == -1, "dangling symlink: target not created");
	tl_dir_clear(dir);
}

/* A FIFO: opened without blocking, or not at all, and never read. */
static void
test_fifo(void)
{
	char path[PATH_MAX];

	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	mkfifo(path, 0666);
	check_hostile("FIFO");
	tl_dir_clear(dir);
}

/* A directory at the cu name: the FHS lock taken before it is rolled back. */
static void
test_directory(void)
{
	char path[PATH_MAX], inner[PATH_MAX], names[256], *cause = NULL;
	struct lock_holder holder;
	struct lock *l = NULL;

	tl_lock_path(path, sizeof path, dir, LOCK_KIND_CU, pty.path);
	mkdir(path, 0755);
	TL_FMT(inner, sizeof inner, "%s/x", path);
	tl_write(inner, "", 0, 0);
	is_int(tl_probe_state(dir, pty.path, LOCK_KIND_CU, NULL),
	    LOCK_STATE_HOSTILE, "directory: probe says hostile");
	is_int(lock_acquire(dir, pty.path, 0, &l, &holder, &cause), -EBUSY,
	    "directory: acquire refuses");
	is_int(holder.kind, LOCK_KIND_CU, "directory: under the cu name");
	ok(tl_has(cause, path) && tl_has(cause, "directory"),
	    "directory: cause says so: %s", cause ? cause : "(null)");
	free(cause);
	is_int(tl_dir_count(dir, names, sizeof names), 1,
	    "directory: the FHS lock taken first was rolled back:%s", names);
	ok(access(inner, F_OK) == 0, "directory: its content untouched");
	unlink(inner);
	tl_dir_clear(dir);
}

/* Files too long to be lock files, even when they start with a live PID. */
static void
test_huge(void)
{
	char path[PATH_MAX], *big;
	size_t size = 1 << 20;
	pid_t live;
	int n;

	live = tl_spawn("hugeprefix", NULL);
	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	big = malloc(size);
	memset(big, ' ', size);
	n = snprintf(big, 32, "%10ld\n", (long)live);
	big[n] = ' ';
	tl_write(path, big, size, time(NULL) - 3600);
	check_hostile("1 MiB file");
	free(big);
	tl_dir_clear(dir);

	tl_write(path, "        1\n          padding to 33 bytes", 33, 0);
	check_hostile("33-byte file");
	tl_dir_clear(dir);
	tl_kill(live);
}

/* v[0]: the state a lock unreadable to this user has. */
static void
probe_unreadable(struct tl_result *r, void *arg)
{
	(void)arg;
	r->v[0] = tl_probe_state(dir, pty.path, LOCK_KIND_FHS, NULL);
}

/* A lock file we may not read could name anyone: treat it as held. */
static void
test_unreadable(void)
{
	char path[PATH_MAX];
	struct tl_result r;

	if (geteuid() != 0) {
		ok(1, "# SKIP needs root to make a file another user can't read");
		return;
	}
	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	tl_write_pid(path, getpid(), 0);
	chmod(path, 0600);
	if (tl_run_as(TL_NOBODY, probe_unreadable, NULL, &r) == 0)
		is_int(r.v[0], LOCK_STATE_HOSTILE,
		    "a lock file the nobody user cannot read: hostile");
	else
		ok(0, "run as nobody");
	tl_dir_clear(dir);
}

int
main(void)
{
	if (tl_pty_open(&pty) != 0) {
		printf("Bail out! no pty: %s\n", strerror(errno));
		return 1;
	}
	tl_dir_make(dir, sizeof dir, "hostile");
	/* A FIFO open that blocked would hang: fail loudly instead. */
	alarm(60);
	test_symlink();
	test_fifo();
	test_directory();
	test_huge();
	test_unreadable();
	tl_dir_remove(dir);
	tl_pty_close(&pty);
	return tap_done();
}
