# SPDX-License-Identifier: MIT
# A first scenario to edit: run it with `build/tools/gmemsim run -v examples/first.gms`.
note allocate, break the next allocation on purpose, and check the books
kmalloc a size=4K                      => 0
inject site=kmalloc nth=1
kmalloc b size=4K                      => ENOMEM
kmalloc b size=4K                      => 0
check                                  => violations=0
