"""End-to-end smoke test of the benchmark harness (benchmarks/run.py) on a few hundred messages.

Uses a sample of the pinned public corpus at ../shared/corpora (beside the repository) when
present, else a generated mini corpus; Bogofilter is the only peer (skipped when absent,
unless CI is set).  It checks the table's content, not speed: no timing is asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RUN = REPO / "benchmarks" / "run.py"
TARBALL = REPO.parent / "shared" / "corpora" / "spamassassin-public.tar.xz"
SPLIT = REPO.parent / "shared" / "corpora" / "spamassassin-public.tsv"
PAIRED = 2  # rounds of paired speed passes: one with spamscore first, one with Bogofilter first


def _need_bogofilter():
    if shutil.which("bogofilter") and os.access("/usr/bin/time", os.X_OK):
        return
    if os.environ.get("CI"):
        pytest.fail("bogofilter and /usr/bin/time are required in CI (.ci/setup.d/peers.sh installs them)")
    pytest.skip("bogofilter or /usr/bin/time not installed")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    _need_bogofilter()
    out = tmp_path_factory.mktemp("bench")
    if TARBALL.exists() and SPLIT.exists():
        corpus = ["--corpus", str(TARBALL), "--split", str(SPLIT), "--sample", "150"]
    else:
        corpus = ["--corpus", "generated", "--sample", "100"]
    cmd = [sys.executable, str(RUN), *corpus, "--peers", "bogofilter", "--quick", "--no-install",
           "--require-peers", "--stage-sample", "100", "--train-sizes", "100,200", "--skip", "profile",
           "--paired-passes", str(PAIRED),
           "--out", str(out), "--name", "smoke"]
    cp = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert cp.returncode == 0, cp.stderr[-3000:]
    data = json.loads((out / "smoke.json").read_text())
    return out, data, cp


def test_table_has_a_row_per_system_with_sane_figures(result):
    _, data, _ = result
    rows = {s["key"]: s for s in data["systems"]}
    assert set(rows) == {"spamscore", "bogofilter"}
    n_test = sum(v for k, v in data["meta"]["corpus"]["counts"].items() if k.startswith("test_"))
    for key, s in rows.items():
        m = s["metrics"]
        assert m["messages"] == n_test and m["missing"] == 0, key
        assert 0.5 < m["roc_auc"] <= 1.0, (key, m["roc_auc"])
        assert 0.0 <= m["one_minus_auc_pct"] < 50.0
        for k in ("fpr_pct", "fnr_pct", "fnr_at_fpr_0_1_pct", "fnr_at_fpr_1_pct"):
            assert 0.0 <= m[k] <= 100.0, (key, k, m[k])
        assert m["fnr_at_fpr_0_1_pct"] >= m["fnr_at_fpr_1_pct"]
        assert s["msgs_per_s_1"] > 0 and s["msgs_per_s_all"] > 0, key
        assert s["train_s"] > 0 and s["model_bytes"] > 0, key
    assert rows["spamscore"]["score_maxrss_kb"] > 1000


def test_ratios_are_the_quotients_of_the_table(result):
    _, data, _ = result
    rows = {s["key"]: s for s in data["systems"]}
    (r,) = data["ratios"]
    ss, bf = rows["spamscore"], rows["bogofilter"]
    assert r["peer"] == "Bogofilter"
    assert r["speed_1"] == pytest.approx(ss["msgs_per_s_1"] / bf["msgs_per_s_1"])
    if bf["metrics"]["one_minus_auc_pct"] > 0:
        assert r["one_minus_auc"] == pytest.approx(ss["metrics"]["one_minus_auc_pct"] / bf["metrics"]["one_minus_auc_pct"])


def test_markdown_roc_stages_and_scaling(result):
    out, data, _ = result
    md = (out / "smoke.md").read_text()
    assert "| spamscore |" in md and "| Bogofilter |" in md
    png = (out / "smoke-roc.png").read_bytes() if (out / "smoke-roc.png").exists() else b""
    try:
        import matplotlib  # noqa: F401  (the `bench` extra)
    except ImportError:
        assert not png and "smoke-roc.png" not in md
    else:
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and "smoke-roc.png" in md
    stages = {r["stage"]: r["us_per_msg"] for r in data["stages"]["rows"]}
    assert stages["total (Model.score)"] > 0 and stages["parse"] > 0
    assert stages["parse"] < stages["total (Model.score)"]
    sz = data["scaling_size"]
    assert {r["shape"] for r in sz["rows"]} == {"text", "html", "attachment"}
    assert all(r["ms"] > 0 for r in sz["rows"])
    assert [r["messages"] for r in data["scaling_train"]["rows"]] == [100, 200]


def test_paired_speed_passes_alternate_and_ratios_are_the_quotients(result):
    out, data, _ = result
    p = data["paired"]
    n_test = sum(v for k, v in data["meta"]["corpus"]["counts"].items() if k.startswith("test_"))
    assert p["messages"] == n_test
    assert [r["round"] for r in p["rounds"]] == list(range(1, PAIRED + 1))
    assert [r["first"] for r in p["rounds"]] == ["spamscore", "bogofilter"]
    for r in p["rounds"]:
        ss, bf = r["spamscore"], r["bogofilter"]
        for k in ("msgs_per_s", "msgs_per_cpu_s"):
            assert ss[k] > 0 and bf[k] > 0, (r["round"], k)
        assert r["ratio_msgs_per_s"] == pytest.approx(ss["msgs_per_s"] / bf["msgs_per_s"])
        assert r["ratio_msgs_per_cpu_s"] == pytest.approx(ss["msgs_per_cpu_s"] / bf["msgs_per_cpu_s"])
    for k in ("ratio_msgs_per_s", "ratio_msgs_per_cpu_s"):
        ratios = sorted(r[k] for r in p["rounds"])
        assert p[k]["min"] == ratios[0] and p[k]["max"] == ratios[-1]
        assert p[k]["median"] == pytest.approx((ratios[0] + ratios[-1]) / 2)  # two rounds
    for system in ("spamscore", "bogofilter"):
        assert p[f"{system}_msgs_per_s"] == pytest.approx(sum(r[system]["msgs_per_s"] for r in p["rounds"]) / PAIRED)
    md = (out / "smoke.md").read_text()
    head = "## Speed beside Bogofilter, paired passes"
    assert head in md
    assert md.index("## spamscore relative to each peer") < md.index(head) < md.index("## Notes per system")
    section = md[md.index(head):md.index("## Notes per system")]
    assert section.count("\n| ") == PAIRED + 3  # header, one row per round, median, min - max
