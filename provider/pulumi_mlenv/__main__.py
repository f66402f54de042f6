"""``python -m pulumi_mlenv``: the ``mlenv`` command, where the console
script is not on PATH."""

from pulumi_mlenv.cli.launch import main

main()
