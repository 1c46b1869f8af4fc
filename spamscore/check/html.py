"""CheckReport(s) -> one self-contained HTML page.

Safety: the message's HTML is never put in the page.  The report shows the
message's *visible text* (what :mod:`spamscore.features.html` extracted),
HTML-escaped, with the clue words wrapped in ``<mark>``; every other string
from the message (subject, From, clue texts, finding messages) is escaped
too.  The page has no script at all, and a Content-Security-Policy meta that
forbids scripts, frames, forms, fonts and any fetch (``default-src 'none'``),
allows images only as ``data:`` and styles only by the hash of the one
``<style>`` element, so even a bug in escaping could not load or run
anything.  The gauge is inline SVG.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from html import escape

from .explain import ExplainedClue
from .report import FAIL, NOTE, PASS, STATUS_RANK, WARN, CheckReport

__all__ = ["render_html"]

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK JP",sans-serif;
margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 16px}h2{font-size:18px;margin:24px 0 8px}h3{font-size:15px;margin:16px 0 6px}
section.msg{background:#fff;border-radius:10px;padding:20px 24px;margin:0 0 28px;box-shadow:0 1px 3px #0002}
.top{display:flex;gap:28px;align-items:center;flex-wrap:wrap}
.verdict{font-size:28px;font-weight:700}.verdict.spam{color:#c62828}.verdict.unsure{color:#b26a00}
.verdict.ham{color:#2e7d32}td .verdict{font-size:15px}.meta{color:#555;word-break:break-all}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e5ea;
vertical-align:top}th{font-weight:600;background:#f0f1f4}
.st{font-weight:700;text-transform:uppercase;font-size:12px;padding:2px 8px;border-radius:9px;white-space:nowrap}
.st.pass{background:#e3f3e5;color:#1b5e20}.st.warn{background:#fff1d6;color:#8a5300}
.st.fail{background:#fde2e1;color:#b71c1c}.st.note{background:#e3ecfa;color:#1a3e7a}.fix{color:#444}
.basis{color:#666;font-size:13px}.scoring{color:#555;font-style:italic}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:20px}
.w{font-variant-numeric:tabular-nums;white-space:nowrap;text-align:right}
mark.spam{background:#ffcdd2;color:inherit;border-bottom:2px solid #c62828}
mark.ham{background:#c8e6c9;color:inherit;border-bottom:2px solid #2e7d32}
pre.body{white-space:pre-wrap;word-wrap:break-word;background:#fafafa;border:1px solid #e3e5ea;border-radius:6px;
padding:12px;max-height:640px;overflow:auto;font:14px/1.5 system-ui,sans-serif}
.subject{font-size:17px;font-weight:600}.legend{font-size:13px;color:#555}
a{color:#1a55b0}
""".strip()

def _csp(css: str) -> str:
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")


def _point(cx: float, cy: float, r: float, t: float) -> tuple[float, float]:
    a = math.pi * (1.0 - t)
    return cx + r * math.cos(a), cy - r * math.sin(a)


def _arc(cx: float, cy: float, r: float, t0: float, t1: float, color: str) -> str:
    x0, y0 = _point(cx, cy, r, t0)
    x1, y1 = _point(cx, cy, r, t1)
    return (f'<path d="M {x0:.1f} {y0:.1f} A {r} {r} 0 0 1 {x1:.1f} {y1:.1f}" fill="none" '
            f'stroke="{color}" stroke-width="18"/>')


def gauge_svg(probability: float, ham_cutoff: float, spam_cutoff: float, label: str) -> str:
    """A semicircle gauge: green (ham), amber (unsure) and red (spam) zones and a needle."""
    p = min(max(probability, 0.0), 1.0)
    cx, cy, r = 110, 110, 90
    hx, hy = _point(cx, cy, r - 22, p)
    colors = {"spam": "#c62828", "unsure": "#b26a00", "ham": "#2e7d32"}
    return (
        f'<svg class="gauge" width="220" height="140" viewBox="0 0 220 140" role="img" '
        f'aria-label="spam probability {p * 100:.1f}%">'
        + _arc(cx, cy, r, 0.0, ham_cutoff, "#81c784")
        + _arc(cx, cy, r, ham_cutoff, spam_cutoff, "#ffd54f")
        + _arc(cx, cy, r, spam_cutoff, 1.0, "#e57373")
        + f'<line x1="{cx}" y1="{cy}" x2="{hx:.1f}" y2="{hy:.1f}" stroke="#1d2330" stroke-width="4" '
          f'stroke-linecap="round"/><circle cx="{cx}" cy="{cy}" r="7" fill="#1d2330"/>'
        + f'<text x="{cx}" y="{cy + 26}" text-anchor="middle" font-size="20" font-weight="700" '
          f'fill="{colors.get(label, "#1d2330")}">{p * 100:.1f}%</text></svg>'
    )


def _highlighter(spammy: list[ExplainedClue], hammy: list[ExplainedClue]):
    """A function text -> escaped HTML with clue words marked."""
    kinds: dict[str, str] = {}
    for cls, clues in (("ham", hammy), ("spam", spammy)):  # spam wins a tie
        for c in clues:
            for t in c.terms:
                if t and len(t) <= 100:
                    kinds[t.lower()] = cls
    if not kinds:
        return escape
    alts = []
    for t in sorted(kinds, key=len, reverse=True):
        e = re.escape(t)
        alts.append(rf"(?<!\w){e}(?!\w)" if t.isascii() and t[0].isalnum() else e)
    rx = re.compile("|".join(alts), re.I)

    def render(text: str) -> str:
        out, pos = [], 0
        for m in rx.finditer(text):
            out.append(escape(text[pos:m.start()]))
            cls = kinds.get(m.group(0).lower(), "spam")
            out.append(f'<mark class="{cls}">{escape(m.group(0))}</mark>')
            pos = m.end()
        out.append(escape(text[pos:]))
        return "".join(out)

    return render


def _clue_table(title: str, clues: list[ExplainedClue]) -> str:
    rows = "".join(
        f"<tr><td>{escape(c.text)}</td><td>{escape(c.where)}</td><td class=\"w\">{c.weight:+.2f}</td></tr>"
        for c in clues
    ) or '<tr><td colspan="3">none</td></tr>'
    return (f"<div><h3>{escape(title)}</h3><table><tr><th>clue</th><th>where</th><th class=\"w\">weight</th></tr>"
            f"{rows}</table></div>")


def _findings_table(rep: CheckReport) -> str:
    rows = []
    for f in sorted(rep.findings, key=lambda f: -STATUS_RANK.get(f.status, 0)):  # failures first
        rows.append(
            f'<tr class="finding" data-id="{escape(f.id)}"><td><span class="st {escape(f.status)}">'
            f"{escape(f.status)}</span></td><td><code>{escape(f.id)}</code></td><td>{escape(f.message)}"
            + (f'<div class="fix">Fix: {escape(f.fix)}</div>' if f.fix else "")
            + (f'<div class="basis">Why: {escape(f.basis)}</div>' if f.basis and f.status != PASS else "")
            + "</td></tr>"
        )
    return ("<table><tr><th>status</th><th>check</th><th>what we found / how to fix it</th></tr>"
            + "".join(rows) + "</table>")


def _section(rep: CheckReport, n: int) -> str:
    hl = _highlighter(rep.spammy, rep.hammy)
    counts = rep.counts()
    return (
        f'<section class="msg" id="msg-{n}">'
        f'<div class="top">{gauge_svg(rep.probability, rep.ham_cutoff, rep.spam_cutoff, rep.label)}'
        f'<div><div class="verdict {escape(rep.label)}">{escape(rep.label)}</div>'
        f'<div>spam probability {rep.probability:.4f} (spam from {rep.spam_cutoff:.3f}, ham below '
        f'{rep.ham_cutoff:.3f})</div>'
        f'<div>findings: {counts[FAIL]} fail, {counts[WARN]} warn, {counts[NOTE]} note, {counts[PASS]} pass '
        f'(judged as {"bulk" if rep.bulk else "transactional"} mail)</div>'
        f'<div class="scoring">{escape(rep.scoring_note)}</div>'
        + (f'<div class="meta">{escape(rep.path)}</div>' if rep.path else "")
        + "</div></div>"
        f"<h2>Findings</h2>{_findings_table(rep)}"
        f'<h2>Why this score</h2><div class="cols">{_clue_table("Spammy clues", rep.spammy)}'
        f'{_clue_table("Hammy clues", rep.hammy)}</div>'
        f'<h2>The message</h2><p class="legend"><mark class="spam">spammy</mark> and '
        f'<mark class="ham">hammy</mark> words are marked. The visible text is shown; '
        f"the message's own HTML, images and links are not loaded.</p>"
        f'<div class="meta">From: {escape(rep.from_)}</div>'
        f'<div class="subject">Subject: {hl(rep.subject)}</div>'
        f'<pre class="body">{hl(rep.body_text)}</pre>'
        "</section>"
    )


def _summary(reports: list[CheckReport]) -> str:
    rows = []
    for n, r in enumerate(reports, 1):
        c = r.counts()
        rows.append(
            f'<tr><td><a href="#msg-{n}">{escape(r.path or str(n))}</a></td>'
            f'<td><span class="verdict {escape(r.label)}">{escape(r.label)}</span></td>'
            f'<td class="w">{r.probability:.3f}</td><td class="w">{c[FAIL]}</td><td class="w">{c[WARN]}</td>'
            f"<td>{escape(r.subject[:100])}</td></tr>"
        )
    return ('<section class="msg"><h2>Summary</h2><table><tr><th>message</th><th>verdict</th>'
            '<th class="w">P(spam)</th><th class="w">fail</th><th class="w">warn</th><th>subject</th></tr>'
            + "".join(rows) + "</table></section>")


def render_html(reports: list[CheckReport], title: str = "spamscore check") -> str:
    """One self-contained page for one or more reports."""
    if len(reports) == 1 and reports[0].subject:
        title = f"{title}: {reports[0].subject[:80]}"
    body = (_summary(reports) if len(reports) > 1 else "") + "".join(
        _section(r, n) for n, r in enumerate(reports, 1))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{_csp(_CSS)}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><main><h1>spamscore check</h1>{body}</main></body></html>\n"
    )
