/* The two functions, copied verbatim from spamscore/native (dense.c, speedups.c), as one small module. */
#include "core.h"

/* The token hash (native/core.h) of a str: SipHash-1-3 of its UTF-8 (lone
 * surrogates as "surrogatepass" encodes them).  An ASCII str is read in
 * place; another is encoded through the str's cached UTF-8 (public API)
 * when ``cache`` (a message's features: short-lived), else into a bytes
 * freed at once (the model's clue tokens: no UTF-8 copy kept beside each).
 * Runs no Python code.  0 on success, -1 with an exception set (not a str). */
static int str_token_hash(PyObject *o, int64_t *out, int cache)
{
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "expected str features, got %.100s", Py_TYPE(o)->tp_name);
        return -1;
    }
    if (PyUnicode_IS_ASCII(o)) {
        *out = ss_token_hash(PyUnicode_1BYTE_DATA(o), (size_t)PyUnicode_GET_LENGTH(o));
        return 0;
    }
    if (cache) {
        Py_ssize_t n;
        const char *u = PyUnicode_AsUTF8AndSize(o, &n);
        if (u != NULL) {
            *out = ss_token_hash((const unsigned char *)u, (size_t)n);
            return 0;
        }
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
            return -1;
        PyErr_Clear();  /* a lone surrogate */
    }
    PyObject *b = PyUnicode_AsEncodedString(o, "utf-8", "surrogatepass");
    if (b == NULL)
        return -1;
    *out = ss_token_hash((const unsigned char *)PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b));
    Py_DECREF(b);
    return 0;
}

/* ss_token_hashes(strs[, rows]) -> bytes: the token hash of each str of a
 * sequence, native int64; with ``rows`` (int64), of strs[rows[i]] for each
 * i (a list: the model's clue tokens without a list of them made first). */
static PyObject *ss_token_hashes(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *strs, *rows_o = Py_None;
    if (!PyArg_ParseTuple(args, "O|O:token_hashes", &strs, &rows_o))
        return NULL;
    PyObject *seq = PySequence_Tuple(strs);  /* (a copy: nothing can change it under us) */
    if (seq == NULL)
        return NULL;
    Py_buffer rb = {0};
    PyObject *out = NULL;
    Py_ssize_t ns = PyTuple_GET_SIZE(seq), n = ns;
    const int64_t *rows = NULL;
    if (rows_o != Py_None) {
        if (PyObject_GetBuffer(rows_o, &rb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
            goto done;
        if (rb.itemsize != 8 || rb.format == NULL || (rb.format[0] != 'q' && rb.format[0] != 'l')) {
            PyErr_SetString(PyExc_ValueError, "expected int64 rows");
            goto done;
        }
        rows = (const int64_t *)rb.buf;
        n = rb.len / 8;
    }
    out = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int64_t));
    if (out == NULL)
        goto done;
    int64_t *h = (int64_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t j = i;
        if (rows != NULL) {
            if (rows[i] < 0 || rows[i] >= ns) {
                PyErr_SetString(PyExc_IndexError, "row out of range of the strs");
                Py_CLEAR(out);
                goto done;
            }
            j = (Py_ssize_t)rows[i];
        }
        if (str_token_hash(PyTuple_GET_ITEM(seq, j), &h[i], 0) < 0) {
            Py_CLEAR(out);
            goto done;
        }
    }
done:
    if (rb.obj)
        PyBuffer_Release(&rb);
    Py_DECREF(seq);
    return out;
}

/* meta_flags(tokens, rows, prefixes) -> bytes: for each row r, 1 if
 * tokens[r] has a ':' and the part before the first one is in ``prefixes``
 * (a frozenset of str), else 0 (spamscore.scoring.is_meta). */
static PyObject *meta_flags(PyObject *self, PyObject *args)
{
    PyObject *tokens, *rows_o, *prefixes;
    if (!PyArg_ParseTuple(args, "O!OO!:meta_flags", &PyList_Type, &tokens, &rows_o, &PyFrozenSet_Type, &prefixes))
        return NULL;
    Py_buffer rb;
    if (PyObject_GetBuffer(rows_o, &rb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (rb.format == NULL || rb.itemsize != 8 || (strcmp(rb.format, "l") != 0 && strcmp(rb.format, "q") != 0)) {
        PyBuffer_Release(&rb);
        PyErr_SetString(PyExc_ValueError, "expected int64 rows");
        return NULL;
    }
    Py_ssize_t n = rb.len / 8, size = PyList_GET_SIZE(tokens);
    const int64_t *rows = (const int64_t *)rb.buf;
    PyObject *out = PyBytes_FromStringAndSize(NULL, n);
    if (out == NULL)
        goto fail;
    char *o = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t r = rows[i];
        if (r < 0 || r >= size) {
            PyErr_SetString(PyExc_IndexError, "row out of range");
            goto fail;
        }
        PyObject *t = PyList_GET_ITEM(tokens, r);
        if (!PyUnicode_Check(t)) {
            PyErr_SetString(PyExc_TypeError, "tokens must be str");
            goto fail;
        }
        Py_ssize_t colon = PyUnicode_FindChar(t, ':', 0, PyUnicode_GET_LENGTH(t), 1);
        if (colon == -2)
            goto fail;
        o[i] = 0;
        if (colon >= 0) {
            PyObject *head = PyUnicode_Substring(t, 0, colon);
            if (head == NULL)
                goto fail;
            int in = PySet_Contains(prefixes, head);
            Py_DECREF(head);
            if (in < 0)
                goto fail;
            o[i] = (char)in;
        }
    }
    PyBuffer_Release(&rb);
    return out;
fail:
    Py_XDECREF(out);
    PyBuffer_Release(&rb);
    return NULL;
}


static PyMethodDef methods[] = {
    {"token_hashes", ss_token_hashes, METH_VARARGS, NULL},
    {"meta_flags", meta_flags, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "tc_c2.fast", NULL, -1, methods};
PyMODINIT_FUNC PyInit_fast(void) { return PyModule_Create(&module); }
