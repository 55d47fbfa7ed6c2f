"""Output: figures turned into words and files. Number, date and label formatting shared by the
dashboard, the CLI and the report; the printable report; CSV and workbook exports; TOML
writing. A change to how something reads goes here.
"""
