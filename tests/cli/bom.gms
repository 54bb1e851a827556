# SPDX-License-Identifier: MIT
# Used by test-cli: saved with a UTF-8 byte order mark, as some editors do;
# gmem is strict, so line 5 fails without "=>".
hugetlb pool nr=1                  => nr=1
gmem g size=5
