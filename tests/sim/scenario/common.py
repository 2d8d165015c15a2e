"""What the scenario tests share: a minimal vendor, a file writer and spend by channel."""

from __future__ import annotations

from pathlib import Path

from sim.channels import CHANNEL_NAMES

VENDOR = {"name": "Acme", "weekly_budget": 1000.0, "channel_mix": {"search": 1.0}}
ZERO = dict.fromkeys(CHANNEL_NAMES, 0.0)


def write(tmp_path: Path, text: str) -> Path:
    """`text` as the scenario file tmp_path/s.toml."""
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def spend_of(vendor) -> dict[str, float]:
    """A vendor's week-0 spend by channel name."""
    return dict(zip(CHANNEL_NAMES, vendor.spend_by_channel(), strict=True))


def spend_at(vendor, week: int) -> dict[str, float]:
    """A vendor's spend by channel name in force at `week`."""
    return dict(zip(CHANNEL_NAMES, vendor.plan_at(week)[0], strict=True))
