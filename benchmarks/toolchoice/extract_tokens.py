"""Token lists of 3,000 SA-corpus messages (every other file, sorted, across all five folders) -> data/tokens.pkl."""
import os, pickle, sys
from spamscore.features import extract
from spamscore.message import parse
root = "/tmp/corp/sa_corpus"
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
files = files[::2][:3000]
docs = []
for p in files:
    with open(p, "rb") as fh:
        docs.append(extract(parse(fh.read())))
n = sum(map(len, docs))
nonascii = sum(1 for d in docs for t in d if not t.isascii())
print(len(docs), "messages", n, "tokens", nonascii, "non-ASCII", file=sys.stderr)
pickle.dump(docs, open("/tmp/toolchoice/data/tokens.pkl", "wb"))
