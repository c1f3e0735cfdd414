"""One module per experiment, each plugged into the run engine (``persona.runs.Session``): its spec, how it plans
its items, the work for one item, how records become metrics, and its report."""
