/*
 * rfc3339: a cursor parse, field by field, each with its range; the date
 * becomes days since the epoch by the civil-from-days inverse (no mktime,
 * no time zone database: the result does not depend on TZ).
 */
#include "base/rfc3339.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/parse.h"

/* Exactly n decimal digits in lo..hi. */
static int
digits(struct cursor *c, size_t n, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (c->len < n)
		return (-EINVAL);
	for (i = 0; i < n; i++) {
		if (c->p[i] < '0' || c->p[i] > '9')
			return (-EINVAL);
		v = v * 10 + (unsigned)(c->p[i] - '0');
	}
	if (v < lo || v > hi)
		return (-EINVAL);
	c->p += n;
	c->len -= n;
	*out = v;
	return (0);
}

static bool
leap(unsigned y)
{
	return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0);
}

static unsigned
month_days(unsigned y, unsigned m)
{
	static const unsigned d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };

	return (m == 2 && leap(y) ? 29 : d[m - 1]);
}

/* Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

int
rfc3339_parse(const char *s, size_t len, int64_t *ns)
{
	struct cursor c;
	unsigned y, mo, d, h, mi, sec, oh = 0, om = 0, nd = 0;
	int64_t frac = 0, t, sign = 0;

	if (len > RFC3339_MAX)
		return (-EINVAL);
	cur_init(&c, s, len);
	if (digits(&c, 4, 1970, 2200, &y) < 0 || !cur_eat(&c, '-') ||
	    digits(&c, 2, 1, 12, &mo) < 0 || !cur_eat(&c, '-') ||
	    digits(&c, 2, 1, month_days(y, mo), &d) < 0)
		return (-EINVAL);
	if (!cur_eat(&c, 'T') && !cur_eat(&c, 't') && !cur_eat(&c, ' '))
		return (-EINVAL);
	if (digits(&c, 2, 0, 23, &h) < 0 || !cur_eat(&c, ':') ||
	    digits(&c, 2, 0, 59, &mi) < 0 || !cur_eat(&c, ':') ||
	    digits(&c, 2, 0, 60, &sec) < 0)
		return (-EINVAL);
	if (cur_eat(&c, '.')) {
		while (c.len > 0 && c.p[0] >= '0' && c.p[0] <= '9') {
			/* Past nanoseconds the digits are read and dropped. */
			if (nd < 9) {
				frac = frac * 10 + (c.p[0] - '0');
				nd++;
			}
			c.p++;
			c.len--;
		}
		if (nd == 0)
			return (-EINVAL);
		for (; nd < 9; nd++)
			frac *= 10;
	}
	if (cur_eat(&c, 'Z') || cur_eat(&c, 'z'))
		sign = 0;
	else if (cur_eat(&c, '+'))
		sign = 1;
	else if (cur_eat(&c, '-'))
		sign = -1;
	else
		return (-EINVAL);
	if (sign != 0 && (digits(&c, 2, 0, 23, &oh) < 0 || !cur_eat(&c, ':') ||
	    digits(&c, 2, 0, 59, &om) < 0))
		return (-EINVAL);
	if (!cur_eof(&c))
		return (-EINVAL);
	/* A leap second is the last second of its minute, as POSIX time
	 * has no other place for it. */
	if (sec == 60)
		sec = 59;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= sign * (int64_t)(oh * 3600 + om * 60);
	if (t < 0)
		return (-EINVAL);
	*ns = t * 1000000000 + frac;
	return (0);
}

void
rfc3339_format(int64_t ns, char *out)
{
	int64_t t = ns / 1000000000, days, z, era, doe, yoe, doy, mp;
	long frac = (long)(ns % 1000000000);
	int64_t y;
	unsigned m, d, secs;
	char tmp[128];

	if (ns < 0) {
		t = 0;
		frac = 0;
	}
	days = t / 86400;
	secs = (unsigned)(t % 86400);
	/* civil_from_days, the inverse of the above. */
	z = days + 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	y += m <= 2;
	/* Room for any value of the fields: the compiler cannot see that
	 * they are in range. */
	if (frac)
		snprintf(tmp, sizeof(tmp), "%04lld-%02u-%02uT%02u:%02u:%02u."
		    "%09ldZ", (long long)y, m, d, secs / 3600, secs / 60 % 60,
		    secs % 60, frac);
	else
		snprintf(tmp, sizeof(tmp), "%04lld-%02u-%02uT%02u:%02u:%02uZ",
		    (long long)y, m, d, secs / 3600, secs / 60 % 60, secs % 60);
	(void)str_copy(out, RFC3339_LEN, tmp);
}
