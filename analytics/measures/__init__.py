"""Measures: the figures pages and the CLI show, computed in DuckDB SQL. Time per client,
channel and category (``metrics``), load beside scheduled sessions, compliance with agreed
boundaries, fair comparisons, billing estimates and the month at a glance. A new number, or
a change to how one is counted, goes here.
"""
