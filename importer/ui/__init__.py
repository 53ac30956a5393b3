"""The local page for marketers: drop a file, fix the mapping, check, import, download the results.

``copernica-import ui`` starts it on 127.0.0.1 (see ``server``). It is a second
front end over the same library as the CLI (``batch``, ``runner``, ``draft``,
``mapping``, ``rollback``): the routes (``app``) are thin, the steps live in
``workspace``, and the mapping table's round trip to the YAML file the CLI
reads is ``table``. Templates and static files ship in the package; nothing
is loaded from the internet.
"""
from importer.ui.server import PageServer, serve

__all__ = ["PageServer", "serve"]
