"""The classifier (spamscore.model), moved to the package folder: the code is in :mod:`.nb` for now.

A step of the restructuring (issue 17): this package *is* its module ``nb``
(``sys.modules`` maps ``spamscore.model`` to it), so every name, private ones
included, and every monkeypatch of them behaves as before the move.  The next
commit cuts ``nb`` into one file a job.
"""

import sys

from . import nb

sys.modules[__name__] = nb
