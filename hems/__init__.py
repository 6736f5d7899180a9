"""The application: demo home and the ``cem`` CLI today; storage, planning loop, dispatch and API later (issue 5)."""
