/*
 * conbrokerd: the console broker daemon.  Runs in the foreground.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/daemon.h"

static void main_usage(FILE *f)
{
	fprintf(f,
	    "usage: conbrokerd [-f FILE | --demo] [--check [--strict]] [-v] [--socket PATH]\n"
	    "                  [--ready-fd N]\n"
	    "  -f, --config FILE   broker configuration (default " CONF_DEFAULT_PATH ")\n"
	    "      --demo          the embedded demo configuration (a domain 'demo')\n"
	    "      --check         validate the configuration and every domain file, then\n"
	    "                      exit: 1 when conbrokerd would not start, else 0\n"
	    "      --strict        with --check: exit 1 for any error, a domain file that\n"
	    "                      conbrokerd would skip included\n"
	    "      --socket PATH   listen on this Unix socket instead of the configured one\n"
	    "      --ready-fd N    write a line to descriptor N once listening\n"
	    "  -v, --verbose       log debugging detail\n"
	    "  -V, --version       print the version\n"
	    "  -h, --help          print this help\n"
	    "See conbrokerd(8) and conbroker.xml(5).\n");
}

static int main_bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error: what was wrong, and where to look. */
static int main_bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("conbrokerd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'conbrokerd --help' for more information.\n", stderr);
	return 1;
}

/* The option getopt stopped at, as the user typed it. */
static const char *main_bad_option(char **argv, char *buf, size_t len)
{
	const char *arg = argv[optind - 1];

	if (strncmp(arg, "--", 2) == 0)
		snprintf(buf, len, "%.*s", (int)strcspn(arg, "="), arg);
	else
		snprintf(buf, len, "-%c", optopt);
	return buf;
}

/* "1 domain", "2 domains". */
static const char *main_plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/*
 * --check: every problem as FILE:LINE: message, a summary, and whether the
 * daemon would start: an error in a domain file only skips that domain, so
 * it fails the check only with --strict.
 */
static int main_check(struct conf *conf, int rc, const struct conf_diags *diags,
    const char *name, int strict)
{
	size_t i, consoles = 0, warnings = diags->count - diags->errors;

	for (i = 0; i < diags->count; i++)
		fprintf(stderr, "%s\n", diags->items[i].text);
	if (rc < 0 || conf == NULL) {
		printf("%s: unusable, conbrokerd would not start (%zu %s)\n", name,
		    diags->errors ? diags->errors : 1,
		    main_plural(diags->errors ? diags->errors : 1, "error", "errors"));
		return 1;
	}
	for (i = 0; i < conf->ndomains; i++)
		consoles += conf->domains[i].nconsoles;
	printf("%s: %zu %s, %zu %s, %zu %s, %zu %s%s\n", name,
	    conf->ndomains, main_plural(conf->ndomains, "domain", "domains"),
	    consoles, main_plural(consoles, "console", "consoles"),
	    diags->errors, main_plural(diags->errors, "error", "errors"),
	    warnings, main_plural(warnings, "warning", "warnings"),
	    diags->errors == 0 ? "" : strict ? " (--strict: failed)" :
	    " (conbrokerd would skip the domains with errors)");
	return strict && diags->errors ? 1 : 0;
}

/* Every connection and console costs a descriptor: use what we may. */
static void main_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Tell a supervisor that we are ready: systemd's socket and/or a descriptor. */
static void main_ready(int fd)
{
	const char *ns = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (fd >= 0) {
		if (write(fd, "READY\n", 6) < 0)
			log_warn("cannot write to the ready descriptor: %s", strerror(errno));
		close(fd);
	}
	if (ns != NULL && strlen(ns) > sizeof(sun.sun_path)) {
		log_warn("NOTIFY_SOCKET is longer than a socket address (%zu bytes):"
		    " not notifying", sizeof(sun.sun_path));
		ns = NULL;
	}
	/* Linux takes a name that fills sun_path without a terminating NUL,
	 * and an abstract name ('@' here) is counted, not terminated. */
	if (ns != NULL && (ns[0] == '/' || ns[0] == '@')) {
		int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(ns));

		memcpy(sun.sun_path, ns, strlen(ns));
		if (sun.sun_path[0] == '@')
			sun.sun_path[0] = '\0';
		if (s >= 0) {
			if (sendto(s, "READY=1", 7, 0, (struct sockaddr *)&sun, len) < 0)
				log_warn("cannot notify systemd: %s", strerror(errno));
			close(s);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "demo", no_argument, NULL, 'D' },
		{ "check", no_argument, NULL, 'C' },
		{ "strict", no_argument, NULL, 'T' },
		{ "socket", required_argument, NULL, 'S' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config = NULL, *sock = NULL;
	int demo = 0, check = 0, strict = 0, verbose = 0, ready_fd = -1, opt, rc;
	struct conf_diags diags = { 0 };
	struct conf *conf = NULL;
	struct server server;
	uv_loop_t *loop;
	char *end, optbuf[64];

	opterr = 0; /* our own messages, which say what was wrong */
	while ((opt = getopt_long(argc, argv, ":f:vVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': config = optarg; break;
		case 'D': demo = 1; break;
		case 'C': check = 1; break;
		case 'T': strict = 1; break;
		case 'S': sock = optarg; break;
		case 'v': verbose = 1; break;
		case 'R':
			ready_fd = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || *optarg == '\0' || ready_fd < 0)
				return main_bad_usage("--ready-fd: '%s' is not a descriptor number", optarg);
			break;
		case 'V': printf("conbrokerd %s\n", CONBROKER_VERSION); return 0;
		case 'h': main_usage(stdout); return 0;
		case ':':
			return main_bad_usage("option '%s' needs a value",
			    main_bad_option(argv, optbuf, sizeof(optbuf)));
		default:
			return main_bad_usage(strchr(argv[optind - 1], '=') != NULL &&
			    strncmp(argv[optind - 1], "--", 2) == 0 ?
			    "unknown option '%s', or one that takes no value" :
			    "unknown option '%s'",
			    main_bad_option(argv, optbuf, sizeof(optbuf)));
		}
	}
	if (optind != argc)
		return main_bad_usage("unexpected argument '%s' (options only)", argv[optind]);
	if (demo && config != NULL)
		return main_bad_usage("--demo and -f exclude each other: the demo has a"
		    " configuration of its own");
	if (strict && !check)
		return main_bad_usage("--strict goes with --check");
	if (sock != NULL && strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return main_bad_usage("--socket: path too long: %s", sock);
	if (!demo && config == NULL) {
		config = CONF_DEFAULT_PATH;
		if (access(config, F_OK) < 0 && errno == ENOENT) {
			fprintf(stderr, "conbrokerd: %s does not exist: copy the example"
			    " configuration (examples/conbroker.xml in conbroker's"
			    " documentation directory, contrib/conbroker.xml in its"
			    " source), name another with -f FILE, or try the broker"
			    " with --demo\n", config);
			return 1;
		}
	}
	rc = demo ? conf_load_demo(&conf, &diags) : conf_load(config, &conf, &diags);
	if (rc == 0 && conf != NULL)
		conf_check_policy(conf, &diags);
	if (check) {
		rc = main_check(conf, rc, &diags, demo ? "(demo)" : config, strict);
		conf_diags_free(&diags);
		conf_free(conf);
		return rc;
	}
	log_init(verbose);
	for (size_t i = 0; i < diags.count; i++)
		log_msg(diags.items[i].severity == CONF_ERROR ? LOG_LVL_ERR : LOG_LVL_WARN,
		    "%s", diags.items[i].text);
	conf_diags_free(&diags);
	if (rc < 0 || conf == NULL) {
		log_err("cannot start: %s is unusable", demo ? "the demo configuration" : config);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	main_raise_fd_limit();
	lock_set_logger(log_lock_hook, NULL);

	loop = uv_default_loop();
	memset(&server, 0, sizeof(server));
	server.config_path = demo ? NULL : config;
	server.socket_override = sock;
	if (server_init(&server, loop, conf) < 0 || server_listen(&server) < 0) {
		/* Close what was opened, without touching another daemon's socket. */
		server_shutdown(&server);
		uv_run(loop, UV_RUN_DEFAULT);
		server_free(&server);
		conf_free(server.conf);
		uv_loop_close(loop);
		return 1;
	}
	log_info("conbrokerd %s ready: %zu %s", CONBROKER_VERSION, server.conf->ndomains,
	    main_plural(server.conf->ndomains, "domain", "domains"));
	main_ready(ready_fd);
	uv_run(loop, UV_RUN_DEFAULT);
	server_free(&server);
	conf_free(server.conf);
	uv_loop_close(loop);
	log_info("stopped");
	return 0;
}
