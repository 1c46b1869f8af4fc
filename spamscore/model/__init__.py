"""The classifier: per-token naive Bayes evidence (Robinson), combined per message.

Training is counting.  For every feature we keep in how many spam and how
many ham messages it occurred (binary document counts).  Scoring follows Gary
Robinson's method as used by SpamBayes and Bogofilter, which ranked far better
on the SpamAssassin split than scikit-learn's MultinomialNB, BernoulliNB and
ComplementNB over the same features (``training/COMPARISON.md``): each
token's f(w) shrunk towards a prior, only the tokens far from 0.5 counting
(the clues), combined by Robinson's S and Fisher's chi-square
(``spamscore.scoring.Model`` calibrates them into a probability).

One file a job:

========================  ==============================================================
``stats.py``              chi-square tails, Fisher's statistics, Robinson's S, clue sums
``priors.py``             the prior tables (authentication, bulk, Japanese) and CJK flags
``index.py``              token -> clue row: ``HashIndex``, the dense table, ``ClueTables``
``nb.py``                 ``TokenNB``: counts, f(w), which tokens are clues, a document's clues
``header.py``             the JSON header and vocabulary encoding both file formats share
``format2.py``            the mapped file (format 2): layout, writer, reader, checks
``mapped.py``             ``MappedTokenNB``: a model scored in place from its format 2 file
``files.py``              ``save_model_file`` / ``load_model_file``, formats 1 and 2
``native.py``             the room's handle on the compiled ``_speedups`` (or None)
========================  ==============================================================

Every name other modules import from ``spamscore.model`` is re-exported here.
"""

from __future__ import annotations

from . import native
from .files import MAX_MODEL_BYTES, load_model_file, save_model_file
from .format2 import MappedFile, is_mapped_file, read_header, write_model
from .header import FORMAT_VERSION, MAGIC, NPZ_FORMAT_VERSION
from .index import ClueRows, ClueTables, HashIndex, dense_table, dense_table_reference
from .mapped import MappedTokenNB
from .nb import TokenNB, as_labels, check_is_fitted
from .priors import AUTH_PRIORS, DEFAULT_PRIORS, cjk_flags
from .stats import (cap_clues, clue_sums, clue_tables, fisher_logit, fisher_statistics, log_chi2p, log_chi2q,
                    robinson_s)

__all__ = [
    "TokenNB", "MappedTokenNB", "AUTH_PRIORS", "DEFAULT_PRIORS", "FORMAT_VERSION", "NPZ_FORMAT_VERSION", "MAGIC",
    "MAX_MODEL_BYTES", "save_model_file", "load_model_file", "read_header", "is_mapped_file", "write_model",
    "MappedFile", "HashIndex", "ClueRows", "ClueTables", "dense_table", "dense_table_reference",
    "as_labels", "cjk_flags", "check_is_fitted", "speedups", "cap_clues", "clue_sums", "clue_tables",
    "fisher_logit", "fisher_statistics", "log_chi2p", "log_chi2q", "robinson_s",
]

# The compiled helper as it was loaded (None in pure mode or when not built).  A copy: to turn the
# room's compiled code off, set ``spamscore.model.native.speedups`` (what every module here reads).
speedups = native.speedups

# The old private names, kept while scoring.py, batch.py and distributed.py move to the public ones.
_speedups = speedups
_as_labels = as_labels
_cjk_flags = cjk_flags
