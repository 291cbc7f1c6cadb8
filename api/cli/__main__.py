"""`python -m api.cli ...`: the same as the installed `storyloom` command."""

from api.cli.main import main

main()
