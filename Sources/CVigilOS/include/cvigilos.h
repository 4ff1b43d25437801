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
