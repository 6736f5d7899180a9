"""The application: the demo home and the ``cem`` CLI today.

Storage, the planning loop, dispatch and the API come with issue 5.
"""
