/* test_git_version.c — every repository shape, built with real git in a
 * temporary folder, and compared with `git rev-parse HEAD`; the tags at
 * HEAD (loose, packed, annotated, after gc, in worktrees) and the label. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "evodash.h"
#include "core/config.h"
#include "core/git_version.h"

static char g_tmp[64];

/* Run a shell command in folder dir (relative to g_tmp); fail the test if
 * it fails. */
static void sh(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sh(const char *dir, const char *fmt, ...)
{
    char cmd[2048], body[1500];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s/%s' && { %s ; } >/dev/null 2>&1", g_tmp, dir, body);
    int rc = system(cmd);
    if (rc != 0)
        print_error("command failed (%d): %s\n", rc, cmd);
    assert_int_equal(rc, 0);
}

/* `git rev-parse REV` in dir. */
static void rev_parse(const char *dir, const char *rev, char out[41])
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "git -C '%s/%s' rev-parse '%s'", g_tmp, dir, rev);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[128] = "";
    assert_non_null(fgets(line, sizeof line, p));
    assert_int_equal(pclose(p), 0);
    line[strcspn(line, "\n")] = '\0';
    assert_int_equal(strlen(line), 40);
    memcpy(out, line, 41);
}

static void path_of(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/%s", g_tmp, rel);
}

/* HEAD as git_head_commit sees it from rel; must succeed. */
static void head_of(const char *rel, char out[41])
{
    char p[PATH_MAX], err[512];
    path_of(p, sizeof p, rel);
    int rc = git_head_commit(p, out, 41, err, sizeof err);
    if (rc)
        print_error("%s: rc %d: %s\n", p, rc, err);
    assert_int_equal(rc, 0);
}

static void write_file(const char *rel, const char *text)
{
    char p[PATH_MAX];
    path_of(p, sizeof p, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* A repository "repo" with two commits on main. */
static void make_repo(void)
{
    sh("", "mkdir repo && cd repo && git -c init.defaultBranch=main init -q . && "
           "echo a > a && git add a && git commit -q -m one && "
           "echo b > a && git commit -q -am two");
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_tmp, sizeof g_tmp, "/tmp/evd_test_git_XXXXXX");
    if (!mkdtemp(g_tmp))
        return -1;
    /* Keep the user's and the system's git config out of the way. */
    setenv("HOME", g_tmp, 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
    setenv("GIT_AUTHOR_NAME", "Test", 1);
    setenv("GIT_AUTHOR_EMAIL", "test@example.invalid", 1);
    setenv("GIT_COMMITTER_NAME", "Test", 1);
    setenv("GIT_COMMITTER_EMAIL", "test@example.invalid", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_loose_ref(void **state)
{
    (void)state;
    char want[41], got[41];
    make_repo();
    rev_parse("repo", "HEAD", want);
    head_of("repo", got);
    assert_string_equal(got, want);
    head_of("repo/.git", got); /* the .git folder given directly */
    assert_string_equal(got, want);
    head_of("repo/.git/", got);
    assert_string_equal(got, want);
}

static void test_packed_refs(void **state)
{
    (void)state;
    char want[41], got[41], p[PATH_MAX];
    make_repo();
    /* An annotated tag gives packed-refs a peeled "^" line. */
    sh("repo", "git tag -a -m v1 v1 && git pack-refs --all");
    path_of(p, sizeof p, "repo/.git/refs/heads/main");
    assert_int_not_equal(access(p, F_OK), 0); /* only in packed-refs now */
    rev_parse("repo", "HEAD", want);
    head_of("repo", got);
    assert_string_equal(got, want);

    /* A new commit writes a loose ref; it wins over the stale packed one. */
    sh("repo", "echo c > a && git commit -q -am three");
    assert_int_equal(access(p, F_OK), 0);
    char now[41];
    rev_parse("repo", "HEAD", now);
    assert_string_not_equal(now, want);
    head_of("repo", got);
    assert_string_equal(got, now);

    /* A branch that exists only in packed-refs, with others around it. */
    sh("repo", "git branch side HEAD~1 && git branch zz && git pack-refs --all && "
               "git checkout -q side");
    rev_parse("repo", "HEAD", want);
    head_of("repo", got);
    assert_string_equal(got, want);
}

static void test_detached(void **state)
{
    (void)state;
    char want[41], got[41], tip[41];
    make_repo();
    sh("repo", "git checkout -q --detach HEAD~1");
    rev_parse("repo", "HEAD", want);
    rev_parse("repo", "main", tip);
    assert_string_not_equal(want, tip);
    head_of("repo", got);
    assert_string_equal(got, want);
}

static void test_worktree(void **state)
{
    (void)state;
    char want[41], got[41], mainc[41];
    make_repo();
    sh("repo", "git worktree add -q -b feature ../wt HEAD~1");
    sh("wt", "echo w > w && git add w && git commit -q -m wt");
    rev_parse("wt", "HEAD", want);
    rev_parse("repo", "HEAD", mainc);
    assert_string_not_equal(want, mainc);
    head_of("wt", got); /* wt/.git is a "gitdir:" file with an absolute path */
    assert_string_equal(got, want);
    head_of("wt/.git", got);
    assert_string_equal(got, want);
    head_of("repo", got);
    assert_string_equal(got, mainc);

    /* A relative gitdir path is relative to the .git file's folder. */
    write_file("wt/.git", "gitdir: ../repo/.git/worktrees/wt\n");
    head_of("wt", got);
    assert_string_equal(got, want);

    /* The worktree's branch only in the common packed-refs. */
    sh("repo", "git pack-refs --all");
    head_of("wt", got);
    assert_string_equal(got, want);

    /* Detached in the worktree: its own HEAD, not the main one. */
    sh("wt", "git checkout -q --detach HEAD~1");
    rev_parse("wt", "HEAD", want);
    head_of("wt", got);
    assert_string_equal(got, want);
}

static void test_symbolic_chain(void **state)
{
    (void)state;
    char want[41], got[41];
    make_repo();
    sh("repo", "git symbolic-ref refs/heads/alias refs/heads/main && "
               "git symbolic-ref HEAD refs/heads/alias");
    rev_parse("repo", "HEAD", want);
    head_of("repo", got);
    assert_string_equal(got, want);

    /* A loop of symbolic refs ends with an error, not a hang. */
    write_file("repo/.git/refs/heads/main", "ref: refs/heads/alias\n");
    char p[PATH_MAX], err[512];
    path_of(p, sizeof p, "repo");
    assert_int_equal(git_head_commit(p, got, sizeof got, err, sizeof err), EVD_EINVAL);
    assert_non_null(strstr(err, "too deep"));
}

static void expect_error(const char *rel, int want_rc, const char *want_msg)
{
    char p[PATH_MAX], err[512], out[41];
    path_of(p, sizeof p, rel);
    int rc = git_head_commit(p, out, sizeof out, err, sizeof err);
    if (rc != want_rc || !strstr(err, want_msg))
        print_error("%s: rc %d (want %d), err '%s' (want '%s')\n", p, rc, want_rc, err, want_msg);
    assert_int_equal(rc, want_rc);
    assert_non_null(strstr(err, want_msg));
}

static void test_errors(void **state)
{
    (void)state;
    char p[PATH_MAX], err[512], out[41];

    /* No commits yet: HEAD names a branch that does not exist. */
    sh("", "mkdir empty && cd empty && git -c init.defaultBranch=main init -q .");
    expect_error("empty", EVD_ENOENT, "HEAD points to refs/heads/main, which does not exist");

    /* Not a repository at all. */
    sh("", "mkdir plain");
    expect_error("plain", EVD_ENOENT, "not a git repository");
    expect_error("missing", EVD_ENOENT, "No such file or directory");

    /* A .git file that points nowhere. */
    sh("", "mkdir dangling");
    write_file("dangling/.git", "gitdir: /nonexistent/evodash/.git/worktrees/x\n");
    expect_error("dangling", EVD_ENOENT,
                 ".git points to /nonexistent/evodash/.git/worktrees/x, which is not a git "
                 "folder");
    write_file("dangling/.git", "gitdir: ../nowhere\n");
    expect_error("dangling", EVD_ENOENT, "which is not a git folder");
    write_file("dangling/.git", "this is not a gitdir file\n");
    expect_error("dangling", EVD_EINVAL, "expected \"gitdir: <path>\"");
    write_file("dangling/.git", "");
    expect_error("dangling", EVD_EINVAL, "expected \"gitdir: <path>\"");

    /* Malformed HEAD and refs. */
    make_repo();
    write_file("repo/.git/HEAD", "garbage\n");
    expect_error("repo", EVD_EINVAL, "expected \"ref: refs/...\" or a 40-hex commit id");
    write_file("repo/.git/HEAD", "0123456789abcdef0123456789abcdef0123456Z\n");
    expect_error("repo", EVD_EINVAL, "40-hex");
    write_file("repo/.git/HEAD", "ref: refs/../../../etc/passwd\n");
    expect_error("repo", EVD_EINVAL, "bad ref name");
    write_file("repo/.git/HEAD", "ref: refs/heads/main\n");
    write_file("repo/.git/refs/heads/main", "not-a-commit\n");
    expect_error("repo", EVD_EINVAL, "expected a 40-hex commit id");
    write_file("repo/.git/HEAD", "ref: refs/heads/gone\n");
    expect_error("repo", EVD_ENOENT, "HEAD points to refs/heads/gone, which does not exist");

    /* Bad arguments. */
    path_of(p, sizeof p, "repo");
    assert_int_equal(git_head_commit(p, out, 40, err, sizeof err), EVD_EINVAL);
    assert_int_equal(git_head_commit(NULL, out, sizeof out, err, sizeof err), EVD_EINVAL);
    assert_int_equal(git_head_commit("", out, sizeof out, NULL, 0), EVD_EINVAL);
}

static void test_resolve_version(void **state)
{
    (void)state;
    char cwd[PATH_MAX], out[128], err[512], want[41], p[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    make_repo();
    sh("", "mkdir elsewhere");
    rev_parse("repo", "HEAD", want);

    evd_config *cfg = evd_config_new();
    assert_non_null(cfg);

    /* No GIT, not in a repository: APP_VERSION, else "1.0". */
    path_of(p, sizeof p, "elsewhere");
    assert_int_equal(chdir(p), 0);
    assert_int_equal(git_resolve_version(cfg, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "1.0");
    assert_int_equal(git_resolve_version(NULL, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "1.0");
    assert_int_equal(evd_config_set(cfg, "APP_VERSION", "2.3"), 0);
    assert_int_equal(git_resolve_version(cfg, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "2.3");
    assert_int_equal(git_resolve_version(cfg, out, 3, err, sizeof err), EVD_EINVAL);

    /* In a repository: an explicit APP_VERSION still wins ... */
    path_of(p, sizeof p, "repo");
    assert_int_equal(chdir(p), 0);
    assert_int_equal(git_resolve_version(cfg, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "2.3");
    /* ... and without it, the repository's HEAD. */
    assert_int_equal(evd_config_set(cfg, "APP_VERSION", NULL), 0);
    assert_int_equal(git_resolve_version(cfg, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, want);
    assert_int_equal(git_resolve_version(NULL, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, want);

    /* GIT set: that repository, wherever we are. */
    path_of(p, sizeof p, "elsewhere");
    assert_int_equal(chdir(p), 0);
    assert_int_equal(evd_config_set(cfg, "GIT", "../repo/.git/"), 0);
    assert_int_equal(git_resolve_version(cfg, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, want);

    /* GIT set but broken: an error, not a silent fallback. */
    assert_int_equal(evd_config_set(cfg, "GIT", "../nothing-here"), 0);
    int rc = git_resolve_version(cfg, out, sizeof out, err, sizeof err);
    assert_int_equal(rc, EVD_ENOENT);
    const char *want_err = "GIT=../nothing-here does not resolve: ";
    assert_int_equal(strncmp(err, want_err, strlen(want_err)), 0);

    assert_int_equal(chdir(cwd), 0);
    evd_config_free(cfg);
}

/* ---- tags ---------------------------------------------------------------------- */

typedef struct seen {
    char names[16][GIT_TAG_MAX];
    int annotated[16];
    int n;
} seen;

static void collect(const char *name, int annotated, void *ctx)
{
    seen *s = ctx;
    assert_true(s->n < 16);
    snprintf(s->names[s->n], GIT_TAG_MAX, "%s", name);
    s->annotated[s->n++] = annotated;
}

/* The tags at HEAD of rel, as "name:a name:l ..." (annotated / lightweight). */
static void tags_of(const char *rel, char *out, size_t cap)
{
    char p[PATH_MAX], err[512], commit[41], want[41];
    seen s = {.n = 0};
    path_of(p, sizeof p, rel);
    int rc = git_head_tags(p, commit, sizeof commit, collect, &s, err, sizeof err);
    if (rc)
        print_error("%s: rc %d: %s\n", p, rc, err);
    assert_int_equal(rc, 0);
    rev_parse(rel, "HEAD", want);
    assert_string_equal(commit, want);
    out[0] = '\0';
    for (int i = 0; i < s.n; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s:%c", i ? " " : "", s.names[i],
                 s.annotated[i] ? 'a' : 'l');
}

/* The label of rel must be "<tag> · <short>" (or the short hash alone). */
static void expect_label(const char *rel, const char *tag)
{
    char p[PATH_MAX], err[512], got[GIT_LABEL_MAX], want[GIT_LABEL_MAX], full[41];
    path_of(p, sizeof p, rel);
    rev_parse(rel, "HEAD", full);
    if (tag)
        snprintf(want, sizeof want, "%s \xc2\xb7 %.7s", tag, full);
    else
        snprintf(want, sizeof want, "%.7s", full);
    int rc = git_head_label(p, got, sizeof got, err, sizeof err);
    if (rc)
        print_error("%s: rc %d: %s\n", p, rc, err);
    assert_int_equal(rc, 0);
    assert_string_equal(got, want);
}

static void test_tags(void **state)
{
    (void)state;
    char got[1024];
    make_repo();
    expect_label("repo", NULL); /* no tag: the short hash */
    tags_of("repo", got, sizeof got);
    assert_string_equal(got, "");

    /* Tags elsewhere do not count. */
    sh("repo", "git tag old HEAD~1 && git tag -a -m o old-annotated HEAD~1");
    tags_of("repo", got, sizeof got);
    assert_string_equal(got, "");

    /* Lightweight, then annotated (a loose tag object, read with zlib). */
    sh("repo", "git tag v1");
    expect_label("repo", "v1");
    sh("repo", "git tag -a v2 -m x && test -f .git/objects/$(git rev-parse v2 | cut -c1-2)/"
               "$(git rev-parse v2 | cut -c3-)");
    tags_of("repo", got, sizeof got);
    assert_string_equal(got, "v1:l v2:a");
    expect_label("repo", "v2"); /* annotated beats lightweight */

    /* Version order, pre-releases below their release, names with a slash,
     * and a tag of a tag. */
    sh("repo", "git tag -a v1.9 -m a && git tag -a v1.10 -m b && git tag -a v1.10-rc1 -m c && "
               "git tag release/2024 && git tag -a outer -m o v2");
    tags_of("repo", got, sizeof got);
    assert_string_equal(got, "outer:a release/2024:l v1:l v1.10:a v1.10-rc1:a v1.9:a v2:a");
    expect_label("repo", "v2"); /* strverscmp: "v2" > "v1.10" */
    sh("repo", "git tag -d v2 outer");
    expect_label("repo", "v1.10");

    /* Everything packed: the peeled "^" lines carry the annotated ones. */
    sh("repo", "git pack-refs --all && test ! -e .git/refs/tags/v1.10 && grep -q '^\\^' "
               ".git/packed-refs");
    tags_of("repo", got, sizeof got);
    assert_string_equal(got, "release/2024:l v1:l v1.10:a v1.10-rc1:a v1.9:a");
    expect_label("repo", "v1.10");

    /* A loose ref shadows its packed twin: moved to another commit, it
     * drops out. */
    sh("repo", "git tag -f v1.10 HEAD~1 >/dev/null 2>&1 && test -e .git/refs/tags/v1.10");
    expect_label("repo", "v1.10-rc1");

    /* After gc the tag objects sit in a pack: packed-refs still peels them,
     * and a loose ref naming a packed tag object uses that line. */
    sh("repo", "git tag -d v1.10 && git gc -q && test ! -e .git/refs/tags/v1.9 && "
               "t=$(git rev-parse v1.9) && echo $t > .git/refs/tags/v1.9 && "
               "test ! -e .git/objects/$(echo $t | cut -c1-2)/$(echo $t | cut -c3-)");
    tags_of("repo", got, sizeof got);
    assert_string_equal(got, "release/2024:l v1:l v1.10-rc1:a v1.9:a");

    /* A new commit has no tag until it gets one. */
    sh("repo", "echo c > a && git commit -q -am three");
    expect_label("repo", NULL);
    sh("repo", "git tag -a v3.0.0 -m three");
    expect_label("repo", "v3.0.0");
}

static void test_tags_worktree_detached(void **state)
{
    (void)state;
    char got[1024];
    make_repo();
    sh("repo", "git tag -a v1.4.0 -m rel HEAD~1 && git tag v2-light");
    sh("repo", "git worktree add -q ../wt v1.4.0"); /* a detached worktree at the tag */
    expect_label("wt", "v1.4.0");
    tags_of("wt", got, sizeof got);
    assert_string_equal(got, "v1.4.0:a");
    expect_label("repo", "v2-light");

    /* Tags are shared: one made in the worktree shows in the main one. */
    sh("wt", "git tag -a wt-tag -m w main");
    expect_label("repo", "wt-tag");
    sh("repo", "git pack-refs --all");
    expect_label("wt", "v1.4.0");
    expect_label("repo", "wt-tag");

    /* Detached in the main work tree, at the tagged commit. */
    sh("repo", "git checkout -q --detach v1.4.0");
    expect_label("repo", "v1.4.0");

    /* A corrupt tag object is left out, and does not hide the commit. */
    sh("repo",
       "git checkout -q main && git tag -a broken -m b && "
       "f=.git/objects/$(git rev-parse broken | cut -c1-2)/$(git rev-parse broken | cut -c3-) "
       "&& chmod u+w $f && printf 'garbage' > $f");
    tags_of("repo", got, sizeof got);
    assert_string_equal(got, "v2-light:l wt-tag:a");
}

static void test_label_errors_and_resolve(void **state)
{
    (void)state;
    char p[PATH_MAX], err[512], out[GIT_LABEL_MAX], cwd[PATH_MAX], full[41];
    assert_non_null(getcwd(cwd, sizeof cwd));
    make_repo();
    sh("repo", "git tag -a v1.4.0 -m rel");
    rev_parse("repo", "HEAD", full);
    path_of(p, sizeof p, "repo");

    /* Too small a buffer is an error, not a truncated label. */
    assert_int_equal(git_head_label(p, out, 10, err, sizeof err), EVD_EINVAL);
    assert_string_equal(out, "");
    char tag[4];
    assert_int_equal(git_head_tag(p, tag, sizeof tag, NULL, 0, err, sizeof err), EVD_EINVAL);
    assert_int_equal(git_head_tags(p, NULL, 0, NULL, NULL, err, sizeof err), EVD_EINVAL);
    path_of(p, sizeof p, "nothing");
    assert_int_equal(git_head_label(p, out, sizeof out, err, sizeof err), EVD_ENOENT);

    /* git_resolve_label follows git_resolve_version's order. */
    sh("", "mkdir elsewhere");
    evd_config *cfg = evd_config_new();
    assert_non_null(cfg);
    path_of(p, sizeof p, "elsewhere");
    assert_int_equal(chdir(p), 0);
    assert_int_equal(git_resolve_label(cfg, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "1.0");
    assert_int_equal(evd_config_set(cfg, "APP_VERSION", "2.3"), 0);
    assert_int_equal(git_resolve_label(cfg, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "2.3");
    assert_int_equal(evd_config_set(cfg, "GIT", "../repo"), 0);
    char want[GIT_LABEL_MAX];
    snprintf(want, sizeof want, "v1.4.0 \xc2\xb7 %.7s", full);
    assert_int_equal(git_resolve_label(cfg, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, want);
    assert_int_equal(evd_config_set(cfg, "GIT", NULL), 0);
    assert_int_equal(evd_config_set(cfg, "APP_VERSION", NULL), 0);
    path_of(p, sizeof p, "repo");
    assert_int_equal(chdir(p), 0);
    assert_int_equal(git_resolve_label(cfg, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, want);
    assert_int_equal(evd_config_set(cfg, "GIT", "../nothing-here"), 0);
    assert_int_equal(git_resolve_label(cfg, out, sizeof out, err, sizeof err), EVD_ENOENT);
    assert_int_equal(strncmp(err, "GIT=../nothing-here: ", 21), 0);
    assert_int_equal(chdir(cwd), 0);
    evd_config_free(cfg);
}

/* Each test gets a fresh temporary folder. */
static int fresh(void **state)
{
    return teardown(state) || setup(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loose_ref, fresh, NULL),
        cmocka_unit_test_setup_teardown(test_packed_refs, fresh, NULL),
        cmocka_unit_test_setup_teardown(test_detached, fresh, NULL),
        cmocka_unit_test_setup_teardown(test_worktree, fresh, NULL),
        cmocka_unit_test_setup_teardown(test_symbolic_chain, fresh, NULL),
        cmocka_unit_test_setup_teardown(test_errors, fresh, NULL),
        cmocka_unit_test_setup_teardown(test_resolve_version, fresh, NULL),
        cmocka_unit_test_setup_teardown(test_tags, fresh, NULL),
        cmocka_unit_test_setup_teardown(test_tags_worktree_detached, fresh, NULL),
        cmocka_unit_test_setup_teardown(test_label_errors_and_resolve, fresh, NULL),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
