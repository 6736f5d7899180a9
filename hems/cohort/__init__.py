"""The cohort of homes as one load on the network: its planned import and herding
(:mod:`hems.cohort.measures`), its plans coordinated under a cohort import limit
(:mod:`hems.cohort.coordination`, the shares by :mod:`hems.cohort.shares`). Pure functions of
plans and problems; docs/cohort.md."""
