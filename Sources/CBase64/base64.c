// Vector base64 encoding (SSSE3), after Wojciech Muła and Daniel Lemire, "Faster Base64
// Encoding and Decoding using AVX2 Instructions" (2018), in the form of Alfred Klomp's
// libbase64: 12 input bytes become 16 characters with one shuffle, two multiplies and one
// table shuffle. The caller (RunnerProtocol.Base64) encodes the tail; both produce RFC 4648.

#include "CBase64.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <stdatomic.h>
#include <tmmintrin.h>

__attribute__((target("ssse3")))
static inline __m128i reshuffle(__m128i in) {
    // Input bytes (low to high): a b c d e f g h i j k l (and 4 unused). Each 32-bit lane gets
    // one 3-byte group as b a c b ... so that the multiplies below can move the four 6-bit
    // fields of the group into the four bytes of the lane.
    in = _mm_shuffle_epi8(in, _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1));
    const __m128i t0 = _mm_and_si128(in, _mm_set1_epi32(0x0FC0FC00));
    const __m128i t1 = _mm_mulhi_epu16(t0, _mm_set1_epi32(0x04000040));
    const __m128i t2 = _mm_and_si128(in, _mm_set1_epi32(0x003F03F0));
    const __m128i t3 = _mm_mullo_epi16(t2, _mm_set1_epi32(0x01000010));
    return _mm_or_si128(t1, t3);
}

__attribute__((target("ssse3")))
static inline __m128i translate(__m128i in) {
    // Offsets from the 6-bit value to its character, per range: 0..25 +65 ('A'), 26..51 +71
    // ('a'), 52..61 -4 ('0'), 62 -19 ('+'), 63 -16 ('/').
    const __m128i lut = _mm_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0);
    // Index into the table: 0 for 0..25, 1 for 26..51, 2..11 for 52..61, 12 and 13 for 62, 63.
    __m128i indices = _mm_subs_epu8(in, _mm_set1_epi8(51));
    const __m128i above25 = _mm_cmpgt_epi8(in, _mm_set1_epi8(25));
    indices = _mm_sub_epi8(indices, above25);
    return _mm_add_epi8(in, _mm_shuffle_epi8(lut, indices));
}

__attribute__((target("ssse3")))
static size_t encode_ssse3(const uint8_t *in, size_t n, uint8_t *out) {
    size_t i = 0;
    size_t o = 0;
    while (n - i >= 16) {
        const __m128i block = _mm_loadu_si128((const __m128i *)(in + i));
        _mm_storeu_si128((__m128i *)(out + o), translate(reshuffle(block)));
        i += 12;
        o += 16;
    }
    return i;
}

static int has_ssse3(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & bit_SSSE3) != 0;
}

size_t rd_base64_encode_blocks(const uint8_t *in, size_t n, uint8_t *out) {
    // -1: not asked yet. Threads that race here all compute the same answer.
    static _Atomic int supported = -1;
    int known = atomic_load_explicit(&supported, memory_order_relaxed);
    if (known < 0) {
        known = has_ssse3();
        atomic_store_explicit(&supported, known, memory_order_relaxed);
    }
    if (!known || n < 16) return 0;
    return encode_ssse3(in, n, out);
}

#else

size_t rd_base64_encode_blocks(const uint8_t *in, size_t n, uint8_t *out) {
    (void)in;
    (void)n;
    (void)out;
    return 0;
}

#endif
