/* What the files of the header concern (spamscore._core.hdrscan) share:
 * hdrscan.c (the loop of features.tokens.header_tokens), hdrcache.c (the
 * calls through the caller's caches), hdrrecv.c (Received), hdrdate.c (Date
 * and Message-ID) and addrscan.c (address_tokens). */
#ifndef SPAMSCORE_HDR_H
#define SPAMSCORE_HDR_H

#include "core.h"

#define VALUE_MAX 2000  /* value[:2000] */

/* address_tokens(name, value, words, registered_domain) (addrscan.c) */
PyObject *ss_address_tokens(PyObject *self, PyObject *args);
/* fill addrscan.c's table of the characters of an address's local part (once, at import) */
void ss_address_init(void);

/* ---- the caches ------------------------------------------------------ */

/* The caller's dicts (tokens._HDR_CACHE...), each None or a dict that only
 * this loop writes: the results of pure functions, so a hit gives what the
 * call would; each is emptied when it reaches its bound.  They spare the
 * lru_cache wrappers' call and key tuple, and the "hdr:" strings' building
 * and hashing, on every header of every message. */
#define NAME_CACHE_MAX 4096
#define NAME_KEY_MAX 100       /* longer names are not kept */
#define HOST_CACHE_MAX 8192
#define VALUE_CACHE_MAX 8192   /* values of all names together */

/* hdrcache.c: the functions of the same names without "ss_hdr_" */
int ss_hdr_extend_tuple(PyObject *out, PyObject *tup);
int ss_hdr_cache_put(PyObject *cache, PyObject *key, PyObject *val, Py_ssize_t max);
PyObject *ss_hdr_cached_call1(PyObject *cache, PyObject *key, PyObject *fn, Py_ssize_t max);
PyObject *ss_hdr_cached_value_tokens(PyObject *cache, PyObject *name, PyObject *v, PyObject *fn);

/* hdrrecv.c: the Received hosts and IPs of a value onto out (0, or -1 on error) */
int ss_received_tokens(PyObject *out, PyObject *value, PyObject *received_host, PyObject *host_cache);

/* hdrdate.c: the Date shape and zone, the Message-ID domain, onto out (0, or -1 on error) */
int ss_date_tokens(PyObject *out, PyObject *value);
int ss_msgid_token(PyObject *out, PyObject *value);
/* two str msgid_token uses, interned by ss_init_hdrscan (hdrscan.c) */
extern PyObject *ss_hdr_lower, *ss_hdr_msgid_invalid;

#endif
