/* log: one line per event on stderr, prefixed for journald. */
#include <stdarg.h>
#include <stdio.h>

#include "daemon/daemon.h"

static int log_verbose;

void log_init(int verbose)
{
	log_verbose = verbose;
}

/* "<6>message": systemd reads the priority prefix; a terminal still reads fine. */
void log_msg(int level, const char *fmt, ...)
{
	static const char *const names[] = {
		[LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warning",
		[LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
	};
	va_list ap;

	if (level == LOG_LVL_DEBUG && !log_verbose)
		return;
	if (level < LOG_LVL_ERR || level > LOG_LVL_DEBUG || names[level] == NULL)
		level = LOG_LVL_INFO;
	fprintf(stderr, "<%d>conbrokerd: %s: ", level, names[level]);
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
