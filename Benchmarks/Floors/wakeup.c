// SPDX-License-Identifier: GPL-3.0-or-later
//
// Floor for Vigil's ingest-to-alert latency: how late a sleeping thread wakes on this machine.
// One thread stamps CLOCK_MONOTONIC into shared memory and writes an eventfd, then sleeps
// --interval-us; another sleeps in poll(2) on the eventfd (as vigild's idle worker and publisher
// sleep on their doorbells) and records now - stamp. An alert crosses two such wake-ups
// (ingest -> worker, worker -> publisher) when the daemon is idle in between, so under the same
// load the daemon's latency cannot be far below twice this.
//
//   gcc -O2 -pthread -o wakeup wakeup.c && ./wakeup [seconds] [interval-us]
//
// Prints {"wakeups": N, "p50_us": …, "p90_us": …, "p99_us": …, "p999_us": …, "max_us": …}.
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static int fd;
static _Atomic uint64_t stamp;
static _Atomic int done;
static double *latencies;
static size_t count, capacity;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void *waiter(void *arg) {
    (void)arg;
    while (!atomic_load(&done)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        uint64_t v;
        if (read(fd, &v, 8) != 8) continue;
        uint64_t t = now_ns(), s = atomic_load(&stamp);
        if (count < capacity) latencies[count++] = (t - s) / 1e3;
    }
    return NULL;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 5;
    int interval = argc > 2 ? atoi(argv[2]) : 500;
    capacity = (size_t)(seconds * 1e6 / interval) + 16;
    latencies = malloc(capacity * sizeof(double));
    fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_t thread;
    pthread_create(&thread, NULL, waiter, NULL);
    usleep(10000);
    uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
    while (now_ns() < end) {
        atomic_store(&stamp, now_ns());
        uint64_t one = 1;
        if (write(fd, &one, 8) != 8) return 1;
        usleep(interval);
    }
    atomic_store(&done, 1);
    pthread_join(thread, NULL);
    qsort(latencies, count, sizeof(double), compare);
#define Q(q) (count ? latencies[(size_t)((q) * (count - 1))] : 0)
    printf("{\"wakeups\": %zu, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f, \"max_us\": %.1f}\n",
           count, Q(0.5), Q(0.9), Q(0.99), Q(0.999), count ? latencies[count - 1] : 0);
    return 0;
}
