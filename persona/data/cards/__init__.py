"""Built-in survey cards (``persona survey show NAME``): each names its data and the wording of its questions."""
