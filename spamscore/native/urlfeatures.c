/* url_features of the concern spamscore._core.urlscan (its other functions:
 * urlscan.c, urltokens.c): the loop of spamscore.features.urls.url_features
 * over the URLs and links of a message.
 */
#include "core.h"
#include "url.h"

#include <stdio.h>

/* "2**k" for n > 0, k = n.bit_length() - 1 */
static PyObject *bucket_token(const char *prefix, Py_ssize_t n)
{
    int k = -1;
    size_t v = (size_t)n;
    while (v) {
        k++;
        v >>= 1;
    }
    char buf[48];
    int len = snprintf(buf, sizeof(buf), "%s2**%d", prefix, k);
    if (len < 0 || (size_t)len >= sizeof(buf)) {
        PyErr_SetString(PyExc_SystemError, "bucket token too long");
        return NULL;
    }
    return PyUnicode_FromStringAndSize(buf, len);
}

PyObject *ss_url_features(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *urls, *links, *regdom, *shorteners, *tok_fallback, *mm_cached, *mm_uncached;
    Py_ssize_t cache_max;
    if (!PyArg_ParseTuple(args, "OOOO!OOOn:url_features", &urls, &links, &regdom, &PyFrozenSet_Type,
                          &shorteners, &tok_fallback, &mm_cached, &mm_uncached, &cache_max))
        return NULL;
    if (!PyList_Check(urls) || !PyList_Check(links))
        Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(links); i++) {
        PyObject *l = PyList_GET_ITEM(links, i);
        if (!PyTuple_Check(l) || PyTuple_GET_SIZE(l) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(l, 0)))
            Py_RETURN_NONE;
    }
    PyObject *out = PyList_New(0), *counts = PyDict_New(), *seen = PySet_New(NULL), *hold = NULL;
    if (out == NULL || counts == NULL || seen == NULL)
        goto fail;
    /* each distinct URL once, with its count, in first-seen order */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(urls); i++) {
        PyObject *url = PyList_GET_ITEM(urls, i);
        Py_INCREF(url);
        PyObject *c = PyDict_GetItemWithError(counts, url);
        Py_ssize_t times = 1;
        if (c != NULL)
            times = PyLong_AsSsize_t(c) + 1;
        else if (PyErr_Occurred()) {
            Py_DECREF(url);
            goto fail;
        }
        PyObject *v = PyLong_FromSsize_t(times);
        int r = v == NULL ? -1 : PyDict_SetItem(counts, url, v);
        Py_XDECREF(v);
        Py_DECREF(url);
        if (r < 0)
            goto fail;
    }
    /* Each URL and its count are held across the callbacks: ``counts`` is
     * reachable from Python code (gc.get_objects(), once a key is a tracked
     * str subclass), which may empty it (issue 15's audit: a count read after
     * it was freed).  PyDict_Next itself stays within the dict as it is. */
    Py_ssize_t pos = 0, n = 0;
    PyObject *url, *c;
    while (PyDict_Next(counts, &pos, &url, &c)) {
        Py_INCREF(url);
        Py_INCREF(c);
        PyObject *ut = ss_url_tokens_of(url, regdom, shorteners, tok_fallback);
        Py_DECREF(url);
        Py_ssize_t times = PyLong_AsSsize_t(c);
        Py_DECREF(c);
        if (ut == NULL)
            goto fail;
        if (ut == Py_None) {
            Py_DECREF(ut);
            continue;
        }
        if (!PyTuple_Check(ut) || PyTuple_GET_SIZE(ut) != 2 || !PyTuple_Check(PyTuple_GET_ITEM(ut, 1))) {
            Py_DECREF(ut);
            PyErr_SetString(PyExc_TypeError, "url tokens must be (domain, tuple)");
            goto fail;
        }
        n += times;
        PyObject *toks = PyTuple_GET_ITEM(ut, 1);
        int r = PySet_Add(seen, PyTuple_GET_ITEM(ut, 0));
        if (r == 0)
            r = PyList_SetSlice(out, PyList_GET_SIZE(out), PyList_GET_SIZE(out), toks);
        Py_DECREF(ut);
        if (r < 0)
            goto fail;
    }
    hold = links;
    Py_INCREF(hold);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(links); i++) {
        PyObject *l = PyList_GET_ITEM(links, i);
        if (!PyTuple_Check(l) || PyTuple_GET_SIZE(l) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(l, 0))) {
            PyErr_SetString(PyExc_TypeError, "links changed during url_features");
            goto fail;
        }
        Py_INCREF(l);
        PyObject *href = PyTuple_GET_ITEM(l, 0), *text = PyTuple_GET_ITEM(l, 1);
        PyObject *fn = PyUnicode_GET_LENGTH(href) <= cache_max ? mm_cached : mm_uncached;
        PyObject *mm = PyObject_CallFunctionObjArgs(fn, href, text, NULL);
        Py_DECREF(l);
        if (mm == NULL)
            goto fail;
        int hit = mm != Py_None;
        Py_DECREF(mm);
        if (hit) {
            PyObject *t = PyUnicode_FromString("url:text-mismatch");
            int r = t == NULL ? -1 : PyList_Append(out, t);
            Py_XDECREF(t);
            if (r < 0)
                goto fail;
        }
    }
    if (n) {
        PyObject *t = bucket_token("url:count:", n);
        int r = t == NULL ? -1 : PyList_Append(out, t);
        Py_XDECREF(t);
        if (r < 0)
            goto fail;
        t = bucket_token("url:domains:", PySet_GET_SIZE(seen));
        r = t == NULL ? -1 : PyList_Append(out, t);
        Py_XDECREF(t);
        if (r < 0)
            goto fail;
    }
    Py_XDECREF(hold);
    Py_DECREF(counts);
    Py_DECREF(seen);
    return out;
fail:
    Py_XDECREF(hold);
    Py_XDECREF(out);
    Py_XDECREF(counts);
    Py_XDECREF(seen);
    return NULL;
}

