"""Loads the partner channels enabled in config: ``[channels.<slug>]`` -> ``adapters/<slug>.py``."""

import importlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from adapters.base import ChannelAdapter, ChannelContext
from hub.intake.ports import NonceRegistry
from hub.intake.service import IntakeService
from hub.reconciliation.canonical import CanonicalCsv
from hub.reconciliation.lines import SettlementReader
from hub.settings import Settings


class UnknownChannel(ValueError):
    """Config names a channel for which there is no adapter module."""


def adapter_class(slug: str) -> type[ChannelAdapter[Any]]:
    try:
        module = importlib.import_module(f"adapters.{slug}")
    except ModuleNotFoundError as exc:
        if exc.name != f"adapters.{slug}":
            raise
        raise UnknownChannel(f"no adapter for channel {slug!r} (adapters/{slug}.py)") from None
    cls: type[ChannelAdapter[Any]] = module.ADAPTER
    if cls.slug != slug:
        raise UnknownChannel(f"adapters/{slug}.py declares slug {cls.slug!r}")
    return cls


def load_channels(
    settings: Settings,
    intake: IntakeService,
    nonces: NonceRegistry,
    clock: Callable[[], datetime],
) -> list[ChannelAdapter[Any]]:
    """The enabled channels, each with its options validated and only its own partners."""
    channels: list[ChannelAdapter[Any]] = []
    for slug, raw in settings.channels.items():
        cls = adapter_class(slug)
        options = cls.options_model.model_validate(raw)
        if not options.enabled:
            continue
        partners = {pid: p for pid, p in settings.partners.items() if p.channel == slug}
        channels.append(cls(ChannelContext(intake, partners, nonces, clock), options))
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
