/*
 * pal_compiler.h - compiler attributes, kept beside the other platform
 * knowledge so code elsewhere tests no compiler or OS macro.
 */
#ifndef YB_PAL_COMPILER_H
#define YB_PAL_COMPILER_H

#if defined(__clang__)
#define YB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#elif defined(__GNUC__)
/* gnu_printf: the C99 semantics we build with everywhere (mingw's ANSI stdio too). */
#define YB_PRINTF(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#else
#define YB_PRINTF(fmt, args)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define YB_NORETURN __attribute__((noreturn))
#define YB_UNUSED   __attribute__((unused))
#else
#define YB_NORETURN
#define YB_UNUSED
#endif

#define YB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
