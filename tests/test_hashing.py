from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from venvstacks.hashing import (
    SourceFilter,
    find_git_work_tree,
    find_source_filter,
    hash_directory,
    hash_file_contents,
    hash_file_name_and_contents,
    hash_module,
    hash_strings,
    walk_source_tree,
)
from venvstacks.tools._subprocess import Completed

# Test vectors from venvstacks 0.7.0 (tests/test_hashing.py and tests/hash_fodder in
# its sdist): content hashes come from sha256sum/b2sum, the others from the original.
EXAMPLE = b"Example file for hashing tests\n"
DIFFERENT = b"This file has different contents for the hashing tests\n"
FODDER = {
    "different_file.txt": DIFFERENT,
    "file.txt": EXAMPLE,
    "file_duplicate.txt": EXAMPLE,
    "folder1/file.txt": EXAMPLE,
    "folder1/subfolder/file.txt": EXAMPLE,
    "folder2/file_duplicate.txt": EXAMPLE,
}
CONTENT_HASHES = {
    "sha256": {
        EXAMPLE: "84dae841773532dcc56da3a65a4c992534c385649645bf0340873da2e2ce7d6a",
        DIFFERENT: "43691ae21f1fd9540bb5b9a6f2ab07fd5be4c2a0545231dc505a5f33a1619337",
    },
    "blake2b": {
        EXAMPLE: "bf4d9de4092670662fe8985f38880ce2d1b34ee74a4a110ea6dde23903388bc4fb18b233cc5fb027a2b374731ed6cc9274e244af5605040aa59882a7d6b68b0d",
        DIFFERENT: "4783a95cdf9b6d0ebc4fe0d553ed6424b0a55400d9ead89b7c5b2dff26fb210aa1f7f9f8b809e58c7f2c79b4e046eea1b52c3a19032d2b861e792814b4ad0782",
    },
}
NAME_AND_CONTENT_HASHES = {
    "sha256": {
        "file.txt": "6f0923fd3e132d2a05f0ee67b906d10af52e5993454ef38d024820a6fa3b2a12",
        "file_duplicate.txt": "a6d265b49ae38e1539d613d194befa0984bc0d6dcad66f46082e3e532dafc0e1",
        "different_file.txt": "4a23fc5657c4c15fce3f99c22af471a7432ac96e74ea3ca2ab7720da6b892756",
    },
    "blake2b": {
        "file.txt": "6308aff6e73bac77a1cc5d7669eedee59174040c674b2304dd73236c5ea5a3881d8ed4095700d9a22f68c84a73cee71cb965a6ba84efe546707fcea09fb150f0",
        "file_duplicate.txt": "3686fb1772e99186bc7b10ca8728d0e2d0496d6eebc9b2fda8b24a9030a0e627bbc4e119b5b8edb64caab5a9acb1b6f7aa85b79c2508562f3314dd97fb51ce7c",
        "different_file.txt": "702163efe664584b88b9a28e254c655d873bebbea4b1963bc5fdc7137dd209e8d2f743f9403563fddc3b7b27aa60f4f7a6ce87f8a6bc14971a09e4594f122bf8",
    },
}
STRINGS = ("A string", "Another string", "A string with non-ASCII characters: 🦎🐸🦎")
STRING_HASHES = {
    "sha256": "30ad29063127d5e45ade75380df47dbbcee1246c55e138b0d42419ecb3a8635a",
    "blake2b": "cc67ce2ed4b3b8da567de50312ea33f9207b4fcd34be07476198e7e9a20422e5c2795ef3f3c955581b53bcf715dab5945b687ef3f1e8e6a8ef1bc9bf327f72e4",
}
# Folders top-down with sorted subfolders; each feeds its name, then per sorted
# file its name and its prefixed content hash.
DIRECTORY_FEED: tuple[tuple[str, str | bytes], ...] = (
    ("name", "hash_fodder"),
    ("name", "different_file.txt"),
    ("content", DIFFERENT),
    ("name", "file.txt"),
    ("content", EXAMPLE),
    ("name", "file_duplicate.txt"),
    ("content", EXAMPLE),
    ("name", "folder1"),
    ("name", "file.txt"),
    ("content", EXAMPLE),
    ("name", "subfolder"),
    ("name", "file.txt"),
    ("content", EXAMPLE),
    ("name", "folder2"),
    ("name", "file_duplicate.txt"),
    ("content", EXAMPLE),
)
DIRECTORY_HASHES = {
    "sha256": "17080228f013e5d2cf42814bec71a9048b019b86c68b7b1071173c5d68c495ce",
    "blake2b": "d20e2dd58878655c323f8b9ec4d2d81b82802e187373c1310af061b4d93fa72531d700c0694ae9cbc667287af03b5204059a59727e71483eb04f4e18e17bb56a",
}
ALGORITHMS = ("sha256", "blake2b")
GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed")


def make_tree(root: Path, files: Mapping[str, bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


@pytest.fixture
def fodder(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "hash_fodder", FODDER)


def git(*args: str, cwd: Path) -> None:
    assert GIT is not None
    subprocess.run([GIT, *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_hash_strings(algorithm: str) -> None:
    expected = STRING_HASHES[algorithm]
    assert hash_strings(STRINGS, algorithm) == f"{algorithm}:{expected}"
    assert hash_strings(STRINGS, algorithm, omit_prefix=True) == expected


def test_hash_strings_defaults_to_sha256_without_separators() -> None:
    assert hash_strings(STRINGS) == f"sha256:{STRING_HASHES['sha256']}"
    assert hash_strings(["ab", "c"]) == hash_strings(["a", "bc"])
    assert hash_strings([]) == f"sha256:{hashlib.sha256().hexdigest()}"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("name", ["file.txt", "file_duplicate.txt", "different_file.txt"])
def test_hash_file_contents(fodder: Path, algorithm: str, name: str) -> None:
    expected = CONTENT_HASHES[algorithm][FODDER[name]]
    assert hash_file_contents(fodder / name, algorithm) == f"{algorithm}:{expected}"
    assert hash_file_contents(fodder / name, algorithm, omit_prefix=True) == expected


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("name", ["file.txt", "file_duplicate.txt", "different_file.txt"])
def test_hash_file_name_and_contents(fodder: Path, algorithm: str, name: str) -> None:
    expected = NAME_AND_CONTENT_HASHES[algorithm][name]
    assert hash_file_name_and_contents(fodder / name, algorithm) == f"{algorithm}:{expected}"
    assert hash_file_name_and_contents(fodder / name, algorithm, omit_prefix=True) == expected


def test_missing_files_hash_to_empty_text(tmp_path: Path) -> None:
    assert hash_file_contents(tmp_path / "missing.py") == ""
    assert hash_file_name_and_contents(tmp_path / "missing.py") == ""


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_directory_feed_order(algorithm: str) -> None:
    digest = hashlib.new(algorithm)
    for kind, value in DIRECTORY_FEED:
        if isinstance(value, bytes):
            assert kind == "content"
            digest.update(f"{algorithm}:{hashlib.new(algorithm, value).hexdigest()}".encode())
        else:
            digest.update(value.encode())
    assert digest.hexdigest() == DIRECTORY_HASHES[algorithm]


def test_directory_feed_order_matches_08_manifest() -> None:
    # venvstacks 0.8's sample manifests record this hash for the launch package
    # launch_modules/scipy_client (two files, whose sha256 sums are given here).
    main = "9df1f5e7c3b4983c4c9405bcf2a88c0e9e09287e1fcc85d28d6e98955c44e0e5"
    cli = "983e9922b042aeacd357353a3b3c0438303490b67decf8e9054f015f049b50a3"
    digest = hashlib.sha256()
    for item in ["scipy_client", "__main__.py", f"sha256:{main}", "cli.py", f"sha256:{cli}"]:
        digest.update(item.encode())
    expected = "76d203dd6d3bb1fdb1117053c81590d42ef3f62b4b92b8d316b31f08334fbca6"
    assert digest.hexdigest() == expected


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_hash_directory(fodder: Path, algorithm: str) -> None:
    expected = DIRECTORY_HASHES[algorithm]
    assert hash_directory(fodder, algorithm) == f"{algorithm}/{expected}"
    assert hash_directory(fodder, algorithm, omit_prefix=True) == expected


def test_directory_hash_covers_names_and_contents(fodder: Path) -> None:
    original = hash_directory(fodder)
    (fodder / "folder1/subfolder/file.txt").write_text("changed")
    changed_content = hash_directory(fodder)
    (fodder / "folder1/subfolder/file.txt").rename(fodder / "folder1/subfolder/renamed.txt")
    renamed_file = hash_directory(fodder)
    (fodder / "folder2").rename(fodder / "folder3")
    renamed_folder = hash_directory(fodder)
    (fodder / "empty").mkdir()
    empty_folder = hash_directory(fodder)
    hashes = [original, changed_content, renamed_file, renamed_folder, empty_folder]
    assert len(set(hashes)) == len(hashes)


def test_directory_hash_covers_the_top_folder_name(fodder: Path) -> None:
    renamed = fodder.rename(fodder.with_name("other"))
    assert hash_directory(renamed) != f"sha256/{DIRECTORY_HASHES['sha256']}"


def test_hash_module(fodder: Path) -> None:
    assert (
        hash_module(fodder / "file.txt")
        == f"sha256:{NAME_AND_CONTENT_HASHES['sha256']['file.txt']}"
    )
    assert hash_module(fodder) == f"sha256/{DIRECTORY_HASHES['sha256']}"


def test_outside_git_only_pycache_is_left_out(fodder: Path) -> None:
    assert find_source_filter(fodder) == SourceFilter(None)
    make_tree(fodder, {"__pycache__/nested/x.pyc": b"", "folder1/__pycache__/y.pyc": b""})
    assert list(walk_source_tree(fodder / "__pycache__", SourceFilter(None))) == []
    assert hash_directory(fodder) == f"sha256/{DIRECTORY_HASHES['sha256']}"
    make_tree(fodder, {".gitignore": b"*.txt\n"})
    assert hash_directory(fodder) != f"sha256/{DIRECTORY_HASHES['sha256']}"


def test_find_git_work_tree(tmp_path: Path) -> None:
    (tmp_path / "repo/.git").mkdir(parents=True)
    (tmp_path / "repo/sub/deeper").mkdir(parents=True)
    (tmp_path / "repo/sub/.git").write_text("gitdir: elsewhere\n")  # a file: not a work tree root
    assert find_git_work_tree(tmp_path / "repo/sub/deeper") == tmp_path / "repo"
    assert find_git_work_tree(tmp_path / "repo") == tmp_path / "repo"
    assert find_git_work_tree(tmp_path) is None


@needs_git
def test_git_work_tree_filter(tmp_path: Path) -> None:
    fodder = make_tree(tmp_path / "hash_fodder", FODDER)
    git("init", "-q", ".", cwd=tmp_path)
    make_tree(fodder, {"__pycache__/nested/x.pyc": b"", ".gitattributes": b"* text\n"})
    source_filter = find_source_filter(fodder)
    assert source_filter.git_work_tree == tmp_path
    # Names starting with .git are always left out; __pycache__ only once ignored.
    assert hash_directory(fodder, source_filter=source_filter) != hash_directory(
        fodder, source_filter=SourceFilter(None)
    )
    (tmp_path / ".gitignore").write_text("__pycache__/\n")
    assert hash_directory(fodder) == f"sha256/{DIRECTORY_HASHES['sha256']}"


@needs_git
def test_git_ignore_rules(tmp_path: Path) -> None:
    git("init", "-q", ".", cwd=tmp_path)
    make_tree(
        tmp_path,
        {
            ".gitignore": b"*.log\nbuild/\n",
            "pkg/.gitkeep": b"",
            "pkg/a.py": b"",
            "pkg/a.log": b"",
            "pkg/\u00e9.log": b"",
            'pkg/q"uote.log': b"",
            'pkg/q"uote.py': b"",
            "pkg/tracked.log": b"",
            "pkg/build/inner.py": b"",
            "pkg/sub/b.py": b"",
        },
    )
    git("add", "-f", "pkg/tracked.log", cwd=tmp_path)
    walked = [
        (folder.relative_to(tmp_path).as_posix(), dirs, files)
        for folder, dirs, files in walk_source_tree(tmp_path / "pkg", find_source_filter(tmp_path))
    ]
    assert walked == [
        ("pkg", ["sub"], ["a.py", 'q"uote.py', "tracked.log"]),
        ("pkg/sub", [], ["b.py"]),
    ]
    # As in 0.8, an ignored folder walks (and hashes) as if it were empty.
    build = tmp_path / "pkg/build"
    assert list(walk_source_tree(build, find_source_filter(build))) == []
    assert hash_directory(build) == f"sha256/{hashlib.sha256().hexdigest()}"
    assert next(walk_source_tree(tmp_path, find_source_filter(tmp_path)))[1] == ["pkg"]


class FakeGit:
    """Stands in for `run`: records calls, answers like `git check-ignore`."""

    def __init__(self, returncode: int = 0, ignored: Sequence[str] = ()) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.returncode = returncode
        self.ignored = ignored

    def __call__(
        self,
        args: Sequence[str | Path],
        *,
        env: Mapping[str, str] | None = None,  # noqa: ARG002 - part of the Runner signature
        cwd: Path | None = None,
        check: bool = True,
        failure: str = "",  # noqa: ARG002 - part of the Runner signature
    ) -> Completed:
        assert not check
        assert cwd is not None
        argv = tuple(str(arg) for arg in args)
        self.calls.append(argv)
        names = argv[argv.index("--") + 1 :]
        hits = [name for name in names if name in self.ignored]
        returncode = self.returncode or (0 if hits else 1)
        return Completed(argv, returncode, "".join(f"{n}\n" for n in hits), "")


def test_one_git_call_per_folder(tmp_path: Path) -> None:
    fake = FakeGit(ignored=["b.txt"])
    source_filter = SourceFilter(tmp_path, "/usr/bin/git", fake)
    names = [".git", ".gitignore", "a.txt", "b.txt", "__pycache__"]
    assert source_filter.ignore(tmp_path, names) == {".git", ".gitignore", "b.txt"}
    command = ("/usr/bin/git", "-c", "core.quotePath=false", "check-ignore", "--")
    assert fake.calls == [(*command, "a.txt", "b.txt", "__pycache__")]


def test_long_folders_are_checked_in_chunks(tmp_path: Path) -> None:
    fake = FakeGit()
    names = [f"{i:04d}-{'x' * 95}" for i in range(200)]
    assert SourceFilter(tmp_path, "git", fake).ignore(tmp_path, names) == set()
    assert len(fake.calls) == 3
    assert [name for call in fake.calls for name in call[5:]] == names


def test_quoted_names_are_checked_one_by_one(tmp_path: Path) -> None:
    fake = FakeGit(ignored=['a"b'])
    names = ["plain", 'a"b', "tab\there"]
    assert SourceFilter(tmp_path, "git", fake).ignore(tmp_path, names) == {'a"b'}
    assert [call[5:] for call in fake.calls] == [("plain",), ('a"b',), ("tab\there",)]


@pytest.mark.parametrize(
    "source_filter",
    [
        SourceFilter(Path("/repo"), None),
        SourceFilter(Path("/repo"), "git", FakeGit(returncode=128)),
    ],
    ids=["git-not-installed", "git-fails"],
)
def test_without_usable_git_only_git_names_and_pycache_are_left_out(
    source_filter: SourceFilter, tmp_path: Path
) -> None:
    names = [".git", ".github", "__pycache__", "a.log", "a.py"]
    assert source_filter.ignore(tmp_path, names) == {".git", ".github", "__pycache__"}


def test_source_filter_is_a_copytree_ignore(tmp_path: Path) -> None:
    source = make_tree(tmp_path / "src", {"a.py": b"", "__pycache__/a.pyc": b""})
    shutil.copytree(source, tmp_path / "dst", ignore=SourceFilter(None).ignore)
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["a.py"]
