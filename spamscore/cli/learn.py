"""learn: teach a model from its mistakes (like sa-learn / bogofilter -s/-n)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..learn import iter_raw, learn_messages
from ._app import app, cli_errors, fail
from .options import TRUSTED, sources_argument
from .sources import each_source


@app.command()
@cli_errors
def learn(
    paths: List[str] = sources_argument(required=True),
    model_path: Path = typer.Option(..., "--model", "-m", help="The model file to update in place."),
    spam: bool = typer.Option(False, "--spam", help="The messages are spam."),
    ham: bool = typer.Option(False, "--ham", help="The messages are ham."),
    forget: bool = typer.Option(False, "--forget", help="Unlearn messages that were learned with this label."),
    trusted: Optional[List[str]] = TRUSTED,
) -> None:
    """Learn messages as spam or ham (or forget them), updating the model in place.

    A message already learned with the same label is not counted again; one
    learned with the other label is moved.  Calibration and cut-offs stay
    those of training.  Safe to run while other learners run (file lock).

    Example: spamscore learn --spam -m my.spamscore Junk/missed.eml
    Example: spamscore learn --ham --forget -m my.spamscore wrongly-taught.eml
    """
    if spam == ham:
        raise fail("give exactly one of --spam or --ham")
    empty: list[str] = []
    res = learn_messages(model_path, iter_raw(each_source(paths, empty)), spam=spam, forget=forget,
                         trusted_authserv_ids=trusted or ())
    for path, err in res.errors:
        typer.echo(f"spamscore: error: {path}: {err}", err=True)
    for path in empty:
        typer.echo(f"spamscore: error: no messages found in {path}", err=True)
    label = "spam" if spam else "ham"
    if forget:
        msg = f"forgot {res.forgotten} {label} message(s); {res.skipped} were not learned as {label}"
    else:
        msg = (f"learned {res.learned} {label} message(s), moved {res.relearned} from "
               f"{'ham' if spam else 'spam'}; {res.skipped} already learned")
    typer.echo(f"{msg}; model now counts {res.n_spam} spam, {res.n_ham} ham")
    if res.errors or empty:
        raise typer.Exit(2)
