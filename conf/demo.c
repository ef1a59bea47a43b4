/*
 * demo: the embedded configuration of `conbrokerd --demo`.
 *
 * One domain, "demo", whose only console is a shell on a pty the daemon
 * allocates itself, captured from start-up so that its history is never
 * empty; everything else is the default.  /bin/sh is the one shell every
 * Debian system (and every POSIX one) is sure to have.
 */
#include <string.h>

#include <stdlib.h>

#include "conf/conf-private.h"

static const char conf_demo_xml[] =
	"<conbroker>\n"
	"  <locks dir='" CONF_LOCK_DIR_DEFAULT "'/>\n"
	"  <domain>\n"
	"    <name>demo</name>\n"
	"    <uuid>c0b40de1-0000-4000-8000-000000000001</uuid>\n"
	"    <metadata>\n"
	"      <cb:consoles xmlns:cb='" CONF_NS "'>\n"
	"        <cb:console alias='console0' capture='always'>\n"
	"          <cb:spawn>\n"
	"            <cb:arg>/bin/sh</cb:arg>\n"
	"            <cb:arg>-i</cb:arg>\n"
	"          </cb:spawn>\n"
	"        </cb:console>\n"
	"      </cb:consoles>\n"
	"    </metadata>\n"
	"  </domain>\n"
	"</conbroker>\n";

int conf_load_demo(struct conf **out, struct conf_diags *diags)
{
	int rc = conf_load_buffer("(demo)", conf_demo_xml,
	    sizeof(conf_demo_xml) - 1, out, diags);

	/* The demo's console is spawned: no device of the host's to keep
	 * settings for, and no business with a system daemon's state. */
	if (rc == 0) {
		free((*out)->state_dir);
		(*out)->state_dir = NULL;
	}
	return rc;
}
