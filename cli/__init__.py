"""The ``mathagent`` command line: the top layer, the only one that renders.

:mod:`cli.app` is the root command; each command group lives in its own module under
:mod:`cli.commands`; :mod:`cli.console` holds the consoles, the one ``fail()`` and the progress bars;
:mod:`cli.options` the option types shared by several commands and the one mapping of agent options
onto :class:`~agent.config.AgentConfig`. No lower package imports this one.
"""
