/* stb_image_impl.c -- stb_image's and stb_image_write's implementations, for the builds that have
 * no libstb to link (the MinGW-w64 build: `make test-windows`). Debian's
 * libstb-dev ships the header and a Linux shared library; this compiles the
 * same header's implementation. UTF-8 file names (stbi_load, stbi_info) as
 * the rest of the CLI takes them. */
#define STB_IMAGE_IMPLEMENTATION
#define STBI_WINDOWS_UTF8
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBIW_WINDOWS_UTF8
#include <stb/stb_image_write.h>
