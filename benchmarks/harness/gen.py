"""Synthetic messages: a labelled mini corpus (when the real one is absent) and
messages of a chosen size and shape for the scaling benchmark.

Deterministic for a given seed.  Nothing here pretends to be realistic mail: the
mini corpus only has to give every system something learnable so the harness can
be exercised end to end; figures that matter come from the pinned public corpus.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random

HAM_WORDS = ("meeting agenda project review patch build release kernel python thanks regards "
             "lunch tomorrow minutes draft schedule report budget team question answer list "
             "thread reply mailing archive debian package upstream bug fix commit branch").split()
SPAM_WORDS = ("free money offer winner cash prize click viagra cheap loan credit guaranteed "
              "limited urgent bonus casino million dollars refinance mortgage pills discount "
              "unsubscribe exclusive deal act now order today lowest price").split()
COMMON = ("the a to of and in is it you for on that this with be are have from at your "
          "we as not by will can more all one").split()


def _words(rng: random.Random, vocab: list[str], n: int) -> str:
    out = []
    for i in range(n):
        out.append(rng.choice(vocab) if rng.random() < 0.35 else rng.choice(COMMON))
        if i % 12 == 11:
            out.append("\n")
    return " ".join(out)


def message(rng: random.Random, label: str, n: int) -> bytes:
    """One small labelled message (plain text, or HTML for some spam)."""
    spam = label == "spam"
    vocab = SPAM_WORDS if spam else HAM_WORDS
    # a little overlap so AUC is high but not trivially 1
    if rng.random() < 0.15:
        vocab = HAM_WORDS if spam else SPAM_WORDS
    sender = f"{rng.choice(['offers', 'promo', 'win'])}{n}@{rng.choice(['cheap-deals.biz', 'bestprice.info'])}" if spam \
        else f"{rng.choice(['alice', 'bob', 'carol', 'dave'])}@{rng.choice(['example.org', 'lists.debian.org'])}"
    subject = _words(rng, vocab, rng.randint(3, 7)).replace("\n", "")
    body = _words(rng, vocab, rng.randint(40, 200))
    head = (f"From: {sender}\r\nTo: user@example.net\r\nSubject: {subject}\r\n"
            f"Date: Mon, 02 Sep 2002 12:{n % 60:02d}:00 +0000\r\nMessage-ID: <{n}.{label}@gen>\r\n")
    if spam and rng.random() < 0.4:
        url = f"http://{rng.choice(['bit.ly', 'cheap-deals.biz', '198.51.100.7'])}/{n}"
        html = f"<html><body><p>{body}</p><a href=\"{url}\">click here</a><img src=\"{url}.gif\"></body></html>"
        return (head + "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n").encode()
    if not spam and rng.random() < 0.3:
        body += f"\nhttps://{rng.choice(['github.com', 'bugs.debian.org'])}/{n}\n"
    return (head + "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body + "\r\n").encode()


def write_mini_corpus(root: str, n_spam: int = 200, n_ham: int = 300, seed: int = 1) -> str:
    """Write ``root/{spam,ham}/NNNNN.<md5>`` and ``root/split.tsv`` (same columns and
    split rule as spamassassin-public.tsv: train where md5(path)[0] < 8).  Returns the TSV path."""
    rng = random.Random(seed)
    rows = []
    for label, count in (("spam", n_spam), ("ham", n_ham)):
        os.makedirs(os.path.join(root, label), exist_ok=True)
        for i in range(count):
            raw = message(rng, label, i)
            digest = hashlib.md5(raw).hexdigest()
            rel = f"{label}/{i:05d}.{digest}"
            with open(os.path.join(root, rel), "wb") as fh:
                fh.write(raw)
            split = "train" if int(hashlib.md5(rel.encode()).hexdigest()[0], 16) < 8 else "test"
            rows.append(f"{rel}\t{label}\t{split}\t{digest}\n")
    tsv = os.path.join(root, "split.tsv")
    with open(tsv, "w") as fh:
        fh.write("path\tlabel\tsplit\tmd5\n")
        fh.writelines(rows)
    return tsv


HEADERS = ("From: \"Sales Team\" <sales@offers.example.com>\r\nTo: user@example.net\r\n"
           "Subject: Your monthly statement and a special offer\r\n"
           "Date: Tue, 03 Sep 2002 10:00:00 +0000\r\nMessage-ID: <scaling@gen>\r\nMIME-Version: 1.0\r\n")


def _fill_text(rng: random.Random, size: int) -> str:
    vocab = HAM_WORDS + SPAM_WORDS + COMMON
    parts, n = [], 0
    while n < size:
        line = " ".join(rng.choice(vocab) for _ in range(12)) + "\n"
        parts.append(line)
        n += len(line)
    return "".join(parts)[:size]


def _fill_html(rng: random.Random, size: int) -> str:
    vocab = HAM_WORDS + SPAM_WORDS + COMMON
    parts, n, i = ["<html><body><table>"], 0, 0
    while n < size:
        i += 1
        w = " ".join(rng.choice(vocab) for _ in range(8))
        row = (f"<tr><td style=\"color:#{i % 999:03d}\"><a href=\"http://shop{i % 50}.example.com/p?id={i}\">{w}</a>"
               f"</td><td><img src=\"http://img.example.com/{i}.png\" width=\"10\" height=\"10\">{w}</td></tr>\n")
        parts.append(row)
        n += len(row)
    parts.append("</table></body></html>")
    return "".join(parts)


def sized_message(shape: str, size: int, seed: int = 7) -> bytes:
    """A message of about ``size`` bytes: shape 'text' (one plain body), 'html' (a short
    plain part plus a huge HTML part) or 'attachment' (short text plus a huge base64
    attachment)."""
    rng = random.Random(seed)
    body_budget = max(size - len(HEADERS) - 300, 64)
    if shape == "text":
        return (HEADERS + "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + _fill_text(rng, body_budget)).encode()
    b = "=-=-=bench-boundary=-=-="
    if shape == "html":
        return (HEADERS + f"Content-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\n"
                f"--{b}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee the HTML part.\r\n"
                f"--{b}\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n{_fill_html(rng, body_budget)}\r\n"
                f"--{b}--\r\n").encode()
    if shape == "attachment":
        raw = rng.randbytes(body_budget * 3 // 4)
        enc = base64.encodebytes(raw).decode().replace("\n", "\r\n")
        return (HEADERS + f"Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n"
                f"--{b}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nPlease find the statement attached.\r\n"
                f"--{b}\r\nContent-Type: application/pdf; name=\"statement.pdf\"\r\n"
                f"Content-Disposition: attachment; filename=\"statement.pdf\"\r\n"
                f"Content-Transfer-Encoding: base64\r\n\r\n{enc}\r\n--{b}--\r\n").encode()
    raise ValueError(f"expected shape text, html or attachment, got {shape!r}")
