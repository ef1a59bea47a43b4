/*
 * follow: the domains directories, followed live.
 *
 * libvirt writes a running domain's status file when the domain starts (a
 * temporary file, then a rename), rewrites it as the domain changes, and
 * removes it when the domain stops.  The daemon watches each <domains dir>
 * (inotify, through libuv) and reloads after each burst of changes, as on
 * SIGHUP, so that a console follows its domain through stops and restarts
 * with nobody sending a signal.  A burst is over once the directory has
 * been quiet for FOLLOW_SETTLE_MS, and a reload waits at most FOLLOW_MAX_MS
 * after its first change, so a directory that never settles is still
 * followed.  A directory that does not exist yet (libvirt makes its run
 * directories when it starts) is looked for again every second.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/daemon.h"

#define FOLLOW_SETTLE_MS 50
#define FOLLOW_MAX_MS 250

/* One followed directory. */
struct follow_dir {
	uv_fs_event_t event;   /* allocated with the struct, freed in its close cb */
	struct server *server;
	char *path;
	int watching;          /* the event handle is started */
	int keep;              /* still in the registry (follow_update) */
	dev_t dev;             /* which directory is watched, to see it replaced */
	ino_t ino;
	struct follow_dir *next;
};

static void follow_on_timer(uv_timer_t *t)
{
	struct server *s = t->data;

	s->follow_first_ms = 0;
	log_info("a domains directory changed: reloading");
	server_reload(s);
}

/* A change: reload once the directory has settled, or soon enough. */
static void follow_changed(struct server *s)
{
	uint64_t now = uv_now(s->loop), wait = FOLLOW_SETTLE_MS;

	if (s->stopping)
		return;
	if (s->follow_first_ms == 0)
		s->follow_first_ms = now;
	else if (now - s->follow_first_ms + FOLLOW_SETTLE_MS > FOLLOW_MAX_MS)
		wait = now - s->follow_first_ms >= FOLLOW_MAX_MS ? 0 :
		    FOLLOW_MAX_MS - (now - s->follow_first_ms);
	s->follow_timer.data = s;
	uv_timer_start(&s->follow_timer, follow_on_timer, wait, 0);
}

static void follow_on_event(uv_fs_event_t *h, const char *name, int events, int status)
{
	struct follow_dir *d = h->data;
	size_t len = name != NULL ? strlen(name) : 0;

	(void)events;
	if (status < 0) {
		log_warn("following %s: %s", d->path, uv_strerror(status));
		return;
	}
	/* What the domains directory reads: names ending in .xml (and the
	 * directory itself going away). */
	if (name != NULL && name[0] != '\0' &&
	    (len < 4 || strcmp(name + len - 4, ".xml") != 0))
		return;
	follow_changed(d->server);
}

static void follow_closed(uv_handle_t *h)
{
	struct follow_dir *d = h->data;

	free(d->path);
	free(d);
}

/*
 * Start watching d if its directory is there, or watch it again if it was
 * replaced.  With reload, a directory that has come since the last load is
 * read by a reload.
 */
static void follow_watch(struct follow_dir *d, int reload)
{
	struct stat st;
	int rc;

	if (stat(d->path, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	if (d->watching && st.st_dev == d->dev && st.st_ino == d->ino)
		return;
	if (d->watching)
		uv_fs_event_stop(&d->event); /* replaced: watch the new one */
	rc = uv_fs_event_start(&d->event, follow_on_event, d->path, 0);
	if (rc < 0) {
		log_warn("cannot follow the domains directory %s: %s", d->path,
		    uv_strerror(rc));
		return;
	}
	if (!d->watching)
		log_info("following the domains directory %s", d->path);
	d->watching = 1;
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	if (reload)
		follow_changed(d->server);
}

/* A followed directory for path, new. */
static struct follow_dir *follow_add(struct server *s, const char *path)
{
	struct follow_dir *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		log_err("out of memory");
		abort();
	}
	d->server = s;
	d->path = xstrdup(path);
	uv_fs_event_init(s->loop, &d->event);
	d->event.data = d;
	d->next = s->follow;
	s->follow = d;
	return d;
}

void follow_update(struct server *s)
{
	struct follow_dir *d, **pp;
	size_t i;

	if (s->stopping)
		return;
	for (d = s->follow; d != NULL; d = d->next)
		d->keep = 0;
	for (i = 0; i < s->conf->ndomains_dirs; i++) {
		if (!s->conf->domains_follow[i])
			continue;
		for (d = s->follow; d != NULL; d = d->next)
			if (strcmp(d->path, s->conf->domains_dirs[i]) == 0)
				break;
		if (d == NULL)
			d = follow_add(s, s->conf->domains_dirs[i]);
		d->keep = 1;
	}
	for (pp = &s->follow; (d = *pp) != NULL;) {
		if (d->keep) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		log_info("no longer following %s", d->path);
		uv_close((uv_handle_t *)&d->event, follow_closed);
	}
	/* The registry was just loaded: it has read what is there now. */
	for (d = s->follow; d != NULL; d = d->next)
		follow_watch(d, 0);
}

void follow_retry(struct server *s)
{
	struct follow_dir *d;

	for (d = s->follow; d != NULL && !s->stopping; d = d->next)
		follow_watch(d, 1);
}

void follow_stop(struct server *s)
{
	struct follow_dir *d, *next;

	for (d = s->follow; d != NULL; d = next) {
		next = d->next;
		uv_close((uv_handle_t *)&d->event, follow_closed);
	}
	s->follow = NULL;
	uv_timer_stop(&s->follow_timer);
}
