/*
 * auth: accounts, yescrypt and the verified-password cache.  The users
 * file is rewritten whole (temp file, fsync, rename) so a crash never
 * leaves it half written.  A line is "name:hash" or "name:hash:admin";
 * yescrypt hashes hold no ':'.
 */
#include "front/auth.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/buf.h"
#include "base/fspath.h"
#include "base/log.h"
#include "net/addr.h"

#define USERS_MAX	10000
#define HASH_STR_MAX	256

struct account {
	char		name[AUTH_NAME_MAX + 1];
	char		hash[HASH_STR_MAX];
	uint8_t		mac[32];	/* HMAC of the last verified password */
	bool		mac_valid;
	bool		admin;
};

struct auth {
	pthread_mutex_t	 mu;
	/*
	 * Held around the slow hash, so that a burst of logins to one account
	 * computes it once: the others wait, then find the cached result.
	 */
	pthread_mutex_t	 crypt_mu;
	char		*path;
	struct account	*acct;
	size_t		 nacct;
	struct stat	 seen;		/* of the file as last loaded */
	bool		 loaded;
	uint8_t		 key[32];	/* in memory only */
	char		 dummy[HASH_STR_MAX];	/* for unknown names */
};

bool
auth_valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > AUTH_NAME_MAX || s[0] == '.' || s[0] == '-')
		return (false);
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return (false);
	}
	return (true);
}

/* Parses the users file into a fresh array. */
static int
load_file(const char *path, struct account **out, size_t *nout)
{
	struct account *a = NULL, *na;
	size_t n = 0;
	char line[AUTH_NAME_MAX + HASH_STR_MAX + 16];
	FILE *f;
	int rc = 0;

	*out = NULL;
	*nout = 0;
	if ((f = fopen(path, "re")) == NULL)
		return (errno == ENOENT ? 0 : -errno);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon, *flags, *nl;

		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		if ((flags = strchr(colon + 1, ':')) != NULL)
			*flags++ = '\0';
		if (!auth_valid_name(line) || n >= USERS_MAX)
			continue;
		if ((na = realloc(a, (n + 1) * sizeof(*a))) == NULL) {
			rc = -ENOMEM;
			break;
		}
		a = na;
		memset(&a[n], 0, sizeof(a[n]));
		if (str_copy(a[n].name, sizeof(a[n].name), line) < 0 ||
		    str_copy(a[n].hash, sizeof(a[n].hash), colon + 1) < 0)
			continue;
		a[n].admin = flags != NULL && strcmp(flags, "admin") == 0;
		n++;
	}
	fclose(f);
	if (rc < 0) {
		free(a);
		return (rc);
	}
	*out = a;
	*nout = n;
	return (0);
}

/* Reloads the file if it changed since the last load; caller holds mu. */
static void
refresh(struct auth *au)
{
	struct account *a;
	struct stat st;
	size_t n, i, j;

	if (stat(au->path, &st) < 0)
		memset(&st, 0, sizeof(st));
	if (au->loaded && st.st_ino == au->seen.st_ino &&
	    st.st_size == au->seen.st_size &&
	    st.st_mtim.tv_sec == au->seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == au->seen.st_mtim.tv_nsec)
		return;
	if (load_file(au->path, &a, &n) < 0)
		return;
	/* Keep verified passwords of accounts whose hash did not change. */
	for (i = 0; i < n; i++)
		for (j = 0; j < au->nacct; j++)
			if (strcmp(a[i].name, au->acct[j].name) == 0 &&
			    strcmp(a[i].hash, au->acct[j].hash) == 0) {
				memcpy(a[i].mac, au->acct[j].mac, 32);
				a[i].mac_valid = au->acct[j].mac_valid;
			}
	free(au->acct);
	au->acct = a;
	au->nacct = n;
	au->seen = st;
	au->loaded = true;
}

struct auth *
auth_new(const char *users_path)
{
	struct auth *au;
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;

	if ((au = calloc(1, sizeof(*au))) == NULL)
		return (NULL);
	pthread_mutex_init(&au->mu, NULL);
	pthread_mutex_init(&au->crypt_mu, NULL);
	if ((au->path = strdup(users_path)) == NULL ||
	    RAND_bytes(au->key, sizeof(au->key)) != 1 ||
	    (cd = calloc(1, sizeof(*cd))) == NULL) {
		auth_free(au);
		return (NULL);
	}
	/* A real hash to check unknown names against, so they cost the same. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) != NULL &&
	    (h = crypt_rn("not a password", salt, cd, sizeof(*cd))) != NULL &&
	    h[0] != '*')
		(void)str_copy(au->dummy, sizeof(au->dummy), h);
	free(cd);
	return (au);
}

void
auth_free(struct auth *au)
{
	if (au == NULL)
		return;
	OPENSSL_cleanse(au->key, sizeof(au->key));
	free(au->acct);
	free(au->path);
	pthread_mutex_destroy(&au->mu);
	pthread_mutex_destroy(&au->crypt_mu);
	free(au);
}

static void
password_mac(const struct auth *au, const char *user, const char *pass,
    uint8_t out[32])
{
	unsigned int len = 32;
	struct buf b;

	buf_init(&b, AUTH_NAME_MAX + AUTH_PASS_MAX + 2);
	if (buf_puts(&b, user) < 0 || buf_append(&b, "", 1) < 0 ||
	    buf_puts(&b, pass) < 0) {
		memset(out, 0, 32);
		buf_release(&b);
		return;
	}
	HMAC(EVP_sha256(), au->key, sizeof(au->key), (const uint8_t *)b.data,
	    b.len, out, &len);
	OPENSSL_cleanse(b.data, b.len);
	buf_release(&b);
}

/* Looks user up; true if mac matches its verified password.  *hash gets a
 * copy of its stored hash, or the dummy one for an unknown name. */
static bool
cached_ok(struct auth *au, const char *user, const uint8_t mac[32],
    char *hash, bool *found, bool *admin)
{
	bool ok = false;
	size_t i;

	*found = false;
	memcpy(hash, au->dummy, HASH_STR_MAX);
	pthread_mutex_lock(&au->mu);
	refresh(au);
	for (i = 0; i < au->nacct; i++) {
		if (strcmp(au->acct[i].name, user) != 0)
			continue;
		*found = true;
		*admin = au->acct[i].admin;
		ok = au->acct[i].mac_valid &&
		    CRYPTO_memcmp(au->acct[i].mac, mac, 32) == 0;
		memcpy(hash, au->acct[i].hash, HASH_STR_MAX);
		break;
	}
	pthread_mutex_unlock(&au->mu);
	return (ok);
}

bool
auth_guest_allowed(const struct sockaddr *listen)
{
	return (addr_is_loopback(listen));
}

bool
auth_is_default_guest(const char *user, const char *pass)
{
	return (strcmp(user, AUTH_GUEST) == 0 && strcmp(pass, AUTH_GUEST) == 0);
}

int
auth_guest_check_listen(const char *users_path, const char *what,
    const char *listen, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (strcmp(listen, "off") == 0 || addr_parse(listen, &ss, &sl) < 0 ||
	    auth_guest_allowed((struct sockaddr *)&ss) ||
	    !auth_file_default_guest(users_path))
		return (0);
	(void)str_fmt(err, errlen, "refusing to serve %s on %s while the "
	    "guest account has the default password: change it with 'shoal "
	    "-C DIR user passwd guest' or remove it with 'shoal -C DIR user "
	    "del guest'", what, listen);
	return (-EACCES);
}

int
auth_check(struct auth *au, const char *user, const char *pass)
{
	bool admin;

	return (auth_login(au, true, user, pass, &admin));
}

int
auth_login(struct auth *au, bool guest_ok, const char *user,
    const char *pass, bool *admin)
{
	char hash[HASH_STR_MAX];
	uint8_t mac[32];
	struct crypt_data *cd;
	const char *h;
	bool found, ok;
	size_t i;

	*admin = false;
	if (strlen(pass) > AUTH_PASS_MAX)
		return (-EACCES);
	/* SECURITY: guest/guest only through a listener on loopback. */
	if (!guest_ok && auth_is_default_guest(user, pass))
		return (-EACCES);
	password_mac(au, user, pass, mac);
	if (cached_ok(au, user, mac, hash, &found, admin))
		return (0);
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return (-EACCES);
	pthread_mutex_lock(&au->crypt_mu);
	/* Someone may have verified the same password while we waited. */
	if (cached_ok(au, user, mac, hash, &found, admin)) {
		pthread_mutex_unlock(&au->crypt_mu);
		free(cd);
		return (0);
	}
	h = crypt_rn(pass, hash, cd, sizeof(*cd));
	ok = found && h != NULL && h[0] != '*' && strlen(h) == strlen(hash) &&
	    CRYPTO_memcmp(h, hash, strlen(hash)) == 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	if (ok) {
		pthread_mutex_lock(&au->mu);
		for (i = 0; i < au->nacct; i++)
			if (strcmp(au->acct[i].name, user) == 0 &&
			    strcmp(au->acct[i].hash, hash) == 0) {
				memcpy(au->acct[i].mac, mac, 32);
				au->acct[i].mac_valid = true;
			}
		pthread_mutex_unlock(&au->mu);
	}
	pthread_mutex_unlock(&au->crypt_mu);
	if (!ok)
		*admin = false;
	return (ok ? 0 : -EACCES);
}

/* Writes accounts to path atomically. */
static int
save_file(const char *path, const struct account *a, size_t n)
{
	char tmp[FS_PATH_MAX];
	size_t i;
	FILE *f;
	int fd;

	if (str_fmt(tmp, sizeof(tmp), "%s.new", path) < 0)
		return (-ENAMETOOLONG);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0)
		return (-errno);
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return (-errno);
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%s:%s%s\n", a[i].name, a[i].hash,
		    a[i].admin ? ":admin" : "");
	if (fflush(f) != 0 || fsync(fd) != 0) {
		fclose(f);
		unlink(tmp);
		return (-EIO);
	}
	fclose(f);
	if (rename(tmp, path) < 0)
		return (-errno);
	return (0);
}

static int
make_hash(const char *pass, char *out, size_t outlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int rc = -EINVAL;

	if (strlen(pass) == 0 || strlen(pass) > AUTH_PASS_MAX)
		return (-EINVAL);
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return (-EIO);
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return (-ENOMEM);
	h = crypt_rn(pass, salt, cd, sizeof(*cd));
	if (h != NULL && h[0] != '*')
		rc = str_copy(out, outlen, h);
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return (rc);
}

/* add: create only (with flags); passwd: replace only (flags kept). */
static int
file_set(const char *path, const char *user, const char *pass, bool create,
    unsigned flags)
{
	struct account *a, *na;
	size_t n, i;
	int rc;

	if (!auth_valid_name(user))
		return (-EINVAL);
	if ((rc = load_file(path, &a, &n)) < 0)
		return (rc);
	for (i = 0; i < n && strcmp(a[i].name, user) != 0; i++)
		;
	if (create && i < n) {
		rc = -EEXIST;
		goto out;
	}
	if (!create && i == n) {
		rc = -ENOENT;
		goto out;
	}
	if (i == n) {
		if ((na = realloc(a, (n + 1) * sizeof(*a))) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		a = na;
		memset(&a[n], 0, sizeof(a[n]));
		(void)str_copy(a[n].name, sizeof(a[n].name), user);
		a[n].admin = (flags & AUTH_ADMIN) != 0;
		n++;
	}
	if ((rc = make_hash(pass, a[i].hash, sizeof(a[i].hash))) < 0)
		goto out;
	rc = save_file(path, a, n);
out:
	free(a);
	return (rc);
}

int
auth_file_add(const char *path, const char *user, const char *pass,
    unsigned flags)
{
	return (file_set(path, user, pass, true, flags));
}

int
auth_file_passwd(const char *path, const char *user, const char *pass)
{
	return (file_set(path, user, pass, false, 0));
}

int
auth_file_del(const char *path, const char *user)
{
	struct account *a;
	size_t n, i;
	int rc;

	if ((rc = load_file(path, &a, &n)) < 0)
		return (rc);
	for (i = 0; i < n && strcmp(a[i].name, user) != 0; i++)
		;
	if (i == n)
		rc = -ENOENT;
	else {
		memmove(&a[i], &a[i + 1], (n - i - 1) * sizeof(*a));
		rc = save_file(path, a, n - 1);
	}
	free(a);
	return (rc);
}

int
auth_file_list(const char *path, FILE *out)
{
	struct account *a;
	size_t n, i;
	int rc;

	if ((rc = load_file(path, &a, &n)) < 0)
		return (rc);
	for (i = 0; i < n; i++)
		fprintf(out, "%s%s\n", a[i].name, a[i].admin ? " (admin)" : "");
	free(a);
	return (0);
}

bool
auth_file_default_guest(const char *path)
{
	struct auth *au = auth_new(path);
	bool guest;

	if (au == NULL)
		return (false);
	guest = auth_check(au, AUTH_GUEST, AUTH_GUEST) == 0;
	auth_free(au);
	return (guest);
}

bool
auth_has(struct auth *au, const char *user, bool *admin)
{
	bool found = false;

	pthread_mutex_lock(&au->mu);
	refresh(au);
	for (size_t i = 0; i < au->nacct; i++) {
		if (strcmp(au->acct[i].name, user) != 0)
			continue;
		found = true;
		if (admin != NULL)
			*admin = au->acct[i].admin;
		break;
	}
	pthread_mutex_unlock(&au->mu);
	return (found);
}

bool
auth_file_has(const char *path, const char *user)
{
	struct account *a;
	size_t n;
	bool found = false;

	if (load_file(path, &a, &n) < 0)
		return (false);
	for (size_t i = 0; i < n && !found; i++)
		found = strcmp(a[i].name, user) == 0;
	OPENSSL_cleanse(a, n * sizeof(*a));
	free(a);
	return (found);
}
