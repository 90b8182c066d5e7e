/* git_version.c — the commit HEAD is at, read from .git's files.
 *
 * Running git would fork inside the host service and need git installed,
 * so we read the few files that matter: .git (a folder, or a "gitdir:"
 * file in linked worktrees and submodules), HEAD, commondir, loose refs and
 * packed-refs.  Per-worktree refs (HEAD, refs/worktree/, refs/bisect/,
 * refs/rewritten/) live in the worktree's own git folder; all other refs in
 * the common one.  A loose ref wins over packed-refs, as in git.  Tags
 * that point at HEAD give the label people read (see "tags" below). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "evodash.h"
#include "core/config.h"
#include "core/git_version.h"

#define SMALL_FILE       4096 /* HEAD, refs, gitdir and commondir files are tiny */
#define MAX_SYMREF_DEPTH 5

static void errf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Read a small text file whole, without its trailing whitespace.  Returns
 * 0, EVD_ENOENT when it does not exist (or is a folder), EVD_EIO, or
 * EVD_EINVAL when it is too big to be what we expect. */
static int read_small(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT || errno == ENOTDIR ? EVD_ENOENT : EVD_EIO;
    size_t n = fread(buf, 1, cap - 1, f);
    int rc = 0;
    if (ferror(f))
        rc = errno == EISDIR ? EVD_ENOENT : EVD_EIO;
    else if (n == cap - 1 && fgetc(f) != EOF)
        rc = EVD_EINVAL;
    fclose(f);
    if (rc)
        return rc;
    buf[n] = '\0';
    if (strlen(buf) != n)
        return EVD_EINVAL; /* NUL bytes: not a text file */
    while (n > 0 &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = '\0';
    return 0;
}

static int is_hex40(const char *s)
{
    for (int i = 0; i < 40; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Join dir and rel unless rel is absolute.  Returns 0 or EVD_EINVAL. */
static int join(char *out, size_t cap, const char *dir, const char *rel)
{
    int n = rel[0] == '/' ? snprintf(out, cap, "%s", rel) : snprintf(out, cap, "%s/%s", dir, rel);
    return n < 0 || (size_t)n >= cap ? EVD_EINVAL : 0;
}

/* A git folder has HEAD, plus objects/ (main) or commondir (linked). */
static int looks_like_gitdir(const char *dir)
{
    char p[PATH_MAX];
    if (join(p, sizeof p, dir, "HEAD") || !is_file(p))
        return 0;
    if (join(p, sizeof p, dir, "objects") == 0 && is_dir(p))
        return 1;
    return join(p, sizeof p, dir, "commondir") == 0 && is_file(p);
}

/* Follow a ".git" file ("gitdir: PATH") to the git folder. */
static int follow_gitfile(const char *file, char *gitdir, size_t cap, char *err, size_t errcap)
{
    char buf[SMALL_FILE], dir[PATH_MAX];
    int rc = read_small(file, buf, sizeof buf);
    if (rc) {
        errf(err, errcap, "%s: cannot read", file);
        return rc == EVD_ENOENT ? EVD_ENOENT : rc;
    }
    if (strncmp(buf, "gitdir:", 7) != 0) {
        errf(err, errcap, "%s: expected \"gitdir: <path>\"", file);
        return EVD_EINVAL;
    }
    const char *target = buf + 7;
    while (*target == ' ' || *target == '\t')
        target++;
    if (!*target || strchr(target, '\n')) {
        errf(err, errcap, "%s: expected one \"gitdir: <path>\" line", file);
        return EVD_EINVAL;
    }
    /* Relative paths are relative to the folder holding the file. */
    const char *slash = strrchr(file, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == file)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - file), file);
    if (join(gitdir, cap, dir, target)) {
        errf(err, errcap, "%s: gitdir path too long", file);
        return EVD_EINVAL;
    }
    if (!looks_like_gitdir(gitdir)) {
        errf(err, errcap, "%s points to %s, which is not a git folder (moved or deleted?)", file,
             gitdir);
        return EVD_ENOENT;
    }
    return 0;
}

/* Find the git folder for path.  Returns 0, EVD_ENOENT or EVD_EINVAL. */
static int find_gitdir(const char *path, char *gitdir, size_t cap, char *err, size_t errcap)
{
    struct stat st;
    char dotgit[PATH_MAX];

    if (stat(path, &st) != 0) {
        errf(err, errcap, "%s: %s", path, strerror(errno));
        return EVD_ENOENT;
    }
    if (S_ISREG(st.st_mode))
        return follow_gitfile(path, gitdir, cap, err, errcap);
    if (!S_ISDIR(st.st_mode)) {
        errf(err, errcap, "%s: not a folder or a .git file", path);
        return EVD_ENOENT;
    }
    if (join(dotgit, sizeof dotgit, path, ".git")) {
        errf(err, errcap, "%s: path too long", path);
        return EVD_EINVAL;
    }
    if (stat(dotgit, &st) == 0) {
        if (S_ISREG(st.st_mode))
            return follow_gitfile(dotgit, gitdir, cap, err, errcap);
        if (S_ISDIR(st.st_mode)) {
            if (!looks_like_gitdir(dotgit)) {
                errf(err, errcap, "%s: not a git folder (no HEAD)", dotgit);
                return EVD_ENOENT;
            }
            snprintf(gitdir, cap, "%s", dotgit);
            return 0;
        }
    }
    if (looks_like_gitdir(path)) {
        snprintf(gitdir, cap, "%s", path);
        return 0;
    }
    errf(err, errcap, "%s: not a git repository (no .git)", path);
    return EVD_ENOENT;
}

/* A ref name we are willing to turn into a path. */
static int safe_refname(const char *r)
{
    if (strncmp(r, "refs/", 5) != 0 || strstr(r, "..") || strstr(r, "//") ||
        r[strlen(r) - 1] == '/')
        return 0;
    for (; *r; r++)
        if ((unsigned char)*r < 0x20 || *r == '\\' || *r == 0x7f)
            return 0;
    return 1;
}

static int per_worktree(const char *r)
{
    return !strncmp(r, "refs/worktree/", 14) || !strncmp(r, "refs/bisect/", 12) ||
           !strncmp(r, "refs/rewritten/", 15);
}

/* Look refname up in common/packed-refs.  Returns 0 (commit in out),
 * EVD_ENOENT, or EVD_EINVAL for a malformed matching line. */
static int packed_lookup(const char *common, const char *refname, char *out, char *err,
                         size_t errcap)
{
    char path[PATH_MAX];
    if (join(path, sizeof path, common, "packed-refs"))
        return EVD_ENOENT;
    FILE *f = fopen(path, "re");
    if (!f)
        return EVD_ENOENT;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    int rc = EVD_ENOENT, lineno = 0;
    size_t rl = strlen(refname);
    while ((n = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        /* "# pack-refs with: ..." header; "^<hex>" peels the tag above. */
        if (n == 0 || line[0] == '#' || line[0] == '^')
            continue;
        if ((size_t)n != 41 + rl || line[40] != ' ' || memcmp(line + 41, refname, rl) != 0)
            continue;
        if (!is_hex40(line)) {
            errf(err, errcap, "%s:%d: malformed entry for %s", path, lineno, refname);
            rc = EVD_EINVAL;
            break;
        }
        memcpy(out, line, 40);
        out[40] = '\0';
        rc = 0;
        break;
    }
    free(line);
    fclose(f);
    return rc;
}

/* Resolve refname (may itself be symbolic) to a commit. */
static int resolve_ref(const char *gitdir, const char *common, const char *refname, int depth,
                       char *out, char *err, size_t errcap)
{
    char path[PATH_MAX], buf[SMALL_FILE];
    if (depth > MAX_SYMREF_DEPTH) {
        errf(err, errcap, "%s: symbolic refs nested too deep (a loop?)", refname);
        return EVD_EINVAL;
    }
    if (!safe_refname(refname)) {
        errf(err, errcap, "%s/HEAD: bad ref name \"%.100s\"", gitdir, refname);
        return EVD_EINVAL;
    }
    const char *base = per_worktree(refname) ? gitdir : common;
    if (join(path, sizeof path, base, refname)) {
        errf(err, errcap, "%s: path too long", refname);
        return EVD_EINVAL;
    }
    int rc = read_small(path, buf, sizeof buf);
    if (rc == 0) {
        if (!strncmp(buf, "ref:", 4)) {
            const char *next = buf + 4;
            while (*next == ' ' || *next == '\t')
                next++;
            return resolve_ref(gitdir, common, next, depth + 1, out, err, errcap);
        }
        if (strlen(buf) != 40 || !is_hex40(buf)) {
            errf(err, errcap, "%s: expected a 40-hex commit id", path);
            return EVD_EINVAL;
        }
        memcpy(out, buf, 41);
        return 0;
    }
    if (rc != EVD_ENOENT) {
        errf(err, errcap, "%s: cannot read", path);
        return rc;
    }
    rc = packed_lookup(common, refname, out, err, errcap);
    if (rc == EVD_ENOENT)
        errf(err, errcap,
             "%s: HEAD points to %s, which does not exist (a branch with no commits yet?)", gitdir,
             refname);
    return rc;
}

/* Find the git folder and the common one for path, and HEAD's commit.
 * gitdir and common hold PATH_MAX bytes, commit 41. */
static int open_head(const char *path, char *gitdir, char *common, char *commit, char *err,
                     size_t errcap)
{
    char p[PATH_MAX], buf[SMALL_FILE];
    int rc = find_gitdir(path, gitdir, PATH_MAX, err, errcap);
    if (rc)
        return rc;

    /* Linked worktrees keep shared refs in the folder commondir names. */
    if (join(p, sizeof p, gitdir, "commondir")) {
        errf(err, errcap, "%s: path too long", gitdir);
        return EVD_EINVAL;
    }
    rc = read_small(p, buf, sizeof buf);
    if (rc == 0) {
        if (!buf[0] || join(common, PATH_MAX, gitdir, buf) || !is_dir(common)) {
            errf(err, errcap, "%s: names %s, which is not a folder", p, buf);
            return EVD_ENOENT;
        }
    } else if (rc == EVD_ENOENT) {
        snprintf(common, PATH_MAX, "%s", gitdir);
    } else {
        errf(err, errcap, "%s: cannot read", p);
        return rc;
    }

    if (join(p, sizeof p, gitdir, "HEAD")) {
        errf(err, errcap, "%s: path too long", gitdir);
        return EVD_EINVAL;
    }
    rc = read_small(p, buf, sizeof buf);
    if (rc) {
        errf(err, errcap, "%s: cannot read", p);
        return rc;
    }
    if (!strncmp(buf, "ref:", 4)) {
        const char *ref = buf + 4;
        while (*ref == ' ' || *ref == '\t')
            ref++;
        char reftable[PATH_MAX];
        if (!strcmp(ref, "refs/heads/.invalid") &&
            join(reftable, sizeof reftable, common, "reftable") == 0 && is_dir(reftable)) {
            errf(err, errcap, "%s: the reftable ref format is not supported", gitdir);
            return EVD_EINVAL;
        }
        rc = resolve_ref(gitdir, common, ref, 0, commit, err, errcap);
        if (rc)
            return rc;
    } else if (strlen(buf) == 40 && is_hex40(buf)) {
        memcpy(commit, buf, 41); /* detached HEAD */
    } else if (strlen(buf) == 64) {
        errf(err, errcap, "%s: SHA-256 repositories are not supported", p);
        return EVD_EINVAL;
    } else {
        errf(err, errcap, "%s: expected \"ref: refs/...\" or a 40-hex commit id", p);
        return EVD_EINVAL;
    }
    return 0;
}

int git_head_commit(const char *path, char *out, size_t cap, char *err, size_t errcap)
{
    char gitdir[PATH_MAX], common[PATH_MAX], commit[41];
    if (err && errcap)
        err[0] = '\0';
    if (!path || !*path || !out || cap < 41) {
        errf(err, errcap, "git_head_commit: bad arguments");
        return EVD_EINVAL;
    }
    int rc = open_head(path, gitdir, common, commit, err, errcap);
    if (rc)
        return rc;
    memcpy(out, commit, 41);
    return 0;
}

/* ---- tags -------------------------------------------------------------------
 *
 * A tag points at HEAD when its ref names the commit (lightweight), or
 * names a tag object whose chain of "object" lines ends at it (annotated).
 * Tags live in the common folder: loose files under refs/tags/ and lines
 * of packed-refs, where git writes the peeled commit of an annotated tag
 * on a "^<sha>" line after it.  A loose tag ref wins over a packed one of
 * the same name.  For a loose ref that names a tag object, the object is
 * read from objects/xx/yyyy... (zlib); when it is not loose (git gc moved
 * it into a pack), packed-refs' peeled line for the same name and object
 * is used, which gc writes in the same run; a pack is never read.  A tag
 * that cannot be followed is left out: a broken tag must not hide the
 * commit. */

#define TAG_DEPTH_MAX  5         /* a tag of a tag of ... */
#define TAG_WALK_DEPTH 8         /* folders under refs/tags/ */
#define OBJ_HEAD_MAX   256       /* inflated bytes of a tag object we need */
#define OBJ_FILE_MAX   (1 << 20) /* compressed bytes we read at most */

typedef struct tag_ref {
    char *name;      /* without "refs/tags/" */
    char sha[41];    /* what the ref names */
    char peeled[41]; /* packed-refs' "^" line, or "" */
    int loose;
} tag_ref;

typedef struct tag_list {
    tag_ref *v;
    size_t n, cap;
} tag_list;

static void tag_list_free(tag_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
}

/* Printable, and short enough to show. */
static int tag_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= GIT_TAG_MAX)
        return 0;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return 0;
    return 1;
}

static int tag_add(tag_list *l, const char *name, const char *sha, int loose)
{
    if (!tag_name_ok(name))
        return 0; /* skipped, not an error */
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        tag_ref *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return EVD_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    tag_ref *t = &l->v[l->n];
    if (!(t->name = strdup(name)))
        return EVD_ENOMEM;
    memcpy(t->sha, sha, 40);
    t->sha[40] = '\0';
    t->peeled[0] = '\0';
    t->loose = loose;
    l->n++;
    return 0;
}

/* The refs/tags/ lines of packed-refs.  *peeled_trait says git promises a
 * "^" line after every annotated tag (so no line means lightweight). */
static int tags_packed(const char *common, tag_list *l, int *peeled_trait)
{
    char path[PATH_MAX];
    *peeled_trait = 0;
    if (join(path, sizeof path, common, "packed-refs"))
        return 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    int rc = 0, last_was_tag = 0;
    while (rc == 0 && (n = getline(&line, &lcap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (line[0] == '#') {
            /* "# pack-refs with: peeled fully-peeled sorted " */
            if (!strncmp(line, "# pack-refs with:", 17))
                *peeled_trait = strstr(line, " peeled") || strstr(line, " fully-peeled");
            continue;
        }
        if (line[0] == '^') {
            if (last_was_tag && n == 41 && is_hex40(line + 1))
                memcpy(l->v[l->n - 1].peeled, line + 1, 41);
            last_was_tag = 0;
            continue;
        }
        last_was_tag = 0;
        if (n > 51 && line[40] == ' ' && is_hex40(line) && !strncmp(line + 41, "refs/tags/", 10)) {
            size_t before = l->n;
            rc = tag_add(l, line + 51, line, 0);
            last_was_tag = l->n > before;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

/* Loose tag refs under dir (the path relative to refs/tags/ is prefix). */
static int tags_loose(const char *dir, const char *prefix, int depth, tag_list *l)
{
    if (depth > TAG_WALK_DEPTH)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        /* Ref names have no component starting with '.'; *.lock are writes
         * in progress. */
        if (e->d_name[0] == '.' || (len >= 5 && !strcmp(e->d_name + len - 5, ".lock")))
            continue;
        char path[PATH_MAX], name[GIT_TAG_MAX + 1], buf[SMALL_FILE];
        int np = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int nn = snprintf(name, sizeof name, "%s%s", prefix, e->d_name);
        if (np < 0 || (size_t)np >= sizeof path || nn < 0 || (size_t)nn >= sizeof name)
            continue;
        if (is_dir(path)) {
            char sub[GIT_TAG_MAX + 2];
            snprintf(sub, sizeof sub, "%s/", name);
            rc = tags_loose(path, sub, depth + 1, l);
        } else if (read_small(path, buf, sizeof buf) == 0 && strlen(buf) == 40 && is_hex40(buf)) {
            rc = tag_add(l, name, buf, 1); /* symbolic tags ("ref: ...") are skipped */
        }
    }
    closedir(d);
    return rc;
}

/* The first bytes of loose object sha, inflated, into out[0..cap), NUL
 * terminated (the header's NUL becomes a space).  Returns 0, EVD_ENOENT
 * when it is not a loose object, EVD_ECORRUPT or EVD_ENOMEM. */
static int object_head(const char *common, const char *sha, char *out, size_t cap)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/objects/%.2s/%s", common, sha, sha + 2);
    if (n < 0 || (size_t)n >= sizeof path)
        return EVD_ENOENT;
    FILE *f = fopen(path, "re");
    if (!f)
        return EVD_ENOENT;
    unsigned char in[4096];
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) {
        fclose(f);
        return EVD_ENOMEM;
    }
    z.next_out = (unsigned char *)out;
    z.avail_out = (uInt)(cap - 1);
    int rc = EVD_ECORRUPT, zr = Z_OK;
    size_t total = 0;
    while (z.avail_out > 0 && zr != Z_STREAM_END) {
        size_t got = fread(in, 1, sizeof in, f);
        total += got;
        if (got == 0 || total > OBJ_FILE_MAX)
            break;
        z.next_in = in;
        z.avail_in = (uInt)got;
        while (z.avail_in > 0 && z.avail_out > 0) {
            zr = inflate(&z, Z_SYNC_FLUSH);
            if (zr == Z_STREAM_END)
                break;
            if (zr != Z_OK)
                goto done;
        }
    }
    if (z.total_out > 0) {
        size_t len = z.total_out;
        out[len] = '\0';
        for (size_t i = 0; i < len; i++)
            if (out[i] == '\0') {
                out[i] = ' '; /* "tag 170\0object ..." */
                break;
            }
        rc = 0;
    }
done:
    inflateEnd(&z);
    fclose(f);
    return rc;
}

/* Follow sha through tag objects to what they finally name (into
 * target).  Returns 1 when sha was a tag object, 0 when it is something
 * else (a commit: a lightweight tag), or a negative code when the chain
 * cannot be followed (EVD_ENOENT: the object is packed). */
static int peel_loose(const char *common, const char *sha, char target[41])
{
    char cur[41], head[OBJ_HEAD_MAX];
    memcpy(cur, sha, 41);
    for (int depth = 0; depth <= TAG_DEPTH_MAX; depth++) {
        int rc = object_head(common, cur, head, sizeof head);
        if (rc)
            return rc;
        if (strncmp(head, "tag ", 4) != 0) {
            memcpy(target, cur, 41);
            return depth > 0;
        }
        const char *obj = strchr(head, ' ');
        obj = obj ? strchr(obj + 1, ' ') : NULL; /* after "tag <size> " */
        if (!obj || strncmp(obj + 1, "object ", 7) != 0 || strlen(obj + 8) < 40 ||
            !is_hex40(obj + 8))
            return EVD_ECORRUPT;
        memcpy(cur, obj + 8, 40);
        cur[40] = '\0';
    }
    return EVD_EINVAL; /* nested too deep */
}

static int by_name(const void *a, const void *b)
{
    const tag_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : y->loose - x->loose; /* loose first */
}

int git_head_tags(const char *path, char *commit, size_t cap, git_tag_cb cb, void *ctx, char *err,
                  size_t errcap)
{
    char gitdir[PATH_MAX], common[PATH_MAX], head[41], dir[PATH_MAX];
    if (err && errcap)
        err[0] = '\0';
    if (!path || !*path || !cb || (commit && cap < 41)) {
        errf(err, errcap, "git_head_tags: bad arguments");
        return EVD_EINVAL;
    }
    int rc = open_head(path, gitdir, common, head, err, errcap);
    if (rc)
        return rc;
    if (commit)
        memcpy(commit, head, 41);

    tag_list l = {0};
    int peeled_trait;
    if ((rc = tags_packed(common, &l, &peeled_trait)) != 0)
        goto done;
    if (join(dir, sizeof dir, common, "refs/tags") == 0 && (rc = tags_loose(dir, "", 0, &l)) != 0)
        goto done;
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, by_name);

    for (size_t i = 0; i < l.n; i++) {
        tag_ref *t = &l.v[i];
        if (i > 0 && !strcmp(t->name, l.v[i - 1].name))
            continue; /* a packed ref shadowed by a loose one */
        /* A loose ref naming the same object as its packed twin (sorted
         * right after it) may use the twin's peeled line. */
        const tag_ref *twin = i + 1 < l.n ? &l.v[i + 1] : NULL;
        if (t->loose && twin && !strcmp(twin->name, t->name) && !strcmp(twin->sha, t->sha))
            memcpy(t->peeled, twin->peeled, 41);
        char target[41];
        int annotated;
        if (!strcmp(t->sha, head)) {
            annotated = 0;
        } else if (t->peeled[0]) {
            if (strcmp(t->peeled, head) != 0)
                continue;
            annotated = 1;
        } else if (!t->loose && peeled_trait) {
            continue; /* git says: not a tag object, so a lightweight tag elsewhere */
        } else {
            int pr = peel_loose(common, t->sha, target);
            if (pr <= 0 || strcmp(target, head) != 0)
                continue;
            annotated = 1;
        }
        cb(t->name, annotated, ctx);
    }
    rc = 0;
done:
    if (rc == EVD_ENOMEM)
        errf(err, errcap, "%s: out of memory reading tags", common);
    tag_list_free(&l);
    return rc;
}

/* Pre-release suffixes rank below their release: "v1.4.0-rc1" < "v1.4.0". */
static int tag_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la < lb && !strncmp(a, b, la) && b[la] == '-')
        return 1;
    if (lb < la && !strncmp(a, b, lb) && a[lb] == '-')
        return -1;
    return strverscmp(a, b);
}

typedef struct best_tag {
    char name[GIT_TAG_MAX];
    int annotated, found;
} best_tag;

static void keep_best(const char *name, int annotated, void *ctx)
{
    best_tag *b = ctx;
    if (b->found &&
        (annotated < b->annotated || (annotated == b->annotated && tag_cmp(name, b->name) <= 0)))
        return;
    snprintf(b->name, sizeof b->name, "%s", name);
    b->annotated = annotated;
    b->found = 1;
}

int git_head_tag(const char *path, char *tag, size_t tagcap, char *commit, size_t ccap, char *err,
                 size_t errcap)
{
    best_tag b = {.found = 0};
    if (!tag || tagcap == 0) {
        errf(err, errcap, "git_head_tag: bad arguments");
        return EVD_EINVAL;
    }
    tag[0] = '\0';
    int rc = git_head_tags(path, commit, ccap, keep_best, &b, err, errcap);
    if (rc)
        return rc;
    if (b.found) {
        if (strlen(b.name) >= tagcap) {
            errf(err, errcap, "tag %s is longer than %zu bytes", b.name, tagcap - 1);
            return EVD_EINVAL;
        }
        memcpy(tag, b.name, strlen(b.name) + 1);
    }
    return 0;
}

int git_head_label(const char *path, char *out, size_t cap, char *err, size_t errcap)
{
    char tag[GIT_TAG_MAX], commit[41];
    if (!out || cap == 0) {
        errf(err, errcap, "git_head_label: bad arguments");
        return EVD_EINVAL;
    }
    int rc = git_head_tag(path, tag, sizeof tag, commit, sizeof commit, err, errcap);
    if (rc)
        return rc;
    int n = tag[0] ? snprintf(out, cap, "%s \xc2\xb7 %.7s", tag, commit)
                   : snprintf(out, cap, "%.7s", commit);
    if (n < 0 || (size_t)n >= cap) {
        errf(err, errcap, "the version label needs %d bytes, not %zu", n + 1, cap);
        out[0] = '\0';
        return EVD_EINVAL;
    }
    return 0;
}

int git_resolve_label(const struct evd_config *cfg, char *out, size_t cap, char *err, size_t errcap)
{
    char local[512];
    if (err && errcap)
        err[0] = '\0';
    if (!out || cap == 0) {
        errf(err, errcap, "git_resolve_label: bad arguments");
        return EVD_EINVAL;
    }
    if (cfg && config_is_set(cfg, "GIT")) {
        const char *git = config_str(cfg, "GIT");
        int rc = git_head_label(git, out, cap, local, sizeof local);
        if (rc)
            errf(err, errcap, "GIT=%s: %s", git, local);
        return rc;
    }
    /* The same order as git_resolve_version, so that label and version
     * always describe the same thing. */
    int explicit_version = cfg && config_is_set(cfg, "APP_VERSION");
    if (!explicit_version && git_head_label(".", out, cap, local, sizeof local) == 0)
        return 0;
    const char *v = cfg ? config_str(cfg, "APP_VERSION") : NULL;
    if (!v)
        v = "1.0";
    if (strlen(v) >= cap) {
        errf(err, errcap, "APP_VERSION is longer than %zu bytes", cap - 1);
        return EVD_EINVAL;
    }
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

int git_resolve_version(const struct evd_config *cfg, char *out, size_t cap, char *err,
                        size_t errcap)
{
    char local[512];
    if (err && errcap)
        err[0] = '\0';
    if (!out || cap == 0) {
        errf(err, errcap, "git_resolve_version: bad arguments");
        return EVD_EINVAL;
    }
    if (cfg && config_is_set(cfg, "GIT")) {
        const char *git = config_str(cfg, "GIT");
        int rc = git_head_commit(git, out, cap, local, sizeof local);
        const char *where = config_origin(cfg, "GIT");
        if (rc)
            errf(err, errcap, "%s%sGIT=%s does not resolve: %s", where ? where : "",
                 where ? ": " : "", git, local);
        return rc;
    }
    /* An explicit APP_VERSION beats a guess from the working directory. */
    int explicit_version = cfg && config_is_set(cfg, "APP_VERSION");
    if (!explicit_version && cap >= 41 && git_head_commit(".", out, cap, local, sizeof local) == 0)
        return 0;
    const char *v = cfg ? config_str(cfg, "APP_VERSION") : NULL;
    if (!v)
        v = "1.0";
    if (strlen(v) >= cap) {
        errf(err, errcap, "APP_VERSION is longer than %zu bytes", cap - 1);
        return EVD_EINVAL;
    }
    memcpy(out, v, strlen(v) + 1);
    return 0;
}
