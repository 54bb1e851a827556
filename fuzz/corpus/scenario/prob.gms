seed 7
inject probability=50 times=3
kmalloc a size=1
kmalloc b size=1
kmalloc c size=1
check => violations=0
