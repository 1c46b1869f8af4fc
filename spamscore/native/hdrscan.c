/* Optional compiled header loop: spamscore.features.tokens.header_tokens.
 *
 * header_tokens(headers, ignored, handlers, value_tokens, received_host
 *               [, name_cache, value_cache, host_cache]) -> list, or None
 *
 * The same tokens, in the same order, as the Python reference
 * (tokens._header_tokens): for each (name, value) of ``headers`` whose name
 * does not start with one of ``ignored``, "hdr:" + name[:40]; then by
 * ``handlers[name]``: 0, the tokens of value_tokens(name, value[:2000]) (the
 * cached Python function); 1 (Received, the first 10), received_host(host)
 * for each match of tokens._RECEIVED_HOST in value[:2000], then
 * "received:ip:" + each group of each match of tokens._IP (both regexes are
 * matched by hand here: see host_at and ip_at); 2 (Date) the shape and the
 * zone; 3 (Message-ID) its domain.  Last "hdr:received-count:N".
 *
 * Anything this loop does not handle (headers not a list of 2-tuples of
 * str, ``ignored`` not a tuple of str, an unknown handler) returns None and
 * the caller runs the Python code, which raises what it raises.  The only
 * state kept between calls is in the caller's cache dicts (see caches_t),
 * written under the GIL.
 *
 * Also address_tokens (in addrscan.c: tokens._address_tokens of an ASCII value, on a miss
 * of the value caches) and any_name (the "any auth header?" test of
 * auth.auth_features).  Every scan is linear in the value (values are cut
 * at 2,000 characters where the Python code cuts them).
 *
 * The concern's files: hdrscan.c (this one: the loop, any_name and the
 * method table), hdrcache.c (the calls through the caller's caches),
 * hdrrecv.c (Received: hosts and IPs), hdrdate.c (Date and Message-ID),
 * addrscan.c (the addresses), and hdr.h (what they share).
 */
#include "core.h"
#include "hdr.h"

#define MAX_RECEIVED 10

/* what the caches hold (the limits: hdr.h) */
typedef struct {
    PyObject *names;   /* name -> "hdr:" + name[:40] */
    PyObject *values;  /* name -> {value[:2000] -> value_tokens(name, value[:2000])} */
    PyObject *hosts;   /* host -> received_host(host) */
} caches_t;

/* ---- the ignored prefixes ------------------------------------------- */

typedef struct {
    PyObject **items;   /* borrowed from the tuple */
    Py_ssize_t n;
} prefixes_t;

/* 1: name starts with one of the prefixes, 0: not, -1: error */
static int starts_with_any(PyObject *name, const prefixes_t *px)
{
    Py_ssize_t ln = PyUnicode_GET_LENGTH(name);
    int kn = PyUnicode_KIND(name);
    const char *dn = (const char *)PyUnicode_DATA(name);
    for (Py_ssize_t i = 0; i < px->n; i++) {
        PyObject *p = px->items[i];
        Py_ssize_t lp = PyUnicode_GET_LENGTH(p);
        if (lp > ln)
            continue;
        if (lp == 0)
            return 1;
        if (PyUnicode_KIND(p) == kn) {
            const char *dp = (const char *)PyUnicode_DATA(p);
            if (kn == PyUnicode_1BYTE_KIND && dp[0] != dn[0])
                continue;
            if (memcmp(dn, dp, (size_t)(lp * kn)) == 0)
                return 1;
            continue;
        }
        Py_ssize_t r = PyUnicode_Tailmatch(name, p, 0, lp, -1);
        if (r < 0)
            return -1;
        if (r)
            return 1;
    }
    return 0;
}

/* "hdr:" + name[:40] */
static PyObject *hdr_token(PyObject *name)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(name);
    return ss_prefixed("hdr:", name, 0, n > 40 ? 40 : n);
}

/* ---- the loop -------------------------------------------------------- */

#define STEP_FAIL -1  /* an exception is set */
#define STEP_BAIL -2  /* something the loop does not handle: None, the Python code decides */

/* The tokens of one header (name and value: exact str, held by the caller)
 * onto out: 0, STEP_FAIL or STEP_BAIL; ``received`` counts Received headers. */
static int one_header(PyObject *out, PyObject *name, PyObject *value, const prefixes_t *px, const caches_t *caches,
                      PyObject *handlers, PyObject *value_tokens, PyObject *received_host, long *received)
{
    if (px->n) {
        int ig = starts_with_any(name, px);
        if (ig)
            return ig < 0 ? STEP_FAIL : 0;
    }
    if (caches->names != NULL && PyUnicode_GET_LENGTH(name) <= NAME_KEY_MAX) {
        PyObject *tok = PyDict_GetItemWithError(caches->names, name);  /* borrowed */
        if (tok == NULL) {
            if (PyErr_Occurred())
                return STEP_FAIL;
            tok = hdr_token(name);
            if (tok == NULL || ss_hdr_cache_put(caches->names, name, tok, NAME_CACHE_MAX) < 0) {
                Py_XDECREF(tok);
                return STEP_FAIL;
            }
            Py_DECREF(tok);  /* the cache holds it */
        }
        if (PyList_Append(out, tok) < 0)
            return STEP_FAIL;
    } else if (ss_list_append_new(out, hdr_token(name)) < 0) {
        return STEP_FAIL;
    }
    PyObject *kobj = PyDict_GetItemWithError(handlers, name);  /* borrowed */
    if (kobj == NULL)
        return PyErr_Occurred() ? STEP_FAIL : 0;
    if (!PyLong_CheckExact(kobj))
        return STEP_BAIL;
    int overflow = 0;
    long k = PyLong_AsLongAndOverflow(kobj, &overflow);
    if (overflow || k < 0 || k > 3)
        return STEP_BAIL;
    int rc = 0;
    if (k == 0) {
        PyObject *v = value;
        if (PyUnicode_GET_LENGTH(value) > VALUE_MAX) {
            v = PyUnicode_Substring(value, 0, VALUE_MAX);
        } else {
            Py_INCREF(v);
        }
        if (v == NULL)
            return STEP_FAIL;
        PyObject *toks = ss_hdr_cached_value_tokens(caches->values, name, v, value_tokens);
        Py_DECREF(v);
        if (toks == NULL)
            return STEP_FAIL;
        rc = ss_hdr_extend_tuple(out, toks);
        Py_DECREF(toks);
    } else if (k == 1) {
        ++*received;
        if (*received <= MAX_RECEIVED)
            rc = ss_received_tokens(out, value, received_host, caches->hosts);
    } else if (k == 2) {
        rc = ss_date_tokens(out, value);
    } else {
        rc = ss_msgid_token(out, value);
    }
    return rc < 0 ? STEP_FAIL : 0;
}

static PyObject *header_tokens(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *headers, *ignored, *handlers, *value_tokens, *received_host;
    PyObject *name_cache = Py_None, *value_cache = Py_None, *host_cache = Py_None;
    if (!PyArg_ParseTuple(args, "OOO!OO|OOO:header_tokens", &headers, &ignored, &PyDict_Type, &handlers,
                          &value_tokens, &received_host, &name_cache, &value_cache, &host_cache))
        return NULL;
    caches_t caches = {NULL, NULL, NULL};
    PyObject *given[3] = {name_cache, value_cache, host_cache}, **slot[3] = {&caches.names, &caches.values, &caches.hosts};
    for (int i = 0; i < 3; i++) {
        if (given[i] == Py_None)
            continue;
        if (!PyDict_CheckExact(given[i])) {
            PyErr_SetString(PyExc_TypeError, "_hdrscan: a cache must be a dict or None");
            return NULL;
        }
        *slot[i] = given[i];
    }
    if (!PyList_CheckExact(headers))
        Py_RETURN_NONE;
    prefixes_t px = {NULL, 0};
    if (ignored != Py_None) {
        if (!PyTuple_CheckExact(ignored))
            Py_RETURN_NONE;
        px.n = PyTuple_GET_SIZE(ignored);
        px.items = &PyTuple_GET_ITEM(ignored, 0);
        for (Py_ssize_t i = 0; i < px.n; i++)
            if (!PyUnicode_CheckExact(px.items[i]))
                Py_RETURN_NONE;
    }
    /* The list may change under us whenever Python code runs: the callbacks,
     * and the lookups in the caller's dicts (handlers, the caches), whose
     * keys may be str subclasses with an __eq__.  So each item is held for
     * its whole step, and the size is read at every step (issue 15's audit:
     * the name and value were borrowed across those lookups, a use after
     * free).  ``ignored`` is a tuple the arguments hold: it cannot change. */
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    long received = 0;
    for (Py_ssize_t h = 0; h < PyList_GET_SIZE(headers); h++) {
        PyObject *item = PyList_GET_ITEM(headers, h);
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2)
            goto bail;
        PyObject *name = PyTuple_GET_ITEM(item, 0), *value = PyTuple_GET_ITEM(item, 1);
        if (!PyUnicode_CheckExact(name) || !PyUnicode_CheckExact(value))
            goto bail;
        Py_INCREF(item);
        int rc = one_header(out, name, value, &px, &caches, handlers, value_tokens, received_host, &received);
        Py_DECREF(item);
        if (rc == STEP_BAIL)
            goto bail;
        if (rc < 0)
            goto fail;
    }
    if (received) {
        if (ss_list_append_new(out, PyUnicode_FromFormat("hdr:received-count:%ld", received < 12 ? received : 12)) < 0)
            goto fail;
    }
    return out;
bail:
    Py_DECREF(out);
    Py_RETURN_NONE;
fail:
    Py_DECREF(out);
    return NULL;
}

/* any_name(headers, names) -> True if the name of some (name, value) of
 * ``headers`` (a list) is in ``names`` (a frozenset of str), else False;
 * None for anything else in the list (the caller's Python loop then
 * decides).  spamscore.features.auth.auth_features asks it first. */
static PyObject *any_name(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *headers, *names;
    if (!PyArg_ParseTuple(args, "OO!:any_name", &headers, &PyFrozenSet_Type, &names))
        return NULL;
    if (!PyList_CheckExact(headers))
        Py_RETURN_NONE;
    /* The lookup of an exact str compares it with the set's elements of its
     * hash: an element of a str subclass runs its __eq__, Python code that
     * may change the list.  So each item is held across its lookup and the
     * size is read at every step (issue 15's audit: a use after free). */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(headers); i++) {
        PyObject *item = PyList_GET_ITEM(headers, i);
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2
            || !PyUnicode_CheckExact(PyTuple_GET_ITEM(item, 0)))
            Py_RETURN_NONE;
        Py_INCREF(item);
        int in = PySet_Contains(names, PyTuple_GET_ITEM(item, 0));
        Py_DECREF(item);
        if (in < 0)
            return NULL;
        if (in)
            Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

/* without_prefixes(tokens, prefixes) -> list or None: the str of ``tokens``
 * (a list) that start with none of ``prefixes`` (a tuple of str), in order:
 * what spamscore.features.profiles.without_prefixes does in Python, its
 * reference; None for anything but exact str.  The features a profile or
 * campaign mode leaves out (~75 header tokens a message against ~10 to 30
 * prefixes): most differ from every prefix in their first character. */
static PyObject *without_prefixes(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *tokens, *prefixes;
    if (!PyArg_ParseTuple(args, "O!O!:without_prefixes", &PyList_Type, &tokens, &PyTuple_Type, &prefixes))
        return NULL;
    Py_ssize_t np = PyTuple_GET_SIZE(prefixes);
    for (Py_ssize_t j = 0; j < np; j++)
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(prefixes, j)))
            Py_RETURN_NONE;
    /* a snapshot: appending may run a garbage collection, and with it Python code that changes the list */
    PyObject *seq = PyList_GetSlice(tokens, 0, PyList_GET_SIZE(tokens));
    if (seq == NULL)
        return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(seq); i++) {
        PyObject *t = PyList_GET_ITEM(seq, i);
        if (!PyUnicode_CheckExact(t)) {
            Py_DECREF(out);
            Py_DECREF(seq);
            Py_RETURN_NONE;
        }
        Py_ssize_t lt = PyUnicode_GET_LENGTH(t);
        Py_UCS4 first = lt ? PyUnicode_READ_CHAR(t, 0) : 0;
        int drop = 0;
        for (Py_ssize_t j = 0; j < np && !drop; j++) {
            PyObject *p = PyTuple_GET_ITEM(prefixes, j);
            Py_ssize_t lp = PyUnicode_GET_LENGTH(p);
            if (lp > lt || (lp && PyUnicode_READ_CHAR(p, 0) != first))
                continue;
            Py_ssize_t m = PyUnicode_Tailmatch(t, p, 0, PY_SSIZE_T_MAX, -1);
            if (m < 0)
                goto fail;
            drop = m > 0;
        }
        if (!drop && PyList_Append(out, t) < 0)
            goto fail;
    }
    Py_DECREF(seq);
    return out;
fail:
    Py_XDECREF(out);
    Py_DECREF(seq);
    return NULL;
}

static PyMethodDef methods[] = {
    {"address_tokens", ss_address_tokens, METH_VARARGS,  /* (addrscan.c) */
     "address_tokens(name, value, words, registered_domain) -> list or None: "
     "spamscore.features.tokens._address_tokens of an ASCII value (None: any other)"},
    {"any_name", any_name, METH_VARARGS,
     "any_name(headers, names) -> bool or None: whether a header's name is in the frozenset names"},
    {"without_prefixes", without_prefixes, METH_VARARGS,
     "without_prefixes(tokens, prefixes) -> list or None: the str of tokens that start with none of prefixes"},
    {"header_tokens", header_tokens, METH_VARARGS,
     "header_tokens(headers, ignored, handlers, value_tokens, received_host) -> list or None: "
     "the loop of spamscore.features.tokens.header_tokens (None: use the Python code)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "spamscore._core.hdrscan",
    "Compiled header-token loop (optional; the Python code in features.tokens is the reference).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyObject *ss_init_hdrscan(void)
{
    if (ss_hdr_lower == NULL && (ss_hdr_lower = PyUnicode_InternFromString("lower")) == NULL)
        return NULL;
    ss_address_init();
    if (ss_hdr_msgid_invalid == NULL && (ss_hdr_msgid_invalid = PyUnicode_InternFromString("message-id:invalid")) == NULL)
        return NULL;
    return PyModule_Create(&module);
}
