"""Compiles one share of a layer's ``.pyc`` files through the bytecode cache (stdlib only).

The layer's own interpreter runs a copy of this file (``python -I -B
_pyc_worker.py JOBS.json``), because the bytecode format belongs to its Python version.  The
jobs file holds ``{"cache": <folder or null>, "jobs": [[source, dfile], ...]}``;
each source's bytecode goes to its PEP 3147 location beside it.  The worker
prints one JSON line: how many files came from the cache (``hits``), how many it
compiled (``compiled``) and how many do not compile (``failed``).

A ``.pyc`` is a pure function of the interpreter, the recorded source path
(*dfile*) and the source bytes: unchecked-hash pycs (PEP 552) hold a hash of
the source instead of an mtime, and no optimisation level is applied.  So the
cache entry of a source is named by the sha256 of those three; a hit is
hard-linked into the layer (copied across file systems).  Entries are written to
a temporary file and renamed into place, and checked before use (magic number,
flags, source hash, a body that unmarshals), so a damaged entry is replaced, not
used.  If the cache disappears during a build, the file is compiled straight
into the layer.  Sources that do not compile (test data with deliberately
broken syntax, Python 2 leftovers) are skipped, as installers do; the cache
remembers them with an empty ``.fail`` entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import marshal
import os
import sys
import tempfile
import warnings

MAGIC = importlib.util.MAGIC_NUMBER
FLAGS_UNCHECKED_HASH = (1).to_bytes(4, "little")  # PEP 552: hash-based, not checked on import
HEADER_SIZE = 16
# What `compile` raises for sources that are not valid Python for this interpreter.
COMPILE_ERRORS = (SyntaxError, ValueError, UnicodeDecodeError, OverflowError, RecursionError)


def compute_interpreter_tag() -> str:
    """Everything about this interpreter that the bytes of a ``.pyc`` depend on."""
    return "|".join(
        (sys.implementation.cache_tag or "", MAGIC.hex(), sys.version, "opt0", "unchecked-hash")
    )


def compute_key(tag: str, dfile: str, source: bytes) -> str:
    """Return the cache key of *source* compiled with recorded path *dfile* by interpreter *tag*."""
    digest = hashlib.sha256()
    for part in (tag.encode(), dfile.encode("utf-8", "surrogateescape")):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    digest.update(source)
    return digest.hexdigest()


def render_pyc(source: bytes, dfile: str) -> bytes:
    """Compile *source* to the bytes of an unchecked-hash ``.pyc`` (as ``py_compile`` does)."""
    code = compile(source, dfile, "exec", dont_inherit=True)
    return MAGIC + FLAGS_UNCHECKED_HASH + importlib.util.source_hash(source) + marshal.dumps(code)


def is_valid_pyc(data: bytes, source: bytes) -> bool:
    """Whether *data* is a whole unchecked-hash ``.pyc`` of *source* for this interpreter."""
    if len(data) <= HEADER_SIZE or data[:4] != MAGIC or data[4:8] != FLAGS_UNCHECKED_HASH:
        return False
    if data[8:16] != importlib.util.source_hash(source):
        return False
    try:
        marshal.loads(data[HEADER_SIZE:])  # a truncated or damaged body fails here
    except (EOFError, ValueError, TypeError):
        return False
    return True


def write_atomic(path: str, data: bytes) -> None:
    """Write *data* to *path* through a temporary file renamed into place."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def link_into(entry: str, out: str) -> bool:
    """Hard-link *entry* to *out* (replacing it); False when linking is not possible."""
    try:
        if os.path.samefile(entry, out):
            return True  # already linked (rename() between two links of one file does nothing)
    except OSError:
        pass
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = f"{out}.{os.getpid()}.link"
    try:
        os.link(entry, tmp)
    except OSError:  # another file system, no hard links, or the entry is gone
        return False
    os.replace(tmp, out)
    return True


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError:
        return None


def compile_one(source_path: str, dfile: str, cache: str | None, tag: str) -> str:
    """Give *source_path* its ``.pyc``; return ``hit``, ``compiled`` or ``failed``."""
    source = _read(source_path)
    if source is None:
        return "failed"
    out = importlib.util.cache_from_source(source_path)
    if cache is None:
        try:
            write_atomic(out, render_pyc(source, dfile))
        except COMPILE_ERRORS:
            return "failed"
        return "compiled"
    key = compute_key(tag, dfile, source)
    entry = os.path.join(cache, key[:2], key + ".pyc")
    if os.path.exists(entry[:-4] + ".fail"):
        return "failed"
    data = _read(entry)
    if data is not None and is_valid_pyc(data, source):
        with contextlib.suppress(OSError):
            os.utime(entry)  # the entry's mtime records its last use (for pruning)
        if not link_into(entry, out):
            write_atomic(out, data)
        return "hit"
    try:
        data = render_pyc(source, dfile)
    except COMPILE_ERRORS:
        with contextlib.suppress(OSError):
            write_atomic(entry[:-4] + ".fail", b"")
        return "failed"
    try:
        write_atomic(entry, data)  # replaces a damaged entry too
        linked = link_into(entry, out)
    except OSError:  # the cache went away or is not writable: the layer still gets its file
        linked = False
    if not linked:
        write_atomic(out, data)
    return "compiled"


def main(jobs_file: str) -> dict[str, int]:
    """Run the jobs in *jobs_file*; return the counts."""
    with open(jobs_file, encoding="utf-8") as stream:
        request = json.load(stream)
    counts = {"hit": 0, "compiled": 0, "failed": 0}
    tag = compute_interpreter_tag()
    warnings.simplefilter("ignore")  # SyntaxWarnings of third-party code are not ours to show
    for source_path, dfile in request["jobs"]:
        counts[compile_one(source_path, dfile, request["cache"], tag)] += 1
    return counts


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
