// SPDX-License-Identifier: MIT
/*
 * Standalone driver for the fuzz targets when no fuzzing engine is linked:
 * feeds every file named on the command line (directories are walked, one
 * level) to LLVMFuzzerTestOneInput, so the corpus runs as a regression test.
 * It counts the inputs the target rejects (returns -1 for: another backing's
 * input, fuzz-ops-4k.c), so a test can tell a rejected input from one that ran.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs LLVMFuzzerTestOneInput returned -1 for: not run, not for this target. */
static unsigned int rejected;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f) {
		perror(path);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "%s: read error\n", path);
		fclose(f);
		free(buf);
		return 1;
	}
	fclose(f);
	if (LLVMFuzzerTestOneInput(buf, (size_t)len) == -1)
		rejected++;
	free(buf);
	return 0;
}

static int run_path(const char *path, unsigned int *count)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (stat(path, &st)) {
		perror(path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	d = opendir(path);
	if (!d) {
		perror(path);
		return 1;
	}
	while ((de = readdir(d))) {
		char sub[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (!stat(sub, &st) && S_ISREG(st.st_mode)) {
			(*count)++;
			err |= run_file(sub);
		}
	}
	closedir(d);
	return err;
}

int main(int argc, char **argv)
{
	unsigned int count = 0;
	int err = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		err |= run_path(argv[i], &count);
	printf("%s: %u input(s) replayed (%u rejected by the target), %s\n", argv[0], count,
	       rejected, err ? "with errors" : "no crash");
	return err || !count;
}
