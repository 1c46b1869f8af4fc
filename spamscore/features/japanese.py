"""Japanese phrases with prior evidence: what the model knows about Japanese spam before any Japanese training mail.

Japanese is written without spaces; :mod:`.tokens` cuts a run of CJK
characters into overlapping bigrams.  A bigram says little alone (信停 is half
of 配信停止, "stop delivery", which every legitimate newsletter carries), and
the SpamAssassin corpus holds three Japanese messages, all spam: trained on
it, every common bigram (です, ます, お知らせ's halves) read as spam evidence,
so any Japanese sender was told their mail was spam (issue 18).

Two things follow:

* The model shrinks CJK tokens towards neutral while their counts are small
  (``TokenNB(cjk_s=...)``: a CJK token seen in three spam and no ham gets
  f(w) = 0.63 instead of 0.99, below the clue threshold), so being Japanese
  is no evidence until real Japanese mail has been counted.
* This table gives prior evidence for whole phrases of well-known Japanese
  spam and phishing wording (無料 "free", 緊急 "urgent", 当選 "you won", 本人確認
  "identity verification", アカウント停止 "account suspended" ...), and a few
  phrases of ordinary business correspondence.  A CJK run that contains a
  phrase yields the token ``ja:PHRASE``.  Each prior is ``(x, s)``: prior spam
  probability x worth s pseudo-messages, with the same mechanism as the
  authentication priors (:data:`spamscore.model.AUTH_PRIORS`): in Robinson's
  f(w) = (s*x + n*p(w)) / (s + n) the prior decides while a phrase has no
  counts, and real training mail outweighs it after a few messages.

The values are deliberately modest (0.75 to 0.9, strength 2 or 3): each spam
phrase alone is a weak clue (log-odds 1.1 to 2.2, a word seen once in training
is 3.1), so one 無料 in a shop's newsletter does not make it spam, while
phishing mail, which stacks 本人確認, アカウント停止, 至急 and ログイン, collects
several.  Sources: the wording of Japanese phishing reported by the Council of
Anti-Phishing Japan (フィッシング対策協議会) in its public alerts (bank, card,
carrier, e-commerce and tax-office lures), and common Japanese spam subjects
(prizes, dating, side jobs, investment).  ``tests/test_japanese.py`` checks
that every phrase yields its token in all four common charsets, and that the
table's values lie where they count as clues.
"""

from __future__ import annotations

__all__ = ["JA_PHRASE_PRIORS", "PHRASES", "phrase_tokens"]

_SPAM_STRONG = (0.9, 3.0)   # phishing and prize wording
_SPAM = (0.85, 3.0)         # offers, urgency
_SPAM_WEAK = (0.75, 2.0)    # marketing words that legitimate shops use too
_HAM = (0.25, 2.0)          # business correspondence

_PHRASES: dict[str, tuple[float, float]] = {
    # phishing: accounts, identity, payment
    "本人確認": _SPAM_STRONG, "アカウント停止": _SPAM_STRONG, "アカウントを停止": _SPAM_STRONG,
    "アカウントが停止": _SPAM_STRONG, "利用停止": _SPAM_STRONG, "利用制限": _SPAM_STRONG,
    "不正アクセス": _SPAM, "不正利用": _SPAM, "異常なログイン": _SPAM_STRONG, "ログインが検出": _SPAM_STRONG,
    "支払い情報": _SPAM, "お支払い方法": _SPAM_WEAK, "カード情報": _SPAM_STRONG, "暗証番号": _SPAM_STRONG,
    "情報を更新": _SPAM, "情報の更新": _SPAM, "24時間以内": _SPAM_STRONG, "48時間以内": _SPAM_STRONG,
    "凍結": _SPAM, "未払い": _SPAM, "未納": _SPAM, "差し押さえ": _SPAM_STRONG, "税務署": _SPAM,
    "不在通知": _SPAM, "お荷物": _SPAM_WEAK,
    # urgency
    "緊急": _SPAM, "至急": _SPAM, "今すぐ": _SPAM, "直ちに": _SPAM, "期限切れ": _SPAM,
    # prizes, money
    "当選": _SPAM_STRONG, "当選者": _SPAM_STRONG, "賞金": _SPAM_STRONG, "受け取り": _SPAM_WEAK,
    "現金": _SPAM, "高収入": _SPAM_STRONG, "副業": _SPAM_STRONG, "在宅ワーク": _SPAM_STRONG,
    "稼げる": _SPAM_STRONG, "儲かる": _SPAM_STRONG, "必ず儲": _SPAM_STRONG, "元本保証": _SPAM_STRONG,
    "投資": _SPAM_WEAK, "仮想通貨": _SPAM, "暗号資産": _SPAM, "配当": _SPAM, "融資": _SPAM,
    "借金": _SPAM, "即日": _SPAM_WEAK,
    # offers
    "無料": _SPAM_WEAK, "完全無料": _SPAM, "登録無料": _SPAM, "無料プレゼント": _SPAM, "限定": _SPAM_WEAK,
    "今だけ": _SPAM, "激安": _SPAM, "特別オファー": _SPAM, "クリック": _SPAM_WEAK, "バイアグラ": _SPAM_STRONG,
    # dating and adult
    "出会い": _SPAM_STRONG, "人妻": _SPAM_STRONG, "セフレ": _SPAM_STRONG, "アダルト": _SPAM_STRONG,
    "即会い": _SPAM_STRONG, "熟女": _SPAM_STRONG,
    # ordinary business correspondence
    "お世話になっております": _HAM, "議事録": _HAM, "打ち合わせ": _HAM, "添付資料": _HAM,
    "ご検討": _HAM, "取り急ぎ": _HAM,
}

PHRASES: tuple[str, ...] = tuple(_PHRASES)
JA_PHRASE_PRIORS: dict[str, tuple[float, float]] = {"ja:" + p: v for p, v in _PHRASES.items()}
_FIRST = frozenset(p[0] for p in PHRASES)


def phrase_tokens(text: str, out: set[str]) -> None:
    """Add ``ja:PHRASE`` to ``out`` for each table phrase in ``text`` (a CJK run or a word).

    A quick check of the phrases' first characters first: most runs hold none.
    """
    if _FIRST.isdisjoint(text):
        return
    for p in PHRASES:
        if p in text:
            out.add("ja:" + p)
