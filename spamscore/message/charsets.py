"""Charsets: a MIME charset label -> the Python codec that decodes such mail, and bytes -> str that never fails.

Mail labels its text wrongly as often as not (unlabelled 8-bit text, UTF-8
called "us-ascii", ISO-2022-JP called nothing), and a decoding error must
never cost the message its words: :func:`decode_bytes` tries the label, then
what the bytes allow, and ends at latin-1, which takes any byte.  A label that
is unknown or does not fit becomes a defect (``unknown-charset``,
``charset-mismatch``), which the tokenizer turns into a feature.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

__all__ = ["codec_for", "decode_bytes"]

# Labels seen in real mail mapped to the Python codec that decodes what such
# mail really contains: Shift_JIS mail uses Microsoft's cp932 extensions
# (NEC/IBM characters, circled digits), "iso-8859-1" is mostly cp1252, GB2312
# is a subset of GB18030, KS C 5601 is cp949 in practice.
_CHARSET_ALIASES = {
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "ms_kanji": "cp932", "windows-31j": "cp932", "cp932": "cp932", "x-ms-cp932": "cp932",
    "iso-2022-jp": "iso2022_jp_ext", "iso-2022-jp-1": "iso2022_jp_ext", "csiso2022jp": "iso2022_jp_ext",
    "iso-2022-jp-2": "iso2022_jp_2", "iso-2022-jp-3": "iso2022_jp_3",
    "euc-jp": "euc_jis_2004", "x-euc-jp": "euc_jis_2004", "eucjp": "euc_jis_2004",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
    "euc-cn": "gb18030", "cp936": "gb18030", "gb18030": "gb18030",
    "big5": "big5hkscs", "x-big5": "big5hkscs", "big5-hkscs": "big5hkscs",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949", "x-euc-kr": "cp949",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
    "ascii": "cp1252", "iso8859-1": "cp1252", "iso_8859-1": "cp1252",
    "utf8": "utf-8", "utf-8": "utf-8", "unicode-1-1-utf-7": "utf-7",
}
_FALLBACKS = ("utf-8", "cp1252")
_ESC_JIS = re.compile(rb"\x1b\$[@B]")


@lru_cache(maxsize=256)
def codec_for(label: str | None) -> str | None:
    """Python codec name for a MIME charset label, or None if unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()[:40]
    if label in _CHARSET_ALIASES:
        return _CHARSET_ALIASES[label]
    try:
        return codecs.lookup(label).name
    except (LookupError, ValueError):
        return None


def decode_bytes(data: bytes, charset: str | None = None, defects: list[str] | None = None) -> str:
    """Decode ``data`` labelled ``charset``; never raises.

    A wrong or unknown label falls back to ISO-2022-JP (when its escapes are
    present), UTF-8, then cp1252 and finally latin-1, which accepts any byte.
    """
    codec = codec_for(charset)
    if charset and codec is None and defects is not None:
        defects.append("unknown-charset")
    if codec == "cp1252" or codec is None:
        # "us-ascii"/"iso-8859-1" labels and unlabelled 8-bit text are often
        # really UTF-8 or ISO-2022-JP; try those first if the bytes allow.
        if data.isascii():
            if b"\x1b" in data and _ESC_JIS.search(data):
                try:
                    return data.decode("iso2022_jp_ext")
                except UnicodeDecodeError:
                    pass
            return data.decode("ascii")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError, ValueError, TypeError):
            if defects is not None:
                defects.append("charset-mismatch")
    for fallback in _FALLBACKS:
        try:
            return data.decode(fallback)
        except UnicodeDecodeError:
            continue
    if codec is not None:
        try:
            return data.decode(codec, errors="replace")
        except (LookupError, ValueError, TypeError):
            pass
    return data.decode("latin-1")
