"""The guide stays true: every relative link (and image) of the Markdown pages resolves, anchors included;
every module path that docs/ARCHITECTURE.md names exists; every command block of README.md and docs/*.md is
run, or says on the line before it why not (`<!-- not run: REASON -->`)."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
GUIDE = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]  # the pages whose command blocks are run
LINKED = [*GUIDE, REPO / "RESULTS.md", REPO / "benchmarks" / "RESULTS.md"]  # the pages whose links resolve
ARCHITECTURE = DOCS / "ARCHITECTURE.md"

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)")
SHELLS = {"bash", "sh", "shell", "console"}
NOT_RUN = re.compile(r"^<!--\s*not run:(.*?)-->\s*$")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, its text, the line of its opening fence (1-based) and the line
    before that fence."""

    language: str
    text: str
    line: int
    before: str


def fenced_blocks(text: str) -> list[Block]:
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, start = opening.group(1), i
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            i += 1
        before = lines[start - 1].strip() if start > 0 else ""
        blocks.append(Block(opening.group(2).lower(), "\n".join(lines[start + 1 : i]), start + 1, before))
        i += 1
    return blocks


def prose(text: str, code_spans: bool = False) -> str:
    """The page without its fenced blocks, and without its code spans unless asked (a link in code is not a
    link)."""
    kept, fence = [], None
    for line in text.splitlines():
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        elif fence is None:
            kept.append(line if code_spans else re.sub(r"(`+)(?:(?!\1).)+?\1", "", line))
    return "\n".join(kept)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: links reduced to their text, lowercase, punctuation dropped, spaces to -."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for match in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", prose(page.read_text(), code_spans=True), re.M):
        base, n = slug(match.group(1)), 0
        name = base
        while name in found:  # GitHub numbers repeated headings: name, name-1, name-2
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"^[a-z][\w+.-]*:", target, re.I):  # https:, mailto:, ...
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {shown(file)}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {shown(file)}")
    return broken


def test_the_guide_is_a_guide_not_a_wall():
    assert len((REPO / "README.md").read_text().splitlines()) <= 300
    text = (REPO / "README.md").read_text()
    assert "make run" in text and "make test" in text  # the two commands (CI and a hook grep for them)
    for name in ("experiments", "interventions", "reduxes", "your-own-model", "figures", "clusters", "reliability"):
        assert (DOCS / f"{name}.md").exists() and f"docs/{name}.md" in text, name


def test_the_link_checker_finds_a_broken_link_and_a_missing_anchor(tmp_path):
    (tmp_path / "other.md").write_text("# A heading: with `code` – and more\n\n## Twice\n\n## Twice\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-heading-with-code--and-more) [ok](other.md#twice-1) [ok](#here) ![ok](other.md)\n"
        "[bad](missing.md) [bad](other.md#nowhere) `[in code](missing.md)` [web](https://example.org/x)\n"
        "\n## Here\n\n```bash\ncat [not a link](missing.md)\n```\n"
    )
    assert [b.split(":")[0] for b in broken_links(page)] == ["missing.md", "other.md#nowhere"]


@pytest.mark.parametrize("page", LINKED, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_image_resolves(page):
    assert broken_links(page) == []


# ---- the architecture map names modules that exist ----

TOP = ("ex_color/", "hydra_plugins/", "scripts/", "benchmarks/", "tests/", "configs/")
ENTRY = re.compile(r"^( *)((?:[\w.-]+/)*(?:[\w-]+\.\w+|[\w.-]+/))(?=\s|$)((?: (?:[\w.-]+/)*(?:[\w-]+\.\w+|[\w.-]+/))*)")


def map_paths(text: str) -> list[str]:
    """The paths of the code-block maps: a line `  name.py   what it holds` (or `  package/`) under a folder
    indented by two spaces per level; names on one line separated by single spaces are siblings; deeper
    indented lines continue the description above them. Only trees rooted in the repository's folders."""
    paths = []
    for block in fenced_blocks(text):
        stack: list[str] | None = None
        for line in block.text.splitlines():
            entry = ENTRY.match(line)
            indent = len(line) - len(line.lstrip(" "))
            if indent == 0:
                stack = [entry.group(2)] if entry and entry.group(2).startswith(TOP) else None
                if stack:
                    paths.append(entry.group(2))
                continue
            if stack is None or entry is None or indent % 2 or indent // 2 > len(stack):
                continue  # outside a tree of ours, or a continued description
            depth = indent // 2
            names = [entry.group(2), *entry.group(3).split()]
            for name in names:
                paths.append("".join(stack[:depth]) + name)
            if names[-1].endswith("/"):
                stack = [*stack[:depth], names[-1]]
            else:
                stack = stack[:depth]
    return paths


def dotted_names(text: str) -> list[str]:
    return sorted(set(re.findall(r"\bex_color(?:\.[A-Za-z_]\w*)+", text)))


def slashed_paths(text: str) -> list[str]:
    found = re.findall(r"(?<![\w/.])((?:ex_color|hydra_plugins|scripts|benchmarks)/[\w/.-]*+)(?![*<])", text)
    return sorted({path.rstrip(".") for path in found})


SOURCE_FOLDERS = ("ex_color", "hydra_plugins", "benchmarks", "scripts", "tests")


def code_span_paths(text: str) -> list[str]:
    """Module files and packages named in code spans of the prose (`figures/registry.py`, `plots/`,
    `bench_ensemble.py`); a run directory's parts (`.hydra/`) are not modules."""
    spans = re.findall(r"`([\w./-]+(?:\.py|/))`", prose(text, code_spans=True))
    return sorted({span for span in spans if not span.startswith(("/", "~", "<", "."))})


def missing_span_path(span: str) -> str | None:
    """None if the span names a path from the repository's root or from ex_color/, or (a bare file name) a
    file in one of the source folders."""
    if (REPO / span).exists() or (REPO / "ex_color" / span).exists():
        return None
    if "/" not in span and any(next((REPO / top).rglob(span), None) for top in SOURCE_FOLDERS):
        return None
    return f"`{span}`: no such file"


def missing_module(name: str) -> str | None:
    """None if `ex_color.a.b.C` names a module, or an attribute of the longest module prefix; else why not."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        if (REPO / Path(*parts[:cut])).is_dir() or (REPO / Path(*parts[:cut])).with_suffix(".py").exists():
            value = importlib.import_module(module)
            for attribute in parts[cut:]:
                if not hasattr(value, attribute):
                    return f"{name}: {module} has no {'.'.join(parts[cut:])}"
                value = getattr(value, attribute)
            return None
    return f"{name}: no such module"


def test_the_map_reader_reads_trees_siblings_and_continuations():
    text = (
        "```\nex_color/\n  cli/          the commands\n    training.py  train, run\n"
        "  config.py paths.py   (top level)\n  tasks/        (no task imports another)\n"
        "    run.py        the main job; continues\n                  ghost.py on a continued line\n"
        "  runs.py       layout\noutputs/<name>/\n  report.md    not ours\n```\n"
    )
    assert map_paths(text) == [
        "ex_color/", "ex_color/cli/", "ex_color/cli/training.py", "ex_color/config.py", "ex_color/paths.py",
        "ex_color/tasks/", "ex_color/tasks/run.py", "ex_color/runs.py",
    ]  # fmt: skip
    assert slashed_paths("see `ex_color/training/loop.py`. And benchmarks/bench_*.py") == ["ex_color/training/loop.py"]
    assert code_span_paths("a `figures/registry.py` in `plots/`\n```\n`gone.py`\n```\n") == [
        "figures/registry.py",
        "plots/",
    ]
    assert missing_span_path("figures/registry.py") is None and missing_span_path("tests/") is None
    assert missing_span_path("bench_ensemble.py") is None and code_span_paths("`.hydra/` `../x/`") == []
    assert missing_span_path("figures.py") == "`figures.py`: no such file"
    assert missing_module("ex_color.interventions.LinearMapper") is None
    assert missing_module("ex_color.training.loop") is None
    assert missing_module("ex_color.nowhere") == "ex_color.nowhere: ex_color has no nowhere"


def test_every_module_path_architecture_names_exists():
    text = ARCHITECTURE.read_text()
    missing = [path for path in [*map_paths(text), *slashed_paths(text)] if not (REPO / path).exists()]
    missing += [why for name in dotted_names(text) if (why := missing_module(name))]
    missing += [why for span in code_span_paths(text) if (why := missing_span_path(span))]
    assert missing == []


# ---- every command block is run, or says why not ----


def command_blocks(page: Path) -> list[Block]:
    return [block for block in fenced_blocks(page.read_text()) if block.language in SHELLS]


def runnable(block: Block) -> bool:
    return not NOT_RUN.match(block.before)


def test_every_not_run_mark_gives_a_reason():
    for page in GUIDE:
        for block in command_blocks(page):
            if block.before.startswith("<!--") and "not run" in block.before:
                match = NOT_RUN.match(block.before)
                assert match and len(match.group(1).strip()) >= 10, f"{page.name}:{block.line}: give the reason"


def script(block: Block) -> str:
    if block.language == "console":  # only the prompts' lines are commands
        return "\n".join(line[2:] for line in block.text.splitlines() if line.startswith("$ "))
    return block.text


PAGES_WITH_COMMANDS = [page for page in GUIDE if any(runnable(b) for b in command_blocks(page))]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES_WITH_COMMANDS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_runnable_command_block_runs(page, tmp_path):
    """The page's runnable blocks, in order, in one fresh folder (a later block may use outputs/latest made by
    an earlier one), with this environment's excolor first on the PATH."""
    (tmp_path / "dopesheets").symlink_to(REPO / "dopesheets")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "WANDB_MODE": "offline",
        "MPLBACKEND": "Agg",
        "PYTHONWARNINGS": "ignore",
    }
    for block in filter(runnable, command_blocks(page)):
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script(block)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, (
            f"{page.relative_to(REPO)}:{block.line} failed ({result.returncode}); mark it "
            f"`<!-- not run: REASON -->` if it cannot run here\n{block.text}\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-3000:]}"
        )
