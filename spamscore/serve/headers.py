"""A verdict as X-Spam-* header fields, and SpamAssassin's points scale (what the pipe filter, milter and spamd write).

Points (:func:`spam_points`): mail systems written for SpamAssassin read a
score in *points* against a required score (``X-Spam-Status: Yes, score=8.2
required=5.0``, spamd's ``Spam: True ; 8.2 / 5.0``, Exim's ``$spam_score``,
``X-Spam-Level: ********``) and their rules compare with thresholds such as
5, 10 or 15.  We map our calibrated probability onto that scale, monotone in
the log-odds ``L = log10(p / (1 - p))``, with the model's two cut-offs at
fixed points:

* the spam cut-off is ``REQUIRED_POINTS`` = 5.0 (SpamAssassin's default
  ``required_score``), so "score >= required" is exactly our label spam;
* the ham cut-off is ``HAM_POINTS`` = 2.5: ham scores below 2.5 (at most two
  stars, where SpamAssassin's clean mail usually sits), unsure mail between
  2.5 and 5.0 (a "3 stars or more: suspicious" rule catches most of it);
* between the cut-offs the map is linear in ``L``; beyond them it runs at
  ``POINTS_PER_DECADE`` = 2 points per factor of ten in the odds, whatever the
  model's cut-offs, so a point means the same odds ratio (about 3.2) for
  every model.  Measured with the default model on the SpamAssassin test half
  (951 spam, 2061 ham; spam cut-off p = 0.767, ham cut-off 0.5): spam
  median 10.8 points (25th percentile 8.5, 90th 12.9), ham median -4.0
  (95th percentile -0.9, 99th 1.1) -- where SpamAssassin's own scores fall.
  ``L`` is taken with p clipped to [1e-16, 1 - 1e-16] (a float cannot come
  closer to 1), so points stay within about -30 .. +36 for the default model.

The shown score is rounded to 0.1 as SpamAssassin rounds it
(``get_tag_value_for_score``): a message that is not spam never shows the
required score or more (4.96 shows 4.9), and spam never shows less.
JSON keeps the probability; ``X-Spam-Score`` stays the probability too.
"""

from __future__ import annotations

import math

from ..scoring import Verdict

__all__ = ["spam_headers", "spam_points", "points_from_probability", "stars", "REQUIRED_POINTS", "HAM_POINTS",
           "POINTS_PER_DECADE"]

REQUIRED_POINTS = 5.0      # the model's spam cut-off (SpamAssassin's default required_score)
HAM_POINTS = 2.5           # the model's ham cut-off
POINTS_PER_DECADE = 2.0    # beyond the cut-offs: points per factor of ten in the odds
MAX_STARS = 50             # SpamAssassin caps _STARS_ at 50


def _log10_odds(p: float) -> float:
    p = min(max(float(p), 1e-16), 1.0 - 1e-16) if p == p else 0.5   # NaN: no evidence
    return math.log10(p) - math.log10(1.0 - p)


def points_from_probability(p: float, spam_cutoff: float, ham_cutoff: float | None = None) -> float:
    """SpamAssassin-style points for probability ``p`` (unrounded; see the module docstring).

    Monotone in ``p``; ``spam_cutoff`` maps to 5.0 and ``ham_cutoff`` to 2.5.
    Without a ham cut-off (or with one not below the spam cut-off) everything
    under the spam cut-off runs at the outside slope from 2.5 down.
    """
    L, Ls = _log10_odds(p), _log10_odds(spam_cutoff)
    if L >= Ls:
        return REQUIRED_POINTS + POINTS_PER_DECADE * (L - Ls)
    Lh = _log10_odds(ham_cutoff) if ham_cutoff is not None else Ls
    if Lh >= Ls or L <= Lh:
        return HAM_POINTS + POINTS_PER_DECADE * (L - min(Lh, Ls))
    return HAM_POINTS + (REQUIRED_POINTS - HAM_POINTS) * (L - Lh) / (Ls - Lh)


def _shown(points: float, is_spam: bool) -> float:
    """Rounded to 0.1 the way SpamAssassin shows a score: never across the required score."""
    s = round(points, 1)
    if is_spam and s < REQUIRED_POINTS:
        return REQUIRED_POINTS
    if not is_spam and s >= REQUIRED_POINTS:
        return round(REQUIRED_POINTS - 0.1, 1)
    return s + 0.0     # no "-0.0"


def _cutoffs(model) -> tuple[float, float | None]:
    if hasattr(model, "spam_cutoff"):
        ham = getattr(model, "ham_cutoff", None)
        return float(model.spam_cutoff), (float(ham) if ham is not None else None)
    return float(model), None


def spam_points(v: Verdict, model) -> float:
    """The verdict's score in SpamAssassin points, rounded to 0.1 (``model``: anything with
    ``spam_cutoff`` and ``ham_cutoff``, or a spam cut-off alone).  At least
    ``REQUIRED_POINTS`` exactly when ``v.label == "spam"``."""
    spam_cut, ham_cut = _cutoffs(model)
    return _shown(points_from_probability(v.probability, spam_cut, ham_cut), v.label == "spam")


def stars(points: float, char: str = "*") -> str:
    """``X-Spam-Level``: one ``char`` per whole point, none below 1, at most 50 (SpamAssassin's ``_STARS_``)."""
    return char * max(0, min(MAX_STARS, int(points)))


def spam_headers(v: Verdict, spam_cutoff, n_clues: int = 5, *, ham_cutoff: float | None = None,
                 level: bool = True) -> list[tuple[str, str]]:
    """X-Spam-* headers close to SpamAssassin's conventions.

    ``spam_cutoff`` is the model (whose two cut-offs place the points) or its
    spam cut-off alone (then pass ``ham_cutoff`` too, or the points below the
    spam cut-off follow the outside slope).  ``X-Spam-Score`` is our
    probability; ``X-Spam-Status`` carries points as SpamAssassin writes them,
    then the probability, label and clues; ``X-Spam-Level`` the stars.
    """
    flag = v.label == "spam"
    spam_cut, ham_cut = _cutoffs(spam_cutoff)
    if ham_cutoff is not None:
        ham_cut = float(ham_cutoff)
    pts = _shown(points_from_probability(v.probability, spam_cut, ham_cut), flag)
    clues = ",".join(c.feature.replace(",", "_").replace(" ", "_") for c in v.clues[:n_clues])
    out = []
    if flag:
        out.append(("X-Spam-Flag", "YES"))
    out.append(("X-Spam-Score", f"{v.probability:.4f}"))
    out.append(("X-Spam-Status", f"{'Yes' if flag else 'No'}, score={pts:.1f} required={REQUIRED_POINTS:.1f} "
                                 f"probability={v.probability:.4f} verdict={v.label} clues={clues}"))
    if level:
        out.append(("X-Spam-Level", stars(pts)))
    return out
