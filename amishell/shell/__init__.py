"""The interactive shell (prompt_toolkit) and the command line's batch mode.

Modules: :mod:`.app` (the prompt loop and the event pump), :mod:`.core` (state,
connection, running a line), :mod:`.commands` (meta commands returning data),
:mod:`.lineparse` (what was typed), :mod:`.completer`, :mod:`.lexer`,
:mod:`.render` (pretty, raw, JSON, tables), :mod:`.events` (filters, floods, the
log), :mod:`.toolbar`, :mod:`.keys`, :mod:`.config` (config file, profiles,
secrets), :mod:`.history`, :mod:`.batch` (``-x``, scripts, ``--events``) and
:mod:`.context` (injectable streams, exit statuses).
"""
