"""One module per language, as data: extensions, grammar, build/test/lint commands, test-report readers."""
