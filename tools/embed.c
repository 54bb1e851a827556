// SPDX-License-Identifier: MIT
/*
 * Build helper: turn a text file into a C header holding it as a string,
 * so the built-in demo scenario ships inside the gmemsim binary.
 * Usage: gs-embed INPUT OUTPUT SYMBOL
 */
#include <stdio.h>

int main(int argc, char **argv)
{
	FILE *in, *out;
	int c, col = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: %s INPUT OUTPUT SYMBOL\n", argv[0]);
		return 2;
	}
	in = fopen(argv[1], "rb");
	out = fopen(argv[2], "w");
	if (!in || !out) {
		perror("gs-embed");
		return 1;
	}
	fprintf(out, "/* Generated from %s by gs-embed; do not edit. */\n", argv[1]);
	fprintf(out, "static const char %s[] = {\n", argv[3]);
	while ((c = fgetc(in)) != EOF) {
		fprintf(out, "%s0x%02x,", col ? " " : "\t", c);
		if (++col == 12) {
			fputc('\n', out);
			col = 0;
		}
	}
	fprintf(out, "%s0x00\n};\n", col ? " " : "\t");
	fclose(in);
	return fclose(out) ? 1 : 0;
}
