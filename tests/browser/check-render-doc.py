#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""docs/RENDERING.md's commands as written, and the text views and `render` as a user sees
them: every `$ gmemsim ...` line of the doc runs and succeeds (in a scratch directory that
sees the source tree's examples/), the doc's sample of `--show` output appears in the real
output line for line, colours follow --color, bad options are usage errors, the page is the
same on stdout and with -o, and a malformed scenario writes no page.

usage: check-render-doc.py GMEMSIM SRCDIR
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

failures = 0


def check(what, ok, detail=""):
    global failures
    if not ok:
        failures += 1
        print(f"FAIL: {what}" + (f": {detail}" if detail else ""))


def run(gmemsim, args, cwd):
    return subprocess.run([gmemsim] + args, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)


def doc_blocks(doc):
    """The fenced blocks of the doc: (language, lines)."""
    return [(m.group(1), m.group(2).splitlines())
            for m in re.finditer(r"^```(\w*)\n(.*?)^```", doc, re.S | re.M)]


def main():
    gmemsim, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    doc = open(os.path.join(src, "docs", "RENDERING.md")).read()
    blocks = doc_blocks(doc)
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(os.path.join(src, "examples"), os.path.join(tmp, "examples"))
        commands = [l[2:] for lang, lines in blocks if lang == "sh" for l in lines
                    if l.startswith("$ ")]
        check("the doc has its commands", len(commands) >= 3, str(commands))
        for cmd in commands:
            argv = shlex.split(cmd)
            check(f"doc command runs gmemsim: {cmd}", argv[0] == "gmemsim")
            r = run(gmemsim, argv[1:], tmp)
            check(f"doc command exits 0: {cmd}", r.returncode == 0, r.stderr.decode())
            if "-o" in argv:
                out = os.path.join(tmp, argv[argv.index("-o") + 1])
                page = open(out, "rb").read() if os.path.exists(out) else b""
                check(f"{cmd}: writes a page", page.startswith(b"<!DOCTYPE html>"))

        # README's `./quickstart.sh render` runs this command: the same one, run here.
        qs = open(os.path.join(src, "quickstart.sh")).read()
        m = re.search(r"^cmd_render\(\) \{\n(.*?)^\}", qs, re.S | re.M)
        line = [l.strip() for l in (m.group(1) if m else "").splitlines()
                if "gmemsim render" in l]
        check("quickstart.sh render renders", len(line) == 1, str(line))
        if line:
            argv = shlex.split(line[0])
            check("quickstart.sh render uses the built gmemsim",
                  argv[0] == "./build/tools/gmemsim", argv[0])
            r = run(gmemsim, argv[1:], tmp)
            check("quickstart.sh render's command exits 0", r.returncode == 0, r.stderr.decode())
            check("quickstart.sh render's command writes its page",
                  os.path.exists(os.path.join(tmp, argv[argv.index("-o") + 1])))

        # The doc's sample output: every line but the "..." elision is in the real output.
        sample = [lines for lang, lines in blocks if lang == "" and lines
                  and lines[0].startswith("after ")]
        check("the doc has a sample of --show", len(sample) == 1)
        r = run(gmemsim, ["run", "--show=all", "--color=never",
                          "examples/render-conversion.gms"], tmp)
        out = r.stdout.decode()
        check("--show=all exits 0", r.returncode == 0, r.stderr.decode())
        for line in sample[0] if sample else []:
            if line.strip() != "...":
                check(f"sample line in the output: {line!r}", line + "\n" in out)
        for want in ["xarray g: head node", "64-511: sibling (slot 0) x7",
                     "maple_tree g: height 1", "  1-1: value 2 (shared)",
                     "hugepages-2048kB [####################] nr 1 free 0 resv 0",
                     "  g: order 9 x1 4096 B each (HVO);", "  g: order 0 x512 64 B each;",
                     "stage2 s: leaves 4K=0 2M=1 1G=0"]:
            check(f"--show=all shows {want!r}", want in out)
        check("--color=never: no escapes", "\033[" not in out)

        r = run(gmemsim, ["run", "--show=file", "examples/render-conversion.gms"], tmp)
        check("--show piped (auto): no escapes", b"\033[" not in r.stdout)
        check("--show=file only: no xarray view", b"xarray g:" not in r.stdout)
        r = run(gmemsim, ["run", "--show=file", "--color=always",
                          "examples/render-conversion.gms"], tmp)
        check("--color=always: escapes", b"\033[35m" in r.stdout)
        for bad in (["--show=files"], ["--show=file", "--color=sometimes"]):
            r = run(gmemsim, ["run"] + bad + ["examples/render-conversion.gms"], tmp)
            check(f"{bad}: usage error", r.returncode == 2, str(r.returncode))

        for bad in (["render", "--show=file"], ["run", "--fail-nth", "--show=file"]):
            r = run(gmemsim, bad + ["examples/render-conversion.gms"], tmp)
            check(f"{bad}: usage error", r.returncode == 2, str(r.returncode))

        # A 1 GiB file split to 262,144 folios: the views stay one screen per view.
        big = os.path.join(tmp, "big.gms")
        with open(big, "w") as f:
            f.write("hugetlb pool size=1G nr=1\nvm s type=sw_protected\n"
                    "gmem g vm=s size=1G flags=mmap|hugetlb page=1G\n"
                    "falloc g off=0 len=1G\nconvert g off=4K len=4K to=shared => 0\n")
        r = run(gmemsim, ["run", "--show=file,pool,hvo,stage2", big], tmp)
        out = r.stdout.decode()
        after = out[out.rfind("after "):]
        check("1 GiB: --show exits 0", r.returncode == 0, r.stderr.decode())
        check("1 GiB: the split is three runs",
              "order 0  x262142 private" in after and "order 0  x1      shared" in after,
              after)
        check(f"1 GiB: the last step's views are short ({after.count(chr(10))} lines)",
              after.count("\n") < 20)

        r1 = run(gmemsim, ["render", "examples/render-conversion.gms"], tmp)
        r2 = run(gmemsim, ["render", "examples/render-conversion.gms", "-o", "p.html"], tmp)
        page = open(os.path.join(tmp, "p.html"), "rb").read()
        check("render to stdout = render -o", r1.returncode == 0 and r1.stdout == page)
        check("render -o: the run's output on stdout", b"render-conversion.gms: ok" in r2.stdout)
        check("render to stdout: the run's output on stderr",
              b"render-conversion.gms: ok" in r1.stderr)
        bad = os.path.join(tmp, "bad.gms")
        with open(bad, "w") as f:
            f.write("gmem g size=12Q\n")
        r = run(gmemsim, ["render", bad, "-o", "bad.html"], tmp)
        check("malformed: exit 3", r.returncode == 3, str(r.returncode))
        check("malformed: no page", not os.path.exists(os.path.join(tmp, "bad.html")))
        r = run(gmemsim, ["render", "examples/render-conversion.gms", "-o",
                          "no/such/dir/x.html"], tmp)
        check("unwritable -o: exit 2", r.returncode == 2, str(r.returncode))
        r = run(gmemsim, ["render"], tmp)
        check("render without a file: exit 2", r.returncode == 2)
    print("ok" if not failures else f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
