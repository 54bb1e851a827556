#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Scenarios exported by `gmemsim export-selftest`, built as kernel selftests.

The KVM selftest library and the uAPI headers come from Debian's linux-source-6.12
package, prepared once per build directory with the kernel tree's own make targets
(never stored in this repository):

  1. extract Makefile, scripts/, include/, arch/x86/ and tools/ of the tarball;
  2. `make -C TREE headers` (the uAPI headers in TREE/usr/include, where the
     selftests look for them; headers_install would need rsync);
  3. `make -C TREE/tools/testing/selftests/kvm TREE/.../kvm/guest_memfd_test`: the
     library's objects (LIBKVM) and the upstream guest_memfd test, linked against them.

Then every scenario given is exported into the selftest directory as
gs_export_<name>.c and all are built by the same Makefile in one run
(`TEST_GEN_PROGS_x86_64=<names> EXTRA_CFLAGS=-Werror`), and the `<!-- recipe: export -->`
blocks of docs/FUZZING.md run as written (with LINUX set to the tree). On a host whose
/dev/kvm offers guest_memfd the programs run (exit 0 pass, 4 KSFT_SKIP: a capability the
kernel lacks); elsewhere that part is skipped with the reason and the rest still counts.

usage: export-kernel.py --gmemsim G --tarball T --workdir D --srcdir S SCENARIO...
Exit: 0 every program built (and passed or skipped where run); 1 a failure; 77 the
package is absent (nothing ran).
"""
import argparse
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

SKIP = 77
PARTS = ('Makefile', 'scripts/', 'include/', 'arch/x86/', 'tools/')
KVM_DIR = 'tools/testing/selftests/kvm'


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        print(' '.join(cmd))
        print((r.stdout + r.stderr)[-6000:])
    return r


def prefix_of(tarball):
    """The tarball's top directory (linux-source-6.12)."""
    with tarfile.open(tarball, mode='r|xz') as tar:
        for m in tar:
            return m.name.split('/', 1)[0]
    sys.exit(f'{tarball}: empty archive')


def prepare(tarball, workdir):
    """The tree with headers and libkvm built: once per build directory, under a lock."""
    tree = os.path.join(workdir, 'linux')
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ready = os.path.join(workdir, '.ready')
        if os.path.exists(ready):
            print(f'reused: {tree} (headers and libkvm built earlier in this build directory)')
            return tree
        shutil.rmtree(tree, ignore_errors=True)
        os.makedirs(tree)
        top = prefix_of(tarball)
        t0 = time.monotonic()
        r = run(['tar', '-xJf', tarball, '-C', tree, '--strip-components=1', '--wildcards']
                + [f'{top}/{p}*' if p.endswith('/') else f'{top}/{p}' for p in PARTS])
        if r.returncode:
            sys.exit('FAIL: extracting the kernel tree')
        t1 = time.monotonic()
        jobs = f'-j{min(os.cpu_count() or 1, 2)}'
        if run(['make', '-C', tree, jobs, 'headers']).returncode:
            sys.exit('FAIL: make headers')
        t2 = time.monotonic()
        kvm = os.path.join(tree, KVM_DIR)
        if run(['make', '-C', kvm, jobs, os.path.join(kvm, 'guest_memfd_test')]).returncode:
            sys.exit('FAIL: building libkvm (and guest_memfd_test) with the selftests Makefile')
        t3 = time.monotonic()
        print(f'prepared: extract {t1 - t0:.1f} s, make headers {t2 - t1:.1f} s, '
              f'libkvm + guest_memfd_test {t3 - t2:.1f} s')
        open(ready, 'w').close()
    return tree


def write_if_changed(path, text):
    """Keep the file (and its time stamp) when unchanged: make rebuilds only what changed."""
    if os.path.exists(path):
        with open(path, encoding='utf-8') as f:
            if f.read() == text:
                return
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def export_all(gmemsim, scenarios, kvm):
    """{program name: exported text}; a failed export fails the test."""
    progs = {}
    for scen in scenarios:
        name = 'gs_export_' + re.sub(r'\W', '_', os.path.basename(scen)[:-len('.gms')])
        r = run([gmemsim, 'export-selftest', scen])
        if r.returncode:
            sys.exit(f'FAIL: gmemsim export-selftest {scen}: exit {r.returncode}')
        write_if_changed(os.path.join(kvm, name + '.c'), r.stdout)
        progs[name] = r.stdout
    return progs


def build(kvm, names):
    """The programs built by the selftests Makefile; the names that failed."""
    jobs = f'-j{min(os.cpu_count() or 1, 2)}'
    r = subprocess.run(['make', '-C', kvm, jobs, '-k', 'TEST_GEN_PROGS_x86_64=' + ' '.join(names),
                        'EXTRA_CFLAGS=-Werror'] + [os.path.join(kvm, n) for n in names],
                       capture_output=True, text=True)
    failed = [n for n in names if not os.path.exists(os.path.join(kvm, n))]
    if r.returncode or failed:
        # The compiler's messages, not the command lines.
        log = [ln for ln in (r.stdout + r.stderr).splitlines()
               if not ln.startswith('gcc ') and 'not remade because of errors' not in ln]
        print('\n'.join(log)[-8000:])
    return failed if failed or not r.returncode else ['(make failed)']


def guest_memfd_probe():
    """None where /dev/kvm offers guest_memfd, else why not."""
    import ctypes
    if os.environ.get('GMEMSIM_NO_KVM'):
        return '/dev/kvm: hidden by GMEMSIM_NO_KVM'
    try:
        fd = os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f'/dev/kvm: {e.strerror}'
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong]
        cap = libc.ioctl(fd, 0xAE03, 234)  # KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD
    finally:
        os.close(fd)
    if cap <= 0:
        return f'/dev/kvm: kernel {os.uname().release} has no guest_memfd ' \
               f'(KVM_CAP_GUEST_MEMFD is {cap})'
    return None


def run_programs(kvm, names):
    """Run each program: 0 pass, 4 KSFT_SKIP (printed with its reason); the failures."""
    failed = []
    for n in names:
        r = subprocess.run([os.path.join(kvm, n)], capture_output=True, text=True, timeout=120)
        out = (r.stdout + r.stderr).strip().splitlines()
        if r.returncode == 0:
            print(f'run: {n}: pass')
        elif r.returncode == 4:
            print(f'run: {n}: skip: {out[-1] if out else ""}')
        else:
            print(f'run: {n}: FAIL (exit {r.returncode})')
            print('\n'.join(out[-30:]))
            failed.append(n)
    return failed


def recipes(doc):
    """The shell blocks of @doc marked <!-- recipe: export -->."""
    text = open(doc, encoding='utf-8').read()
    return re.findall(r'^<!-- recipe: export -->\n```sh\n(.*?)^```', text, re.M | re.S)


def run_recipes(doc, gmemsim, tree, scratch):
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(os.path.join(scratch, 'bin'))
    os.symlink(os.path.abspath(gmemsim), os.path.join(scratch, 'bin', 'gmemsim'))
    env = dict(os.environ, PATH=os.path.join(scratch, 'bin') + os.pathsep + os.environ['PATH'],
               LINUX=tree)
    # The recipe's program must be built by the recipe, not left from an earlier run.
    for leftover in ('gmem_regression_test', 'gmem_regression_test.o'):
        if os.path.exists(os.path.join(tree, KVM_DIR, leftover)):
            os.remove(os.path.join(tree, KVM_DIR, leftover))
    blocks = recipes(doc)
    if not blocks:
        sys.exit(f'FAIL: no <!-- recipe: export --> block in {doc}')
    for i, block in enumerate(blocks, 1):
        work = os.path.join(scratch, f'recipe-{i}')
        os.makedirs(work)
        r = subprocess.run(['bash', '-c', 'set -euo pipefail\n' + block], cwd=work, env=env,
                           capture_output=True, text=True, timeout=600)
        log = r.stdout + r.stderr
        print(f'--- recipe {i}\n{block}' + '\n'.join(ln for ln in log.splitlines()
                                                  if not ln.startswith(('gcc ', 'make'))
                                                  and 'execs/s' not in ln)[-3000:])
        if r.returncode:
            sys.exit(f'FAIL: {doc}: recipe {i} exited {r.returncode}')
        check_loop(work, tree)
    return len(blocks)


def check_loop(work, tree):
    """What the doc says of its loop: the finding reduced to six lines, the regression test
    built, asserting the read of the punched page as 0 with the planted bug left out."""
    short = os.path.join(work, 'short.gms')
    if not os.path.exists(short):
        return
    with open(short, encoding='utf-8') as f:
        ops = [ln for ln in f if ln.strip() and not ln.startswith('#')]
    test = os.path.join(work, 'gmem_regression_test.c')
    text = open(test, encoding='utf-8').read()
    prog = os.path.join(tree, KVM_DIR, 'gmem_regression_test')
    if len(ops) > 6 or 'a test-only bug planted in the simulator' not in text \
            or not re.search(r'gs_access_at\(\d+, map_\w+, maplen_\w+, 0x0ULL, 0x1ULL, 0, 0x0,\s+'
                             r'0, 1, 0, 1\);', text) or not os.path.exists(prog):
        sys.exit(f'FAIL: the loop: {len(ops)} lines in short.gms, or the test does not assert '
                 f'the zeroed read, or {prog} was not built')
    print(f'loop: short.gms has {len(ops)} lines; {prog} built')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--gmemsim', required=True)
    ap.add_argument('--tarball', required=True)
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--doc', required=True)
    ap.add_argument('scenarios', nargs='+')
    a = ap.parse_args()
    if not os.path.exists(a.tarball):
        print(f'SKIP: {a.tarball} is absent (Debian package linux-source-6.12; '
              'quickstart.sh installs it for the test command)')
        return SKIP
    t0 = time.monotonic()
    tree = prepare(a.tarball, os.path.abspath(a.workdir))
    kvm = os.path.join(tree, KVM_DIR)
    progs = export_all(a.gmemsim, a.scenarios, kvm)
    # The set must hold the proposals behind their capabilities.
    conv = [n for n, t in progs.items() if 'GS_SET_MEMORY_ATTRIBUTES2, &a' in t]
    huge = [n for n, t in progs.items() if 'GUEST_MEMFD_FLAG_HUGETLB,\n' in t]
    if not conv or not huge:
        sys.exit(f'FAIL: the exported set needs a conversion ({conv}) and a HugeTLB ({huge}) '
                 'program')
    t1 = time.monotonic()
    failed = build(kvm, sorted(progs))
    t2 = time.monotonic()
    if failed:
        print(f'FAIL: {len(failed)} of {len(progs)} exported programs do not build: {failed}')
        return 1
    print(f'built: {len(progs)} exported programs against Linux 6.12\'s KVM selftest library '
          f'({len(conv)} with conversion, {len(huge)} with HugeTLB) in {t2 - t1:.1f} s')
    nr = run_recipes(a.doc, a.gmemsim, tree, os.path.join(os.path.abspath(a.workdir),
                                                           'recipes'))
    print(f'recipes: {nr} export recipe(s) of {a.doc} run as written')
    why = guest_memfd_probe()
    if why:
        print(f'run: skipped: {why} (the programs were built, not run)')
        failed = []
    else:
        failed = run_programs(kvm, sorted(progs))
    print(f'export-kernel: {time.monotonic() - t0:.1f} s')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
