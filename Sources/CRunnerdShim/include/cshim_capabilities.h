#ifndef CSHIM_CAPABILITIES_H
#define CSHIM_CAPABILITIES_H

/// Removes capability `cap` from this thread for good: its bounding set (PR_CAPBSET_DROP), then
/// its effective, permitted and inheritable sets (capset; the ambient set follows). Needs
/// CAP_SETPCAP for the bounding set. Capabilities are per thread: call while single-threaded
/// so every later thread and child inherits the result. 0 or -1/errno.
int cshim_drop_capability(int cap);

/// Which of this thread's sets hold `cap`: bit 0 effective, 1 permitted, 2 inheritable,
/// 3 bounding. -1/errno when the sets cannot be read.
int cshim_capability_sets(int cap);

#endif
