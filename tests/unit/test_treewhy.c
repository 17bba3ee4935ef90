/* test_treewhy.c: tree_decode_why names the entry a malicious or damaged
 * tree is rejected for, and why; what it accepts is exactly what
 * tree_decode accepts.  Trees are built with tree_encode, which does not
 * validate, so each bad tree is the encoding an attacker would write. */
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "tap.h"

static struct node file_node(const char *name, size_t len)
{
	struct node n;

	memset(&n, 0, sizeof n);
	n.name = (uint8_t *)(uintptr_t)name;
	n.name_len = (uint32_t)len;
	n.type = NODE_FILE;
	n.mode = 0644;
	n.user = n.group = (char *)(uintptr_t)"";
	n.nlink = 1;
	return n;
}

/* why_of(v, n, why): encode the nodes as given, decode with reasons;
 * the decode result (0 or -1). */
static int why_of(const struct node *v, uint32_t n, char *why, size_t whyn)
{
	struct tree t = { n, (struct node *)(uintptr_t)v }, out, plain;
	struct buf b;
	int rc, rc2;

	buf_init(&b, 1u << 20);
	tree_encode(&t, &b);
	why[0] = '\0';
	rc = tree_decode_why(b.p, b.len, &out, why, whyn);
	rc2 = tree_decode(b.p, b.len, &plain);
	if (rc == 0)
		tree_free(&out);
	if (rc2 == 0)
		tree_free(&plain);
	buf_free(&b);
	return rc == rc2 ? rc : 99;
}

#define INVALID ": not a valid name (empty, '.', '..', or with '/' or NUL)"

int main(void)
{
	char why[300];
	static const struct {
		const char *name;
		size_t len;
		const char *expect;
	} bad[] = {
		{ "..", 2, "entry 2 \"..\"" INVALID },
		{ ".", 1, "entry 2 \".\"" INVALID },
		{ "", 0, "entry 2 \"\"" INVALID },
		{ "a/b", 3, "entry 2 \"a/b\"" INVALID },
		{ "/etc/passwd", 11, "entry 2 \"/etc/passwd\"" INVALID },
		{ "../../x", 7, "entry 2 \"../../x\"" INVALID },
		{ "n\0ul", 4, "entry 2 \"n\\x00ul\"" INVALID },
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct node v[2] = { file_node("a", 1), file_node(bad[i].name, bad[i].len) };
		int rc = why_of(v, 2, why, sizeof why);

		OK(rc == -1 && strcmp(why, bad[i].expect) == 0, "bad name %zu rejected: %s", i, why);
	}
	{
		struct node v[2] = { file_node("x", 1), file_node("x", 1) };

		OK(why_of(v, 2, why, sizeof why) == -1 &&
		    strcmp(why, "entry 2 \"x\": repeats a name or is out of order") == 0,
		    "a duplicate name: %s", why);
	}
	{
		struct node v[2] = { file_node("b", 1), file_node("a", 1) };

		OK(why_of(v, 2, why, sizeof why) == -1 &&
		    strcmp(why, "entry 2 \"a\": repeats a name or is out of order") == 0,
		    "names out of order: %s", why);
	}
	{
		struct node v[1] = { file_node("bad-mode", 8) };

		v[0].mode = 0170000;
		OK(why_of(v, 1, why, sizeof why) == -1 && strcmp(why, "entry 1 \"bad-mode\": malformed") == 0,
		    "a bad field names its entry: %s", why);
	}
	{
		/* long names: the count check (minimal nodes) leaves room, so a
		 * cut lands inside the last entry */
		struct node v[2] = { file_node("a-long-name-0123456789", 22), file_node("b-long-name", 11) };
		struct tree t = { 2, v }, out;
		struct buf b;

		OK(why_of(v, 2, why, sizeof why) == 0, "a valid tree decodes");
		buf_init(&b, 1u << 20);
		tree_encode(&t, &b);
		buf_append(&b, "", 1);
		OK(tree_decode_why(b.p, b.len, &out, why, sizeof why) == -1 &&
		    strcmp(why, "trailing bytes after the last entry") == 0, "trailing bytes: %s", why);
		OK(tree_decode_why(b.p, b.len - 10, &out, why, sizeof why) == -1 &&
		    strcmp(why, "entry 2 \"b-long-name\": malformed") == 0, "cut short in the last entry: %s", why);
		OK(tree_decode_why(b.p, 3, &out, why, sizeof why) == -1 &&
		    strcmp(why, "bad version, entry count or length") == 0, "cut short in the header: %s", why);
		buf_free(&b);
	}
	return tap_done();
}
