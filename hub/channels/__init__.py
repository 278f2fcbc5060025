"""The channel kit: what every partner channel needs, written once, and the loader.

The loader (this module) finds the channels enabled in config by slug:
``[channels.<slug>]`` -> ``adapters/<slug>`` (a module or a package), or
``adapters/<family>/<slug>`` for a channel that shares a package with its kin (the
retail chains in ``adapters/retail/``). The hub names adapters only this way.

The kit, one module per job (each documented where it is defined):

- ``base``: what a channel adapter is (``ChannelAdapter``, ``HttpChannelAdapter``);
- ``signatures``: header-signature verification; a channel supplies its
  ``SignatureScheme`` (pure functions: its string to sign, its timestamp parser);
- ``codes``: ``CodeTable`` (error type -> partner code and HTTP status) and ``Retry-After``;
- ``fields``: ``PartnerTerms``, a field named in the partner's terms;
- ``routes``: the one route style (``Operation``s of the adapter) and ``raw_body``;
- ``openapi``: the partner app's OpenAPI with each channel's documented examples.
"""

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import Any

from hub.channels.base import ChannelAdapter, ChannelContext
from hub.intake.ports import NonceRegistry
from hub.intake.service import IntakeService
from hub.limits.partners import PartnerLimits
from hub.reconciliation.canonical import CanonicalCsv
from hub.reconciliation.lines import SettlementReader
from hub.settings import Settings


class UnknownChannel(ValueError):
    """Config names a channel for which there is no adapter module."""


def adapter_class(slug: str) -> type[ChannelAdapter[Any]]:
    """Channel ``slug``'s adapter: ``ADAPTER`` of ``adapters.<slug>`` or ``adapters.*.<slug>``."""
    name = _module_of(slug)
    if name is None:
        raise UnknownChannel(
            f"no adapter for channel {slug!r} (adapters/{slug} or adapters/<family>/{slug})"
        )
    cls: type[ChannelAdapter[Any]] = importlib.import_module(name).ADAPTER
    if cls.slug != slug:
        raise UnknownChannel(f"{name} declares slug {cls.slug!r}")
    return cls


def _module_of(slug: str) -> str | None:
    if not slug.isidentifier():
        return None
    if importlib.util.find_spec(f"adapters.{slug}") is not None:
        return f"adapters.{slug}"
    adapters = importlib.import_module("adapters")
    for family in pkgutil.iter_modules(adapters.__path__):
        name = f"adapters.{family.name}.{slug}"
        if family.ispkg and importlib.util.find_spec(name) is not None:
            return name
    return None


def partner_side(slug: str, module: str) -> ModuleType:
    """Module ``module`` of channel ``slug``'s package that plays its partner's side (the
    Kantor Pos agent's upload ``client``), for the hub's tools that act as that partner
    (``hub upload pos FILE``). Found by slug, like the adapter: the hub imports no adapter."""
    package = _module_of(slug)
    name = f"{package}.{module}"
    try:
        if package is None:
            raise ModuleNotFoundError(name=name)
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name not in (package, name):
            raise
        raise UnknownChannel(
            f"channel {slug!r} has no {module} (adapters/{slug}/{module}.py)"
        ) from None


def load_channels(
    settings: Settings,
    intake: IntakeService,
    nonces: NonceRegistry,
    clock: Callable[[], datetime],
    limits: PartnerLimits | None = None,
) -> list[ChannelAdapter[Any]]:
    """The enabled channels, each with its options and its partners' options validated,
    and only its own partners."""
    channels: list[ChannelAdapter[Any]] = []
    for slug, raw in settings.channels.items():
        cls = adapter_class(slug)
        options = cls.options_model.model_validate(raw)
        if not options.enabled:
            continue
        partners = {pid: p for pid, p in settings.partners.items() if p.channel == slug}
        context = ChannelContext(
            intake,
            partners,
            nonces,
            clock,
            partner_options=cls.validated_partner_options(partners),
            limits=limits,
        )
        channels.append(cls(context, options))
    return channels


def settlement_reader(channel: str) -> SettlementReader:
    """The reader of a channel's daily settlement file, found by the channel's slug.

    Partners on the hub's own API send the canonical CSV (the statement's columns).
    """
    if channel == "hub-api":
        return CanonicalCsv()
    reader = adapter_class(channel).settlement_reader
    if reader is None:
        raise UnknownChannel(f"channel {channel!r} defines no settlement file format")
    return reader
