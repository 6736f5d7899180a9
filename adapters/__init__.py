"""The edges: OpenADR 2.0b VEN (Interface A), device protocols (Interface B), tariffs, carbon.

Not built yet: issues 3-5.
"""
