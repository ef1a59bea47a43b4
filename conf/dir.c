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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* The wanted names of an open directory, sorted. */
static int conf_dir_names(DIR *dir, char ***out, size_t *count)
{
	size_t n = 0, cap = 0;
	char **names = NULL, **grown;
	struct dirent *ent;
	int ret = 0;

	errno = 0;
	while ((ent = readdir(dir)) != NULL) {
		if (!conf_dir_wanted(ent->d_name) || ent->d_type == DT_DIR ||
		    ent->d_type == DT_FIFO || ent->d_type == DT_SOCK ||
		    ent->d_type == DT_CHR || ent->d_type == DT_BLK)
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

/* Load one file of the directory; a broken one is reported and skipped. */
static int conf_dir_file(struct conf_loader *ld, int dirfd, const char *dir,
    const char *name)
{
	xmlDoc *doc = NULL;
	char *path = NULL;
	int ret;

	ret = conf_path_join(dir, name, &path);
	if (ret < 0)
		return ret;
	ret = conf_xml_read_file(ld, dirfd, name, path, 1, &doc);
	if (ret == 0)
		ret = conf_domain_load(ld, xmlDocGetRootElement(doc), path);
	xmlFreeDoc(doc);
	free(path);
	return ret == -ENOMEM ? ret : 0;
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
	for (i = 0; i < n && ret != -ENOMEM; i++)
		ret = conf_dir_file(ld, dirfd(d), dir, names[i]);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return ret == -ENOMEM ? ret : 0;
}
