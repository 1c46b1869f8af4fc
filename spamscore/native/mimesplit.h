/* What the three files of split_mime (the concern spamscore._core.mimescan)
 * share: mimesplit.c (the entry and _walk's order), mimetree.c (the tree of
 * parts) and mimelines.c (lines and delimiters).
 */
#ifndef SPAMSCORE_MIMESPLIT_H
#define SPAMSCORE_MIMESPLIT_H

#include "core.h"
#include "mime.h"

#define D_NOBOUNDARY 1
#define D_BADCTE 2
#define D_NOSTART 4
#define D_NOCLOSE 8
#define D_INVARIANT 16

enum { CT_OTHER, CT_MESSAGE, CT_MULTIPART, CT_DIGEST, CT_DS };
enum { K_EOF = 0, K_SEP = 1, K_CLOSE = 2 };

typedef struct {
    Py_ssize_t f[3][2];  /* Content-Type, -Transfer-Encoding, -Disposition value spans; [0] -1: absent */
    Py_ssize_t pay_a, pay_b;  /* a bytes payload */
    Py_ssize_t parent, end;  /* end: past the last descendant */
    Py_ssize_t depth;
    int kind, is_list, defects;
} MNode;

typedef struct {
    Py_ssize_t node, ba, bb;  /* the multipart and its boundary's span */
    int capturing, in_child;
} MFrame;

typedef struct {
    const unsigned char *buf;
    Py_ssize_t n, pos;
    int pending_none;  /* a pushed-back end of input */
    Py_ssize_t *dash_at, *dash_len, ndash, capdash;
    MFrame *frames;
    Py_ssize_t nframes, capframes, n_active;
    MNode *nodes;
    Py_ssize_t nnodes, capnodes, last;
    unsigned long version, cache_version;
    Py_ssize_t cache_lo, cache_hi;
} MS;

/* mimelines.c: the functions of the same names without "ss_" */
Py_ssize_t ss_ms_key_len(const MS *m, Py_ssize_t s);
int ss_ms_readline(MS *m, Py_ssize_t *s, Py_ssize_t *e);
Py_ssize_t ss_ms_eof_from(MS *m, Py_ssize_t p);
int ss_ms_is_sep(const unsigned char *k, Py_ssize_t len, const unsigned char *b, Py_ssize_t bl);
int ss_ms_is_close(const unsigned char *k, Py_ssize_t len, const unsigned char *b, Py_ssize_t bl);
int ss_ms_next_dash(MS *m, const MFrame *f);

/* mimetree.c: _MimeSplitter's run into m->nodes; 1 done, 0 bail out, -1 error */
int ss_ms_run(MS *m);

#endif
