"""Cloud aggregator: shared-subscription MQTT workers, the idempotent alert store
(PostgreSQL; SQLite embedded), REST API, dashboard and FHIR export. Shares only
the payload codec with ``edge``; never runs ``dsp`` or ``models``.
(Built in the cloud issue.)
"""

__all__: list[str] = []
