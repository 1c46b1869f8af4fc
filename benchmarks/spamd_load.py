"""Load test: concurrent `spamc -c` clients -> `spamscore serve` with 1 and 2 worker processes.

Each message goes through the real SpamAssassin client, one `spamc` process per message as an MTA
or procmail runs it, from ``--clients`` threads at once.  For each worker count: messages per
second (wall), the server's CPU seconds (parent and workers, from /proc), the client-side
latency (p50, p99) and a check that every spamc exit code (1 spam, 0 not) agrees with the same
model scoring the message in this process.  The same run also measures, on the same messages:
the in-process ``Model.score`` rate on one core (the ceiling without protocol or processes),
``spamc -K`` (a ping: the cost of a spamc process and a connection, no scoring), and
``spamscore filter`` started once per message on a sample (what a procmail user pays without a
server).  No real spamd is needed.

Messages: the test half of the SpamAssassin public corpus (``--corpus`` folder or tarball, or
../shared/corpora/spamassassin-public.tar.xz unpacked into a temporary folder), else the test
fixtures.  Model: ``--model``, else the shipped default; if that cannot be loaded (a feature
version change pending a retrain), a model trained here on the train half (noted in the results).

Usage:  python benchmarks/spamd_load.py [--clients 4] [--messages N] [--workers 1,2]
Writes benchmarks/results/spamd.json and spamd.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from harness.corpus import locate_root, read_split, unpack  # noqa: E402

TARBALL = REPO.parent / "shared" / "corpora" / "spamassassin-public.tar.xz"
SPLIT = REPO / "data" / "spamassassin-public.tsv"


def load_messages(corpus: str | None, workdir: str) -> tuple[list[bytes], str | None, str]:
    """(test-half messages, the corpus root or None, source description); the fixtures if no corpus."""
    rows = read_split(str(SPLIT))
    root = None
    if corpus and os.path.isdir(corpus):
        root = locate_root(corpus)
    elif corpus and os.path.isfile(corpus):
        root = unpack(corpus, workdir)
    elif TARBALL.exists():
        root = unpack(str(TARBALL), workdir)
    if root:
        test = []
        for rel, _, split, _ in rows:
            if split == "test":
                try:
                    test.append(Path(root, rel).read_bytes())
                except OSError:
                    pass
        if test:
            return test, root, f"SpamAssassin public corpus, test half ({len(test)} messages)"
    fx = [p.read_bytes() for p in sorted((REPO / "tests" / "fixtures").glob("*.eml"))]
    return fx, None, f"tests/fixtures ({len(fx)} messages, cycled)"


def get_model(path: str | None, root: str | None, workdir: str) -> tuple[str, str]:
    """(model path, note): ``path``, else the default model, else one trained here on the train half."""
    from spamscore.errors import ModelError
    from spamscore.scoring import default_model_path, load_model

    p = path or str(default_model_path())
    try:
        load_model(p)
        return p, f"`{os.path.relpath(p, REPO)}`" if p.startswith(str(REPO)) else f"`{p}`"
    except ModelError as exc:
        if path or not root:
            raise
        reason = str(exc)
    from spamscore.batch import train_items
    from spamscore.corpus import iter_index

    model, _ = train_items(iter_index(str(SPLIT), root, "train"))
    out = os.path.join(workdir, "bench.spamscore")
    model.save(out)
    note = f"trained here on the train half (the default model did not load: {reason})"
    print(note, file=sys.stderr)
    return out, note


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pids) -> float:
    total = 0.0
    for pid in pids:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _pool(n: int, clients: int, one) -> float:
    """Call ``one(i)`` for i in range(n) from ``clients`` threads, each taking the next index; the wall seconds."""
    q: queue.Queue = queue.Queue()
    for i in range(n):
        q.put(i)

    def work():
        while True:
            try:
                i = q.get_nowait()
            except queue.Empty:
                return
            one(i)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def run_clients(cmd_for, messages: list[bytes], clients: int) -> tuple[float, list[float], list[int]]:
    """Run ``cmd_for(i)`` with message i on stdin from ``clients`` threads: (wall s, latencies, exit codes)."""
    lat = [0.0] * len(messages)
    codes = [0] * len(messages)

    def one(i: int) -> None:
        t = time.perf_counter()
        r = subprocess.run(cmd_for(i), input=messages[i], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lat[i] = time.perf_counter() - t
        codes[i] = r.returncode

    return _pool(len(messages), clients, one), lat, codes


def raw_clients(port: int, messages: list[bytes], clients: int) -> tuple[float, list[int]]:
    """The same CHECK requests from ``clients`` threads over plain sockets (no process per message):
    (wall s, 1 for spam / 0 / -1 for an error reply, per message)."""
    out = [0] * len(messages)

    def one(i: int) -> None:
        raw = messages[i]
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(b"CHECK SPAMC/1.5\r\nContent-length: %d\r\n\r\n" % len(raw) + raw)
            s.shutdown(socket.SHUT_WR)
            reply = b"".join(iter(lambda: s.recv(65536), b""))
        out[i] = 1 if b"Spam: True" in reply else (0 if b"Spam: False" in reply else -1)

    return _pool(len(messages), clients, one), out


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", help="SpamAssassin corpus folder or tarball")
    ap.add_argument("--model")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--messages", type=int, default=0, help="at most this many (0: all of the test half)")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--filter-sample", type=int, default=10)
    ap.add_argument("--out", default=str(HERE / "results" / "spamd"))
    args = ap.parse_args()
    spamc = shutil.which("spamc")
    if not spamc:
        raise SystemExit("spamc is not installed (apt-get install spamc; see .ci/setup.d/spamc.sh)")
    work = tempfile.mkdtemp(prefix="spamd_load_")
    try:
        test, root, source = load_messages(args.corpus, work)
        if args.messages:
            test = [test[i % len(test)] for i in range(args.messages)]
        model_path, model_note = get_model(args.model, root, work)

        from spamscore.scoring import load_model
        model = load_model(model_path)
        t = time.process_time()
        expected = [model.score(raw).label == "spam" for raw in test]
        inproc_cpu = time.process_time() - t
        results = {"source": source, "model": model_note, "clients": args.clients, "messages": len(test),
                   "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                   "spamc": subprocess.run([spamc, "-V"], capture_output=True, text=True).stdout.split("\n")[0],
                   "in_process_msgs_per_cpu_s": len(test) / inproc_cpu, "runs": [],
                   "load_average_start": os.getloadavg()[0]}

        for n in [int(x) for x in args.workers.split(",")]:
            port = free_port()
            with open(os.path.join(work, f"serve-{n}.log"), "wb") as log:
                proc = subprocess.Popen([sys.executable, "-m", "spamscore", "serve", "--listen",
                                         f"inet:127.0.0.1:{port}", "--model", model_path, "--workers", str(n),
                                         "--log-level", "warning"], stderr=log)
            try:
                deadline = time.monotonic() + 120
                while len(children(proc.pid)) < n or subprocess.run(
                        [spamc, "-d", "127.0.0.1", "-p", str(port), "-K"], capture_output=True).returncode:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit(f"spamscore serve did not start: {Path(log.name).read_text()}")
                    time.sleep(0.2)
                where = [spamc, "-d", "127.0.0.1", "-p", str(port), "-t", "60"]
                run_clients(lambda i: where + ["-c"], test[:50], args.clients)          # warm-up
                pids = [proc.pid] + children(proc.pid)
                cpu0 = cpu_seconds(pids)
                wall, lat, codes = run_clients(lambda i: where + ["-c"], test, args.clients)
                cpu = cpu_seconds(pids) - cpu0
                disagree = sum((c == 1) != e for c, e in zip(codes, expected))
                errors = sum(c not in (0, 1) for c in codes)
                pwall, _, _ = run_clients(lambda i: where + ["-K"], test[:500], args.clients)
                cpu1 = cpu_seconds(pids)
                rwall, rcodes = raw_clients(port, test, args.clients)
                rcpu = cpu_seconds(pids) - cpu1
                run = {"workers": n, "wall_s": wall, "msgs_per_s": len(test) / wall, "server_cpu_s": cpu,
                       "msgs_per_server_cpu_s": len(test) / cpu if cpu else None,
                       "p50_ms": 1000 * pct(lat, 0.5), "p99_ms": 1000 * pct(lat, 0.99),
                       "verdict_disagreements": disagree, "errors": errors,
                       "ping_per_s": min(500, len(test)) / pwall,
                       "raw_msgs_per_s": len(test) / rwall, "raw_server_cpu_s": rcpu,
                       "raw_disagreements": sum((c == 1) != e for c, e in zip(rcodes, expected)),
                       "raw_errors": sum(c < 0 for c in rcodes)}
                results["runs"].append(run)
                print(json.dumps(run), file=sys.stderr)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        k = max(1, min(args.filter_sample, len(test)))
        t = time.perf_counter()
        for raw in test[:k]:
            subprocess.run([sys.executable, "-m", "spamscore", "filter", "--model", model_path], input=raw,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results["filter_per_message_s"] = (time.perf_counter() - t) / k
        results["load_average_end"] = os.getloadavg()[0]
        results["filter_sample"] = k
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Path(args.out + ".json").write_text(json.dumps(results, indent=2) + "\n")
    Path(args.out + ".md").write_text(report(results))
    print(report(results))


def report(r: dict) -> str:
    lines = [
        "# spamscore serve under load: spamc clients, 1 and 2 workers",
        "",
        f"Written by `benchmarks/spamd_load.py`. {r['machine']}; {r['spamc']}.",
        f"Messages: {r['source']}, {r['messages']} sent, each by its own `spamc -c` process, "
        f"{r['clients']} at a time. Model: {r['model']}.",
        "",
        "| workers | messages/s (wall) | server CPU s | messages per server CPU-second | latency p50 | p99 "
        "| spamc exit codes disagreeing with in-process scoring | errors | `spamc -K` pings/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for x in r["runs"]:
        per_cpu = f"{x['msgs_per_server_cpu_s']:,.0f}" if x["msgs_per_server_cpu_s"] else "-"
        lines.append(f"| {x['workers']} | {x['msgs_per_s']:,.0f} | {x['server_cpu_s']:.1f} | {per_cpu} "
                     f"| {x['p50_ms']:.1f} ms | {x['p99_ms']:.1f} ms | {x['verdict_disagreements']} | {x['errors']} "
                     f"| {x['ping_per_s']:,.0f} |")
    if len(r["runs"]) >= 2 and r["runs"][0]["msgs_per_s"]:
        lines += ["", f"{r['runs'][-1]['workers']} workers / {r['runs'][0]['workers']}: "
                      f"{r['runs'][-1]['msgs_per_s'] / r['runs'][0]['msgs_per_s']:.2f}x messages per second."]
    lines += [
        "",
        f"The same messages as plain `CHECK` requests from {r['clients']} client threads in one Python process "
        "(no process per message: closer to what the server alone can do):",
        "",
        "| workers | messages/s (wall) | server CPU s | messages per server CPU-second | verdicts disagreeing | errors |",
        "|---|---|---|---|---|---|",
    ]
    for x in r["runs"]:
        per_cpu = f"{r['messages'] / x['raw_server_cpu_s']:,.0f}" if x["raw_server_cpu_s"] else "-"
        lines.append(f"| {x['workers']} | {x['raw_msgs_per_s']:,.0f} | {x['raw_server_cpu_s']:.1f} | {per_cpu} "
                     f"| {x['raw_disagreements']} | {x['raw_errors']} |")
    lines += [
        "",
        f"Same run, same messages: `Model.score` in one process scores {r['in_process_msgs_per_cpu_s']:,.0f} "
        "messages per CPU-second (no protocol, no processes: the ceiling); `spamc -K` (a spamc process and a "
        "connection, nothing scored) is the rate the clients themselves allow; `spamscore filter` started once "
        f"per message took {r['filter_per_message_s']:.2f} s a message ({r['filter_sample']} messages): the "
        "start-up the server pays once.",
        "",
        "The clients run on the same cores as the server (one `spamc` process per message), so the wall rate "
        "is the whole system's, clients included; the CPU column is the server's alone. Load average (1 min) "
        f"{r['load_average_start']:.1f} at the start and {r['load_average_end']:.1f} at the end: the machine's "
        "cores are shared with other jobs, so a second worker can only help as far as a core is free.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
