"""ECharts option objects for the dashboards' charts (drawn by static/js/charts.js). Plain data:
titles and labels come translated from the caller; every figure is in a table too."""

PALETTE = ["#2f6b4f", "#c7792b", "#3f6fb5", "#a23b3b", "#7a5ea8", "#5b8f8a", "#b59a2f", "#6b6b6b"]


def _base(legend: bool = True) -> dict:
    option = {
        "color": PALETTE,
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 48, "right": 16, "top": 36 if legend else 16, "bottom": 48, "containLabel": True},
    }
    if legend:
        option["legend"] = {"top": 0, "type": "scroll"}
    return option


def line(x: list, series: dict, *, stack: bool = False, area: bool = False) -> dict:
    """A trend: one line per series (name → values, aligned with x)."""
    option = _base(legend=len(series) > 1)
    option["xAxis"] = {"type": "category", "data": [str(v) for v in x], "boundaryGap": False}
    option["yAxis"] = {"type": "value"}
    option["series"] = [
        {
            "name": str(name),
            "type": "line",
            "data": list(values),
            "showSymbol": len(x) <= 40,
            **({"stack": "all"} if stack else {}),
            **({"areaStyle": {}} if area else {}),
        }
        for name, values in series.items()
    ]
    return option


def bar(labels: list, series: dict, *, stack: bool = False, horizontal: bool = False) -> dict:
    """Bars per label, one bar (or stacked part) per series."""
    option = _base(legend=len(series) > 1)
    categories = {"type": "category", "data": [str(v) for v in labels]}
    values = {"type": "value"}
    option["xAxis"], option["yAxis"] = (values, {**categories, "inverse": True}) if horizontal else (categories, values)
    if not horizontal and len(labels) > 8:
        categories["axisLabel"] = {"rotate": 40, "interval": 0}
    option["series"] = [
        {"name": str(name), "type": "bar", "data": list(data), **({"stack": "all"} if stack else {})}
        for name, data in series.items()
    ]
    return option


def pie(pairs: list) -> dict:
    """Shares of a whole: (label, value) pairs."""
    return {
        "color": PALETTE,
        "tooltip": {"trigger": "item"},
        "legend": {"type": "scroll", "bottom": 0},
        "series": [
            {
                "type": "pie",
                "radius": ["35%", "65%"],
                "data": [{"name": str(label), "value": value} for label, value in pairs],
            }
        ],
    }


def chart(name: str, title, option: dict) -> dict:
    """A chart for the page: its element ids, title and option object."""
    return {"id": name, "json_id": f"chart-{name}", "title": title, "option": option}
