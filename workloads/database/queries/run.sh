# run.sh DIR ROI: one sqlite3 process answers the eight queries (run.sql) over
# /data/tpch.db inside the region of interest ROI, each query's rows into DIR/qN.out;
# then prints "qN ROWS MD5" for each, to compare with the host's answers, and
# "DIR: answers MD5", the md5 of those eight lines (for eight processes at once).
dir=$1 roi=$2
mkdir -p "$dir" && cd "$dir" || exit 1
/sbin/roi begin "$roi"
sqlite3 -readonly /data/tpch.db < /queries/run.sql || exit 2
/sbin/roi end "$roi"
for q in q1 q3 q5 q6 q10 q12 q14 q18; do
    echo "$q $(wc -l < $q.out) $(md5sum < $q.out)"
done > answers.txt
cat answers.txt
echo "$dir: answers $(md5sum < answers.txt)"
