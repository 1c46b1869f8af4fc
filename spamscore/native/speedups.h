/* What the files of the concern spamscore._core.speedups share:
 * speedups.c (the HashIndex table, clue_sums, lookup_sums, bloom,
 * meta_flags, url_words and the method table), sums.c (the exactly rounded
 * sums), dense.c (the dense clue table of the scoring path), clues.c (a
 * verdict's shown clues), vocab.c (the training vocabulary's table and
 * counts) and foldsums.c (the clue sums of a cross-validation fold). */
#ifndef SPAMSCORE_SPEEDUPS_H
#define SPAMSCORE_SPEEDUPS_H

#include "core.h"

#define EMPTY ((int64_t)-1)  /* a free slot's key */

#define BLOOM_BITS ((uint64_t)1 << 21)
#define BLOOM_MASK (BLOOM_BITS - 1)

/* Whether the 2-bit Bloom filter ``bloom`` (BLOOM_BITS bits) may hold h. */
static inline int bloom_may_hold(const uint64_t *bloom, Py_hash_t h)
{
    uint64_t u = (uint64_t)h, b1 = u & BLOOM_MASK, b2 = (u >> 21) & BLOOM_MASK;
    return ((bloom[b1 >> 6] >> (b1 & 63)) & (bloom[b2 >> 6] >> (b2 & 63)) & 1) != 0;
}

/* Borrow the float64 tables (and the optional 1-byte meta table) of clue_sums. */
typedef struct {
    Py_buffer fb, ob, mb;
    const double *lf, *l1;
    const unsigned char *meta;
    Py_ssize_t size;
} tables_t;

/* A HashIndex table borrowed from its two arrays: keys (int64, EMPTY when
 * free) and rows (int32) of one power-of-two length; a key's slot is found by
 * linear probing from key & mask (build, lookup, and vocab.c's intern). */
typedef struct {
    Py_buffer keys, rows;
    int64_t *k;
    int32_t *r;
    uint64_t mask;
} table_t;

/* speedups.c */
int ss_get_table(PyObject *keys, PyObject *rows, table_t *t, int writable);
void ss_release_table(table_t *t);
int ss_cmp_i64(const void *a, const void *b);  /* qsort's order of int64 */
int ss_get_bloom(PyObject *o, Py_buffer *bb, int writable);
int ss_get_tables(PyObject *lf_o, PyObject *l1_o, PyObject *meta_o, tables_t *t);
void ss_release_tables(tables_t *t);

/* sums.c: the nine values of clue_sums of n clues (see there) */
PyObject *ss_sums_of(const int64_t *rows, Py_ssize_t n, const double *lf, const double *l1,
                     const unsigned char *meta, Py_ssize_t size);
/* sums.c: the same nine values into out (0; 1 non-finite; -1 a row out of size), no Python API */
int ss_sums9(const int64_t *rows, Py_ssize_t n, const double *lf, const double *l1,
             const unsigned char *meta, Py_ssize_t size, void *scratch, double out[9]);
size_t ss_sums_scratch(void);  /* the bytes of scratch ss_sums9 needs */

/* foldsums.c: the function of the same name without "ss_" */
PyObject *ss_fold_sums(PyObject *self, PyObject *args);

/* dense.c: the functions of the same names without "ss_" */
PyObject *ss_build_dense(PyObject *self, PyObject *args);
PyObject *ss_token_hashes(PyObject *self, PyObject *args);
PyObject *ss_lookup_sums_h(PyObject *self, PyObject *args);
/* the token hash of a str (0, or -1 with an exception set); ``cache``: through its cached UTF-8 */
int ss_str_token_hash(PyObject *o, int64_t *out, int cache);

/* clues.c: the function of the same name without "ss_" */
PyObject *ss_top_clues(PyObject *self, PyObject *args);

/* vocab.c: the functions of the same names without "ss_" */
PyObject *ss_intern(PyObject *self, PyObject *args);
PyObject *ss_add_cells(PyObject *self, PyObject *args);

#endif
