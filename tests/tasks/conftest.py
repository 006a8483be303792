"""Task tests: this folder holds `history_repos` (a git history built in a test), imported by name from
tests/tasks/ and its subfolders; pytest puts a conftest's folder on sys.path before collecting below it."""
