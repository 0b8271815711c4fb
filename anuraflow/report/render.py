"""Every page anuraflow writes comes from one of the report's Jinja2 templates, filled in
by name with autoescaping: the report, the review pages, validate's page."""

from __future__ import annotations

from pathlib import Path


def render_report(context: dict, template: str = "report.html.j2") -> str:
    """A page from one of the report's templates (report.html by default), every value
    autoescaped."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=False,
    )
    return env.get_template(template).render(**context)
