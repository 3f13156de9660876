#!/bin/sh
# test-readme-code.sh - the code block of the README's "Example" section
# must be examples/readme-example.c, line for line.  The README indents the
# block by 4 spaces and shows each tab as 4 spaces (expand -t 4); empty
# lines stay empty.  After an edit of readme-example.c,
# `make -C examples readme-block` prints the block to paste.

readme="${srcdir:-.}/../README"
code="${srcdir:-.}/readme-example.c"

# The first indented block after the line "Example" and its underline.
block=$(awk '
	/^Example$/ { heading = 1; next }
	heading == 1 && /^-+$/ { heading = 2; next }
	heading == 2 && /^    / { inblock = 1 }
	inblock && /^$/ { blank++; next }
	inblock && !/^    / { exit }
	inblock { while (blank > 0) { print ""; blank-- } sub(/^    /, ""); print }
' "$readme") || exit 99
want=$(expand -t 4 "$code") || exit 99

if [ -z "$block" ]; then
	echo "FAIL: no indented code block after the README's Example heading" >&2
	exit 1
fi
if [ "$block" = "$want" ]; then
	echo "PASS: the README's example is examples/readme-example.c" \
		"($(printf '%s\n' "$want" | wc -l) lines)"
	exit 0
fi
echo "FAIL: the README's example differs from examples/readme-example.c" \
	"(-: the file, +: the README; 'make -C examples readme-block' prints the block):" >&2
tmp=$(mktemp) || exit 99
printf '%s\n' "$want" > "$tmp"
printf '%s\n' "$block" | diff -u "$tmp" - >&2
rm -f "$tmp"
exit 1
