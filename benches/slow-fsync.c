/* LD_PRELOAD shim for benches/slow-disk.sh: every fsync and fdatasync of the process waits
 * SLOW_FSYNC_US microseconds (default 2500) first, as on a slow disk. Benchmarks only. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
static void pause_us(void) {
    const char *e = getenv("SLOW_FSYNC_US");
    long us = e ? atol(e) : 2500;
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep(&ts, 0);
}
int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    pause_us();
    return real(fd);
}
int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    pause_us();
    return real(fd);
}
