/*
 * fakevm: the hypervisor's side of a console pty, for integration tests.
 *
 * Like QEMU's pty chardev it allocates a pty, puts it in raw mode, keeps the
 * master and lets go of the slave, so that a console client (conbrokerd) opens
 * /dev/pts/N.  What it does with the master is driven by options and by
 * commands written to a control FIFO; what it observes is appended to a
 * status file, one line per event, so a test can wait for a line.
 *
 *   fakevm --path-file F [--status S] [--control FIFO] [--echo] [--record FILE]
 *          [--ctty] [--hold-slave]
 *   fakevm --gen N SEED        write the test byte stream to stdout
 *
 * Control commands: "say TEXT" (TEXT and CR LF to the console), "emit N SEED"
 * (N bytes of the test stream), "winsize" (report the window size the master
 * sees), "hangup" (once the console has read what was sent, close the master
 * and exit), "exit" (close the master and exit at once).
 * Status lines: "ctty PID" (with --ctty: the process in the pty's session),
 * "ready PATH", "opened", "emitted N", "winsize ROWS COLS" (the
 * size read with TIOCGWINSZ on the master, as a hypervisor reads it), "winch
 * ROWS COLS" (with --ctty: a SIGWINCH in the pty's session).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char *status_path;
static volatile sig_atomic_t stop;

/* The test stream: xorshift64*, so both sides can produce it from a seed. */
struct gen {
	uint64_t state;
	uint8_t buf[8];
	int avail;
};

static void gen_init(struct gen *g, uint64_t seed)
{
	g->state = seed ? seed : 0x9e3779b97f4a7c15ULL;
	g->avail = 0;
}

static uint8_t gen_byte(struct gen *g)
{
	uint64_t x;

	if (g->avail == 0) {
		x = g->state;
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		g->state = x;
		x *= 0x2545f4914f6cdd1dULL;
		memcpy(g->buf, &x, 8);
		g->avail = 8;
	}
	return g->buf[8 - g->avail--];
}

static void status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Append one event line to the status file (or stdout). */
static void status(const char *fmt, ...)
{
	va_list ap;
	FILE *f = status_path ? fopen(status_path, "a") : stdout;

	if (f == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	if (f != stdout)
		fclose(f);
	else
		fflush(f);
}

static int gen_main(unsigned long long n, unsigned long long seed)
{
	struct gen g;
	uint8_t buf[65536];
	size_t i, chunk;

	gen_init(&g, seed);
	while (n > 0) {
		chunk = n > sizeof(buf) ? sizeof(buf) : (size_t)n;
		for (i = 0; i < chunk; i++)
			buf[i] = gen_byte(&g);
		if (fwrite(buf, 1, chunk, stdout) != chunk)
			return 1;
		n -= chunk;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int winch_pipe[2] = { -1, -1 };
static int winch_tty = -1;

static void on_winch(int sig)
{
	struct winsize ws;
	char line[64];
	int n;

	(void)sig;
	if (ioctl(winch_tty, TIOCGWINSZ, &ws) < 0)
		return;
	n = snprintf(line, sizeof(line), "winch %u %u\n", ws.ws_row, ws.ws_col);
	if (write(winch_pipe[1], line, (size_t)n) < 0)
		_exit(1);
}

/* A process in the pty's session, with the pty as controlling terminal: it
 * reports every SIGWINCH, as a guest's console driver would see a resize. */
static pid_t start_ctty(const char *slave)
{
	pid_t pid;

	if (pipe(winch_pipe) < 0)
		return -1;
	pid = fork();
	if (pid != 0) {
		close(winch_pipe[1]);
		return pid;
	}
	/* Nothing of the parent's: not the master (the pty must hang up when
	 * fakevm goes), not the test's output (whoever reads it waits for EOF). */
	for (int fd = 0; fd < 1024; fd++)
		if (fd != winch_pipe[1])
			close(fd);
	setsid();
	winch_tty = open(slave, O_RDWR);
	if (winch_tty < 0)
		_exit(1);
	dup2(winch_tty, 0);
	dup2(winch_tty, 1);
	dup2(winch_tty, 2);
	signal(SIGWINCH, on_winch);
	signal(SIGHUP, SIG_DFL);
	if (write(winch_pipe[1], "ctty\n", 5) < 0)
		_exit(1);
	for (;;)
		pause();
}

/* Write the whole buffer to the master, waiting while the pty is full. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t w;

	while (n > 0 && !stop) {
		w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			poll(&pfd, 1, 100);
		} else {
			return -1;
		}
	}
	return 0;
}

struct vm {
	int master, record, echo;
	struct gen g;
	unsigned long long emit_left, emitted;
	int opened;
	uint8_t out[65536];
	size_t outlen, outoff;
};

/*
 * Before hanging up, let the console's reader take what was sent: Linux
 * throws away what is still queued on the slave once the master closes, and
 * a guest's last words that nobody could have read prove nothing.  Waits
 * while the queue empties, and gives up once it stops moving for 2 s.
 */
static void drain(struct vm *vm)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	int fd, queued, last = -1, still = 0, zeros = 0;
	char path[64];

	if (ptsname_r(vm->master, path, sizeof(path)) != 0 ||
	    (fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK)) < 0)
		return;
	while (zeros < 2 && still < 40) {
		if (ioctl(fd, FIONREAD, &queued) < 0)
			break;
		zeros = queued == 0 ? zeros + 1 : 0;
		still = queued == last ? still + 1 : 0;
		last = queued;
		nanosleep(&tick, NULL);
	}
	close(fd);
}

/* One control command from the FIFO. */
static int control(struct vm *vm, char *line)
{
	unsigned long long n, seed;

	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, "say ", 4) == 0) {
		write_all(vm->master, (const uint8_t *)line + 4, strlen(line + 4));
		write_all(vm->master, (const uint8_t *)"\r\n", 2);
	} else if (sscanf(line, "emit %llu %llu", &n, &seed) == 2) {
		gen_init(&vm->g, seed);
		vm->emit_left = n;
		vm->emitted = 0;
	} else if (strcmp(line, "winsize") == 0) {
		struct winsize ws;

		if (ioctl(vm->master, TIOCGWINSZ, &ws) < 0)
			status("winsize error %s", strerror(errno));
		else
			status("winsize %u %u", ws.ws_row, ws.ws_col);
	} else if (strcmp(line, "hangup") == 0) {
		drain(vm);
		return 1;
	} else if (strcmp(line, "exit") == 0) {
		return 1;
	}
	return 0;
}

/* Fill and send the next piece of an emission; returns 1 while more remain. */
static int emit_some(struct vm *vm)
{
	ssize_t w;
	size_t i;

	if (vm->outoff == vm->outlen && vm->emit_left > 0) {
		vm->outlen = vm->emit_left > sizeof(vm->out) ? sizeof(vm->out) : (size_t)vm->emit_left;
		for (i = 0; i < vm->outlen; i++)
			vm->out[i] = gen_byte(&vm->g);
		vm->outoff = 0;
		vm->emit_left -= vm->outlen;
	}
	if (vm->outoff < vm->outlen) {
		w = write(vm->master, vm->out + vm->outoff, vm->outlen - vm->outoff);
		if (w > 0) {
			vm->outoff += (size_t)w;
			vm->emitted += (size_t)w;
		}
	}
	if (vm->outoff == vm->outlen && vm->emit_left == 0 && vm->emitted > 0) {
		status("emitted %llu", vm->emitted);
		vm->emitted = 0;
		return 0;
	}
	return vm->outoff < vm->outlen || vm->emit_left > 0;
}

/* Read what the console sent: record it, echo it. */
static int receive(struct vm *vm)
{
	uint8_t buf[65536];
	ssize_t n = read(vm->master, buf, sizeof(buf));

	if (n <= 0)
		return n == 0 || errno == EIO ? -1 : 0;
	if (vm->record >= 0 && write(vm->record, buf, (size_t)n) != n)
		return -2;
	if (vm->echo)
		write_all(vm->master, buf, (size_t)n);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "path-file", required_argument, NULL, 'p' },
		{ "status", required_argument, NULL, 's' },
		{ "control", required_argument, NULL, 'c' },
		{ "record", required_argument, NULL, 'r' },
		{ "echo", no_argument, NULL, 'e' },
		{ "ctty", no_argument, NULL, 't' },
		{ "hold-slave", no_argument, NULL, 'H' },
		{ "gen", no_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path_file = NULL, *control_path = NULL, *record_path = NULL;
	int opt, ctty = 0, hold = 0, gen = 0, ctl = -1, slave, done = 0;
	struct vm vm = { .master = -1, .record = -1 };
	struct termios t;
	char slave_path[64], tmp[4096], line[4096];
	size_t linelen = 0;
	FILE *f;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': path_file = optarg; break;
		case 's': status_path = optarg; break;
		case 'c': control_path = optarg; break;
		case 'r': record_path = optarg; break;
		case 'e': vm.echo = 1; break;
		case 't': ctty = 1; break;
		case 'H': hold = 1; break;
		case 'g': gen = 1; break;
		default: return 2;
		}
	}
	if (gen) {
		if (optind + 2 != argc)
			return 2;
		return gen_main(strtoull(argv[optind], NULL, 10), strtoull(argv[optind + 1], NULL, 10));
	}
	if (path_file == NULL) {
		fprintf(stderr, "fakevm: --path-file is required\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);
	vm.master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (vm.master < 0 || grantpt(vm.master) < 0 || unlockpt(vm.master) < 0 ||
	    ptsname_r(vm.master, slave_path, sizeof(slave_path)) != 0) {
		perror("fakevm: pty");
		return 1;
	}
	/* Raw, as QEMU makes its pty: the guest's bytes pass untouched. */
	slave = open(slave_path, O_RDWR | O_NOCTTY);
	if (slave < 0 || tcgetattr(slave, &t) < 0) {
		perror("fakevm: slave");
		return 1;
	}
	cfmakeraw(&t);
	tcsetattr(slave, TCSANOW, &t);
	if (!hold)
		close(slave);
	if (record_path != NULL)
		vm.record = open(record_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (control_path != NULL) {
		mkfifo(control_path, 0600);
		ctl = open(control_path, O_RDWR | O_NONBLOCK);
	}
	if (ctty) {
		pid_t child = start_ctty(slave_path);
		char ready[8];

		/* Ready only once the child owns the pty and catches SIGWINCH. */
		if (child < 0 || read(winch_pipe[0], ready, 5) != 5 ||
		    memcmp(ready, "ctty\n", 5) != 0) {
			fprintf(stderr, "fakevm: the --ctty process did not start\n");
			return 1;
		}
		status("ctty %d", (int)child);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path_file);
	f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "%s\n", slave_path) < 0 || fclose(f) != 0 ||
	    rename(tmp, path_file) < 0) {
		perror("fakevm: path file");
		return 1;
	}
	status("ready %s", slave_path);

	while (!stop && !done) {
		struct pollfd pfd[3];
		int n = 0, rc, mi;

		mi = n;
		pfd[n].fd = vm.master;
		pfd[n].events = POLLIN | (vm.emit_left || vm.outoff < vm.outlen ? POLLOUT : 0);
		n++;
		if (ctl >= 0) {
			pfd[n].fd = ctl;
			pfd[n].events = POLLIN;
			n++;
		}
		if (winch_pipe[0] >= 0) {
			pfd[n].fd = winch_pipe[0];
			pfd[n].events = POLLIN;
			n++;
		}
		rc = poll(pfd, (nfds_t)n, 1000);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc == 0 && !vm.opened) {
			/* Quiet, without POLLHUP: someone has the console open. */
			vm.opened = 1;
			status("opened");
		}
		if (rc <= 0)
			continue;
		for (int i = 1; i < n; i++) {
			if (pfd[i].fd == winch_pipe[0] && !(pfd[i].revents & POLLIN) &&
			    (pfd[i].revents & (POLLHUP | POLLERR))) {
				/* The --ctty process is gone: stop watching for it. */
				close(winch_pipe[0]);
				winch_pipe[0] = -1;
				continue;
			}
			if (!(pfd[i].revents & POLLIN))
				continue;
			if (pfd[i].fd == ctl) {
				ssize_t r = read(ctl, line + linelen, sizeof(line) - 1 - linelen);
				char *nl;

				if (r > 0)
					linelen += (size_t)r;
				line[linelen] = '\0';
				while ((nl = strchr(line, '\n')) != NULL) {
					*nl = '\0';
					if (control(&vm, line))
						done = 1;
					linelen -= (size_t)(nl + 1 - line);
					memmove(line, nl + 1, linelen + 1);
				}
			} else {
				char buf[256], *p, *nl;
				ssize_t r = read(winch_pipe[0], buf, sizeof(buf) - 1);

				/* Several signals may arrive in one read: report each line. */
				buf[r > 0 ? r : 0] = '\0';
				for (p = buf; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
					*nl = '\0';
					if (strncmp(p, "winch", 5) == 0)
						status("%s", p);
				}
			}
		}
		if (pfd[mi].revents & POLLHUP) {
			/* Nobody has the console open: wait for a client, as QEMU does. */
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			if (!(pfd[mi].revents & POLLIN))
				nanosleep(&ts, NULL);
			continue;
		}
		if (!vm.opened) {
			vm.opened = 1;
			status("opened");
		}
		if (pfd[mi].revents & POLLIN)
			receive(&vm);
		if (pfd[mi].revents & POLLOUT)
			emit_some(&vm);
	}
	status("exiting");
	return 0;
}
