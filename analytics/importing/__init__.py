"""Importing from other tools: contact logs (CSV exports of time trackers and spreadsheets)
and scheduled sessions (ICS calendars, session CSV files).

The flow, each step in its own module:

1. ``reader``: bytes or a file -> encoding and delimiter detected -> a staged DuckDB table of
   text cells with spreadsheet row numbers (ragged rows reported, not staged).
2. ``presets``: the header -> a known layout (Toggl, Clockify, Harvest, Kimai, the template)
   or a mapping of canonical fields to headers (synonyms, or the user's saved mapping).
3. ``parsing``: SQL expressions that turn text cells into dates, times, durations and
   numbers, with date order and decimal comma decided from the whole file.
4. ``classify``: keyword rules (stored in the database, editable) -> category and channel.
5. ``pipeline``: puts it together in one transaction per file: validated rows stored as a
   batch, bad rows reported with row, column and reason, free text dropped.

Sessions: ``detect`` tells the kind of an upload from its first bytes and ``dispatch``
sends it to its importer: ``calendar`` (ICS: icalendar and recurring-ical-events parse and
expand, SQL does the rest) or ``session_csv`` (the same reader and parsers as above); both
return a ``session_report.SessionReport`` and store through ``analytics.storage.sessions``.
"""
