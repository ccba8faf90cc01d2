"""``python -m proofs_check``: print the table of exact checks; exit 1 if any fails."""

from proofs_check.runner import main

if __name__ == "__main__":
    raise SystemExit(main())
