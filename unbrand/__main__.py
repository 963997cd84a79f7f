"""`python -m unbrand ...` is the `unbrand` command."""

from unbrand.cli.app import main

main()
