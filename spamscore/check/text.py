"""Check reports as text for a terminal: one report, or a table of several."""

from __future__ import annotations

from .report import FAIL, NOTE, PASS, STATUS_RANK, WARN, CheckReport

__all__ = ["report_text", "summary_text"]


def report_text(rep: CheckReport) -> str:
    """A report for a terminal: verdict, clues, then findings (failures first)."""
    c = rep.counts()
    lines = [f"{rep.path or 'message'}: {rep.label.upper()}  P(spam) {rep.probability:.4f}  "
             f"(spam from {rep.spam_cutoff:.3f}, ham below {rep.ham_cutoff:.3f})",
             f"  {rep.scoring_note}"]
    if rep.subject:
        lines.append(f"  Subject: {rep.subject[:120]}")
    for title, clues in (("spammy clues", rep.spammy), ("hammy clues", rep.hammy)):
        if clues:
            lines.append(f"  {title}:")
            lines += [f"    {cl.weight:+6.2f}  {cl.text}  [{cl.where}]" for cl in clues]
    lines.append(f"  findings: {c[FAIL]} fail, {c[WARN]} warn, {c[NOTE]} note, {c[PASS]} pass"
                 f"  (judged as {'bulk' if rep.bulk else 'transactional'} mail)")
    for f in sorted(rep.findings, key=lambda f: -STATUS_RANK[f.status]):
        lines.append(f"    {f.status.upper():4}  {f.id:22} {f.message}")
        if f.fix:
            lines.append(f"          {'':22} fix: {f.fix}")
        if f.status in (FAIL, WARN) and f.basis:
            lines.append(f"          {'':22} why: {f.basis}")
    return "\n".join(lines)


def summary_text(reports: list[CheckReport]) -> str:
    """A table of several reports: verdict, probability, failed and warned findings."""
    width = min(max((len(r.path or "") for r in reports), default=7), 60)
    head = f"{'message':{width}}  {'verdict':7}  {'P(spam)':>7}  {'fail':>4}  {'warn':>4}  failed checks"
    lines = [head, "-" * len(head)]
    for r in reports:
        c = r.counts()
        failed = ",".join(f.id for f in r.findings if f.status == FAIL)
        path = (r.path or "")[-width:]
        lines.append(f"{path:{width}}  {r.label:7}  {r.probability:7.4f}  {c[FAIL]:4}  {c[WARN]:4}  {failed}")
    return "\n".join(lines)
