#!/bin/sh
# SPDX-License-Identifier: MIT
# Lint: every C source and header is formatted with the root .clang-format.
# Skips (exit 77) where clang-format is not installed.
command -v clang-format >/dev/null 2>&1 || { echo "skip: clang-format not installed"; exit 77; }
cd "$1" || exit 1
# In a checkout, the tracked files (scratch files in a work tree are not the project's).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find include lib tools tests fuzz bench examples -name '*.[ch]' | sort)
fi
clang-format --dry-run --Werror $files || { echo "run: clang-format -i <files above>"; exit 1; }
echo "$(echo "$files" | wc -l) files formatted"
