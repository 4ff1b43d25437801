// SPDX-License-Identifier: GPL-3.0-or-later
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include "cvigilos.h"

int vigil_set_thread_name(const char *name) {
#ifdef __linux__
    char buf[16];
    strncpy(buf, name, 15);
    buf[15] = 0;
    return pthread_setname_np(pthread_self(), buf);
#else
    (void)name;
    return 0;
#endif
}

#ifdef __linux__
#include <sys/prctl.h>
#endif

int vigil_set_timer_slack(unsigned long nanoseconds) {
#ifdef __linux__
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0);
#else
    (void)nanoseconds;
    return 0;
#endif
}

#ifdef __linux__
#include <sys/eventfd.h>
#endif

int vigil_eventfd(void) {
#ifdef __linux__
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
#else
    return -1;
#endif
}

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int vigil_release_free_memory(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}
