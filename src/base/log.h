/*
 * log: leveled messages to stderr, one line each, safe from any thread.
 *
 * log_warn() appends strerror(errno); log_warnx() does not (the OpenBSD
 * convention).  fatal()/fatalx() are for start-up failures and broken
 * invariants only: a misbehaving client never reaches them.
 */
#ifndef SHOAL_BASE_LOG_H
#define SHOAL_BASE_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void	log_init(const char *progname, enum log_level);
void	log_set_level(enum log_level);
int	log_level_parse(const char *, enum log_level *);
bool	log_enabled(enum log_level);
void	log_msg(enum log_level, bool with_errno, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#define log_debug(...)							\
	do {								\
		if (log_enabled(LOG_LVL_DEBUG))				\
			log_msg(LOG_LVL_DEBUG, false, __VA_ARGS__);	\
	} while (0)
#define log_info(...)	log_msg(LOG_LVL_INFO, false, __VA_ARGS__)
#define log_warnx(...)	log_msg(LOG_LVL_WARN, false, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, true, __VA_ARGS__)
#define log_errorx(...)	log_msg(LOG_LVL_ERROR, false, __VA_ARGS__)

#endif
