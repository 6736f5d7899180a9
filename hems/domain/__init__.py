"""The service's domain: a home, its devices (ESAs) and the consumer's preferences and overrides.

Pydantic models, so the same types validate API input, settings files and stored JSON.
"""
