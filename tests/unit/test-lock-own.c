/*
 * locks: what makes a lock file this process's own.  Only the files that
 * the process made and still holds (the library's record) are "ours": a
 * file that merely names our PID, planted by another user or left by an
 * earlier process that had our PID (PID 1 of a restarted PID namespace), is
 * stale and broken, and probe says so as acquire does.  A lock file that
 * another process keeps open with a read lock is live whatever PID it names.
 * Temporary files have no name anyone can plant in the way.
 */
#include <sched.h>
#include <sys/mount.h>

#include "tests/unit/test-lock-common.h"

static char dir[PATH_MAX];
static struct tl_pty pty, pty2;

/* The state every lock-file convention of a device shows in a probe. */
static int
all_files_are(const char *device, enum lock_state want)
{
	int k;

	for (k = LOCK_KIND_FHS; k <= LOCK_KIND_SVR4; k++) {
		if (tl_probe_state(dir, device, k, NULL) != (int)want)
			return 0;
	}
	return 1;
}

/* Plant a file naming pid at every lock-file name of a device. */
static void
plant_pid(const char *device, pid_t pid, time_t mtime)
{
	char path[PATH_MAX];
	int k;

	for (k = LOCK_KIND_FHS; k <= LOCK_KIND_SVR4; k++) {
		tl_lock_path(path, sizeof path, dir, k, device);
		tl_write_pid(path, pid, mtime);
	}
}

/*
 * Our own PID written now at every name, as anyone can: probe calls each
 * stale (so list says free), and acquire breaks each, logs it and holds
 * the device; the files are then ours, and release removes them.
 */
static void
test_planted_own_pid(void)
{
	char path[PATH_MAX], *cause = NULL;
	struct lock_holder holder;
	struct lock *l = NULL;
	struct stat before, after;
	int k, ret;

	plant_pid(pty.path, getpid(), 0);
	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	stat(path, &before);
	ok(all_files_are(pty.path, LOCK_STATE_STALE),
	    "planted own pid: probe says stale under every name");
	tl_log_reset();
	ret = lock_acquire(dir, pty.path, 0, &l, &holder, &cause);
	is_int(ret, 0, "planted own pid: acquire takes the device (%s)",
	    cause ? cause : "no cause");
	free(cause);
	is_int(tl_log_count, 4, "planted own pid: four breaks logged");
	ok(tl_has(tl_log_text, path) && tl_has_pid(tl_log_text, getpid()) &&
	    tl_has(tl_log_text, "does not hold it"),
	    "planted own pid: the log names the file and says why: %.*s",
	    (int)strcspn(tl_log_text, "\n"), tl_log_text);
	stat(path, &after);
	ok(after.st_ino != before.st_ino, "planted own pid: the file was replaced");
	ok(all_files_are(pty.path, LOCK_STATE_OURS),
	    "planted own pid: every name is ours now");
	is_int(tl_dir_count(dir, NULL, 0), 4, "planted own pid: four files, no more");
	lock_release(l);
	is_int(tl_dir_count(dir, NULL, 0), 0, "planted own pid: release removes them");
	tl_dir_clear(dir);

	/* Planted by another user, in a sticky directory: root may break it. */
	if (geteuid() != 0) {
		ok(1, "# SKIP needs root to plant as another user");
		return;
	}
	chmod(dir, 01777);
	plant_pid(pty.path, getpid(), 0);
	for (k = LOCK_KIND_FHS; k <= LOCK_KIND_SVR4; k++) {
		tl_lock_path(path, sizeof path, dir, k, pty.path);
		if (chown(path, TL_NOBODY, TL_NOBODY) == -1)
			diag("chown %s: %s", path, strerror(errno));
	}
	l = NULL;
	is_int(lock_acquire(dir, pty.path, 0, &l, NULL, NULL), 0,
	    "own pid planted by nobody in a sticky directory: broken");
	lock_release(l);
	chmod(dir, 0755);
	tl_dir_clear(dir);
}

/*
 * What we hold is ours, what is planted beside it is not: the record is
 * per file, not per PID.  A file put in place of one of ours while we hold
 * the device is not ours either, and release leaves it alone.
 */
static void
test_held_and_planted(void)
{
	char path[PATH_MAX], *cause = NULL;
	struct lock_holder holder;
	struct lock *a = NULL, *b = NULL;
	struct stat st;

	if (lock_acquire(dir, pty.path, 0, &a, NULL, &cause) != 0) {
		ok(0, "hold the first pty: %s", cause ? cause : "?");
		free(cause);
		return;
	}
	plant_pid(pty2.path, getpid(), 0);
	ok(all_files_are(pty.path, LOCK_STATE_OURS),
	    "held pty: every name is ours");
	ok(all_files_are(pty2.path, LOCK_STATE_STALE),
	    "own pid planted for another pty while we hold one: stale");
	is_int(lock_acquire(dir, pty2.path, 0, &b, NULL, &cause), 0,
	    "and that pty is taken (%s)", cause ? cause : "no cause");
	free(cause);
	cause = NULL;
	lock_release(b);

	/* The same process asking again for what it holds is refused. */
	b = NULL;
	is_int(lock_acquire(dir, pty.path, 0, &b, &holder, &cause), -EBUSY,
	    "a held pty is still busy to its holder");
	is_int(holder.state, LOCK_STATE_OURS, "and the holder is ours");
	free(cause);
	cause = NULL;

	/* A peer removes our FHS file and writes our PID in its place. */
	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	unlink(path);
	tl_write_pid(path, getpid(), 0);
	is_int(tl_probe_state(dir, pty.path, LOCK_KIND_FHS, NULL),
	    LOCK_STATE_STALE, "a file put in place of ours is not ours");
	is_int(tl_probe_state(dir, pty.path, LOCK_KIND_CU, NULL),
	    LOCK_STATE_OURS, "the names still leading to our file are");
	stat(path, &st);
	lock_release(a);
	ok(access(path, F_OK) == 0, "release leaves the file that is not ours");
	is_int(tl_dir_count(dir, NULL, 0), 1, "and removes the three that are");
	tl_dir_clear(dir);
}

/* In a forked child: v[0..1] probe states, v[2] acquire, v[3] its pid. */
static void
child_of_holder(struct tl_result *r, void *arg)
{
	struct lock_holder holder;
	struct lock *l = NULL;

	(void)arg;
	r->v[0] = tl_probe_state(dir, pty.path, LOCK_KIND_FHS, &holder);
	r->v[1] = holder.pid;
	r->v[2] = lock_acquire(dir, pty.path, LOCK_F_NOOPEN, &l, &holder, NULL);
	r->v[3] = holder.pid;
	lock_release(l);
	/* Its own PID planted: not its own either. */
	plant_pid(pty2.path, getpid(), 0);
	r->v[4] = all_files_are(pty2.path, LOCK_STATE_STALE);
}

/* A forked child inherits the record, but its parent's locks are not its. */
static void
test_fork(void)
{
	struct lock *l = NULL;
	struct tl_result r;

	if (lock_acquire(dir, pty.path, 0, &l, NULL, NULL) != 0) {
		ok(0, "hold a pty before forking");
		return;
	}
	if (tl_run_as((uid_t)-1, child_of_holder, NULL, &r) == 0) {
		is_int(r.v[0], LOCK_STATE_LIVE, "child: its parent's lock is live, not ours");
		is_int(r.v[1], getpid(), "child: held by its parent");
		is_int(r.v[2], -EBUSY, "child: acquire refused");
		is_int(r.v[3], getpid(), "child: the refusal names the parent");
		ok(r.v[4], "child: its own pid planted is stale to it");
	} else {
		ok(0, "run a forked child");
	}
	ok(all_files_are(pty.path, LOCK_STATE_OURS), "the parent's locks survive the child");
	lock_release(l);
	tl_dir_clear(dir);
}

/* A process that keeps path open with a read lock, as a holder does. */
static pid_t
spawn_keeper(const char *path)
{
	struct flock fl;
	char c = 'r';
	int ready[2], fd;
	pid_t pid;

	if (pipe(ready) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		close(ready[0]);
		prctl(PR_SET_NAME, "lockkeeper", 0, 0, 0);
		memset(&fl, 0, sizeof fl);
		fl.l_type = F_RDLCK;
		fl.l_whence = SEEK_SET;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1 || fcntl(fd, F_OFD_SETLK, &fl) == -1)
			c = 'f';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid == -1 || read(ready[0], &c, 1) != 1 || c != 'r') {
		close(ready[0]);
		tl_kill(pid);
		return -1;
	}
	close(ready[0]);
	return pid;
}

/*
 * A lock file that a live process keeps open with a read lock, as a
 * conbroker does with the files it holds, is live even when the PID in it is
 * dead here or is our own: a broker in another PID namespace sharing the
 * directory.  A flock() on it is a breaker's, not a holder's.
 */
static void
test_kept_open(void)
{
	char path[PATH_MAX], *cause = NULL;
	struct lock_holder holder;
	struct lock *l = NULL;
	pid_t keeper, dead;

	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	dead = tl_dead_pid();
	tl_write_pid(path, dead, 0);
	keeper = spawn_keeper(path);
	is_int(tl_probe_state(dir, pty.path, LOCK_KIND_FHS, &holder),
	    LOCK_STATE_LIVE, "dead pid, but the file is kept open and locked: live");
	is_int(lock_acquire(dir, pty.path, 0, &l, &holder, &cause), -EBUSY,
	    "acquire refuses it");
	is_int(holder.state, LOCK_STATE_LIVE, "the holder is live");
	is_int(holder.pid, 0, "of pid unknown, not the dead pid in the file");
	ok(tl_has(cause, path) && tl_has(cause, "keeps the file open"),
	    "the cause says why: %s", cause ? cause : "(null)");
	free(cause);
	cause = NULL;
	ok(tl_has_pid(tl_read(path), dead), "and leaves the file alone");
	tl_kill(keeper);

	tl_write_pid(path, getpid(), 0);
	keeper = spawn_keeper(path);
	is_int(tl_probe_state(dir, pty.path, LOCK_KIND_FHS, NULL),
	    LOCK_STATE_LIVE, "our pid, not ours, but kept open by another: live");
	tl_kill(keeper);
	keeper = tl_spawn("lockbreaker", path);
	is_int(tl_probe_state(dir, pty.path, LOCK_KIND_FHS, NULL),
	    LOCK_STATE_STALE, "flocked (a breaker at work): still stale");
	tl_kill(keeper);
	is_int(tl_probe_state(dir, pty.path, LOCK_KIND_FHS, NULL),
	    LOCK_STATE_STALE, "once that process is gone: stale");
	is_int(lock_acquire(dir, pty.path, 0, &l, NULL, NULL), 0,
	    "and broken by acquire");
	lock_release(l);
	tl_dir_clear(dir);
}

/*
 * Plant what the old temporary names were, under our PID, as directories,
 * files, symlinks and FIFOs: none of it is in the way, none of it touched.
 */
static void
plant_tmp_names(pid_t pid, const char *precious)
{
	char path[PATH_MAX];
	int i;

	for (i = 0; i < 16; i++) {
		TL_FMT(path, sizeof path, "%s/LTMP.conbroker.%ld.%d", dir,
		    (long)pid, i);
		switch (i % 4) {
		case 0:
			mkdir(path, 0755);
			break;
		case 1:
			tl_write(path, "x", 1, 0);
			break;
		case 2:
			symlink(precious, path);
			break;
		default:
			mkfifo(path, 0666);
			break;
		}
	}
}

static void
test_tmp_names(void)
{
	char precious[PATH_MAX], outside[PATH_MAX], names[2048], *cause = NULL;
	struct lock *l = NULL;
	struct stat before, after;

	TL_FMT(outside, sizeof outside, "%s.precious", dir);
	TL_FMT(precious, sizeof precious, "%s/x", outside);
	mkdir(outside, 0755);
	tl_write(precious, "keep\n", 5, 0);
	stat(precious, &before);
	plant_tmp_names(getpid(), precious);
	alarm(30);
	is_int(lock_acquire(dir, pty.path, 0, &l, NULL, &cause), 0,
	    "16 entries at the old temporary names: acquire works (%s)",
	    cause ? cause : "no cause");
	alarm(0);
	free(cause);
	is_int(tl_dir_count(dir, names, sizeof names), 16 + 4,
	    "the planted entries and our four lock files, nothing else:%s", names);
	ok(all_files_are(pty.path, LOCK_STATE_OURS), "every lock name is ours");
	lock_release(l);
	is_int(tl_dir_count(dir, NULL, 0), 16, "release leaves the planted entries");
	stat(precious, &after);
	ok(before.st_ino == after.st_ino && before.st_mtime == after.st_mtime &&
	    strcmp(tl_read(precious), "keep\n") == 0,
	    "a symlink's target is never written");
	tl_dir_clear(dir);
	unlink(precious);
	rmdir(outside);
}

/*
 * Without O_TMPFILE links (no /proc: a mount namespace of our own with /proc
 * detached), the file gets a random name; planted entries do not matter.
 * v[0]: acquire, v[1]: entries while held, v[2]: entries after release,
 * v[3]: the lock file's mode, v[4]: its content is our PID.
 */
static void
child_without_proc(struct tl_result *r, void *arg)
{
	char path[PATH_MAX], line[32];
	struct lock *l = NULL;
	struct stat st;
	mode_t old;

	(void)arg;
	r->v[0] = -1000;
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    umount2("/proc", MNT_DETACH) == -1 || access("/proc/self", F_OK) == 0)
		return;
	plant_tmp_names(getpid(), "/nonexistent");
	old = umask(077);
	r->v[0] = lock_acquire(dir, pty.path, 0, &l, NULL, NULL);
	umask(old);
	r->v[1] = tl_dir_count(dir, NULL, 0);
	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	r->v[3] = lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
	snprintf(line, sizeof line, "%10ld\n", (long)getpid());
	r->v[4] = strcmp(tl_read(path), line) == 0;
	lock_release(l);
	r->v[2] = tl_dir_count(dir, NULL, 0);
}

static void
test_named_fallback(void)
{
	struct tl_result r;

	if (geteuid() != 0) {
		ok(1, "# SKIP needs root for a mount namespace without /proc");
		return;
	}
	if (tl_run_as((uid_t)-1, child_without_proc, NULL, &r) != 0) {
		ok(0, "run a child without /proc");
		return;
	}
	if (r.v[0] == -1000) {
		ok(1, "# SKIP cannot detach /proc in a mount namespace here");
		tl_dir_clear(dir);
		return;
	}
	is_int(r.v[0], 0, "without /proc: acquire through a random temporary name");
	is_int(r.v[1], 16 + 4, "the planted entries and four lock files, nothing else");
	is_int(r.v[2], 16, "release leaves only the planted entries");
	is_int(r.v[3], 0644, "the lock file is 0644 under umask 077");
	ok(r.v[4], "and holds the child's pid");
	tl_dir_clear(dir);
}

/* Copy a message into a result string, cut to fit. */
static void
copy_cut(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * One run of a process that is PID 1 of a new PID namespace: it takes the
 * pty (v[0]), counts the breaks it logged (v[1]) and reports on fd with its
 * pid (v[2]).  Then it either waits, holding the pty, for a SIGKILL (die;
 * it tells the parent through ready), or gives the pty back.
 */
static void
pid1_run(int fd, int ready, int die)
{
	struct tl_result r;
	struct lock *l = NULL;
	char *cause = NULL;

	memset(&r, 0, sizeof r);
	tl_log_reset();
	r.v[0] = lock_acquire(dir, pty.path, 0, &l, NULL, &cause);
	copy_cut(r.s[1], sizeof r.s[1], cause != NULL ? cause : "");
	free(cause);
	r.v[1] = tl_log_count;
	r.v[2] = getpid();
	copy_cut(r.s[0], sizeof r.s[0], tl_log_text);
	if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
		_exit(4);
	if (die) {
		/* PID 1 ignores SIGKILL from inside: its parent sends it. */
		if (write(ready, "k", 1) != 1)
			_exit(4);
		for (;;)
			pause();
	}
	lock_release(l);
	_exit(0);
}

/*
 * Start pid1_run in a new PID namespace and read its report.  With die, a
 * process outside the namespace SIGKILLs it: at once, or with *hold set,
 * once the caller closes *hold.  Returns that process, for pid1_wait.
 */
static pid_t
pid1_start(int die, int *hold, struct tl_result *res)
{
	int fds[2], ready[2], held[2] = { -1, -1 }, status;
	pid_t mid, init;
	ssize_t n;
	char c;

	if (pipe(fds) == -1 || (hold != NULL && pipe(held) == -1))
		return -1;
	if ((mid = fork()) == 0) {
		close(fds[0]);
		if (held[1] != -1)
			close(held[1]);
		if (pipe(ready) == -1 || unshare(CLONE_NEWPID) == -1)
			_exit(3);
		if ((init = fork()) == 0)
			pid1_run(fds[1], ready[1], die);
		close(ready[1]);
		if (read(ready[0], &c, 1) == 1) {
			while (held[0] != -1 && read(held[0], &c, 1) > 0)
				continue;
			kill(init, SIGKILL);
		}
		waitpid(init, &status, 0);
		_exit(0);
	}
	close(fds[1]);
	if (held[0] != -1)
		close(held[0]);
	if (hold != NULL)
		*hold = held[1];
	n = read(fds[0], res, sizeof *res);
	close(fds[0]);
	if (n != (ssize_t)sizeof *res) {
		if (hold != NULL)
			close(*hold);
		waitpid(mid, &status, 0);
		return -1;
	}
	return mid;
}

/* Run pid1_run in a new PID namespace to its end; 0 when it reported. */
static int
in_pid_namespace(int die, struct tl_result *res)
{
	pid_t mid;

	if ((mid = pid1_start(die, NULL, res)) == -1)
		return -1;
	waitpid(mid, NULL, 0);
	return 0;
}

/*
 * A holder that is PID 1 of a PID namespace is SIGKILLed and the next
 * PID 1 asks at once: the files name its PID and were written just now,
 * but they are not its own.
 */
static void
test_pid1_restart(void)
{
	char path[PATH_MAX];
	struct tl_result r;

	if (geteuid() != 0) {
		ok(1, "# SKIP needs root for a PID namespace");
		return;
	}
	if (in_pid_namespace(1, &r) != 0) {
		ok(1, "# SKIP cannot make a PID namespace here");
		return;
	}
	is_int(r.v[0], 0, "PID 1 of a namespace takes the pty");
	is_int(r.v[2], 1, "as PID 1");
	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	is_str(tl_read(path), "         1\n", "its SIGKILL leaves files naming PID 1");
	if (in_pid_namespace(0, &r) != 0) {
		ok(0, "the second PID 1 reports");
		return;
	}
	is_int(r.v[0], 0, "the next PID 1 takes the pty at once (%s)", r.s[1]);
	is_int(r.v[1], 4, "breaking the four files its predecessor left");
	ok(tl_has(r.s[0], "does not hold it"), "the log says why: %.*s",
	    (int)strcspn(r.s[0], "\n"), r.s[0]);
	is_int(tl_dir_count(dir, NULL, 0), 0, "and gives them back");
	tl_dir_clear(dir);
}

/*
 * Two PID namespaces share the lock directory, each with a holder as PID 1
 * (two containers' daemons): the second finds files naming its own PID that
 * it does not hold, but they are kept open by the first: live, not broken.
 */
static void
test_two_pid1(void)
{
	char path[PATH_MAX];
	struct tl_result r;
	struct stat before, after;
	pid_t first;
	int hold = -1;

	if (geteuid() != 0) {
		ok(1, "# SKIP needs root for PID namespaces");
		return;
	}
	if ((first = pid1_start(1, &hold, &r)) == -1) {
		ok(1, "# SKIP cannot make a PID namespace here");
		return;
	}
	is_int(r.v[0], 0, "PID 1 of one namespace holds the pty");
	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	stat(path, &before);
	if (in_pid_namespace(0, &r) == 0) {
		is_int(r.v[0], -EBUSY, "PID 1 of another namespace is refused");
		ok(tl_has(r.s[1], path) && tl_has(r.s[1], "keeps the file open"),
		    "by the lock file, kept open by a process of pid unknown: %s",
		    r.s[1]);
		is_int(r.v[1], 0, "and breaks nothing");
	} else {
		ok(0, "the second PID 1 reports");
	}
	stat(path, &after);
	ok(before.st_ino == after.st_ino && tl_has(tl_read(path), " 1\n"),
	    "the first one's lock file is intact");
	close(hold);
	waitpid(first, NULL, 0);
	if (in_pid_namespace(0, &r) == 0)
		is_int(r.v[0], 0, "once the first is killed, the next PID 1 takes it");
	else
		ok(0, "the third PID 1 reports");
	tl_dir_clear(dir);
}

int
main(void)
{
	if (tl_pty_open(&pty) != 0 || tl_pty_open(&pty2) != 0) {
		printf("Bail out! no pty: %s\n", strerror(errno));
		return 1;
	}
	tl_dir_make(dir, sizeof dir, "own");
	lock_set_logger(tl_log, NULL);
	test_planted_own_pid();
	test_held_and_planted();
	test_fork();
	test_kept_open();
	test_tmp_names();
	test_named_fallback();
	test_pid1_restart();
	test_two_pid1();
	tl_dir_remove(dir);
	tl_pty_close(&pty2);
	tl_pty_close(&pty);
	return tap_done();
}
