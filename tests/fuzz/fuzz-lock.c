/*
 * libFuzzer harness for the lock-file reader of locks/: the input is what
 * some other program left in a world-writable lock directory.  It is given
 * to the byte parser as it is, and written to a lock file in a private
 * directory that lock_entry_read() then opens, reads and judges the way
 * lock_acquire() and lock_probe() do; the same file is then read as a
 * hypervisor's pid file (lock_pid_file()).  Nothing may crash or read out of
 * bounds; a PID is never above what a kernel hands out and always stands in
 * the file as written; every entry gets a state and a description that
 * matches what the file is.  Naming a PID only costs a kill(pid, 0) and a
 * look at /proc: no signal is ever sent.
 *
 * Build: cmake -DCMAKE_C_COMPILER=clang -DCONBROKER_FUZZ=ON, then
 * ./fuzz-lock -max_total_time=60 NEW-DIR tests/fuzz/corpus-lock
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "locks/lock-internal.h"

#define FUZZ_LOCK_NAME "LCK..fuzz"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_lock_dir[4096];
static int fuzz_lock_dirfd = -1;

/* Remove the private directory when the run ends. */
static void fuzz_lock_cleanup(void)
{
	if (fuzz_lock_dirfd >= 0) {
		unlinkat(fuzz_lock_dirfd, FUZZ_LOCK_NAME, 0);
		close(fuzz_lock_dirfd);
	}
	if (fuzz_lock_dir[0] != '\0')
		rmdir(fuzz_lock_dir);
}

/* A private lock directory for the whole run, removed when it ends. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc; (void)argv;
	snprintf(fuzz_lock_dir, sizeof(fuzz_lock_dir), "%s/fuzz-lock.XXXXXX",
	    tmp != NULL && *tmp == '/' ? tmp : "/tmp");
	if (mkdtemp(fuzz_lock_dir) == NULL) {
		perror(fuzz_lock_dir);
		exit(1);
	}
	fuzz_lock_dirfd = open(fuzz_lock_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fuzz_lock_dirfd < 0) {
		perror(fuzz_lock_dir);
		exit(1);
	}
	atexit(fuzz_lock_cleanup);
	return 0;
}

/*
 * A PID the parser found must be written in the file: after blanks, in
 * decimal with leading zeros or none, or as the four bytes of a binary int.
 */
static void fuzz_lock_parse(const uint8_t *data, size_t size)
{
	pid_t pid = lock_entry_parse(data, size), again;
	int32_t binary;
	char text[16];
	size_t i = 0, len;

	if (pid < 0 || pid > LOCK_PID_MAX)
		abort();
	if (pid == 0)
		return;
	if (size == sizeof(binary)) {
		memcpy(&binary, data, sizeof(binary));
		if (binary == pid)
			return;
	}
	while (i < size && (data[i] == ' ' || data[i] == '\t'))
		i++;
	while (i < size && data[i] == '0')
		i++;
	len = (size_t)snprintf(text, sizeof(text), "%d", (int)pid);
	if (size - i < len || memcmp(data + i, text, len) != 0 ||
	    (size - i > len && !isspace(data[i + len])))
		abort();

	/* What this parser reads, it reads back from the ways PIDs are written. */
	len = (size_t)snprintf(text, sizeof(text), "%10d\n", (int)pid);
	if (lock_entry_parse((const unsigned char *)text, len) != pid)
		abort();
	binary = (int32_t)pid;
	again = lock_entry_parse((const unsigned char *)&binary, sizeof(binary));
	if (again != pid)
		abort();
}

/* Write the input as the lock file, replacing the last one. */
static int fuzz_lock_write(const uint8_t *data, size_t size)
{
	size_t done = 0;
	ssize_t n;
	int fd;

	unlinkat(fuzz_lock_dirfd, FUZZ_LOCK_NAME, 0);
	fd = openat(fuzz_lock_dirfd, FUZZ_LOCK_NAME,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	while (done < size) {
		n = write(fd, data + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	return done == size ? 0 : -1;
}

/* The entry judged from the file must agree with the bytes in it. */
static void fuzz_lock_read(const uint8_t *data, size_t size)
{
	struct lock_entry e;
	char text[512];
	pid_t pid;

	if (fuzz_lock_write(data, size) < 0)
		abort();
	if (lock_entry_read(fuzz_lock_dirfd, FUZZ_LOCK_NAME, &e) != 0)
		abort();
	if (e.size != (off_t)size)
		abort();
	if (size > LOCK_MAX_BYTES) {
		if (e.state != LOCK_STATE_HOSTILE || e.why != LOCK_WHY_HUGE)
			abort();
	} else if ((pid = lock_entry_parse(data, size)) > 0) {
		if (e.pid != pid || e.state == LOCK_STATE_HOSTILE ||
		    e.state == LOCK_STATE_FRESH || e.why > LOCK_WHY_REUSED)
			abort();
	} else {
		/* Just written: an unparsable lock is a peer mid-write. */
		if (e.pid != 0 || e.state != LOCK_STATE_FRESH ||
		    e.why != (size == 0 ? LOCK_WHY_EMPTY : LOCK_WHY_GARBAGE))
			abort();
	}
	text[0] = '\0';
	lock_entry_describe(&e, text, sizeof(text));
	if (text[0] == '\0' || memchr(text, '\0', sizeof(text)) == NULL)
		abort();
	lock_entry_why_stale(&e, text, sizeof(text));
	if (text[0] == '\0')
		abort();
}

/*
 * The same file as a hypervisor's pid file (ours, mode 0644: trusted): a
 * decimal PID in range with blanks or newlines after it, or refused with a
 * cause.
 */
static void fuzz_lock_pid_file(const uint8_t *data, size_t size)
{
	char path[sizeof(fuzz_lock_dir) + sizeof(FUZZ_LOCK_NAME) + 1];
	char text[16], *cause = NULL;
	struct timespec written;
	pid_t pid = 0;
	size_t len;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", fuzz_lock_dir, FUZZ_LOCK_NAME);
	ret = lock_pid_file(path, &pid, &written, &cause);
	if (ret == 0) {
		len = (size_t)snprintf(text, sizeof(text), "%d", (int)pid);
		if (pid <= 0 || pid > LOCK_PID_MAX || cause != NULL ||
		    size > 32 || memmem(data, size, text, len) == NULL)
			abort();
	} else if (ret != -EINVAL || cause == NULL || *cause == '\0') {
		abort();
	}
	free(cause);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_lock_parse(data, size);
	fuzz_lock_read(data, size);
	fuzz_lock_pid_file(data, size);
	return 0;
}
