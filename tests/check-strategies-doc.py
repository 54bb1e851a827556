#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run every command of docs/STRATEGIES.md's sections "Metrics", "Workloads",
"Comparing strategies" and "Figures" as written, and hold the document to
what they print: each ```sh block runs in one shell (in a scratch directory,
`gmemsim` being the built binary) and must exit 0; a ```text block right
after it must equal its output byte for byte; every .svg file it writes must
parse as XML and be self-contained (no href, no script, no url()).

usage: tests/check-strategies-doc.py SRCDIR BUILDDIR
"""
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SECTIONS = ("Metrics", "Workloads", "Comparing strategies", "Figures")


def blocks(doc):
    """(kind, text) of the fenced blocks in SECTIONS, in order."""
    out, section, fence, buf = [], None, None, []
    for line in doc.splitlines(keepends=True):
        if fence is None and line.startswith("## "):
            section = line[3:].strip()
            continue
        m = re.match(r"^```(\w*)\s*$", line)
        if m and fence is None:
            fence, buf = m.group(1), []
        elif line.startswith("```") and fence is not None:
            if section in SECTIONS:
                out.append((fence, "".join(buf)))
            fence = None
        elif fence is not None:
            buf.append(line)
    return out


def check_svg(path):
    text = open(path, encoding="utf-8").read()
    ET.fromstring(text)
    for bad in ("href", "<script", "url("):
        if bad in text:
            sys.exit(f"{path}: not self-contained ({bad})")


def main():
    src, build = sys.argv[1], os.path.abspath(sys.argv[2])
    doc = open(os.path.join(src, "docs", "STRATEGIES.md"), encoding="utf-8").read()
    bl = blocks(doc)
    if not any(k == "sh" for k, _ in bl):
        sys.exit("docs/STRATEGIES.md: no sh block in the metrics sections")
    with tempfile.TemporaryDirectory() as tmp:
        bindir = os.path.join(tmp, "bin")
        os.mkdir(bindir)
        os.symlink(os.path.join(build, "tools", "gmemsim"), os.path.join(bindir, "gmemsim"))
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        ran = 0
        for i, (kind, text) in enumerate(bl):
            if kind != "sh":
                continue
            r = subprocess.run(["bash", "-eo", "pipefail", "-c", text], cwd=work, env=env,
                               capture_output=True, text=True, timeout=300)
            if r.returncode:
                sys.exit(f"block failed (exit {r.returncode}):\n{text}\n{r.stderr}")
            if i + 1 < len(bl) and bl[i + 1][0] == "text" and r.stdout != bl[i + 1][1]:
                sys.stdout.writelines(
                    __import__("difflib").unified_diff(bl[i + 1][1].splitlines(True),
                                                       r.stdout.splitlines(True),
                                                       "docs", "run"))
                sys.exit(f"output differs from the document:\n{text}")
            ran += 1
        svgs = [f for f in os.listdir(work) if f.endswith(".svg")]
        for f in svgs:
            check_svg(os.path.join(work, f))
        print(f"{ran} blocks run, {len(svgs)} SVG files checked")


if __name__ == "__main__":
    main()
