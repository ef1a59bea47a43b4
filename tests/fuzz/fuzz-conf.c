/*
 * libFuzzer harness for conf: the input is loaded twice, as a <conbroker>
 * document (conf_load_buffer) and as a file of a domains directory, the way
 * every libvirt file is read (conf_load of a config that names a private
 * directory holding the input as its one file).  Nothing may crash, leak or
 * read out of bounds.  A load that fails says why; a broken domain file is
 * reported and skipped without failing the config around it; and what a
 * registry holds keeps the promises the daemon builds on: lookups find each
 * domain and console, a pty path is under /dev with no '..', a spawned
 * console runs an absolute path, a console has one proof of ownership at
 * most and the owner check warns of exactly those that have none, and a
 * registry diffed with itself is unchanged throughout.
 *
 * A <domains dir> in the input is read as written, relative to the current
 * directory: the loader only ever reads.
 *
 * Build: cmake -DCMAKE_C_COMPILER=clang -DCONBROKER_FUZZ=ON, then
 * ./fuzz-conf -max_total_time=60 -dict=tests/fuzz/conf.dict NEW-DIR \
 *     tests/fuzz/corpus-conf
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf/conf.h"

/* No kernel hands out a PID above this (PID_MAX_LIMIT). */
#define FUZZ_CONF_PID_MAX 4194304

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The private directory: conbroker.xml names domains/, which holds fuzz.xml. */
static char fuzz_conf_top[4096];
static char fuzz_conf_config[4200];
static char fuzz_conf_domains[4200];
static char fuzz_conf_file[4300];

/* Remove the private directory when the run ends. */
static void fuzz_conf_cleanup(void)
{
	unlink(fuzz_conf_file);
	rmdir(fuzz_conf_domains);
	unlink(fuzz_conf_config);
	rmdir(fuzz_conf_top);
}

/* Write a whole file, replacing what it held. */
static int fuzz_conf_write(const char *path, const void *data, size_t size)
{
	size_t done = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	while (done < size) {
		n = write(fd, (const char *)data + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	return done == size ? 0 : -1;
}

/* The private directory and the config that names it, for the whole run. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char config[] =
	    "<conbroker><domains dir='domains'/></conbroker>\n";
	const char *tmp = getenv("TMPDIR");

	(void)argc; (void)argv;
	snprintf(fuzz_conf_top, sizeof(fuzz_conf_top), "%s/fuzz-conf.XXXXXX",
	    tmp != NULL && *tmp == '/' ? tmp : "/tmp");
	if (mkdtemp(fuzz_conf_top) == NULL) {
		perror(fuzz_conf_top);
		exit(1);
	}
	snprintf(fuzz_conf_config, sizeof(fuzz_conf_config), "%s/conbroker.xml",
	    fuzz_conf_top);
	snprintf(fuzz_conf_domains, sizeof(fuzz_conf_domains), "%s/domains",
	    fuzz_conf_top);
	snprintf(fuzz_conf_file, sizeof(fuzz_conf_file), "%s/fuzz.xml",
	    fuzz_conf_domains);
	atexit(fuzz_conf_cleanup);
	if (mkdir(fuzz_conf_domains, 0755) < 0 ||
	    fuzz_conf_write(fuzz_conf_config, config, strlen(config)) < 0) {
		perror(fuzz_conf_top);
		exit(1);
	}
	return 0;
}

/* A load either built a registry or failed and said why. */
static void fuzz_conf_outcome(int ret, const struct conf *conf,
    const struct conf_diags *diags)
{
	size_t i;

	if (ret > 0 || (ret == 0) != (conf != NULL))
		abort();
	if (ret < 0 && ret != -ENOMEM && diags->errors == 0)
		abort();
	if (diags->errors > 0 && diags->count == 0)
		abort();
	for (i = 0; i < diags->count; i++)
		if (diags->items[i].text == NULL || diags->items[i].text[0] == '\0')
			abort();
}

/* What the daemon may take for granted of one console. */
static void fuzz_conf_console(const struct conf_domain *d,
    const struct conf_console *c)
{
	const char *p;
	size_t i;

	if (c->alias == NULL || c->element == NULL || c->file == NULL ||
	    conf_find_console(d, c->alias) != c)
		abort();
	switch (c->type) {
	case CONF_CONSOLE_PTY:
		if (c->spawn_argv != NULL)
			abort();
		if (c->pty_path == NULL)
			break;
		if (strncmp(c->pty_path, "/dev/", 5) != 0 ||
		    c->pty_path[5] == '\0')
			abort();
		for (p = c->pty_path; (p = strstr(p, "/..")) != NULL; p += 3)
			if (p[3] == '/' || p[3] == '\0')
				abort();
		break;
	case CONF_CONSOLE_SPAWN:
		if (c->pty_path != NULL || c->spawn_argv == NULL ||
		    c->spawn_argv[0] == NULL || c->spawn_argv[0][0] != '/')
			abort();
		for (i = 0; c->spawn_argv[i] != NULL; i++)
			if (strlen(c->spawn_argv[i]) > (size_t)-1 / 2)
				abort(); /* each word is a string: read it */
		break;
	case CONF_CONSOLE_UNSUPPORTED:
		if (c->pty_path != NULL || c->spawn_argv != NULL)
			abort();
		break;
	default:
		abort();
	}
	/* One proof of ownership at most, and a pid file is a full path. */
	if (c->owner_pid_file != NULL && (c->owner_pid_file[0] != '/' ||
	    c->trust_path || c->type == CONF_CONSOLE_SPAWN))
		abort();
	if ((conf_console_owner(d, c) == CONF_OWNER_SELF) !=
	    (c->type == CONF_CONSOLE_SPAWN))
		abort();
}

/* The policy warnings: one per console nothing proves and one per TCP
 * listener that grants nothing, each with a text. */
static void fuzz_conf_owners(const struct conf *conf)
{
	struct conf_diags diags = { NULL, 0, 0 };
	const struct conf_domain *d;
	const struct conf_console *c;
	size_t i, j, unproven = 0, ret;

	for (i = 0; i < conf->ndomains; i++) {
		d = &conf->domains[i];
		for (j = 0; j < d->nconsoles; j++) {
			c = &d->consoles[j];
			unproven += c->type == CONF_CONSOLE_PTY &&
			    c->pty_path != NULL &&
			    strncmp(c->pty_path, "/dev/pts/", 9) == 0 &&
			    conf_console_owner(d, c) == CONF_OWNER_NONE;
		}
	}
	/* And one warning for each TCP listener when nothing grants rights. */
	for (i = 0; i < conf->nlistens && !conf->access_rules; i++)
		unproven += conf->listens[i].type == CONF_LISTEN_TCP;
	ret = conf_check_policy(conf, &diags);
	if (ret != unproven || diags.count != unproven || diags.errors != 0)
		abort();
	fuzz_conf_outcome(0, conf, &diags);
	conf_diags_free(&diags);
}

/* What the daemon may take for granted of a registry. */
static void fuzz_conf_registry(const struct conf *conf)
{
	const struct conf_domain *d;
	const struct conf_listen *l;
	struct conf_diff diff;
	size_t i, j, consoles = 0;

	if (conf->lock_dir == NULL || conf->lock_dir[0] != '/' ||
	    conf->nlistens == 0 || conf->file == NULL)
		abort();
	for (i = 0; i < conf->nlistens; i++) {
		l = &conf->listens[i];
		if (l->type == CONF_LISTEN_UNIX && (l->path == NULL ||
		    l->path[0] != '/' ||
		    strlen(l->path) >= sizeof(((struct sockaddr_un *)0)->sun_path)))
			abort();
		if (l->type == CONF_LISTEN_TCP && (l->host == NULL ||
		    l->port == NULL))
			abort();
	}
	for (i = 0; i < conf->ndomains; i++) {
		d = &conf->domains[i];
		if (d->name == NULL || d->name[0] == '\0' || strchr(d->name, '/') ||
		    conf_find_domain(conf, d->uuid_str) != d || d->pid < 0 ||
		    d->pid > FUZZ_CONF_PID_MAX)
			abort();
		/* A name that reads as a UUID may find another domain. */
		if (conf_find_domain(conf, d->name) == NULL)
			abort();
		for (j = 0; j < d->nconsoles; j++)
			fuzz_conf_console(d, &d->consoles[j]);
		conf_find_console(d, NULL);
		consoles += d->nconsoles;
	}
	fuzz_conf_owners(conf);
	if (conf_diff(conf, conf, &diff) < 0)
		return;
	if (diff.count != consoles)
		abort();
	for (i = 0; i < diff.count; i++)
		if (diff.entries[i].change != CONF_UNCHANGED ||
		    diff.entries[i].old_console != diff.entries[i].new_console)
			abort();
	conf_diff_free(&diff);
}

/* A reload from one registry to the other: every entry is consistent. */
static void fuzz_conf_reload(const struct conf *old, const struct conf *new_conf)
{
	const struct conf_diff_entry *e;
	struct conf_diff diff;
	size_t i;

	if (conf_diff(old, new_conf, &diff) < 0)
		return;
	for (i = 0; i < diff.count; i++) {
		e = &diff.entries[i];
		if ((e->change == CONF_ADDED) != (e->old_console == NULL) ||
		    (e->change == CONF_REMOVED) != (e->new_console == NULL) ||
		    (e->old_console != NULL && e->old_domain == NULL) ||
		    (e->new_console != NULL && e->new_domain == NULL))
			abort();
		conf_change_name(e->change);
	}
	conf_diff_free(&diff);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_diags diags_buf = { NULL, 0, 0 }, diags_dir = { NULL, 0, 0 };
	struct conf *from_buf = NULL, *from_dir = NULL;
	int ret;

	/* The input as the broker's own file. */
	ret = conf_load_buffer("fuzz-conf.xml", (const char *)data, size,
	    &from_buf, &diags_buf);
	fuzz_conf_outcome(ret, from_buf, &diags_buf);
	if (from_buf != NULL)
		fuzz_conf_registry(from_buf);

	/*
	 * The input as a domain file: the config around it is good, so the
	 * load succeeds, with the domain in it or an error that says why not.
	 */
	if (fuzz_conf_write(fuzz_conf_file, data, size) < 0)
		abort();
	ret = conf_load(fuzz_conf_config, &from_dir, &diags_dir);
	fuzz_conf_outcome(ret, from_dir, &diags_dir);
	if (ret != 0 && ret != -ENOMEM)
		abort();
	if (from_dir != NULL) {
		if (from_dir->ndomains > 1 ||
		    (from_dir->ndomains == 1) != (diags_dir.errors == 0))
			abort();
		fuzz_conf_registry(from_dir);
		fuzz_conf_reload(from_buf, from_dir);
		fuzz_conf_reload(from_dir, from_buf);
	}

	conf_free(from_dir);
	conf_free(from_buf);
	conf_diags_free(&diags_dir);
	conf_diags_free(&diags_buf);
	return 0;
}
