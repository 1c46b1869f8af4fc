"""benchmarks/python_instructions.py's reading of callgrind output, on a small committed sample
(tests/data/callgrind_sample.out (not under fixtures/, whose files are all messages), written in valgrind 3.19's format: name compression, relative
positions, an inlined file, calls with and without ``cob=``, a recursion level). No valgrind needed."""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

import python_instructions as pi  # noqa: E402

SAMPLE = REPO / "tests" / "data" / "callgrind_sample.out"
LIBPY = "/opt/py/lib/libpython3.12.so.1.0"
LD = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"


@pytest.fixture(scope="module")
def parsed():
    return pi.parse_callgrind(str(SAMPLE))


def test_self_cost_leaves_out_calls_and_keeps_inlined_code(parsed):
    s = parsed["self"]
    # 100 + 20 + 6 (inlined from object.h) + 4; the call's inclusive 44 is not self cost
    assert s[(LIBPY, "_PyObject_Malloc")] == 130
    # the recursion level 'N folds into the function: 300 + 200, not the 130 and 11 of its calls
    assert s[(LIBPY, "_PyEval_EvalFrameDefault")] == 500
    assert s[(LD, "__tls_get_addr")] == 55
    assert parsed["totals"] == 976 == sum(s.values())
    assert parsed["cmd"] == "/venv/bin/python score_loop.py 1 1 messages.txt"


def test_calls_name_caller_and_callee_objects(parsed):
    calls = parsed["calls"]
    assert dict(calls[(LD, "__tls_get_addr")]) == {(LIBPY, "_PyObject_Malloc"): 4,
                                                    (LIBPY, "_PyEval_EvalFrameDefault"): 1}
    # no cob= before the call: the callee is in the caller's object
    assert dict(calls[(LIBPY, "_PyObject_Malloc")]) == {(LIBPY, "_PyEval_EvalFrameDefault"): 2}


def test_categories_and_keys_line_up_across_builds():
    assert pi.category(LIBPY) == "interpreter"
    assert pi.category("/tmp/w/relinked-3.12/bin/python") == "interpreter"   # libpython linked in
    assert pi.category("/root/.pyenv/versions/3.12.1/bin/python3.12") == "interpreter"
    assert pi.category(LD) == "ld.so"
    assert pi.category("/v/site-packages/spamscore/_core.cpython-313-x86_64-linux-gnu.so") == "spamscore._core"
    assert pi.category("/p/lib/python3.12/lib-dynload/_struct.cpython-312-x86_64-linux-gnu.so") == "stdlib C modules"
    assert pi.category("/usr/lib/x86_64-linux-gnu/libc.so.6") == "libc"
    # code without symbols: one entry per library, whatever its address, build hash or ABI tag
    a = pi.fn_key("/v3.11/site-packages/numpy.libs/libscipy_openblas64_-32a4b2a6.so", "0x0000000000216260")
    b = pi.fn_key("/v3.12/site-packages/numpy.libs/libscipy_openblas64_-9e3e5a4a.so", "0x0000000000227260")
    assert a == b == ("other site-packages", "(no symbol) libscipy_openblas64_.so")
    assert pi.fn_key("/x/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
                     "int atimsort_<npy::double_tag>(void*, long*, long)") == \
        pi.fn_key("/y/_multiarray_umath.cpython-312-x86_64-linux-gnu.so",
                  "int atimsort_<npy::floating_point_type<double, (NPY_TYPES)12>, double, false>(void*, long*, long)") == \
        ("other", "atimsort_<...>")
    assert pi.fn_key(LIBPY, "_PyObject_Malloc") == ("interpreter", "_PyObject_Malloc")
    assert pi.fn_key("/usr/lib/x86_64-linux-gnu/libc.so.6", "(below main)") == ("libc", "(below main)")
    assert pi.fn_key("/x/_multiarray_umath.cpython-311-x86_64-linux-gnu.so", "0x10")[1] == \
        pi.fn_key("/y/_multiarray_umath.cpython-312-x86_64-linux-gnu.so", "0x20")[1]


def test_per_message_and_differences(parsed):
    # a "0 passes" run: the same start-up, no scoring (no words_impl, fewer allocations, no TLS calls)
    p0 = {"totals": 476, "calls": {},
          "self": collections.Counter({(LIBPY, "_PyObject_Malloc"): 30, (LIBPY, "_PyEval_EvalFrameDefault"): 300,
                                       ("/usr/lib/x86_64-linux-gnu/libc.so.6", "__memcpy_avx_unaligned_erms"): 21,
                                       ("/v/site-packages/numpy.libs/libscipy_openblas64_-32a4b2a6.so", "0x1"): 125})}
    pm = pi.per_message(p0, parsed, 2)
    assert pm["instructions"] == 250.0                      # (976 - 476) / 2
    assert pm["tls_instructions"] == 27.5 and pm["tls_calls"] == 2.5
    assert pm["tls_callers"] == {"interpreter:_PyObject_Malloc": 2.0, "interpreter:_PyEval_EvalFrameDefault": 0.5}
    assert pm["categories"]["spamscore._core"] == 100.0
    assert pm["categories"]["other site-packages"] == -27.5  # (70 - 125) / 2: a run can spend less
    assert "libc:__memcpy_avx_unaligned_erms" not in pm["functions"]   # the same in both runs
    assert sum(pm["categories"].values()) == pm["instructions"]

    base = {"functions": {"interpreter:_PyObject_Malloc": 30.0, "interpreter:_PyFrame_Clear": 8.0,
                          "spamscore._core:words_impl": 100.0}}
    d = pi.differences(pm, base, 3)
    assert [(r["function"], r["added"]) for r in d["added"]] == [
        ("interpreter:_PyEval_EvalFrameDefault", 100.0), ("ld.so:__tls_get_addr", 27.5),
        ("interpreter:_PyObject_Malloc", 20.0)]
    assert [(r["function"], r["added"]) for r in d["removed"]] == [
        ("other site-packages:(no symbol) libscipy_openblas64_.so", -27.5), ("interpreter:_PyFrame_Clear", -8.0)]
