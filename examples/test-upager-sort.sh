#!/bin/sh
# test-upager-sort.sh - upager-sort end to end, quickly:
#  - a FILE of keys sorted under a small limit: the result must equal,
#    byte for byte, the same keys sorted by sort(1) (od prints them);
#  - a generated file: PASS in the summary, and the file removed at exit;
#  - SIGTERM during a run removes the generated file;
#  - bad usage exits 2.

dir=$(mktemp -d "${TMPDIR:-/var/tmp}/upager-sort-test.XXXXXX") || exit 99
trap 'rm -rf "$dir"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
keys() {
	od -An -v --endian=little -t u8 -w8 "$1" | tr -d ' '
}
# Run upager-sort quietly; it must print "result PASS" and exit 0.
sort_passes() {
	./upager-sort -q "$@" > "$dir/out" 2>&1
	status=$?
	if [ $status -ne 0 ] || ! grep -q '^result        PASS$' "$dir/out"; then
		cat "$dir/out" >&2
		fail "upager-sort $*: status $status"
	fi
}

# 1. A given FILE: 2 MiB of keys (readme-example-ref's doubles, read as
#    keys: any 8 bytes are a key), 256 KiB resident.
./readme-example-ref 262144 "$dir/keys" "$dir/unused" || exit 99
keys "$dir/keys" | LC_ALL=C sort -n > "$dir/expected" || exit 99
sort_passes --memory-limit 256K "$dir/keys"
keys "$dir/keys" > "$dir/sorted" || exit 99
cmp "$dir/expected" "$dir/sorted" || fail "upager-sort's result differs from sort(1)'s"

# 2. A generated file, removed at exit.
mkdir "$dir/gen" || exit 99
sort_passes --size 1M --tmpdir "$dir/gen"
[ -z "$(ls -A "$dir/gen")" ] || fail "generated file left behind: $(ls "$dir/gen")"

# 3. SIGTERM while it runs: the generated file goes too.  Wait (at most
#    10 minutes, a hang guard) for the file to have bytes, then signal.
mkdir "$dir/term" || exit 99
./upager-sort -q --size 64M --tmpdir "$dir/term" > /dev/null 2>&1 &
pid=$!
i=0
until [ -n "$(find "$dir/term" -type f -size +0 2>/dev/null)" ]; do
	i=$((i + 1))
	[ $i -le 6000 ] || { kill -KILL $pid; fail "HANG: no generated file after 10 minutes"; }
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
kill -TERM $pid 2>/dev/null
wait $pid
status=$?
[ $status -ne 0 ] || fail "upager-sort ran to the end before SIGTERM (status 0)"
[ -z "$(ls -A "$dir/term")" ] || fail "SIGTERM left the generated file: $(ls "$dir/term")"

# 4. Bad usage.
./upager-sort --size 7 > /dev/null 2>&1
status=$?
[ $status -eq 2 ] || fail "--size 7: status $status, expected 2"

echo "PASS: upager-sort: 262144 keys sorted as sort(1) sorts them; generated file" \
	"removed at exit and on SIGTERM; bad usage exits 2"
