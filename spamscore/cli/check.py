"""check: a pre-send report for campaign senders."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from ..check import check_message, dns_txt_resolver, render_html, report_text, summary_text
from ..errors import InputError
from ..scoring import load_model
from ._app import app, cli_errors, fail, progress
from .options import MODEL, format_option


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    html = "html"


class FailOn(str, Enum):
    spam = "spam"
    unsure = "unsure"


def _message_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(q for q in p.rglob("*.eml") if q.is_file())
            if not found:
                raise InputError(f"{p}: no .eml files in this folder")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    return files


def _dns_server(value: str) -> tuple[str, int]:
    host, port = value, 53
    if value.startswith("["):  # [::1]:5353
        host, _, rest = value[1:].partition("]")
        if rest.startswith(":"):
            port = int(rest[1:])
    elif value.count(":") == 1:
        host, p = value.split(":")
        port = int(p)
    return host, port


@app.command()
@cli_errors
def check(
    paths: List[Path] = typer.Argument(..., help="Messages to check: .eml files or folders of them."),
    model_path: Optional[Path] = MODEL,
    fmt: CheckFormat = format_option(CheckFormat),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    fail_on: FailOn = typer.Option(FailOn.spam, "--fail-on",
                                   help="Exit 1 when a message is labelled this or worse (spam, or unsure)."),
    dns: bool = typer.Option(False, "--dns", help="Also look up the From domain's SPF, DMARC and DKIM key records."),
    dns_server: Optional[str] = typer.Option(None, "--dns-server",
                                             help="With --dns: ask this server (HOST or HOST:PORT), not the system's."),
    clues: int = typer.Option(8, "--clues", min=0, help="How many spammy and hammy clues to show."),
    delivered: bool = typer.Option(False, "--delivered",
                                   help="Judge a received message as it is (default: as an unsent campaign, "
                                        "delivery headers such as Received not counted)."),
    mail_type: Optional[bool] = typer.Option(None, "--bulk/--transactional",
                                             help="Bulk mail needs one-click unsubscribe; transactional mail "
                                                  "does not (default: decided from the message)."),
) -> None:
    """Check campaign mail before sending: score, clues in words, and findings with fixes.

    Exit code 0 when every message passes, 1 when one reaches --fail-on, 2 on errors.

    Example: spamscore check newsletter.eml
    Example: spamscore check campaigns/ --format html -o report.html --dns
    Example: spamscore check received.eml --delivered
    """
    files = _message_files(paths)
    model = load_model(model_path)
    resolver = None
    if dns:
        if dns_server:
            try:
                host, port = _dns_server(dns_server)
            except ValueError:
                raise fail(f"--dns-server: expected HOST or HOST:PORT, got {dns_server!r}") from None
            resolver = dns_txt_resolver([host], port)
        else:
            resolver = dns_txt_resolver()
    elif dns_server:
        raise fail("--dns-server needs --dns")
    reports = []
    with progress(files, len(files) if len(files) > 1 else None, "checking") as bar:
        for f in bar:
            try:
                raw = f.read_bytes()
            except OSError as exc:
                raise InputError(f"{f}: {exc.strerror or exc}") from None
            reports.append(check_message(raw, model, path=str(f), n_clues=clues, resolver=resolver,
                                         unsent=not delivered, bulk=mail_type))
    single = len(paths) == 1 and len(files) == 1 and not paths[0].is_dir()
    if fmt is CheckFormat.json:
        if single:
            text = json.dumps(reports[0].to_dict(), ensure_ascii=False, indent=2)
        else:
            text = json.dumps({"messages": [r.to_dict() for r in reports], "summary": _summary(reports, fail_on)},
                              ensure_ascii=False, indent=2)
    elif fmt is CheckFormat.html:
        text = render_html(reports)
    else:
        text = "\n\n".join(report_text(r) for r in reports)
        if not single:
            text += "\n\n" + summary_text(reports)
    if output is not None:
        try:
            output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{output}: {exc.strerror or exc}") from None
    else:
        typer.echo(text)
    if any(_reaches(r.label, fail_on) for r in reports):
        raise typer.Exit(1)


def _reaches(label: str, fail_on: FailOn) -> bool:
    return label == "spam" or (fail_on is FailOn.unsure and label == "unsure")


def _summary(reports, fail_on: FailOn) -> dict:
    return {
        "messages": len(reports),
        "spam": sum(r.label == "spam" for r in reports),
        "unsure": sum(r.label == "unsure" for r in reports),
        "ham": sum(r.label == "ham" for r in reports),
        "failed": sum(_reaches(r.label, fail_on) for r in reports),
        "findings_failed": sum(r.counts()["fail"] for r in reports),
    }
