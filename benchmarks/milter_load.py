"""Load test: concurrent SMTP clients -> private Postfix -> spamscore milter -> Maildir.

Runs the phases on one private Postfix instance (recipe: tests/postfix_fixture.py):
  off: Postfix without milter (baseline),
  on:  smtpd_milters = the real `spamscore milter --workers N` command, once for each N of --workers.
Reports messages/s per phase, the client-side SMTP transaction time (p50/p99),
the latency the milter adds measured inside the milter (end of body -> reply
written, from its per-message log lines), and checks that every message was
delivered exactly once (Maildir files matched by Message-ID).

Needs root and Postfix.  Usage:
  python benchmarks/milter_load.py --messages 2000 --clients 8 --workers 1,2 \
      [--index ../shared/corpora/spamassassin-public.tsv --root /tmp/sa_corpus] [--model M]
Writes benchmarks/results/milter_workers.json and .md (milter_load.* and milter_load_1client.* are older
one-process runs of this script).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import smtplib
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

from postfix_fixture import (TEST_DOMAIN, PostfixInstance, free_port, make_message, train_tiny_model,  # noqa: E402
                             wait_port)

_MSGID = re.compile(rb"^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*", re.I | re.M)


def load_messages(index: Path | None, root: Path | None, n: int) -> tuple[list[bytes], str]:
    """Up to n raw messages (cycled if the source is smaller); the source's description."""
    raws: list[bytes] = []
    source = "generated"
    if index and index.exists():
        rootdir = root or index.parent
        for line in index.read_text().splitlines()[1:]:
            cols = line.split("\t")
            p = rootdir / cols[0]
            try:
                raws.append(p.read_bytes())
            except OSError:
                continue
        source = f"{index.name} ({len(raws)} messages, cycled)" if raws else source
    if not raws:
        for i in range(200):
            raws.append(make_message(f"generated {i}", f"message {i} " + "word " * (50 + i % 300)))
    import random
    random.Random(0).shuffle(raws)        # spam and ham mixed, the same order every run
    return [raws[i % len(raws)] for i in range(n)], source


def prepare(raw: bytes, mid: str) -> bytes:
    """Unique Message-ID, no mbox From_ line, CRLF line endings."""
    raw = raw.replace(b"\r\n", b"\n")
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    head, sep, body = raw.partition(b"\n\n")
    head = _MSGID.sub(b"", head + b"\n").rstrip(b"\n")
    raw = f"Message-ID: <{mid}>\n".encode() + head + b"\n\n" + body
    if not raw.endswith(b"\n"):
        raw += b"\n"
    return raw.replace(b"\n", b"\r\n")


def _cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds_tree(pid: int) -> float:
    """CPU time of a process and its direct children (forked milter workers)."""
    total = _cpu_seconds(pid)
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        kids = []
    for k in kids:
        try:
            total += _cpu_seconds(int(k))
        except OSError:
            pass
    return total


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(q / 100.0 * (len(xs) - 1)))))
    return xs[k]


def run_phase(pf: PostfixInstance, msgs: list[bytes], user: str, clients: int, tag: str, timeout: float) -> dict:
    ids = [f"{tag}-{i}@bench.spamscore.test" for i in range(len(msgs))]
    prepared = [prepare(m, mid) for m, mid in zip(msgs, ids)]
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    nxt = iter(range(len(prepared)))

    def client():
        s = smtplib.SMTP("127.0.0.1", pf.port, timeout=60)
        sent_on_conn = 0
        try:
            while True:
                with lock:
                    i = next(nxt, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                try:
                    s.sendmail("bench@example.org", [f"{user}@{TEST_DOMAIN}"], prepared[i])
                except smtplib.SMTPException as exc:
                    with lock:
                        errors.append(f"{ids[i]}: {exc}")
                dt = (time.perf_counter() - t0) * 1000
                with lock:
                    lat.append(dt)
                sent_on_conn += 1
                if sent_on_conn % 50 == 0:    # new SMTP session now and then, like real clients
                    s.quit()
                    s = smtplib.SMTP("127.0.0.1", pf.port, timeout=60)
        finally:
            try:
                s.quit()
            except Exception:  # noqa: BLE001
                pass

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    accepted_s = time.perf_counter() - t0
    files = pf.wait_for_mail(len(msgs) - len(errors), user=user, timeout=timeout)
    delivered_s = time.perf_counter() - t0
    seen: dict[str, int] = {}
    for p in files:
        head = p.read_bytes().split(b"\n\n", 1)[0]
        m = re.search(rb"^message-id:\s*<([^>]*)>", head, re.I | re.M)
        key = m.group(1).decode(errors="replace") if m else "?"
        seen[key] = seen.get(key, 0) + 1
    missing = [i for i in ids if i not in seen]
    dups = [k for k, v in seen.items() if v > 1]
    return {
        "messages": len(msgs),
        "clients": clients,
        "smtp_errors": len(errors),
        "smtp_error_examples": errors[:3],
        "delivered_files": len(files),
        "missing": len(missing),
        "duplicated": len(dups),
        "delivered_exactly_once": not missing and not dups and not errors,
        "accept_seconds": round(accepted_s, 2),
        "deliver_seconds": round(delivered_s, 2),
        "accepted_per_s": round(len(msgs) / accepted_s, 1),
        "smtp_transaction_ms_p50": round(pct(lat, 50), 2),
        "smtp_transaction_ms_p99": round(pct(lat, 99), 2),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--index", type=Path, default=REPO.parent / "shared" / "corpora" / "spamassassin-public.tsv")
    ap.add_argument("--root", type=Path, default=Path("/tmp/sa_corpus"))
    ap.add_argument("--model", type=Path, default=None, help="model file (default: a tiny model trained here)")
    ap.add_argument("--workers", default="1,2", help="milter worker processes: one run for each (comma-separated)")
    ap.add_argument("--model-note", default=None, help="how the model was made, for the report")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "milter_workers")
    args = ap.parse_args(argv)

    if os.geteuid() != 0:
        print("needs root (a private Postfix instance)", file=sys.stderr)
        return 2
    msgs, source = load_messages(args.index, args.root, args.messages)
    work = Path(__import__("tempfile").mkdtemp(prefix="spamscore-load-"))
    os.chmod(work, 0o755)
    model = args.model
    if model is None:
        model = work / "tiny.spamscore"
        train_tiny_model(model)
    log_path = work / "milter.log"
    pf = PostfixInstance(None, users=("off", *(f"on{x.strip()}" for x in args.workers.split(","))), root=work / "postfix",
                         extra_main={"smtpd_milters": "", "non_smtpd_milters": ""})
    milter = None
    result: dict = {}
    try:
        pf.start()
        print(f"phase off: {len(msgs)} messages, {args.clients} clients", file=sys.stderr)
        off = run_phase(pf, msgs, "off", args.clients, "off", args.timeout)
        print(json.dumps(off), file=sys.stderr)

        runs = []
        for n in [int(x) for x in args.workers.split(",")]:
            milter_port = free_port()
            with open(log_path, "wb") as logf:
                milter = subprocess.Popen([sys.executable, "-m", "spamscore", "milter", "--listen",
                                           f"inet:127.0.0.1:{milter_port}", "--model", str(model),
                                           "--workers", str(n)],
                                          stderr=logf, cwd=REPO)
            wait_port(milter_port, 60)
            pf.reconfigure(smtpd_milters=f"inet:127.0.0.1:{milter_port}", non_smtpd_milters="$smtpd_milters")
            time.sleep(1.0)
            print(f"phase on, {n} worker(s)", file=sys.stderr)
            cpu0 = _cpu_seconds_tree(milter.pid)
            on = run_phase(pf, msgs, f"on{n}", args.clients, f"on{n}", args.timeout)
            cpu = _cpu_seconds_tree(milter.pid) - cpu0
            milter.terminate()
            milter.wait(30)
            log = log_path.read_text(errors="replace")
            ms = [float(x) for x in re.findall(r" ms=([0-9.]+)", log)]
            verdicts = re.findall(r" verdict=(\w+)", log)
            on.update({
                "workers": n,
                "milter_messages_logged": len(ms),
                "milter_ms_p50": round(pct(ms, 50), 2) if ms else None,
                "milter_ms_p90": round(pct(ms, 90), 2) if ms else None,
                "milter_ms_p99": round(pct(ms, 99), 2) if ms else None,
                "milter_ms_mean": round(statistics.fmean(ms), 2) if ms else None,
                "verdicts": {v: verdicts.count(v) for v in sorted(set(verdicts))},
                "milter_errors": log.count(" error="),
                "milter_cpu_seconds": round(cpu, 2),
                "milter_cpu_ms_per_message": round(cpu * 1000 / max(1, len(msgs)), 2),
            })
            print(json.dumps(on), file=sys.stderr)
            runs.append(on)
        result = {
            "benchmark": "milter_load",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "postfix": subprocess.run(["postconf", "-d", "-h", "mail_version"], capture_output=True,
                                                  text=True).stdout.strip(),
                        "load_average_at_end": os.getloadavg()},
            "source": source,
            "model": args.model_note or str(args.model or "tiny model trained from 16 test messages"),
            "milter_off": off,
            "milter_on": runs,
        }
    finally:
        if milter is not None and milter.poll() is None:
            milter.kill()
            milter.wait(10)
        pf.cleanup()
        __import__("shutil").rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(render_md(result))
    print(render_md(result))
    ok = result["milter_off"]["delivered_exactly_once"] and all(x["delivered_exactly_once"] for x in result["milter_on"])
    return 0 if ok else 1


def render_md(r: dict) -> str:
    off, runs = r["milter_off"], r["milter_on"]
    keys = [
        ("messages sent", "messages"),
        ("concurrent SMTP clients", "clients"),
        ("accepted messages/s", "accepted_per_s"),
        ("SMTP transaction ms p50", "smtp_transaction_ms_p50"),
        ("SMTP transaction ms p99", "smtp_transaction_ms_p99"),
        ("delivered exactly once", "delivered_exactly_once"),
    ]
    cols = [off, *runs]
    lines = [
        "# Milter load test",
        "",
        f"{r['date']}; {r['machine']['cpus']} CPUs (shared with other jobs; load average at end "
        f"{', '.join(f'{x:.1f}' for x in r['machine']['load_average_at_end'])}); Postfix {r['machine']['postfix']}, "
        f"Python {r['machine']['python']}.",
        f"Messages: {r['source']}. Model: {r['model']}.",
        "",
        "| | milter off | " + " | ".join(f"milter on, {x['workers']} worker(s)" for x in runs) + " |",
        "|---|" + "---|" * len(cols),
        *[f"| {label} | " + " | ".join(str(c[k]) for c in cols) + " |" for label, k in keys],
        "| missing / duplicated | " + " | ".join(f"{c['missing']} / {c['duplicated']}" for c in cols) + " |",
        "| milter ms p50 / p99 (end of body -> reply) | - | "
        + " | ".join(f"{x['milter_ms_p50']} / {x['milter_ms_p99']}" for x in runs) + " |",
        "| milter CPU ms per message | - | " + " | ".join(str(x["milter_cpu_ms_per_message"]) for x in runs) + " |",
        "| throughput, milter on / off | 1 | "
        + " | ".join(f"{x['accepted_per_s'] / off['accepted_per_s']:.3f}" for x in runs) + " |",
        "",
        "Verdicts and errors per run: " + "; ".join(f"{x['workers']} worker(s): {x['verdicts']}, "
                                                    f"{x['milter_errors']} milter errors" for x in runs) + ".",
        "",
        "Reproduce: `python benchmarks/milter_load.py --messages N --clients C --workers 1,2` "
        "(root, Postfix installed).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
