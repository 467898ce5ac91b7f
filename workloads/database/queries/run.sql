pragma cache_size = -16000;
pragma mmap_size = 67108864;
.output q1.out
.read /queries/q1.sql
.output q3.out
.read /queries/q3.sql
.output q5.out
.read /queries/q5.sql
.output q6.out
.read /queries/q6.sql
.output q10.out
.read /queries/q10.sql
.output q12.out
.read /queries/q12.sql
.output q14.out
.read /queries/q14.sql
.output q18.out
.read /queries/q18.sql
.output stdout
