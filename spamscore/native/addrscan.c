/* address_tokens of the concern spamscore._core.hdrscan (its header loop:
 * hdrscan.c): the display-name words, users and domains of the addresses in
 * an ASCII header value.  spamscore.features.tokens._address_tokens is the
 * reference (tests/test_hdrscan.py).
 */
#include "core.h"
#include "hdr.h"

/* ------------------------------------------------------------------------
 * address_tokens(name, value, words, registered_domain) -> list, or None
 *
 * tokens._address_tokens (its Python code is the reference) for a value
 * whose first 2,000 characters are ASCII; None for any other value.  On
 * ASCII text the regexes are plain: tokens._ADDRESS (re.I) matches
 * [a-zA-Z0-9!#$%&'*+/=?^_`{|}~.-]{0,64}@[a-zA-Z0-9.-]{1,255}, _ANGLE
 * <[^<>]{0,300}>; words and registered_domain are called back.
 */
#define MAX_ADDRS 20

static unsigned char local_chars[128];  /* filled once at import (ss_address_init), then read only */

void ss_address_init(void)
{
    for (const char *c = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~.-"; *c; c++)
        local_chars[(unsigned char)*c] = 1;
}

static inline int is_local(Py_UCS1 c) { return c < 128 && local_chars[c]; }
static inline int is_dom(Py_UCS1 c) { return c < 128 && (ss_ascii_alnum(c) || c == '.' || c == '-'); }

/* The spans of the first MAX_ADDRS matches of _ADDRESS.findall(d[0:n]).
 * From the next "@" at q: a match holds it (neither class holds "@"), and
 * its start is the leftmost p >= i, p >= q - 64, with d[p:q] all local
 * characters (the greedy local part either reaches q or meets a character
 * that is not "@"); it matches iff a domain character follows the "@",
 * else no start up to q does, and the search goes on after q. */
static int find_addresses(const Py_UCS1 *d, Py_ssize_t n, Py_ssize_t *st, Py_ssize_t *en)
{
    int k = 0;
    Py_ssize_t i = 0;
    while (i < n && k < MAX_ADDRS) {
        const Py_UCS1 *at = memchr(d + i, '@', (size_t)(n - i));
        if (at == NULL)
            break;
        Py_ssize_t q = at - d, p = q;
        while (p > i && p > q - 64 && is_local(d[p - 1]))
            p--;
        Py_ssize_t e = q + 1, lim = q + 1 + 255;
        if (lim > n)
            lim = n;
        while (e < lim && is_dom(d[e]))
            e++;
        if (e == q + 1) {
            i = q + 1;
            continue;
        }
        st[k] = p;
        en[k] = e;
        k++;
        i = e;
    }
    return k;
}

/* _ANGLE.sub(" ", d[0:n]) into o (at most n characters): the length */
static Py_ssize_t angle_sub(const Py_UCS1 *d, Py_ssize_t n, Py_UCS1 *o)
{
    Py_ssize_t m = 0, i = 0;
    while (i < n) {
        if (d[i] == '<') {
            Py_ssize_t j = i + 1, lim = i + 1 + 300;
            if (lim > n)
                lim = n;
            while (j < lim && d[j] != '<' && d[j] != '>')
                j++;
            if (j < n && d[j] == '>') {
                o[m++] = ' ';
                i = j + 1;
                continue;
            }
        }
        o[m++] = d[i++];
    }
    return m;
}

static int append_fmt(PyObject *out, PyObject *name, const char *mid, PyObject *s)
{
    return ss_list_append_new(out, PyUnicode_FromFormat("%U%s%U", name, mid, s));
}

PyObject *ss_address_tokens(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *name, *value, *words, *registered_domain;
    if (!PyArg_ParseTuple(args, "UUOO:address_tokens", &name, &value, &words, &registered_domain))
        return NULL;
    if (!PyUnicode_CheckExact(name) || !PyUnicode_CheckExact(value))
        Py_RETURN_NONE;
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    if (n > VALUE_MAX)
        n = VALUE_MAX;
    if (PyUnicode_KIND(value) != PyUnicode_1BYTE_KIND)
        Py_RETURN_NONE;
    const Py_UCS1 *d = PyUnicode_1BYTE_DATA(value);
    for (Py_ssize_t i = 0; i < n; i++)
        if (d[i] > 127)
            Py_RETURN_NONE;
    Py_ssize_t st[MAX_ADDRS], en[MAX_ADDRS];
    int k = find_addresses(d, n, st, en);
    PyObject *out = PyList_New(0), *display = NULL, *addrs[MAX_ADDRS] = {NULL};
    PyObject *space = NULL, *quote = NULL, *prefix = NULL, *set = NULL, *it = NULL, *w = NULL;
    if (out == NULL)
        return NULL;
    /* display: the value, <...> and each address blanked, quotes blanked */
    PyObject *disp = PyUnicode_New(n, 127);
    if (disp == NULL)
        goto fail;
    Py_ssize_t m = angle_sub(d, n, PyUnicode_1BYTE_DATA(disp));
    display = m == n ? disp : PyUnicode_Substring(disp, 0, m);
    if (m != n)
        Py_DECREF(disp);
    if (display == NULL)
        goto fail;
    if ((space = PyUnicode_FromString(" ")) == NULL || (quote = PyUnicode_FromString("\"")) == NULL)
        goto fail;
    for (int a = 0; a < k; a++) {
        if ((addrs[a] = PyUnicode_Substring(value, st[a], en[a])) == NULL)
            goto fail;
        PyObject *r = PyUnicode_Replace(display, addrs[a], space, -1);
        if (r == NULL)
            goto fail;
        Py_SETREF(display, r);
    }
    PyObject *r = PyUnicode_Replace(display, quote, space, -1);
    if (r == NULL)
        goto fail;
    Py_SETREF(display, r);
    /* words() of ASCII white space alone is empty (as _address_tokens skips it) */
    {
        Py_ssize_t dn = PyUnicode_GET_LENGTH(display), lim = dn < 500 ? dn : 500;
        const Py_UCS1 *dd = PyUnicode_1BYTE_DATA(display);
        int blank = 1;
        for (Py_ssize_t i = 0; i < lim && blank; i++)
            if (!Py_UNICODE_ISSPACE(dd[i]))
                blank = 0;
        if (!blank) {
            if ((prefix = PyUnicode_FromFormat("%U:name:", name)) == NULL)
                goto fail;
            PyObject *cargs[3] = {display, prefix, NULL};
            PyObject *lim500 = PyLong_FromLong(500);
            if (lim500 == NULL)
                goto fail;
            cargs[2] = lim500;
            set = PyObject_Vectorcall(words, cargs, 3, NULL);
            Py_DECREF(lim500);
            if (set == NULL || (it = PyObject_GetIter(set)) == NULL)
                goto fail;
            while ((w = PyIter_Next(it)) != NULL) {
                if (PyList_Append(out, w) < 0)
                    goto fail;
                Py_CLEAR(w);
            }
            if (PyErr_Occurred())
                goto fail;
        }
    }
    if (k == 0) {
        /* value.strip() empty or "<>": ":empty", else ":no-domain" */
        Py_ssize_t a = 0, b = n;
        while (a < b && Py_UNICODE_ISSPACE(d[a]))
            a++;
        while (b > a && Py_UNICODE_ISSPACE(d[b - 1]))
            b--;
        int empty = a == b || (b - a == 2 && d[a] == '<' && d[a + 1] == '>');
        if (ss_list_append_new(out, PyUnicode_FromFormat("%U%s", name, empty ? ":empty" : ":no-domain")) < 0)
            goto fail;
    }
    for (int a = 0; a < k; a++) {
        /* user, _, domain = addr.lower().rpartition("@"); domain = domain.strip(".") */
        char buf[64 + 1 + 255];
        Py_ssize_t len = en[a] - st[a], at = -1;
        for (Py_ssize_t i = 0; i < len; i++) {
            Py_UCS1 c = d[st[a] + i];
            buf[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            if (c == '@')
                at = i;
        }
        if (at < 0) {
            PyErr_SetString(PyExc_SystemError, "_hdrscan: an address without '@'");
            goto fail;
        }
        Py_ssize_t ds = at + 1, de = len;
        while (ds < de && buf[ds] == '.')
            ds++;
        while (de > ds && buf[de - 1] == '.')
            de--;
        if (de > ds) {
            PyObject *dom = PyUnicode_FromStringAndSize(buf + ds, de - ds);
            if (dom == NULL)
                goto fail;
            if (append_fmt(out, name, ":domain:", dom) < 0) {
                Py_DECREF(dom);
                goto fail;
            }
            PyObject *reg = PyObject_CallOneArg(registered_domain, dom);
            if (reg == NULL) {
                Py_DECREF(dom);
                goto fail;
            }
            int same = PyObject_RichCompareBool(reg, dom, Py_EQ);
            Py_DECREF(dom);
            if (same < 0 || (!same && !PyUnicode_Check(reg))) {
                if (same >= 0)
                    PyErr_SetString(PyExc_TypeError, "_hdrscan: registered_domain did not return a str");
                Py_DECREF(reg);
                goto fail;
            }
            int rc = same ? 0 : append_fmt(out, name, ":domain:", reg);
            Py_DECREF(reg);
            if (rc < 0)
                goto fail;
        }
        if (at > 0 && at <= 20) {
            PyObject *user = PyUnicode_FromStringAndSize(buf, at);
            if (user == NULL)
                goto fail;
            int rc = append_fmt(out, name, ":user:", user);
            Py_DECREF(user);
            if (rc < 0)
                goto fail;
        } else if (ss_list_append_new(out, PyUnicode_FromFormat("%U:user:skip %zd", name, at / 10 * 10)) < 0) {
            goto fail;
        }
    }
done:  /* one cleanup for both ends: w is NULL unless a failure left it held */
    for (int a = 0; a < k; a++)
        Py_XDECREF(addrs[a]);
    Py_XDECREF(display);
    Py_XDECREF(space);
    Py_XDECREF(quote);
    Py_XDECREF(prefix);
    Py_XDECREF(set);
    Py_XDECREF(it);
    Py_XDECREF(w);
    return out;
fail:
    Py_CLEAR(out);
    goto done;
}
