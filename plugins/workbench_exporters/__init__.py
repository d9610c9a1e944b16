"""Built-in exporters: a rich terminal table, CSV, JSON (full detail), Markdown and a
self-contained HTML report with charts. See docs/metrics.md."""

from workbench import hookimpl


@hookimpl
def register_exporters(register):
    from workbench_exporters import files, html, terminal

    register(terminal.Terminal, aliases=["table"], default=True)
    register(files.Csv)
    register(files.Json)
    register(files.Markdown, aliases=["md"])
    register(html.Html, aliases=["report"])
