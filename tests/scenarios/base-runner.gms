# SPDX-License-Identifier: MIT
# The runner's own verbs and expectation forms.
note the runner: notes print, seeds restart the generator
seed 0x2a
kmalloc buf size=4K zero           => 0
show buf
show
kfree buf
kmalloc buf size=1K                => 0   # the name is free again
check                              => 0
check                              => violations=0
expect-warns 0
kmalloc x size=1                   => warns=0
