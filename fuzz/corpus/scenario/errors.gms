bogus line
"quoted
=> 0
kmalloc a size=12Q
