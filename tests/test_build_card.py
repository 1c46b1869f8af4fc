"""training/build_default.py's card: the speed section from a stored benchmark run, and --card-only."""

from __future__ import annotations

import importlib.util
import json
import shutil

from conftest import REPO

spec = importlib.util.spec_from_file_location("build_default", REPO / "training" / "build_default.py")
bd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bd)


def _bench(tmp_path, paired=True):
    res = {"meta": {"finished_utc": "2026-01-02 03:04:05Z", "git": "abc1234"},
           "systems": [{"key": "spamscore", "msgs_per_s_1": 2000.4, "msgs_per_cpu_s": 2100.0, "train_s": 4.25},
                       {"key": "bogofilter", "msgs_per_s_1": 1.0}]}
    if paired:
        res["paired"] = {"rounds": [{}, {}, {}],
                         "ratio_msgs_per_s": {"median": 1.2, "min": 0.9, "max": 1.3},
                         "ratio_msgs_per_cpu_s": {"median": 1.1, "min": 1.0, "max": 1.25}}
    p = tmp_path / "latest.json"
    p.write_text(json.dumps(res))
    return p


def test_speed_section_from_a_stored_run(tmp_path):
    text = bd.speed_section(bd.benchmark_summary(_bench(tmp_path)))
    assert "git abc1234" in text and "in 3 paired rounds" in text
    assert "1.20x messages a second (median; 0.90x to 1.30x)" in text and "1.10x per CPU-second (1.00x to 1.25x)" in text
    assert "2,000 messages a second in one process, 2,100 per CPU-second" in text and "training 4.2 s" in text


def test_speed_section_without_paired_rounds_or_a_run(tmp_path):
    text = bd.speed_section(bd.benchmark_summary(_bench(tmp_path, paired=False)))
    assert "paired" not in text and "2,000 messages a second" in text
    assert bd.benchmark_summary(tmp_path / "missing.json") is None
    assert "Not measured" in bd.speed_section(None)


def test_card_only_rewrites_the_card_without_training(tmp_path, monkeypatch):
    shutil.copy(REPO / "models" / "default.metrics.json", tmp_path / "default.metrics.json")
    bench = _bench(tmp_path)
    real = bd.benchmark_summary
    monkeypatch.setattr(bd, "benchmark_summary", lambda: real(bench))
    assert bd.main(["--card-only", "--out", str(tmp_path)]) == 0
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert card.startswith("# Model card") and "in 3 paired rounds" in card and "(1-AUC)%" in card
    assert json.loads((tmp_path / "default.metrics.json").read_text())["benchmark"]["git"] == "abc1234"
    assert not (tmp_path / "default.spamscore").exists()


def test_the_shipped_card_matches_its_metrics():
    info = json.loads((REPO / "models" / "default.metrics.json").read_text())
    assert bd.card(info) == (REPO / "models" / "MODEL_CARD.md").read_text()
