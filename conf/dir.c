/*
 * dir: the domains directory, one libvirt domain per *.xml file.
 *
 * The directory is often one that other programs write to (libvirt's
 * /run/libvirt/qemu holds pid files and sockets beside the domain files, and
 * people edit domain files in place), so only names that end in ".xml" and do
 * not start with a dot are read: editor backups (name.xml~, .name.xml.swp,
 * #name.xml#, name.xml.bak) and package leftovers never qualify.  Anything
 * that is not a regular file is passed over without being opened.  Files are
 * read in sorted order, so that which of two duplicates wins never depends on
 * the file system.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf-private.h"

/* A name that may be a domain file. */
static int conf_dir_wanted(const char *name)
{
	size_t len = strlen(name);

	return len > 4 && name[0] != '.' && name[0] != '#' &&
	    strcmp(name + len - 4, ".xml") == 0;
}

static int conf_dir_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Whether an entry may be a domain file.  A symlink (or an entry of unknown
 * type) is followed with stat() first: opening a device node can have side
 * effects, so only regular files are ever opened.  A dangling link is kept,
 * for the open to report.
 */
static int conf_dir_candidate(DIR *dir, const struct dirent *ent)
{
	struct stat st;

	if (!conf_dir_wanted(ent->d_name))
		return 0;
	if (ent->d_type == DT_REG)
		return 1;
	if (ent->d_type != DT_LNK && ent->d_type != DT_UNKNOWN)
		return 0;
	if (fstatat(dirfd(dir), ent->d_name, &st, 0) < 0)
		return 1;
	return S_ISREG(st.st_mode);
}

/* The wanted names of an open directory, sorted. */
static int conf_dir_names(DIR *dir, char ***out, size_t *count)
{
	size_t n = 0, cap = 0;
	char **names = NULL, **grown;
	struct dirent *ent;
	int ret = 0;

	for (;;) {
		errno = 0; /* readdir() tells its end from an error only so */
		ent = readdir(dir);
		if (ent == NULL)
			break;
		if (!conf_dir_candidate(dir, ent))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(names, cap * sizeof(*names));
			if (grown == NULL) {
				ret = -ENOMEM;
				break;
			}
			names = grown;
		}
		names[n] = conf_strdup(ent->d_name);
		if (names[n] == NULL) {
			ret = -ENOMEM;
			break;
		}
		n++;
	}
	if (ret == 0 && errno != 0)
		ret = -errno;
	if (n > 1)
		qsort(names, n, sizeof(*names), conf_dir_cmp);
	*out = names;
	*count = n;
	return ret;
}

/* Fewer files than this are not worth a thread. */
#define CONF_DIR_PARALLEL_MIN 64
#define CONF_DIR_THREADS_MAX 8

/* What became of one file. */
struct conf_dir_slot {
	struct conf_domain domain; /* status 0: parsed, not yet registered */
	int name_line, uuid_line;
	int status;                /* 0, 1: not a regular file, or -errno */
	struct conf_diags diags;
};

/* The work shared by the threads of one directory load. */
struct conf_dir_job {
	const char *dir;
	int dirfd;
	char **names;
	size_t n;
	struct conf_dir_slot *slots;
	atomic_size_t next;
};

/* Parse one file into its slot. */
static void conf_dir_file(struct conf_loader *ld, struct conf_dir_job *job,
    size_t i)
{
	struct conf_dir_slot *slot = &job->slots[i];
	xmlDoc *doc = NULL;
	char *path = NULL;
	int ret;

	ld->diags = &slot->diags;
	ret = conf_path_join(job->dir, job->names[i], &path);
	if (ret == 0)
		ret = conf_xml_read_file(ld, job->dirfd, job->names[i], path, 1,
		    &doc);
	if (ret == 0)
		ret = conf_domain_read(ld, xmlDocGetRootElement(doc), path,
		    &slot->domain, &slot->name_line, &slot->uuid_line);
	xmlFreeDoc(doc);
	free(path);
	slot->status = ret;
}

/* Take files until none is left. */
static void conf_dir_work(struct conf_loader *ld, struct conf_dir_job *job)
{
	size_t i;

	while ((i = atomic_fetch_add(&job->next, 1)) < job->n)
		conf_dir_file(ld, job, i);
}

static void *conf_dir_thread(void *arg)
{
	struct conf_dir_job *job = arg;
	struct conf_loader ld;

	/* A worker that cannot have a parser leaves its share to the others. */
	if (conf_loader_init(&ld, NULL) == 0)
		conf_dir_work(&ld, job);
	conf_loader_fini(&ld);
	return NULL;
}

/* How many threads to parse n files with, the caller's included. */
static size_t conf_dir_threads(size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	const char *env = getenv("CONBROKER_CONF_THREADS");

	if (env != NULL && *env != '\0')
		cpus = atol(env);
	if (n < CONF_DIR_PARALLEL_MIN || cpus < 1)
		return 1;
	return cpus > CONF_DIR_THREADS_MAX ? CONF_DIR_THREADS_MAX : (size_t)cpus;
}

/* Parse every file of the job, on as many threads as are worth it. */
static void conf_dir_parse(struct conf_loader *ld, struct conf_dir_job *job)
{
	pthread_t threads[CONF_DIR_THREADS_MAX];
	size_t want = conf_dir_threads(job->n), started = 0, i;
	struct conf_diags *diags = ld->diags;

	for (i = 1; i < want; i++)
		if (pthread_create(&threads[started], NULL, conf_dir_thread,
		    job) == 0)
			started++;
	conf_dir_work(ld, job);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	ld->diags = diags;
}

/* Take the slots in name order: diagnostics, then the registry. */
static int conf_dir_collect(struct conf_loader *ld, struct conf_dir_job *job)
{
	struct conf_dir_slot *slot;
	int ret = 0, added;
	size_t i;

	for (i = 0; i < job->n; i++) {
		slot = &job->slots[i];
		conf_diags_move(ld->diags, &slot->diags);
		if (slot->status == -ENOMEM)
			ret = -ENOMEM;
		if (slot->status != 0 || ret < 0) {
			conf_domain_clear(&slot->domain);
			continue;
		}
		added = conf_registry_add(ld, &slot->domain, slot->name_line,
		    slot->uuid_line);
		if (added == -ENOMEM)
			ret = -ENOMEM;
		conf_domain_clear(&slot->domain);
	}
	return ret;
}

/* Load the files of an open directory. */
static int conf_dir_files(struct conf_loader *ld, DIR *d, const char *dir,
    char **names, size_t n)
{
	struct conf_dir_job job;
	int ret;

	memset(&job, 0, sizeof(job));
	job.dir = dir;
	job.dirfd = dirfd(d);
	job.names = names;
	job.n = n;
	atomic_init(&job.next, 0);
	job.slots = calloc(n ? n : 1, sizeof(*job.slots));
	if (job.slots == NULL)
		return -ENOMEM;
	conf_dir_parse(ld, &job);
	ret = conf_dir_collect(ld, &job);
	free(job.slots);
	return ret;
}

/*
 * Load every domain file of dir (named at file:line in the config).  A
 * missing directory is a warning (libvirt creates its run directory only
 * when it starts); one that cannot be read is an error, the rest still loads.
 */
int conf_dir_load(struct conf_loader *ld, const char *dir, const char *file,
    int line)
{
	char **names = NULL;
	size_t n = 0, i;
	DIR *d;
	int ret;

	d = opendir(dir);
	if (d == NULL) {
		ret = errno;
		conf_diag(ld->diags, ret == ENOENT ? CONF_WARNING : CONF_ERROR,
		    file, line, "domains directory '%s': %s", dir,
		    strerror(ret));
		return 0;
	}
	ret = conf_dir_names(d, &names, &n);
	if (ret < 0 && ret != -ENOMEM)
		conf_diag(ld->diags, CONF_ERROR, file, line, "domains "
		    "directory '%s': %s", dir, strerror(-ret));
	if (ret != -ENOMEM)
		ret = conf_dir_files(ld, d, dir, names, n);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return ret == -ENOMEM ? ret : 0;
}
