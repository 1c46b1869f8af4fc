"""convert: rewrite a model file in another format (the .npz of format 1 <-> the mapped format 2)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from ._app import app, cli_errors, fail


@app.command()
@cli_errors
def convert(
    old: Path = typer.Argument(..., help="The model file to read (format 1 or 2)."),
    new: Path = typer.Argument(..., help="Where to write it (may be OLD itself: replaced atomically)."),
    to_format: int = typer.Option(2, "--format", help="2: mapped at load (the default); 1: the old .npz, "
                                                      "for spamscore releases that read only it."),
) -> None:
    """Rewrite a model file in another format; its scores stay the same, bit for bit.

    Format 2 loads in milliseconds whatever the model's size (it is mapped, not
    unpacked) and is shared by every process that scores with it; it is larger
    on disk (the clue table is stored, not rebuilt at every start).

    Example: spamscore convert old.spamscore my.spamscore
    Example: spamscore convert --format 1 my.spamscore for-an-old-release.spamscore
    """
    from ..model import FORMAT_VERSION, NPZ_FORMAT_VERSION
    from ..scoring import Model

    if to_format not in (NPZ_FORMAT_VERSION, FORMAT_VERSION):
        raise fail(f"--format: expected {NPZ_FORMAT_VERSION} or {FORMAT_VERSION}, got {to_format}")
    if new.is_dir():
        raise fail(f"{new}: is a directory, expected a file name")
    if not new.parent.is_dir():
        raise fail(f"{new}: its folder {new.parent} does not exist")
    model = Model.load(old)
    before = os.path.getsize(old)
    try:
        size = model.save(new, format_version=to_format)
    except OSError as exc:
        raise fail(f"{new}: cannot write the model ({exc.strerror or exc})") from None
    typer.echo(f"{old} ({before:,} bytes, format {model.meta.get('format_version')}) -> {new} "
               f"({size:,} bytes, format {to_format}); {model.nb.n_spam_:,} spam, {model.nb.n_ham_:,} ham")
