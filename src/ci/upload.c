/* upload.c — POST a CI build to a dashboard (see upload.h). */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "evodash.h"
#include "ci/upload.h"

typedef struct sink {
    char *buf;
    size_t cap, n;
} sink;

static size_t on_data(char *p, size_t size, size_t nmemb, void *u)
{
    sink *s = u;
    size_t len = size * nmemb, room = s->cap - 1 - s->n;
    memcpy(s->buf + s->n, p, len < room ? len : room);
    s->n += len < room ? len : room;
    s->buf[s->n] = 0;
    return len; /* the rest is dropped, not an error */
}

int ci_upload(const char *dashboard_url, const char *token, const char *json, long *status,
              char *reply, size_t cap, char *err, size_t errcap)
{
    char url[2048], auth[1024], cerr[CURL_ERROR_SIZE] = "";
    size_t ul = strlen(dashboard_url);
    while (ul && dashboard_url[ul - 1] == '/')
        ul--;
    snprintf(url, sizeof url, "%.*s/api/ci/builds", (int)ul, dashboard_url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token ? token : "");
    sink s = {reply, cap, 0};
    reply[0] = 0;
    *status = 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        snprintf(err, errcap, "libcurl failed to initialise");
        return EVD_EIO;
    }
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *hdr2 = hdr ? curl_slist_append(hdr, auth) : NULL;
    int rc = 0;
    if (!h || !hdr2) {
        snprintf(err, errcap, "out of memory");
        rc = EVD_ENOMEM;
        goto done;
    }
    hdr = hdr2;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    /* the token must not follow a redirect to another host */
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        snprintf(err, errcap, "%s: %s", url, cerr[0] ? cerr : curl_easy_strerror(cc));
        rc = EVD_EIO;
        goto done;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
done:
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    return rc;
}
