/*
 * units.h - byte counts as people write them: parse "64K", "512M", "1G",
 * "2T", "64KiB", "100B" (powers of 1024) and format byte counts for
 * reading ("1 GiB", "1.5G").
 *
 * Part of libsupport, the tree's internal helper library (lib/): linked
 * into examples/, bench/ and tests/, never installed.  It does not use
 * upager.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef UPAGER_LIB_UNITS_H
#define UPAGER_LIB_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)
#define TiB ((uint64_t)1 << 40)

/**
 * units_parse_size() - parse a size in bytes.
 * @s:     digits (decimal), then optionally one of K, M, G, T (either
 *         case; powers of 1024), then optionally "B", or "iB" after a
 *         suffix: "123", "100B", "64K", "64KB", "64KiB", "1g".  Nothing
 *         else: no sign, no space, no fraction.
 * @bytes: out: the value; untouched on failure.
 *
 * Return: 0, -EINVAL (not a size, or NULL), or -ERANGE (above UINT64_MAX).
 */
int units_parse_size(const char *s, uint64_t *bytes);

/**
 * units_parse_u64() - parse an unsigned 64-bit integer, as strtoull(3)
 * with base 0 reads it: decimal, 0x hexadecimal or 0 octal.
 * @s: a digit first (no sign, no space), nothing after the number.
 * @v: out: the value; untouched on failure.
 *
 * Return: 0, -EINVAL (not a number, or NULL), or -ERANGE (above UINT64_MAX).
 */
int units_parse_u64(const char *s, uint64_t *v);

/** Room for any text units_format() or units_format_short() writes. */
#define UNITS_BUFSIZE 32

/**
 * units_format() - a byte count for reading, with IEC units: in the largest
 * unit that divides it ("1 GiB", "1536 MiB"), else with one decimal in the
 * largest unit it has at least 10 of ("12.1 KiB"), else in bytes
 * ("5000 bytes").
 * @buf: where to write, @len bytes (UNITS_BUFSIZE is always enough).
 * @v:   the byte count.
 *
 * Return: @buf.
 */
const char *units_format(char *buf, size_t len, uint64_t v);

/**
 * units_format_short() - a byte count in short form, for tables: in the
 * largest of B, K, M, G, T it has at least 1 of, whole if exact, else with
 * one decimal ("2G", "256M", "1.5G", "100B").
 * @buf: where to write, @len bytes (UNITS_BUFSIZE is always enough).
 * @v:   the byte count.
 *
 * Return: @buf.
 */
const char *units_format_short(char *buf, size_t len, uint64_t v);

/* The same into a buffer that lives until the end of the enclosing block,
 * for use as printf arguments: printf("%s\n", UNITS_STR(size)). */
#define UNITS_STR(v) units_format((char[UNITS_BUFSIZE]){ 0 }, UNITS_BUFSIZE, (v))
#define UNITS_SHORT(v) units_format_short((char[UNITS_BUFSIZE]){ 0 }, UNITS_BUFSIZE, (v))

#endif /* UPAGER_LIB_UNITS_H */
