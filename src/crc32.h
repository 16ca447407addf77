/* crc32.h: CRC-32 (IEEE 802.3, reflected, as zlib's crc32() and DynamoDB's x-amz-crc32 header).
 * Pure; thread: any. */
#ifndef DDBS_CRC32_H
#define DDBS_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32 of n bytes at p: carry-less multiplication folding (PCLMULQDQ) where the CPU has
 * it, slice-by-8 tables otherwise. */
uint32_t ddbs_crc32(const void *p, size_t n);

/* The same with the tables only (the reference for tests, and the fallback). */
uint32_t ddbs_crc32_portable(const void *p, size_t n);

/* 1 when ddbs_crc32 uses the CPU's carry-less multiplication. */
int ddbs_crc32_accelerated(void);

#endif
