#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`gmemsim export-selftest` without the kernel tree: the text of exported programs.

Asserts, for scenarios of tests/scenarios and a reduced fuzz finding: the same input
gives the same bytes (twice, and -o FILE equals stdout); the SPDX line; every line of
the scenario is either a step (`/* line N: ... */`) or listed as not exported with a
reason; the simulator's answers are asserted (return values, errnos, SIGBUS with the
bytes done, contents read back, fstat fields); steps upstream lacks are gated by their
capability (in-place conversion, HugeTLB, a VM type) and skip; the values come from the
upstream profile where the scenario passes under it; bad input gives file:line and a
non-zero exit with nothing written.

usage: check-export.py GMEMSIM SRCDIR
"""
import os
import re
import subprocess
import sys
import tempfile

G, SRC = sys.argv[1], sys.argv[2]
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        sys.exit(f'FAIL: {what}')


def export(path, *extra):
    return subprocess.run([G, 'export-selftest', path, *extra], capture_output=True, text=True)


def scen(name):
    return os.path.join(SRC, 'tests', 'scenarios', name)


def exported(path):
    r = export(path)
    check(r.returncode == 0, f'{path}: exit {r.returncode}: {r.stderr}')
    again = export(path)
    check(again.stdout == r.stdout, f'{path}: two exports differ')
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, 't.c')
        r2 = export(path, '-o', out)
        check(r2.returncode == 0 and open(out, encoding='utf-8').read() == r.stdout,
              f'{path}: -o FILE differs from stdout')
    check(r.stdout.startswith('// SPDX-License-Identifier: MIT\n'), f'{path}: SPDX line')
    check(f'from the scenario {os.path.basename(path)} ' in r.stdout, f'{path}: names it')
    return r.stdout


def covered(path, text):
    """Every operation line is a step or listed as not exported."""
    steps = {int(n) for n in re.findall(r'/\* line (\d+): ', text)}
    omitted = {int(n) for n in re.findall(r'^ \*   line (\d+): ', text, re.M)}
    for a, b in re.findall(r'^ \*   lines (\d+)-(\d+): after line', text, re.M):
        omitted |= set(range(int(a), int(b) + 1))
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if line:
                check(n in steps or n in omitted, f'{path}:{n}: neither a step nor listed')
    return steps


# The upstream selftest's cases: answers, fstat, host accesses, gated flags.
t = exported(scen('gmem-upstream.gms'))
covered(scen('gmem-upstream.gms'), t)
check('does not pass under the upstream profile' in t, 'gmem-upstream: design values said')
check('gs_expect(30, gs_ret(fallocate(fd_g, 0x3, 0xfffLL, 0x1000LL)), -22);' in t,
      'gmem-upstream:30: the EINVAL punch')
check('gs_expect(40, gs_ret(fallocate(fd_g, 0x0, 0x0LL, 0x1000LL)), -95);' in t,
      'gmem-upstream:40: EOPNOTSUPP')
check('gs_expect_stat(36, fd_g, 16384, 4096, -1, 0100600);' in t,
      'gmem-upstream:36: st_blocks of a design-profile file not asserted')
check('gs_expect_stat(102, fd_u, 16384, 4096, 0, 0100600);' in t,
      'gmem-upstream:102: st_blocks 0 of an upstream-profile file asserted')
check(re.search(r'gs_access_at\(76, map_o, maplen_o, 0x0ULL, 0x10000ULL, 1, 0xaa,\s+SIGBUS, '
                r'16384, -1, -1\);', t), 'gmem-upstream:76: SIGBUS after 16 KiB')
check(re.search(r'gs_access_at\(66, map_m, maplen_m, 0x1000ULL, 0x3000ULL, 0, 0x0,\s+0, '
                r'12288, 170, 1\);', t), 'gmem-upstream:66: contents read back')
check('gs_require(7, (vm_check_cap(ownvm_f0, KVM_CAP_GUEST_MEMFD_FLAGS) & 0x1ULL) == 0x1ULL,'
      in t, 'gmem-upstream:7: MMAP gated by KVM_CAP_GUEST_MEMFD_FLAGS')
check('fd_f3 = __vm_create_guest_memfd(ownvm_f3, 0x1000ULL, 0x8ULL);\n'
      '\tgs_expect_fd(10, gs_ret(fd_f3), -22);' in t, 'gmem-upstream:10: unknown flag EINVAL')
check('kvm_check_cap(KVM_CAP_VM_TYPES) & (1ULL << 1)' in t, 'VM type gated')
check('#ifndef GUEST_MEMFD_FLAG_MMAP' in t and '#ifndef KVM_CAP_GUEST_MEMFD_FLAGS' in t,
      '#ifndef fallbacks for constants newer than 6.12')
check('TEST_REQUIRE(kvm_has_cap(KVM_CAP_GUEST_MEMFD));' in t, 'guest_memfd required')

# Conversion: KVM_SET_MEMORY_ATTRIBUTES2 behind its capability, error_offset asserted.
t = exported(scen('convert-p6-checks.gms'))
steps = covered(scen('convert-p6-checks.gms'), t)
for n, want in re.findall(r'gs_expect\((\d+), gs_ret\(ioctl\(fd_\w+, GS_SET_MEMORY_ATTRIBUTES2, '
                          r'&a\)\), (-?\d+)\);', t):
    gated = f'gs_require({n}, vm_check_cap(' in t
    # ENOTTY is the answer of a kernel without conversion on that file: not gated.
    check(gated == (want != '-25'), f'convert-p6:{n}: gated iff the answer is not ENOTTY')
check(t.count('GS_SET_MEMORY_ATTRIBUTES2, &a') >= 10, 'convert-p6: the conversions are steps')
check(re.search(r'gs_expect\(\d+, a\.error_offset, \d+\);', t), 'convert-p6: error_offset')
check('in-place conversion (KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) is not offered' in t,
      'convert-p6: the skip says why')

# HugeTLB: the flag behind its capability, the page order in reserved[0], the host's pool.
t = exported(scen('gmem-hugetlb-p24-falloc.gms'))
covered(scen('gmem-hugetlb-p24-falloc.gms'), t)
check('KVM_CAP_GUEST_MEMFD_FLAGS) & GUEST_MEMFD_FLAG_HUGETLB,' in t, 'HugeTLB gated')
check('.reserved[0] = 9,' in t, 'HugeTLB: page order 9 in reserved[0]')
check('gs_free_hugepages(2048) >=' in t, 'HugeTLB: the pool becomes a requirement')

# Pins: io_uring fixed buffers, dropped by the latest pin of the page, as the simulator.
t = exported(scen('gmem-lifecycle.gms'))
covered(scen('gmem-lifecycle.gms'), t)
check('pin_9 = gs_pin(9, map_g, maplen_g, 0x1000ULL);\n\tgs_expect(9, pin_9 < 0 ? pin_9 : 0, 0);'
      in t, 'gmem-lifecycle:9: the pin')
check('gs_expect(13, gs_unpin(pin_9), 0);' in t, 'gmem-lifecycle:13: the unpin of line 9\'s pin')

# A guest fault ends the export: nothing after it could be asserted.
t = exported(scen('convert-p9-p11-contents.gms'))
covered(scen('convert-p9-p11-contents.gms'), t)
check(re.search(r' \*   line 15: gfault s gpa=4G => 0 private=1\n \*     a guest access: needs a '
                r'vCPU', t), 'convert-p9: the gfault line and its reason')
check(re.search(r' \*   lines 16-\d+: after line 15, which ended the export', t),
      'convert-p9: the lines after it listed')

# A reduced finding: the planted bug's line is dropped, values from the upstream profile.
with tempfile.TemporaryDirectory() as d:
    short = os.path.join(d, 'short.gms')
    with open(short, 'w', encoding='utf-8') as f:
        f.write('plant bug=skip-zero\ngmem f2 size=8K flags=mmap|init_shared\nmmap f2\n'
                'write f2 off=0 len=6K byte=0x1\npunch f2 off=0 len=4K\nread f2 off=0 len=1\n')
    t = exported(short)
    covered(short, t)
    check('under the upstream profile\n' in t, 'finding: upstream profile values')
    check('/* line 2: gmem f2 size=8K flags=mmap|init_shared */' in t,
          'finding: comments show the line as written')
    check('a test-only bug planted in the simulator' in t, 'finding: plant line listed')
    check(re.search(r'gs_access_at\(6, map_f2, maplen_f2, 0x0ULL, 0x1ULL, 0, 0x0,\s+0, 1, 0, '
                    r'1\);', t), 'finding: the punched page reads 0 (the simulator without '
          'the bug)')
    check('gs_expect_stat(5, fd_f2, 8192, 4096, 0, 0100600);' in t,
          'finding: st_blocks 0 asserted under the upstream profile')

    # Bad input: file:line, non-zero, nothing written.
    bad = os.path.join(d, 'bad.gms')
    with open(bad, 'w', encoding='utf-8') as f:
        f.write('gmem g size=4K\nbogus x\n')
    out = os.path.join(d, 'bad.c')
    r = export(bad, '-o', out)
    check(r.returncode == 3 and f'{bad}:2: unknown verb' in r.stderr and not os.path.exists(out),
          f'malformed: exit {r.returncode}, {r.stderr!r}')
    r = export(os.path.join(d, 'absent.gms'))
    check(r.returncode == 2 and r.stdout == '', f'absent file: exit {r.returncode}')
    r = export(os.path.join(SRC, 'examples', 'workshop', 'lab01-folios.gms'))
    check(r.returncode == 2 and 'fill in the answer' in r.stderr and r.stdout == '',
          f"an answer left as '?': exit {r.returncode}")
    r = subprocess.run([G, 'export-selftest', bad, short], capture_output=True, text=True)
    check(r.returncode == 2, f'two files: exit {r.returncode}')

# The kernel test without the package: skipped (77) with the reason, nothing else done.
kt = os.path.join(SRC, 'tests', 'export', 'export-kernel.py')
with tempfile.TemporaryDirectory() as d:
    r = subprocess.run([sys.executable, kt, '--gmemsim', G, '--tarball', os.path.join(d, 'no.tar.xz'),
                        '--workdir', os.path.join(d, 'w'), '--doc', 'x', scen('gmem-kvm.gms')],
                       capture_output=True, text=True)
    check(r.returncode == 77 and 'is absent (Debian package linux-source-6.12' in r.stdout
          and not os.path.exists(os.path.join(d, 'w')), f'no package: exit {r.returncode}')

# Nothing the kernel runs: a program that says so and skips.
t = exported(os.path.join(SRC, 'examples', 'first.gms'))
check('ksft_exit_skip("no step of the scenario runs on the kernel\\n");' in t,
      'first.gms: no step, a skip')
print(f'export-selftest: {checks} checks passed')
