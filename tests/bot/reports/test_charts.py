from decimal import Decimal

from bot.reports.charts import ChartSeries, _short, revenue_chart


def test_revenue_chart_is_a_png():
    chart = ChartSeries(
        "Month to date vs last month (EUR)",
        ("Sold", "Invoiced", "Collected"),
        (
            ("1–15 Sep", (Decimal(10000), Decimal(10000), Decimal(0))),
            ("October to date", (Decimal(6000), Decimal(5000), Decimal(3000))),
        ),
    )
    png = revenue_chart(chart, "EUR")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (770, 396)  # 7 × 3.6 inches at 110 dpi


def test_an_empty_chart_still_renders():
    assert revenue_chart(ChartSeries("Nothing", ("Sold",), ()), "USD").startswith(b"\x89PNG")


def test_axis_labels_are_short():
    assert _short(1_250_000, "EUR") == "€1.25M"
    assert _short(12_000, "USD") == "$12k"
    assert _short(950, "INR") == "950 INR"
