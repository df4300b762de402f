"""The web pages under /ui (issue 12): Jinja2 templates over the same services as the CLI/API."""
