/*
 * locks: a hypervisor's pid file (lock_pid_file()).  A decimal PID, perhaps
 * with a newline, in a regular file only its owner may write; anything else
 * is refused with a cause that names the file.  A file longer than a PID is
 * refused without being read past the buffer that holds its first bytes.
 */
#include "tests/unit/test-lock-common.h"

static char dir[PATH_MAX];
static char path[PATH_MAX];

/* Write the pid file with these bytes and read it back. */
static int
read_pid_file(const void *data, size_t n, pid_t *pid, char **cause)
{
	struct timespec written;

	*pid = 0;
	*cause = NULL;
	if (tl_write(path, data, n, 0) == -1) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return lock_pid_file(path, pid, &written, cause);
}

/* A refusal: -EINVAL, and a cause that names the file. */
static void
check_refused(const void *data, size_t n, const char *what)
{
	char *cause;
	pid_t pid;

	is_int(read_pid_file(data, n, &pid, &cause), -EINVAL,
	    "%s: refused", what);
	ok(tl_has(cause, path) && tl_has(cause, "no process id"),
	    "%s: the cause names the file: %s", what, cause ? cause : "(null)");
	free(cause);
}

/* The forms a hypervisor writes, and its mtime as when it was written. */
static void
test_good(void)
{
	struct timespec written;
	struct stat st;
	char *cause = NULL, text[64];
	pid_t pid = 0;

	is_int(read_pid_file("4242\n", 5, &pid, &cause), 0, "4242 and a newline");
	is_int(pid, 4242, "gives 4242");
	free(cause);
	is_int(read_pid_file("4242", 4, &pid, &cause), 0, "no newline");
	is_int(pid, 4242, "gives 4242");
	free(cause);
	snprintf(text, sizeof text, "%31d\n", 4194304);
	is_int(read_pid_file(text, 32, &pid, &cause), 0,
	    "the highest PID, padded to the longest pid file (32 bytes)");
	is_int(pid, 4194304, "gives 4194304");
	free(cause);
	if (stat(path, &st) == 0 &&
	    lock_pid_file(path, &pid, &written, &cause) == 0)
		ok(written.tv_sec == st.st_mtim.tv_sec &&
		    written.tv_nsec == st.st_mtim.tv_nsec,
		    "*written is the file's mtime");
	else
		ok(0, "*written is the file's mtime");
	free(cause);
}

/*
 * Longer files.  Reading 33 bytes into a buffer of 33 once put the
 * terminating NUL one byte past it (a fuzzer found it; the sanitizer build
 * of this test sees it).
 */
static void
test_too_long(void)
{
	static const size_t sizes[] = { 33, 34, 64, 4096 };
	char text[4096], what[64];
	size_t i;

	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		memset(text, ' ', sizes[i]);
		memcpy(text + sizes[i] - 5, "4242\n", 5);
		snprintf(what, sizeof what, "a PID padded to %zu bytes", sizes[i]);
		check_refused(text, sizes[i], what);
	}
}

/* What is no PID, and files that are not trusted. */
static void
test_refused(void)
{
	char *cause = NULL, target[PATH_MAX];
	pid_t pid;

	check_refused("", 0, "empty");
	check_refused("pid\n", 4, "a word");
	check_refused("0\n", 2, "zero");
	check_refused("-4242\n", 6, "negative");
	check_refused("4194305\n", 8, "above the highest PID");
	check_refused("4242x\n", 6, "a PID and more");
	check_refused("4242\0\n", 6, "a PID and a NUL");

	tl_write(path, "4242\n", 5, 0);
	chmod(path, 0664);
	is_int(lock_pid_file(path, &pid, &(struct timespec){ 0, 0 }, &cause),
	    -EPERM, "a group-writable pid file is not trusted");
	ok(tl_has(cause, path), "the cause names it: %s", cause ? cause : "(null)");
	free(cause);
	cause = NULL;

	TL_FMT(target, sizeof target, "%s.target", path);
	tl_write(target, "4242\n", 5, 0);
	unlink(path);
	if (symlink(target, path) == -1) {
		printf("Bail out! symlink: %s\n", strerror(errno));
		exit(1);
	}
	is_int(lock_pid_file(path, &pid, &(struct timespec){ 0, 0 }, &cause),
	    -ELOOP, "a symbolic link is not followed");
	ok(tl_has(cause, "symbolic link"), "the cause says so: %s",
	    cause ? cause : "(null)");
	free(cause);
	unlink(path);
	unlink(target);
}

int
main(void)
{
	tl_dir_make(dir, sizeof dir, "pid-file");
	TL_FMT(path, sizeof path, "%s/vm.pid", dir);
	test_good();
	test_too_long();
	test_refused();
	tl_dir_remove(dir);
	return tap_done();
}
