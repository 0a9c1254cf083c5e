"""Configuration: `oopsguard.toml` and `teams/*.toml` loaded into validated, typed objects."""
from __future__ import annotations

import fnmatch
import ipaddress
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from checks.classify import ClassifierSettings
from checks.model import RuleSettings, Severity, TeamContext

MAIN_FILE = "oopsguard.toml"
TEAMS_DIR = "teams"
DEFAULT_TEAM = "default"


class ConfigError(Exception):
    """A configuration problem, already phrased as `file: key: reason` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return value


class ProxySettings(_Strict):
    listen: str = "127.0.0.1:10025"
    upstream: str = "maildir:var/outbox"
    hostname: str = "oopsguard.localdomain"
    max_message_size: Annotated[int, Field(gt=0)] = 26_214_400
    max_recipients: Annotated[int, Field(gt=0)] = 100
    allowed_clients: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    bounce_from: str = "oopsguard@localhost"
    upstream_timeout: Annotated[float, Field(gt=0)] = 30.0
    upstream_connections: Annotated[int, Field(gt=0, le=100)] = 8
    release_address: str = ""  # local part@domain used for release replies; default: bounce_from's domain
    bounces_per_sender_per_day: Annotated[int, Field(ge=0)] = 20

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        return _host_port(value)

    @field_validator("upstream")
    @classmethod
    def _upstream(cls, value: str) -> str:
        scheme, sep, rest = value.partition(":")
        if scheme == "maildir" and sep and rest:
            return value
        if scheme in ("smtp", "smtp+starttls", "smtps") and rest.startswith("//"):
            _host_port(rest[2:].rstrip("/"))
            return value
        raise ValueError("expected maildir:PATH, smtp://HOST:PORT, smtp+starttls://HOST:PORT or smtps://HOST:PORT")

    @field_validator("allowed_clients")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not an IP network such as 127.0.0.0/8") from None
        return value


class StoreSettings(_Strict):
    path: str = "var/oopsguard.db"
    hold_days: Annotated[int, Field(gt=0)] = 14
    key_file: str = ""  # release-token key; default: next to the database


class DetectSettings(_Strict):
    tag_headers: tuple[str, ...] = ("X-Oops",)
    subject_tags: tuple[str, ...] = ("[oops]", "oops:", "correction:")
    auto: bool = True


class BroadcastSettings(_Strict):
    lists: tuple[str, ...] = ()
    min_recipients: Annotated[int, Field(gt=0)] = 5
    internal_domains: tuple[str, ...] = ()


class MetricsSettings(_Strict):
    listen: str = ""  # empty: off

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        return _host_port(value) if value else value


class MainFile(_Strict):
    proxy: ProxySettings = ProxySettings()
    store: StoreSettings = StoreSettings()
    detect: DetectSettings = DetectSettings()
    broadcast: BroadcastSettings = BroadcastSettings()
    metrics: MetricsSettings = MetricsSettings()


SeverityName = Literal["off", "info", "warn", "block"]


class RuleFile(_Strict):
    severity: SeverityName | None = None
    extra_phrases: tuple[str, ...] = ()


class DigestSettings(_Strict):
    to: tuple[str, ...] = ()


class TeamFile(_Strict):
    name: str = ""
    senders: tuple[str, ...] = ()
    roster: tuple[str, ...] = ()
    leads: tuple[str, ...] = ()
    timezone: str = "UTC"
    mode: Literal["enforce", "audit"] = "enforce"
    allow_override: bool = True
    same_day: Literal["hold", "defer"] = "hold"
    on_block: Literal["hold", "reject"] = "hold"
    rules: dict[str, RuleFile] = {}
    digest: DigestSettings = DigestSettings()

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if value and not all(c.isalnum() or c in "-_." for c in value):
            raise ValueError("team names use letters, digits, '-', '_' and '.' only")
        return value

    def context(self) -> TeamContext:
        return TeamContext(
            name=self.name,
            roster=self.roster,
            timezone=self.timezone,
            rules={
                rule_id: RuleSettings(
                    severity=None if rule.severity is None else Severity.parse(rule.severity),
                    extra_phrases=rule.extra_phrases,
                )
                for rule_id, rule in self.rules.items()
            },
        )

    @property
    def digest_recipients(self) -> tuple[str, ...]:
        return self.digest.to or self.leads


@dataclass(frozen=True)
class Config:
    """The whole configuration of one proxy: main settings plus teams by name."""

    directory: Path
    main: MainFile
    teams: dict[str, TeamFile] = field(default_factory=dict)

    @property
    def proxy(self) -> ProxySettings:
        return self.main.proxy

    def team(self, name: str) -> TeamFile:
        return self.teams.get(name) or self.teams[DEFAULT_TEAM]

    def team_for(self, *addresses: str | None) -> TeamFile:
        """The first team whose sender patterns match the first address that matches any (SPEC: auth user, envelope sender, From)."""
        for address in addresses:
            if not address:
                continue
            lowered = address.lower()
            for team in self.teams.values():
                if any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in team.senders):
                    return team
        return self.teams[DEFAULT_TEAM]

    def classifier_settings(self) -> ClassifierSettings:
        detect, broadcast = self.main.detect, self.main.broadcast
        return ClassifierSettings(
            tag_headers=detect.tag_headers,
            subject_tags=detect.subject_tags,
            auto=detect.auto,
            broadcast_lists=broadcast.lists,
            min_recipients=broadcast.min_recipients,
            internal_domains=broadcast.internal_domains,
        )


def _describe(file: Path, error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        reason = item["msg"]
        if item["type"] == "extra_forbidden":
            reason = "unknown key"
        elif reason.startswith("Value error, "):
            reason = reason.removeprefix("Value error, ")
        problems.append(f"{file}: {key}: {reason}")
    return problems


def _read_toml(file: Path) -> dict[str, object]:
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{file}: (syntax): {error}"]) from None
    except OSError as error:
        raise ConfigError([f"{file}: (file): {error.strerror or error}"]) from None


def load_config(directory: str | Path) -> Config:
    """Load and validate a configuration directory; raises ConfigError listing every problem found."""
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError([f"{root}: (directory): not a configuration directory"])
    problems: list[str] = []
    main = MainFile()
    main_path = root / MAIN_FILE
    if main_path.exists():
        try:
            main = MainFile.model_validate(_read_toml(main_path))
        except ConfigError as error:
            problems.extend(error.problems)
        except ValidationError as error:
            problems.extend(_describe(main_path, error))
    teams: dict[str, TeamFile] = {}
    team_files: dict[str, Path] = {}
    for team_path in sorted((root / TEAMS_DIR).glob("*.toml")):
        try:
            team = TeamFile.model_validate(_read_toml(team_path))
        except ConfigError as error:
            problems.extend(error.problems)
            continue
        except ValidationError as error:
            problems.extend(_describe(team_path, error))
            continue
        if not team.name:
            team = team.model_copy(update={"name": team_path.stem})
        if team.name in teams:
            problems.append(f"{team_path}: name: team {team.name!r} is already defined in {team_files[team.name]}")
            continue
        teams[team.name] = team
        team_files[team.name] = team_path
    if problems:
        raise ConfigError(problems)
    teams.setdefault(DEFAULT_TEAM, TeamFile(name=DEFAULT_TEAM))
    return Config(directory=root, main=main, teams=teams)
