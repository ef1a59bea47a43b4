/*
 * conf-load: how long conf_load() takes on a domains directory, and how much
 * memory it needs.
 *
 *   conf-load DIR [ROUNDS]
 *
 * Loads a config whose <domains dir> is DIR, ROUNDS times (default 3), and
 * prints the time of each load, of a reload diff between the last two, and
 * the peak resident set size of the process (getrusage ru_maxrss).  The
 * registry of each round is freed before the next is built, as on reload.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "conf/conf.h"

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the process, every thread's, user and system. */
static double bench_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* One load; prints its time and counts, returns the registry. */
static struct conf *bench_load(const char *xml, int round)
{
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	size_t i, consoles = 0;
	double t0 = bench_now(), c0 = bench_cpu(), t1, c1;
	int rc;

	rc = conf_load_buffer("(bench)", xml, strlen(xml), &conf, &diags);
	t1 = bench_now();
	c1 = bench_cpu();
	if (rc < 0) {
		fprintf(stderr, "conf-load: %s\n", strerror(-rc));
		for (i = 0; i < diags.count; i++)
			fprintf(stderr, "%s\n", diags.items[i].text);
		conf_diags_free(&diags);
		return NULL;
	}
	for (i = 0; i < conf->ndomains; i++)
		consoles += conf->domains[i].nconsoles;
	printf("load %d: %zu domains, %zu consoles, %zu errors in %.1f ms "
	    "(%.1f ms of CPU)\n", round, conf->ndomains, consoles,
	    diags.errors, (t1 - t0) * 1e3, (c1 - c0) * 1e3);
	for (i = 0; i < diags.count && i < 5; i++)
		printf("  %s\n", diags.items[i].text);
	conf_diags_free(&diags);
	return conf;
}

int main(int argc, char **argv)
{
	struct conf *prev = NULL, *conf;
	struct conf_diff diff;
	struct rusage ru;
	char *xml = NULL;
	int rounds = argc > 2 ? atoi(argv[2]) : 3, i, ret = 1;
	double t0;

	if (argc < 2 || rounds < 1) {
		fprintf(stderr, "usage: conf-load DIR [ROUNDS]\n");
		return 2;
	}
	if (asprintf(&xml, "<conbroker><domains dir='%s'/></conbroker>",
	    argv[1]) < 0)
		return 1;
	for (i = 1; i <= rounds; i++) {
		conf = bench_load(xml, i);
		if (conf == NULL)
			goto out;
		if (prev != NULL) {
			t0 = bench_now();
			if (conf_diff(prev, conf, &diff) < 0)
				goto out;
			printf("diff: %zu entries in %.1f ms\n", diff.count,
			    (bench_now() - t0) * 1e3);
			conf_diff_free(&diff);
			conf_free(prev);
		}
		prev = conf;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
	ret = 0;
out:
	conf_free(prev);
	free(xml);
	return ret;
}
