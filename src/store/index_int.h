/*
 * index_int: what the files of the index share.
 *   index.c       the files, peers, pins and intents tables
 *   index_vers.c  the versions table (kept old content and trash)
 * One connection and one mutex for both: every statement runs with mu
 * held.
 */
#ifndef SHOAL_STORE_INDEX_INT_H
#define SHOAL_STORE_INDEX_INT_H

#include <pthread.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/index.h"

enum {
	ST_PUT, ST_GET, ST_UNDER, ST_CHANGES, ST_FIND_SHA, ST_COUNT,
	ST_PEER_GET, ST_PEER_SET, ST_SEEN, ST_MISSING, ST_MAXSEQ, ST_ALL,
	ST_PIN, ST_UNPIN, ST_PINS, ST_REMOTE_IN, ST_ATTRS_GET, ST_ATTRS_SET,
	ST_INTENT_PUT, ST_INTENT_DEL, ST_INTENT_ALL, ST_NEXT_LOCAL, ST_BLOCK,
	ST_FIND_SHA_REMOTE, ST_N
};

enum {
	VST_PUT, VST_GET, VST_PATH, VST_TRASH, VST_UNDER, VST_EXCESS,
	VST_AGED, VST_OLDEST, VST_PRUNE, VST_SHA_USED, VST_STATS, VST_FORGET,
	VST_LIVE,
	VST_N
};

struct index {
	pthread_mutex_t	 mu;
	sqlite3		*db;
	sqlite3_stmt	*st[ST_N];
	sqlite3_stmt	*vst[VST_N];
	uint8_t		 self[NODE_ID_LEN];
	uint64_t	 seq;
	uint64_t	 scan_seq;	/* seq when the running scan began */
	uint8_t		 digest[HASH_LEN];
	void		(*notify)(void *);
	void		*notify_arg;
};

/* index_vers.c: its table and statements (at open), and their end. */
int	index_vers_open(struct index *);
void	index_vers_close(struct index *);

#endif
