/* The calls through the caller's caches, for the header loop of the concern
 * spamscore._core.hdrscan (hdrscan.c) and its Received scan (hdrrecv.c);
 * the caches and their limits: hdr.h.
 */
#include "core.h"
#include "hdr.h"

/* Extend ``out`` with the items of ``tup`` (a tuple; anything else: TypeError). */
int ss_hdr_extend_tuple(PyObject *out, PyObject *tup)
{
    if (!PyTuple_CheckExact(tup)) {
        PyErr_SetString(PyExc_TypeError, "_hdrscan: expected a tuple of tokens");
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tup); i++)
        if (PyList_Append(out, PyTuple_GET_ITEM(tup, i)) < 0)
            return -1;
    return 0;
}

/* Store key -> val in ``cache`` (a dict), emptied first when it holds ``max`` items. */
int ss_hdr_cache_put(PyObject *cache, PyObject *key, PyObject *val, Py_ssize_t max)
{
    if (PyDict_GET_SIZE(cache) >= max)
        PyDict_Clear(cache);
    return PyDict_SetItem(cache, key, val);
}

/* fn(key) through ``cache`` (NULL: none): a new reference */
PyObject *ss_hdr_cached_call1(PyObject *cache, PyObject *key, PyObject *fn, Py_ssize_t max)
{
    if (cache != NULL) {
        PyObject *r = PyDict_GetItemWithError(cache, key);
        if (r != NULL) {
            Py_INCREF(r);
            return r;
        }
        if (PyErr_Occurred())
            return NULL;
    }
    PyObject *r = PyObject_CallOneArg(fn, key);
    if (r != NULL && cache != NULL && ss_hdr_cache_put(cache, key, r, max) < 0)
        Py_CLEAR(r);
    return r;
}

/* value_tokens(name, v) through the two-level cache (NULL: none): a new reference.
 * The inner dict is held while it is used: a lookup or an insert in it
 * compares v with its keys of v's hash, and a key of a str subclass runs its
 * __eq__, Python code that may drop the inner dict from the cache (issue
 * 15's audit: it was borrowed, and freed under its own lookup). */
PyObject *ss_hdr_cached_value_tokens(PyObject *cache, PyObject *name, PyObject *v, PyObject *fn)
{
    if (cache != NULL) {
        PyObject *inner = PyDict_GetItemWithError(cache, name);
        if (inner == NULL && PyErr_Occurred())
            return NULL;
        if (inner != NULL) {
            if (!PyDict_CheckExact(inner)) {
                PyErr_SetString(PyExc_TypeError, "_hdrscan: the value cache holds a non-dict");
                return NULL;
            }
            Py_INCREF(inner);
            PyObject *r = PyDict_GetItemWithError(inner, v);
            Py_XINCREF(r);
            Py_DECREF(inner);
            if (r != NULL)
                return r;
            if (PyErr_Occurred())
                return NULL;
        }
    }
    PyObject *cargs[2] = {name, v};
    PyObject *r = PyObject_Vectorcall(fn, cargs, 2, NULL);
    if (r == NULL || cache == NULL)
        return r;
    /* Python code ran: look the inner dict up again */
    Py_ssize_t total = 0, pos = 0;
    PyObject *k, *d;
    while (PyDict_Next(cache, &pos, &k, &d))
        if (PyDict_CheckExact(d))
            total += PyDict_GET_SIZE(d);
    if (total >= VALUE_CACHE_MAX)
        PyDict_Clear(cache);
    PyObject *inner = PyDict_GetItemWithError(cache, name);
    if (inner == NULL) {
        if (PyErr_Occurred())
            goto fail;
        inner = PyDict_New();  /* (held: see above) */
        if (inner == NULL)
            goto fail;
        if (PyDict_SetItem(cache, name, inner) < 0) {
            Py_DECREF(inner);
            goto fail;
        }
    } else if (!PyDict_CheckExact(inner)) {
        PyErr_SetString(PyExc_TypeError, "_hdrscan: the value cache holds a non-dict");
        goto fail;
    } else {
        Py_INCREF(inner);
    }
    int rc = PyDict_SetItem(inner, v, r);
    Py_DECREF(inner);
    if (rc < 0)
        goto fail;
    return r;
fail:
    Py_DECREF(r);
    return NULL;
}

