/* git_version.h — the commit a checkout is at, read from the files under
 * .git without running git. */
#ifndef EVD_GIT_VERSION_H
#define EVD_GIT_VERSION_H

#include <stddef.h>

/* Resolve HEAD of the repository at path, which may be the work tree (a
 * folder holding .git), the .git folder itself, or a worktree's ".git" file
 * ("gitdir: ..." — linked worktrees resolve refs through "commondir").
 * Handles symbolic HEAD ("ref: refs/heads/x"), loose refs, packed-refs
 * (including peeled "^" lines) and detached HEAD.  Writes the 40-hex commit
 * into out (cap >= 41).  Returns 0, EVD_ENOENT when there is no repository
 * or the ref does not resolve, or EVD_EINVAL for malformed files; a message
 * goes into err[0..errcap) on failure. */
int git_head_commit(const char *path, char *out, size_t cap, char *err, size_t errcap);

/* The version a process records under: HEAD of GIT if the key is set (an
 * error if it does not resolve), else APP_VERSION if set, else HEAD of the
 * current directory's repository if there is one, else "1.0".  Writes into out. Returns 0,
 * or a negative code with a message in err when GIT is set but broken. */
struct evd_config;
int git_resolve_version(const struct evd_config *cfg, char *out, size_t cap, char *err,
                        size_t errcap);

#endif
