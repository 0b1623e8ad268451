"""The ``holter`` console script: one command, one subcommand per job.

The dispatcher in :mod:`holter._cli` knows each subcommand only by the dotted
name of the command module that implements it, and imports that module only
when the subcommand runs. So no package has to import another for the CLI's
sake, and ``holter --help`` stays fast.
"""

__all__: list[str] = []
