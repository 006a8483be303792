"""Tasks: a repository snapshot, a bug, and the tests it breaks. Sources: mutation, git history, repo packages, the stdlib corpus."""
