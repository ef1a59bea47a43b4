/*
 * locks: when a lock file is stale and when it is not.  Dead PIDs, exited
 * (zombie) processes and reused PIDs are stale and broken, with a log line
 * naming the dead PID; live PIDs (also another user's: EPERM), ASCII or
 * binary, are not; empty or garbage files are fresh for a few seconds, then
 * stale.  File ages are set with utimensat, never waited for.
 */
#include <stdint.h>

#include "tests/unit/test-lock-common.h"

static char dir[PATH_MAX];
static struct tl_pty pty;

/*
 * Put content at the FHS name, check what probe says of it, then acquire:
 * a stale lock is broken (and logged), anything else refuses.
 */
static void
check_lock(const char *what, const void *data, size_t n, time_t mtime,
    enum lock_state want, pid_t logged)
{
	char path[PATH_MAX], *cause = NULL;
	struct lock_holder holder;
	struct lock *l = NULL;
	int ret;

	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	tl_write(path, data, n, mtime);
	is_int(tl_probe_state(dir, pty.path, LOCK_KIND_FHS, &holder), want,
	    "%s: probe says %s", what, lock_state_name(want));
	tl_log_reset();
	ret = lock_acquire(dir, pty.path, 0, &l, &holder, &cause);
	if (want == LOCK_STATE_STALE) {
		is_int(ret, 0, "%s: acquire breaks it (%s)", what, cause ? cause : "");
		is_str(tl_read(path), tl_our_line(), "%s: the lock is ours now", what);
		is_int(tl_log_count, 1, "%s: breaking it is logged once", what);
		ok(tl_has(tl_log_text, path) && tl_has(tl_log_text, pty.path) &&
		    (logged == 0 || tl_has_pid(tl_log_text, logged)),
		    "%s: the log names file, device and dead pid: %.*s", what,
		    (int)strcspn(tl_log_text, "\n"), tl_log_text);
		lock_release(l);
	} else {
		is_int(ret, -EBUSY, "%s: acquire refuses", what);
		is_int(holder.state, want, "%s: holder is %s", what,
		    lock_state_name(want));
		ok(tl_has(cause, path) && tl_has(cause, pty.path),
		    "%s: cause names lock file and device: %s", what,
		    cause ? cause : "(null)");
		is_int(tl_dir_count(dir, NULL, 0), 1, "%s: left as it was", what);
	}
	free(cause);
	tl_dir_clear(dir);
}

/* A dead PID (ESRCH) and an exited, unreaped one are stale. */
static void
test_dead(void)
{
	char text[32];
	siginfo_t si;
	pid_t pid;
	int n;

	pid = tl_dead_pid();
	n = snprintf(text, sizeof text, "%10ld\n", (long)pid);
	check_lock("dead pid", text, (size_t)n, 0, LOCK_STATE_STALE, pid);

	/* An exited process not yet reaped by its parent holds nothing. */
	if ((pid = fork()) == 0)
		_exit(0);
	waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
	n = snprintf(text, sizeof text, "%10ld\n", (long)pid);
	check_lock("zombie pid", text, (size_t)n, 0, LOCK_STATE_STALE, pid);
	waitpid(pid, NULL, 0);
}

/* A live PID, in ASCII or binary, holds the lock. */
static void
test_live(void)
{
	char text[32], *cause = NULL, path[PATH_MAX];
	struct lock_holder holder;
	struct lock *l = NULL;
	int32_t binary;
	pid_t live, dead;
	int n;

	live = tl_spawn("liveholder", NULL);
	n = snprintf(text, sizeof text, "%10ld\n", (long)live);
	check_lock("live pid", text, (size_t)n, 0, LOCK_STATE_LIVE, 0);

	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	tl_write(path, text, (size_t)n, 0);
	lock_acquire(dir, pty.path, 0, &l, &holder, &cause);
	is_int(holder.pid, live, "live pid: holder pid");
	is_str(holder.program, "liveholder", "live pid: holder program from /proc");
	ok(holder.since > 0, "live pid: since when (the file's mtime)");
	ok(tl_has_pid(cause, live) && tl_has(cause, "liveholder"),
	    "live pid: cause names pid and program: %s", cause ? cause : "");
	free(cause);
	tl_dir_clear(dir);

	n = snprintf(text, sizeof text, "%ld", (long)live);
	check_lock("live pid without newline", text, (size_t)n, 0,
	    LOCK_STATE_LIVE, 0);
	n = snprintf(text, sizeof text, "%10ld cu root\n", (long)live);
	check_lock("live pid followed by words", text, (size_t)n, 0,
	    LOCK_STATE_LIVE, 0);

	binary = (int32_t)live;
	check_lock("binary live pid", &binary, sizeof binary, 0,
	    LOCK_STATE_LIVE, 0);
	dead = tl_dead_pid();
	binary = (int32_t)dead;
	check_lock("binary dead pid", &binary, sizeof binary, 0,
	    LOCK_STATE_STALE, dead);
	tl_kill(live);
}

/*
 * A live PID whose process started after the lock was written did not
 * write it: the PID was reused.
 */
static void
test_reused(void)
{
	char text[32];
	time_t start;
	pid_t live;
	int n;

	live = tl_spawn("reusedpid", NULL);
	start = time(NULL);
	n = snprintf(text, sizeof text, "%10ld\n", (long)live);
	check_lock("mtime an hour before its process started", text, (size_t)n,
	    start - 3600, LOCK_STATE_STALE, live);
	check_lock("mtime after its process started", text, (size_t)n,
	    start + 1, LOCK_STATE_LIVE, 0);
	tl_kill(live);

	/*
	 * Our own PID in a file we do not hold: a previous process had our
	 * PID, or someone wrote it to keep the device from us.  Its age
	 * proves nothing either way.
	 */
	n = snprintf(text, sizeof text, "%10ld\n", (long)getpid());
	check_lock("our pid, older than we are", text, (size_t)n,
	    start - 3600 * 24 * 365, LOCK_STATE_STALE, getpid());
	check_lock("our pid, written now, not held", text, (size_t)n, 0,
	    LOCK_STATE_STALE, getpid());
}

/* Empty and unparsable files: fresh while young, stale when old. */
static void
test_unparsable(void)
{
	static const struct {
		const char *what;
		const char *data;
	} cases[] = {
		{ "empty", "" },
		{ "garbage text", "hello\n" },
		{ "digits then garbage", "  123abc\n" },
		{ "blank", "   \n" },
		{ "pid zero", "         0\n" },
		{ "negative", "-42\n" },
		{ "too big a pid", "99999999999\n" },
		{ "binary zero", "\0\0\0\0" },
	};
	char what[128];
	time_t now;
	size_t i, n;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = strcmp(cases[i].what, "binary zero") == 0 ? 4 :
		    strlen(cases[i].data);
		now = time(NULL);
		snprintf(what, sizeof what, "%s, written now", cases[i].what);
		check_lock(what, cases[i].data, n, now, LOCK_STATE_FRESH, 0);
		snprintf(what, sizeof what, "%s, a minute old", cases[i].what);
		check_lock(what, cases[i].data, n, now - 60, LOCK_STATE_STALE, 0);
	}
	now = time(NULL);
	check_lock("empty, dated an hour ahead", "", 0, now + 3600,
	    LOCK_STATE_STALE, 0);
}

/* Reads the lock as another user; v[0] is the state of the FHS holder. */
static void
probe_as_other(struct tl_result *r, void *arg)
{
	(void)arg;
	r->v[0] = tl_probe_state(dir, pty.path, LOCK_KIND_FHS, NULL);
	r->v[1] = kill(getppid(), 0) == -1 ? errno : 0;
}

/* EPERM from kill(): the process exists and belongs to someone else. */
static void
test_eperm(void)
{
	char path[PATH_MAX];
	struct tl_result r;

	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	if (geteuid() == 0) {
		tl_write_pid(path, getpid(), 0);
		if (tl_run_as(TL_NOBODY, probe_as_other, NULL, &r) == 0) {
			is_int(r.v[1], EPERM, "as nobody, kill(root's pid) is EPERM");
			is_int(r.v[0], LOCK_STATE_LIVE, "and its lock is live, not stale");
		} else {
			ok(0, "run as nobody");
		}
	} else if (kill(1, 0) == -1 && errno == EPERM) {
		tl_write_pid(path, 1, 0);
		is_int(tl_probe_state(dir, pty.path, LOCK_KIND_FHS, NULL),
		    LOCK_STATE_LIVE, "pid 1 (EPERM to us) is live, not stale");
	} else {
		ok(1, "# SKIP no process of another user to name");
	}
	tl_dir_clear(dir);
}

/* A stale lock under every convention at once is broken under each. */
static void
test_all_stale(void)
{
	char path[PATH_MAX];
	struct lock *l = NULL;
	pid_t dead;
	int k, ret;

	dead = tl_dead_pid();
	for (k = LOCK_KIND_FHS; k <= LOCK_KIND_SVR4; k++) {
		tl_lock_path(path, sizeof path, dir, k, pty.path);
		tl_write_pid(path, dead, time(NULL) - 3600);
	}
	tl_log_reset();
	ret = lock_acquire(dir, pty.path, 0, &l, NULL, NULL);
	is_int(ret, 0, "stale under all four names: acquired");
	is_int(tl_log_count, 4, "four breaks logged");
	for (k = LOCK_KIND_FHS; k <= LOCK_KIND_SVR4; k++) {
		tl_lock_path(path, sizeof path, dir, k, pty.path);
		is_str(tl_read(path), tl_our_line(), "%s lock is ours",
		    lock_kind_name(k));
	}
	is_int(tl_dir_count(dir, NULL, 0), 4, "no temporary file left behind");
	lock_release(l);
	is_int(tl_dir_count(dir, NULL, 0), 0, "released");
}

int
main(void)
{
	if (tl_pty_open(&pty) != 0) {
		printf("Bail out! no pty: %s\n", strerror(errno));
		return 1;
	}
	tl_dir_make(dir, sizeof dir, "stale");
	lock_set_logger(tl_log, NULL);
	test_dead();
	test_live();
	test_reused();
	test_unparsable();
	test_eperm();
	test_all_stale();
	tl_dir_remove(dir);
	tl_pty_close(&pty);
	return tap_done();
}
