"""PNG charts for digests (matplotlib's Agg backend, no pyplot, no display: safe in a worker thread)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.money import SYMBOLS

BAR_COLOURS = ("#a8dadc", "#1d3557", "#e63946", "#457b9d")


@dataclass(frozen=True)
class ChartSeries:
    """Grouped bars: one group per category (Sold, Invoiced, Collected), one bar per series within it."""

    title: str
    categories: tuple[str, ...]
    series: tuple[tuple[str, tuple[Decimal, ...]], ...]  # (label, one value per category)


def _short(value: float, currency: str) -> str:
    symbol = SYMBOLS.get(currency.upper(), "")
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            text = f"{value / limit:.3g}" + suffix
            break
    else:
        text = f"{value:.0f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}".strip()


def revenue_chart(
    chart: ChartSeries, currency: str, *, width: float = 7.0, height: float = 3.6, dpi: int = 110
) -> bytes:
    """A PNG of grouped bars with each bar's value written above it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    count = max(len(chart.series), 1)
    bar = 0.8 / count
    positions: Sequence[float] = range(len(chart.categories))
    for n, (label, values) in enumerate(chart.series):
        xs = [p - 0.4 + bar * (n + 0.5) for p in positions]
        heights = [float(v) for v in values]
        bars = ax.bar(xs, heights, bar * 0.95, label=label, color=BAR_COLOURS[n % len(BAR_COLOURS)])
        ax.bar_label(bars, labels=[_short(h, currency) for h in heights], fontsize=8, padding=2)
    ax.set_xticks(list(positions), list(chart.categories))
    ax.set_title(chart.title, fontsize=11)
    ax.yaxis.set_major_formatter(lambda value, _pos: _short(value, currency))
    ax.spines[["top", "right"]].set_visible(False)
    ax.margins(y=0.15)
    if chart.series:
        ax.legend(frameon=False, fontsize=8)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
