/*
 * locks: lock directories we may not write (check-only mode, one warning
 * per directory) and sticky directories holding another user's stale lock
 * (a clear error naming file and owner, not a loop).  Run as root, the
 * unprivileged side runs in a forked child that has become nobody, since
 * root passes every permission check.
 */
#include <sys/time.h>

#include "tests/unit/test-lock-common.h"

static char dir_empty[PATH_MAX], dir_live[PATH_MAX], dir_stale[PATH_MAX];
static char dir_sticky[PATH_MAX];
static struct tl_pty pty;
static pid_t live_pid, dead_pid;

/* Acquire in each unwritable directory and report what happened. */
static void
check_only_child(struct tl_result *r, void *arg)
{
	struct lock_holder holder;
	struct lock *l = NULL;
	char *cause = NULL;
	int fd;

	(void)arg;
	lock_set_logger(tl_log, NULL);
	tl_log_reset();

	r->v[0] = lock_acquire(dir_empty, pty.path, 0, &l, &holder, &cause);
	if (l != NULL) {
		r->v[1] = lock_check_only(l);
		fd = open(pty.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		r->v[2] = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == -1 &&
		    errno == EWOULDBLOCK;
		close(fd);
		lock_release(l);
	}
	r->v[3] = tl_dir_count(dir_empty, NULL, 0);
	free(cause);
	cause = NULL;
	l = NULL;
	r->v[4] = lock_acquire(dir_empty, pty.path, 0, &l, &holder, &cause);
	lock_release(l);
	free(cause);
	cause = NULL;
	l = NULL;
	r->v[5] = tl_log_count;

	r->v[6] = lock_acquire(dir_live, pty.path, 0, &l, &holder, &cause);
	r->v[7] = holder.pid;
	snprintf(r->s[0], sizeof r->s[0], "%s", cause ? cause : "(null)");
	lock_release(l);
	free(cause);
	cause = NULL;
	l = NULL;

	r->v[8] = lock_acquire(dir_stale, pty.path, 0, &l, &holder, &cause);
	r->v[9] = l != NULL && lock_check_only(l);
	lock_release(l);
	free(cause);
	r->v[10] = tl_dir_count(dir_stale, NULL, 0);
	r->v[11] = tl_log_count;
	snprintf(r->s[1], sizeof r->s[1], "%.*s",
	    (int)strcspn(tl_log_text, "\n"), tl_log_text);
}

/* A lock directory we may not write: check, don't create, warn once per dir. */
static void
test_check_only(void)
{
	char path[PATH_MAX], live[PATH_MAX];
	struct tl_result r;
	uid_t as;

	tl_lock_path(live, sizeof live, dir_live, LOCK_KIND_CU, pty.path);
	tl_write_pid(live, live_pid, 0);
	tl_lock_path(path, sizeof path, dir_stale, LOCK_KIND_FHS, pty.path);
	tl_write_pid(path, dead_pid, time(NULL) - 3600);
	if (geteuid() == 0) {
		/* nobody may open the pty, but not write the directories. */
		as = TL_NOBODY;
		chown(pty.path, TL_NOBODY, (gid_t)-1);
	} else {
		as = (uid_t)-1;
		chmod(dir_empty, 0555);
		chmod(dir_live, 0555);
		chmod(dir_stale, 0555);
	}
	if (tl_run_as(as, check_only_child, NULL, &r) != 0) {
		ok(0, "the unprivileged child ran");
		return;
	}
	is_int(r.v[0], 0, "unwritable directory: acquire succeeds");
	is_int(r.v[1], 1, "in check-only mode");
	is_int(r.v[2], 1, "the device is still flocked");
	is_int(r.v[3], 0, "no lock file was created");
	is_int(r.v[4], 0, "acquire again");
	is_int(r.v[5], 1, "one warning for the directory, not one per acquire");
	ok(tl_has(r.s[1], dir_empty) && tl_has(r.s[1], "not writable"),
	    "the warning names the directory: %s", r.s[1]);
	is_int(r.v[6], -EBUSY, "check-only still refuses a live lock");
	is_int(r.v[7], live_pid, "and names its holder");
	ok(tl_has(r.s[0], live) && tl_has_pid(r.s[0], live_pid) &&
	    tl_has(r.s[0], "dirkeeper"), "cause names file, pid and program: %s",
	    r.s[0]);
	is_int(r.v[8], 0, "a stale lock we can't remove does not block");
	is_int(r.v[9], 1, "(check-only there too)");
	is_int(r.v[10], 1, "the stale lock is left where it is");
	is_int(r.v[11], 3, "one warning per directory: three");
	chmod(dir_empty, 0755);
	chmod(dir_live, 0755);
	chmod(dir_stale, 0755);
}

/* Try to take the device in the sticky directory as nobody. */
static void
sticky_child(struct tl_result *r, void *arg)
{
	struct timeval t0, t1;
	struct lock *l = NULL;
	char *cause = NULL;

	(void)arg;
	gettimeofday(&t0, NULL);
	r->v[0] = lock_acquire(dir_sticky, pty.path, LOCK_F_NOOPEN, &l, NULL,
	    &cause);
	gettimeofday(&t1, NULL);
	r->v[1] = (int)((t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_usec - t0.tv_usec) / 1000);
	snprintf(r->s[0], sizeof r->s[0], "%s", cause ? cause : "(null)");
	r->v[2] = tl_dir_count(dir_sticky, NULL, 0);
	free(cause);
	lock_release(l);
}

/* Leave a stale lock of nobody's in the sticky directory. */
static void
plant_child(struct tl_result *r, void *arg)
{
	char path[PATH_MAX];

	(void)arg;
	tl_lock_path(path, sizeof path, dir_sticky, LOCK_KIND_FHS, pty.path);
	r->v[0] = tl_write_pid(path, dead_pid, time(NULL) - 3600);
}

/* Another user's stale lock in a sticky directory: a clear error, at once. */
static void
test_sticky(void)
{
	char path[PATH_MAX];
	struct lock *l = NULL;
	struct tl_result r;
	struct stat st;
	int ret;

	if (geteuid() != 0) {
		ok(1, "# SKIP needs root to leave a lock of another user");
		return;
	}
	tl_lock_path(path, sizeof path, dir_sticky, LOCK_KIND_FHS, pty.path);
	tl_write_pid(path, dead_pid, time(NULL) - 3600);
	if (tl_run_as(TL_NOBODY, sticky_child, NULL, &r) != 0) {
		ok(0, "the unprivileged child ran");
		return;
	}
	is_int(r.v[0], -EPERM, "root's stale lock in a sticky dir: -EPERM for nobody");
	ok(tl_has(r.s[0], path) && tl_has(r.s[0], "root") &&
	    tl_has(r.s[0], "sticky") && tl_has_pid(r.s[0], dead_pid) &&
	    tl_has(r.s[0], pty.path),
	    "cause names device, file, owner and dead pid: %s", r.s[0]);
	ok(r.v[1] < 2000, "it gave up at once, no loop (%d ms)", r.v[1]);
	is_int(r.v[2], 1, "only the stale lock is left, nothing of nobody's");
	ok(stat(path, &st) == 0 && st.st_uid == 0, "the stale lock is untouched");
	unlink(path);

	/* The other way round, root may break nobody's stale lock. */
	if (tl_run_as(TL_NOBODY, plant_child, NULL, &r) != 0 || r.v[0] != 0) {
		ok(0, "nobody planted a stale lock");
		return;
	}
	ok(stat(path, &st) == 0 && st.st_uid == TL_NOBODY, "nobody's stale lock");
	tl_log_reset();
	ret = lock_acquire(dir_sticky, pty.path, 0, &l, NULL, NULL);
	is_int(ret, 0, "root breaks it");
	ok(tl_has_pid(tl_log_text, dead_pid), "and logs the dead pid");
	lock_release(l);
	is_int(tl_dir_count(dir_sticky, NULL, 0), 0, "nothing left behind");
}

int
main(void)
{
	if (tl_pty_open(&pty) != 0) {
		printf("Bail out! no pty: %s\n", strerror(errno));
		return 1;
	}
	lock_set_logger(tl_log, NULL);
	live_pid = tl_spawn("dirkeeper", NULL);
	dead_pid = tl_dead_pid();
	tl_dir_make(dir_empty, sizeof dir_empty, "ro-empty");
	tl_dir_make(dir_live, sizeof dir_live, "ro-live");
	tl_dir_make(dir_stale, sizeof dir_stale, "ro-stale");
	tl_dir_make(dir_sticky, sizeof dir_sticky, "sticky");
	chmod(dir_sticky, 01777);

	test_check_only();
	test_sticky();

	tl_dir_remove(dir_empty);
	tl_dir_remove(dir_live);
	tl_dir_remove(dir_stale);
	tl_dir_remove(dir_sticky);
	tl_kill(live_pid);
	tl_pty_close(&pty);
	return tap_done();
}
