/*
 * index: SQLite storage of the catalogue.  WAL mode with synchronous=NORMAL:
 * a commit survives a crash of the process; a power loss may lose the last
 * commits, which the start-up rescan repairs because the files themselves
 * were fsynced before their rows were written.  Statements are prepared
 * once; a mutex serialises all use of the connection.  The digest is kept
 * in memory: every row write XORs out the old row's hash and in the new.
 */
#include "store/index_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "base/buf.h"
#include "base/log.h"
#include "store/path.h"

#define COLS "type, deleted, size, mtime_ns, ino, sha256, vv, modified_by, " \
	"seq, blocks, remote"

static const char *const stmt_sql[ST_N] = {
	/* Attributes not given (?13 NULL) stay with the content: kept if
	 * the row's content is the same, else none. */
	[ST_PUT] = "INSERT OR REPLACE INTO files(path, " COLS ", attrs) VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
	    " CASE WHEN ?13 IS NULL THEN coalesce((SELECT attrs FROM files"
	    " WHERE path = ?1 AND sha256 = ?7), x'') ELSE ?13 END)",
	[ST_GET] = "SELECT " COLS " FROM files WHERE path = ?1",
	[ST_UNDER] = "SELECT path FROM files WHERE deleted = 0 AND"
	    " (path = ?1 OR substr(path, 1, ?3) = ?2)",
	[ST_CHANGES] = "SELECT path, " COLS ", attrs FROM files WHERE"
	    " seq > ?1 ORDER BY seq LIMIT ?2",
	[ST_FIND_SHA] = "SELECT path FROM files WHERE sha256 = ?1 AND"
	    " deleted = 0 AND type = 0 AND remote = 0 LIMIT 1",
	[ST_FIND_SHA_REMOTE] = "SELECT path FROM files WHERE sha256 = ?1 AND"
	    " deleted = 0 AND type = 0 AND remote = 1 LIMIT 1",
	[ST_COUNT] = "SELECT count(*) FROM files WHERE deleted = 0 AND"
	    " type = 0",
	[ST_PEER_GET] = "SELECT seq FROM peers WHERE id = ?1",
	[ST_PEER_SET] = "INSERT OR REPLACE INTO peers(id, seq) VALUES (?1, ?2)",
	[ST_SEEN] = "INSERT OR IGNORE INTO temp.seen(path) VALUES (?1)",
	/* A row held elsewhere has no file here: not missing.  Nor is a
	 * row written since the scan began (seq above ?1): it may be in a
	 * folder the walk had already passed. */
	[ST_MISSING] = "SELECT path FROM files WHERE deleted = 0 AND"
	    " remote = 0 AND seq <= ?1 AND"
	    " path NOT IN (SELECT path FROM temp.seen)",
	[ST_MAXSEQ] = "SELECT coalesce(max(seq), 0) FROM files",
	[ST_ALL] = "SELECT path, type, deleted, sha256, vv FROM files",
	[ST_PIN] = "INSERT OR IGNORE INTO pins(path) VALUES (?1)",
	[ST_UNPIN] = "DELETE FROM pins WHERE path = ?1",
	[ST_PINS] = "SELECT path FROM pins ORDER BY path",
	/* Files held elsewhere between two bounds (a folder's subtree). */
	[ST_REMOTE_IN] = "SELECT path, size, mtime_ns FROM files WHERE"
	    " path > ?1 AND path < ?2 AND remote = 1 AND deleted = 0",
	[ST_ATTRS_GET] = "SELECT attrs FROM files WHERE path = ?1 AND"
	    " sha256 = ?2 AND deleted = 0",
	/* A cache of what can be computed from the content: no new
	 * version, no new sequence number. */
	[ST_ATTRS_SET] = "UPDATE files SET attrs = ?3 WHERE path = ?1 AND"
	    " sha256 = ?2 AND deleted = 0",
	/* Fetched versions about to be renamed into place (fetch.c). */
	[ST_INTENT_PUT] = "INSERT OR REPLACE INTO intents(path, " COLS ","
	    " attrs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	    " ?12, ?13)",
	[ST_INTENT_DEL] = "DELETE FROM intents WHERE path = ?1",
	[ST_INTENT_ALL] = "SELECT " COLS ", path, attrs FROM intents"
	    " ORDER BY path",
	/* The scrub's walk: files held here, in path order. */
	[ST_NEXT_LOCAL] = "SELECT " COLS ", path FROM files WHERE path > ?1"
	    " AND type = 0 AND deleted = 0 AND remote = 0 ORDER BY path"
	    " LIMIT 1",
	[ST_BLOCK] = "SELECT substr(blocks, ?2, 32), sha256 FROM files WHERE"
	    " path = ?1 AND deleted = 0 AND type = 0",
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS files("
    " path TEXT PRIMARY KEY NOT NULL,"
    " type INTEGER NOT NULL,"
    " deleted INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL,"
    " ino INTEGER NOT NULL,"
    " sha256 BLOB NOT NULL,"
    " vv BLOB NOT NULL,"
    " modified_by BLOB NOT NULL,"
    " seq INTEGER NOT NULL,"
    " blocks BLOB NOT NULL,"
    " remote INTEGER NOT NULL DEFAULT 0,"
    " attrs BLOB NOT NULL DEFAULT x'') WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS files_seq ON files(seq);"
    "CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);"
    "CREATE TABLE IF NOT EXISTS peers("
    " id BLOB PRIMARY KEY NOT NULL,"
    " seq INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS pins("
    " path TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS intents("
    " attrs BLOB NOT NULL DEFAULT x'',"
    " path TEXT PRIMARY KEY NOT NULL,"
    " type INTEGER NOT NULL,"
    " deleted INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL,"
    " ino INTEGER NOT NULL,"
    " sha256 BLOB NOT NULL,"
    " vv BLOB NOT NULL,"
    " modified_by BLOB NOT NULL,"
    " seq INTEGER NOT NULL,"
    " blocks BLOB NOT NULL,"
    " remote INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "PRAGMA user_version=3;"
    "CREATE TEMP TABLE IF NOT EXISTS seen(path TEXT PRIMARY KEY)"
    " WITHOUT ROWID;";

static int
db_err(struct index *ix, const char *what)
{
	log_warnx("index: %s: %s", what, sqlite3_errmsg(ix->db));
	return (sqlite3_errcode(ix->db) == SQLITE_FULL ? -ENOSPC : -EIO);
}

/* Runs a prepared statement to completion; the caller holds the mutex. */
static int
run(struct index *ix, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (db_err(ix, what));
	return (0);
}

static void
row_hash(const char *path, uint8_t type, bool deleted, const uint8_t *sha,
    const uint8_t *vvenc, size_t vvlen, uint8_t out[HASH_LEN])
{
	uint8_t flags[2] = { type, deleted };
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	memset(out, 0, HASH_LEN);
	if (c == NULL)
		return;
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	EVP_DigestUpdate(c, path, strlen(path) + 1);
	EVP_DigestUpdate(c, flags, 2);
	EVP_DigestUpdate(c, sha, HASH_LEN);
	EVP_DigestUpdate(c, vvenc, vvlen);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

static void
digest_xor(struct index *ix, const uint8_t h[HASH_LEN])
{
	int i;

	for (i = 0; i < HASH_LEN; i++)
		ix->digest[i] ^= h[i];
}

static void
load_digest(struct index *ix)
{
	sqlite3_stmt *st = ix->st[ST_ALL];
	uint8_t h[HASH_LEN], zero[HASH_LEN] = { 0 };

	memset(ix->digest, 0, sizeof(ix->digest));
	while (sqlite3_step(st) == SQLITE_ROW) {
		const void *sha = sqlite3_column_blob(st, 3);

		row_hash((const char *)sqlite3_column_text(st, 0),
		    (uint8_t)sqlite3_column_int(st, 1),
		    sqlite3_column_int(st, 2) != 0,
		    sqlite3_column_bytes(st, 3) == HASH_LEN ? sha : zero,
		    sqlite3_column_blob(st, 4),
		    (size_t)sqlite3_column_bytes(st, 4), h);
		digest_xor(ix, h);
	}
	sqlite3_reset(st);
}

struct index *
index_open(const char *dbpath, const uint8_t self[NODE_ID_LEN], char *err,
    size_t errlen)
{
	struct index *ix;
	int i;

	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return (NULL);
	pthread_mutex_init(&ix->mu, NULL);
	memcpy(ix->self, self, NODE_ID_LEN);
	if (sqlite3_open_v2(dbpath, &ix->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(ix->db, 5000);
	if (sqlite3_exec(ix->db, schema, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	/* Indexes made before replicas = N: every row was held here. */
	(void)sqlite3_exec(ix->db, "ALTER TABLE files ADD COLUMN remote"
	    " INTEGER NOT NULL DEFAULT 0", NULL, NULL, NULL);
	/* Indexes made before attributes (S3's ETag and metadata). */
	(void)sqlite3_exec(ix->db, "ALTER TABLE files ADD COLUMN attrs"
	    " BLOB NOT NULL DEFAULT x''", NULL, NULL, NULL);
	for (i = 0; i < ST_N; i++)
		if (sqlite3_prepare_v3(ix->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &ix->st[i], NULL) != SQLITE_OK)
			goto fail;
	if (index_vers_open(ix) < 0)
		goto fail;
	if (sqlite3_step(ix->st[ST_MAXSEQ]) == SQLITE_ROW)
		ix->seq = (uint64_t)sqlite3_column_int64(ix->st[ST_MAXSEQ], 0);
	sqlite3_reset(ix->st[ST_MAXSEQ]);
	load_digest(ix);
	return (ix);
fail:
	(void)str_fmt(err, errlen, "%s: %s", dbpath,
	    ix->db ? sqlite3_errmsg(ix->db) : "cannot open");
	index_close(ix);
	return (NULL);
}

void
index_close(struct index *ix)
{
	int i;

	if (ix == NULL)
		return;
	for (i = 0; i < ST_N; i++)
		sqlite3_finalize(ix->st[i]);
	index_vers_close(ix);
	sqlite3_close(ix->db);
	pthread_mutex_destroy(&ix->mu);
	free(ix);
}

void
index_set_notify(struct index *ix, void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&ix->mu);
	ix->notify = fn;
	ix->notify_arg = arg;
	pthread_mutex_unlock(&ix->mu);
}

static void
notify(struct index *ix)
{
	if (ix->notify)
		ix->notify(ix->notify_arg);
}

/* The COLS of the current row of st into m (and a copy of its blocks). */
static int
row_columns(sqlite3_stmt *st, struct file_meta *m, uint8_t **blocks)
{
	int rc;

	m->type = (uint8_t)sqlite3_column_int(st, 0);
	m->deleted = sqlite3_column_int(st, 1) != 0;
	m->size = (uint64_t)sqlite3_column_int64(st, 2);
	m->mtime_ns = sqlite3_column_int64(st, 3);
	m->ino = (uint64_t)sqlite3_column_int64(st, 4);
	if (sqlite3_column_bytes(st, 5) == HASH_LEN)
		memcpy(m->sha256, sqlite3_column_blob(st, 5), HASH_LEN);
	rc = vv_decode(&m->vv, sqlite3_column_blob(st, 6),
	    (size_t)sqlite3_column_bytes(st, 6)) < 0 ? -EIO : 0;
	if (sqlite3_column_bytes(st, 7) == NODE_ID_LEN)
		memcpy(m->modified_by, sqlite3_column_blob(st, 7), NODE_ID_LEN);
	m->seq = (uint64_t)sqlite3_column_int64(st, 8);
	m->nblocks = (size_t)sqlite3_column_bytes(st, 9) / HASH_LEN;
	m->remote = sqlite3_column_int(st, 10) != 0;
	if (rc == 0 && blocks && m->nblocks > 0) {
		if ((*blocks = malloc(m->nblocks * HASH_LEN)) == NULL)
			rc = -ENOMEM;
		else
			memcpy(*blocks, sqlite3_column_blob(st, 9),
			    m->nblocks * HASH_LEN);
		m->blocks = *blocks;
	}
	return (rc);
}

/* Binds path and m's COLS as ?1..?12 of st; vvenc holds the vector. */
static void
bind_row(sqlite3_stmt *st, const char *path, const struct file_meta *m,
    const uint8_t *vvenc, size_t vvlen)
{
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, m->type);
	sqlite3_bind_int(st, 3, m->deleted);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)m->size);
	sqlite3_bind_int64(st, 5, m->mtime_ns);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)m->ino);
	sqlite3_bind_blob(st, 7, m->sha256, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, vvenc, (int)vvlen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, m->modified_by, NODE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)m->seq);
	sqlite3_bind_blob(st, 11, m->blocks ? (const void *)m->blocks : "",
	    (int)(m->nblocks * HASH_LEN), SQLITE_STATIC);
	sqlite3_bind_int(st, 12, m->remote && m->type == ENTRY_FILE &&
	    !m->deleted);
}

/* Reads path's row (any state); caller holds mu.  -ENOENT if none. */
static int
read_row(struct index *ix, const char *path, struct file_meta *m,
    uint8_t **blocks)
{
	sqlite3_stmt *st = ix->st[ST_GET];
	int rc;

	memset(m, 0, sizeof(*m));
	if (blocks)
		*blocks = NULL;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rc = row_columns(st, m, blocks);
	} else if (rc == SQLITE_DONE)
		rc = -ENOENT;
	else
		rc = db_err(ix, "get");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (rc);
}

/* Writes path's row with a new sequence number; caller holds mu. */
static int
write_row(struct index *ix, const char *path, struct file_meta *m)
{
	sqlite3_stmt *st = ix->st[ST_PUT];
	uint8_t vvenc[VV_ENC_MAX], h[HASH_LEN];
	struct file_meta old;
	size_t vvlen;
	int rc;

	if (read_row(ix, path, &old, NULL) == 0) {
		uint8_t oenc[VV_ENC_MAX];

		row_hash(path, old.type, old.deleted, old.sha256, oenc,
		    vv_encode(&old.vv, oenc), h);
		digest_xor(ix, h);
	}
	vvlen = vv_encode(&m->vv, vvenc);
	m->seq = ++ix->seq;
	bind_row(st, path, m, vvenc, vvlen);
	if (m->attrs && m->type == ENTRY_FILE && !m->deleted)
		sqlite3_bind_blob(st, 13, m->attrs_len ? (const void *)m->attrs
		    : "", (int)m->attrs_len, SQLITE_STATIC);
	else if (m->type != ENTRY_FILE || m->deleted)
		sqlite3_bind_blob(st, 13, "", 0, SQLITE_STATIC);
	rc = run(ix, st, "put");
	row_hash(path, m->type, m->deleted, m->sha256, vvenc, vvlen, h);
	if (rc == 0)
		digest_xor(ix, h);
	else {
		/* Put the old row's hash back: nothing changed. */
		ix->seq--;
		load_digest(ix);
	}
	return (rc);
}

/* A local change of path to m: the version descends from the old one. */
static int
local_change(struct index *ix, const char *path, struct file_meta *m)
{
	struct file_meta old;
	int rc;

	if (read_row(ix, path, &old, NULL) == 0)
		m->vv = old.vv;
	else
		vv_clear(&m->vv);
	if ((rc = vv_bump_compact(&m->vv, ix->self)) < 0)
		return (rc);
	memcpy(m->modified_by, ix->self, NODE_ID_LEN);
	return (write_row(ix, path, m));
}

int
index_put(struct index *ix, const char *path, struct file_meta *m)
{
	int rc;

	m->type = ENTRY_FILE;
	m->deleted = false;
	m->remote = false;
	pthread_mutex_lock(&ix->mu);
	rc = local_change(ix, path, m);
	pthread_mutex_unlock(&ix->mu);
	if (rc == 0)
		notify(ix);
	return (rc);
}

int
index_put_if(struct index *ix, const char *path, struct file_meta *m,
    const uint8_t expect[HASH_LEN])
{
	struct file_meta cur;
	int rc;

	m->type = ENTRY_FILE;
	m->deleted = false;
	m->remote = false;
	pthread_mutex_lock(&ix->mu);
	/* Checked under the lock that orders it with a version arriving. */
	if (read_row(ix, path, &cur, NULL) < 0 || cur.deleted ||
	    cur.type != ENTRY_FILE || memcmp(cur.sha256, expect, HASH_LEN) != 0)
		rc = -ESTALE;
	else
		rc = local_change(ix, path, m);
	pthread_mutex_unlock(&ix->mu);
	if (rc == 0)
		notify(ix);
	return (rc);
}

int
index_put_dir(struct index *ix, const char *path)
{
	struct file_meta m, old;
	int rc = 0;

	memset(&m, 0, sizeof(m));
	m.type = ENTRY_DIR;
	pthread_mutex_lock(&ix->mu);
	if (read_row(ix, path, &old, NULL) == 0 && !old.deleted &&
	    old.type == ENTRY_DIR)
		rc = 1;	/* already known */
	else
		rc = local_change(ix, path, &m);
	pthread_mutex_unlock(&ix->mu);
	if (rc == 0)
		notify(ix);
	return (rc < 0 ? rc : 0);
}

int
index_get(struct index *ix, const char *path, struct file_meta *m)
{
	int rc;

	pthread_mutex_lock(&ix->mu);
	rc = read_row(ix, path, m, NULL);
	pthread_mutex_unlock(&ix->mu);
	if (rc == 0 && m->deleted)
		rc = -ENOENT;
	return (rc);
}

int
index_get_any(struct index *ix, const char *path, struct file_meta *m,
    uint8_t **blocks)
{
	int rc;

	pthread_mutex_lock(&ix->mu);
	rc = read_row(ix, path, m, blocks);
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

/* The live paths at path or under path/ (caller frees each and the array). */
static int
paths_under(struct index *ix, const char *path, char ***out, size_t *n)
{
	sqlite3_stmt *st = ix->st[ST_UNDER];
	size_t plen = strlen(path), cap = 0;
	char *under, **v = NULL, **nv;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if ((under = malloc(plen + 2)) == NULL)
		return (-ENOMEM);
	memcpy(under, path, plen);
	memcpy(under + plen, "/", 2);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, under, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)plen + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		if ((v[*n] = strdup((const char *)sqlite3_column_text(st, 0)))
		    == NULL)
			break;
		(*n)++;
	}
	rc = rc == SQLITE_DONE ? 0 : rc == SQLITE_ROW ? -ENOMEM :
	    db_err(ix, "under");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	free(under);
	*out = v;
	return (rc);
}

static void
free_paths(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
tombstone(struct index *ix, const char *path)
{
	struct file_meta m, old;

	if (read_row(ix, path, &old, NULL) < 0)
		return (0);
	memset(&m, 0, sizeof(m));
	m.type = old.type;
	m.deleted = true;
	return (local_change(ix, path, &m));
}

int
index_delete(struct index *ix, const char *path)
{
	char **v;
	size_t n, i;
	int rc;

	pthread_mutex_lock(&ix->mu);
	sqlite3_exec(ix->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if ((rc = paths_under(ix, path, &v, &n)) == 0)
		for (i = 0; i < n && rc == 0; i++)
			rc = tombstone(ix, v[i]);
	free_paths(v, n);
	sqlite3_exec(ix->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	if (rc < 0)
		load_digest(ix);
	pthread_mutex_unlock(&ix->mu);
	if (rc == 0 && n > 0)
		notify(ix);
	return (rc);
}

static int get_attrs(struct index *, const char *, const uint8_t[HASH_LEN],
    void *, size_t, size_t *);

int
index_rename(struct index *ix, const char *path, const char *newpath)
{
	char **v, *np;
	size_t n, i, plen = strlen(path);
	struct file_meta m;
	uint8_t *blocks, attrs[INDEX_ATTRS_MAX];
	size_t alen;
	int rc;

	pthread_mutex_lock(&ix->mu);
	sqlite3_exec(ix->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	/* What was at the target is replaced, as rename(2) does. */
	if ((rc = paths_under(ix, newpath, &v, &n)) == 0)
		for (i = 0; i < n && rc == 0; i++)
			rc = tombstone(ix, v[i]);
	free_paths(v, n);
	if (rc == 0 && (rc = paths_under(ix, path, &v, &n)) == 0) {
		for (i = 0; i < n && rc == 0; i++) {
			if (read_row(ix, v[i], &m, &blocks) < 0)
				continue;
			/* The attributes (S3's metadata, WebDAV's dead
			 * properties) are part of the version: they move
			 * with it. */
			if (m.type == ENTRY_FILE && !m.deleted &&
			    get_attrs(ix, v[i], m.sha256, attrs, sizeof(attrs),
			    &alen) == 0 && alen > 0) {
				m.attrs = attrs;
				m.attrs_len = alen;
			}
			if (asprintf(&np, "%s%s", newpath, v[i] + plen) < 0) {
				free(blocks);
				rc = -ENOMEM;
				break;
			}
			/* Same content under the new name: peers reuse it. */
			rc = local_change(ix, np, &m);
			free(np);
			free(blocks);
			if (rc == 0)
				rc = tombstone(ix, v[i]);
		}
		free_paths(v, n);
	}
	sqlite3_exec(ix->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	if (rc < 0)
		load_digest(ix);
	pthread_mutex_unlock(&ix->mu);
	if (rc == 0)
		notify(ix);
	return (rc);
}

int
index_apply(struct index *ix, const char *path, struct file_meta *m)
{
	int rc;

	pthread_mutex_lock(&ix->mu);
	rc = write_row(ix, path, m);
	pthread_mutex_unlock(&ix->mu);
	if (rc == 0)
		notify(ix);
	return (rc);
}

int
index_intent_put(struct index *ix, const char *path,
    const struct file_meta *m)
{
	sqlite3_stmt *st = ix->st[ST_INTENT_PUT];
	uint8_t vvenc[VV_ENC_MAX];
	int rc;

	pthread_mutex_lock(&ix->mu);
	bind_row(st, path, m, vvenc, vv_encode(&m->vv, vvenc));
	sqlite3_bind_blob(st, 13, m->attrs && m->attrs_len ?
	    (const void *)m->attrs : "", (int)m->attrs_len, SQLITE_STATIC);
	rc = run(ix, st, "intent");
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_intent_del(struct index *ix, const char *path)
{
	sqlite3_stmt *st = ix->st[ST_INTENT_DEL];
	int rc;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	rc = run(ix, st, "intent");
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_intents(struct index *ix, index_row_fn fn, void *arg)
{
	sqlite3_stmt *st = ix->st[ST_INTENT_ALL];
	struct file_meta m;
	uint8_t *blocks;
	int rc;

	pthread_mutex_lock(&ix->mu);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(st, 11);

		memset(&m, 0, sizeof(m));
		blocks = NULL;
		if (path != NULL && row_columns(st, &m, &blocks) == 0) {
			m.attrs = sqlite3_column_blob(st, 12);
			m.attrs_len = (size_t)sqlite3_column_bytes(st, 12);
			(void)fn(path, &m, arg);
		}
		free(blocks);
	}
	rc = rc == SQLITE_DONE ? 0 : db_err(ix, "intents");
	sqlite3_reset(st);
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_find_content(struct index *ix, const uint8_t sha[HASH_LEN],
    bool remote, char *path, size_t size)
{
	sqlite3_stmt *st = ix->st[remote ? ST_FIND_SHA_REMOTE : ST_FIND_SHA];
	int rc;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_blob(st, 1, sha, HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = str_copy(path, size,
		    (const char *)sqlite3_column_text(st, 0));
	else
		rc = rc == SQLITE_DONE ? -ENOENT : db_err(ix, "find");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_next_local(struct index *ix, const char *after, char *path,
    size_t size, struct file_meta *m)
{
	sqlite3_stmt *st = ix->st[ST_NEXT_LOCAL];
	int rc;

	memset(m, 0, sizeof(*m));
	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		/* The columns of ST_GET, then the path. */
		rc = row_columns(st, m, NULL);
		if (rc == 0)
			rc = str_copy(path, size,
			    (const char *)sqlite3_column_text(st, 11));
	} else
		rc = rc == SQLITE_DONE ? -ENOENT : db_err(ix, "next local");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_block_hash(struct index *ix, const char *path,
    const uint8_t sha[HASH_LEN], uint32_t idx, uint8_t out[HASH_LEN])
{
	sqlite3_stmt *st = ix->st[ST_BLOCK];
	int rc;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)idx * HASH_LEN + 1);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != HASH_LEN ||
		    memcmp(sqlite3_column_blob(st, 1), sha, HASH_LEN) != 0)
			rc = -ESTALE;
		else if (sqlite3_column_bytes(st, 0) != HASH_LEN)
			rc = -ENOENT;
		else {
			memcpy(out, sqlite3_column_blob(st, 0), HASH_LEN);
			rc = 0;
		}
	} else
		rc = rc == SQLITE_DONE ? -ENOENT : db_err(ix, "block");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int64_t
index_count(struct index *ix)
{
	sqlite3_stmt *st = ix->st[ST_COUNT];
	int64_t n = -1;

	pthread_mutex_lock(&ix->mu);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	pthread_mutex_unlock(&ix->mu);
	return (n);
}

uint64_t
index_seq(struct index *ix)
{
	uint64_t s;

	pthread_mutex_lock(&ix->mu);
	s = ix->seq;
	pthread_mutex_unlock(&ix->mu);
	return (s);
}

void
index_digest(struct index *ix, uint8_t out[HASH_LEN])
{
	pthread_mutex_lock(&ix->mu);
	memcpy(out, ix->digest, HASH_LEN);
	pthread_mutex_unlock(&ix->mu);
}

int
index_changes(struct index *ix, uint64_t since, unsigned max_rows,
    index_row_fn fn, void *arg)
{
	sqlite3_stmt *st = ix->st[ST_CHANGES];
	struct file_meta m;
	int n = 0, rc;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)since);
	sqlite3_bind_int(st, 2, (int)max_rows);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&m, 0, sizeof(m));
		m.type = (uint8_t)sqlite3_column_int(st, 1);
		m.deleted = sqlite3_column_int(st, 2) != 0;
		m.size = (uint64_t)sqlite3_column_int64(st, 3);
		m.mtime_ns = sqlite3_column_int64(st, 4);
		m.ino = (uint64_t)sqlite3_column_int64(st, 5);
		if (sqlite3_column_bytes(st, 6) == HASH_LEN)
			memcpy(m.sha256, sqlite3_column_blob(st, 6), HASH_LEN);
		if (vv_decode(&m.vv, sqlite3_column_blob(st, 7),
		    (size_t)sqlite3_column_bytes(st, 7)) < 0)
			continue;
		if (sqlite3_column_bytes(st, 8) == NODE_ID_LEN)
			memcpy(m.modified_by, sqlite3_column_blob(st, 8),
			    NODE_ID_LEN);
		m.seq = (uint64_t)sqlite3_column_int64(st, 9);
		m.blocks = sqlite3_column_blob(st, 10);
		m.nblocks = (size_t)sqlite3_column_bytes(st, 10) / HASH_LEN;
		m.remote = sqlite3_column_int(st, 11) != 0;
		m.attrs = sqlite3_column_blob(st, 12);
		m.attrs_len = (size_t)sqlite3_column_bytes(st, 12);
		if (fn((const char *)sqlite3_column_text(st, 0), &m, arg) < 0)
			break;
		n++;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&ix->mu);
	return (n);
}

uint64_t
index_peer_seq(struct index *ix, const uint8_t id[NODE_ID_LEN])
{
	sqlite3_stmt *st = ix->st[ST_PEER_GET];
	uint64_t s = 0;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_blob(st, 1, id, NODE_ID_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		s = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&ix->mu);
	return (s);
}

int
index_set_peer_seq(struct index *ix, const uint8_t id[NODE_ID_LEN],
    uint64_t seq)
{
	sqlite3_stmt *st = ix->st[ST_PEER_SET];
	int rc;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_blob(st, 1, id, NODE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	rc = run(ix, st, "peer seq");
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_scan_begin(struct index *ix)
{
	int rc = 0;

	pthread_mutex_lock(&ix->mu);
	ix->scan_seq = ix->seq;
	if (sqlite3_exec(ix->db, "DELETE FROM temp.seen", NULL, NULL, NULL) !=
	    SQLITE_OK)
		rc = db_err(ix, "scan begin");
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_scan_seen(struct index *ix, const char *path)
{
	sqlite3_stmt *st = ix->st[ST_SEEN];
	int rc;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	rc = run(ix, st, "scan seen");
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_scan_end(struct index *ix, int64_t *removed)
{
	sqlite3_stmt *st = ix->st[ST_MISSING];
	char **v = NULL, **nv;
	size_t n = 0, cap = 0, i;
	int rc = 0;

	*removed = 0;
	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)ix->scan_seq);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		if ((v[n] = strdup((const char *)sqlite3_column_text(st, 0))) ==
		    NULL)
			break;
		n++;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_exec(ix->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (i = 0; i < n && rc == 0; i++)
		rc = tombstone(ix, v[i]);
	sqlite3_exec(ix->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(ix->db, "DELETE FROM temp.seen", NULL, NULL, NULL);
	if (rc < 0)
		load_digest(ix);
	pthread_mutex_unlock(&ix->mu);
	free_paths(v, n);
	*removed = (int64_t)n;
	if (rc == 0 && n > 0)
		notify(ix);
	return (rc);
}

int
index_set_remote(struct index *ix, const char *path,
    const uint8_t sha[HASH_LEN], bool remote)
{
	struct file_meta m;
	uint8_t *blocks;
	int rc;

	pthread_mutex_lock(&ix->mu);
	if ((rc = read_row(ix, path, &m, &blocks)) == 0) {
		if (m.deleted || m.type != ENTRY_FILE ||
		    memcmp(m.sha256, sha, HASH_LEN) != 0)
			rc = -ESTALE;
		else if (m.remote == remote)
			rc = 1;
		else {
			m.remote = remote;
			rc = write_row(ix, path, &m);
		}
		free(blocks);
	}
	pthread_mutex_unlock(&ix->mu);
	if (rc == 0)
		notify(ix);
	return (rc < 0 ? rc : 0);
}

int
index_pin(struct index *ix, const char *path, bool pin)
{
	sqlite3_stmt *st = ix->st[pin ? ST_PIN : ST_UNPIN];
	int rc;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	rc = run(ix, st, pin ? "pin" : "unpin");
	if (rc == 0 && sqlite3_changes(ix->db) == 0)
		rc = pin ? 0 : -ENOENT;
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_pins(struct index *ix, int (*fn)(const char *, void *), void *arg)
{
	sqlite3_stmt *st = ix->st[ST_PINS];
	int rc, n = 0;

	pthread_mutex_lock(&ix->mu);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fn((const char *)sqlite3_column_text(st, 0), arg) < 0)
			break;
		n++;
	}
	sqlite3_reset(st);
	pthread_mutex_unlock(&ix->mu);
	return (n);
}

/* One file held elsewhere, read under the mutex and handed on after it. */
struct remote_child {
	char *name;
	uint64_t size;
	int64_t mtime_ns;
};

int
index_remote_children(struct index *ix, const char *dir,
    int (*fn)(const char *name, uint64_t size, int64_t mtime_ns, void *),
    void *arg)
{
	sqlite3_stmt *st = ix->st[ST_REMOTE_IN];
	char lo[PATH_LEN_MAX + 2], hi[PATH_LEN_MAX + 2];
	struct remote_child *v = NULL, *nv;
	size_t plen, n = 0, cap = 0, i;
	bool stop = false;
	int out = 0;

	/* The subtree of "d" is every path from "d/" to "d0" ('/' + 1);
	 * the root's is every path (text sorts before any blob). */
	if (dir[0] != '\0' && (str_fmt(lo, sizeof(lo), "%s/", dir) < 0 ||
	    str_fmt(hi, sizeof(hi), "%s0", dir) < 0))
		return (-ENAMETOOLONG);
	plen = dir[0] ? strlen(lo) : 0;
	/*
	 * The rows are copied out and fn runs after the mutex is released:
	 * a listing asks the index about each name (index_get), which would
	 * otherwise wait for ever on the mutex this thread holds.
	 */
	pthread_mutex_lock(&ix->mu);
	if (dir[0]) {
		sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_text(st, 1, "", -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, "\xff", 1, SQLITE_STATIC);
	}
	while (sqlite3_step(st) == SQLITE_ROW && n < INDEX_CHILDREN_MAX) {
		const char *path = (const char *)sqlite3_column_text(st, 0);

		if (strchr(path + plen, '/') != NULL)
			continue;	/* deeper down */
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		if ((v[n].name = strdup(path + plen)) == NULL)
			break;
		v[n].size = (uint64_t)sqlite3_column_int64(st, 1);
		v[n].mtime_ns = sqlite3_column_int64(st, 2);
		n++;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&ix->mu);
	for (i = 0; i < n; i++) {
		if (!stop && fn(v[i].name, v[i].size, v[i].mtime_ns, arg) < 0)
			stop = true;
		else if (!stop)
			out++;
		free(v[i].name);
	}
	free(v);
	return (out);
}

/* index_get_attrs with mu held. */
static int
get_attrs(struct index *ix, const char *path, const uint8_t sha[HASH_LEN],
    void *out, size_t size, size_t *len)
{
	sqlite3_stmt *st = ix->st[ST_ATTRS_GET];
	size_t n;
	int rc;

	*len = 0;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, sha, HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		n = (size_t)sqlite3_column_bytes(st, 0);
		if (n > size)
			rc = -E2BIG;
		else {
			if (n)
				memcpy(out, sqlite3_column_blob(st, 0), n);
			*len = n;
			rc = 0;
		}
	} else
		rc = rc == SQLITE_DONE ? -ENOENT : db_err(ix, "attrs");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (rc);
}

int
index_get_attrs(struct index *ix, const char *path,
    const uint8_t sha[HASH_LEN], void *out, size_t size, size_t *len)
{
	int rc;

	pthread_mutex_lock(&ix->mu);
	rc = get_attrs(ix, path, sha, out, size, len);
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_set_attrs(struct index *ix, const char *path,
    const uint8_t sha[HASH_LEN], const void *attrs, size_t len)
{
	sqlite3_stmt *st = ix->st[ST_ATTRS_SET];
	int rc;

	if (len > INDEX_ATTRS_MAX)
		return (-E2BIG);
	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, sha, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, len ? attrs : "", (int)len, SQLITE_STATIC);
	rc = run(ix, st, "set attrs");
	if (rc == 0 && sqlite3_changes(ix->db) == 0)
		rc = -ENOENT;
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}
