/* secret.h — is a header, form field or environment name a secret? */
#ifndef EVD_SECRET_H
#define EVD_SECRET_H

/* Nonzero if name (any case) looks like it carries a credential: auth,
 * cookie, password, token, session, CSRF, API key, signature...  Values of
 * such names are masked in outliers and imports. */
int secret_name(const char *name);

#endif
