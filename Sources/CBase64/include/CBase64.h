#ifndef CBASE64_H
#define CBASE64_H

#include <stddef.h>
#include <stdint.h>

/// Encodes the longest prefix of `in` that the vector encoder takes (whole 12-byte blocks,
/// leaving at least 4 bytes: each step loads 16) as standard base64 into `out`, and returns
/// how many input bytes it consumed (a multiple of 3; `out` got 4/3 of that). Returns 0 where
/// the CPU has no SSSE3 or is not x86-64: the caller encodes everything itself then.
size_t rd_base64_encode_blocks(const uint8_t *in, size_t n, uint8_t *out);

#endif
