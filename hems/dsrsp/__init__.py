"""The demo DSRSP's own parts around openleadr's VTN: what it saw (:mod:`.ledger`), the EiOpt
service openleadr does not mount (:mod:`.eiopt`)."""
