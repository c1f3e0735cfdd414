"""`python -m persona` is the `persona` command."""

from persona.cli import app

app()
