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

/* locks/ reports stale locks broken and check-only mode through this. */
void log_lock_hook(int level, const char *message, void *arg)
{
	(void)arg;
	log_msg(level, "%s", message);
}
