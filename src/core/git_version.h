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

struct evd_config;

/* ---- tags and labels ----------------------------------------------------------- */

#define GIT_TAG_MAX   256                /* longest tag name reported, with its NUL */
#define GIT_LABEL_MAX (GIT_TAG_MAX + 16) /* "<tag> · <7 hex>" */

/* Called once per tag pointing at HEAD: name without "refs/tags/"
 * (borrowed for the call), annotated 1 for a tag object, 0 for a
 * lightweight tag. */
typedef void (*git_tag_cb)(const char *name, int annotated, void *ctx);

/* Every tag that points at HEAD of the repository at path (any form that
 * git_head_commit takes), loose or packed, lightweight or annotated (tag
 * objects are followed, also tags of tags); in name order.  Writes HEAD's
 * commit into commit[0..cap) unless commit is NULL (cap >= 41).  Tags that
 * cannot be followed (a tag object only in a pack file and not peeled in
 * packed-refs) are left out.  Returns 0 or git_head_commit's errors. */
int git_head_tags(const char *path, char *commit, size_t cap, git_tag_cb cb, void *ctx, char *err,
                  size_t errcap);

/* The one tag to show for HEAD: annotated tags (releases) before
 * lightweight ones, then the greatest in version order (strverscmp:
 * v1.10 > v1.9), a pre-release suffix below its release (v1.4.0-rc1 <
 * v1.4.0).  tag[0] = '\0' when HEAD has no tag; the commit as for
 * git_head_tags.  Returns 0, EVD_EINVAL (tagcap too small) or
 * git_head_commit's errors. */
int git_head_tag(const char *path, char *tag, size_t tagcap, char *commit, size_t ccap, char *err,
                 size_t errcap);

/* The label people read: "v1.4.0 · 3f2a9c1" (tag, U+00B7, 7-hex short
 * hash) or "3f2a9c1" without a tag.  cap >= GIT_LABEL_MAX always suffices.
 * Returns 0, EVD_EINVAL (cap too small) or git_head_commit's errors. */
int git_head_label(const char *path, char *out, size_t cap, char *err, size_t errcap);

/* The label of the version git_resolve_version() picks, in its order: GIT's
 * label (an error if it does not resolve), else APP_VERSION if set, else
 * the current directory's label if it is a repository, else "1.0". */
int git_resolve_label(const struct evd_config *cfg, char *out, size_t cap, char *err,
                      size_t errcap);

/* The version a process records under: HEAD of GIT if the key is set (an
 * error if it does not resolve), else APP_VERSION if set, else HEAD of the
 * current directory's repository if there is one, else "1.0".  Writes into out. Returns 0,
 * or a negative code with a message in err when GIT is set but broken. */
struct evd_config;
int git_resolve_version(const struct evd_config *cfg, char *out, size_t cap, char *err,
                        size_t errcap);

#endif
