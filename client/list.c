/*
 * list: `conbroker list [--json]` — every domain and console with its state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

struct list_row {
	char *domain, *uuid, *alias, *pty, *holder;
	uint32_t state, watchers, idle, holder_pid;
};

static struct {
	int json;
	struct list_row *rows;
	size_t n, cap;
} lst;

static char *list_strdup(struct proto_str s)
{
	char *d = xmalloc((size_t)s.len + 1);

	memcpy(d, s.ptr, s.len);
	d[s.len] = '\0';
	return d;
}

static void list_ready(struct client *c)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_LIST;
	client_send(c, &m);
}

static void list_add(const struct proto_msg *m)
{
	struct list_row *r;

	if (lst.n == lst.cap) {
		lst.cap = lst.cap ? lst.cap * 2 : 16;
		lst.rows = xreallocarray(lst.rows, lst.cap, sizeof(*lst.rows));
	}
	r = &lst.rows[lst.n++];
	r->domain = list_strdup(m->u.entry.domain);
	r->uuid = list_strdup(m->u.entry.uuid);
	r->alias = list_strdup(m->u.entry.alias);
	r->pty = list_strdup(m->u.entry.pty);
	r->holder = list_strdup(m->u.entry.holder);
	r->state = m->u.entry.state;
	r->watchers = m->u.entry.watchers;
	r->idle = m->u.entry.idle;
	r->holder_pid = m->u.entry.holder_pid;
}

/* What the state means for a person, in one short phrase. */
static void list_detail(const struct list_row *r, char *buf, size_t len)
{
	switch (r->state) {
	case PROTO_STATE_ATTACHED:
	case PROTO_STATE_STALE:
		if (r->holder[0])
			snprintf(buf, len, "writer %s, idle %us, %u watcher%s", r->holder,
			    r->idle, r->watchers, r->watchers == 1 ? "" : "s");
		else
			snprintf(buf, len, "%u watcher%s", r->watchers, r->watchers == 1 ? "" : "s");
		break;
	case PROTO_STATE_LOCKED:
		snprintf(buf, len, "by %s (pid %u)", r->holder, r->holder_pid);
		break;
	case PROTO_STATE_UNSUPPORTED:
		snprintf(buf, len, "type %s", r->holder);
		break;
	case PROTO_STATE_NOTRUNNING:
		snprintf(buf, len, "its pty may be another program's now");
		break;
	case PROTO_STATE_UNOWNED:
		snprintf(buf, len, "no owner proves the pty (never opened)");
		break;
	default:
		buf[0] = '\0';
	}
}

static void list_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void list_print_json(void)
{
	size_t i;

	printf("[");
	for (i = 0; i < lst.n; i++) {
		const struct list_row *r = &lst.rows[i];
		int attached = r->state == PROTO_STATE_ATTACHED || r->state == PROTO_STATE_STALE;

		printf("%s\n  {\"domain\": ", i ? "," : "");
		list_json_str(r->domain);
		printf(", \"uuid\": ");
		list_json_str(r->uuid);
		printf(", \"console\": ");
		list_json_str(r->alias);
		printf(", \"pty\": ");
		if (r->pty[0])
			list_json_str(r->pty);
		else
			printf("null");
		printf(", \"state\": ");
		list_json_str(proto_state_name(r->state));
		printf(", \"writer\": ");
		if (attached && r->holder[0])
			list_json_str(r->holder);
		else
			printf("null");
		printf(", \"watchers\": %u, \"idle\": %u", r->watchers, r->idle);
		if (r->state == PROTO_STATE_LOCKED) {
			printf(", \"locked_by\": {\"pid\": %u, \"program\": ", r->holder_pid);
			list_json_str(r->holder);
			printf("}");
		}
		if ((r->state == PROTO_STATE_NOTRUNNING || r->state == PROTO_STATE_UNOWNED) &&
		    r->holder[0]) {
			printf(", \"reason\": ");
			list_json_str(r->holder);
		}
		printf("}");
	}
	printf("%s]\n", lst.n ? "\n" : "");
}

static void list_print_table(void)
{
	size_t i, wd = 6, wa = 7, ws = 5;
	char detail[512];

	for (i = 0; i < lst.n; i++) {
		size_t l1 = strlen(lst.rows[i].domain), l2 = strlen(lst.rows[i].alias);
		size_t l3 = strlen(proto_state_name(lst.rows[i].state));

		wd = l1 > wd ? l1 : wd;
		wa = l2 > wa ? l2 : wa;
		ws = l3 > ws ? l3 : ws;
	}
	printf("%-*s  %-36s  %-*s  %-*s  %s\n", (int)wd, "DOMAIN", "UUID", (int)wa,
	    "CONSOLE", (int)ws, "STATE", "DETAIL");
	for (i = 0; i < lst.n; i++) {
		const struct list_row *r = &lst.rows[i];

		list_detail(r, detail, sizeof(detail));
		printf("%-*s  %-36s  %-*s  %-*s  %s\n", (int)wd, r->domain, r->uuid, (int)wa,
		    r->alias, (int)ws, proto_state_name(r->state), detail);
	}
}

static void list_message(struct client *c, const struct proto_msg *m)
{
	if (m->type == PROTO_LIST_ENTRY) {
		list_add(m);
	} else if (m->type == PROTO_LIST_END) {
		if (lst.json)
			list_print_json();
		else
			list_print_table();
		client_finish(c, EXIT_OK, NULL);
	} else if (m->type == PROTO_ERROR) {
		client_finish_status(c, m);
	}
}

static void list_stop(struct client *c)
{
	size_t i;

	(void)c;
	for (i = 0; i < lst.n; i++) {
		free(lst.rows[i].domain);
		free(lst.rows[i].uuid);
		free(lst.rows[i].alias);
		free(lst.rows[i].pty);
		free(lst.rows[i].holder);
	}
	free(lst.rows);
	lst.rows = NULL;
	lst.n = lst.cap = 0;
}

static const struct client_ops list_ops = {
	.ready = list_ready,
	.message = list_message,
	.stop = list_stop,
};

int list_run(struct client *c, int json)
{
	lst.json = json;
	c->ops = &list_ops;
	client_start_connect(c);
	return 0;
}
