#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run one of the kernel's own test files against gmemsim (the `peer` suite).

The file is taken at test time from Debian's linux-source package (never stored in
this repository: it stays GPL and outside the project), or from a kernel source
directory (--tarball names a directory: a newer upstream tree runs its newer file
through the same shims), compiled against gmemsim through the MIT shims in
tests/peer/shim/, and run. Test functions gmemsim cannot compile or run yet are
listed in a disable file (tests/peer/<name>.disabled): each line names a function
and the reason; its body is emptied before compiling, and the line range it had is
printed, so every gap is visible in the output and listed in docs/FIDELITY.md.

A file may be a module (a test function per check group, module_init) or a
selftest (its own main()): the driver only needs the summary regex and, for
expected failures, the function each failed check names (`BUG at FILE:LINE
(function)`).

usage: kernel-test.py NAME --tarball T --member PATH [--extra PATH...] [--main FUNC]
       --workdir DIR --disabled F --summary REGEX [--functions REGEX]
       -- CC... @@ CFLAGS... @@ LIBS...
--extra compiles another member of the tree beside it (the radix-tree harness's
test.c); --main gives a harness file without main() one that calls FUNC, set up
as the harness's main.c does.
Exit: 0 all checks passed (or failed only where the disable file expects it),
1 a check failed (or the file did not build), 77 no linux-source package (the
reason is printed).
"""
import argparse
import fcntl
import os
import re
import subprocess
import sys
import tarfile

SKIP = 77


def extract(tarball, member, workdir, members_file, extra=()):
    """The member's text. Every file the peer suite uses (members_file) is
    extracted in one pass over the archive, once per build directory, under a
    lock: decompressing the archive is the slow part (~20 s). The pass is made
    again when the list names a file the last pass did not extract (.extracted
    lists what it did)."""
    os.makedirs(workdir, exist_ok=True)
    dest = os.path.join(workdir, member)
    marker = os.path.join(workdir, '.extracted')
    with open(os.path.join(workdir, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(members_file, encoding='utf-8') as f:
            wanted = {ln.strip() for ln in f if ln.strip() and not ln.startswith('#')}
        wanted |= {member, *extra}
        done = set()
        if os.path.exists(marker):
            with open(marker, encoding='utf-8') as f:
                done = {ln.strip() for ln in f if ln.strip()}
        if not wanted <= done:
            listed = sorted(wanted)
            with tarfile.open(tarball, mode='r|xz') as tar:
                for m in tar:
                    name = m.name.split('/', 1)[-1]
                    if name not in wanted or not m.isfile():
                        continue
                    out = os.path.join(workdir, name)
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    with tar.extractfile(m) as src, open(out, 'wb') as o:
                        o.write(src.read())
                    wanted.discard(name)
                    if not wanted:
                        break
            with open(marker, 'w', encoding='utf-8') as f:
                f.write(''.join(n + '\n' for n in listed))
    for name in (member, *extra):
        if not os.path.exists(os.path.join(workdir, name)):
            sys.exit(f'{name} is not in {tarball}')
    with open(dest, encoding='utf-8') as f:
        return f.read()


def read_disabled(path, config):
    """([(function, lines, reason, optional)], {function: (count, reason)}) from a
    disable file. `name: reason` disables a function; `name? : reason` only if the
    file has it (a newer or older kernel file may not); `name@L1,L2-L3: reason`
    disables single-line statements of the function (kernel file line numbers)
    instead of the whole body (lines is None for a whole function); `expect-fail
    name N: reason` expects exactly N failed checks in that function (an intended
    divergence, docs/FIDELITY.md). Any of them may end in `[key=value]`: only in
    builds with that configuration. # starts a comment."""
    out, xfail = [], {}
    if not os.path.exists(path):
        return out, xfail
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            name, sep, reason = line.partition(':')
            if not sep or not reason.strip():
                sys.exit(f'{path}:{n}: expected "function: reason"')
            m = re.fullmatch(r'(expect-fail\s+)?(\w+)(\?)?(?:@([\d,-]+))?\s*(\d+)?\s*'
                             r'(?:\[(\w+=\w+)\])?', name.strip())
            if not m or bool(m.group(1)) != bool(m.group(5)):
                sys.exit(f'{path}:{n}: expected "[expect-fail] function[?][@lines] [N] '
                         '[key=value]: reason"')
            if m.group(6) and m.group(6) not in config:
                continue
            cond = f' (in builds with {m.group(6)})' if m.group(6) else ''
            lines = None
            if m.group(4):
                lines = []
                for part in m.group(4).split(','):
                    lo, _, hi = part.partition('-')
                    lines += range(int(lo), int(hi or lo) + 1)
            if m.group(1):
                xfail[m.group(2)] = (int(m.group(5)), reason.strip() + cond)
            else:
                out.append((m.group(2), lines, reason.strip() + cond, bool(m.group(3))))
    return out, xfail


def body_span(text, name):
    """(start, end) offsets of the body braces of function @name's definition."""
    m = re.search(r'^[^\n;{}]*\b' + re.escape(name) + r'\s*\([^;{]*\)\s*\{', text, re.M)
    if not m:
        return None
    start = m.end() - 1
    depth = 0
    for i in range(start, len(text)):
        if text[i] == '{':
            depth += 1
        elif text[i] == '}':
            depth -= 1
            if depth == 0:
                return start, i + 1
    return None


def disable_lines(text, name, lines, first, last, reason, path):
    """The text with the given lines of function @name (body lines first-last)
    replaced by an empty statement. Each must be one whole statement (ending in
    ';'), so that this removes exactly one check; the line count stays the same."""
    rows = text.split('\n')
    for ln in lines:
        code = re.sub(r'\s*(/\*.*\*/|//.*)$', '', rows[ln - 1]).strip()
        if not first < ln < last or not code.endswith(';'):
            sys.exit(f'{path}: line {ln} is not a one-line statement of {name} '
                     f'(lines {first}-{last}): update the list')
        rows[ln - 1] = ';'  # an empty statement: the line may be the body of an if
    print(f'disabled: {len(lines)} statements of {name} (lines {compress(lines)}): {reason}')
    return '\n'.join(rows)


def compress(lines):
    """'3086,3095,3100-3102' for sorted line numbers."""
    out, start = [], None
    for i, ln in enumerate(lines):
        if start is None:
            start = ln
        if i + 1 == len(lines) or lines[i + 1] != ln + 1:
            out.append(str(start) if start == ln else f'{start}-{ln}')
            start = None
    return ','.join(out)


def disable(text, disabled, path):
    """The text with each disabled function's body (or the listed lines of it)
    emptied; prints what and why. Also returns the functions wholly disabled."""
    done = []
    for name, lines, reason, optional in disabled:
        span = body_span(text, name)
        if not span and optional:
            continue
        if not span:
            sys.exit(f'{path}: no function {name} in the kernel file (update the list)')
        first = text.count('\n', 0, span[0]) + 1
        last = text.count('\n', 0, span[1]) + 1
        if lines is not None:
            text = disable_lines(text, name, sorted(lines), first, last, reason, path)
            continue
        done.append(name)
        print(f'disabled: {name} (lines {first}-{last}): {reason}')
        # Keep the line count so the kernel file's line numbers stay valid.
        text = text[:span[0]] + '{ }' + '\n' * (last - first) + text[span[1]:]
    return text, done


def read_source(a):
    """The member's text: from a source directory, or extracted from the tarball."""
    if a.prepare_from:
        # The directory path, fed by this run: extract into it from the tarball first.
        if not os.path.exists(a.prepare_from):
            print(f'SKIP: {a.prepare_from} is absent (Debian package linux-source-6.12)')
            sys.exit(SKIP)
        extract(a.prepare_from, a.member, a.tarball, a.members, a.extra)
    if os.path.isdir(a.tarball):
        path = os.path.join(a.tarball, a.member)
        if not os.path.exists(path):
            sys.exit(f'{a.member} is not in the source directory {a.tarball}')
        print(f'source: {path} (a kernel source directory)')
        with open(path, encoding='utf-8') as f:
            return f.read()
    return extract(a.tarball, a.member, a.workdir, a.members, a.extra)


def judge(out, xfail, passed, run):
    """True when every failed check is one the disable file expects, in the
    expected number per function; prints the expected failures."""
    per_func = {}
    for f in re.findall(r'^BUG at \S+ \((\w+)\)', out, re.M):
        per_func[f] = per_func.get(f, 0) + 1
    ok = True
    for name, (count, reason) in sorted(xfail.items()):
        got = per_func.pop(name, 0)
        print(f'expected failures: {name}: {got} of {count} expected: {reason}')
        ok = ok and got == count
    # Every failed check is accounted for: none elsewhere, none without a function.
    return ok and not per_func and run - passed == sum(c for c, _ in xfail.values())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('name')
    ap.add_argument('--tarball', required=True,
                    help='the linux-source tarball, or a kernel source directory')
    ap.add_argument('--prepare-from', default='',
                    help='extract from this tarball into the --tarball directory first '
                    '(tests the directory path with the files the suite already uses)')
    ap.add_argument('--member', required=True)
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--disabled', required=True)
    ap.add_argument('--members', required=True, help='the files to extract, one per line')
    ap.add_argument('--config', action='append', default=[],
                    help='key=value of this build, for conditional disables')
    ap.add_argument('--extra', action='append', default=[],
                    help='another member compiled with it as it is (a harness file)')
    ap.add_argument('--main', help='a file without main(): the function main() calls')
    ap.add_argument('--summary', required=True,
                    help='regex with groups (passed, run) on the program output')
    # test_xarray.c's check_*(); test_maple_tree.c's are __init, plus two other names.
    ap.add_argument('--functions',
                    default=r'^static noinline void (?:__init )?'
                            r'(check_\w+|next_prev_test|alloc_cyclic_testing)\(',
                    help='regex whose group 1 names a test function')
    argv = sys.argv[1:]
    cut = argv.index('--') if '--' in argv else len(argv)
    a = ap.parse_args(argv[:cut])
    parts = [[]]
    for word in argv[cut + 1:]:
        if word == '@@':
            parts.append([])
        else:
            parts[-1].append(word)
    if len(parts) != 3:
        sys.exit('expected: -- CC... @@ CFLAGS... @@ LIBS...')
    a.cc, a.cflags, a.libs = parts

    if not a.prepare_from and not os.path.exists(a.tarball):
        print(f'SKIP: {a.tarball} is absent (Debian package linux-source-6.12; '
              'quickstart.sh installs it for the test command)')
        return SKIP
    text = read_source(a)
    funcs = sorted(set(re.findall(a.functions, text, re.M)))
    disabled, xfail = read_disabled(a.disabled, a.config)
    text, done = disable(text, disabled, a.disabled)
    names = set(done)
    partly = {n for n, lines, _, _ in disabled if lines is not None}
    nlines = sum(len(lines) for _, lines, _, _ in disabled if lines is not None)
    print(f'{a.member}: {len(funcs)} test functions, {len(funcs) - len(names & set(funcs))} '
          f'compiled and run, {len(names)} disabled'
          + (f'; {nlines} check lines disabled in {len(partly)} functions' if partly else ''))

    if a.main:
        # As the harness's main.c does: set up, run the test, end the grace periods.
        text += (f'\nint main(void)\n{{\n\trcu_register_thread();\n\tradix_tree_init();\n'
                 f'\t{a.main}();\n\trcu_barrier();\n\trcu_unregister_thread();\n'
                 f'\treturn 0;\n}}\n')
    os.makedirs(a.workdir, exist_ok=True)
    src = os.path.join(a.workdir, a.name + '.c')
    exe = os.path.join(a.workdir, a.name)
    with open(src, 'w', encoding='utf-8') as f:
        f.write(text)
    # The member's own directory first, for its quoted includes ("test.h").
    tree = a.tarball if os.path.isdir(a.tarball) else a.workdir
    here = ['-I' + os.path.join(tree, os.path.dirname(a.member))]
    extra = [os.path.join(tree, e) for e in a.extra]
    cmd = a.cc + here + a.cflags + ['-o', exe, src] + extra + a.libs
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        print(' '.join(cmd))
        print(r.stdout + r.stderr)
        print(f'FAIL: {a.member} does not compile against gmemsim')
        return 1
    r = subprocess.run([exe], capture_output=True, text=True, timeout=1200)
    out = r.stdout + r.stderr
    m = None
    for m in re.finditer(a.summary, out):
        pass
    failed_lines = [ln for ln in out.splitlines() if ln.startswith('BUG at ')]
    for ln in failed_lines[:50]:
        print(ln)
    if len(failed_lines) > 50:
        print(f'... {len(failed_lines) - 50} more failed checks')
    if not m:
        print(out[-4000:])
        print(f'FAIL: no summary line (exit {r.returncode})')
        return 1
    passed, run = int(m.group(1)), int(m.group(2))
    print(f'kernel checks: {run} run, {run - passed} failed (exit {r.returncode})')
    if r.returncode:
        return 1
    return 0 if passed == run or (xfail and judge(out, xfail, passed, run)) else 1


if __name__ == '__main__':
    sys.exit(main())
