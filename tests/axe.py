"""axe-core in the browser tests: inject the bundled copy and list the WCAG 2.1 A/AA violations.

The page's CSP (`script-src 'self'`) would refuse a `<script>` tag, but evaluation through the
DevTools protocol is not subject to it, so the tests never weaken the policy to be checked.
"""

from pathlib import Path

AXE_SOURCE = (Path(__file__).parent / "assets" / "axe.min.js").read_text(encoding="utf-8")
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

_RUN = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
    return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.map((n) => {
            const why = (n.failureSummary || "").split("\\n").slice(1).join(" ").trim();
            return n.target.join(" ") + (why ? " — " + why : "");
        }),
    }));
}"""


def violations(page, tags=WCAG_21_AA) -> list[str]:
    """Each WCAG 2.1 A/AA violation on the page as `url: rule (impact) help — target`; [] when clean."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    found = page.evaluate(_RUN, tags)
    return [f"{page.url}: {v['id']} ({v['impact']}) {v['help']} — {target}" for v in found for target in v["targets"]]


_UNLABELLED = """() => {
    const shown = (el) => {
        const box = el.getBoundingClientRect();
        return box.width > 1 && box.height > 1 && getComputedStyle(el).visibility !== "hidden";
    };
    const fields = document.querySelectorAll(
        "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]), select, textarea"
    );
    return [...fields]
        .filter((el) => shown(el) && ![...el.labels].some((label) => shown(label) && label.textContent.trim()))
        .map((el) => el.outerHTML.slice(0, 160));
}"""


def inputs_without_visible_label(page) -> list[str]:
    """Each shown form field with no shown <label> of its own (axe accepts a placeholder or an
    aria-label as the name; a person who sees the page needs the label on it, WCAG 3.3.2)."""
    return [f"{page.url}: no visible label — {field}" for field in page.evaluate(_UNLABELLED)]
