"""Build evodash's Flask binding: a CPython extension written in C.

The agent is linked in statically from build/rel/libevodash.a, and the
FMD importer from build/rel/libevdtools.a (run `make` in the repository root
first), so the installed module needs no libevodash.so.  Install offline into a venv with:

    pip install --no-build-isolation ./python
"""
import os
import subprocess

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("EVODASH_ROOT", os.path.dirname(HERE))
ARCHIVE = os.path.join(ROOT, "build", "rel", "libevodash.a")
# Only the importer's objects are taken from it (import_fmd).
TOOLS = os.path.join(ROOT, "build", "rel", "libevdtools.a")
PKGS = ["sqlite3", "libpq", "inih", "jansson", "libsodium", "libmicrohttpd", "libunwind", "zlib"]


def pkg_config(flag):
    out = subprocess.run(["pkg-config", flag] + PKGS, check=True, capture_output=True, text=True)
    return out.stdout.split()


for a in (TOOLS, ARCHIVE):
    if not os.path.exists(a):
        raise SystemExit("evodash: %s is missing: run `make %s` in %s first"
                         % (a, os.path.relpath(a, ROOT), ROOT))

SOURCES = ["_evodash.c", "binding.c", "wrapper.c", "capture.c", "dashview.c", "config.c",
           "fmd_glue.c", "ci_glue.c"]

setup(
    name="evodash",
    version="0.1.0",
    description="Version-aware performance and usage monitor: Flask binding",
    packages=["evodash"],
    package_dir={"evodash": "evodash"},
    ext_modules=[
        Extension(
            "evodash._evodash",
            sources=[os.path.join("evodash", s) for s in SOURCES],
            include_dirs=[os.path.join(ROOT, "include"), os.path.join(ROOT, "src")],
            extra_compile_args=["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Wshadow",
                                "-Wformat=2", "-Wmissing-prototypes", "-Wstrict-prototypes",
                                "-Werror", "-Wno-missing-field-initializers",
                                "-fvisibility=hidden"] + pkg_config("--cflags"),
            extra_objects=[TOOLS, ARCHIVE],
            extra_link_args=pkg_config("--libs") + ["-lpthread", "-lm", "-ldl"],
            depends=[TOOLS, ARCHIVE, os.path.join("evodash", "module.h")],
        )
    ],
    python_requires=">=3.11",
)
