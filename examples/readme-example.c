/* readme-example.c - double every number of a file of doubles, in place,
 * through upager, with at most 256 MiB of the file resident. */
#include <upager.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct upager_config cfg = { .memory_limit = 256 << 20 };
	upager_t *pager;
	double *x;
	int fd, err;
	off_t size;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE-OF-DOUBLES\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	size = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
	if (size < 0) {
		perror(argv[1]);
		return 1;
	}
	err = upager_create(&pager, &cfg, sizeof(cfg));
	if (err) {
		fprintf(stderr, "upager_create: %s\n", upager_strerror(err));
		return 1;
	}
	x = upager_map(pager, fd, 0, size, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	if (!x) {
		perror("upager_map");
		return 1;
	}
	/* A plain loop over the whole file; upager pages it in and out. */
	for (size_t i = 0; i < size / sizeof(double); i++)
		x[i] *= 2;
	err = upager_sync(pager, x, 0); /* write back the dirty pages, fdatasync */
	if (err)
		fprintf(stderr, "upager_sync: %s\n", upager_strerror(err));
	return upager_destroy(pager) != 0 || err != 0;
}
