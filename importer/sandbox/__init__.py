"""A local stand-in for the Copernica REST API, for demos, tests and rehearsals.

    from importer.sandbox import Sandbox, Faults
    with Sandbox(schema="sample_data/schema.yaml", token="t", faults=Faults(rate_503=0.1)) as sb:
        ...  # talk to sb.api_url over HTTP; look with sb.profiles(1), sb.stats()

From a shell: ``python -m importer.sandbox --help`` (``copernica-import sandbox``).
"""
from importer.sandbox.faults import Faults
from importer.sandbox.server import DEFAULT_TOKEN, Sandbox

__all__ = ["Sandbox", "Faults", "DEFAULT_TOKEN"]
