/*
 * conbroker: the console client.
 */
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

static void main_usage(FILE *f)
{
	fprintf(f,
	    "usage: conbroker [-c URI] COMMAND [ARGS]\n"
	    "  conbroker console DOMAIN [-d ALIAS] [-f | -r] [-e ESC] [--no-history]\n"
	    "                    [--linger MS]\n"
	    "  conbroker list [--json]\n"
	    "\n"
	    "  -c, --connect URI   unix:PATH, tcp:HOST:PORT or ext:COMMAND\n"
	    "                      (default $CONBROKER_URI, else the local broker)\n"
	    "  -h, --help          print this help\n"
	    "  -V, --version       print the version\n"
	    "console:\n"
	    "  DOMAIN              the domain's name or UUID\n"
	    "  -d, --devname ALIAS the console with this alias (default: the first\n"
	    "                      console, else the first serial)\n"
	    "  -f, --force         take the console over from its current writer\n"
	    "  -r, --readonly      watch: see the output, send nothing\n"
	    "  -e, --escape ESC    leave with ESC: ^X (Ctrl + X), one character, or none;\n"
	    "                      default ^]\n"
	    "      --no-history    do not replay the output from before attaching\n"
	    "      --linger MS     without a terminal: after the end of input, wait until\n"
	    "                      the console has been quiet this long (default 500)\n"
	    "list:\n"
	    "      --json          one JSON object per console instead of a table\n"
	    "\n"
	    "exit codes: 0 ok, 1 usage or internal error, 2 no such domain or console,\n"
	    "  3 console busy, 4 device locked by another program, 5 broker unreachable,\n"
	    "  6 taken over, 7 console hung up or not running, 8 permission denied\n"
	    "See conbroker(1).\n");
}

static int main_bad_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A usage error: what was wrong, in which command, and where to look. */
static int main_bad_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "conbroker%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'conbroker --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

/* What getopt stopped at (opterr is off), as the user typed it. */
static int main_bad_option(const char *cmd, char **argv, int opt)
{
	const char *arg = argv[optind - 1];
	char name[64];

	if (strncmp(arg, "--", 2) == 0)
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	else
		snprintf(name, sizeof(name), "-%c", optopt);
	if (opt == ':')
		return main_bad_usage(cmd, "option '%s' needs a value", name);
	if (strncmp(arg, "--", 2) == 0 && strchr(arg, '=') != NULL)
		return main_bad_usage(cmd, "unknown option '%s', or one that takes no"
		    " value", name);
	return main_bad_usage(cmd, "unknown option '%s'", name);
}

static int main_console(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "devname", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' },
		{ "readonly", no_argument, NULL, 'r' },
		{ "escape", required_argument, NULL, 'e' },
		{ "no-history", no_argument, NULL, 'H' },
		{ "linger", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 }
	};
	struct console_opts o = { .escape = 0x1d, .linger_ms = 500 };
	char *end;
	int opt;

	optind = 0; /* GNU: restart, and permute again */
	while ((opt = getopt_long(argc, argv, ":d:fre:", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': o.devname = optarg; break;
		case 'f': o.force = 1; break;
		case 'r': o.readonly = 1; break;
		case 'H': o.nohistory = 1; break;
		case 'e':
			if (term_parse_escape(optarg, &o.escape) < 0)
				return main_bad_usage("console", "bad escape character '%s':"
				    " use ^X, one character, or none", optarg);
			break;
		case 'L':
			o.linger_ms = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || o.linger_ms == 0)
				return main_bad_usage("console", "--linger: not a positive"
				    " number of milliseconds: %s", optarg);
			break;
		default:
			return main_bad_option("console", argv, opt);
		}
	}
	if (optind == argc)
		return main_bad_usage("console", "which DOMAIN? (a name or UUID; see"
		    " conbroker list)");
	if (optind + 1 != argc)
		return main_bad_usage("console", "one DOMAIN only, not '%s' too",
		    argv[optind + 1]);
	if (o.force && o.readonly) {
		return main_bad_usage("console", "--force and --readonly exclude each other");
	}
	o.domain = argv[optind];
	return console_run(c, &o) < 0 ? EXIT_USAGE : -1;
}

static int main_list(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	int json = 0, opt;

	optind = 0; /* GNU: restart, and permute again */
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (opt != 'j')
			return main_bad_option("list", argv, opt);
		json = 1;
	}
	if (optind != argc)
		return main_bad_usage("list", "unexpected argument '%s' (list takes"
		    " none)", argv[optind]);
	return list_run(c, json) < 0 ? EXIT_USAGE : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct client c;
	int opt, rc;

	memset(&c, 0, sizeof(c));
	c.uri = client_default_uri();
	/* A closed stdout or connection is an error to report, not a death. */
	signal(SIGPIPE, SIG_IGN);
	opterr = 0; /* our own messages, which say what was wrong */
	while ((opt = getopt_long(argc, argv, "+:c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': c.uri = optarg; break;
		case 'h': main_usage(stdout); return 0;
		case 'V': printf("conbroker %s\n", CONBROKER_VERSION); return 0;
		default: return main_bad_option(NULL, argv, opt);
		}
	}
	if (optind >= argc)
		return main_bad_usage(NULL, "which command? console DOMAIN, or list");
	c.loop = uv_default_loop();
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "console") == 0)
		rc = main_console(&c, argc, argv);
	else if (strcmp(argv[0], "list") == 0)
		rc = main_list(&c, argc, argv);
	else {
		return main_bad_usage(NULL, "unknown command '%s' (console DOMAIN, or"
		    " list)", argv[0]);
	}
	if (rc >= 0)
		return rc;
	uv_run(c.loop, UV_RUN_DEFAULT);
	term_raw(0);
	if (c.exit_msg != NULL)
		fprintf(stderr, "conbroker: %s\n", c.exit_msg);
	free(c.exit_msg);
	proto_reader_free(&c.reader);
	uv_loop_close(c.loop);
	return c.finishing ? c.exit_code : EXIT_UNREACHABLE;
}
