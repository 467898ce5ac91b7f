# run.sh DIR ROI [warm]: one sqlite3 process answers the eight queries (run.sql) over
# /data/tpch.db inside the region of interest ROI, each query's rows into DIR/qN.out;
# with "warm", a first process answers them once before the region opens, so the region
# times queries over a database already in memory, as a database server's (run.sql maps
# the file: its pages stay in the guest's page cache, the 1 MB block cache could not hold it);
# then md5sum prints "MD5  DIR/qN.out" for each, to compare with the host's answers.
# (md5sum writes to the console itself: with eight of these at once on 8 CPUs, a
# shell's $(md5sum < FILE) sometimes came back empty, a guest OS problem.)
dir=$1 roi=$2 warm=$3
mkdir -p "$dir" && cd "$dir" || exit 1
if [ "$warm" = warm ]; then
    sqlite3 -readonly /data/tpch.db < /queries/run.sql > /dev/null || exit 2
fi
/sbin/roi begin "$roi"
sqlite3 -readonly /data/tpch.db < /queries/run.sql || exit 2
/sbin/roi end "$roi"
md5sum "$dir/q1.out" "$dir/q3.out" "$dir/q5.out" "$dir/q6.out" "$dir/q10.out" "$dir/q12.out" "$dir/q14.out" \
       "$dir/q18.out"
