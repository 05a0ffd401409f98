/*
 * banned: functions src/ must not call, poisoned so a use fails to compile.
 *
 * Numbers and hex are read with the capped cursor parser (base/parse.h):
 * strto*, ato* and sscanf skip spaces, accept signs and bases nobody asked
 * for, saturate or wrap silently, and read until a NUL that bytes from the
 * network need not have.
 *
 * Every file in src/ gets this header first (meson.build passes -include),
 * so the C library's headers that declare these functions are included
 * here, before the poison, and later includes of them are no-ops.
 * scripts/check-banned.sh greps for the same names, for code built
 * without this header (the fuzz harnesses compile src/ files directly).
 */
#ifndef SHOAL_BASE_BANNED_H
#define SHOAL_BASE_BANNED_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
/* libpq's atooid() macro calls strtoul; a macro defined before the poison
 * may name it, one defined after may not (and nothing here uses it). */
#if __has_include(<postgres_ext.h>)
#include <postgres_ext.h>
#endif

#pragma GCC poison strtol strtoll strtoul strtoull strtoq strtouq
#pragma GCC poison strtod strtof strtold strtoimax strtoumax
#pragma GCC poison atoi atol atoll atof atoq sscanf vsscanf

#endif
