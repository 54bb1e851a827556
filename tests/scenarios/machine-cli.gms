# SPDX-License-Identifier: MIT
# Run with --mem=128M --backing=none (tests/test-cli.c, cli_machine_options): the CLI sets
# the machine before any scenario; a pool asked for everything gets 128 MiB.
machine                                            => mem=134217728 free=134217728
hugetlb pool size=2M nr=0xffffffffffffffff         => nr=64 free=64
hugetlb pool size=2M nr=0                          => nr=0
