"""Feature profiles (full / portable) and campaign mode (unsent=True)."""

from __future__ import annotations

import random

import pytest

from conftest import fixture_bytes, make_message
from spamscore import features as F
from spamscore.errors import InputError, ModelFormatError
from spamscore.features import profiles
from spamscore.message import parse
from spamscore.scoring import Model, train

DELIVERED = (
    b"Return-Path: <bounce@lists.example.org>\n"
    b"Received: from relay.example.org (relay.example.org [192.0.2.7]) by mx.example.net with ESMTPS id X1;"
    b" Mon, 1 Dec 2025 10:00:00 +0900\n"
    b"Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org;"
    b" dmarc=pass header.from=example.org\n"
    b"Received-SPF: pass (mx.example.net: domain of example.org designates 192.0.2.7 as permitted sender)\n"
    b"Delivered-To: user@example.net\n"
    b"From: Example News <news@example.org>\nTo: user@example.net\nSubject: received: the notes\n"
    b"Date: Mon, 1 Dec 2025 10:00:00 +0900\nMessage-ID: <abc@mail.example.org>\n"
    b"List-Id: Notes <notes.example.org>\nOrganization: Example Org\n"
    b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
    b"Meeting notes from yesterday. received:foo stays a body word.\n"
)


def feats(raw: bytes, **opts) -> set[str]:
    return set(F.extract(parse(raw), F.FeatureOptions(**opts)))


def test_full_keeps_every_family_and_portable_drops_its_families():
    full = feats(DELIVERED)
    port = feats(DELIVERED, profile="portable")
    dropped = full - port
    assert dropped, "portable dropped nothing"
    assert all(f.startswith(profiles.PORTABLE_DROPS) for f in dropped)
    for prefix in ("received:", "date:tz:", "list-id:", "organization:", "from:user:", "content-type:"):
        assert any(f.startswith(prefix) for f in full), prefix
        assert not any(f.startswith(prefix) for f in port if "foo" not in f), prefix  # (foo: body words)
    # words, header names and structure stay
    assert {"meeting", "hdr:received", "hdr:list-id", "subject:notes"} <= port
    assert any(f.startswith("date:shape:") for f in port)


def test_only_header_and_authentication_features_are_dropped_never_body_words():
    # a body word that looks like a dropped prefix stays (the compiled and Python
    # body-word paths must give the same features whatever the profile)
    port = feats(DELIVERED, profile="portable", unsent=True)
    assert "received:foo" in port


def test_unsent_drops_delivery_features_so_neither_they_nor_their_absence_count():
    sent = feats(DELIVERED, trusted_authserv_ids=frozenset({"mx.example.net"}))
    unsent = feats(DELIVERED, trusted_authserv_ids=frozenset({"mx.example.net"}), unsent=True)
    assert any(f.startswith("auth:dmarc=pass") for f in sent)
    assert any(f.startswith("hdr:received") for f in sent)
    for f in (f for f in unsent if "foo" not in f):  # (foo: body words)
        assert not f.startswith(profiles.UNSENT_PREFIXES), f
    assert sent - unsent
    # exactly the delivery features go: everything else is the same
    assert unsent == {f for f in sent if "foo" in f or not f.startswith(profiles.UNSENT_PREFIXES)}


def test_an_unknown_profile_is_a_clear_error():
    with pytest.raises(InputError, match="portable"):
        F.FeatureOptions(profile="tiny")


def _docs(n=40, seed=3):
    rng = random.Random(seed)
    raws = [make_message(rng, i % 2 == 0, i) for i in range(n)]
    return raws, ["spam" if i % 2 == 0 else "ham" for i in range(n)]


def test_the_profile_is_stored_in_the_model_file_and_used_by_score(tmp_path):
    raws, labels = _docs()
    opts = F.FeatureOptions(profile="portable")
    docs = [F.extract(parse(r), opts) for r in raws]
    model = train(docs, labels, options=opts)
    path = tmp_path / "m.spamscore"
    model.save(path)
    loaded = Model.load(path)
    assert loaded.options.profile == "portable"
    assert loaded.meta["profile"] == "portable"
    got = loaded.features(DELIVERED)
    assert not any(f.startswith(("received:", "date:tz:")) for f in got if "foo" not in f)
    assert loaded.score(DELIVERED).probability == model.score(DELIVERED).probability


def test_a_model_file_with_a_bad_profile_is_refused(tmp_path):
    import json
    import zipfile

    import numpy as np

    raws, labels = _docs()
    good = tmp_path / "m.spamscore"
    train([F.extract(parse(r)) for r in raws], labels).save(good, format_version=1)  # (the .npz: forged by hand below)
    with zipfile.ZipFile(good) as zf:
        arrays = {n[:-4]: np.load(zf.open(n), allow_pickle=False) for n in zf.namelist()}
    header = json.loads(bytes(arrays["header"]).decode())
    assert header["profile"] == "full"
    header["profile"] = "nonsense"
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez_compressed(tmp_path / "bad.npz", **arrays)
    (tmp_path / "bad.npz").rename(tmp_path / "bad.spamscore")
    with pytest.raises(ModelFormatError, match="profile"):
        Model.load(tmp_path / "bad.spamscore")


def test_score_unsent_equals_score_features_of_the_unsent_features(default_model):
    raw = fixture_bytes("campaigns/clean-newsletter.eml")
    v = default_model.score(raw, unsent=True)
    fs = F.extract(parse(raw), default_model.unsent_options)
    want = default_model.score_features(fs)
    assert (v.probability, v.label) == (want.probability, want.label)
    assert not any(f.startswith(profiles.UNSENT_PREFIXES) for f in fs if ":" in f and not f.startswith("received:f"))


def test_the_shipped_model_is_portable(default_model):
    assert default_model.options.profile == "portable"
    assert default_model.nb.text_min_dev is not None and default_model.nb.cjk_s


def test_cli_train_takes_a_profile_and_refuses_an_unknown_one(small_corpus, tmp_path):
    from typer.testing import CliRunner

    from spamscore.cli import app

    out = tmp_path / "p.spamscore"
    r = CliRunner().invoke(app, ["train", "--index", str(small_corpus / "labels.tsv"), "--features", "portable",
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.exists()
    assert Model.load(out).options.profile == "portable"
    r = CliRunner().invoke(app, ["train", "--index", str(small_corpus / "labels.tsv"), "--features", "tiny",
                                 "-o", str(tmp_path / "q.spamscore")])
    assert r.exit_code == 2
    assert "profile" in r.output
