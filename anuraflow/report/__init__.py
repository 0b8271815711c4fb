"""The HTML report: tables, figures, evaluation sections and the review gallery, rendered from
one autoescaped Jinja2 template."""
