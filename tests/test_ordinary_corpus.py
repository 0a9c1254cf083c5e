"""Ordinary mail is never held: the generated corpus and the shared ham corpora through the full pipeline."""
from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path
from types import ModuleType

import pytest

from checks.model import Check
from checks.registry import default_registry
from proxy.config import Config, load_config
from proxy.pipeline import Action, evaluate

REPO = Path(__file__).resolve().parents[1]
ORDINARY = REPO / "tests" / "data" / "ordinary"
GENERATOR = REPO / "tests" / "data" / "make_ordinary.py"
SHARED_CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
HAM_FOLDERS = ("spamassassin-ham", "usrp-users-list")
MIN_CORPUS_SIZE = 320


@dataclass(frozen=True)
class Tally:
    """What the pipeline made of a set of messages; `held` lists every message that would not go out."""

    messages: int
    oops: int
    held: tuple[str, ...]

    def describe(self, label: str) -> str:
        return f"{label}: {self.messages} messages, {self.oops} classified as oops, {len(self.held)} held"


def strip_mbox_line(raw: bytes) -> bytes:
    """Drop a leading mbox `From ` separator line, which is not part of the message."""
    if raw.startswith(b"From "):
        newline = raw.find(b"\n")
        return raw[newline + 1:] if newline != -1 else b""
    return raw


def sender_of(raw: bytes) -> str | None:
    # A header-only parse: the team is chosen before the body is looked at, as in the proxy.
    headers = BytesHeaderParser().parsebytes(raw)
    addresses = getaddresses([str(value) for value in headers.get_all("From", [])])
    return addresses[0][1] if addresses and addresses[0][1] else None


def run_pipeline(messages: list[tuple[str, bytes]], config: Config, checks: list[Check]) -> Tally:
    oops = 0
    held: list[str] = []
    for name, raw in messages:
        team = config.team_for(sender_of(raw))
        decision = evaluate(raw, config, checks, team)
        if decision.report is not None and decision.report.classification.is_oops:
            oops += 1
        if decision.action is not Action.DELIVER:
            found = "; ".join(f"{f.rule} [{f.severity}] line {f.span.line}: {f.excerpt!r}" for f in decision.findings)
            held.append(f"{name}: {decision.action.value} (team {team.name}): {found}")
    return Tally(len(messages), oops, tuple(held))


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(REPO / "config")


@pytest.fixture(scope="module")
def checks() -> list[Check]:
    return list(default_registry())


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_ordinary", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is being built.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_committed_corpus_matches_its_generator() -> None:
    """The .eml files are the generator's output: edit the script, then rerun it, never the files by hand."""
    expected = dict(load_generator().generate())
    on_disk = {path.name: path.read_bytes() for path in ORDINARY.glob("*.eml")}
    assert sorted(on_disk) == sorted(expected), "rerun tests/data/make_ordinary.py"
    changed = [name for name in expected if on_disk[name] != expected[name]]
    assert not changed, f"rerun tests/data/make_ordinary.py; stale: {changed[:5]}"
    assert len(expected) >= MIN_CORPUS_SIZE


def test_ordinary_corpus_is_never_held(config: Config, checks: list[Check]) -> None:
    messages = [(path.name, path.read_bytes()) for path in sorted(ORDINARY.glob("*.eml"))]
    assert len(messages) >= MIN_CORPUS_SIZE
    assert checks, "no checks registered: the corpus would pass without testing anything"
    tally = run_pipeline(messages, config, checks)
    print(tally.describe("ordinary corpus"))
    assert not tally.held, tally.describe("ordinary corpus") + "\n" + "\n".join(tally.held)


def test_shared_ham_corpora_are_never_held(config: Config, checks: list[Check]) -> None:
    folders = [SHARED_CORPORA / name for name in HAM_FOLDERS if (SHARED_CORPORA / name).is_dir()]
    if not folders:
        pytest.skip(f"shared ham corpora not found under {SHARED_CORPORA}")
    messages = [
        (str(path.relative_to(SHARED_CORPORA)), strip_mbox_line(path.read_bytes()))
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name not in ("MANIFEST.tsv", "SOURCE.txt")
    ]
    assert len(messages) >= 1000
    tally = run_pipeline(messages, config, checks)
    print(tally.describe("shared ham corpora"))
    assert not tally.held, tally.describe("shared ham corpora") + "\n" + "\n".join(tally.held)
