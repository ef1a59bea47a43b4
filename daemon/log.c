/*
 * log: one line per event on stderr.  Under systemd, when stderr is the
 * journal, a line is "<6>message": the journal reads the priority from the
 * prefix and stamps the time itself.  Anywhere else (a terminal, a file) a
 * line carries its own time and level: "2026-12-01T14:03:22.123Z
 * conbrokerd: info: message", in UTC.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"

static int log_verbose;
static int log_journal;

/* Whether stderr is the journal's stream: JOURNAL_STREAM names its device
 * and inode, and is inherited by children whose stderr may be elsewhere. */
static int log_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (env == NULL || sscanf(env, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void log_init(int verbose)
{
	log_verbose = verbose;
	log_journal = log_is_journal();
}

void log_msg(int level, const char *fmt, ...)
{
	static const char *const names[] = {
		[LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warning",
		[LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
	};
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	if (level == LOG_LVL_DEBUG && !log_verbose)
		return;
	if (level < LOG_LVL_ERR || level > LOG_LVL_DEBUG || names[level] == NULL)
		level = LOG_LVL_INFO;
	if (log_journal) {
		fprintf(stderr, "<%d>", level);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ conbrokerd: %s: ", when, ts.tv_nsec / 1000000,
		    names[level]);
	}
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/*
 * A line that may repeat for every connection (a limit hit, accept failing):
 * at most one a second per call site, saying how many were held back.
 */
void log_limited(struct log_limit *rl, int level, const char *fmt, ...)
{
	uint64_t now = wall_ms();
	char line[1024];
	va_list ap;

	if (rl->last_ms != 0 && now - rl->last_ms < 1000) {
		rl->suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (rl->suppressed)
		log_msg(level, "%s (and %u more since the last report)", line, rl->suppressed);
	else
		log_msg(level, "%s", line);
	rl->last_ms = now;
	rl->suppressed = 0;
}

/* locks/ reports stale locks broken and check-only mode through this. */
void log_lock_hook(int level, const char *message, void *arg)
{
	(void)arg;
	log_msg(level, "%s", message);
}
