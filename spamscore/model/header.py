"""What both model file formats share: the JSON header (what it holds, its checks) and the vocabulary's encoding.

The header holds the feature version, the profile, the calibration and
cut-offs (``spamscore.scoring.Model.save``), the :class:`~spamscore.model.nb.TokenNB`
parameters and priors, and the counts of messages; format 1 keeps it in an
array of its ``.npz`` (:mod:`spamscore.model.files`), format 2 in its ``json``
section (:mod:`spamscore.model.format2`).  The vocabulary is its tokens in row
order, ``'\\n'``-joined UTF-8 (a token never holds a newline: ``partial_fit``
skips such tokens).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import ModelFormatError, ModelVersionError
from .priors import DEFAULT_PRIORS

__all__ = ["MAGIC", "FORMAT_VERSION", "NPZ_FORMAT_VERSION", "MAPPED_ONLY", "encode_vocab", "decode_vocab",
           "file_header", "check_header", "nb_from_header"]

FORMAT_VERSION = 2  # what save_model_file writes (spamscore.model.format2); 1, the .npz archive, still loads
NPZ_FORMAT_VERSION = 1
MAGIC = "spamscore-model"  # the header's "magic" (format 2's container has its own: format2.MAGIC)
MAPPED_ONLY = ("n_clues", "n_tokens", "meta_prefixes")  # format 2's header keys about its tables


def encode_vocab(tokens: Sequence[str]) -> np.ndarray:
    """The tokens, ``'\\n'``-joined UTF-8, as bytes (uint8)."""
    data = "\n".join(tokens).encode("utf-8", "surrogatepass")
    return np.frombuffer(data, dtype=np.uint8)


def decode_vocab(arr: np.ndarray) -> list[str]:
    """The tokens of :func:`encode_vocab`'s bytes (UnicodeDecodeError when they are not UTF-8)."""
    if not len(arr):
        return []
    return arr.tobytes().decode("utf-8", "surrogatepass").split("\n")


def file_header(nb, meta: dict, version: int) -> dict:
    """``meta`` with the magic, format ``version``, message counts, parameters and priors of the fitted ``nb``."""
    header = dict(meta)
    header.update(
        magic=MAGIC, format_version=version, n_spam=int(nb.n_spam_), n_ham=int(nb.n_ham_),
        params={"s": nb.s, "x": nb.x, "min_dev": nb.min_dev, "max_clues": nb.max_clues,
                **({"text_min_dev": nb.text_min_dev} if nb.text_min_dev is not None else {}),
                **({"cjk_s": nb.cjk_s} if nb.cjk_s is not None else {}),
                **({"young": nb.young} if nb.young is not None else {})},
        priors=nb.priors if nb.priors is not None else DEFAULT_PRIORS,
    )
    return header


def check_header(path: str, header, feature_version: str, expected: int) -> None:
    """The JSON header's magic, format version (``expected``: the container's) and feature version."""
    if not isinstance(header, dict) or header.get("magic") != MAGIC:
        raise ModelFormatError(f"{path}: not a spamscore model (no magic in its header)")
    version = header.get("format_version")
    if version != expected:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise ModelVersionError(
            f"{path}: model format version {version}, this spamscore reads versions {NPZ_FORMAT_VERSION} "
            f"and {FORMAT_VERSION}" + (" (the model is from a newer release: upgrade spamscore)" if newer
                                      else " (retrain or convert the model)")
        )
    if header.get("feature_version") != feature_version:
        raise ModelVersionError(
            f"{path}: model trained with feature version {header.get('feature_version')!r}, "
            f"this spamscore extracts version {feature_version!r}: retrain the model"
        )


def nb_from_header(header: dict, cls):
    """An unfitted ``cls`` with the header's parameters and priors (KeyError, TypeError, ValueError
    on a damaged header)."""
    params = header.get("params", {})
    priors = {str(k): (float(v[0]), float(v[1])) for k, v in header.get("priors", {}).items()}
    nb = cls(s=float(params["s"]), x=float(params["x"]), min_dev=float(params["min_dev"]),
             max_clues=int(params["max_clues"]), priors=priors,
             text_min_dev=float(params["text_min_dev"]) if "text_min_dev" in params else None,
             cjk_s=float(params["cjk_s"]) if "cjk_s" in params else None,
             young=float(params["young"]) if "young" in params else None)
    nb.n_spam_ = int(header["n_spam"])
    nb.n_ham_ = int(header["n_ham"])
    if nb.n_spam_ < 0 or nb.n_ham_ < 0 or nb.max_clues < 0 or not all(math.isfinite(v) for v in (nb.s, nb.x, nb.min_dev)):
        raise ValueError("negative counts or non-finite parameters")
    nb.classes_ = np.array([0, 1])
    return nb
