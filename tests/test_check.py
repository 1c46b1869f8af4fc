"""spamscore check: findings, clue explanations, DNS checks and the CLI."""

from __future__ import annotations

from pathlib import Path

from spamscore.message import parse
from spamscore.scoring import Model, train

CAMPAIGNS = Path(__file__).resolve().parent / "fixtures" / "campaigns"

_SPAM = [
    "Subject: FREE cash prize winner\n\nYou are a WINNER! Claim your FREE cash prize now, click here "
    "https://bit.ly/abc urgent offer limited time viagra casino money",
    "Subject: Claim your prize now!!!\n\nCongratulations winner, free money, click here to claim cash "
    "http://192.0.2.1/claim act now guaranteed income",
    "Subject: Cheap viagra FREE shipping\n\nBuy now lowest price pills, free offer, click here, "
    "unsubscribe never, cash only https://bit.ly/pills",
    "Subject: URGENT: verify your account\n\nYour account is suspended, click here to verify your password "
    "now, urgent, free gift card prize",
    "Subject: Make money fast\n\nEarn extra cash from home, free, guaranteed, no cost, click here, winner "
    "casino lottery prize money",
    "Subject: 無料 当選 おめでとうございます\n\n当選しました！今すぐ無料で現金を受け取ってください。クリックしてください "
    "https://bit.ly/jp 緊急 高収入 副業",
    "Subject: You won a free iPhone\n\nClick here to claim your free prize, winner selected, cash bonus, "
    "limited time offer, act now",
    "Subject: Lowest mortgage rates\n\nFree quote, click here, cash out, guaranteed approval, no obligation, "
    "winner money",
]
_HAM = [
    "Subject: Minutes of Tuesday's meeting\n\nHi team, attached are the notes from the planning meeting. "
    "The garden project schedule moves to April; seedlings arrive next week.",
    "Subject: Lunch on Friday?\n\nHello Sam, shall we have lunch on Friday near the office? The new "
    "place does good soup. Regards, Alex",
    "Subject: Re: pruning the roses\n\nThanks for the tips on pruning. I cut back the shrubs to healthy "
    "buds as you suggested, and the compost is ready.",
    "Subject: Workshop schedule\n\nThe composting workshop is on Saturday morning at the Riverside "
    "shop. Please bring gloves. Notes will follow on the site.",
    "Subject: Garden notes for March\n\nSpring is here: harden off tomato seedlings for a week before "
    "planting them out, and prune late-flowering shrubs.",
    "Subject: 三月の園芸だより\n\n山田様、いつもありがとうございます。苗の植え付けと剪定についてご紹介します。"
    "講習会は土曜日です。",
    "Subject: Quarterly report draft\n\nPlease review the draft report before Thursday; comments in the "
    "shared document are welcome. Thanks, Maria",
    "Subject: Re: seedlings\n\nThe pepper seedlings look healthy. I will bring them in at night while "
    "frost is possible. See you at the workshop.",
]


def _msg(text: str, i: int, frm: str) -> bytes:
    return (f"From: {frm}\nTo: someone@example.net\nMessage-ID: <t{i}@example.net>\n"
            "Content-Type: text/plain; charset=utf-8\n" + text + "\n").encode("utf-8")


def train_model(path: Path) -> Model:
    """A small model from the messages above, saved to ``path`` and loaded back."""
    raws = [_msg(t, i, "Offers <deals@prize-center.biz>") for i, t in enumerate(_SPAM)]
    raws += [_msg(t, 100 + i, "Friends <friend@example-shop.com>") for i, t in enumerate(_HAM)]
    labels = ["spam"] * len(_SPAM) + ["ham"] * len(_HAM)
    base = Model.__new__(Model)
    from spamscore.features import FeatureOptions, extract

    docs = [extract(parse(r), FeatureOptions()) for r in raws]
    model = train(docs, labels, folds=4, meta={"trained_on": "tests/test_check.py"})
    model.save(path)
    del base
    return Model.load(path)
