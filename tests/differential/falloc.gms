# SPDX-License-Identifier: MIT
# fallocate() on a guest_memfd (spec §1): only KEEP_SIZE, alone or with
# PUNCH_HOLE, on page-aligned ranges inside the file.
gmem g size=64K flags=mmap|init_shared                  => 0
falloc g off=0 len=4K                                   => 0 size=65536 blocks=0
falloc g off=0 len=64K                                  => 0
falloc g off=4K len=8K mode=keep_size                   => 0
falloc g off=60K len=8K                                 => EINVAL
falloc g off=64K len=4K                                 => EINVAL
falloc g off=1 len=4K                                   => EINVAL
falloc g off=0 len=4095                                 => EINVAL
falloc g off=0 len=0                                    => EINVAL
falloc g off=0 len=4K mode=0                            => EOPNOTSUPP
falloc g off=0 len=4K mode=punch_hole                   => EOPNOTSUPP
falloc g off=0 len=4K mode=zero_range                   => EOPNOTSUPP
falloc g off=0 len=4K mode=keep_size|zero_range         => EOPNOTSUPP
falloc g off=0 len=4K mode=collapse_range               => EOPNOTSUPP
falloc g off=0 len=4K mode=insert_range                 => EOPNOTSUPP
falloc g off=0 len=4K mode=unshare_range                => EOPNOTSUPP
punch g off=0 len=8K                                    => 0
punch g off=0 len=64K                                   => 0
punch g off=0 len=128K                                  => 0
punch g off=4K len=1                                    => EINVAL
punch g off=1 len=4K                                    => EINVAL
stat g                                                  => 0 size=65536 blksize=4096 blocks=0
