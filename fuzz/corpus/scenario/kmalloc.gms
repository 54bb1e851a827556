kmalloc a size=0x10K zero => 0
inject nth=1 persistent gfp=wait
kmalloc b size=1 => ENOMEM
inject off
kfree a
