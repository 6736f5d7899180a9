"""What the API (:mod:`hems.api`) and the web app (:mod:`hems.web`) share to serve HTTP: the
service as a request dependency, the path parameters, the throttling of sign-ins and requests,
and the security headers. Neither surface imports the other; both import this and the
operations (:mod:`hems.usecases`). The app that holds both is assembled in :mod:`hems.app`."""
