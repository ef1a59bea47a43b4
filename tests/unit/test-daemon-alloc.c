/*
 * The daemon's allocation policy: memory that cannot be had stops the daemon
 * with a message at once, instead of leaving a NULL table behind for the
 * next lookup (the console index after a reload, for one).
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "tests/tap.h"

/* An allocation too large for any host must come back NULL, under the
 * sanitizers too, so that the daemon's own handling is what is tested. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* Run fn in a child; its stderr in buf, its wait status returned. */
static int run_child(void (*fn)(void *), void *arg, char *buf, size_t len)
{
	int fds[2], status = 0;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	while (got + 1 < len && (n = read(fds[0], buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return status;
}

/* A registry with one domain that claims more consoles than memory holds. */
static struct conf_console huge_console;
static struct conf_domain huge_domain = {
	.name = (char *)"huge",
	.consoles = &huge_console,
	.nconsoles = SIZE_MAX / 4,
};
static struct conf huge_conf = { .domains = &huge_domain, .ndomains = 1 };

static void index_then_lookup(void *arg)
{
	struct server *s = arg;

	server_index(s);
	/* Reached only when the index was built: a lookup must then work. */
	(void)server_find_console(s, &huge_domain, &huge_console);
}

static void realloc_overflow(void *arg)
{
	(void)arg;
	(void)xreallocarray(NULL, SIZE_MAX / 2, 4);
}

int main(void)
{
	struct conf_console one_console = { .alias = (char *)"serial0" };
	struct conf_domain one_domain = { .name = (char *)"vm", .consoles = &one_console,
	    .nconsoles = 1 };
	struct conf one_conf = { .domains = &one_domain, .ndomains = 1 };
	struct server s;
	char err[4096];
	int status;

	memset(&s, 0, sizeof(s));
	s.conf = &one_conf;
	server_index(&s);
	ok(s.index != NULL && s.domain_base != NULL, "an index is built for a small registry");
	ok(server_find_console(&s, &one_domain, &one_console) == NULL,
	    "a console without an object is not found");
	server_free(&s);

	memset(&s, 0, sizeof(s));
	s.conf = &huge_conf;
	status = run_child(index_then_lookup, &s, err, sizeof(err));
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	    "an index that does not fit in memory stops the daemon (status %#x)", status);
	ok(strstr(err, "conbrokerd: out of memory") != NULL,
	    "and it says why, instead of crashing on the next lookup");
	if (strstr(err, "out of memory") == NULL)
		diag("stderr: %s", err);

	status = run_child(realloc_overflow, NULL, err, sizeof(err));
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
	    strstr(err, "conbrokerd: out of memory") != NULL,
	    "an array size that overflows is out of memory, not a short buffer");
	return tap_done();
}
