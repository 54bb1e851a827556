#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The workshop's labs against the facilitator's guide (docs/WORKSHOP.md).

The guide's ```answer blocks are the one source of the answers: a line
`LAB:LINE => EXPECTATION` fills the '?' slots of that line of
examples/workshop/LAB, `LAB:LINE wrong => EXPECTATION` is a tempting wrong
answer. This script holds the labs and the guide to each other:

  (a) every lab as shipped (with and without --oracle) fails at its first
      '?' line with "LAB:LINE: fill in the answer" and exit status 1, and
      `run --fail-nth` (1) and `reduce` (2) refuse it;
  (b) with every answer filled in, every lab passes, with the per-page oracle
      (`run --oracle`); every '?' has exactly one answer and every answer a '?';
  (c) every lab has a wrong answer, and each one fails its line with
      "expectation not met";
  (d) the guide's recipes (```sh blocks of `gmemsim` commands followed by the
      ```text block they print) print that text, and a ```text block of a wrong
      answer's message is what that wrong answer prints.

With --fail-nth N the filled labs run under the fail-nth runner instead
(every allocation of every line failed in turn, N injections per line at most).
Usage: check-workshop.py GMEMSIM SOURCE_ROOT [--fail-nth N]
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

LABS = "examples/workshop"
GUIDE = "docs/WORKSHOP.md"
ANSWER = re.compile(r"^(lab\S+\.gms):(\d+)( wrong)? => (.+)$")
SLOT = re.compile(r"(^|\s)(\w+=)?\?(?=\s|$)")

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def blocks(text, lang):
    """The fenced blocks of @lang in @text, with the block after each."""
    out = re.findall(r"```(\w*)\n(.*?)```", text, re.S)
    return [(body, out[i + 1] if i + 1 < len(out) else None)
            for i, (kind, body) in enumerate(out) if kind == lang]


def answers(guide):
    right, wrong = {}, {}
    for body, _ in blocks(guide, "answer"):
        for line in body.splitlines():
            m = ANSWER.match(line.strip())
            if not m:
                fail("%s: not an answer line: %r" % (GUIDE, line))
                continue
            key = (m.group(1), int(m.group(2)))
            table = wrong if m.group(3) else right
            if key in table and not m.group(3):
                fail("%s: two answers for %s:%d" % (GUIDE, *key))
            table.setdefault(key, []).append(m.group(4))
    return right, wrong


def slot_lines(path):
    with open(path) as f:
        lines = f.read().split("\n")
    found = []
    for i, line in enumerate(lines, 1):
        code = line.split("#", 1)[0]
        if "=>" in code and SLOT.search(code.split("=>", 1)[1]):
            found.append(i)
    return lines, found


def filled(lines, fills):
    """@lines with the expectation of each line in @fills replaced."""
    out = list(lines)
    for n, expect in fills.items():
        code, sep, comment = out[n - 1].partition("#")
        head = code.split("=>", 1)[0]
        out[n - 1] = head + "=> " + expect + ("  #" + comment if sep else "")
    return "\n".join(out)


def run(gmemsim, args, cwd=None):
    p = subprocess.run([gmemsim] + args, cwd=cwd, capture_output=True, text=True,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


def check_shipped(gmemsim, root, lab, slots):
    """As shipped, with and without the oracle: stopped at the first question."""
    for opts in ([], ["--oracle"]):
        rc, out, err = run(gmemsim, ["run"] + opts + [os.path.join(LABS, lab)], cwd=root)
        want = "%s/%s:%d: fill in the answer" % (LABS, lab, slots[0])
        if rc != 1 or want not in err:
            fail("%s as shipped %s: exit %d, wanted 1 and %r in:\n%s" % (lab, opts, rc, want,
                                                                        err))
        if "expectation not met" in err or "oracle" in err:
            fail("%s as shipped fails before its first question:\n%s" % (lab, err))
    # The fail-nth runner and the reducer refuse it: no clean run, no failure to keep.
    for args, status in ((["run", "--fail-nth"], 1), (["reduce"], 2)):
        rc, out, err = run(gmemsim, args + [os.path.join(LABS, lab)], cwd=root)
        if rc != status or "fill in the answer" not in err:
            fail("%s as shipped, %s: exit %d, wanted %d and 'fill in the answer' in:\n%s" %
                 (lab, " ".join(args), rc, status, err))


def check_filled(gmemsim, tmp, lab, lines, fills, opts):
    path = os.path.join(tmp, lab)
    with open(path, "w") as f:
        f.write(filled(lines, fills))
    rc, out, err = run(gmemsim, ["run"] + opts + [path])
    if rc != 0:
        fail("%s with the guide's answers (%s): exit %d\n%s%s" % (lab, " ".join(opts), rc,
                                                                   out[-2000:], err[-2000:]))


def shown_messages(guide):
    """The guide's ```text blocks of an unmet expectation, by (lab, line, expectation)."""
    shown = {}
    for body, _ in blocks(guide, "text"):
        m = re.match(r"%s/(lab\S+\.gms):(\d+): expectation not met\n.*\n  expected: (.*)\n" %
                     LABS, body)
        if m:
            shown[(m.group(1), int(m.group(2)), m.group(3))] = body
    return shown


def check_wrong(gmemsim, tmp, lab, lines, right, n, expect, shown):
    fills = dict(right)
    fills[n] = expect
    path = os.path.join(tmp, lab)
    with open(path, "w") as f:
        f.write(filled(lines, fills))
    rc, out, err = run(gmemsim, ["run", path])
    want = "%s:%d: expectation not met" % (path, n)
    if rc != 1 or want not in err:
        fail("%s: the wrong answer %r of line %d: exit %d, wanted 1 and %r in:\n%s" %
             (lab, expect, n, rc, want, err))
    doc = shown.pop((lab, n, expect), None)
    if doc is not None and err.replace(path, "%s/%s" % (LABS, lab)) != doc:
        fail("%s: the wrong answer %r printed:\n%s\nthe guide says:\n%s" % (GUIDE, expect, err,
                                                                            doc))


def check_recipes(gmemsim, root, guide):
    nr = 0
    for body, after in blocks(guide, "sh"):
        cmds = [c for c in body.splitlines() if c.startswith("gmemsim ")]
        if not cmds:
            continue
        text = ""
        for cmd in cmds:
            # As a terminal shows it: stdout line-buffered, stderr in between. stdbuf
            # preloads its library, which a sanitizer build must be told to accept.
            env = dict(os.environ)
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                         "verify_asan_link_order=0"]))
            p = subprocess.run(["stdbuf", "-oL", gmemsim] + cmd.split()[1:], cwd=root,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=300, env=env)
            text += p.stdout
            nr += 1
        if after is None or after[0] != "text":
            fail("%s: recipe %r has no ```text block of its output" % (GUIDE, cmds))
        elif after[1] != text:
            fail("%s: recipe %r printed:\n%s\nthe guide says:\n%s" % (GUIDE, cmds, text,
                                                                      after[1]))
    if not nr:
        fail("%s: no recipe found" % GUIDE)
    return nr


def main():
    if len(sys.argv) not in (3, 5):
        print(__doc__)
        return 2
    gmemsim, root = os.path.abspath(sys.argv[1]), sys.argv[2]
    fail_nth = sys.argv[4] if len(sys.argv) == 5 and sys.argv[3] == "--fail-nth" else None
    with open(os.path.join(root, GUIDE)) as f:
        guide = f.read()
    right, wrong = answers(guide)
    shown = shown_messages(guide)
    labs = sorted(f for f in os.listdir(os.path.join(root, LABS)) if f.endswith(".gms"))
    if not 6 <= len(labs) <= 10:
        fail("%d labs; the workshop has 6 to 10" % len(labs))
    for key in set(right) | set(wrong):
        if key[0] not in labs:
            fail("%s: an answer for %s, which is not a lab" % (GUIDE, key[0]))
    tmp = tempfile.mkdtemp(prefix="gmemsim-workshop-")
    try:
        for lab in labs:
            lines, slots = slot_lines(os.path.join(root, LABS, lab))
            fills = {n: right[(l, n)][0] for (l, n) in right if l == lab}
            if not slots:
                fail("%s has no question ('?')" % lab)
                continue
            if sorted(fills) != slots:
                fail("%s: questions on lines %s, the guide answers lines %s" %
                     (lab, slots, sorted(fills)))
                continue
            if fail_nth:
                check_filled(gmemsim, tmp, lab, lines, fills,
                             ["--fail-nth", "--fail-nth-max=" + fail_nth])
                continue
            check_shipped(gmemsim, root, lab, slots)
            check_filled(gmemsim, tmp, lab, lines, fills, ["--oracle"])
            bad = [(n, e) for (l, n), es in wrong.items() if l == lab for e in es]
            if not bad:
                fail("%s: the guide gives no wrong answer to check" % lab)
            for n, expect in bad:
                check_wrong(gmemsim, tmp, lab, lines, fills, n, expect, shown)
        recipes = 0 if fail_nth else check_recipes(gmemsim, root, guide)
        for lab, n, expect in shown if not fail_nth else ():
            fail("%s: a message of %s:%d => %s that no wrong answer prints" %
                 (GUIDE, lab, n, expect))
    finally:
        shutil.rmtree(tmp)
    print("%d labs, %d answers, %d wrong answers, %d recipe commands: %s" %
          (len(labs), len(right), sum(len(v) for v in wrong.values()), recipes,
           "FAILED" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
