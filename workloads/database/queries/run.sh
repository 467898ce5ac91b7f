# run.sh DIR ROI: one sqlite3 process answers the eight queries (run.sql) over
# /data/tpch.db inside the region of interest ROI, each query's rows into DIR/qN.out;
# then md5sum prints "MD5  DIR/qN.out" for each, to compare with the host's answers.
# (md5sum writes to the console itself: with eight of these at once on 8 CPUs, a
# shell's $(md5sum < FILE) sometimes came back empty, a guest OS problem.)
dir=$1 roi=$2
mkdir -p "$dir" && cd "$dir" || exit 1
/sbin/roi begin "$roi"
sqlite3 -readonly /data/tpch.db < /queries/run.sql || exit 2
/sbin/roi end "$roi"
md5sum "$dir/q1.out" "$dir/q3.out" "$dir/q5.out" "$dir/q6.out" "$dir/q10.out" "$dir/q12.out" "$dir/q14.out" \
       "$dir/q18.out"
