/* platform.h -- the few operating-system calls InterFormer-C makes, in one
 * place: the rest of the library (and the CLI, which links the static
 * library) has no #ifdef for an operating system. Two implementations in
 * platform.c: POSIX (Linux; macOS should need little) and Windows
 * (MinGW-w64: Win32 calls, the C runtime's wide-character file functions).
 *
 * Paths are UTF-8 strings everywhere; on Windows they are converted to
 * UTF-16 for the wide-character calls (_wfopen, MoveFileExW, ...), so a
 * file name in any script works, not only those of the ANSI code page.
 * Functions that can fail return 0 or an errno value (EIO when the system
 * gave no better one), unless they say otherwise. */
#ifndef IF_PLATFORM_H
#define IF_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* printf-style format checking where the compiler has it. MinGW's
 * "printf" archetype is Microsoft's (no %zu); the library's formatting
 * goes through the C99 printf family that _POSIX_C_SOURCE selects there
 * (__USE_MINGW_ANSI_STDIO), whose archetype is gnu_printf. */
#if defined(__MINGW32__)
#define IFP_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__) || defined(__clang__)
#define IFP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define IFP_PRINTF(f, a)
#endif

/* ------------------------------------------------------------ memory */

/* Every block the library allocates comes from INTERFORMER_MALLOC and goes
 * back through INTERFORMER_FREE (default: malloc and free; interformer.h
 * documents the knob), through the four calls below: nothing else in the
 * library calls malloc, calloc or free, and a block from one allocator is
 * never handed to another. */

/* n bytes (at least 1), or NULL; freed with ifp_free. */
void *ifp_malloc(size_t n);
/* n * size zeroed bytes (at least 1), or NULL, also when n * size does
 * not fit a size_t; freed with ifp_free. */
void *ifp_calloc(size_t n, size_t size);
void ifp_free(void *p);
/* A copy of the string s from ifp_malloc, or NULL. */
char *ifp_strdup(const char *s);

/* n bytes (at least 1) aligned to align (a power of two, at most 4096),
 * or NULL; freed with ifp_aligned_free only. Carved from an ifp_malloc
 * block, so that an overriding allocator needs no aligned variant. */
void *ifp_aligned_alloc(size_t align, size_t n);
void ifp_aligned_free(void *p);

/* n bytes of address space that take no memory until touched (mmap with
 * MAP_NORESERVE; VirtualAlloc on Windows): readable, as zeros, or (readable
 * 0) not accessible at all, so that a read faults. NULL when the system
 * refuses. For tests that hand the library an image too large to exist;
 * ifp_unreserve(p, n) gives it back. */
void *ifp_reserve(size_t n, int readable);
void ifp_unreserve(void *p, size_t n);

/* What the machine can give this process now, in bytes, 0 when unknown.
 * Linux: MemAvailable + SwapFree (/proc/meminfo). Windows: the commit
 * charge still available (physical memory plus page file, what
 * GlobalMemoryStatusEx calls ullAvailPageFile). */
uint64_t ifp_mem_available(void);
/* Installed physical memory in bytes, 0 when unknown. */
uint64_t ifp_mem_physical(void);
/* A limit imposed on this process from outside, 0 when none: a cgroup
 * memory limit (v2, then v1) on Linux, a job object's process or job
 * memory limit on Windows. *what (when what is not NULL) names it:
 * "cgroup" or "job object". */
uint64_t ifp_mem_limit(const char **what);

/* ----------------------------------------------------------- threads */

/* Logical processors this process may run on (at least 1). */
int ifp_cpu_count(void);

/* -------------------------------------------------------------- time */

/* A monotonic clock in microseconds (its origin is arbitrary). */
double ifp_now_us(void);

/* ------------------------------------------------------------- files */

/* fopen of a UTF-8 path; mode as fopen's (say "b" for binary data:
 * Windows translates line ends otherwise). */
FILE *ifp_fopen(const char *path, const char *mode);

/* The size of the regular file open as f, in bytes (64-bit everywhere:
 * ftell's long is 32 bits on Windows). Returns 0, or an errno value
 * (EINVAL for a pipe or device). */
int ifp_file_size(FILE *f, uint64_t *size);

/* What is at a path. */
typedef enum { IFP_NONE = 0, IFP_FILE, IFP_DIR, IFP_OTHER } ifp_kind;
typedef struct {
    ifp_kind kind; /* IFP_NONE: nothing there (or it cannot be seen) */
    uint64_t size; /* bytes, for a file */
    unsigned mode; /* permission bits (POSIX), 0 on Windows */
    uint64_t dev;  /* with ino: the file's identity, the same through links */
    uint64_t ino;  /* (Windows: volume serial number and file index) */
} ifp_stat_info;
/* Follows links. Returns 0, or an errno value with info->kind IFP_NONE. */
int ifp_stat(const char *path, ifp_stat_info *info);

/* The canonical absolute path of an existing file or folder (links
 * resolved), from ifp_malloc (free it with ifp_free); NULL when it does
 * not exist. */
char *ifp_realpath(const char *path);

/* Creates a new file from a template whose last six characters are
 * "XXXXXX" (replaced in place by a name no file has) and opens it for
 * binary writing. The file gets the permissions of the file like_path
 * when that exists, else those a new file gets (0666 less the umask);
 * NULL if none. Returns the stream, or NULL with *err an errno value. */
FILE *ifp_create_temp(char *tmpl, const char *like_path, int *err);

/* Flushes f's buffer and then the operating system's to the disk (fsync;
 * _commit on Windows), for a file about to replace another. */
int ifp_sync(FILE *f);

/* Renames from to to, replacing to if it exists, atomically where the
 * system can (rename; MoveFileExW with MOVEFILE_REPLACE_EXISTING |
 * MOVEFILE_WRITE_THROUGH on Windows). */
int ifp_replace(const char *from, const char *to);

/* Removes a file. */
int ifp_remove(const char *path);

/* Makes a folder (0777 less the umask); EEXIST when one is there. */
int ifp_mkdir(const char *path);

/* mkdtemp: makes a new folder from a template ending in "XXXXXX" (replaced
 * in place); returns 0 or an errno value. */
int ifp_mkdtemp(char *tmpl);

/* Whether this process may write the existing file, or create files in
 * the existing folder, path: 0, or an errno value. */
int ifp_writable(const char *path);

/* The last component of path: what follows its last separator ('/'; on
 * Windows also '\' and a drive's ':'), path itself when it has none. */
const char *ifp_path_base(const char *path);

/* A folder's entries, "." and ".." included, names in UTF-8. */
typedef struct ifp_dir ifp_dir;
ifp_dir *ifp_opendir(const char *path, int *err);
/* The next entry's name (valid until the next call), NULL at the end. */
const char *ifp_readdir(ifp_dir *d);
void ifp_closedir(ifp_dir *d);

/* Sets an environment variable (value NULL: removes it; on Windows an
 * empty value removes it too). */
int ifp_setenv(const char *name, const char *value);

/* Signals: SIGHUP and SIGXFSZ where the system has them, else -1 (which
 * ifp_signal ignores), so a program lists them without an #ifdef. */
#include <signal.h>
#ifdef SIGHUP
#define IFP_SIGHUP SIGHUP
#else
#define IFP_SIGHUP (-1)
#endif
#ifdef SIGXFSZ
#define IFP_SIGXFSZ SIGXFSZ
#else
#define IFP_SIGXFSZ (-1)
#endif
typedef void (*ifp_sig_fn)(int);
/* Sets sig's handler (a function, SIG_DFL or SIG_IGN), with restartable
 * system calls where the system has them (sigaction's SA_RESTART: a read
 * is not cut short by the signal); returns the previous one (SIG_DFL for
 * a signal the system does not have). */
ifp_sig_fn ifp_signal(int sig, ifp_sig_fn handler);

/* 1 when the stream is a terminal (a console on Windows). */
int ifp_isatty(FILE *f);

/* The command line's arguments in UTF-8: on Windows main's argv is in the
 * ANSI code page, so this replaces *argv with the UTF-8 form of the
 * command line (allocated once, for the life of the process); elsewhere it
 * leaves them as they are. Returns 0, or -1 when out of memory. */
int ifp_utf8_args(int *argc, char ***argv);

#endif
