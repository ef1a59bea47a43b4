/*
 * A console and its consumers, on a real pty pair and a real loop, with fake
 * consumers in place of sessions: consumers are pumped at the end of the
 * loop turn, never from the caller's stack; a lossless consumer's cursor
 * holds reading back (the writer's backpressure) and lets go when demoted;
 * a crowd of watchers is sent to at most every 20 ms; ends reach every
 * consumer; the device is let go at the end of the turn its last consumer
 * left in.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "tests/tap.h"

struct fake {
	struct console_consumer k;
	size_t budget;     /* bytes it takes per pump */
	size_t got, missed;
	int pumps, ends, flows;
	uint32_t code;
	uint64_t head_at_pump;
};

static struct fake *fake_of(struct console_consumer *k)
{
	return (struct fake *)(void *)k;
}

static void fake_pump(struct console_consumer *k)
{
	struct fake *f = fake_of(k);
	struct ring *r = &k->console->ring;
	const uint8_t *p;
	size_t n, taken = 0;

	f->pumps++;
	f->head_at_pump = r->head;
	if (k->cursor < ring_tail(r)) {
		f->missed += ring_tail(r) - k->cursor;
		k->cursor = ring_tail(r);
	}
	while (taken < f->budget && (n = ring_peek(r, k->cursor, &p, f->budget - taken)) > 0) {
		k->cursor += n;
		taken += n;
	}
	f->got += taken;
	if (taken > 0 && k->lossless)
		console_update(k->console);
}

static void fake_end(struct console_consumer *k, uint32_t code, const char *message)
{
	(void)message;
	fake_of(k)->ends++;
	fake_of(k)->code = code;
	console_detach(k);
}

static void fake_flows(struct console_consumer *k)
{
	fake_of(k)->flows++;
}

static const struct consumer_ops fake_ops = {
	.pump = fake_pump, .end = fake_end, .stop = fake_end, .input_flows = fake_flows,
};

static void fake_init(struct fake *f, int lossless, int crowd, size_t budget)
{
	memset(f, 0, sizeof(*f));
	f->k.ops = &fake_ops;
	f->k.lossless = lossless;
	f->k.crowd = crowd;
	f->budget = budget;
}

static uv_loop_t *loop;

/* Turn the loop until cond holds or ms pass; whether it held. */
#define TURN_UNTIL(cond, ms) ({						\
	uint64_t until_ = uv_hrtime() / 1000000 + (ms);			\
	while (!(cond) && uv_hrtime() / 1000000 < until_) {		\
		uv_run(loop, UV_RUN_NOWAIT);				\
		usleep(1000);						\
	}								\
	(cond);								\
})

/* Guest output: write len bytes of c to the pty's master. */
static size_t guest(int master, int c, size_t len)
{
	char buf[512];
	size_t done = 0;
	ssize_t n;

	memset(buf, c, sizeof(buf));
	while (done < len) {
		n = write(master, buf, len - done < sizeof(buf) ? len - done : sizeof(buf));
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return done;
}

int main(void)
{
	char lockdir[] = "/tmp/cb-unit-XXXXXX", slave[128];
	/* trust='path': the test's own pty needs no hypervisor to prove it. */
	struct conf_console cc = { .alias = (char *)"serial0", .type = CONF_CONSOLE_PTY,
	    .capture = CONF_CAPTURE_ATTACHED, .trust_path = 1 };
	struct conf_domain d = { .name = (char *)"vm", .consoles = &cc, .nconsoles = 1 };
	struct conf conf = { .history_size = 4096, .stale_after = 30, .writer_timeout = 10,
	    .domains = &d, .ndomains = 1 };
	struct fake w, watcher, crowd[6];
	struct lock_holder holder;
	struct server s;
	struct console *c;
	char *cause = NULL;
	int master, sfd, i, crowd_pumps;
	uint64_t t0;
	size_t written;

	if (mkdtemp(lockdir) == NULL || openpty(&master, &sfd, slave, NULL, NULL) < 0) {
		printf("1..0 # SKIP no pty or temporary directory\n");
		return 0;
	}
	close(sfd);
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	cc.pty_path = slave;
	conf.lock_dir = lockdir;
	loop = uv_default_loop();
	memset(&s, 0, sizeof(s));
	server_init(&s, loop, &conf);
	c = server_find_console(&s, &d, &cc);
	ok(c != NULL, "the server has a console object for the pty");
	is_int(console_open(c, &holder, &cause), 0, "the console opens %s", slave);

	/* --- pumped at the end of the turn */
	fake_init(&watcher, 0, 1, 1 << 20);
	console_attach(c, &watcher.k, 0);
	is_int(watcher.pumps, 0, "attaching does not pump in the caller's stack");
	uv_run(loop, UV_RUN_NOWAIT);
	is_int(watcher.pumps, 1, "the new consumer is pumped at the end of the turn");
	guest(master, 'a', 300);
	ok(TURN_UNTIL(watcher.got == 300, 2000), "guest output reaches the consumer");
	is_int(watcher.head_at_pump, c->ring.head, "a pump sees every byte read before it");

	/* --- the writer's backpressure (keep) */
	fake_init(&w, 1, 0, 0);
	console_attach(c, &w.k, 1);
	ok(c->writer == &w.k, "a consumer attached as writer is the console's writer");
	TURN_UNTIL(w.pumps > 0, 1000);
	w.k.cursor = c->ring.head; /* starts at the newest byte */
	t0 = c->ring.head;
	written = guest(master, 'b', 3 * 4096);
	is_int(written, 3 * 4096, "the guest writes three rings' worth");
	TURN_UNTIL(c->ring.head - t0 >= 4096, 2000);
	TURN_UNTIL(0, 50);
	is_int(c->ring.head - w.k.cursor, 4096, "a writer that takes nothing holds reading at one ring");
	is_int(ring_tail(&c->ring), w.k.cursor, "and nothing it has not read is overwritten");
	ok(watcher.got > 300, "a watcher still gets what was read");
	w.budget = 1 << 20;
	console_consumer_wake(&w.k);
	TURN_UNTIL(w.got == written, 3000);
	is_int(w.got, written, "once the writer reads, everything the guest wrote arrives");
	is_int(w.missed, 0, "and the writer missed nothing");

	/* --- a wedged writer demoted, and restored */
	w.budget = 0;
	t0 = c->ring.head;
	written = guest(master, 'c', 2 * 4096);
	TURN_UNTIL(c->ring.head - w.k.cursor >= 4096, 2000);
	TURN_UNTIL(0, 50);
	is_int(c->ring.head - w.k.cursor, 4096, "the wedged writer holds reading again");
	console_consumer_lossless(&w.k, 0);
	ok(TURN_UNTIL(c->ring.head - t0 == written, 2000),
	    "demoted, it no longer holds the guest back");
	w.budget = 1 << 20;
	console_consumer_wake(&w.k);
	TURN_UNTIL(w.k.cursor == c->ring.head, 1000);
	is_int(w.missed, written - 4096, "a demoted writer skips what the ring lost, and"
	    " knows how much");
	console_consumer_lossless(&w.k, 1);
	w.budget = 0;
	t0 = c->ring.head;
	guest(master, 'd', 2 * 4096);
	TURN_UNTIL(c->ring.head - t0 >= 4096, 2000);
	TURN_UNTIL(0, 50);
	is_int(c->ring.head - w.k.cursor, 4096, "restored, it holds reading back again");
	w.budget = 1 << 20;
	console_consumer_wake(&w.k);
	TURN_UNTIL(w.k.cursor == c->ring.head && c->ring.head - t0 == 2 * 4096, 2000);

	/* --- the crowd's rate cap */
	for (i = 0; i < 6; i++) {
		fake_init(&crowd[i], 0, 1, 1 << 20);
		console_attach(c, &crowd[i].k, 0);
	}
	is_int(c->ncrowd, 7, "seven watchers make a crowd");
	TURN_UNTIL(crowd[5].pumps > 0, 1000);
	TURN_UNTIL(0, 30);
	crowd_pumps = crowd[0].pumps;
	t0 = uv_now(loop);
	guest(master, 'e', 10);
	ok(TURN_UNTIL(crowd[0].pumps > crowd_pumps, 1000), "the crowd gets the output");
	crowd_pumps = crowd[0].pumps;
	t0 = uv_now(loop);
	i = w.pumps;
	guest(master, 'f', 10);
	TURN_UNTIL(w.pumps > i && w.k.cursor == c->ring.head, 1000);
	uv_update_time(loop);
	ok(crowd[0].pumps == crowd_pumps || uv_now(loop) - t0 >= 20,
	    "the writer is sent to at once; the crowd not again within 20 ms");
	ok(TURN_UNTIL(crowd[0].pumps > crowd_pumps, 1000), "the crowd gets it on its next turn");
	uv_update_time(loop);
	ok(uv_now(loop) - t0 >= 19, "which is 20 ms after the last (%llu ms)",
	    (unsigned long long)(uv_now(loop) - t0));
	for (i = 0; i < 6; i++)
		console_detach(&crowd[i].k);
	is_int(c->ncrowd, 1, "the crowd left");

	/* --- ends */
	console_end_all(c, PROTO_CODE_HANGUP, "test");
	ok(w.ends == 1 && watcher.ends == 1, "an end reaches every consumer");
	is_int(w.code, PROTO_CODE_HANGUP, "with its code");
	ok(c->state == CONSOLE_OPEN, "the device is held until the end of the turn");
	uv_run(loop, UV_RUN_NOWAIT);
	ok(c->state == CONSOLE_CLOSED, "and let go once the turn ends without consumers");

	server_shutdown(&s);
	uv_run(loop, UV_RUN_DEFAULT);
	server_free(&s);
	uv_loop_close(loop);
	close(master);
	rmdir(lockdir);
	return tap_done();
}
