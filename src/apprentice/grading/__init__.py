"""Grade a patch: apply -> build -> test -> lint -> Outcome -> reward."""
