/*
 * loadgen: thousands of conbroker sessions from one process, on libuv.
 *
 *   loadgen scale --socket PATH --prefix NAME --count N --daemon-pid PID
 *                 --control FIFO [--idle S] [--rtt K] [--stream M] [--rate BPS]
 *   loadgen watch --socket PATH --domain NAME --count W [--seconds S] [--ready FILE]
 *
 * scale attaches N writers to the domains NAME00000, NAME00001, ... (their
 * ptys held by vmside --echo), sending heartbeats as the broker asks, then
 * reports the broker's resident memory per console, its CPU while every
 * session is idle for S seconds, the keystroke round trip on the first
 * console (K keys, 1 ms apart) while the others are idle, and again while
 * consoles 1..M stream BPS bytes a second each (vmside's "stream" command).
 *
 * watch attaches W read-only watchers to one console and reads and drops
 * what they get until SIGTERM or S seconds, then reports the bytes and the
 * skipped-output notices they received.
 *
 * Output: key=value lines.  Every phase is bounded in time.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "bench/bench.h"
#include "proto/proto.h"

#define LOADGEN_INFLIGHT 128     /* handshakes at once */
#define LOADGEN_ATTACH_LIMIT_MS 120000

enum loadgen_state { LG_IDLE, LG_CONNECTING, LG_HELLO, LG_OPEN, LG_ATTACHED, LG_DEAD };

struct loadgen_conn {
	uv_pipe_t pipe;
	uv_connect_t connect;
	struct proto_reader reader;
	enum loadgen_state state;
	int index;
	uint64_t last_sent_ms;
	uint64_t data_bytes;
	uint64_t missed;
};

static struct {
	uv_loop_t *loop;
	const char *socket, *prefix, *control, *ready;
	int count, rtt_count, stream_count, rate, idle_s, seconds, readonly;
	long daemon_pid;
	struct loadgen_conn *conns;
	int next, inflight, attached, dead;
	unsigned heartbeat_ms;
	uv_timer_t heartbeat, phase, key_timer;
	uv_signal_t sigterm;
	/* rtt */
	double *rtt_us;
	int rtt_n, rtt_want;
	uint64_t key_sent_ns;
	int key_waiting;
	void (*rtt_done)(void);
	/* measurements */
	double t_attach0, rss0_kib, cpu_mark, stream_cpu0;
} lg;

static double loadgen_now(void)
{
	return (double)uv_hrtime() / 1e9;
}

static double loadgen_rss_kib(long pid)
{
	char path[64], line[256];
	double kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = atof(line + 6);
	if (f != NULL)
		fclose(f);
	return kib;
}

static void loadgen_control(const char *cmd)
{
	int fd = open(lg.control, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, cmd, strlen(cmd)) < 0)
		fprintf(stderr, "loadgen: control %s: %s\n", lg.control, strerror(errno));
	if (fd >= 0)
		close(fd);
}

struct loadgen_write {
	uv_write_t req;
	uint8_t data[];
};

static void loadgen_on_write(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

static void loadgen_send_raw(struct loadgen_conn *c, const uint8_t *buf, size_t len)
{
	struct loadgen_write *w;
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	int n;

	if (c->state == LG_DEAD)
		return;
	c->last_sent_ms = uv_now(lg.loop);
	n = uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
	if (n == (int)len)
		return;
	if (n < 0)
		n = 0;
	w = malloc(sizeof(*w) + len - (size_t)n);
	memcpy(w->data, buf + n, len - (size_t)n);
	b = uv_buf_init((char *)w->data, (unsigned)(len - (size_t)n));
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, loadgen_on_write) < 0)
		free(w);
}

static void loadgen_send(struct loadgen_conn *c, const struct proto_msg *m)
{
	uint8_t buf[1024];
	ssize_t n = proto_encode(m, buf, sizeof(buf));

	if (n > 0)
		loadgen_send_raw(c, buf, (size_t)n);
}

static void loadgen_start_more(void);

static void loadgen_conn_closed(uv_handle_t *h)
{
	(void)h;
}

static void loadgen_fail(struct loadgen_conn *c, const char *why)
{
	if (c->state == LG_DEAD)
		return;
	if (c->state != LG_ATTACHED)
		lg.inflight--;
	else
		lg.attached--;
	c->state = LG_DEAD;
	lg.dead++;
	if (lg.dead <= 5)
		fprintf(stderr, "loadgen: session %d: %s\n", c->index, why);
	if (!uv_is_closing((uv_handle_t *)&c->pipe))
		uv_close((uv_handle_t *)&c->pipe, loadgen_conn_closed);
	loadgen_start_more();
}

static void loadgen_attached(void);

static void loadgen_on_frame(struct loadgen_conn *c, const struct proto_msg *m)
{
	struct proto_msg o;
	char name[128];

	switch (m->type) {
	case PROTO_HELLO:
		lg.heartbeat_ms = m->u.hello.heartbeat_ms;
		memset(&o, 0, sizeof(o));
		o.type = PROTO_OPEN;
		if (lg.readonly)
			snprintf(name, sizeof(name), "%s", lg.prefix);
		else
			snprintf(name, sizeof(name), "%s%05d", lg.prefix, c->index);
		o.u.open.domain = proto_str(name);
		o.u.open.devname = proto_str("");
		o.u.open.flags = PROTO_OPEN_NOHISTORY | (lg.readonly ? PROTO_OPEN_READONLY : 0);
		o.u.open.rows = 24;
		o.u.open.cols = 80;
		loadgen_send(c, &o);
		c->state = LG_OPEN;
		break;
	case PROTO_OPENED:
		c->state = LG_ATTACHED;
		lg.inflight--;
		lg.attached++;
		loadgen_start_more();
		if (lg.attached == lg.count)
			loadgen_attached();
		break;
	case PROTO_DATA:
		c->data_bytes += m->u.data.len;
		if (c->index == 0 && lg.key_waiting) {
			lg.key_waiting = 0;
			lg.rtt_us[lg.rtt_n++] = (double)(uv_hrtime() - lg.key_sent_ns) / 1e3;
		}
		break;
	case PROTO_NOTICE:
		if (m->u.notice.kind == PROTO_NOTICE_MISSED)
			c->missed += m->u.notice.count;
		break;
	case PROTO_ERROR:
	case PROTO_CLOSED:
		snprintf(name, sizeof(name), "broker said: %.*s", m->u.status.message.len,
		    m->u.status.message.ptr);
		loadgen_fail(c, name);
		break;
	default:
		break;
	}
}

static void loadgen_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct loadgen_conn *c = h->data;
	size_t room = 0;
	uint8_t *p = proto_reader_space(&c->reader, &room);

	(void)suggested;
	*buf = uv_buf_init((char *)p, p ? (unsigned)room : 0);
}

static void loadgen_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct loadgen_conn *c = s->data;
	struct proto_msg m;
	const char *why = "bad frame";
	int r;

	(void)buf;
	if (n < 0) {
		loadgen_fail(c, n == UV_EOF ? "the broker closed the connection" : uv_strerror((int)n));
		return;
	}
	proto_reader_commit(&c->reader, (size_t)n);
	while (c->state != LG_DEAD && (r = proto_reader_next(&c->reader, &m, &why)) != 0) {
		if (r < 0) {
			loadgen_fail(c, why);
			return;
		}
		loadgen_on_frame(c, &m);
	}
}

static void loadgen_on_connect(uv_connect_t *req, int status)
{
	struct loadgen_conn *c = req->data;
	struct proto_msg m;

	if (status < 0) {
		loadgen_fail(c, uv_strerror(status));
		return;
	}
	c->state = LG_HELLO;
	c->pipe.data = c;
	uv_read_start((uv_stream_t *)&c->pipe, loadgen_on_alloc, loadgen_on_read);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	m.u.hello.version = PROTO_VERSION;
	m.u.hello.software = proto_str("loadgen");
	loadgen_send(c, &m);
}

/* Keep LOADGEN_INFLIGHT handshakes going until every session is started. */
static void loadgen_start_more(void)
{
	struct loadgen_conn *c;

	while (lg.inflight < LOADGEN_INFLIGHT && lg.next < lg.count) {
		c = &lg.conns[lg.next];
		c->index = lg.next++;
		c->state = LG_CONNECTING;
		proto_reader_init(&c->reader);
		uv_pipe_init(lg.loop, &c->pipe, 0);
		c->pipe.data = c;
		c->connect.data = c;
		uv_pipe_connect(&c->connect, &c->pipe, lg.socket, loadgen_on_connect);
		lg.inflight++;
	}
}

/* A client sends HEARTBEAT when it has sent nothing for heartbeat_ms. */
static void loadgen_on_heartbeat(uv_timer_t *t)
{
	uint64_t now = uv_now(lg.loop);
	struct proto_msg m;
	int i;

	(void)t;
	if (lg.heartbeat_ms == 0)
		return;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_HEARTBEAT;
	for (i = 0; i < lg.next; i++)
		if (lg.conns[i].state == LG_ATTACHED &&
		    now - lg.conns[i].last_sent_ms >= lg.heartbeat_ms)
			loadgen_send(&lg.conns[i], &m);
}

static void loadgen_stop(void)
{
	int i;

	uv_timer_stop(&lg.heartbeat);
	uv_timer_stop(&lg.phase);
	uv_timer_stop(&lg.key_timer);
	uv_close((uv_handle_t *)&lg.heartbeat, NULL);
	uv_close((uv_handle_t *)&lg.phase, NULL);
	uv_close((uv_handle_t *)&lg.key_timer, NULL);
	uv_close((uv_handle_t *)&lg.sigterm, NULL);
	for (i = 0; i < lg.next; i++)
		if (!uv_is_closing((uv_handle_t *)&lg.conns[i].pipe))
			uv_close((uv_handle_t *)&lg.conns[i].pipe, loadgen_conn_closed);
}

/* --- keystroke round trips on session 0 --- */

static void loadgen_key(uv_timer_t *t)
{
	uint8_t frame[PROTO_HDR_SIZE + 1];

	(void)t;
	if (lg.key_waiting) {
		/* No echo within the gap: count it when it comes, send no other. */
		return;
	}
	if (lg.rtt_n >= lg.rtt_want || lg.conns[0].state != LG_ATTACHED) {
		uv_timer_stop(&lg.key_timer);
		lg.rtt_done();
		return;
	}
	proto_encode_header(frame, PROTO_DATA, 1);
	frame[PROTO_HDR_SIZE] = (uint8_t)('a' + lg.rtt_n % 26);
	lg.key_waiting = 1;
	lg.key_sent_ns = uv_hrtime();
	loadgen_send_raw(&lg.conns[0], frame, sizeof(frame));
}

static void loadgen_rtt_report(const char *prefix)
{
	qsort(lg.rtt_us, (size_t)lg.rtt_n, sizeof(double), bench_cmp_double);
	printf("%s_n=%d\n%s_p50_us=%.1f\n%s_p99_us=%.1f\n%s_p999_us=%.1f\n", prefix, lg.rtt_n,
	    prefix, bench_percentile(lg.rtt_us, lg.rtt_n, 50), prefix,
	    bench_percentile(lg.rtt_us, lg.rtt_n, 99), prefix, bench_percentile(lg.rtt_us, lg.rtt_n, 99.9));
	fflush(stdout);
}

static void loadgen_rtt_start(void (*done)(void))
{
	lg.rtt_n = 0;
	lg.rtt_want = lg.rtt_count;
	lg.key_waiting = 0;
	lg.rtt_done = done;
	uv_timer_start(&lg.key_timer, loadgen_key, 1, 1);
}

/* --- the scale phases --- */

static void loadgen_streamed(void)
{
	double secs = loadgen_now() - lg.cpu_mark;
	uint64_t bytes = 0;
	int i;

	loadgen_control("stop\n");
	printf("stream_cpu_pct=%.2f\n", (bench_proc_cpu(lg.daemon_pid) - lg.stream_cpu0) / secs * 100);
	for (i = 1; i <= lg.stream_count && i < lg.count; i++)
		bytes += lg.conns[i].data_bytes;
	printf("stream_mibps=%.2f\n", (double)bytes / secs / 1048576.0);
	printf("rss_after_stream_kib=%.0f\n", loadgen_rss_kib(lg.daemon_pid));
	loadgen_rtt_report("rtt_stream");
	loadgen_stop();
}

static void loadgen_on_stream_warm(uv_timer_t *t)
{
	(void)t;
	lg.cpu_mark = loadgen_now();
	lg.stream_cpu0 = bench_proc_cpu(lg.daemon_pid);
	loadgen_rtt_start(loadgen_streamed);
}

static void loadgen_idle_rtt_done(void)
{
	char cmd[128];

	loadgen_rtt_report("rtt_idle");
	if (lg.stream_count <= 0) {
		loadgen_stop();
		return;
	}
	snprintf(cmd, sizeof(cmd), "stream 1 %d %d\n", lg.stream_count, lg.rate);
	loadgen_control(cmd);
	uv_timer_start(&lg.phase, loadgen_on_stream_warm, 500, 0);
}

static void loadgen_on_idle_done(uv_timer_t *t)
{
	double cpu = bench_proc_cpu(lg.daemon_pid) - lg.cpu_mark;

	(void)t;
	printf("idle_secs=%d\nidle_cpu_s=%.3f\nidle_cpu_pct=%.3f\n", lg.idle_s, cpu,
	    cpu / lg.idle_s * 100);
	fflush(stdout);
	loadgen_rtt_start(loadgen_idle_rtt_done);
}

static void loadgen_on_settled(uv_timer_t *t)
{
	double rss = loadgen_rss_kib(lg.daemon_pid);

	(void)t;
	printf("rss_before_kib=%.0f\nrss_attached_kib=%.0f\nrss_per_console_kib=%.2f\n",
	    lg.rss0_kib, rss, (rss - lg.rss0_kib) / lg.count);
	fflush(stdout);
	lg.cpu_mark = bench_proc_cpu(lg.daemon_pid);
	uv_timer_start(&lg.phase, loadgen_on_idle_done, (uint64_t)lg.idle_s * 1000, 0);
}

static void loadgen_on_watch_done(uv_timer_t *t)
{
	(void)t;
	loadgen_stop();
}

static void loadgen_attached(void)
{
	printf("attached=%d\nattach_all_secs=%.3f\n", lg.attached, loadgen_now() - lg.t_attach0);
	fflush(stdout);
	if (lg.readonly) {
		if (lg.ready != NULL) {
			FILE *f = fopen(lg.ready, "w");

			if (f != NULL)
				fclose(f);
		}
		uv_timer_start(&lg.phase, loadgen_on_watch_done, (uint64_t)lg.seconds * 1000, 0);
		return;
	}
	uv_timer_start(&lg.phase, loadgen_on_settled, 1000, 0);
}

static void loadgen_on_attach_timeout(uv_timer_t *t)
{
	(void)t;
	if (lg.attached < lg.count) {
		printf("attached=%d\nattach_failed=%d\n", lg.attached, lg.count - lg.attached);
		loadgen_stop();
	}
}

static void loadgen_on_sigterm(uv_signal_t *s, int sig)
{
	(void)s;
	(void)sig;
	loadgen_stop();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "domain", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "daemon-pid", required_argument, NULL, 'D' },
		{ "control", required_argument, NULL, 'c' },
		{ "idle", required_argument, NULL, 'i' },
		{ "rtt", required_argument, NULL, 'k' },
		{ "stream", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "ready", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	struct rlimit rl;
	uint64_t bytes = 0, missed = 0;
	int opt, i;

	if (argc < 2 || (strcmp(argv[1], "scale") != 0 && strcmp(argv[1], "watch") != 0)) {
		fprintf(stderr, "usage: loadgen scale|watch [options]\n");
		return 2;
	}
	lg.readonly = strcmp(argv[1], "watch") == 0;
	lg.idle_s = 10;
	lg.rtt_count = 1000;
	lg.rate = 65536;
	lg.seconds = 60;
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': lg.socket = optarg; break;
		case 'p': lg.prefix = optarg; break;
		case 'n': lg.count = atoi(optarg); break;
		case 'D': lg.daemon_pid = atol(optarg); break;
		case 'c': lg.control = optarg; break;
		case 'i': lg.idle_s = atoi(optarg); break;
		case 'k': lg.rtt_count = atoi(optarg); break;
		case 'm': lg.stream_count = atoi(optarg); break;
		case 'r': lg.rate = atoi(optarg); break;
		case 'S': lg.seconds = atoi(optarg); break;
		case 'R': lg.ready = optarg; break;
		default: return 2;
		}
	}
	if (lg.socket == NULL || lg.prefix == NULL || lg.count < 1 ||
	    (!lg.readonly && (lg.daemon_pid <= 0 || lg.control == NULL))) {
		fprintf(stderr, "loadgen: missing options\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	lg.loop = uv_default_loop();
	lg.conns = calloc((size_t)lg.count, sizeof(*lg.conns));
	lg.rtt_us = calloc((size_t)lg.rtt_count + 1, sizeof(double));
	uv_timer_init(lg.loop, &lg.heartbeat);
	uv_timer_init(lg.loop, &lg.phase);
	uv_timer_init(lg.loop, &lg.key_timer);
	uv_signal_init(lg.loop, &lg.sigterm);
	uv_signal_start(&lg.sigterm, loadgen_on_sigterm, SIGTERM);
	uv_timer_start(&lg.heartbeat, loadgen_on_heartbeat, 100, 100);
	if (!lg.readonly) {
		lg.rss0_kib = loadgen_rss_kib(lg.daemon_pid);
		uv_timer_start(&lg.phase, loadgen_on_attach_timeout, LOADGEN_ATTACH_LIMIT_MS, 0);
	} else {
		uv_timer_start(&lg.phase, loadgen_on_attach_timeout, 30000, 0);
	}
	lg.t_attach0 = loadgen_now();
	loadgen_start_more();
	uv_run(lg.loop, UV_RUN_DEFAULT);
	if (lg.readonly) {
		for (i = 0; i < lg.next; i++) {
			bytes += lg.conns[i].data_bytes;
			missed += lg.conns[i].missed;
		}
		printf("watchers=%d\nwatcher_bytes=%" PRIu64 "\nwatcher_missed=%" PRIu64 "\n",
		    lg.attached, bytes, missed);
	}
	return lg.dead > 0 && lg.attached < lg.count ? 1 : 0;
}
