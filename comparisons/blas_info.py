"""blas_info.py: which BLAS library this Python process multiplies matrices with.

Debian's numpy and PyTorch do not carry their own matrix multiply: they call
whatever libblas.so.3 the system's alternatives point at. With only the
packages python3-numpy and python3-torch installed, that is the reference
BLAS (Netlib's triple loops, /usr/lib/x86_64-linux-gnu/blas/), several
times slower than an optimized one; `apt-get install libopenblas0-pthread`
makes OpenBLAS the default. A comparison against PyTorch or numpy is only
fair with an optimized BLAS, so both benchmarks here say which one they got.

The loaded libraries are read from /proc/self/maps (Linux), which shows the
files themselves, after the alternatives' symbolic links are followed.
Call describe() after at least one matrix product, so the library is
loaded whichever way it is linked.
"""
import ctypes
import os

REFERENCE = "reference"
OPTIMIZED = ("openblas", "blis", "mkl", "atlas")


def loaded_libraries():
    """Paths of the shared libraries mapped into this process."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/" in line and ".so" in line}
    except OSError:
        return []
    return sorted(paths)


def _openblas_details(path):
    """OpenBLAS's version, the kernels it chose for this CPU and its threads."""
    try:
        lib = ctypes.CDLL(path)
        lib.openblas_get_config.restype = ctypes.c_char_p
        lib.openblas_get_corename.restype = ctypes.c_char_p
        config = lib.openblas_get_config().decode()
        core = lib.openblas_get_corename().decode()
        threads = lib.openblas_get_num_threads()
    except (OSError, AttributeError):
        return ""
    version = " ".join(config.split()[:2])  # "OpenBLAS 0.3.21"
    return f"{version}, {core} kernels, {threads} thread{'s' if threads != 1 else ''}"


def describe(torch_module=None):
    """(kind, text): kind is 'openblas', 'blis', 'mkl', 'atlas', 'reference' or
    'unknown'; text says which library and where it is."""
    libraries = loaded_libraries()
    for path in libraries:
        name = os.path.basename(path)
        if name.startswith("libopenblas"):
            details = _openblas_details(path)
            return "openblas", f"OpenBLAS ({details}) {path}" if details else f"OpenBLAS {path}"
    for path in libraries:
        name = os.path.basename(path)
        if name.startswith("libblis"):
            return "blis", f"BLIS {path}"
        if name.startswith("libmkl"):
            return "mkl", f"MKL {path}"
        if "atlas" in path:
            return "atlas", f"ATLAS {path}"
    for path in libraries:
        if os.path.basename(path).startswith("libblas.so") and "/blas/" in path:
            return REFERENCE, f"the reference BLAS (Netlib, unoptimized) {path}"
    if torch_module is not None and torch_module.backends.mkl.is_available():
        return "mkl", "MKL (linked into PyTorch)"
    return "unknown", "no BLAS library found among the loaded libraries"


def warning(kind, program):
    """A loud warning when the BLAS is not an optimized one, or None."""
    if kind in OPTIMIZED:
        return None
    rule = "!" * 78
    what = ("the reference BLAS" if kind == REFERENCE else "no recognised optimized BLAS")
    return (f"{rule}\n"
            f"WARNING: {program} runs its matrix products on {what}.\n"
            f"Its fully connected layers are then several times slower than they should be,\n"
            f"and any comparison made with it is unfair. On Debian, as root:\n"
            f"    apt-get install libopenblas0-pthread\n"
            f"(OpenBLAS then becomes libblas.so.3: check with\n"
            f"    update-alternatives --query libblas.so.3-x86_64-linux-gnu)\n"
            f"{rule}")
