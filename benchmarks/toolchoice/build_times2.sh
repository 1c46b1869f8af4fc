#!/bin/bash
# from clean, in place, interleaved: C two-function module, Cython one module (fast.pyx), full C core; cythonize step alone
PY=/tmp/toolchoice/venv/bin/python
for run in 1 2 3 4 5; do
  for d in c2 cy1 cfull; do
    cd /tmp/toolchoice/$d
    rm -rf build *.egg-info tc_cy1/*.c tc_cy1/*.so tc_c2/*.so spamscore/*.so
    /usr/bin/time -f "$d run$run wall=%e user=%U sys=%S" $PY setup.py -q build_ext --inplace >/dev/null 2>/tmp/toolchoice/data/bt.err
    tail -1 /tmp/toolchoice/data/bt.err
  done
  cd /tmp/toolchoice; rm -f data/cyonly.c
  /usr/bin/time -f "cythonize-only(fast.pyx) run$run wall=%e user=%U sys=%S" venv/bin/cython -3 cy1/tc_cy1/fast.pyx -o data/cyonly.c 2>&1 | tail -1
done
