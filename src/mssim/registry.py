"""Registries: the one place each kind of named thing is defined.

Five seams each hold their entries by name: instruments, intervention kinds,
endpoints, designs and analyses. The scenario validator, the engine, the
analyses, the report, the figures and ``mssim schema`` all read these
registries; an unknown name is an :class:`~mssim.errors.MssimError` with the
registered names and the closest match, never a fallback.

A registry knows the module that registers its built-in entries and imports it
on first use, so this bottom module imports no layer above it. A user's own
module (a plug-in, :func:`load_plugin`) registers into the same registries.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from mssim.errors import MssimError


class Named(Protocol):
    """What every registry entry has: a name."""

    name: str


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Entries of one kind, by name.

    Args:
        kind: What an entry is, in messages ("analysis", "design", ...).
        builtins: Module that registers the built-in entries when imported.
    """

    def __init__(self, kind: str, builtins: str) -> None:
        self.kind = kind
        self._builtins = builtins
        self._loaded = False
        self._entries: dict[str, T] = {}

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            importlib.import_module(self._builtins)

    def register(self, entry: T) -> T:
        """Add an entry; a name already registered is refused.

        Args:
            entry: The entry; its ``name`` is the key.

        Returns:
            The entry, so that a module can write ``X = REGISTRY.register(...)``.

        Raises:
            MssimError: If the name is empty, not an identifier, or taken.
        """
        self._load()
        name = entry.name
        if not isinstance(name, str) or not name.isidentifier():
            raise MssimError(f"{self.kind} name must be an identifier; given {name!r}")
        if name in self._entries and self._entries[name] is not entry:
            raise MssimError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def get(self, name: str, field: str | None = None) -> T:
        """The entry called ``name``.

        Args:
            name: The registered name.
            field: Where the name was given (dotted field or option), for the message.

        Raises:
            MssimError: For an unknown name, listing the registered names.
        """
        self._load()
        if name not in self._entries:
            raise MssimError(self.unknown(name, field))
        return self._entries[name]

    def unknown(self, name: object, field: str | None = None) -> str:
        """The message for an unknown name: where, what is allowed, the closest match."""
        self._load()
        guess = difflib.get_close_matches(str(name), list(self._entries), n=1, cutoff=0.5)
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        where = f"{field}: " if field else ""
        return f"{where}unknown {self.kind} {name!r}; {hint}allowed: {', '.join(self.names())}"

    def check(self, name: str) -> str:
        """Return ``name`` if registered, else raise ValueError (for pydantic validators)."""
        if name not in self:
            raise ValueError(self.unknown(name))
        return name

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        self._load()
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load()
        return isinstance(name, str) and name in self._entries

    def __iter__(self) -> Iterator[T]:
        self._load()
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        self._load()
        return len(self._entries)


INSTRUMENTS: Registry[Any] = Registry("instrument", "mssim.config.instruments")
INTERVENTIONS: Registry[Any] = Registry("intervention kind", "mssim.config.intervention_kinds")
ENDPOINTS: Registry[Any] = Registry("endpoint", "mssim.trial.endpoints")
DESIGNS: Registry[Any] = Registry("design", "mssim.trial.designs")
ANALYSES: Registry[Any] = Registry("analysis", "mssim.trial.analyses")

_PLUGINS: dict[str, str] = {}  # file path or module -> sha256 of its source (provenance)


def load_plugin(spec: str) -> None:
    """Import a user's module so that it registers its entries.

    Args:
        spec: A Python file (``path/to/plugin.py``) or an importable module
            name (``mypackage.mssim_plugin``). Loading the same spec twice does
            nothing the second time.

    Raises:
        MssimError: If the file or module cannot be found, or importing it fails.
    """
    path = Path(spec)
    is_file = spec.endswith(".py") or path.is_file()
    key = str(path.resolve()) if is_file else spec
    if key in _PLUGINS:
        return
    if is_file:
        if not path.is_file():
            raise MssimError(f"--plugin: no such file {spec!r}")
        name = "mssim_plugin_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
        source = path.read_bytes()
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise MssimError(f"--plugin: {spec!r} is not a Python module")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        run = lambda: module_spec.loader.exec_module(module)  # noqa: E731
    else:
        found = importlib.util.find_spec(spec) if spec.replace(".", "").isidentifier() else None
        if found is None or found.origin is None:
            raise MssimError(f"--plugin: no module or file {spec!r}")
        source = Path(found.origin).read_bytes()
        run = lambda: importlib.import_module(spec)  # noqa: E731
    try:
        run()
    except MssimError as err:
        raise MssimError(f"--plugin {spec}: {err}") from None
    except Exception as err:  # a user's module may raise anything while importing
        raise MssimError(
            f"--plugin {spec}: importing it failed: {type(err).__name__}: {err}"
        ) from None
    _PLUGINS[key] = hashlib.sha256(source).hexdigest()


def loaded_plugins() -> dict[str, str]:
    """Plug-ins loaded in this process, each with the SHA-256 of its source.

    Keys are absolute file paths or module names. Worker processes load the same
    plug-ins before running a task.
    """
    return dict(_PLUGINS)
