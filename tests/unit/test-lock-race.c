/*
 * locks: two processes race for the same pty, thousands of rounds, started
 * together by a pipe barrier; in every round exactly one wins and the other
 * is refused as busy.  Rounds run with lock files only (so the files alone
 * must exclude), with a stale lock under every name that both must break
 * (so two breakers can't both win), and with the flock as well.
 */
#include "tests/unit/test-lock-common.h"

static char dir[PATH_MAX];
static struct tl_pty pty;

struct racer {
	pid_t pid;
	int go;      /* to the child: 'g' race, 'r' release, 'q' quit */
	int result;  /* from it: 'W' won, 'B' busy, 'E' other error, 'd' done */
};

/* A racer: on 'g', acquire and say how it went; on 'r', give back. */
static void
racer_loop(int go, int result, int flags)
{
	struct lock_holder holder;
	struct lock *l = NULL;
	char c, answer;
	int ret;

	while (read(go, &c, 1) == 1 && c != 'q') {
		if (c == 'g') {
			l = NULL;
			ret = lock_acquire(dir, pty.path, flags, &l, &holder, NULL);
			answer = ret == 0 ? 'W' : ret == -EBUSY ? 'B' : 'E';
		} else {
			lock_release(l);
			l = NULL;
			answer = 'd';
		}
		if (write(result, &answer, 1) != 1)
			break;
	}
	_exit(0);
}

static int
racer_start(struct racer *r, int flags)
{
	int go[2], result[2];

	if (pipe(go) == -1 || pipe(result) == -1)
		return -1;
	if ((r->pid = fork()) == 0) {
		close(go[1]);
		close(result[0]);
		racer_loop(go[0], result[1], flags);
	}
	close(go[0]);
	close(result[1]);
	r->go = go[1];
	r->result = result[0];
	return r->pid == -1 ? -1 : 0;
}

static void
racer_stop(struct racer *r)
{
	char c = 'q';

	if (write(r->go, &c, 1) != 1)
		kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, 0);
	close(r->go);
	close(r->result);
}

/* Send c to both racers and collect their two answers. */
static int
race_step(struct racer *r, char c, char *a, char *b)
{
	if (write(r[0].go, &c, 1) != 1 || write(r[1].go, &c, 1) != 1)
		return -1;
	if (read(r[0].result, a, 1) != 1 || read(r[1].result, b, 1) != 1)
		return -1;
	return 0;
}

/* A stale lock under every name, as a killed peer would leave them. */
static void
plant_stale(pid_t dead)
{
	char path[PATH_MAX];
	int k;

	for (k = LOCK_KIND_FHS; k <= LOCK_KIND_SVR4; k++) {
		tl_lock_path(path, sizeof path, dir, k, pty.path);
		/* An hour old: even if the PID were reused it would stay stale. */
		tl_write_pid(path, dead, time(NULL) - 3600);
	}
}

static void
race(const char *what, int flags, int rounds, int stale)
{
	int round, one_winner = 0, empty = 0, errors = 0, first = 0;
	struct racer r[2];
	char a, b, names[512];
	pid_t dead = tl_dead_pid();

	if (racer_start(&r[0], flags) != 0 || racer_start(&r[1], flags) != 0) {
		ok(0, "%s: start two racers", what);
		return;
	}
	for (round = 0; round < rounds; round++) {
		if (stale)
			plant_stale(dead);
		if (race_step(r, 'g', &a, &b) != 0) {
			errors++;
			break;
		}
		if ((a == 'W') + (b == 'W') == 1 && (a == 'B' || b == 'B'))
			one_winner++;
		else if (errors++ == 0)
			diag("%s: round %d: racers said %c and %c", what, round, a, b);
		if (a == 'W')
			first++;
		if (race_step(r, 'r', &a, &b) != 0) {
			errors++;
			break;
		}
		if (tl_dir_count(dir, names, sizeof names) == 0)
			empty++;
		else if (errors++ == 0)
			diag("%s: round %d: left behind:%s", what, round, names);
		tl_dir_clear(dir);
	}
	racer_stop(&r[0]);
	racer_stop(&r[1]);
	is_int(one_winner, rounds, "%s: exactly one winner in each of %d rounds",
	    what, rounds);
	is_int(empty, rounds, "%s: nothing left behind after each round", what);
	/* Not a rule, but a race that one side always wins is no race. */
	diag("%s: the first racer won %d of %d rounds", what, first, rounds);
}

int
main(void)
{
	if (tl_pty_open(&pty) != 0) {
		printf("Bail out! no pty: %s\n", strerror(errno));
		return 1;
	}
	tl_dir_make(dir, sizeof dir, "race");
	race("lock files alone", LOCK_F_NOFLOCK, 3000, 0);
	race("stale locks to break", LOCK_F_NOFLOCK, 1500, 1);
	race("lock files and flock", 0, 1000, 0);
	race("stale locks and flock", 0, 500, 1);
	tl_dir_remove(dir);
	tl_pty_close(&pty);
	return tap_done();
}
