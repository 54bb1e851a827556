# SPDX-License-Identifier: MIT
# The teardown at the end of a run. Fault injection is per task in the kernel
# and ends with it, so a rule the scenario left armed does not reach the
# teardown: the pool below shrinks back to nothing without a WARN or a
# leak, though `inject every` would fail each allocation it makes
# (issue 10, defect 4, found by the fuzzer).
hugetlb pool nr=2                  => nr=2 free=2
inject every
