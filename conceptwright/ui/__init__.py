"""User interfaces over the session API: the terminal chat and the web chat."""
