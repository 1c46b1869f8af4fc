/* The token hash of the scoring path's clue table, shared by _bodyscan.c and
 * _speedups.c (the reference: spamscore._native.token_hash, in Python).
 *
 * SipHash-1-3 (Aumasson and Bernstein; the variant CPython's own str hash
 * uses) of the token's UTF-8 bytes (lone surrogates as "surrogatepass"
 * encodes them) under a fixed key, as a signed int64, -1 made -2 (the
 * tables mark a free slot with -1).  Why not hash() of the str: reproducing
 * it without the str needed CPython's private _Py_HashBytes, which 3.13
 * moved to an internal header, and it ties the table to one interpreter's
 * string layout.  Why a keyed function and not FNV: the clue table holds
 * only hashes, so a body word whose hash equals a strong ham clue's would
 * count as that clue; with FNV-1a such a word can be computed (the function
 * is invertible a byte at a time), with SipHash it needs about 2^64 trials
 * even with the key known.  Two tokens of one message that collide only
 * count once, which an attacker gains nothing from.  The key is fixed so
 * that the hashes are the same in every process (tests, reproducible runs).
 * Cost: ~15 ns for a 10-byte token, as CPython's hash() of a new str.
 */
#ifndef SPAMSCORE_TOKENHASH_H
#define SPAMSCORE_TOKENHASH_H

#include <stddef.h>
#include <stdint.h>

#define SS_K0 0x726f63736d617073ULL  /* "spamscor", little-endian */
#define SS_K1 0x316e656b6f742d65ULL  /* "e-token1" */

#define SS_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SS_ROUND(v0, v1, v2, v3)                          \
    do {                                                  \
        v0 += v1; v1 = SS_ROTL(v1, 13); v1 ^= v0; v0 = SS_ROTL(v0, 32); \
        v2 += v3; v3 = SS_ROTL(v3, 16); v3 ^= v2;         \
        v0 += v3; v3 = SS_ROTL(v3, 21); v3 ^= v0;         \
        v2 += v1; v1 = SS_ROTL(v1, 17); v1 ^= v2; v2 = SS_ROTL(v2, 32); \
    } while (0)

static inline uint64_t ss_load_le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24
           | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* the token hash of n bytes (see above) */
static inline int64_t ss_token_hash(const unsigned char *p, size_t n)
{
    uint64_t v0 = SS_K0 ^ 0x736f6d6570736575ULL, v1 = SS_K1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = SS_K0 ^ 0x6c7967656e657261ULL, v3 = SS_K1 ^ 0x7465646279746573ULL;
    const unsigned char *end = p + (n & ~(size_t)7);
    for (; p < end; p += 8) {
        uint64_t m = ss_load_le64(p);
        v3 ^= m;
        SS_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint64_t b = (uint64_t)n << 56;
    switch (n & 7) {
    case 7: b |= (uint64_t)p[6] << 48; /* fall through */
    case 6: b |= (uint64_t)p[5] << 40; /* fall through */
    case 5: b |= (uint64_t)p[4] << 32; /* fall through */
    case 4: b |= (uint64_t)p[3] << 24; /* fall through */
    case 3: b |= (uint64_t)p[2] << 16; /* fall through */
    case 2: b |= (uint64_t)p[1] << 8;  /* fall through */
    case 1: b |= (uint64_t)p[0]; break;
    default: break;
    }
    v3 ^= b;
    SS_ROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    SS_ROUND(v0, v1, v2, v3);
    SS_ROUND(v0, v1, v2, v3);
    SS_ROUND(v0, v1, v2, v3);
    int64_t h = (int64_t)(v0 ^ v1 ^ v2 ^ v3);
    return h == -1 ? -2 : h;
}

#endif
