/* spawn: start a command on a new pty, as session leader with the pty as its
 * controlling terminal, the way a container runtime starts a console. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/daemon.h"

extern char **environ;

/* The environment of the child: ours, with TERM set for a terminal. */
static char **spawn_env(void)
{
	size_t n = 0, i, j = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = xcalloc(n + 2, sizeof(*env));
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "TERM=", 5) != 0)
			env[j++] = environ[i];
	env[j++] = (char *)"TERM=xterm-256color";
	env[j] = NULL;
	return env;
}

/* Find argv[0] on PATH before fork, since the child may only exec. */
static char *spawn_resolve(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *full;

	if (strchr(name, '/') != NULL)
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	copy = xstrdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		full = xasprintf("%s/%s", dir, name);
		if (access(full, X_OK) == 0) {
			free(copy);
			return full;
		}
		free(full);
	}
	free(copy);
	return NULL;
}

/* In the child: become session leader, take the pty, exec.  Never returns. */
static void spawn_child(const char *slave, const char *file, char *const argv[],
    char **env)
{
	sigset_t none;
	int fd, sig;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	if (setsid() < 0)
		_exit(127);
	fd = open(slave, O_RDWR);
	if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0)
		_exit(127);
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	if (fd > 2)
		close(fd);
	closefrom(3);
	execve(file, argv, env);
	_exit(127);
}

/* Allocate a pty, start argv on it; the master comes back non-blocking. */
int spawn_console(char *const argv[], int *master, pid_t *pid, char **cause)
{
	char **env = NULL;
	char *file = NULL, slave[64];
	int m = -1, rc;
	pid_t child;

	if (argv == NULL || argv[0] == NULL) {
		*cause = xasprintf("no command to spawn");
		return -EINVAL;
	}
	file = spawn_resolve(argv[0]);
	if (file == NULL) {
		*cause = xasprintf("cannot spawn %s: not found or not executable", argv[0]);
		rc = -ENOENT;
		goto out;
	}
	env = spawn_env();
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
	    ptsname_r(m, slave, sizeof(slave)) != 0) {
		rc = -errno;
		*cause = xasprintf("cannot allocate a pty for %s: %s", argv[0], strerror(errno));
		goto out;
	}
	child = fork();
	if (child < 0) {
		rc = -errno;
		*cause = xasprintf("cannot fork for %s: %s", argv[0], strerror(errno));
		goto out;
	}
	if (child == 0)
		spawn_child(slave, file, argv, env);
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
	*master = m;
	*pid = child;
	m = -1;
	rc = 0;
out:
	if (m >= 0)
		close(m);
	free(env);
	free(file);
	return rc;
}
