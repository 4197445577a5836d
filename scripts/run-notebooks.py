#!/usr/bin/python3
"""Execute ctlab's tslab notebooks headless with nbclient (Debian's /usr/bin/python3).

    run-notebooks.py [--scale tiny|normal] [--write] [--timeout S] [notebook.ipynb ...]

Without --write each notebook runs on a copy written under a temp folder (CI); with --write the
executed notebook, outputs included, replaces the original (the stored outputs GitHub renders).
The kernel starts in the notebook's own folder, so `../dist/src/index` resolves. On a failure it
prints the failing cell's source and its real error (tslab's compile errors, stderr, traceback),
carries on with the other notebooks, and exits 1. Use scripts/notebooks.sh, which sets PATH and
JUPYTER_PATH for the committed kernel spec (jupyter/kernels/tslab).
"""
import argparse
import glob
import os
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError, CellTimeoutError

KERNEL = "tslab"  # jupyter/kernels/tslab/kernel.json
SIZE_CAP = 2 * 1024 * 1024  # committed notebooks stay under 2 MB (user-needs.md, plotly section)


def output_text(out):
    """Readable text of one output: streams, errors, text/plain."""
    t = out.get("output_type")
    if t == "stream":
        return out.get("text", "")
    if t == "error":
        tb = out.get("traceback") or []
        return "\n".join(tb) if tb else "%s: %s" % (out.get("ename"), out.get("evalue"))
    data = out.get("data", {})
    if "text/plain" in data:
        return data["text/plain"]
    return "[%s]" % ", ".join(sorted(data))


def failing_cell(nb):
    """The last code cell with an error output, else the last code cell that was executed."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    for c in reversed(code):
        if any(o.get("output_type") == "error" for o in c.get("outputs", [])):
            return c
    ran = [c for c in code if c.get("execution_count") is not None]
    return ran[-1] if ran else None


def report_failure(path, nb, err):
    bar = "=" * 72
    print(bar, file=sys.stderr)
    print("FAILED: %s" % path, file=sys.stderr)
    cell = failing_cell(nb)
    if cell is not None:
        idx = nb.cells.index(cell)
        print("--- cell %d source ---" % idx, file=sys.stderr)
        print(cell.source, file=sys.stderr)
        outs = cell.get("outputs", [])
        if outs:
            print("--- cell %d output ---" % idx, file=sys.stderr)
            for o in outs:
                print(output_text(o).rstrip(), file=sys.stderr)
    print("--- error ---", file=sys.stderr)
    if isinstance(err, CellExecutionError):
        print("%s: %s" % (err.ename, err.evalue), file=sys.stderr)
        if err.traceback and cell is None:
            print(err.traceback, file=sys.stderr)
    else:
        print("%s: %s" % (type(err).__name__, err), file=sys.stderr)
    print(bar, file=sys.stderr)


def run_one(path, write, timeout, tmpdir):
    nb = nbformat.read(path, as_version=4)
    folder = os.path.dirname(os.path.abspath(path))
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=timeout,
        startup_timeout=120,
        allow_errors=False,
        record_timing=False,
        resources={"metadata": {"path": folder}},
    )
    t0 = time.time()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError) as err:
        report_failure(path, nb, err)
        return False, time.time() - t0
    secs = time.time() - t0
    # a cell can "succeed" yet print tslab's compile errors on stderr: treat them as failures
    for i, c in enumerate(nb.cells):
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            if o.get("output_type") == "stream" and o.get("name") == "stderr" and "error TS" in o.get("text", ""):
                report_failure(path, nb, RuntimeError("TypeScript error in cell %d" % i))
                return False, secs
    target = path if write else os.path.join(tmpdir, os.path.basename(path))
    nbformat.write(nb, target)
    size = os.path.getsize(target)
    pngs = sum(
        1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    )
    note = "  OVER THE 2 MB CAP" if size > SIZE_CAP else ""
    print("ok   %-36s %6.1f s  %3d png  %7.1f kB -> %s%s" % (os.path.basename(path), secs, pngs, size / 1024, target, note))
    return size <= SIZE_CAP, secs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="*", help="default: notebooks/*.ipynb")
    ap.add_argument("--scale", choices=["tiny", "normal"], default="normal", help="sets CTLAB_NOTEBOOK_SCALE (tiny in CI)")
    ap.add_argument("--write", action="store_true", help="store outputs in the notebooks themselves")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per cell (default 900)")
    args = ap.parse_args()
    os.environ["CTLAB_NOTEBOOK_SCALE"] = args.scale
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = args.notebooks or sorted(glob.glob(os.path.join(root, "notebooks", "*.ipynb")))
    if not paths:
        print("run-notebooks: no notebooks found", file=sys.stderr)
        return 1
    tmpdir = tempfile.mkdtemp(prefix="ctlab-notebooks-")
    failed = []
    t0 = time.time()
    for p in paths:
        ok, _ = run_one(p, args.write, args.timeout, tmpdir)
        if not ok:
            failed.append(p)
    print("%d notebook(s), %d failed, %.1f s, scale %s%s" % (
        len(paths), len(failed), time.time() - t0, args.scale, "" if args.write else ", outputs in " + tmpdir))
    for p in failed:
        print("failed: %s" % p, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
