/*
 * bench: small pieces the benchmark programs share (a header, since every
 * file in bench/ with a .c ending is a program of its own).
 */
#ifndef CONBROKER_BENCH_H
#define CONBROKER_BENCH_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* utime + stime of a process from /proc, in seconds (0 when it is gone). */
static inline double bench_proc_cpu(long pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL)
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
	fclose(f);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* qsort order of doubles. */
static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Percentile by nearest rank of n sorted samples (0 when there are none). */
static inline double bench_percentile(const double *v, int n, double pct)
{
	int i = (int)(pct / 100.0 * n + 0.999999) - 1;

	if (n == 0)
		return 0;
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

#endif
