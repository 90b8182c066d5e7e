/* hash.h — FNV-1a, the string hash of every hand-rolled table in the code
 * base (interned names, caches, colours).
 *
 * Header-only, so that the tracer runtime (libevodash-trace.so, which links
 * nothing of libevodash) can use it too; no_instrument_function keeps it out
 * of the trace when a caller is built with -finstrument-functions.  The
 * constants are those of the FNV reference: 64-bit offset basis
 * 14695981039346656037, prime 1099511628211; 32-bit offset basis
 * 2166136261, prime 16777619. */
#ifndef EVD_HASH_H
#define EVD_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_OFFSET 14695981039346656037ull
#define FNV1A64_PRIME  1099511628211ull
#define FNV1A32_OFFSET 2166136261u
#define FNV1A32_PRIME  16777619u

#define HASH_API static inline __attribute__((no_instrument_function, unused))

/* 64-bit FNV-1a of the n bytes at p. */
HASH_API uint64_t fnv1a64_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = FNV1A64_OFFSET;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * FNV1A64_PRIME;
    return h;
}

/* 64-bit FNV-1a of the NUL-terminated string s. */
HASH_API uint64_t fnv1a64(const char *s)
{
    uint64_t h = FNV1A64_OFFSET;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * FNV1A64_PRIME;
    return h;
}

/* 32-bit FNV-1a of the n bytes at p. */
HASH_API uint32_t fnv1a32_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint32_t h = FNV1A32_OFFSET;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * FNV1A32_PRIME;
    return h;
}

/* 32-bit FNV-1a of the NUL-terminated string s. */
HASH_API uint32_t fnv1a32(const char *s)
{
    uint32_t h = FNV1A32_OFFSET;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * FNV1A32_PRIME;
    return h;
}

#undef HASH_API

#endif
