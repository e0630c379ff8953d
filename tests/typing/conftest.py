"""tests/typing holds files for the type checker only: pytest never collects them.

They call the public API and state, with `assert_type`, what a user's type checker must
infer; mypy checks them (`python -m mypy tests/typing`). Running them would mean calling
providers, so they are not run.
"""

collect_ignore_glob = ["*.py"]
