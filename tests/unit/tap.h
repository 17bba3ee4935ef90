/* tap.h: the unit-test harness.  Each check prints "ok N - what" or
 * "not ok N - what"; tests/run.sh counts them.  main() ends with
 * "return tap_done();". */
#ifndef TWOFOLD_TAP_H
#define TWOFOLD_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

static void tap_check(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void tap_check(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!cond) {
		printf("  (%s:%d)", file, line);
		tap_failed++;
	}
	putchar('\n');
	fflush(stdout);
}

#define OK(cond, ...) tap_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static inline int tap_done(void)
{
	return tap_failed ? 1 : 0;
}

#endif
