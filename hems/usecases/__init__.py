"""The service's operations, as the consumer, the admin and the DSRSP ask for them: read and set
preferences, add and cancel an override, deliver, answer and opt out of a DSR event, read the
plan, its history and savings, create a home or a token, export and delete a home's data.

Each operation validates what the store must check, writes the store and decides how the home
re-plans (at once, soon, or not), so the two surfaces over it, the API (:mod:`hems.api`) and
the web app (:mod:`hems.web`), only translate HTTP and forms into calls and results into JSON
or pages. An operation says what went wrong with an exception of its own kind:
:class:`hems.storage.store.NotFoundError`, :class:`hems.storage.store.ConflictError`,
:class:`hems.usecases.errors.InvalidInputError` or
:class:`hems.planner_pool.PlanningUnavailableError`; each surface words them its own way.
"""
