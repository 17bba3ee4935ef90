/* test_http: url_escape and xml_next (the parts of the HTTP layer that
 * need no server; the back ends are tested against real servers). */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "store/http.h"

int main(void)
{
	static const char doc[] = "<R><Key>a/b&amp;c</Key><Size>12</Size><Key>x&lt;y&gt;</Key>"
	    "<Bad>unterminated";
	char out[32], *e;
	size_t from = 0;

	e = url_escape("a b/c+d=e~_.-", 0);
	OK(strcmp(e, "a%20b%2Fc%2Bd%3De~_.-") == 0, "url_escape encodes all but unreserved (%s)", e);
	free(e);
	e = url_escape("data/ab/cd", 1);
	OK(strcmp(e, "data/ab/cd") == 0, "url_escape can keep slashes");
	free(e);
	OK(xml_next(doc, sizeof doc - 1, "Key", &from, out, sizeof out) == 1 &&
	    strcmp(out, "a/b&c") == 0, "first Key, entity decoded");
	OK(xml_next(doc, sizeof doc - 1, "Key", &from, out, sizeof out) == 1 &&
	    strcmp(out, "x<y>") == 0, "second Key");
	OK(xml_next(doc, sizeof doc - 1, "Key", &from, out, sizeof out) == 0, "no third Key");
	from = 0;
	OK(xml_next(doc, sizeof doc - 1, "Size", &from, out, sizeof out) == 1 &&
	    strcmp(out, "12") == 0, "Size");
	from = 0;
	OK(xml_next(doc, sizeof doc - 1, "Bad", &from, out, sizeof out) == -1, "an unterminated element is an error");
	from = 0;
	OK(xml_next(doc, sizeof doc - 1, "Key", &from, out, 3) == -1, "text longer than the buffer is an error");
	return tap_done();
}
