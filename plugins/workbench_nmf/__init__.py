"""Built-in plugin: non-negative matrix factorisation."""
