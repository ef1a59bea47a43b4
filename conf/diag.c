/*
 * diag: the "FILE:LINE: message" diagnostics a load collects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf-private.h"

/* Append one diagnostic; when memory runs out it is counted but not kept. */
void conf_vdiag(struct conf_diags *diags, enum conf_severity severity,
    const char *file, long line, const char *fmt, va_list ap)
{
	char msg[1024], where[64] = "";
	struct conf_diag *items;
	char *text = NULL;
	size_t len;

	if (severity == CONF_ERROR)
		diags->errors++;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	if (line > 0)
		snprintf(where, sizeof(where), ":%ld", line);
	if (asprintf(&text, "%s%s: %s%s", file ? file : "(unknown)", where,
	    severity == CONF_WARNING ? "warning: " : "", msg) < 0)
		return;
	items = realloc(diags->items, (diags->count + 1) * sizeof(*items));
	if (items == NULL) {
		free(text);
		return;
	}
	diags->items = items;
	items[diags->count].severity = severity;
	items[diags->count].text = text;
	diags->count++;
}

/* printf-style front end of conf_vdiag(). */
void conf_diag(struct conf_diags *diags, enum conf_severity severity,
    const char *file, long line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_vdiag(diags, severity, file, line, fmt, ap);
	va_end(ap);
}

void conf_diags_free(struct conf_diags *diags)
{
	size_t i;

	if (diags == NULL)
		return;
	for (i = 0; i < diags->count; i++)
		free(diags->items[i].text);
	free(diags->items);
	diags->items = NULL;
	diags->count = 0;
	diags->errors = 0;
}

/* Append the diagnostics of one list to another, emptying the first. */
void conf_diags_move(struct conf_diags *to, struct conf_diags *from)
{
	struct conf_diag *items;
	size_t i;

	to->errors += from->errors;
	if (from->count > 0) {
		items = realloc(to->items,
		    (to->count + from->count) * sizeof(*items));
		if (items == NULL) {
			for (i = 0; i < from->count; i++)
				free(from->items[i].text);
		} else {
			memcpy(items + to->count, from->items,
			    from->count * sizeof(*items));
			to->items = items;
			to->count += from->count;
		}
	}
	free(from->items);
	from->items = NULL;
	from->count = 0;
	from->errors = 0;
}
