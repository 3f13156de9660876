#!/bin/sh
# test-readme-example.sh - run the README's example (readme-example) on a
# file of doubles and compare the file, byte for byte, with the doubles
# times 2 computed in ordinary memory by readme-example-ref.  The file is
# 4 MiB and 24 bytes: many pages, and a partial page at the end.

n=524291
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/readme-example.XXXXXX") || exit 99
trap 'rm -rf "$dir"' EXIT

./readme-example-ref $n "$dir/data" "$dir/expected" || exit 99
./readme-example "$dir/data" > "$dir/out" 2>&1
status=$?
if [ $status -ne 0 ]; then
	echo "FAIL: readme-example exited with status $status:" >&2
	cat "$dir/out" >&2
	exit 1
fi
if [ -s "$dir/out" ]; then
	echo "FAIL: readme-example printed something:" >&2
	cat "$dir/out" >&2
	exit 1
fi
if ! cmp "$dir/expected" "$dir/data"; then
	echo "FAIL: the file differs from the reference" >&2
	exit 1
fi

# Usage and a missing file are errors, not crashes.
./readme-example > /dev/null 2>&1
status=$?
if [ $status -ne 2 ]; then
	echo "FAIL: readme-example without FILE: status $status, expected 2" >&2
	exit 1
fi
./readme-example "$dir/missing" > /dev/null 2>&1
status=$?
if [ $status -ne 1 ]; then
	echo "FAIL: readme-example on a missing file: status $status, expected 1" >&2
	exit 1
fi
echo "PASS: readme-example doubled $n doubles ($(wc -c < "$dir/data") bytes)," \
	"identical to the reference"
