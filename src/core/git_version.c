/* git_version.c — the commit HEAD is at, read from .git's files.
 *
 * Running git would fork inside the host service and need git installed,
 * so we read the few files that matter: .git (a folder, or a "gitdir:"
 * file in linked worktrees and submodules), HEAD, commondir, loose refs and
 * packed-refs.  Per-worktree refs (HEAD, refs/worktree/, refs/bisect/,
 * refs/rewritten/) live in the worktree's own git folder; all other refs in
 * the common one.  A loose ref wins over packed-refs, as in git. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

int git_head_commit(const char *path, char *out, size_t cap, char *err, size_t errcap)
{
    char gitdir[PATH_MAX], common[PATH_MAX], p[PATH_MAX], buf[SMALL_FILE], commit[41];
    int rc;

    if (err && errcap)
        err[0] = '\0';
    if (!path || !*path || !out || cap < 41) {
        errf(err, errcap, "git_head_commit: bad arguments");
        return EVD_EINVAL;
    }
    rc = find_gitdir(path, gitdir, sizeof gitdir, err, errcap);
    if (rc)
        return rc;

    /* Linked worktrees keep shared refs in the folder commondir names. */
    if (join(p, sizeof p, gitdir, "commondir")) {
        errf(err, errcap, "%s: path too long", gitdir);
        return EVD_EINVAL;
    }
    rc = read_small(p, buf, sizeof buf);
    if (rc == 0) {
        if (!buf[0] || join(common, sizeof common, gitdir, buf) || !is_dir(common)) {
            errf(err, errcap, "%s: names %s, which is not a folder", p, buf);
            return EVD_ENOENT;
        }
    } else if (rc == EVD_ENOENT) {
        snprintf(common, sizeof common, "%s", gitdir);
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
    memcpy(out, commit, 41);
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
