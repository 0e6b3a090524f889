/* cli.h -- what the CLI's commands (examples/interformer.c, eval.c,
 * batch.c) share: the error lines, the option parser and help formatter,
 * a formatted string, the clock.
 *
 * Includes, in examples/ and tools/: the library's headers by their path
 * from the repository root ("interformer.h", "runtime/api.h"; the Makefile
 * passes -I.), the examples' own by their path from examples/
 * ("common/cli.h", "eval.h"; -Iexamples), in examples/common/ too; system
 * and stb headers in <>. */
#ifndef IF_EXAMPLES_CLI_H
#define IF_EXAMPLES_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "interformer.h"
#include "platform/platform.h" /* IFP_PRINTF, and the CLI's few system calls */

#define PROG "interformer"
enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* The program's name in the messages below: PROG, unless another program
 * (tools/if-golden.c) sets its own first. */
extern const char *cli_prog;

#define CLI_PRINTF(f, a) IFP_PRINTF(f, a)

/* ---------------------------------------------------------------- errors
 * One line on stderr, "interformer: <what>: <detail>" (cli_prog). */

/* A runtime or input error; returns EXIT_RUNTIME. */
int cli_fail(const char *what, const char *fmt, ...) CLI_PRINTF(2, 3);

/* A failed library call: "<what>: <status>[: <detail>]"; EXIT_RUNTIME. */
int cli_fail_api(const char *what, if_status s, const char *detail);

/* A usage error of command cmd: "interformer: <cmd>: <detail> (see
 * 'interformer <cmd> --help')"; cmd NULL (the program itself, or a
 * program without commands): "interformer: usage: <detail> (see
 * 'interformer --help')". Returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/* "interformer: warning: <what>: <detail>"; the command goes on. */
void cli_warn(const char *what, const char *fmt, ...) CLI_PRINTF(2, 3);

/* The outputs of command cmd checked before any work (outfile.h's
 * out_check_outputs: none is an input or named twice, each can be
 * written). Returns 0, or the exit status with the error printed: a usage
 * error for an output that is an input or another output, a runtime error
 * for one that cannot be written. */
int cli_check_outputs(const char *cmd, const char *const *outs, int n_outs, const char *const *ins,
                      size_t n_ins);

/* --------------------------------------------------------------- options
 * A command's options are a table of rows; the same table parses its
 * command line and prints its help. A row's spec is its help's left
 * column, "[ALIAS, ]NAME[ ARG]" ("-o, --output FILE"): the parser takes
 * the names from it. Values are stored at row.off in the command's
 * argument struct (offsetof). */

typedef enum {
    CLI_END,   /* ends a table */
    CLI_TEXT,  /* help only: .help as it is (prose, blank lines) */
    CLI_DOC,   /* help only: a row for something parsed elsewhere (IMAGE,
                * a second meaning of -o); .spec is free text */
    CLI_FLAG,  /* int, set to 1 */
    CLI_STR,   /* const char *: the value */
    CLI_LIST,  /* cli_list: the values in order (the option may repeat) */
    CLI_MARK,  /* a flag that appends its spec (the pointer itself: a value
                * cannot be mistaken for it) to the cli_list at .off: where
                * it stands among a list option's values matters
                * (--next-object among the --click values) */
    CLI_INT,   /* int: a decimal from .lo to .hi */
    CLI_SIZE,  /* size_t: a size such as 4G or 512M (cli_parse_size) */
    CLI_TABLE, /* the rows of .sub, their offsets from .off; in the help
                * one row, .spec (free text) and .help */
} cli_kind;

typedef struct cli_opt {
    cli_kind kind;
    size_t off;                /* where the value goes in the argument struct */
    const char *spec;          /* "[ALIAS, ]NAME[ ARG]" */
    const char *help;          /* lines separated by '\n'; NULL: not in the help */
    long lo, hi;               /* CLI_INT: the range */
    const char *expect;        /* CLI_INT, CLI_SIZE: "bad NAME 'V': expected <expect>" */
    const struct cli_opt *sub; /* CLI_TABLE */
} cli_opt;

/* The rows, as initializers (the fields a kind does not use stay 0). */
#define CLI_ROW(k, o, s, h)                                                                        \
    { .kind = (k), .off = (o), .spec = (s), .help = (h) }
#define CLI_TEXT_ROW(text) CLI_ROW(CLI_TEXT, 0, NULL, text)
#define CLI_DOC_ROW(s, h)  CLI_ROW(CLI_DOC, 0, s, h)
#define CLI_INT_ROW(o, s, h, min, max, exp)                                                        \
    {                                                                                              \
        .kind = CLI_INT, .off = (o), .spec = (s), .help = (h), .lo = (min), .hi = (max),           \
        .expect = (exp)                                                                            \
    }
#define CLI_END_ROW                                                                                \
    { .kind = CLI_END }

/* CLI_LIST's value: v has room for as many values as the command line has
 * arguments (the command allocates it). */
typedef struct {
    const char **v;
    int n;
} cli_list;

typedef struct {
    const char *name;    /* the command ("encode"); NULL: a program without commands */
    const char *usage;   /* the help's first lines, after "usage: " */
    const cli_opt *opts; /* the table */
    size_t pos_off;      /* where the one positional argument goes (const char *) */
} cli_command;

/* Parses argv[0..argc) (the arguments after the command's name) into
 * args: options by the table ("--name V", "--name=V", an alias likewise),
 * --help and -h print the help, "--" ends the options, one positional
 * argument ("-" is one). Returns 1 when the command is to go on; 0 when it
 * is to end with *status: 0 after the help, EXIT_USAGE after a usage error
 * (printed: an unknown option, a missing or bad value, a second positional
 * argument). */
int cli_parse(const cli_command *c, void *args, int argc, char **argv, int *status);

/* The rows of a table as the help shows them: "  <spec>" and the help
 * text from column 22 (on the next line when the spec is longer). */
void cli_print_rows(FILE *f, const cli_opt *opts);

/* A command's help: "usage: <usage>" and its rows. */
void cli_print_help(FILE *f, const cli_command *c);

/* ----------------------------------------------------------------- values */

/* The whole string s as a decimal integer in [lo, hi] (lo >= 0); -1 when
 * it is not one. */
long cli_parse_long(const char *s, long lo, long hi);

/* A number of bytes with an optional k, M, G or T (decimal, as the library
 * prints its figures: 1G = 10^9; "1.5G" allowed; a trailing B ignored);
 * 0 when s is not one. */
size_t cli_parse_size(const char *s);

/* The length of the first of exts[0..n) that name ends with, compared
 * without case ("photo.JPG" ends with ".jpg"), after at least one other
 * character (".jpg" has none); 0 when none does. */
size_t cli_ext_len(const char *name, const char *const *exts, size_t n);

/* A malloc'd printf; NULL when out of memory. */
char *cli_strdupf(const char *fmt, ...) CLI_PRINTF(1, 2);

/* dir/name, with no second '/' when dir ends in one; malloc'd, NULL when
 * out of memory. */
char *cli_join(const char *dir, const char *name);

/* Seconds, and milliseconds, on a monotonic clock. */
double cli_now_s(void);
double cli_now_ms(void);

#endif
