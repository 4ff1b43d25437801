// SPDX-License-Identifier: GPL-3.0-or-later
// Small OS helpers that Swift cannot call directly (GNU extensions and variadic calls).
#pragma once

/// Names the calling thread (Linux keeps 15 bytes). Returns 0 on success.
int vigil_set_thread_name(const char *name);
