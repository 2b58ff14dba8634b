// The agent's environment, handed to the shim in a file instead of its own environment: the shim
// starts as root, and a root process must never start with client-chosen LD_*, GLIBC_TUNABLES
// and friends. The file holds NUL-terminated NAME=VALUE entries; the shim passes them to the
// final execve, after the uid change.
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

// The kernel refuses an execve whose strings pass a quarter of the stack limit; this bound only
// keeps a broken caller from making the shim allocate without end.
#define RD_ENVIRONMENT_MAX_BYTES (64L << 20)

char **rd_read_environment(int fd) {
    struct stat info;
    if (fstat(fd, &info) != 0) rd_fail("environment", errno);
    if (info.st_size < 0 || info.st_size > RD_ENVIRONMENT_MAX_BYTES) rd_fail("environment", E2BIG);
    size_t size = (size_t)info.st_size;
    char *bytes = malloc(size + 1);
    if (bytes == NULL) rd_fail("environment", ENOMEM);
    size_t done = 0;
    while (done < size) {
        // pread: the descriptor's offset is shared with runnerd, which wrote it.
        ssize_t count = pread(fd, bytes + done, size - done, (off_t)done);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0) rd_fail("environment", errno);
        if (count == 0) rd_fail("environment", EIO);
        done += (size_t)count;
    }
    close(fd);
    bytes[size] = '\0';
    size_t entries = 0;
    for (size_t i = 0; i < size; i++) entries += bytes[i] == '\0';
    if (size > 0 && bytes[size - 1] != '\0') entries++;
    char **environment = calloc(entries + 1, sizeof(char *));
    if (environment == NULL) rd_fail("environment", ENOMEM);
    size_t index = 0;
    for (size_t start = 0; start < size; start += strlen(bytes + start) + 1) {
        if (bytes[start] != '\0') environment[index++] = bytes + start;
    }
    environment[index] = NULL;
    return environment;
}
