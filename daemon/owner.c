/*
 * owner: the proof that a console's pty is still its domain's.
 *
 * Once a domain stops, its /dev/pts number goes to the next program that asks
 * for a pty (an ssh login, another user's terminal, another guest).  Opening
 * the old path would then write a client's keystrokes into someone else's
 * session and show it their screen.  So before the daemon opens a pty, and
 * again once it is open, the process the definition names must be shown to
 * hold the pty's master (locks/lock-owner.c); conf_console_owner() says which
 * process that is.  Spawned consoles are the daemon's own and need no proof.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"

/* Refuse a pty nothing proves: say what would prove it. */
static int owner_unproven(const struct conf_domain *d,
    const struct conf_console *cc, char **cause)
{
	*cause = xasprintf("console %s/%s: nothing proves that %s is still the"
	    " domain's pty, so it is not opened: %s names no hypervisor process"
	    " (libvirt's live status files have <domstatus pid>; for other"
	    " definitions give <cb:console alias='%s'> an owner-pid-file, or"
	    " trust='path'; see docs/configuration.md)", d->name, cc->alias,
	    cc->pty_path, d->file, cc->alias);
	return -ENOKEY;
}

/* Turn the reason the pty is not the owner's into the client's message. */
static int owner_not_running(const struct conf_domain *d,
    const struct conf_console *cc, char **cause)
{
	char *why = *cause;

	*cause = xasprintf("domain '%s' is not running (its pty %s now belongs to"
	    " another process): %s", d->name, cc->pty_path, why ? why : "no owner");
	free(why);
	return -EOWNERDEAD;
}

int owner_check(const struct conf_domain *d, const struct conf_console *cc,
    int fd, pid_t *owner, char **cause)
{
	const char *named_by = d->file;
	struct timespec written = d->written;
	pid_t pid = d->pid;
	int rc;

	if (owner != NULL)
		*owner = 0;
	if (cc->type != CONF_CONSOLE_PTY || cc->pty_path == NULL)
		return 0;
	switch (conf_console_owner(d, cc)) {
	case CONF_OWNER_SELF:
	case CONF_OWNER_TRUSTED:
		return 0;
	case CONF_OWNER_PID_FILE:
		named_by = cc->owner_pid_file;
		rc = lock_pid_file(cc->owner_pid_file, &pid, &written, cause);
		if (rc == -ENOENT)
			return owner_not_running(d, cc, cause);
		if (rc < 0) {
			char *why = *cause;

			*cause = xasprintf("console %s/%s: %s is not opened: %s",
			    d->name, cc->alias, cc->pty_path, why ? why : strerror(-rc));
			free(why);
			return -ENOKEY;
		}
		break;
	case CONF_OWNER_PROCESS:
		break;
	case CONF_OWNER_NONE:
		/* A fixed device (a real serial port) is nobody's to give away.
		 * Asked with no owner, lock_pty_owner() tells a pty
		 * (-EOWNERDEAD) from such a device (-ENOTTY). */
		rc = lock_pty_owner(cc->pty_path, fd, 0, NULL, named_by, cause);
		if (rc == -ENOTTY)
			return 0;
		free(*cause);
		*cause = NULL;
		if (rc == -ENOENT)
			return rc;
		return owner_unproven(d, cc, cause);
	}
	rc = lock_pty_owner(cc->pty_path, fd, pid, &written, named_by, cause);
	if (rc == 0 && owner != NULL)
		*owner = pid;
	if (rc == -ENOTTY)
		return 0;
	if (rc == -EOWNERDEAD)
		return owner_not_running(d, cc, cause);
	return rc;
}
