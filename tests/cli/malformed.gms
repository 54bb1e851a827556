# SPDX-License-Identifier: MIT
# Used by test-cli: line 4 is malformed.
kmalloc a size=64                  => 0
kmalloc b size=12Q
