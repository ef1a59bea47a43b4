/*
 * ttystate: a device's own settings, kept on disk while the daemon holds it.
 *
 * The daemon puts every pty it opens in raw mode and gives the device its
 * termios and window size back when it lets go.  A daemon that is killed
 * cannot: the devices stay raw, and the next daemon would take raw for the
 * device's own settings.  So before a device is changed, its settings go to
 * a file in the state directory (written whole, then renamed, and synced),
 * which is removed once they are back.  At start, the daemon puts back the
 * settings that a dead predecessor left behind, for each device that is
 * still the same domain's and that no other program holds now, before it
 * opens anything itself.
 *
 * One file a device, named after its device number: "tty-136-5".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daemon/daemon.h"

#define TTYSTATE_MAGIC "conbroker tty state 1"
#define TTYSTATE_MAX 4096

/* What a state file holds. */
struct ttystate {
	pid_t daemon;                /* the daemon that changed the device */
	unsigned long long started;  /* its start, in ticks since boot */
	char device[256];
	unsigned int maj, min;       /* the device's number */
	pid_t owner;                 /* the hypervisor proven to hold it, or 0 */
	struct termios termios;
	struct winsize winsize;
	int winsize_valid;
};

/* This daemon's identity, which a restarted daemon with its PID lacks. */
static unsigned long long ttystate_self_started(void)
{
	static unsigned long long ticks;

	if (ticks == 0 && lock_process_start(getpid(), &ticks) < 0)
		ticks = 0;
	return ticks;
}

static void ttystate_name(char *buf, size_t len, dev_t rdev)
{
	snprintf(buf, len, "tty-%u-%u", major(rdev), minor(rdev));
}

/* The state directory, made when it is missing: 0 or a negative errno. */
static int ttystate_dir(const struct conf *conf)
{
	if (mkdir(conf->state_dir, 0700) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}

/* Write the file whole under a temporary name, sync it, then rename it. */
static int ttystate_write(const char *dir, const char *name, const char *text)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	size_t len = strlen(text);
	int fd, dfd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.%ld", dir, name, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		rc = errno ? -errno : -EIO;
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int ttystate_save(const struct conf *conf, const char *device, int fd, pid_t owner,
    const struct termios *t, const struct winsize *w, int w_valid, char **cause)
{
	char name[64], text[1024], cc[2 * NCCS + 1];
	struct stat st;
	size_t i;
	int rc;

	if (conf->state_dir == NULL)
		return -ENOTDIR;
	if (fstat(fd, &st) < 0)
		return -errno;
	for (i = 0; i < NCCS; i++)
		snprintf(cc + 2 * i, 3, "%02x", t->c_cc[i]);
	snprintf(text, sizeof(text), TTYSTATE_MAGIC "\n"
	    "daemon %ld %llu\ndevice %s\nrdev %u %u\nowner %ld\n"
	    "termios %x %x %x %x %u %u %u %s\nwinsize %d %u %u %u %u\n",
	    (long)getpid(), ttystate_self_started(), device, major(st.st_rdev),
	    minor(st.st_rdev), (long)owner, t->c_iflag, t->c_oflag, t->c_cflag,
	    t->c_lflag, t->c_line, (unsigned)cfgetispeed(t), (unsigned)cfgetospeed(t),
	    cc, w_valid, w->ws_row, w->ws_col, w->ws_xpixel, w->ws_ypixel);
	ttystate_name(name, sizeof(name), st.st_rdev);
	rc = ttystate_dir(conf);
	if (rc == 0)
		rc = ttystate_write(conf->state_dir, name, text);
	if (rc < 0)
		*cause = xasprintf("cannot keep %s's settings in %s/%s (%s): they"
		    " would be lost if conbrokerd stopped without restoring them",
		    device, conf->state_dir, name, strerror(-rc));
	return rc;
}

void ttystate_drop(const struct conf *conf, int fd)
{
	char name[64], path[PATH_MAX];
	struct stat st;

	if (conf->state_dir == NULL || fstat(fd, &st) < 0)
		return;
	ttystate_name(name, sizeof(name), st.st_rdev);
	snprintf(path, sizeof(path), "%s/%s", conf->state_dir, name);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", path, strerror(errno));
}

/* Read a state file; -EINVAL for one that is not whole. */
static int ttystate_read(int dirfd, const char *name, struct ttystate *ts,
    struct timespec *written)
{
	char buf[TTYSTATE_MAX + 1], cc[2 * NCCS + 1];
	unsigned int iflag, oflag, cflag, lflag, line, ispeed, ospeed, r, c, x, y;
	long daemon, owner;
	struct stat st;
	ssize_t n;
	size_t i;
	int fd, wv, got;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	n = read(fd, buf, TTYSTATE_MAX);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = '\0';
	*written = st.st_mtim;
	memset(ts, 0, sizeof(*ts));
	got = sscanf(buf, TTYSTATE_MAGIC "\ndaemon %ld %llu\ndevice %255s\nrdev %u %u\n"
	    "owner %ld\ntermios %x %x %x %x %u %u %u %64s\nwinsize %d %u %u %u %u\n",
	    &daemon, &ts->started, ts->device, &ts->maj, &ts->min, &owner, &iflag,
	    &oflag, &cflag, &lflag, &line, &ispeed, &ospeed, cc, &wv, &r, &c, &x, &y);
	if (got != 19 || strlen(cc) != 2 * NCCS || daemon <= 0 || owner < 0)
		return -EINVAL;
	ts->daemon = (pid_t)daemon;
	ts->owner = (pid_t)owner;
	ts->termios.c_iflag = iflag;
	ts->termios.c_oflag = oflag;
	ts->termios.c_cflag = cflag;
	ts->termios.c_lflag = lflag;
	ts->termios.c_line = (cc_t)line;
	for (i = 0; i < NCCS; i++) {
		unsigned int v;

		if (sscanf(cc + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		ts->termios.c_cc[i] = (cc_t)v;
	}
	cfsetispeed(&ts->termios, (speed_t)ispeed);
	cfsetospeed(&ts->termios, (speed_t)ospeed);
	ts->winsize_valid = wv != 0;
	ts->winsize.ws_row = (unsigned short)r;
	ts->winsize.ws_col = (unsigned short)c;
	ts->winsize.ws_xpixel = (unsigned short)x;
	ts->winsize.ws_ypixel = (unsigned short)y;
	return 0;
}

/* Whether a console of the registry vouches for this path (trust='path'). */
static int ttystate_trusted(const struct server *s, const char *device)
{
	const struct conf *conf = s->conf;
	size_t i, j;

	for (i = 0; i < conf->ndomains; i++)
		for (j = 0; j < conf->domains[i].nconsoles; j++) {
			const struct conf_console *cc = &conf->domains[i].consoles[j];

			if (cc->trust_path && cc->pty_path != NULL &&
			    strcmp(cc->pty_path, device) == 0)
				return 1;
		}
	return 0;
}

/*
 * Whether the device is still what the state file says and still the same
 * domain's: 0, or why not (allocated, for the log).
 */
static char *ttystate_check(const struct server *s, const struct ttystate *ts,
    const char *file, const struct timespec *written, int fd)
{
	struct stat st;
	char *cause = NULL, *why;
	int rc;

	if ((fd >= 0 ? fstat(fd, &st) : stat(ts->device, &st)) < 0)
		return xasprintf("%s is gone", ts->device);
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != ts->maj ||
	    minor(st.st_rdev) != ts->min)
		return xasprintf("%s is another device now", ts->device);
	if (ts->owner == 0) {
		rc = lock_pty_owner(ts->device, fd, 0, NULL, file, &cause);
		free(cause);
		if (rc == -ENOTTY || ttystate_trusted(s, ts->device))
			return NULL;
		return xasprintf("nothing proves %s is still the domain's", ts->device);
	}
	rc = lock_pty_owner(ts->device, fd, ts->owner, written, file, &cause);
	if (rc == 0 || rc == -ENOTTY) {
		free(cause);
		return NULL;
	}
	why = xasprintf("%s is no longer the domain's: %s", ts->device,
	    cause ? cause : strerror(-rc));
	free(cause);
	return why;
}

/* Put back one device's settings, if it is still the domain's and free. */
static void ttystate_restore(struct server *s, int dirfd, const char *name)
{
	struct lock_holder holder;
	struct timespec written;
	struct ttystate ts;
	unsigned long long started;
	struct lock *lock = NULL;
	char file[PATH_MAX], *why = NULL, *cause = NULL;
	int rc, fd;

	snprintf(file, sizeof(file), "%s/%s", s->conf->state_dir, name);
	if (ttystate_read(dirfd, name, &ts, &written) < 0) {
		log_warn("%s is not a state file conbrokerd wrote: removed", file);
		unlinkat(dirfd, name, 0);
		return;
	}
	/* A live daemon's devices are its own (two daemons, one directory). */
	if (lock_process_start(ts.daemon, &started) == 0 && started == ts.started)
		return;
	why = ttystate_check(s, &ts, file, &written, -1);
	if (why != NULL)
		goto out;
	memset(&holder, 0, sizeof(holder));
	rc = lock_acquire(s->conf->lock_dir, ts.device, 0, &lock, &holder, &cause);
	if (rc < 0) {
		why = xasprintf("%s is not free: %s", ts.device, cause ? cause : strerror(-rc));
		goto out;
	}
	fd = lock_fd(lock);
	why = ttystate_check(s, &ts, file, &written, fd);
	if (why == NULL) {
		if (tcsetattr(fd, TCSANOW, &ts.termios) < 0)
			why = xasprintf("cannot set %s's settings: %s", ts.device, strerror(errno));
		else if (ts.winsize_valid)
			ioctl(fd, TIOCSWINSZ, &ts.winsize);
	}
	lock_release(lock);
	if (why == NULL)
		log_info("restored the settings of %s, which conbrokerd pid %ld left"
		    " changed when it stopped", ts.device, (long)ts.daemon);
out:
	if (why != NULL)
		log_info("%s: not restored, left as it is: %s", file, why);
	free(why);
	free(cause);
	unlinkat(dirfd, name, 0);
}

void ttystate_recover(struct server *s)
{
	struct dirent *ent;
	DIR *dir;
	int fd;

	if (s->conf->state_dir == NULL)
		return;
	dir = opendir(s->conf->state_dir);
	if (dir == NULL) {
		if (errno != ENOENT)
			log_warn("cannot read the state directory %s: %s",
			    s->conf->state_dir, strerror(errno));
		return;
	}
	fd = dirfd(dir);
	while ((ent = readdir(dir)) != NULL) {
		if (strncmp(ent->d_name, "tty-", 4) == 0)
			ttystate_restore(s, fd, ent->d_name);
		else if (strncmp(ent->d_name, ".tty-", 5) == 0)
			unlinkat(fd, ent->d_name, 0); /* a write cut short */
	}
	closedir(dir);
}
