// SPDX-License-Identifier: GPL-3.0-or-later
//
// Floor for Vigil's SPSCRing: a textbook single-producer/single-consumer ring in C11 (the
// rigtorp/SPSCQueue design: power-of-two capacity, ever-increasing indices masked on access,
// producer and consumer indices on separate 128-byte lines, each side caching the other's index
// and reloading it with an acquire load only when the cache says full/empty, publishing with a
// release store), moving the same 24-byte samples in the same batches as the Swift benchmark
// `Ring/2 threads push(contentsOf:) 256 / pop(into:) 256`: one producer thread pushes batches
// of 256 into a 65 536-slot ring, one consumer thread pops up to 256 at a time into its own buffer
// and sums the sensor field.
//
//   gcc -O2 -pthread -o spsc_ring spsc_ring.c && ./spsc_ring [samples per run] [runs]
//
// Prints one line per run: {"samples": N, "seconds": S, "rate": R}.
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { int64_t timestamp; double value; uint32_t sensor; uint32_t arrival; } sample_t;

#define CAPACITY 65536u
#define MASK (CAPACITY - 1)
#define BATCH 256

typedef struct {
    _Alignas(128) _Atomic uint64_t head;   // next slot the consumer reads
    uint64_t cached_tail;                  // consumer's copy of tail
    char pad0[128 - 2 * sizeof(uint64_t)];
    _Alignas(128) _Atomic uint64_t tail;   // next slot the producer writes
    uint64_t cached_head;                  // producer's copy of head
    char pad1[128 - 2 * sizeof(uint64_t)];
    _Alignas(128) sample_t slots[CAPACITY];
} ring_t;

static size_t push_batch(ring_t *r, const sample_t *src, size_t n) {
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t free_slots = CAPACITY - (tail - r->cached_head);
    if (free_slots < n) {
        r->cached_head = atomic_load_explicit(&r->head, memory_order_acquire);
        free_slots = CAPACITY - (tail - r->cached_head);
        if (free_slots == 0) return 0;
        if (n > free_slots) n = free_slots;
    }
    size_t start = tail & MASK, first = n < CAPACITY - start ? n : CAPACITY - start;
    memcpy(&r->slots[start], src, first * sizeof(sample_t));
    memcpy(&r->slots[0], src + first, (n - first) * sizeof(sample_t));
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
    return n;
}

static size_t pop_batch(ring_t *r, sample_t *dst, size_t max) {
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t available = r->cached_tail - head;
    if (available == 0) {
        r->cached_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        available = r->cached_tail - head;
        if (available == 0) return 0;
    }
    size_t n = available < max ? available : max;
    size_t start = head & MASK, first = n < CAPACITY - start ? n : CAPACITY - start;
    memcpy(dst, &r->slots[start], first * sizeof(sample_t));
    memcpy(dst + first, &r->slots[0], (n - first) * sizeof(sample_t));
    atomic_store_explicit(&r->head, head + n, memory_order_release);
    return n;
}

static ring_t *ring;
static uint64_t target;
static _Atomic uint64_t consumed;
static volatile uint32_t sink;

static void *consumer(void *arg) {
    (void)arg;
    sample_t buffer[BATCH];
    uint64_t total = 0;
    uint32_t checksum = 0;
    while (total < target) {
        size_t n = pop_batch(ring, buffer, BATCH);
        for (size_t k = 0; k < n; k++) checksum += buffer[k].sensor;
        total += n;
    }
    sink = checksum;
    atomic_store_explicit(&consumed, total, memory_order_release);
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    uint64_t samples = argc > 1 ? strtoull(argv[1], NULL, 10) : (1u << 22);
    int runs = argc > 2 ? atoi(argv[2]) : 1;
    ring = aligned_alloc(128, sizeof(ring_t));
    memset(ring, 0, sizeof(ring_t));
    sample_t source[BATCH];
    for (int k = 0; k < BATCH; k++) source[k] = (sample_t){k, (double)k, (uint32_t)(k & 7), 0};
    for (int run = 0; run < runs; run++) {
        target = samples;
        atomic_store(&consumed, 0);
        atomic_store(&ring->head, 0);
        atomic_store(&ring->tail, 0);
        ring->cached_head = ring->cached_tail = 0;
        pthread_t thread;
        pthread_create(&thread, NULL, consumer, NULL);
        double start = now();
        uint64_t pushed = 0;
        while (pushed < samples) {
            size_t want = samples - pushed < BATCH ? samples - pushed : BATCH;
            pushed += push_batch(ring, source, want);  // full ring: spin (the consumer runs on the other core)
        }
        pthread_join(thread, NULL);
        double seconds = now() - start;
        printf("{\"samples\": %llu, \"seconds\": %.9f, \"rate\": %.1f, \"checksum\": %u}\n",
               (unsigned long long)samples, seconds, samples / seconds, sink);
        fflush(stdout);
    }
    free(ring);
    return 0;
}
