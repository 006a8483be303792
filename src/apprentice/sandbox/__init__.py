"""Run one untrusted command against a private workspace, safely; and a pool of them."""
