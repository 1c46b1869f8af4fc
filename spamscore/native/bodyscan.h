/* What the files of the concern spamscore._core.bodyscan share (see
 * bodyscan.c): bodywords.c (words and word_hashes), bodyspans.c (the sets of
 * distinct spans) and bodysink.c (where the tokens go); the character
 * tables are in bodychars.h.
 *
 * Tables: open addressing with linear probing, at most half full (doubled
 * as they fill), so every probe sequence reaches a free slot; a probe longer
 * than MAX_PROBE slots gives up (None), which keeps the work linear in the
 * text whatever the words are.
 */
#ifndef SPAMSCORE_BODYSCAN_H
#define SPAMSCORE_BODYSCAN_H

#include "core.h"

#define MAX_PROBE 96

/* the characters of the words: UCS-2 (what words() takes is at most that) */
typedef Py_UCS2 ch_t;

/* a distinct span of the words' characters */
typedef struct {
    int32_t off, len;
} span_t;

typedef struct {
    uint32_t hash;
    int32_t id;  /* -1: free */
} slot_t;

/* a set of distinct spans: spans[id] with a hash table over them */
typedef struct {
    const ch_t *text;
    slot_t *slots;
    span_t *spans;
    uint32_t *hashes;
    Py_ssize_t cap;     /* slots: a power of two */
    Py_ssize_t count;   /* spans in use */
    Py_ssize_t room;    /* spans allocated */
} spanset_t;

/* bodyspans.c: the functions of the same names without "ss_" */
int ss_spanset_init(spanset_t *s, const ch_t *text, Py_ssize_t cap);
void ss_spanset_free(spanset_t *s);
Py_ssize_t ss_spanset_add(spanset_t *s, Py_ssize_t off, Py_ssize_t len, uint32_t h, int *added);

/* Where words() puts its tokens: a set of str (``set``), or, for
 * word_hashes(), the token hash each str would have (ss_token_hash of its
 * UTF-8 bytes, spamscore/native/core.h; the reference is
 * spamscore._native.token_hash), appended to ``h`` (the str itself never
 * made).  The characters here are never surrogates (map_wide bails on
 * them), so their UTF-8 is the plain one. */
typedef struct {
    PyObject *set;
    int64_t *h;
    Py_ssize_t n, cap;
    unsigned char *scratch;
    Py_ssize_t scratch_cap;
} sink_t;

/* bodysink.c: the functions of the same names without "ss_" */
int ss_sink_emit(sink_t *k, const ch_t *a, Py_ssize_t la, const ch_t *b, Py_ssize_t lb,
                 const ch_t *c, Py_ssize_t lc, const ch_t *d, Py_ssize_t ld);
void ss_sink_free(sink_t *k);

/* bodywords.c: words() and word_hashes() (the module doc: bodyscan.c) */
PyObject *ss_words(PyObject *self, PyObject *args);
PyObject *ss_word_hashes(PyObject *self, PyObject *args);

#endif
