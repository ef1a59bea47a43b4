/*
 * locks: names under each convention, taking a real pty under all of them,
 * what probe shows, release of only what is ours, and rollback when a later
 * convention refuses.
 */
#include <sys/sysmacros.h>

#include "tests/unit/test-lock-common.h"

static char dir[PATH_MAX];
static struct tl_pty pty;

/* The conventions name a device as the peers do (LOCKS.md). */
static void
test_names(void)
{
	char buf[NAME_MAX + 1], want[64];
	struct stat st;

	lock_name(LOCK_KIND_FHS, "/dev/pts/3", buf, sizeof buf);
	is_str(buf, "LCK..pts_3", "FHS name of /dev/pts/3 (minicom)");
	lock_name(LOCK_KIND_CU, "/dev/pts/3", buf, sizeof buf);
	is_str(buf, "LCK..3", "cu name of /dev/pts/3");
	lock_name(LOCK_KIND_LIBVIRT, "/dev/pts/3", buf, sizeof buf);
	is_str(buf, "LCK.._pts_3", "libvirt name of /dev/pts/3");
	lock_name(LOCK_KIND_FHS, "/dev/ttyS0", buf, sizeof buf);
	is_str(buf, "LCK..ttyS0", "FHS name of /dev/ttyS0");
	lock_name(LOCK_KIND_CU, "/dev/ttyS0", buf, sizeof buf);
	is_str(buf, "LCK..ttyS0", "cu name of /dev/ttyS0");
	lock_name(LOCK_KIND_LIBVIRT, "/dev/ttyS0", buf, sizeof buf);
	is_str(buf, "LCK.._ttyS0", "libvirt name of /dev/ttyS0");
	lock_name(LOCK_KIND_FHS, "/dev/serial/by-id/usb-x", buf, sizeof buf);
	is_str(buf, "LCK..serial_by-id_usb-x", "FHS name keeps the path, / as _");

	stat(pty.path, &st);
	snprintf(want, sizeof want, "LCK.%03u.%03u", major(st.st_rdev),
	    minor(st.st_rdev));
	is_int(lock_name(LOCK_KIND_SVR4, pty.path, buf, sizeof buf), 0,
	    "SVR4 name of a real pty");
	is_str(buf, want, "SVR4 name is major.minor of the device");
	is_int(lock_name(LOCK_KIND_SVR4, "/nonexistent/tty", buf, sizeof buf),
	    -ENOENT, "SVR4 name of a missing device: -ENOENT");
	is_int(lock_name(LOCK_KIND_FLOCK, pty.path, buf, sizeof buf), -EINVAL,
	    "flock has no lock file name");
	is_int(lock_name(LOCK_KIND_FHS, "/dev/pts/3", buf, 5), -ENAMETOOLONG,
	    "a short buffer is refused");
}

/* Acquire a real pty: four files in HDB format, 0644, plus the flock. */
static void
test_acquire(void)
{
	struct lock_holder h[16], holder;
	char path[PATH_MAX], *cause = NULL;
	struct lock *l = NULL, *l2 = NULL;
	struct stat st;
	size_t n = 0, i;
	mode_t old;
	int fd, k, ret;

	old = umask(077); /* the files must be world-readable all the same */
	ret = lock_acquire(dir, pty.path, 0, &l, &holder, &cause);
	umask(old);
	is_int(ret, 0, "acquire a free pty (%s)", cause ? cause : "no cause");
	free(cause);
	if (l == NULL)
		return;
	is_str(lock_device(l), pty.path, "the lock is for the pty");
	ok(lock_fd(l) >= 0, "the lock holds the device open");
	is_int(lock_check_only(l), 0, "a writable directory: real locks");
	for (k = LOCK_KIND_FHS; k <= LOCK_KIND_SVR4; k++) {
		tl_lock_path(path, sizeof path, dir, k, pty.path);
		is_str(tl_read(path), tl_our_line(), "%s lock %s holds %%10d\\n of our pid",
		    lock_kind_name(k), path);
		ok(lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & 07777) == 0644, "%s lock is a 0644 regular file",
		    lock_kind_name(k));
	}
	is_int(tl_dir_count(dir, NULL, 0), 4, "nothing but the four lock files");

	fd = open(pty.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ok(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK,
	    "the device is flocked: picocom and tio are kept out");
	close(fd);

	is_int(lock_probe(dir, pty.path, h, 16, &n, NULL), 0, "probe");
	is_int(n, 5, "probe: five holders, one per convention");
	for (i = 0; i < n && i < 16; i++) {
		ok(h[i].state == LOCK_STATE_OURS && h[i].pid == getpid() &&
		    h[i].program[0] != '\0', "probe: %s is ours (%s %ld %s)",
		    lock_kind_name(h[i].kind), lock_state_name(h[i].state),
		    (long)h[i].pid, h[i].program);
	}

	/* The same process asking again is refused: a second open would share it. */
	cause = NULL;
	ret = lock_acquire(dir, pty.path, 0, &l2, &holder, &cause);
	is_int(ret, -EBUSY, "a device we hold is busy to ourselves too");
	is_int(holder.state, LOCK_STATE_OURS, "holder: ours");
	ok(tl_has(cause, pty.path) && tl_has_pid(cause, getpid()),
	    "cause names device and our pid: %s", cause ? cause : "(null)");
	free(cause);
	is_int(tl_dir_count(dir, NULL, 0), 4, "the refusal left our four files alone");

	lock_release(l);
	is_int(tl_dir_count(dir, NULL, 0), 0, "release removes every lock file");
	fd = open(pty.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ok(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "release drops the flock");
	close(fd);
	n = 99;
	is_int(lock_probe(dir, pty.path, h, 16, &n, NULL), 0, "probe a free pty");
	is_int(n, 0, "probe: nobody holds it");
}

/* A symlink to the device is the device: same names, same flock. */
static void
test_symlink_device(void)
{
	char link[PATH_MAX], path[PATH_MAX], other[PATH_MAX];
	struct lock *l = NULL, *l2 = NULL;
	int ret;

	TL_FMT(other, sizeof other, "%s.by-id", dir);
	mkdir(other, 0755);
	TL_FMT(link, sizeof link, "%s/usb-console", other);
	symlink(pty.path, link);
	ret = lock_acquire(dir, link, 0, &l, NULL, NULL);
	is_int(ret, 0, "acquire through a symlink");
	if (l == NULL)
		goto out;
	is_str(lock_device(l), pty.path, "the lock names the device it resolves to");
	tl_lock_path(path, sizeof path, dir, LOCK_KIND_FHS, pty.path);
	is_str(tl_read(path), tl_our_line(), "lock file named after the device");
	ret = lock_acquire(dir, pty.path, 0, &l2, NULL, NULL);
	is_int(ret, -EBUSY, "the device itself is busy while held by its link");
	lock_release(l);
	lock_release(l2);
out:
	unlink(link);
	rmdir(other);
	is_int(tl_dir_count(dir, NULL, 0), 0, "nothing left behind");
}

/*
 * A file that is not a device: no SVR4 name, and the name that two
 * conventions give it is held once.
 */
static void
test_plain_file(void)
{
	char file[PATH_MAX], names[256];
	struct lock *l = NULL;
	int ret;

	TL_FMT(file, sizeof file, "/tmp/test-lock-plain.%ld", (long)getpid());
	tl_write(file, "", 0, 0);
	ret = lock_acquire(dir, file, LOCK_F_NOOPEN, &l, NULL, NULL);
	is_int(ret, 0, "acquire a plain file without opening it");
	if (l != NULL) {
		is_int(lock_fd(l), -1, "LOCK_F_NOOPEN: no descriptor");
		/* FHS and libvirt both give LCK.._tmp_...: one file, not two. */
		is_int(tl_dir_count(dir, names, sizeof names), 2,
		    "two distinct names, each held once:%s", names);
		lock_release(l);
	}
	is_int(tl_dir_count(dir, NULL, 0), 0, "released");
	unlink(file);
}

/* Release removes only files that still carry our PID. */
static void
test_release_only_ours(void)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct lock *l = NULL;
	pid_t other;

	other = tl_spawn("otherholder", NULL);
	if (lock_acquire(dir, pty.path, 0, &l, NULL, NULL) != 0) {
		ok(0, "acquire for the release test");
		tl_kill(other);
		return;
	}
	/* Someone replaces our cu lock with theirs (a new file, renamed in). */
	tl_lock_path(path, sizeof path, dir, LOCK_KIND_CU, pty.path);
	TL_FMT(tmp, sizeof tmp, "%s/replacement", dir);
	tl_write_pid(tmp, other, 0);
	rename(tmp, path);
	lock_release(l);
	is_int(tl_dir_count(dir, NULL, 0), 1, "release kept the one that is not ours");
	ok(tl_has_pid(tl_read(path), other), "and it still names its holder");
	unlink(path);
	tl_kill(other);
}

/* A live lock under a later convention: those taken before are given back. */
static void
test_rollback_files(enum lock_kind kind)
{
	char path[PATH_MAX], names[512], *cause = NULL;
	struct lock_holder holder;
	struct lock *l = NULL;
	pid_t holderpid;
	int ret;

	holderpid = tl_spawn("peerholder", NULL);
	tl_lock_path(path, sizeof path, dir, kind, pty.path);
	tl_write_pid(path, holderpid, 0);
	ret = lock_acquire(dir, pty.path, 0, &l, &holder, &cause);
	is_int(ret, -EBUSY, "%s lock of a live process: refused",
	    lock_kind_name(kind));
	is_int(holder.kind, kind, "holder: the %s convention", lock_kind_name(kind));
	is_int(holder.state, LOCK_STATE_LIVE, "holder: live");
	is_int(holder.pid, holderpid, "holder: its pid");
	is_str(holder.program, "peerholder", "holder: its program");
	is_str(holder.path, path, "holder: the lock file");
	ok(tl_has(cause, pty.path) && tl_has(cause, path) &&
	    tl_has_pid(cause, holderpid) && tl_has(cause, "peerholder"),
	    "cause names device, lock file, pid, program: %s",
	    cause ? cause : "(null)");
	free(cause);
	is_int(tl_dir_count(dir, names, sizeof names), 1,
	    "rollback: only the peer's lock is left:%s", names);
	ok(tl_has_pid(tl_read(path), holderpid), "the peer's lock is untouched");
	if (l != NULL)
		lock_release(l);
	unlink(path);
	tl_kill(holderpid);
}

/* A flock held by a peer fails the last step: all four files are given back. */
static void
test_rollback_flock(void)
{
	char names[512], *cause = NULL;
	struct lock_holder holder;
	struct lock *l = NULL;
	pid_t peer;
	int ret;

	peer = tl_spawn("flockpeer", pty.path);
	ok(peer > 0, "a peer flocks the pty as picocom does");
	ret = lock_acquire(dir, pty.path, 0, &l, &holder, &cause);
	is_int(ret, -EBUSY, "flocked device: refused");
	is_int(holder.kind, LOCK_KIND_FLOCK, "holder: flock");
	is_int(holder.pid, peer, "holder: the peer's pid, from /proc/locks");
	is_str(holder.program, "flockpeer", "holder: the peer's program");
	ok(tl_has(cause, pty.path) && tl_has_pid(cause, peer) &&
	    tl_has(cause, "flockpeer"), "cause: %s", cause ? cause : "(null)");
	free(cause);
	is_int(tl_dir_count(dir, names, sizeof names), 0,
	    "rollback: the four lock files taken first are gone:%s", names);
	is_int(tl_probe_state(dir, pty.path, LOCK_KIND_FLOCK, &holder),
	    LOCK_STATE_LIVE, "probe shows the flock as live");
	is_int(holder.pid, peer, "probe names the flock holder");

	ret = lock_acquire(dir, pty.path, LOCK_F_NOFLOCK, &l, NULL, NULL);
	is_int(ret, 0, "LOCK_F_NOFLOCK ignores the flock");
	lock_release(l);
	tl_kill(peer);
	l = NULL;
	ret = lock_acquire(dir, pty.path, 0, &l, NULL, NULL);
	is_int(ret, 0, "the peer gone, the device is free");
	lock_release(l);
	is_int(tl_dir_count(dir, NULL, 0), 0, "nothing left behind");
}

/* A forked child releasing its copy must not take the parent's lock away. */
static void
test_fork_release(void)
{
	struct lock *l = NULL;
	char path[PATH_MAX];
	pid_t pid;
	int fd;

	if (lock_acquire(dir, pty.path, 0, &l, NULL, NULL) != 0) {
		ok(0, "acquire for the fork test");
		return;
	}
	if ((pid = fork()) == 0) {
		lock_release(l);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	is_int(tl_dir_count(dir, NULL, 0), 4, "a child's release leaves the files");
	tl_lock_path(path, sizeof path, dir, LOCK_KIND_SVR4, pty.path);
	is_str(tl_read(path), tl_our_line(), "still ours");
	fd = open(pty.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ok(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == -1,
	    "a child's release leaves the flock");
	close(fd);
	lock_release(l);
	is_int(tl_dir_count(dir, NULL, 0), 0, "the parent's release removes them");
}

/* Errors name what they are about. */
static void
test_errors(void)
{
	struct lock *l = NULL;
	char *cause = NULL;
	int ret;

	ret = lock_acquire("/nonexistent-lock-dir", pty.path, 0, &l, NULL, &cause);
	is_int(ret, -ENOENT, "missing lock directory: -ENOENT");
	ok(tl_has(cause, "/nonexistent-lock-dir"), "cause names it: %s",
	    cause ? cause : "(null)");
	free(cause);
	cause = NULL;
	ret = lock_acquire(dir, "/dev/pts/nonexistent", 0, &l, NULL, &cause);
	is_int(ret, -ENOENT, "missing device: -ENOENT");
	ok(tl_has(cause, "/dev/pts/nonexistent"), "cause names it: %s",
	    cause ? cause : "(null)");
	free(cause);
	ok(l == NULL, "no lock on failure");
	is_int(tl_dir_count(dir, NULL, 0), 0, "nothing left behind");
}

int
main(void)
{
	if (tl_pty_open(&pty) != 0) {
		printf("Bail out! no pty: %s\n", strerror(errno));
		return 1;
	}
	tl_dir_make(dir, sizeof dir, "acquire");
	test_names();
	test_acquire();
	test_symlink_device();
	test_plain_file();
	test_release_only_ours();
	test_rollback_files(LOCK_KIND_LIBVIRT);
	test_rollback_files(LOCK_KIND_SVR4);
	test_rollback_flock();
	test_fork_release();
	test_errors();
	tl_dir_remove(dir);
	tl_pty_close(&pty);
	return tap_done();
}
