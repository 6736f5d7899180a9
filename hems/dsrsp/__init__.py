"""The demo DSRSP's own parts around openleadr's VTN (:mod:`hems.dsrsp_sim`): what it saw
(:mod:`.ledger`), the event it sends (:mod:`.demo_event`), the EiOpt service openleadr does not
mount (:mod:`.eiopt`), re-registration after a restart (:mod:`.reregistration`) and its console
page (:mod:`.console`, :mod:`.console_view`)."""
