#!/usr/bin/python3
"""amalgamate.py -- dist/interformer.h, the library as one stb-style header.

    python3 scripts/amalgamate.py -o dist/interformer.h interformer.h FILE.c...

(`make single-header` passes the library's sources, those of every target:
kernels/x86/ and kernels/arm/ included.) The output is the public header,
then, under `#ifdef INTERFORMER_IMPLEMENTATION`, every source file with the
project's headers inlined where first included, each marked `// ---- path
----`. Standard library only. What it does to the code, token by token
(strings and comments skipped), never by compiling it:

- Linkage. Every top-level function and object that is not static becomes
  static (an `extern` declaration of a function becomes `static`), except
  the public API (the functions interformer.h declares), which gets
  INTERFORMER_DEF: `extern`, or `static` with INTERFORMER_STATIC. A
  header's `extern` declaration of an object is dropped (C++ has no
  forward declaration of an internal object), and the files are ordered so
  that each object is defined before the files that use it.
- File-local names. A file's static functions and objects, typedefs,
  struct/union/enum tags and enumerators are renamed TAG__name (TAG: the
  file's path, e.g. ops_conv2d__run), so that the `run` of every op file
  and the user's own names do not collide in one translation unit; the
  macros a file defines are #undef'd after it.
- Targets. kernels/x86/ is compiled only for x86-64, kernels/arm/ only
  for AArch64 and kernels/wasm/ only for WebAssembly with SIMD128 (the
  Makefile's rules), under the same #if the code uses.
- Feature-test macros (_XOPEN_SOURCE ...) a file defines are dropped: the
  header asks for POSIX once, before its first #include.
"""
import argparse
import os
import re
import sys

# ------------------------------------------------------------------ tokens

PUNCT = ['...', '<<=', '>>=', '->', '++', '--', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||',
         '+=', '-=', '*=', '/=', '%=', '&=', '^=', '|=', '##', '::']
ID_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
NUM_RE = re.compile(r'\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*')

KEYWORDS = set('''auto break case char const continue default do double else enum extern float for
goto if inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Bool _Complex _Atomic _Thread_local _Static_assert _Alignas
_Alignof _Noreturn __attribute__ __restrict __inline bool'''.split())


class Tok:
    __slots__ = ('kind', 'val', 'start', 'end', 'col0')

    def __init__(self, kind, val, start, end, col0):
        self.kind, self.val, self.start, self.end, self.col0 = kind, val, start, end, col0

    def __repr__(self):
        return '%s:%r' % (self.kind, self.val)


def tokenize(text, directives=True):
    """Tokens of C text: 'id', 'num', 'str', 'punct' and, when directives
    is set, one 'pp' token per preprocessor directive (with its
    continuation lines). Comments and whitespace are skipped."""
    toks, i, n = [], 0, len(text)
    line_start = True  # only whitespace since the last newline
    while i < n:
        c = text[i]
        if c == '\n':
            line_start = True
            i += 1
            continue
        if c in ' \t\r\f\v':
            i += 1
            continue
        if c == '\\' and i + 1 < n and text[i + 1] == '\n':
            i += 2
            continue
        if text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
            continue
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            if j < 0:
                raise SystemExit('unterminated comment')
            i = j + 2
            continue
        col0 = i == 0 or text[i - 1] == '\n'
        if c == '#' and line_start and directives:
            j = i
            while j < n:
                if text[j] == '\n' and text[j - 1] != '\\':
                    break
                if text.startswith('/*', j):
                    k = text.find('*/', j + 2)
                    j = k + 2
                    continue
                if text.startswith('//', j):
                    k = text.find('\n', j)
                    j = n if k < 0 else k
                    break
                j += 1
            toks.append(Tok('pp', text[i:j], i, j, col0))
            i = j
            continue
        line_start = False
        m = ID_RE.match(text, i)
        if m:
            j = m.end()
            if m.group() in ('L', 'u', 'U', 'u8') and j < n and text[j] in '"\'':
                i2 = j
                j = skip_literal(text, i2)
                toks.append(Tok('str', text[i:j], i, j, col0))
                i = j
                continue
            toks.append(Tok('id', m.group(), i, j, col0))
            i = j
            continue
        m = NUM_RE.match(text, i)
        if m:
            toks.append(Tok('num', m.group(), i, m.end(), col0))
            i = m.end()
            continue
        if c in '"\'':
            j = skip_literal(text, i)
            toks.append(Tok('str', text[i:j], i, j, col0))
            i = j
            continue
        for p in PUNCT:
            if text.startswith(p, i):
                toks.append(Tok('punct', p, i, i + len(p), col0))
                i += len(p)
                break
        else:
            toks.append(Tok('punct', c, i, i + 1, col0))
            i += 1
    return toks


def skip_literal(text, i):
    q = text[i]
    j = i + 1
    while j < len(text):
        if text[j] == '\\':
            j += 2
            continue
        if text[j] == q:
            return j + 1
        if text[j] == '\n':
            break
        j += 1
    raise SystemExit('unterminated literal at %d: %r' % (i, text[i:i + 40]))


def pp_name(tok):
    """('define', NAME), ('include', path) ... of a directive token."""
    m = re.match(r'#\s*(\w+)\s*(.*)', tok.val, re.S)
    if not m:
        return None, ''
    return m.group(1), m.group(2)


# ------------------------------------------------------------- statements

def statements(toks):
    """The top-level declarations of a file: lists of non-directive
    tokens. One ends at a ';' or a function body's '}' at depth 0, or
    before a token at column 0 (a macro invocation with no ';')."""
    out, cur, paren, brace = [], [], 0, 0
    body = False  # the current statement is a function definition
    externc = 0  # extern "C" { ... } blocks open: transparent
    for t in toks:
        if t.kind == 'pp':
            continue
        if (t.val == '{' and paren == 0 and brace == 0 and len(cur) == 2 and
                cur[0].val == 'extern' and cur[1].kind == 'str'):
            externc += 1
            cur = []
            continue
        if t.val == '}' and paren == 0 and brace == 0 and externc and not cur:
            externc -= 1
            continue
        if paren == 0 and brace == 0 and t.col0 and cur:
            out.append(cur)
            cur, body = [], False
        cur.append(t)
        v = t.val if t.kind == 'punct' else None
        if v in ('(', '['):
            paren += 1
        elif v in (')', ']'):
            paren -= 1
        elif v == '{':
            if brace == 0 and paren == 0 and len(cur) >= 2 and cur[-2].val == ')':
                body = True
            brace += 1
        elif v == '}':
            brace -= 1
            if brace == 0 and paren == 0 and body:
                out.append(cur)
                cur, body = [], False
        elif v == ';' and paren == 0 and brace == 0:
            out.append(cur)
            cur, body = [], False
    if cur:
        out.append(cur)
    return out


def match_close(toks, i):
    """Index of the bracket closing toks[i]."""
    o = toks[i].val
    c = {'(': ')', '[': ']', '{': '}'}[o]
    d = 0
    for j in range(i, len(toks)):
        if toks[j].val == o and toks[j].kind == 'punct':
            d += 1
        elif toks[j].val == c and toks[j].kind == 'punct':
            d -= 1
            if d == 0:
                return j
    return len(toks) - 1


class Decl:
    """What a top-level statement declares."""

    def __init__(self, kind, names=(), storage=(), is_def=False):
        self.kind = kind  # 'func', 'object', 'typedef', 'type', 'macro', 'other'
        self.names = list(names)
        self.storage = set(storage)
        self.is_def = is_def
        self.tags = []
        self.enumerators = []


def classify(st, sig_macros):
    first = st[0]
    d0 = []  # (index, token) at bracket depth 0
    i = 0
    while i < len(st):
        t = st[i]
        if t.kind == 'punct' and t.val in ('(', '[', '{'):
            d0.append((i, t))
            i = match_close(st, i) + 1
            continue
        d0.append((i, t))
        i += 1
    words = {t.val for _, t in d0 if t.kind == 'id'}
    storage = words & {'static', 'extern', 'typedef', 'inline', '_Thread_local', 'thread_local'}
    # struct/union/enum tags and enumerators defined here
    tags, enumerators = [], []
    for k, (i, t) in enumerate(d0):
        if t.val in ('struct', 'union', 'enum') and t.kind == 'id':
            nxt = st[i + 1] if i + 1 < len(st) else None
            brace_at = None
            if nxt is not None and nxt.kind == 'id' and i + 2 < len(st) and st[i + 2].val == '{':
                tags.append(nxt.val)
                brace_at = i + 2
            elif nxt is not None and nxt.val == '{':
                brace_at = i + 1
            if t.val == 'enum' and brace_at is not None:
                end = match_close(st, brace_at)
                j, expect = brace_at + 1, True
                depth = 0
                while j < end:
                    u = st[j]
                    if u.val in ('(', '[', '{'):
                        depth += 1
                    elif u.val in (')', ']', '}'):
                        depth -= 1
                    elif depth == 0 and u.val == ',':
                        expect = True
                        j += 1
                        continue
                    if expect and u.kind == 'id' and depth == 0:
                        enumerators.append(u.val)
                    expect = False
                    j += 1
    if first.kind == 'id' and first.val in ('IF_STATIC_ASSERT', '_Static_assert', 'static_assert'):
        return Decl('other')
    if 'typedef' in storage:
        d = Decl('typedef', typedef_names(st, d0), storage)
        d.tags, d.enumerators = tags, enumerators
        return d
    # A macro invocation: NAME(...) alone (a signature macro declares a
    # function named by its argument).
    if (first.kind == 'id' and len(st) > 1 and st[1].val == '(' and
            first.val not in KEYWORDS):
        close = match_close(st, 1)
        rest = [t for t in st[close + 1:] if t.val != ';']
        if not rest or rest[0].val == '{':
            if first.val in sig_macros:
                arg = st[2]
                return Decl('func', [arg.val], storage, is_def=bool(rest))
            if not rest:
                return Decl('macro')
    # struct/union/enum definition without declarator
    if first.val in ('struct', 'union', 'enum'):
        last = [t for _, t in d0 if t.val != ';']
        if last and last[-1].val == '{':
            d = Decl('type')
            d.tags, d.enumerators = tags, enumerators
            return d
        if len(last) <= 2 and not any(t.val == '{' for _, t in d0):
            return Decl('other')  # a forward declaration: struct foo;
    # the declarator: the last identifier before the first ( = [ ; , {
    prev = None
    k = 0
    while k < len(d0):
        i, t = d0[k]
        if t.kind == 'id' and t.val in ('__attribute__', '__declspec'):
            k += 2  # skip the attribute's parenthesis
            continue
        if t.kind == 'punct' and t.val == '(':
            close = match_close(st, i)
            after = st[close + 1] if close + 1 < len(st) else None
            if (prev is not None and prev.kind == 'id' and prev.val not in KEYWORDS and
                    (after is None or after.kind != 'id' or after.val in ('__attribute__',))):
                is_def = any(t2.val == '{' for _, t2 in d0[k + 1:])
                d = Decl('func', [prev.val], storage, is_def)
                d.tags, d.enumerators = tags, enumerators
                return d
            if i + 1 < len(st) and st[i + 1].val == '*':  # a function pointer object
                inner = [u for u in st[i + 1:close] if u.kind == 'id']
                d = Decl('object', inner[:1], storage, True)
                return d
            prev = st[close]
            k += 1
            continue
        if t.kind == 'punct' and t.val in ('=', '[', ';', ',', '{'):
            names = object_names(st, d0)
            d = Decl('object', names, storage)
            d.is_def = 'extern' not in storage
            d.tags, d.enumerators = tags, enumerators
            return d
        prev = t
        k += 1
    d = Decl('other')
    d.tags, d.enumerators = tags, enumerators
    return d


def object_names(st, d0):
    names, prev, in_init = [], None, False
    for i, t in d0:
        if t.kind == 'punct' and t.val in ('=', '[', ';', ','):
            if not in_init and prev is not None and prev.kind == 'id':
                names.append(prev.val)
            in_init = t.val == '='
            if t.val == ',':
                in_init = False
            prev = None
            continue
        if t.kind == 'punct' and t.val == '{':
            prev = None
            continue
        prev = t
    return [n for n in names if n not in KEYWORDS]


def typedef_names(st, d0):
    for i, t in d0:
        if t.val == '(' and i + 2 < len(st) and st[i + 1].val == '*' and st[i + 2].kind == 'id':
            return [st[i + 2].val]
    return object_names(st, d0)


def one_param_macros(text):
    """(name, parameter, body tokens) of each #define NAME(P) BODY."""
    for t in tokenize(text):
        if t.kind != 'pp':
            continue
        m = re.match(r'#\s*define\s+(\w+)\((\w+)\)\s*(.*)', t.val, re.S)
        if m:
            yield m.group(1), m.group(2), tokenize(m.group(3).replace('\\\n', ' '), directives=False)


def signature_macros(text):
    """Function-like macros of one parameter that declare a function named
    by it: #define IFK_GEMM(fn) void fn(...)."""
    out = set()
    for name, param, body in one_param_macros(text):
        if any(b.val == 'static' for b in body):
            continue
        for a, b in zip(body, body[1:]):
            if a.val == param and b.val == '(':
                if body and body[0].kind == 'id' and body[0].val != param:
                    out.add(name)
                break
    return out


def paste_macros(text):
    """Function-like macros of one parameter that define a static function
    named PREFIX##param: {macro: PREFIX} (UK_ROWS(3) defines uk_rows_3)."""
    out = {}
    for name, param, body in one_param_macros(text):
        if not body or body[0].val != 'static':
            continue
        for a, b, c in zip(body, body[1:], body[2:]):
            if a.kind == 'id' and b.val == '##' and c.val == param:
                out[name] = a.val
                break
    return out


# ------------------------------------------------------------ the sources

FEATURE_MACROS = ('_XOPEN_SOURCE', '_POSIX_C_SOURCE', '_GNU_SOURCE', '_DEFAULT_SOURCE',
                  '_DARWIN_C_SOURCE', '_BSD_SOURCE')
INCLUDE_RE = re.compile(r'#\s*include\s*"([^"]+)"')
GUARD_RE = re.compile(r'#\s*ifndef\s+(\w+)\s*$')


class Source:
    def __init__(self, path, text):
        self.path, self.text = path, text
        toks = tokenize(text)
        pps = [t for t in toks if t.kind == 'pp']
        self.guard = None
        if len(pps) >= 2:
            m = GUARD_RE.match(pps[0].val)
            if m and re.match(r'#\s*define\s+%s\s*$' % m.group(1), pps[1].val):
                self.guard = m.group(1)


def file_tag(path):
    parts = os.path.splitext(path)[0].split('/')
    tag = '_'.join(parts[-2:])
    return re.sub(r'\W', '_', tag)


class Amalgamation:
    def __init__(self, root, public):
        self.root = root
        self.cache = {}
        self.public_path = public
        pub = self.load(public)
        self.public = set()
        for st in statements(tokenize(pub.text)):
            d = classify(st, set())
            if d.kind == 'func':
                self.public.update(d.names)
        self.sig_macros = set()
        self.paste_macros = {}

    def load(self, path):
        if path not in self.cache:
            with open(os.path.join(self.root, path), encoding='utf-8') as f:
                self.cache[path] = Source(path, f.read())
        return self.cache[path]

    def resolve(self, inc, frm):
        for cand in (inc, os.path.normpath(os.path.join(os.path.dirname(frm), inc))):
            if os.path.isfile(os.path.join(self.root, cand)):
                return cand
        raise SystemExit('%s: cannot find "%s"' % (frm, inc))

    # -- linkage ------------------------------------------------------------

    def relink(self, text, path):
        """text with internal linkage for everything but the public API;
        also returns the names it declares static originally (for renaming),
        the objects defined here and the macros defined."""
        toks = tokenize(text)
        edits = []  # (start, end, replacement)
        local, defined_objects = set(), set()
        for st in statements(toks):
            d = classify(st, self.sig_macros)
            if d.kind == 'macro' and st[0].val in self.paste_macros and len(st) > 2:
                prefix = self.paste_macros[st[0].val]
                local.update((prefix, prefix + st[2].val))
                continue
            local.update(d.tags)
            local.update(d.enumerators)
            if d.kind == 'typedef':
                local.update(d.names)
                continue
            if d.kind not in ('func', 'object') or not d.names:
                continue
            if 'static' in d.storage:
                local.update(d.names)
                continue
            ext = [t for t in st if t.kind == 'id' and t.val == 'extern']
            if d.kind == 'func':
                guard = next((g for g, names in getattr(self, 'arch_only', {}).items()
                              if d.names[0] in names), None)
                if guard and not d.is_def:
                    edits.append((st[0].start, st[0].start, guard + '\n'))
                    edits.append((st[-1].end, st[-1].end, '\n#endif'))
                if d.names[0] in self.public:
                    if ext:
                        edits.append((ext[0].start, ext[0].end, 'INTERFORMER_DEF'))
                    else:
                        edits.append((st[0].start, st[0].start, 'INTERFORMER_DEF '))
                elif ext:
                    edits.append((ext[0].start, ext[0].end, 'static'))
                else:
                    edits.append((st[0].start, st[0].start, 'static '))
            else:
                if ext:
                    # C++ cannot forward-declare an internal object: the
                    # definition comes first instead (files are ordered).
                    end = st[-1].end
                    edits.append((st[0].start, end, '/* %s: declared by its definition */' %
                                  ', '.join(d.names)))
                else:
                    defined_objects.update(d.names)
                    edits.append((st[0].start, st[0].start, 'static '))
        macros = []
        for t in toks:
            if t.kind == 'pp':
                kw, rest = pp_name(t)
                if kw == 'define':
                    name = re.match(r'\w+', rest).group()
                    if name in FEATURE_MACROS:
                        edits.append((t.start, t.end, '/* %s: set before the first #include */'
                                      % name))
                    else:
                        macros.append(name)
        return apply_edits(text, edits), local, defined_objects, macros


def apply_edits(text, edits):
    out, pos = [], 0
    for s, e, r in sorted(edits, key=lambda x: (x[0], x[1])):
        assert s >= pos, 'overlapping edits'
        out.append(text[pos:s])
        out.append(r)
        pos = e
    out.append(text[pos:])
    return ''.join(out)


def rename(text, mapping):
    """Identifiers of mapping renamed, except after . and -> (members) and
    in #include and #pragma lines; inside other directives too."""
    if not mapping:
        return text
    edits = []
    prev = None
    for t in tokenize(text):
        if t.kind == 'pp':
            kw, _ = pp_name(t)
            if kw in ('include', 'pragma', 'error', 'warning', 'line'):
                prev = None
                continue
            body_toks = tokenize(t.val[1:], directives=False)
            p2 = None
            for u in body_toks:
                if (u.kind == 'id' and u.val in mapping and
                        not (p2 is not None and p2.val in ('.', '->'))):
                    edits.append((t.start + 1 + u.start, t.start + 1 + u.end, mapping[u.val]))
                p2 = u
            prev = None
            continue
        if t.kind == 'id' and t.val in mapping and not (prev is not None and prev.val in ('.', '->')):
            edits.append((t.start, t.end, mapping[t.val]))
        prev = t
    return apply_edits(text, edits)


# ------------------------------------------------------------- the output

BANNER = '''/* interformer.h -- InterFormer-C in one file, stb-style. GENERATED by
 * scripts/amalgamate.py (`make single-header`) from the sources of
 * InterFormer-C: do not edit; change the sources and regenerate.
 *
 * Use: in ONE C or C++ file of your program,
 *
 *     #define INTERFORMER_IMPLEMENTATION
 *     #include "interformer.h"
 *
 * and include it without the define wherever you call the API. No build
 * flags: `cc -O2 app.c -lm -lpthread` (C11, or C++11 and later). On x86-64
 * the AVX2 and AVX-512 kernels are compiled in (function target
 * attributes) and chosen at run time from the CPU, as in the library; on
 * AArch64 the NEON ones.
 *
 * Options, defined before the #include of the implementation:
 *   INTERFORMER_STATIC   the API functions static too (private to that
 *                        file: nothing of InterFormer-C is then visible
 *                        outside it).
 *   INTERFORMER_MALLOC(size), INTERFORMER_FREE(ptr)
 *                        your allocator for every block the library
 *                        allocates (both or neither; default malloc and
 *                        free).
 * Everything but the API (if_*) has internal linkage. The implementation
 * asks for the POSIX declarations it needs itself, also in ISO C mode
 * (-std=c11) and after system headers (with glibc): when the program
 * defined no feature macro it defines _XOPEN_SOURCE 700 and
 * _DEFAULT_SOURCE before its own includes (so code after it sees POSIX
 * 2008's names). On another C library in ISO C mode, include it before any
 * system header or define _XOPEN_SOURCE 700 first.
 *
 * The API, below, is the library's interformer.h as it is.
 */
'''

FEATURES = '''#if defined(INTERFORMER_IMPLEMENTATION) && !defined(INTERFORMER_H) && !defined(_XOPEN_SOURCE) && \\
    !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE)
/* The implementation needs POSIX (files, clocks, memory queries), which ISO
 * C mode (-std=c11) and _POSIX_C_SOURCE alone (no realpath) hide: ask for
 * POSIX 2008 + XSI, as the library's build, and glibc's MAP_NORESERVE. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#if defined(__GLIBC__)
/* A system header came first, and glibc fixed its feature set then: have it
 * worked out again for the headers included from here on; the POSIX
 * functions of those already read are declared at the implementation's
 * start. */
#undef _FEATURES_H
#include <features.h>
#define INTERFORMER_POSIX_LATE_ 1
#endif
#endif
'''

# What <stdio.h> and <stdlib.h> hide in ISO C mode and the implementation
# calls (POSIX's prototypes; C only: C++ compilers define _GNU_SOURCE).
POSIX_LATE = '''
#if defined(INTERFORMER_POSIX_LATE_) && !defined(__cplusplus)
#include <stdio.h>
#include <stdlib.h>
/* Read before the feature macros above (FEATURES): POSIX's own prototypes
 * of what these headers then left out. */
int fileno(FILE *stream);
FILE *fdopen(int fd, const char *mode);
char *realpath(const char *path, char *resolved);
int mkstemp(char *tmpl);
char *mkdtemp(char *tmpl);
int setenv(const char *name, const char *value, int overwrite);
int unsetenv(const char *name);
#if defined(_SYS_STAT_H) /* <sys/stat.h> came first too */
int fchmod(int fd, mode_t mode);
#endif
#endif
'''

DEF_MACRO = '''
/* INTERFORMER_DEF: how the API is declared (scripts/amalgamate.py). */
#ifndef INTERFORMER_DEF
#ifdef INTERFORMER_STATIC
#define INTERFORMER_DEF static
#else
#define INTERFORMER_DEF extern
#endif
#endif
'''

PROLOGUE = '''
#ifdef INTERFORMER_IMPLEMENTATION
#ifndef INTERFORMER_IMPLEMENTATION_INCLUDED_
#define INTERFORMER_IMPLEMENTATION_INCLUDED_
''' + POSIX_LATE + '''
/* The library's build rules, in the code: products and sums rounded where
 * the code writes them (no contraction into FMAs: -ffp-contract=off), and
 * no warning for what a static library would not warn about (internal
 * functions this program does not call). Undone at the end. */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-function"
#pragma clang diagnostic ignored "-Wunused-variable"
#pragma clang diagnostic ignored "-Wunused-const-variable"
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-const-variable"
/* messages cut to their buffers on purpose, seen through inlining */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#ifdef __cplusplus
/* g++ 12 warns in its own <avx512fintrin.h> (_mm512_undefined_ps), GCC PR 105593 */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
'''

EPILOGUE = '''
#if defined(__clang__)
#pragma STDC FP_CONTRACT DEFAULT
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#pragma GCC diagnostic pop
#endif

#endif /* INTERFORMER_IMPLEMENTATION_INCLUDED_ */
#endif /* INTERFORMER_IMPLEMENTATION */
'''

ARCH_GUARD = {
    'kernels/x86/': '#if defined(__x86_64__) || defined(_M_X64)',
    'kernels/arm/': '#if defined(__aarch64__) || defined(_M_ARM64)',
    'kernels/wasm/': '#if defined(__wasm_simd128__)',
}


def cond_stack(toks_before):
    """The #if blocks open after toks_before, outermost first, each by its
    directive's text ('else:' before it in an #else or #elif branch)."""
    stack = []
    for t in toks_before:
        if t.kind != 'pp':
            continue
        kw, _ = pp_name(t)
        if kw in ('if', 'ifdef', 'ifndef'):
            stack.append(' '.join(t.val.split()))
        elif kw in ('else', 'elif') and stack:
            stack[-1] = 'else:' + stack[-1]
        elif kw == 'endif' and stack:
            stack.pop()
    return stack


def covered(stack, emitted_under):
    """A header emitted under one of emitted_under (stacks of #if
    blocks) is already there at `stack` when one of them is a prefix of
    it, with no #else branch (the same conditions hold again: the
    project's configuration macros are never redefined)."""
    for s in emitted_under:
        if len(s) <= len(stack) and list(stack[:len(s)]) == list(s) and \
                not any(x.startswith('else:') for x in s):
            return True
    return False


class Builder(Amalgamation):
    def __init__(self, root, public, sources):
        super().__init__(root, public)
        self.sources = sources
        # signature macros and the names headers declare, from every header
        headers = set()
        todo = list(sources)
        seen = set()
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            s = self.load(p)
            for m in INCLUDE_RE.finditer(s.text):
                if m.group(1) == os.path.basename(public) and m.group(1) == public:
                    continue
                h = self.resolve(m.group(1), p)
                headers.add(h)
                todo.append(h)
        self.headers = sorted(headers)
        for h in self.headers:
            self.sig_macros |= signature_macros(self.load(h).text)
            self.paste_macros.update(paste_macros(self.load(h).text))
        self.shared_names = set()
        for h in [public] + [h for h in self.headers if self.load(h).guard]:
            for st in statements(tokenize(self.load(h).text)):
                d = classify(st, self.sig_macros)
                self.shared_names.update(d.names, d.tags, d.enumerators)
        # Functions defined only in the files of one architecture: their
        # declarations get that file's #if (no static declaration without
        # its definition).
        portable, arch = set(), {g: set() for g in ARCH_GUARD.values()}
        for p in sources:
            g = next((g for d, g in ARCH_GUARD.items() if p.startswith(d)), None)
            (arch[g] if g else portable).update(self.defined_funcs(p))
        self.arch_only = {g: names - portable for g, names in arch.items()}
        self.relinked = {}

    def defined_funcs(self, path):
        """The functions path defines, its templates included, by their
        names after object-like macros (void UK_NAME(...))."""
        names, alias, todo = set(), {}, [path]
        while todo:
            p = todo.pop()
            text = self.load(p).text
            for t in tokenize(text):
                if t.kind == 'pp':
                    m = re.match(r'#\s*define\s+(\w+)\s+(\w+)\s*$', t.val)
                    if m:
                        alias[m.group(1)] = m.group(2)
                    m = INCLUDE_RE.match(t.val)
                    if m and m.group(1) != self.public_path:
                        h = self.resolve(m.group(1), p)
                        if not self.load(h).guard:
                            todo.append(h)
            for st in statements(tokenize(text)):
                d = classify(st, self.sig_macros)
                if d.kind == 'func' and d.is_def:
                    names.update(d.names)
        return {alias.get(n, n) for n in names}

    def relinked_of(self, path):
        if path not in self.relinked:
            self.relinked[path] = self.relink(self.load(path).text, path)
        return self.relinked[path]

    def order(self):
        """The sources, each object defined before the files that use it."""
        defs = {p: self.relinked_of(p)[2] for p in self.sources}
        uses = {}
        for p in self.sources:
            toks = tokenize(self.load(p).text)
            ids = {t.val for t in toks if t.kind == 'id'}
            pastes = set()
            for t in toks:
                if t.kind == 'pp':
                    for a, b in zip(tokenize(t.val[1:], False), tokenize(t.val[1:], False)[1:]):
                        if a.kind == 'id' and b.val == '##':
                            pastes.add(a.val)
            uses[p] = (ids, pastes)
        after = {p: set() for p in self.sources}  # p must come after these
        for p in self.sources:
            ids, pastes = uses[p]
            for q in self.sources:
                if q == p:
                    continue
                for name in defs[q]:
                    if name in ids or any(name.startswith(x) for x in pastes):
                        after[p].add(q)
        out, done = [], set()
        while len(out) < len(self.sources):
            for p in self.sources:
                if p not in done and after[p] <= done:
                    out.append(p)
                    done.add(p)
                    break
            else:
                raise SystemExit('amalgamate: objects used in a cycle: %s' %
                                 [p for p in self.sources if p not in done])
        return out

    def expand(self, path, owner, emitted, outer, pieces, owned):
        """Appends (text, owner) pieces: path with its project includes
        inlined (a guarded header where it is first included, and again
        only where the #if blocks around that place may not hold; a header
        without guard, a template, every time, as its includer's text)."""
        text, local, _, macros = self.relinked_of(path)
        if owner is not None:
            owned.setdefault(owner, [set(), []])
            owned[owner][0].update(local)
            owned[owner][1].extend(macros)
        src = self.load(path)
        toks = tokenize(text)
        pos = 0
        own_guard = 1 if src.guard else 0
        for k, t in enumerate(toks):
            if t.kind != 'pp':
                continue
            m = INCLUDE_RE.match(t.val)
            if not m:
                continue
            pieces.append((text[pos:t.start], owner))
            pos = t.end
            inc = m.group(1)
            if inc == self.public_path:
                pieces.append(('/* #include "%s": above */' % inc, None))
                continue
            h = self.resolve(inc, path)
            hs = self.load(h)
            stack = outer + cond_stack(toks[:k])[own_guard:]
            if hs.guard:
                if covered(stack, emitted.get(h, [])):
                    pieces.append(('/* #include "%s": above */' % inc, None))
                    continue
                emitted.setdefault(h, []).append(stack)
                pieces.append(('// ---- %s ----\n' % h, None))
                self.expand(h, None, emitted, stack, pieces, owned)
                pieces.append(('// ---- %s (end) ----\n' % h, None))
            else:
                pieces.append(('// ---- %s (template, as %s) ----\n' % (h, owner), None))
                self.expand(h, owner, emitted, stack, pieces, owned)
                pieces.append(('// ---- %s (end) ----\n' % h, None))
        pieces.append((text[pos:], owner))

    def public_header(self):
        text = self.load(self.public_path).text
        toks = tokenize(text)
        edits = []
        for st in statements(toks):
            d = classify(st, set())
            if d.kind == 'func' and 'static' not in d.storage:
                edits.append((st[0].start, st[0].start, 'INTERFORMER_DEF '))
        m = re.search(r'#define INTERFORMER_H\n', text)
        edits.append((m.end(), m.end(), DEF_MACRO))
        return apply_edits(text, edits)

    def build(self):
        out = [BANNER, FEATURES, '\n// ---- %s ----\n' % self.public_path, self.public_header(),
               PROLOGUE]
        emitted = {}
        tags = {}
        for p in self.order():
            tag = file_tag(p)
            if tag in tags:
                raise SystemExit('amalgamate: %s and %s have one tag %s' % (tags[tag], p, tag))
            tags[tag] = p
            pieces, owned = [], {}
            guard = next((g for d, g in ARCH_GUARD.items() if p.startswith(d)), None)
            out.append('\n// ---- %s ----\n' % p)
            if guard:
                out.append(guard + '\n')
            self.expand(p, p, emitted, [guard] if guard else [], pieces, owned)
            names, macros = owned.get(p, [set(), []])
            names = names - self.shared_names - self.public
            mapping = {n: '%s__%s' % (tag, n) for n in sorted(names)}
            for text, owner in pieces:
                out.append(rename(text, mapping) if owner == p else text)
            undef = sorted(set(macros))
            if undef:
                out.append('\n' + ''.join('#undef %s\n' % m for m in undef))
            if guard:
                out.append('#endif /* %s */\n' % guard[4:])
            out.append('// ---- %s (end) ----\n' % p)
        out.append(EPILOGUE)
        return ''.join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-o', '--output', required=True)
    ap.add_argument('public')
    ap.add_argument('sources', nargs='+')
    a = ap.parse_args()
    text = Builder('.', a.public, a.sources).build()
    d = os.path.dirname(a.output)
    if d:
        os.makedirs(d, exist_ok=True)
    tmp = a.output + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, a.output)


if __name__ == '__main__':
    sys.exit(main())
