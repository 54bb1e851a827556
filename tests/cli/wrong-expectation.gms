# SPDX-License-Identifier: MIT
# Used by test-cli: line 5 expects the wrong result, so the run must fail there.
kmalloc a size=64                  => 0
inject site=kmalloc nth=1
kmalloc b size=64                  => 0
