/* What the files of the concern spamscore._core.bodyscan, and the entry
 * speedups.word_tokens (wordtokens.c), share (see bodyscan.c): the sets of
 * distinct spans (bodyspans.c, and the per-width half in bodystage.h), where
 * the tokens go (bodysink.c, and bodystage.h) and the per-word stage
 * (bodystage.h, compiled by bodystage.c once per character width); the
 * character tables are in bodychars.h.
 *
 * Tables: open addressing with linear probing, at most half full (doubled
 * as they fill), so every probe sequence reaches a free slot; a probe longer
 * than MAX_PROBE slots gives up (-2: the entry returns None and the Python
 * code does the work), which keeps the work linear in the words whatever
 * they are.
 */
#ifndef SPAMSCORE_BODYSCAN_H
#define SPAMSCORE_BODYSCAN_H

#include "core.h"

#define MAX_PROBE 96

/* texts (and, for word_tokens, all the characters it copies) longer than
 * this go to the Python code: ids and offsets fit int32 */
#define MAX_TEXT ((Py_ssize_t)1 << 30)

/* the characters of the text pass (bodywords.c): UCS-2 (what words() takes is at most that) */
typedef Py_UCS2 ch_t;

/* a distinct span of the words' characters */
typedef struct {
    int32_t off, len;
} span_t;

typedef struct {
    uint32_t hash;
    int32_t id;  /* -1: free */
} slot_t;

/* a set of distinct spans: spans[id] with a hash table over them; ``text``
 * is an array of Py_UCS2 or of Py_UCS4 (the _u2 or _u4 functions read it) */
typedef struct {
    const void *text;
    slot_t *slots;
    span_t *spans;
    uint32_t *hashes;
    Py_ssize_t cap;     /* slots: a power of two */
    Py_ssize_t count;   /* spans in use */
    Py_ssize_t room;    /* spans allocated */
} spanset_t;

/* bodyspans.c: the functions of the same names without "ss_" (any width) */
int ss_spanset_init(spanset_t *s, const void *text, Py_ssize_t cap);
void ss_spanset_free(spanset_t *s);
int ss_spanset_grow(spanset_t *s);
Py_ssize_t ss_pow2_at_least(Py_ssize_t n);

/* Where the stage puts its tokens: a set of str (``set``), or, for
 * word_hashes(), the token hash each str would have (ss_token_hash of its
 * UTF-8 bytes, spamscore/native/core.h; the reference is
 * spamscore._native.token_hash), appended to ``h`` (the str itself never
 * made).  Only the text pass gives hashes, and its characters are never
 * surrogates (map_wide bails on them), so their UTF-8 is the plain one. */
typedef struct {
    PyObject *set;
    int64_t *h;
    Py_ssize_t n, cap;
    unsigned char *scratch;
    Py_ssize_t scratch_cap;
} sink_t;

/* bodysink.c: the width-free half of the sink (and its two inline helpers below) */
int ss_sink_scratch_grow(sink_t *k, Py_ssize_t bytes);
void ss_sink_free(sink_t *k);

/* room for ``bytes`` bytes of UTF-8 in k->scratch: 0, or -1 with MemoryError */
static inline int ss_sink_scratch(sink_t *k, Py_ssize_t bytes)
{
    return bytes <= k->scratch_cap ? 0 : ss_sink_scratch_grow(k, bytes);
}

/* the token hash of the first ``bytes`` bytes of k->scratch (a token's
 * UTF-8), appended to k->h: 0, or -1 with MemoryError */
static inline int ss_sink_push_hash(sink_t *k, Py_ssize_t bytes)
{
    if (ss_grow((void **)&k->h, &k->cap, k->n + 1, sizeof(int64_t), 256) < 0)
        return -1;
    k->h[k->n++] = ss_token_hash(k->scratch, (size_t)bytes);
    return 0;
}

/* The per-word stage (bodystage.h; one copy of the source, compiled for
 * Py_UCS2 as the _u2 functions and for Py_UCS4 as the _u4 ones):
 *
 *   ss_spanset_add_*(s, off, len, h, &added): the id of text[off:off+len]
 *       in s, added when new; -1 (exception set), -2 (a probe ran long).
 *   ss_spanset_find_*(s, p, len, h): the id of the characters p[:len], or
 *       -1 when s has none such; -2 (a probe ran long).
 *   ss_word_stage_*(ws, seq_ids, m, pre, lpre, pairs, ppre, lppre, is_punct,
 *       sink): for each distinct word of ``ws`` (ids 0 .. ws->count - 1),
 *       strip the ASCII characters is_punct marks at both ends; 3-12
 *       characters give pre + word, more give pre + "skip:" + first
 *       character + " " + length rounded down to tens, each distinct token
 *       once.  With ``pairs``, adjacent kept words among seq_ids[:m] (the
 *       ids of the words in their order; -1: a word that is none of ws's,
 *       which breaks a pair) give ppre + "a b", each distinct pair once.
 *       0, -1 (exception set) or -2 (a probe ran long). */
#define SS_STAGE_DECLARE(W, CH)                                                                         \
    Py_ssize_t ss_spanset_add_##W(spanset_t *s, Py_ssize_t off, Py_ssize_t len, uint32_t h, int *added); \
    Py_ssize_t ss_spanset_find_##W(const spanset_t *s, const CH *p, Py_ssize_t len, uint32_t h);         \
    int ss_word_stage_##W(const spanset_t *ws, const int32_t *seq_ids, Py_ssize_t m, const CH *pre,     \
                          Py_ssize_t lpre, int pairs, const CH *ppre, Py_ssize_t lppre,                 \
                          const unsigned char is_punct[128], sink_t *sink);
SS_STAGE_DECLARE(u2, Py_UCS2)
SS_STAGE_DECLARE(u4, Py_UCS4)
#undef SS_STAGE_DECLARE

/* the sets' hash of a span (bodystage.h: hash_chars): FNV-1a over its characters, then this mix */
static inline uint64_t ss_mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

#define SS_FNV_PRIME 0x100000001b3ULL
#define SS_FNV_BASIS 0xcbf29ce484222325ULL

/* bodywords.c: words() and word_hashes() (the module doc: bodyscan.c) */
PyObject *ss_words(PyObject *self, PyObject *args);
PyObject *ss_word_hashes(PyObject *self, PyObject *args);

#endif
