"""Word tokens: body, subject and header words, with CJK segmentation.

Modelled on SpamBayes' tokenizer: every feature is a prefixed string
(``subject:free``, ``from:domain:example.com``); body words are lower-cased,
stripped of surrounding punctuation and kept when 3 to 12 characters long;
longer words become *skip* tokens (``skip:h 20``: first character and length
rounded down to tens), which SpamBayes found to carry most of what long
garbled words say, at a fraction of the vocabulary.
Adjacent kept words of the text/plain body also become bigrams
(``"click here"``), the Date header and the MIME boundary give *shapes*
(``date:shape:Aa, 9 Aa 9 9:9:9 -9``), and ``body:caps:N`` is the share of
capitals.  training/TOKENIZER.md has the measured effect of each, and of what
was tried and rejected.

Japanese, Chinese and Korean are written without spaces between words.  A
run of CJK characters is segmented into overlapping character bigrams
(``無料``, ``料で``...), which catches words such as 無料 (free) or 当選 (won)
inside unspaced text without a dictionary; a katakana run of 3 or more is
also kept whole (loan words: キャンペーン).  Text outside ASCII is first
NFKC-normalised (full-width ｆｒｅｅ -> free, half-width katakana -> full
width) and stripped of zero-width characters that spammers insert to split
words.
"""

from __future__ import annotations

import re
import string
import unicodedata
from functools import lru_cache
from itertools import chain, filterfalse, groupby
from operator import itemgetter

from .japanese import phrase_tokens
from .urls import registered_domain

from .. import _native
from . import native_checks

_speedups = _native.load("_speedups")  # the compiled word stage (word_tokens); None: _word_tokens does the same
_hdrscan = _native.load("_hdrscan")  # the compiled header loop; None: _header_tokens does the same
# the compiled body words (ASCII, Latin-1, common punctuation); None: words and body_tokens in Python
_bodyscan = _native.load("_bodyscan")


def _bodyscan_tables_agree() -> str | None:
    """Why ``_bodyscan``'s tables disagree with this interpreter (:func:`native_checks.bodyscan_tables_agree`)."""
    return native_checks.bodyscan_tables_agree(_bodyscan, normalize)


def _word_hashes_agree() -> bool:
    """Whether ``_bodyscan``'s word hashes are the token hash (:func:`native_checks.word_hashes_agree`)."""
    return native_checks.word_hashes_agree(_bodyscan, _speedups, _PUNCT, MAX_BIGRAM_WORDS)


def compiled_body_words() -> bool:
    """Whether the body words are taken by the compiled scanner (``_bodyscan``), which splits a text itself."""
    return _bodyscan is not None


__all__ = ["body_tokens", "header_tokens", "subject_tokens", "words", "DEFAULT_IGNORED_HEADERS"]

# Headers other filters add: they leak a previous verdict into training, so
# they are ignored by default (SpamAssassin's Bayes ignores them too).
DEFAULT_IGNORED_HEADERS = (
    "x-spam-", "x-bogosity", "x-spambayes-", "x-dspam-", "x-rspamd-", "x-virus-",
    # MailScanner writes its verdict ("Found to be clean") like the above.
    "x-mailscanner", "x-ucsc-cats-mailscanner",
    # Mailbox state written by mail stores and clients after delivery (mbox
    # Status/X-Status, Pine/UW-IMAP X-Keywords/X-UID/X-IMAP, Mozilla): a filter
    # at delivery never sees them, and in a corpus they record how the mail was
    # filed (on the SpamAssassin corpus X-Keywords is in 31% of spam, 0.5% of ham).
    "status", "x-status", "x-keywords", "x-uid", "x-imap", "x-mozilla-status",
    # Written by the local delivery agent into the stored copy (Exim's
    # "Delivery-date"): on the SpamAssassin corpus it records how each folder
    # was collected (92 ham, 263 spam), not what the sender did.  Ignoring it
    # cost nothing in cross-validation (training/COMPARISON.md, (e)).
    "delivery-date",
)

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[^\s{_CJK}\u3000-\u303f]+")
_CJK_RUN = re.compile(rf"[{_CJK}]")
_KATAKANA_RUN = re.compile(r"[\u30a0-\u30ff]{3,}")
_ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e")
_PUNCT = "\"'.,;:!?()[]{}<>*`~_|/\\-=+#&^%"
_FIRST_CJK = re.compile(rf"[{_CJK}]")
# Word bigrams are taken from the first this many words (bounds the work).
MAX_BIGRAM_WORDS = 3000
_NAME = itemgetter(0)


def normalize(text: str) -> str:
    """NFKC and zero-width removal for non-ASCII text (ASCII is returned as is).

    ``str.replace`` per zero-width character and ``is_normalized`` first: a
    ``str.translate`` with a deletion table cost ~2 ms on a 10 KB non-ASCII
    body, more than all the rest of the tokenizer.
    """
    if text.isascii():
        return text
    for ch in _ZERO_WIDTH:
        if ch in text:
            text = text.replace(ch, "")
    if unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def _cjk_tokens(run: str, out: set[str]) -> None:
    n = len(run)
    if n == 1:
        out.add(run)
        return
    for i in range(min(n - 1, 2000)):
        out.add(run[i : i + 2])
    if n >= 3:
        for m in _KATAKANA_RUN.findall(run):
            out.add(m)


def words(text: str, prefix: str = "", max_chars: int = 200_000, bigrams: str | bool = False,
          seq: list[str] | None = None, into: list[bytes] | None = None) -> set[str]:
    """The set of word tokens in ``text``, each with ``prefix``.

    Words are split on white space (``str.split``, in C) and deduplicated
    before any per-word work; only words holding CJK characters go through a
    regular expression.  With ``bigrams``, pairs of adjacent kept words are
    added too (Bogofilter's multi-word tokens), as ``"word word"`` (True:
    unprefixed, which is unambiguous since words hold no white space) or
    with the given prefix.  ``seq``, when given, must be
    ``text[:max_chars].lower().split()`` of an ASCII ``text``: a caller that
    has it already (:func:`spamscore.features.analyze`) saves the split.

    ``into`` (the scoring path): when the compiled words take the text, the
    tokens go to ``into`` as one bytes of their native int64 ``hash()``
    values (``_bodyscan.word_hashes``: no str made, no set filled) and the
    set returned is empty; otherwise the set holds them as usual.  Only a
    lookup by hash (:meth:`spamscore.model.TokenNB.clue_rows_sums_h`) can use
    them.
    """
    if seq is None:
        text = text[:max_chars]
        if _bodyscan is not None:
            pairs = ("" if bigrams is True else bigrams) if bigrams else None
            # normalize, lower, split, distinct words, strip, pairs: one pass in C
            # (spamscore/native/bodywords.c); None for a text it leaves to this code (CJK...).
            # word_hashes declines exactly the texts words declines (one scan in C).
            if into is not None and _WORD_HASHES:
                hashes = _bodyscan.word_hashes(text, prefix, _PUNCT, pairs, MAX_BIGRAM_WORDS)
                if hashes is not None:
                    into.append(hashes)
                    return set()
            else:
                out = _bodyscan.words(text, prefix, _PUNCT, pairs, MAX_BIGRAM_WORDS)
                if out is not None:
                    return out
        is_ascii = text.isascii()
        if not is_ascii:
            text = normalize(text)
        seq = text.lower().split()
    else:
        is_ascii = True
    raw = set(seq)
    cjk: set[str] = set()
    phrases: set[str] = set()
    if not is_ascii:
        for w in list(filterfalse(str.isascii, raw)):
            if _FIRST_CJK.search(w) is not None:
                raw.discard(w)
                phrase_tokens(w, phrases)  # ja:PHRASE for the phrases of .japanese (never prefixed)
                for piece in _TOKEN_RE.findall(w):
                    if _CJK_RUN.match(piece):
                        _cjk_tokens(piece, cjk)
                    else:
                        raw.add(piece)
    with_pairs = bool(bigrams) and len(seq) > 1
    pair_prefix = ("" if bigrams is True else bigrams) if with_pairs else None
    # the same stage in C as _bodyscan's (spamscore/native/wordtokens.c, bodystage.h); None (crafted hash
    # collisions): this code
    out = _speedups.word_tokens(raw, seq, prefix, _PUNCT, pair_prefix, MAX_BIGRAM_WORDS) if _speedups else None
    if out is None:
        out = _word_tokens(raw, seq, prefix, pair_prefix)
    if cjk:
        out.update([prefix + c for c in cjk] if prefix else cjk)
        out.update(phrases)
    return out


def _word_tokens(raw: set[str], seq: list[str], prefix: str, pair_prefix: str | None) -> set[str]:
    """The per-word loop of :func:`words` (the reference for ``_speedups.word_tokens``).

    Each distinct word of ``raw`` stripped of punctuation: 3 to 12
    characters give ``prefix + word``, longer ones a skip token.  With
    ``pair_prefix`` (None: no pairs), adjacent kept words among the first
    ``MAX_BIGRAM_WORDS`` of ``seq`` give ``pair_prefix + "a b"``.
    """
    # Plain loops over the distinct words and over the word sequence: on
    # Python 3.11 they beat chains of map/compress/zip passes (which go
    # through slot wrappers such as str.__add__ and build a list per step)
    # by a third on the corpus.
    out: set[str] = set()
    add = out.add
    punct = _PUNCT
    with_pairs = pair_prefix is not None
    kept: dict[str, str] = {}
    for w in raw:
        v = w.strip(punct)
        n = len(v)
        if n > 12:
            add(f"{prefix}skip:{v[0]} {n // 10 * 10}")
        elif n > 2:
            add(prefix + v)
            if with_pairs:
                kept[w] = v
    if with_pairs and len(seq) > 1:
        get = kept.get
        prev = None
        for w in seq[:MAX_BIGRAM_WORDS]:
            v = get(w)
            if v is not None and prev is not None:
                add(pair_prefix + prev + " " + v)
            prev = v
    return out


def subject_tokens(subject: str) -> list[str]:
    out = list(words(subject, "subject:", 2000))
    if subject.isascii():
        # ASCII letters counted in C (bytes.translate deletes them), as in body_tokens
        b = subject.encode("ascii")
        n_letters = len(b) - len(b.translate(None, _LETTERS))
        n_upper = len(b) - len(b.translate(None, _UPPER)) if n_letters >= 8 else 0
    else:
        letters = [c for c in subject if c.isalpha()]
        n_letters = len(letters)
        n_upper = sum(c.isupper() for c in letters)
    if n_letters >= 8 and n_upper / n_letters > 0.8:
        out.append("subject:ALLCAPS")
    if "!!" in subject:
        out.append("subject:!!")
    if not subject.strip():
        out.append("subject:empty")
    return out


# No re.I and no leading \b: six times faster on Received values, with the
# same matches on all but 1 of 8,772 of the corpus' Received headers.  Each
# alternative starts with a literal so that the regex engine skips ahead to
# the next f/F/b/B in C (2.5 times faster than "[Ff]rom|[Bb]y|FROM|BY").
_RECEIVED_HOST = re.compile(r"(?:from|From|by|By|FROM|BY)[ \t\r\n]+([a-zA-Z0-9][a-zA-Z0-9.-]{0,200})")
# Groups: "a.b.c" and "a.b" of an address a.b.c.d.  The leading lone "\d"
# (not "\d{1,3}": the same matches) lets the engine skip to the next digit.
_IP = re.compile(r"((\d\d{0,2}\.\d{1,3})\.\d{1,3})\.\d{1,3}")
_ADDR_SPLIT = re.compile(r"[^a-z0-9]+")


_ADDRESS = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]{0,64}@[a-z0-9.-]{1,255}", re.I)
ADDRESS = _ADDRESS  # an e-mail address in a header value (also features/auth.py's From domain)
_ANGLE = re.compile(r"<[^<>]{0,300}>")


def _address_tokens(name: str, value: str, out: list[str]) -> None:
    """Display-name words, user and domain of each address (a regex, not a
    full RFC 5322 parse: email.utils.getaddresses cost half the header time).

    An ASCII value goes through ``_hdrscan.address_tokens`` when that is
    built (the same tokens in the same order; the code below is the reference).
    """
    if _hdrscan is not None:
        toks = _hdrscan.address_tokens(name, value, words, registered_domain)
        if toks is not None:
            out.extend(toks)
            return
    value = value[:2000]
    addrs = _ADDRESS.findall(value)[:20]
    display = _ANGLE.sub(" ", value)
    for addr in addrs:
        display = display.replace(addr, " ")
    display = display.replace('"', " ")
    if not display.isascii() or display[:500].strip():  # words() of ASCII white space is empty
        out.extend(words(display, name + ":name:", 500))
    if not addrs:
        out.append(name + (":empty" if not value.strip() or value.strip() == "<>" else ":no-domain"))
    for addr in addrs:
        user, _, domain = addr.lower().rpartition("@")
        domain = domain.strip(".")
        if domain:
            out.append(name + ":domain:" + domain)
            reg = registered_domain(domain)
            if reg != domain:
                out.append(name + ":domain:" + reg)
        if 0 < len(user) <= 20:
            out.append(name + ":user:" + user)
        else:
            out.append(f"{name}:user:skip {len(user) // 10 * 10}")


_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to", "return-path", "sender", "errors-to"})
_WORD_HEADERS = frozenset({"x-mailer", "user-agent", "content-type", "x-mimeole", "organization",
                           "list-id", "x-priority", "x-msmail-priority", "precedence", "mime-version",
                           "content-transfer-encoding", "x-originating-ip"})


@lru_cache(maxsize=8192)  # bounded: at most ~8,192 values of <= 2,000 chars
def _value_tokens(name: str, value: str) -> tuple[str, ...]:
    """Tokens of one address or word header, cached: From, To, X-Mailer,
    Content-Type, List-Id... values repeat from message to message (on the
    corpus about 60% of these lookups hit the cache)."""
    if name in _ADDRESS_HEADERS:
        out: list[str] = []
        _address_tokens(name, value, out)
        return tuple(out)
    toks = words(value, name + ":", 500)
    if name == "content-type":
        # The MIME boundary's shape names the mailing software
        # ("----=_NextPart_..." Outlook, "Apple-Mail-..."), and bulk mailers
        # have their own.  CV (3 seeds) with the Date shape below:
        # (1-AUC)% 0.0464 -> 0.0424, FNR@0.1%FPR 5.71 -> 5.89, FNR@1% 0.49 -> 0.46.
        m = _BOUNDARY.search(value)
        if m:
            toks.add("boundary:" + shape(m.group(1)[:70]))
    return tuple(toks)


# "Shapes": digits -> 9, lower-case letters -> a, upper-case -> A, runs of
# one class collapsed ("----=_NextPart_000_0001_01C2" -> "-=_Aa_9_9_9A9").
_SHAPE = str.maketrans({**dict.fromkeys(string.digits, "9"), **dict.fromkeys(string.ascii_lowercase, "a"),
                        **dict.fromkeys(string.ascii_uppercase, "A")})
_SHAPE_RUNS = re.compile(r"(.)\1+")  # linear: a greedy run of one backreference
_BOUNDARY = re.compile(r"boundary\s*=\s*\"?([^\";]{1,100})", re.I)


def shape(value: str) -> str:
    """The character-class shape of ``value`` (see ``_SHAPE``).

    Runs are collapsed with ``groupby`` (in C); ``_SHAPE_RUNS.sub`` expands
    its template in Python for every run.  "." does not match a newline, so
    a value holding one keeps the regex (runs of newlines stay).
    """
    t = value.translate(_SHAPE)
    if "\n" in t:
        return _SHAPE_RUNS.sub(r"\1", t)
    return "".join(map(_NAME, groupby(t)))


@lru_cache(maxsize=8192)
def _received_host(host: str) -> tuple[str, ...]:
    """Tokens of one host name of a Received header (hosts repeat across messages)."""
    host = host.lower().strip(".")
    if "." not in host:
        return ()
    reg = registered_domain(host)
    return ("received:" + host,) if reg == host else ("received:" + host, "received:" + reg)


# What header_tokens does with a header's value, by name.
_VALUE, _RECEIVED, _DATE, _MESSAGE_ID = range(4)
_HANDLERS = {**dict.fromkeys(_ADDRESS_HEADERS | _WORD_HEADERS, _VALUE),
             "received": _RECEIVED, "date": _DATE, "message-id": _MESSAGE_ID}


def header_tokens(headers: list[tuple[str, str]], ignored: tuple[str, ...] = DEFAULT_IGNORED_HEADERS) -> list[str]:
    """Tokens from the header block (names present, addresses, Received chain...).

    The loop runs in C (``spamscore/native/hdrscan.c``) when that is built: the
    same tokens in the same order as :func:`_header_tokens`, the reference,
    which it calls back only for the cached ``_value_tokens`` and
    ``_received_host``; it returns None for input it leaves to Python.
    """
    if _hdrscan is not None:
        out = _hdrscan.header_tokens(headers, ignored, _HANDLERS, _value_tokens, _received_host,
                                     _HDR_NAME_CACHE, _HDR_VALUE_CACHE, _HDR_HOST_CACHE)
        if out is not None:
            return out
    return _header_tokens(headers, ignored)


# Written only by _hdrscan.header_tokens (bounded there: emptied when full):
# name -> "hdr:" + name[:40]; name -> {value -> _value_tokens(name, value)};
# host -> _received_host(host).  Dict lookups in C in front of the lru_caches.
_HDR_NAME_CACHE: dict[str, str] = {}
_HDR_VALUE_CACHE: dict[str, dict[str, tuple[str, ...]]] = {}
_HDR_HOST_CACHE: dict[str, tuple[str, ...]] = {}


def _header_tokens(headers: list[tuple[str, str]], ignored: tuple[str, ...] = DEFAULT_IGNORED_HEADERS) -> list[str]:
    """The Python reference of :func:`header_tokens`.

    One dict lookup per header picks its handler.
    """
    out: list[str] = []
    append = out.append
    received = 0
    for name, value in headers:
        if ignored and name.startswith(ignored):
            continue
        append("hdr:" + name[:40])
        kind = _HANDLERS.get(name)
        if kind is None:
            continue
        if kind == _VALUE:
            out.extend(_value_tokens(name, value[:2000]))
        elif kind == _RECEIVED:
            received += 1
            if received > 10:
                continue
            v = value[:2000]
            out.extend(chain.from_iterable(map(_received_host, _RECEIVED_HOST.findall(v))))
            out.extend(["received:ip:" + ip for ip in chain.from_iterable(_IP.findall(v))])
        elif kind == _DATE:
            # Date format and time zone: forged or hand-made dates in spam
            # ("-1700", missing weekday, two-digit year).  See boundary above.
            v = value.strip()[:60]
            append("date:shape:" + shape(v))
            zone = v.rsplit(None, 1)
            if zone:
                append("date:tz:" + zone[-1][:10])
        else:  # message-id
            v = value.strip().strip("<>")
            if "@" in v:
                append("message-id:" + v.rsplit("@", 1)[1].lower()[:100])
            else:
                append("message-id:invalid")
        # Words of every other header too (Bogofilter's way) was tried:
        # CV (1-AUC)% 0.0506 -> 0.0546, FNR@0.1%FPR 5.71 -> 6.03%: rejected.
    # The number of relays.  A message with none has not travelled through
    # SMTP (a saved draft, an unsent campaign, a local copy): at a receiving
    # MTA every message has at least one.  On the SpamAssassin corpus "none"
    # is a collection artifact (134 easy_ham, no spam) that made any message
    # without Received headers look like ham, so it is no feature; dropping it
    # cost nothing in cross-validation (training/COMPARISON.md, (e)).
    if received:
        append(f"hdr:received-count:{min(received, 12)}")
    return out


# The Python references of the compiled loops, by public names (tests/test_hdrscan.py, test_speedups.py).
header_tokens_py = _header_tokens
word_tokens_py = _word_tokens


_UPPER = bytes(range(65, 91))
_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))


def body_tokens(texts: list[str], max_chars: int = 200_000, seqs: list[list[str] | None] | None = None,
                into: list[bytes] | None = None) -> set[str]:
    """Body words of ``texts``: ``texts[0]`` the text/plain parts, any others HTML visible text.

    Word bigrams (Bogofilter's multi-word tokens: "click here", "dear friend")
    come from the plain text only.  Hypothesis: phrases carry evidence their
    words lack alone; but HTML visible text is its text nodes joined with
    spaces, so words of adjacent cells and elements would pair up although
    no reader sees them together.  Measured (5-fold CV on the train half,
    mean of 3 seeds, (1-AUC)% / FNR@0.1%FPR / FNR@1%FPR):
    no bigrams 0.0558 / 5.96 / 0.71; bigrams from all text 0.0476 / 7.41 / 0.71;
    bigrams from plain text only 0.0464 / 5.71 / 0.49 (kept).
    ``seqs[i]``, when given and not None, is ``texts[i][:max_chars].lower().split()``
    of an ASCII text (shared with the URL finder; see :func:`words`).
    ``into``: the words may go there as hashes instead (see :func:`words`).
    """
    if not texts:
        return set()
    if seqs is None:
        seqs = [None, None]
    out = words(texts[0], "", max_chars, bigrams=True, seq=seqs[0], into=into)
    # Share of capitals among the letters, in twentieths (SpamAssassin's
    # UPPERCASE_* rules).  Counted in C: bytes.translate deletes the letters.
    # CV (3 seeds): (1-AUC)% 0.0424 -> 0.0418, FNR@0.1% 5.89 -> 5.86, FNR@1% 0.46 -> 0.39.
    # Rejected beside it: longest-line bucket (no change), '!' and '$' counts
    # (0.0419 / 5.96 / 0.39 alone, nothing added to this one).
    # (each text cut first: the HTML visible text can be far longer than max_chars)
    counts = _bodyscan.letters(texts, max_chars) if _bodyscan is not None else None
    if counts is not None:  # the same two counts, without the join and the encoding
        letters, upper = counts
    else:
        b = "\n".join([t[:max_chars] for t in texts])[:max_chars].encode("utf-8", "replace")
        letters = len(b) - len(b.translate(None, _LETTERS))
        upper = len(b) - len(b.translate(None, _UPPER)) if letters >= 20 else 0
    if letters >= 20:
        out.add(f"body:caps:{min(upper * 20 // letters, 10)}")
    if len(texts) > 1:
        out |= words("\n".join(texts[1:]), "", max_chars, seq=seqs[1] if len(texts) == 2 else None, into=into)
    return out


if _bodyscan is not None and (_why := _bodyscan_tables_agree()) is not None:  # pragma: no cover
    _native.disable("_bodyscan", f"its Unicode tables disagree with this Python's: {_why}")
    _bodyscan = None
# Whether the scoring path may take body words as hashes (see words(into=...)).
_WORD_HASHES = _bodyscan is not None and _word_hashes_agree()


def word_hashes_enabled() -> bool:
    """Whether :func:`words` gives body words as hashes when asked (``into=``): the compiled scan is built and
    agrees with this code.  The scoring path asks before it offers a list (a function, not a copy of the flag,
    so that switching ``_WORD_HASHES`` off switches both ends off)."""
    return _WORD_HASHES
