// SPDX-License-Identifier: GPL-3.0-or-later
// Small OS helpers that Swift cannot call directly (GNU extensions and variadic calls).
#pragma once

/// Names the calling thread (Linux keeps 15 bytes). Returns 0 on success.
int vigil_set_thread_name(const char *name);

/// Sets the calling thread's timer slack (`prctl(PR_SET_TIMERSLACK)`) in nanoseconds, so short
/// sleeps end on time (the default slack is 50 µs). Returns 0 on success; a no-op off Linux.
int vigil_set_timer_slack(unsigned long nanoseconds);

/// A non-blocking, close-on-exec eventfd (`eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)`), or -1
/// (also off Linux, where a waiter on it only sleeps out its timeout).
int vigil_eventfd(void);

/// Returns the allocator's free memory to the operating system (glibc `malloc_trim(0)`: every
/// arena, not only the top of the main heap). Returns 1 when memory was released, 0 otherwise
/// (always 0 off glibc). Takes each arena's lock while it runs (milliseconds for a heap of
/// hundreds of megabytes): call it from a thread whose pause does not matter.
int vigil_release_free_memory(void);
