/*
 * conbroker: the console client.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

static void main_usage(FILE *f)
{
	fprintf(f,
	    "usage: conbroker [-c URI] COMMAND [ARGS]\n"
	    "  conbroker console DOMAIN [--devname ALIAS] [--force] [--readonly]\n"
	    "                    [-e ESC] [--no-history] [--linger MS]\n"
	    "  conbroker list [--json]\n"
	    "\n"
	    "  -c, --connect URI   unix:PATH, tcp:HOST:PORT or ext:COMMAND\n"
	    "                      (default $CONBROKER_URI, else the local broker)\n"
	    "  -e, --escape ESC    leave with ESC: ^X (Ctrl + X), one character, or none;\n"
	    "                      default ^]\n"
	    "      --linger MS     without a terminal: after the end of input, wait until\n"
	    "                      the console has been quiet this long (default 500)\n"
	    "\n"
	    "exit codes: 0 ok, 1 usage or internal error, 2 no such domain or console,\n"
	    "  3 console busy, 4 device locked by another program, 5 broker unreachable,\n"
	    "  6 taken over, 7 console hung up, 8 permission denied\n");
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
	while ((opt = getopt_long(argc, argv, "d:fre:", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': o.devname = optarg; break;
		case 'f': o.force = 1; break;
		case 'r': o.readonly = 1; break;
		case 'H': o.nohistory = 1; break;
		case 'e':
			if (term_parse_escape(optarg, &o.escape) < 0) {
				fprintf(stderr, "conbroker: bad escape character '%s': use ^X, one"
				    " character, or none\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'L':
			o.linger_ms = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || o.linger_ms == 0) {
				fprintf(stderr, "conbroker: --linger: not a positive number of"
				    " milliseconds: %s\n", optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			main_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "conbroker: console needs exactly one DOMAIN (name or UUID)\n");
		return EXIT_USAGE;
	}
	if (o.force && o.readonly) {
		fprintf(stderr, "conbroker: --force and --readonly exclude each other\n");
		return EXIT_USAGE;
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
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != 'j') {
			main_usage(stderr);
			return EXIT_USAGE;
		}
		json = 1;
	}
	if (optind != argc) {
		fprintf(stderr, "conbroker: list takes no arguments\n");
		return EXIT_USAGE;
	}
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
	while ((opt = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': c.uri = optarg; break;
		case 'h': main_usage(stdout); return 0;
		case 'V': printf("conbroker %s\n", CONBROKER_VERSION); return 0;
		default: main_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	c.loop = uv_default_loop();
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "console") == 0)
		rc = main_console(&c, argc, argv);
	else if (strcmp(argv[0], "list") == 0)
		rc = main_list(&c, argc, argv);
	else {
		fprintf(stderr, "conbroker: unknown command '%s'\n", argv[0]);
		main_usage(stderr);
		return EXIT_USAGE;
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
