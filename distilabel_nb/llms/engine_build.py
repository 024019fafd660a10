"""Where llama.cpp's ``llama-server`` binary comes from: found, or built from the sources pip installed.

The local engine (:mod:`distilabel_nb.llms.engine`) runs llama.cpp's own server. Its
binary is looked up in this order:

1. ``$DISTILABEL_NB_LLAMA_SERVER`` (a path to a ``llama-server`` executable);
2. the build cache, ``<user cache>/distilabel_nb/llama.cpp-<version>/bin/`` (``<version>``
   is the installed llama-cpp-python's; a build for another version is used when the
   installed one has none);
3. ``llama-server`` on ``PATH``.

:func:`build_engine` fills the build cache: it downloads the llama-cpp-python sdist of the
installed version from PyPI (``pip download``), which vendors the whole llama.cpp tree, and
compiles only ``llama-server`` and ``llama-batched-bench`` with CMake, statically linked,
without curl, OpenSSL or the web UI, so that nothing but PyPI is reached. ``make install``
and ``distilabel-nb build-engine`` call it; it takes about 10 minutes on 2 cores, once.

Example:
    >>> find_server_binary()  # doctest: +SKIP
    PosixPath('/home/me/.cache/distilabel_nb/llama.cpp-0.3.36/bin/llama-server')
"""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

SERVER_ENV = "DISTILABEL_NB_LLAMA_SERVER"
BUILD_DIR_ENV = "DISTILABEL_NB_ENGINE_DIR"
SERVER = "llama-server"
TARGETS = (SERVER, "llama-batched-bench")
# The same portable x86-64 set as the Makefile's CMAKE_ARGS, used when CMAKE_ARGS is not set:
# a native build on a recent Xeon picks AMX kernels that crash on the bundled model.
PORTABLE_X86_ARGS = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
# Only the server and the benchmark tool, self-contained, and nothing fetched at build time.
FIXED_ARGS = (
    "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_BUILD_COMMON=ON", "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_CURL=OFF", "-DLLAMA_OPENSSL=OFF", "-DLLAMA_LLGUIDANCE=OFF", "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
)
BUILD_HINT = "build it once with `distilabel-nb build-engine` (about 10 minutes; `make install` does it)"


def llama_cpp_version() -> str | None:
    """The installed llama-cpp-python's version, or ``None``."""
    try:
        return version("llama-cpp-python")
    except PackageNotFoundError:
        return None


def engine_dir(llama_version: str | None = None) -> Path:
    """The build cache of one llama.cpp version: ``<user cache>/distilabel_nb/llama.cpp-<version>``.

    ``$DISTILABEL_NB_ENGINE_DIR`` replaces ``<user cache>/distilabel_nb``. (It is not the
    call cache's folder, which tests and users move around.)
    """
    base = os.environ.get(BUILD_DIR_ENV)
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("distilabel_nb")
    return Path(base).expanduser() / f"llama.cpp-{llama_version or llama_cpp_version() or 'unknown'}"


def find_binary(name: str = SERVER) -> Path | None:
    """The path of a llama.cpp tool (see the module docstring for the order), or ``None``."""
    if name == SERVER and os.environ.get(SERVER_ENV):
        path = Path(os.environ[SERVER_ENV]).expanduser()
        return path if path.is_file() and os.access(path, os.X_OK) else None
    wanted = engine_dir() / "bin" / name
    candidates = [wanted] + sorted(engine_dir().parent.glob(f"llama.cpp-*/bin/{name}"), key=_mtime, reverse=True)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    return Path(found) if found else None


def find_server_binary() -> Path | None:
    """The ``llama-server`` the local engine runs, or ``None`` when there is none."""
    return find_binary(SERVER)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def cmake_args() -> list[str]:
    """``$CMAKE_ARGS`` (as pip's llama-cpp-python build reads it), else the portable x86-64 set."""
    given = os.environ.get("CMAKE_ARGS")
    if given is None:
        given = PORTABLE_X86_ARGS if platform.machine().lower() in ("x86_64", "amd64") else ""
    return shlex.split(given)


def _run(command: list[str], log, cwd: Path | None = None) -> None:
    log.write(f"$ {shlex.join(command)}\n")
    log.flush()
    result = subprocess.run(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise RuntimeError(f"`{shlex.join(command[:3])} …` failed (exit code {result.returncode}); see {log.name}")


def _sdist(root: Path, llama_version: str, log) -> Path:
    """The llama-cpp-python sdist of ``llama_version``, downloaded from PyPI once."""
    folder = root / "sdist"
    found = sorted(folder.glob(f"llama_cpp_python-{llama_version}.tar.gz"))
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
              f"llama-cpp-python=={llama_version}", "-d", str(folder)], log)
        found = sorted(folder.glob(f"llama_cpp_python-{llama_version}.tar.gz"))
    if not found:
        raise RuntimeError(f"pip did not download llama_cpp_python-{llama_version}.tar.gz into {folder}")
    return found[0]


def _extract_llama_cpp(sdist: Path, into: Path) -> Path:
    """Unpack the sdist's ``vendor/llama.cpp`` tree into ``into``; return its root."""
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if "/vendor/llama.cpp/" in m.name]
        archive.extractall(into, members=members, filter="data")
    sources = next(into.glob("*/vendor/llama.cpp"), None)
    if sources is None or not (sources / "CMakeLists.txt").is_file():
        raise RuntimeError(f"{sdist.name} holds no vendor/llama.cpp tree")
    return sources


def build_engine(jobs: int = 2, force: bool = False, out=sys.stdout) -> Path:
    """Build ``llama-server`` (and ``llama-batched-bench``) into the build cache; return the server's path.

    Does nothing when the cache already holds this version's build (unless ``force``).
    The full log is kept in ``<cache>/build.log``.

    Raises:
        RuntimeError: when llama-cpp-python is not installed, CMake or a compiler is
            missing, or the build fails (naming the log).
    """
    llama_version = llama_cpp_version()
    if llama_version is None:
        raise RuntimeError("llama-cpp-python is not installed: pip install 'distilabel_nb[local]'")
    root = engine_dir(llama_version)
    server = root / "bin" / SERVER
    if server.is_file() and not force:
        print(f"llama-server {llama_version} is built: {server}", file=out)
        return server
    cmake = shutil.which("cmake")
    if cmake is None:
        raise RuntimeError("building llama-server needs CMake >= 3.21 and a C++17 compiler (pip install cmake)")
    root.mkdir(parents=True, exist_ok=True)
    print(f"Building llama-server from llama-cpp-python {llama_version}'s llama.cpp sources into {root} "
          f"(about 10 minutes on 2 cores; log: {root / 'build.log'})…", file=out, flush=True)
    with open(root / "build.log", "w") as log, tempfile.TemporaryDirectory(dir=root, prefix="build-") as work:
        sources = _extract_llama_cpp(_sdist(root, llama_version, log), Path(work))
        build = Path(work) / "build"
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        _run([cmake, "-S", str(sources), "-B", str(build), *generator, *FIXED_ARGS, *cmake_args()], log)
        _run([cmake, "--build", str(build), "--target", *TARGETS, "-j", str(jobs)], log)
        staged = root / "bin.new"
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir()
        for target in TARGETS:
            shutil.copy2(build / "bin" / target, staged / target)
        shutil.rmtree(root / "bin", ignore_errors=True)
        staged.rename(root / "bin")
    print(f"Built {server}", file=out)
    return server
