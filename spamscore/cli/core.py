"""train, score and evaluate."""

from __future__ import annotations

import json
import os
import sys
import time
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from ..batch import EXTRACTING, evaluate_items, score_items, train_items
from ..corpus import check_index_files, index_base, iter_entries, iter_source, iter_sources, read_index
from ..features import FeatureOptions
from ..features.profiles import check_profile
from ..sanity import input_warnings
from ..serve.render import verdict_json, verdict_text
from ._app import MAX_LISTED, Stages, app, cli_errors, fail, load_cli_model, progress, report_unreadable, settle
from .options import (BACKEND, INDEX_ROOT, INDEX_SPLIT, JOBS, MODEL, SCHEDULER, TRUSTED, Backend, ResourceLimits,
                      format_option, resource_limits, sources_argument)
from .sources import each_source


class ScoreFormat(str, Enum):
    text = "text"
    json = "json"
    jsonl = "jsonl"


class EvalFormat(str, Enum):
    text = "text"
    json = "json"


def _check_jobs(jobs: int) -> int:
    return min(jobs, os.cpu_count() or 1) if jobs > 0 else 1


# One encoder for every line: json.dumps with options builds a new JSONEncoder per call (~5 µs).
_JSONL = json.JSONEncoder(ensure_ascii=False).encode

@app.command()
@cli_errors
def train(
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the model file."),
    index: Optional[Path] = typer.Option(None, "--index", help="TSV 'path<TAB>spam|ham' or TREC 'spam PATH' index."),
    spam: Optional[List[str]] = typer.Option(None, "--spam", help="Spam: .eml file, directory, mbox or Maildir (repeatable)."),
    ham: Optional[List[str]] = typer.Option(None, "--ham", help="Ham: .eml file, directory, mbox or Maildir (repeatable)."),
    root: Optional[Path] = INDEX_ROOT,
    split: Optional[str] = INDEX_SPLIT,
    jobs: int = JOBS,
    folds: int = typer.Option(5, "--folds", min=0, help="Cross-validation folds for calibration and cut-offs (0: none)."),
    trusted: Optional[List[str]] = TRUSTED,
    backend: Backend = BACKEND,
    scheduler: Optional[str] = SCHEDULER,
    profile: str = typer.Option(
        "full", "--features",
        help="Feature profile: 'full' learns every family (your own mail, where the delivery path is evidence); "
             "'portable' leaves out the training mailbox's own relays, time zone, Message-ID and mailer shapes "
             "(a model for other people's mail, like the shipped default)."),
) -> None:
    """Train a model from labelled mail.

    Example: spamscore train --spam Junk/ --ham INBOX.mbox -o my.spamscore
    Example: spamscore train --index labels.tsv -o my.spamscore
    Example: spamscore train --index labels.tsv --features portable -o shared.spamscore
    Example: spamscore train --index labels.tsv -o my.spamscore --backend dask --scheduler tcp://10.0.0.5:8786
    """
    if index is None and not (spam and ham):
        raise fail("give --index LABELS, or both --spam PATH and --ham PATH")
    if index is not None and (spam or ham):
        raise fail("give either --index or --spam/--ham, not both")

    check_profile(profile)
    _check_output(output)
    options = FeatureOptions(trusted_authserv_ids=frozenset(t.lower() for t in trusted or ()), profile=profile)
    if index is not None:
        entries = _index_entries(index, root, split)
        classes = {label for _, label in entries}
        if len(classes) < 2:
            raise fail(f"{index} lists only {classes.pop()} messages: training needs both spam and ham")
        items = iter_entries(entries, defer=jobs > 1)   # (with workers, each reads its own messages)
        length = len(entries)
    else:
        _check_sources("--spam", spam)
        _check_sources("--ham", ham)
        items = _chain(iter_sources(spam, "spam"), iter_sources(ham, "ham"))
        length = None
    stages = Stages()
    meta = {"trained_on": str(index) if index else {"spam": spam, "ham": ham}}
    if backend is Backend.dask:
        from .. import distributed as dd

        units = dd.plan_index(index, root, split) if index is not None else (
            dd.plan_sources(spam, "spam") + dd.plan_sources(ham, "ham"))
        with dd.dask_client(scheduler, workers=jobs if jobs > 1 else None) as client:
            model, rep = dd.train_dask(units, client, options=options, folds=folds, meta=meta)
    else:
        if scheduler:
            raise fail("--scheduler needs --backend dask")
        # the extraction bar (a terminal only) is closed when extraction ends, not when training does,
        # so that the next stages' lines come after it
        bar = progress(items, length, EXTRACTING)
        bar_open = True

        def close_bar():
            nonlocal bar_open
            if bar_open:
                bar_open = False
                bar.__exit__(None, None, None)

        def on_stage(name, summary):
            if name == EXTRACTING and stages.tty:
                if summary is None:
                    return        # the bar says it
                close_bar()
            stages(name, summary)

        try:
            model, rep = train_items(bar.__enter__(), jobs=_check_jobs(jobs), options=options, folds=folds,
                                     meta=meta, on_stage=on_stage)
        finally:
            close_bar()
    report_unreadable(rep.errors, length)
    try:
        size = stages.run("writing", lambda: model.save(output),
                          lambda size, seconds: f"{output} ({size / 1024:.0f} KiB) in {seconds:.1f}s")
    except OSError as exc:  # a full disk, a folder removed meanwhile: save_model_file left nothing behind
        raise fail(f"cannot write {output}: {exc.strerror or exc}") from None
    typer.echo(
        f"trained on {rep.spam} spam and {rep.ham} ham in {rep.seconds:.1f}s "
        f"(features {rep.extract_seconds:.1f}s); {rep.vocabulary} tokens; "
        f"cut-offs ham < {model.ham_cutoff:.3f} <= unsure < {model.spam_cutoff:.3f} <= spam; "
        f"wrote {output} ({size / 1024:.0f} KiB)"
    )
    if rep.errors:
        raise typer.Exit(2)


def _chain(*its):
    for it in its:
        yield from it


def _check_output(output: Path) -> None:
    """Refuse an output the model cannot be written to before training, not after."""
    if output.is_dir():
        raise fail(f"-o {output} is a folder: give a file name, such as {output / 'my.spamscore'}")
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise fail(f"-o {output}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise fail(f"-o {output}: cannot write in folder {folder}")


def _check_sources(option: str, paths: List[str]) -> None:
    """Each training source exists, and a folder holds at least one message (its first one is read).

    A file always gives at least one message (an empty one, at worst), so
    only folders are looked into; a file is not read twice (an mbox's table
    of contents takes a pass over the whole file).
    """
    for path in paths:
        if path == "-":
            continue
        if not os.path.exists(path):
            raise fail(f"{option} {path}: no such file or directory")
        if os.path.isdir(path) and next(iter_source(path), None) is None:
            raise fail(f"{option} {path}: no messages found in {path}")


def _index_entries(index: Path, root: Optional[Path], split: Optional[str]) -> list[tuple[str, str]]:
    """The index's ``[(path, label)]``; one error line when none of its files exists (no ``--root``)."""
    entries = read_index(index, root, split)
    check_index_files(entries, index_base(index, root), root is not None)
    return entries


@app.command()
@cli_errors
@resource_limits
def score(
    paths: Optional[List[str]] = sources_argument(required=False),
    model_path: Optional[Path] = MODEL,
    fmt: ScoreFormat = format_option(ScoreFormat),
    index: Optional[Path] = typer.Option(None, "--index", help="Score the messages an index lists."),
    root: Optional[Path] = INDEX_ROOT,
    split: Optional[str] = INDEX_SPLIT,
    jobs: int = JOBS,
    clues: int = typer.Option(5, "--clues", min=0, help="How many clues to show per message."),
    trusted: Optional[List[str]] = TRUSTED,
    backend: Backend = BACKEND,
    scheduler: Optional[str] = SCHEDULER,
    *,
    limits: ResourceLimits,
) -> None:
    """Score messages: label (ham, unsure, spam), probability and the clues behind it.

    Example: spamscore score message.eml
    Example: cat message.eml | spamscore score --format json -
    Example: spamscore score --format jsonl --jobs 2 Maildir/
    """
    if not paths and index is None:
        raise fail("give message paths (or - for stdin), or --index LABELS")
    model = settle(limits.apply(load_cli_model(model_path, trusted_authserv_ids=trusted or ())))
    empty: list[str] = []
    items = iter_entries(_index_entries(index, root, split)) if index is not None else each_source(paths, empty)
    if backend is Backend.dask:
        items = _score_on_dask(paths, index, root, split, model, trusted, clues, scheduler, jobs)
    elif scheduler:
        raise fail("--scheduler needs --backend dask")
    failed = 0
    results = []
    text = fmt is ScoreFormat.text
    # sys.stdout, not typer.echo per line: echo flushes (a write system call)
    # and scans for ANSI codes on every call; stdout is line-buffered on a
    # terminal anyway, and block-buffered into a pipe.
    write = sys.stdout.write
    for item, verdict in (items if backend is Backend.dask else
                          score_items(items, model, jobs=_check_jobs(jobs), clues=clues)):
        if verdict is None:
            failed += 1
            if failed <= MAX_LISTED:
                typer.echo(f"spamscore: error: {item.path}: {item.error}", err=True)
            continue
        # not mail (empty, no header, binary): scored all the same, but flagged
        warnings = input_warnings(item.raw) if item.raw is not None else []
        if text:
            write(verdict_text(item.path, verdict, clues) + "\n")
            if warnings:
                typer.echo(f"spamscore: warning: {item.path}: scored, but not like mail: {', '.join(warnings)}",
                           err=True)
        else:
            d = verdict_json(item.path, verdict, clues)
            if item.label is not None:
                d["expected"] = item.label
            if warnings:
                d["warnings"] = warnings
            if fmt is ScoreFormat.jsonl:
                write(_JSONL(d) + "\n")
            else:
                results.append(d)
    if fmt is ScoreFormat.json:
        typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
    if failed > MAX_LISTED:
        typer.echo(f"spamscore: error: ... {failed - MAX_LISTED:,} more unreadable ({failed:,} in all)", err=True)
    for path in empty:
        typer.echo(f"spamscore: error: no messages found in {path}", err=True)
    if failed or empty:
        raise typer.Exit(2)


def _score_on_dask(paths, index, root, split, model, trusted, clues, scheduler, jobs):
    """(Item, verdict) pairs scored on a Dask cluster (the workers read the messages and the model)."""
    from ..corpus import Item
    from .. import distributed as dd

    if model.path is None:
        raise fail("--backend dask needs a model file the workers can read")
    units = dd.plan_index(index, root, split) if index is not None else dd.plan_sources(paths)
    with dd.dask_client(scheduler, workers=jobs if jobs > 1 else None) as client:
        for path, label, verdict, error in dd.score_dask(units, model.path, client, trusted=trusted or (), clues=clues):
            yield Item(path, None, label, error), verdict


@app.command()
@cli_errors
@resource_limits
def evaluate(
    index: Path = typer.Option(..., "--index", help="Labelled messages: TSV or TREC index."),
    model_path: Optional[Path] = MODEL,
    root: Optional[Path] = INDEX_ROOT,
    split: Optional[str] = INDEX_SPLIT,
    fmt: EvalFormat = format_option(EvalFormat),
    jobs: int = JOBS,
    trusted: Optional[List[str]] = TRUSTED,
    *,
    limits: ResourceLimits,
) -> None:
    """Evaluate a model on labelled mail: ROC AUC, false positives and negatives.

    Example: spamscore evaluate --model my.spamscore --index test.tsv
    """
    entries = _index_entries(index, root, split)
    model = settle(limits.apply(load_cli_model(model_path, trusted_authserv_ids=trusted or ())))
    t0 = time.perf_counter()
    with progress(iter_entries(entries), len(entries), "scoring") as bar:
        summary, errors = evaluate_items(bar, model, jobs=_check_jobs(jobs))
    summary["seconds"] = time.perf_counter() - t0
    report_unreadable(errors, len(entries))
    if fmt is EvalFormat.json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(_eval_text(summary))
    if errors:
        raise typer.Exit(2)


def _eval_text(s: dict) -> str:
    lines = [f"messages        {s['messages']} ({s['spam']} spam, {s['ham']} ham)"]
    if "roc_auc" in s:
        lines += [
            f"ROC AUC         {s['roc_auc']:.6f}",
            f"(1-AUC)%        {s['one_minus_auc_pct']:.4f}",
            f"FNR at FPR<=0.1% {s['fnr_at_fpr_0_1_pct']:.2f}%",
            f"FNR at FPR<=1%  {s['fnr_at_fpr_1_pct']:.2f}%",
        ]
    lines += [
        f"cut-offs        ham < {s['ham_cutoff']:.4f} <= unsure < {s['spam_cutoff']:.4f} <= spam",
        f"false positives {s['false_positives']} ({s['fpr_pct']:.2f}% of ham labelled spam; {s['unsure_ham']} unsure)",
        f"false negatives {s['false_negatives']} ({s['fnr_pct']:.2f}% of spam labelled ham; {s['unsure_spam']} unsure)",
        f"time            {s['seconds']:.1f}s",
    ]
    return "\n".join(lines)

