/* platform.c -- see platform.h: the POSIX implementation, then the
 * Windows one. Nothing else in the library includes a system header
 * beyond the C standard's and pthread.h. */
#if !defined(_WIN32)
/* realpath, fchmod: XSI functions in glibc's headers; MAP_ANONYMOUS and
 * MAP_NORESERVE (ifp_reserve): glibc's defaults. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#endif
#include "platform/platform.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ============================================================ allocator */

/* The override knob (interformer.h): both or neither. */
#if defined(INTERFORMER_MALLOC) != defined(INTERFORMER_FREE)
#error "define both INTERFORMER_MALLOC and INTERFORMER_FREE, or neither"
#endif
#ifndef INTERFORMER_MALLOC
#define INTERFORMER_MALLOC(size) malloc(size)
#define INTERFORMER_FREE(ptr)    free(ptr)
#endif

void *ifp_malloc(size_t n) { return INTERFORMER_MALLOC(n ? n : 1); }

void *ifp_calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    if (!bytes) bytes = 1;
    void *p = INTERFORMER_MALLOC(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void ifp_free(void *p) {
    if (p) INTERFORMER_FREE(p);
}

char *ifp_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = (char *)ifp_malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* An aligned block is carved from a larger one: the start of the block
 * is stored just below the aligned address. */
void *ifp_aligned_alloc(size_t align, size_t n) {
    if (align < sizeof(void *) || (align & (align - 1)) || align > 4096) return NULL;
    if (n > SIZE_MAX - align - sizeof(void *)) return NULL;
    unsigned char *raw = (unsigned char *)ifp_malloc(n + align + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t at = ((uintptr_t)(raw + sizeof(void *)) + align - 1) & ~(uintptr_t)(align - 1);
    memcpy((unsigned char *)at - sizeof(void *), &raw, sizeof raw);
    return (void *)at;
}

void ifp_aligned_free(void *p) {
    if (!p) return;
    void *raw;
    memcpy(&raw, (unsigned char *)p - sizeof(void *), sizeof raw);
    ifp_free(raw);
}

#if !defined(_WIN32)
/* ================================================================ POSIX */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void *ifp_reserve(size_t n, int readable) {
#if defined(MAP_ANONYMOUS) && defined(MAP_NORESERVE)
    void *p = mmap(NULL, n, readable ? PROT_READ : PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
#else
    (void)n;
    (void)readable;
    return NULL;
#endif
}

void ifp_unreserve(void *p, size_t n) {
    if (p) munmap(p, n);
}

/* MemAvailable + SwapFree from /proc/meminfo, in bytes; 0 when absent. */
uint64_t ifp_mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[128];
    unsigned long long kb, avail = 0, swap = 0;
    int have = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
            avail = kb;
            have = 1;
        } else if (sscanf(line, "SwapFree: %llu kB", &kb) == 1) {
            swap = kb;
        }
    }
    fclose(f);
    return have ? (uint64_t)(avail + swap) * 1024u : 0;
}

uint64_t ifp_mem_physical(void) {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) return (uint64_t)pages * (uint64_t)page;
#endif
    return 0;
}

/* The memory limit of the cgroup this process sees as its root (cgroup v2,
 * then v1), or 0 when there is none: "max", or v1's "no limit" value (a
 * number near 2^63). */
uint64_t ifp_mem_limit(const char **what) {
    static const char *const paths[] = {"/sys/fs/cgroup/memory.max",
                                        "/sys/fs/cgroup/memory/memory.limit_in_bytes"};
    if (what) *what = "cgroup";
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        FILE *f = fopen(paths[i], "r");
        if (!f) continue;
        unsigned long long v = 0;
        int got = fscanf(f, "%llu", &v) == 1;
        fclose(f);
        if (got && v > 0 && v < ((uint64_t)1 << 60)) return (uint64_t)v;
    }
    return 0;
}

int ifp_cpu_count(void) {
#if defined(_SC_NPROCESSORS_ONLN)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n > 0) return n > 4096 ? 4096 : (int)n;
#endif
    return 1;
}

double ifp_now_us(void) {
    struct timespec t;
#if defined(CLOCK_MONOTONIC)
    clock_gettime(CLOCK_MONOTONIC, &t);
#else /* <time.h> read in ISO C mode (single header): C11's wall clock */
    timespec_get(&t, TIME_UTC);
#endif
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

FILE *ifp_fopen(const char *path, const char *mode) { return fopen(path, mode); }

int ifp_file_size(FILE *f, uint64_t *size) {
    struct stat st;
    if (fstat(fileno(f), &st) != 0) return errno ? errno : EIO;
    if (!S_ISREG(st.st_mode)) return EINVAL;
    *size = (uint64_t)st.st_size;
    return 0;
}

int ifp_stat(const char *path, ifp_stat_info *info) {
    struct stat st;
    memset(info, 0, sizeof *info);
    if (stat(path, &st) != 0) return errno ? errno : EIO;
    info->kind = S_ISREG(st.st_mode) ? IFP_FILE : S_ISDIR(st.st_mode) ? IFP_DIR : IFP_OTHER;
    info->size = (uint64_t)st.st_size;
    info->mode = (unsigned)(st.st_mode & 07777);
    info->dev = (uint64_t)st.st_dev;
    info->ino = (uint64_t)st.st_ino;
    return 0;
}

/* Into a buffer of ours: realpath(path, NULL) would return libc's
 * malloc block, which an overriding allocator must not be handed. */
#ifndef PATH_MAX /* <limits.h> read in ISO C mode (single header): Linux's */
#define PATH_MAX 4096
#endif
char *ifp_realpath(const char *path) {
    char buf[PATH_MAX];
    return realpath(path, buf) ? ifp_strdup(buf) : NULL;
}

FILE *ifp_create_temp(char *tmpl, const char *like_path, int *err) {
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        *err = errno ? errno : EIO;
        return NULL;
    }
    /* mkstemp makes the file private; give it the mode of the file it
     * will replace, or the one a new file gets. */
    struct stat st;
    mode_t mode;
    if (like_path && stat(like_path, &st) == 0) {
        mode = st.st_mode & 07777;
    } else {
#if defined(__EMSCRIPTEN__)
        /* Emscripten's umask() answers 0777 (its in-memory file system has
         * no process umask): the file would come out unreadable. */
        mode = 0644;
#else
        mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
#endif
    }
    FILE *f = NULL;
    if (fchmod(fd, mode) != 0 || !(f = fdopen(fd, "wb"))) {
        *err = errno ? errno : EIO;
        close(fd);
        unlink(tmpl);
        return NULL;
    }
    return f;
}

int ifp_sync(FILE *f) {
    if (fflush(f) != 0) return errno ? errno : EIO;
    return fsync(fileno(f)) != 0 ? (errno ? errno : EIO) : 0;
}

int ifp_replace(const char *from, const char *to) {
    return rename(from, to) != 0 ? (errno ? errno : EIO) : 0;
}

int ifp_remove(const char *path) { return unlink(path) != 0 ? (errno ? errno : EIO) : 0; }

int ifp_mkdir(const char *path) { return mkdir(path, 0777) != 0 ? (errno ? errno : EIO) : 0; }

int ifp_mkdtemp(char *tmpl) { return mkdtemp(tmpl) ? 0 : (errno ? errno : EIO); }

int ifp_writable(const char *path) {
    struct stat st;
    int mode = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? W_OK | X_OK : W_OK;
    return access(path, mode) != 0 ? (errno ? errno : EIO) : 0;
}

const char *ifp_path_base(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

ifp_sig_fn ifp_signal(int sig, ifp_sig_fn handler) {
    if (sig < 0) return SIG_DFL;
#if defined(SA_RESTART)
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, &old) == 0 ? old.sa_handler : SIG_ERR;
#else /* <signal.h> read in ISO C mode (single header): C's signal() */
    return signal(sig, handler);
#endif
}

struct ifp_dir {
    DIR *d;
};

ifp_dir *ifp_opendir(const char *path, int *err) {
    ifp_dir *d = (ifp_dir *)ifp_malloc(sizeof *d);
    if (!d) {
        *err = ENOMEM;
        return NULL;
    }
    if (!(d->d = opendir(path))) {
        *err = errno ? errno : EIO;
        ifp_free(d);
        return NULL;
    }
    return d;
}

const char *ifp_readdir(ifp_dir *d) {
    struct dirent *de = readdir(d->d);
    return de ? de->d_name : NULL;
}

void ifp_closedir(ifp_dir *d) {
    if (!d) return;
    closedir(d->d);
    ifp_free(d);
}

int ifp_setenv(const char *name, const char *value) {
    int rc = value ? setenv(name, value, 1) : unsetenv(name);
    return rc ? (errno ? errno : EINVAL) : 0;
}

int ifp_isatty(FILE *f) { return isatty(fileno(f)); }

int ifp_utf8_args(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}

#else
/* ============================================================== Windows */
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0601 /* Windows 7: GetFinalPathNameByHandleW */
#endif
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <direct.h>
#include <fcntl.h>
#include <io.h>
#include <shellapi.h>
#include <sys/stat.h>
#include <wchar.h>

/* A Win32 error code as the errno value closest to it. */
static int errno_of(DWORD e) {
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH: return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_WRITE_PROTECT: return EACCES;
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION: return EBUSY;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS: return EEXIST;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL: return ENOSPC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY: return ENOMEM;
    case ERROR_NOT_SAME_DEVICE: return EXDEV;
    case ERROR_DIRECTORY: return ENOTDIR;
    case ERROR_FILENAME_EXCED_RANGE: return ENAMETOOLONG;
    default: return EIO;
    }
}

/* UTF-8 -> UTF-16, from ifp_malloc; NULL (errno EINVAL or ENOMEM) if it cannot. */
static wchar_t *widen(const char *s) {
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0) {
        errno = EINVAL;
        return NULL;
    }
    wchar_t *w = (wchar_t *)ifp_malloc((size_t)n * sizeof *w);
    if (!w) {
        errno = ENOMEM;
        return NULL;
    }
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n);
    return w;
}

/* UTF-16 -> UTF-8, from ifp_malloc; NULL if it cannot. */
static char *narrow(const wchar_t *w) {
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    if (n <= 0) return NULL;
    char *s = (char *)ifp_malloc((size_t)n);
    if (s) WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
    return s;
}

void *ifp_reserve(size_t n, int readable) {
    /* Committed pages count against the commit charge but take no memory
     * until touched; reserved ones cannot be read. */
    return readable ? VirtualAlloc(NULL, n, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY)
                    : VirtualAlloc(NULL, n, MEM_RESERVE, PAGE_NOACCESS);
}

void ifp_unreserve(void *p, size_t n) {
    (void)n;
    if (p) VirtualFree(p, 0, MEM_RELEASE);
}

uint64_t ifp_mem_available(void) {
    MEMORYSTATUSEX m;
    m.dwLength = sizeof m;
    return GlobalMemoryStatusEx(&m) ? (uint64_t)m.ullAvailPageFile : 0;
}

uint64_t ifp_mem_physical(void) {
    MEMORYSTATUSEX m;
    m.dwLength = sizeof m;
    return GlobalMemoryStatusEx(&m) ? (uint64_t)m.ullTotalPhys : 0;
}

uint64_t ifp_mem_limit(const char **what) {
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION j;
    uint64_t lim = 0;
    if (what) *what = "job object";
    memset(&j, 0, sizeof j);
    if (!QueryInformationJobObject(NULL, JobObjectExtendedLimitInformation, &j, sizeof j, NULL))
        return 0;
    if (j.BasicLimitInformation.LimitFlags & JOB_OBJECT_LIMIT_PROCESS_MEMORY)
        lim = (uint64_t)j.ProcessMemoryLimit;
    if ((j.BasicLimitInformation.LimitFlags & JOB_OBJECT_LIMIT_JOB_MEMORY) &&
        (!lim || (uint64_t)j.JobMemoryLimit < lim))
        lim = (uint64_t)j.JobMemoryLimit;
    return lim;
}

int ifp_cpu_count(void) {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwNumberOfProcessors > 0 ? (int)si.dwNumberOfProcessors : 1;
}

double ifp_now_us(void) {
    LARGE_INTEGER f, t;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * 1e6 / (double)f.QuadPart;
}

FILE *ifp_fopen(const char *path, const char *mode) {
    wchar_t *wp = widen(path), *wm = widen(mode);
    FILE *f = wp && wm ? _wfopen(wp, wm) : NULL;
    ifp_free(wp);
    ifp_free(wm);
    return f;
}

int ifp_file_size(FILE *f, uint64_t *size) {
    struct _stat64 st;
    if (_fstat64(_fileno(f), &st) != 0) return errno ? errno : EIO;
    if (!(st.st_mode & _S_IFREG)) return EINVAL;
    *size = (uint64_t)st.st_size;
    return 0;
}

/* A handle on path for reading its attributes (folders too), or
 * INVALID_HANDLE_VALUE with errno set. */
static HANDLE open_attr(const char *path) {
    wchar_t *w = widen(path);
    if (!w) return INVALID_HANDLE_VALUE;
    HANDLE h = CreateFileW(w, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) errno = errno_of(GetLastError());
    ifp_free(w);
    return h;
}

int ifp_stat(const char *path, ifp_stat_info *info) {
    memset(info, 0, sizeof *info);
    HANDLE h = open_attr(path);
    if (h == INVALID_HANDLE_VALUE) return errno;
    BY_HANDLE_FILE_INFORMATION fi;
    if (GetFileType(h) != FILE_TYPE_DISK || !GetFileInformationByHandle(h, &fi)) {
        info->kind = IFP_OTHER; /* a device: NUL, CON, a pipe */
    } else {
        info->kind = (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? IFP_DIR : IFP_FILE;
        info->size = (uint64_t)fi.nFileSizeHigh << 32 | fi.nFileSizeLow;
        info->dev = fi.dwVolumeSerialNumber;
        info->ino = (uint64_t)fi.nFileIndexHigh << 32 | fi.nFileIndexLow;
    }
    CloseHandle(h);
    return 0;
}

char *ifp_realpath(const char *path) {
    HANDLE h = open_attr(path);
    if (h == INVALID_HANDLE_VALUE) return NULL;
    wchar_t buf[32768];
    DWORD n = GetFinalPathNameByHandleW(h, buf, 32768, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    CloseHandle(h);
    if (n == 0 || n >= 32768) return NULL;
    /* "\\?\C:\dir\file" -> "C:\dir\file"; "\\?\UNC\host\share" -> "\\host\share" */
    const wchar_t *p = buf;
    if (!wcsncmp(p, L"\\\\?\\UNC\\", 8)) {
        p += 6;
        buf[6] = L'\\';
    } else if (!wcsncmp(p, L"\\\\?\\", 4)) {
        p += 4;
    }
    return narrow(p);
}

/* The template's trailing "XXXXXX", or NULL when it has none. */
static char *template_x(char *tmpl) {
    size_t len = strlen(tmpl);
    return len >= 6 && !strcmp(tmpl + len - 6, "XXXXXX") ? tmpl + len - 6 : NULL;
}

/* Six random name characters into x: 36^6 names. */
static void fill_x(char *x) {
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static volatile LONG counter;
    uint64_t r = (uint64_t)GetCurrentProcessId() * 2654435761u ^
                 (uint64_t)InterlockedIncrement(&counter) * 0x9E3779B97F4A7C15u ^
                 (uint64_t)GetTickCount64() * 40503u;
    for (int i = 0; i < 6; i++, r /= 36) x[i] = digits[r % 36];
}

FILE *ifp_create_temp(char *tmpl, const char *like_path, int *err) {
    (void)like_path; /* no POSIX permissions to copy */
    char *x = template_x(tmpl);
    if (!x) {
        *err = EINVAL;
        return NULL;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        fill_x(x);
        wchar_t *w = widen(tmpl);
        if (!w) {
            *err = errno;
            return NULL;
        }
        HANDLE h = CreateFileW(w, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL,
                               CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
        DWORD e = h == INVALID_HANDLE_VALUE ? GetLastError() : 0;
        ifp_free(w);
        if (h == INVALID_HANDLE_VALUE) {
            if (e == ERROR_FILE_EXISTS || e == ERROR_ALREADY_EXISTS) continue;
            *err = errno_of(e);
            return NULL;
        }
        int fd = _open_osfhandle((intptr_t)h, _O_WRONLY | _O_BINARY);
        FILE *f = fd >= 0 ? _fdopen(fd, "wb") : NULL;
        if (!f) {
            *err = errno ? errno : EIO;
            if (fd >= 0)
                _close(fd);
            else
                CloseHandle(h);
            ifp_remove(tmpl);
            return NULL;
        }
        return f;
    }
    *err = EEXIST;
    return NULL;
}

int ifp_sync(FILE *f) {
    if (fflush(f) != 0) return errno ? errno : EIO;
    return _commit(_fileno(f)) != 0 ? (errno ? errno : EIO) : 0;
}

int ifp_replace(const char *from, const char *to) {
    wchar_t *wf = widen(from), *wt = widen(to);
    int e = 0;
    if (!wf || !wt)
        e = errno;
    else if (!MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        e = errno_of(GetLastError());
    ifp_free(wf);
    ifp_free(wt);
    return e;
}

int ifp_remove(const char *path) {
    wchar_t *w = widen(path);
    int e = !w ? errno : _wremove(w) != 0 ? (errno ? errno : EIO) : 0;
    ifp_free(w);
    return e;
}

int ifp_mkdir(const char *path) {
    wchar_t *w = widen(path);
    int e = !w ? errno : _wmkdir(w) != 0 ? (errno ? errno : EIO) : 0;
    ifp_free(w);
    return e;
}

int ifp_mkdtemp(char *tmpl) {
    char *x = template_x(tmpl);
    int e = x ? EEXIST : EINVAL;
    for (int attempt = 0; attempt < 100 && e == EEXIST; attempt++) {
        fill_x(x);
        e = ifp_mkdir(tmpl);
    }
    return e;
}

int ifp_writable(const char *path) {
    wchar_t *w = widen(path);
    int e = !w ? errno : _waccess(w, 2) != 0 ? (errno ? errno : EIO) : 0;
    ifp_free(w);
    return e;
}

const char *ifp_path_base(const char *path) {
    const char *base = path;
    for (const char *s = path; *s; s++)
        if (*s == '/' || *s == '\\' || (*s == ':' && s == path + 1)) base = s + 1;
    return base;
}

ifp_sig_fn ifp_signal(int sig, ifp_sig_fn handler) {
    if (sig < 0) return SIG_DFL;
    return signal(sig, handler);
}

struct ifp_dir {
    HANDLE h;
    WIN32_FIND_DATAW fd;
    int first; /* fd holds the first entry, not yet returned */
    char *name;
};

ifp_dir *ifp_opendir(const char *path, int *err) {
    size_t n = strlen(path);
    char *pattern = (char *)ifp_malloc(n + 3);
    ifp_dir *d = (ifp_dir *)ifp_calloc(1, sizeof *d);
    wchar_t *w = NULL;
    if (pattern && d) {
        memcpy(pattern, path, n);
        strcpy(pattern + n, n && (path[n - 1] == '/' || path[n - 1] == '\\') ? "*" : "\\*");
        w = widen(pattern);
    }
    ifp_free(pattern);
    if (!d || !w) {
        *err = d ? errno : ENOMEM;
        ifp_free(d);
        ifp_free(w);
        return NULL;
    }
    d->h = FindFirstFileW(w, &d->fd);
    ifp_free(w);
    if (d->h == INVALID_HANDLE_VALUE) {
        *err = errno_of(GetLastError());
        ifp_free(d);
        return NULL;
    }
    d->first = 1;
    return d;
}

const char *ifp_readdir(ifp_dir *d) {
    if (!d->first && !FindNextFileW(d->h, &d->fd)) return NULL;
    d->first = 0;
    ifp_free(d->name);
    d->name = narrow(d->fd.cFileName);
    return d->name ? d->name : "";
}

void ifp_closedir(ifp_dir *d) {
    if (!d) return;
    FindClose(d->h);
    ifp_free(d->name);
    ifp_free(d);
}

int ifp_setenv(const char *name, const char *value) {
    return _putenv_s(name, value ? value : "") ? (errno ? errno : EINVAL) : 0;
}

int ifp_isatty(FILE *f) { return _isatty(_fileno(f)) != 0; }

int ifp_utf8_args(int *argc, char ***argv) {
    int n = 0;
    wchar_t **w = CommandLineToArgvW(GetCommandLineW(), &n);
    if (!w) return -1;
    char **a = (char **)ifp_calloc((size_t)n + 1, sizeof *a);
    for (int i = 0; a && i < n; i++)
        if (!(a[i] = narrow(w[i]))) a = NULL; /* kept: the process ends soon */
    LocalFree(w);
    if (!a) return -1;
    *argc = n;
    *argv = a;
    return 0;
}
#endif
