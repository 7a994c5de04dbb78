"""Channel and delivery health: counts in Redis, pure status rules, reports, the alert monitor.

Modules: :mod:`~gateway.health.rules` (pure), :mod:`~gateway.health.store` (Redis),
:mod:`~gateway.health.report` (reports), :mod:`~gateway.health.service` (one process's recorder and
monitor), :mod:`~gateway.health.http` (the middleware), :mod:`~gateway.health.notify` (the operators'
webhook), :mod:`~gateway.health.overdue` (appeals past a deadline), :mod:`~gateway.health.settings`.
Kept free of imports here: :mod:`gateway.config` imports the settings.
"""
